import { Level } from 'level';
const root = process.argv[2];
const { parseGenesis } = await import(root + '/dist/poe-chain/core/genesis.js');
const { createGenesisState } = await import(root + '/dist/poe-chain/core/chainState.js');
const { validateAndApplyBlock } = await import(root + '/dist/poe-chain/core/validateAndApplyBlock.js');
const { createPoeTally } = await import(root + '/dist/poe-chain/core/poeStats.js');
const db = new Level(process.argv[3], { valueEncoding: 'utf8' });
await db.open({ createIfMissing: false });
const g = parseGenesis(JSON.parse(await db.get('genesis')));
const head = JSON.parse(await db.get('head'));
let st = createGenesisState(g);
const t = createPoeTally();
for (let h = 1; h <= head.height; h++) {
  const hash = await db.get('h:' + String(h).padStart(12, '0'));
  const b = JSON.parse(await db.get('b:' + hash));
  t.add(st, b.parameters.header);
  st = validateAndApplyBlock(st, b, { now: Number.MAX_SAFE_INTEGER }).state;
}
const s = t.summary();
const tied = s.records.filter(r => r.validators > 0).map(r => r.tiedAtTop);
console.log(JSON.stringify({ ...s, records: undefined, height: head.height, medianValidators: s.records.map(r=>r.validators).sort((a,b)=>a-b)[Math.floor(s.records.length/2)], tiedAtTopDist: tied.reduce((m,x)=>(m[x]=(m[x]||0)+1,m),{}) }));
