import { Level } from 'level';
const root = process.argv[2];
const { parseGenesis } = await import(root + '/dist/poe-chain/core/genesis.js');
const { createGenesisState } = await import(root + '/dist/poe-chain/core/chainState.js');
const { validateAndApplyBlock } = await import(root + '/dist/poe-chain/core/validateAndApplyBlock.js');
const { rankValidators, seedForEpoch, decidedBy } = await import(root + '/dist/poe-chain/core/rankingForEpoch.js');
const db = new Level(process.argv[3], { valueEncoding: 'utf8' });
await db.open({ createIfMissing: false });
const g = parseGenesis(JSON.parse(await db.get('genesis')));
const head = JSON.parse(await db.get('head'));
let st = createGenesisState(g);
const ks = [0, 4, 8, 14];
const res = Object.fromEntries(ks.map(k => [k, {}]));
for (let h = 1; h <= head.height; h++) {
  const hash = await db.get('h:' + String(h).padStart(12, '0'));
  const b = JSON.parse(await db.get('b:' + hash));
  const hd = b.parameters.header;
  if (hd.epoch > st.meta.rankingEpoch) for (const k of ks) {
    const r = rankValidators(st.sections, hd.epoch, seedForEpoch(st.meta, hd.epoch), { cpfRule: g.cpfRule, cpfWindowIntervals: k });
    const d = decidedBy(r); res[k][d] = (res[k][d] || 0) + 1;
  }
  st = validateAndApplyBlock(st, b, { now: Number.MAX_SAFE_INTEGER }).state;
}
console.log(JSON.stringify(res));
