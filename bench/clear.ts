/**
 * npm run bench:clear — auction clearing time (poe-chain/core/auction/clearAuction) for
 * 1k, 10k, 100k and 1M offers over 50 feeders, median of a few runs, and its growth
 * compared with n·log n. Prints JSON.
 *
 * Instance: aggregator buy, pay-as-bid, energy = 30 % of all offered energy, limit price
 * at the 80th percentile of offer prices, every feeder's export limit = 40 % of the
 * energy offered on it (so limits bind), offers in chain order as the chain passes them.
 * Also timed at 100k: the same offers shuffled (as an audit file may hold them) and the
 * sell side. Deterministic (seeded PRNG). Env: BENCH_SIZES=1000,10000 to choose sizes.
 * loadAverage is printed because the timings are only as quiet as the machine.
 */
import { clearAuction, type ClearingAuction, type ClearingOffer } from '../poe-chain/core/auction/clearAuction.js';
import os from 'node:os';
import { machine } from './machine.js';
import { mulberry32 as prng } from '../hem/profiles/rng.js';

const FEEDERS = 50;
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000,1000000').split(',').map(Number);
const RUNS: Record<number, number> = { 1000: 51, 10000: 21, 100000: 7, 1000000: 3 };


function hex(rand: () => number, chars: number): string {
  let s = '';
  while (s.length < chars) s += Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0');
  return s.slice(0, chars);
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
function reqId(rand: () => number): string {
  let s = '';
  for (let i = 0; i < 22; i++) s += B64URL[Math.floor(rand() * 64)];
  return s;
}

function instance(n: number, side: 'buy' | 'sell'): { auction: ClearingAuction; offers: ClearingOffer[] } {
  const rand = prng(n);
  const offers: ClearingOffer[] = new Array(n);
  const perFeeder = new Array<number>(FEEDERS).fill(0);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const f = Math.floor(rand() * FEEDERS);
    const energyWh = 500 + Math.floor(rand() * 9_500); // 0.5–10 kWh
    perFeeder[f]! += energyWh;
    total += energyWh;
    offers[i] = {
      address: hex(rand, 64),
      feeder: `F${f}`,
      energyWh,
      priceMcPerKWh: 5_000 + Math.floor(rand() * 20_000), // 5–25 cents/kWh
      inclusion: Math.floor(i / 1_000) * 100_000 + (i % 1_000), // 1,000 txs per block
      reqId: reqId(rand),
    };
  }
  return {
    offers,
    auction: {
      auctionId: `bench-${n}`,
      side,
      energyWh: Math.floor(total * 0.3),
      limitPriceMcPerKWh: side === 'buy' ? 21_000 : 9_000,
      pricing: 'pay-as-bid',
      feederLimits: perFeeder.map((e, f) => ({ feeder: `F${f}`, maxExportWh: Math.floor(e * 0.4), maxImportWh: Math.floor(e * 0.4) })),
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function time(auction: ClearingAuction, offers: ClearingOffer[], runs: number) {
  clearAuction(auction, offers); // warm up
  const ms: number[] = [];
  const cpu: number[] = [];
  let last;
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    last = clearAuction(auction, offers);
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return {
    medianMs: round(median(ms)),
    // process CPU time (all threads, incl. parallel GC): less sensitive than wall time to other load on the machine
    medianCpuMs: round(median(cpu)),
    runsMs: ms.map(round),
    awards: last!.awards.length,
    excluded: last!.excluded.length,
    awardedWh: last!.awardedWh,
  };
}

const round = (x: number) => Math.round(x * 100) / 100;
const nlogn = (n: number) => n * Math.log2(n);

const sizes: Record<string, unknown>[] = [];
const extra: Record<string, unknown> = {};
let base: { n: number; ms: number } | undefined;
for (const n of SIZES) {
  const { auction, offers } = instance(n, 'buy');
  const t = time(auction, offers, RUNS[n] ?? 3);
  base ??= { n, ms: t.medianMs };
  sizes.push({
    offers: n,
    feeders: FEEDERS,
    ...t,
    nsPerOfferLog2N: round((t.medianMs * 1e6) / nlogn(n)),
    // (t(n) / t(smallest)) ÷ (n·log n / smallest·log smallest): ≈ 1 = n·log n growth, < 1 = slower growth
    ratioToNLogNGrowth: round(t.medianMs / base.ms / (nlogn(n) / nlogn(base.n))),
  });
  if (n === 100_000) {
    const rand = prng(7);
    const shuffled = offers.map((o) => ({ o, k: rand() })).sort((x, y) => x.k - y.k).map((x) => x.o);
    extra.shuffled100k = { note: 'same offers, not in chain order (comparator sort)', ...time(auction, shuffled, 5) };
    const sell = instance(n, 'sell');
    extra.sell100k = { note: 'aggregator sell: bids in decreasing price, import limits', ...time(sell.auction, sell.offers, 5) };
  }
}

const at100k = sizes.find((s) => s.offers === 100_000) as { medianMs: number } | undefined;
const result = {
  bench: 'clear',
  instance: 'aggregator buy, pay-as-bid, energy = 30% of offered, 50 feeders with binding export limits, offers in chain order',
  sizes,
  ...extra,
  target: { offers: 100_000, feeders: FEEDERS, maxMs: 150 },
  meetsTarget: at100k === undefined ? null : at100k.medianMs <= 150,
  postToClear: 'measured with live HEMs by npm run bench:post-to-clear (bench/postToClear.ts)',
  loadAverage: os.loadavg().map(round),
  machine: machine(),
};
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
