import { Level } from 'level';
const db = new Level(process.argv[2], { valueEncoding: 'utf8' });
await db.open({ createIfMissing: false });
const head = JSON.parse(await db.get('head'));
const g = JSON.parse(await db.get('genesis'));
let prev = 0; const out = [];
for (let h = 1; h <= head.height; h++) {
  const hash = await db.get('h:' + String(h).padStart(12, '0'));
  const b = JSON.parse(await db.get('b:' + hash));
  const hd = b.parameters.header;
  out.push([h, hd.slot, hd.slot - prev, hd.epoch, hd.producer.slice(0, 6), b.parameters.txs.length, [...new Set(b.parameters.txs.map(t => t.operation))].join(',')].join(' '));
  prev = hd.slot;
}
console.log(JSON.stringify({ slotMs: g.slotMs, intervalMs: g.intervalMs, patience: g.patience, inclusionSlots: g.inclusionSlots, aggNode: g.aggregatorNodeKey.slice(0,6) }));
console.log(out.join('\n'));
