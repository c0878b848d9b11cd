/**
 * `node dist/bench/marketStateBytes.js` — bytes a settled P2P market [MKT] leaves in the chain
 * state, for the disk arithmetic of a home's node (bench/README.md "soak", [STORE-P]): the soak
 * trades in auctions only, and the state keeps a settled market auctionRetentionIntervals
 * (96: a day of 15-min intervals; 672 before format v8) after its interval, as it keeps auctions.
 *
 * `BENCH_HOMES` (1000) homes certified on a ChainFixture chain (real blocks, each re-validated),
 * each with one sealed order for epoch 2 — half buy, half sell, 0.5–1.5 kWh, asks 5–21 and
 * bids 12–28 cents/kWh as bench:market-latency, so about 70 % fill —, revealed, cleared at the
 * gate and settled by every home's reading. Prints the serialised sizes (the JSON the
 * snapshot holds: `[key, value]` per entry) of the market, per fill and per exclusion, and of
 * the `deliveries` entries the settlement adds (kept until the readings are pruned).
 */
import { ChainFixture } from '../poe-chain/testkit/chainFixture.js';
import { mulberry32 } from '../hem/profiles/rng.js';
import { cpus, loadavg } from 'node:os';

const N = Number(process.env.BENCH_HOMES ?? 1000);
const ORDER_CLOSE = 7200 - 1440; // epoch 2 of the test genesis (15-min intervals, 250 ms slots)
const GATE = 7200 - 1200;
const DELIVERY_END = 3 * 3600;
const PER_BLOCK = 500;

const bytesOf = (entries: readonly (readonly [string, unknown])[]) => Buffer.byteLength(JSON.stringify(entries));

const f = new ChainFixture();
const rnd = mulberry32(7);
const homes = Array.from({ length: N }, (_, i) => f.key(`mkt-home-${i}`));
let slot = 1;
const chunks = <T>(xs: readonly T[]) => Array.from({ length: Math.ceil(xs.length / PER_BLOCK) }, (_, i) => xs.slice(i * PER_BLOCK, (i + 1) * PER_BLOCK));
for (const c of chunks(homes)) f.produce(c.map((k) => f.certTx(k)), slot++);
const orders = homes.map((k, i) => {
  const side = i % 2 === 0 ? 'buy' : 'sell';
  const energyWh = 500 + Math.floor(rnd() * 1001);
  const priceMc = (side === 'sell' ? 5_000 : 12_000) + Math.floor(rnd() * 16_001);
  return f.marketOrder(k, `o-${i}`, { side, energyWh, priceMc, firstEpoch: 2 });
});
for (const c of chunks(orders)) f.produce(c.map((o) => o.tx(f.at(slot))), slot++);
slot = ORDER_CLOSE;
for (const c of chunks(orders)) f.produce(c.map((o) => o.reveal(f.at(slot))), slot++);
f.produce([], GATE);
const cleared = f.state.sections.markets.get('2');
const deliveriesBefore = f.state.sections.deliveries.size;
// every home reads what it traded (sellers export, buyers import 1.5 kWh), so fills settle in full
slot = DELIVERY_END + 4;
const readings = homes.map((k, i) => f.readingTx(k, 2, i % 2 === 0 ? { c: 1500 } : { p: 1500 }, 1, f.at(slot)));
for (const c of chunks(readings)) f.produce(c, slot++);
const m = f.state.sections.markets.get('2');
if (!m || !cleared) throw new Error('BENCH no market for epoch 2');
const fills = m.fills ?? [];
const excluded = m.excluded ?? [];
const marketBytes = bytesOf([['2', m]]);
const deliveries = f.state.sections.deliveries.sortedEntries();
const readingEntries = f.state.sections.readings.sortedEntries();
process.stdout.write(JSON.stringify({
  bench: 'marketStateBytes',
  homes: N,
  status: m.status,
  fills: fills.length,
  excluded: excluded.length,
  settledMarketBytes: marketBytes,
  bytesPerFill: fills.length ? Math.round(bytesOf(fills.map((x, i) => [String(i), x])) / fills.length) : null,
  bytesPerExclusion: excluded.length ? Math.round(bytesOf(excluded.map((x, i) => [String(i), x])) / excluded.length) : null,
  clearedMarketBytes: bytesOf([['2', cleared]]),
  deliveriesAdded: deliveries.length - deliveriesBefore,
  deliveriesBytes: bytesOf(deliveries),
  readingEntryBytes: readingEntries.length ? Math.round(bytesOf(readingEntries) / readingEntries.length) : null,
  note: 'JSON bytes as a snapshot holds them ([key, value] per entry); the state keeps a settled market auctionRetentionIntervals after its interval',
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, loadAverage: loadavg().map((x) => Math.round(x * 100) / 100) },
}, null, 2) + '\n');
