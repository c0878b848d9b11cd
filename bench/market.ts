/**
 * npm run bench:market — peer-to-peer market clearing time
 * (poe-chain/core/market/clearMarket) for 1k, 10k and 100k orders over 50 feeders,
 * median of a few runs, and its growth compared with n·log n. Prints JSON.
 *
 * Instance: half buys, half sells, 0.5–10 kWh each; asks 5–25 cents/kWh, bids 8–28
 * cents/kWh (so about half the energy can trade); every feeder's export room = 40 % of
 * the sell energy on it and import room = 40 % of the buy energy on it (so rooms bind);
 * uniform pricing; 1 % of the orders are a second order of an address (DUPLICATE_ADDRESS);
 * orders in chain order as the chain passes them. Also timed at 100k: the same orders
 * shuffled (as an audit file may hold them). Deterministic (seeded PRNG).
 * Env: BENCH_SIZES=1000,10000 to choose sizes. loadAverage is printed because the
 * timings are only as quiet as the machine.
 */
import os from 'node:os';
import { clearMarket, type MarketBook, type MarketOrderIn, type MarketResult } from '../poe-chain/core/market/clearMarket.js';
import { marketWelfare } from '../poe-chain/core/market/marketWelfare.js';
import { machine } from './machine.js';
import { mulberry32 as prng } from '../hem/profiles/rng.js';

const FEEDERS = 50;
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const RUNS: Record<number, number> = { 1000: 51, 10000: 21, 100000: 7 };
const TARGET_MS = 200;

function hex(rand: () => number, chars: number): string {
  let s = '';
  while (s.length < chars) s += Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0');
  return s.slice(0, chars);
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
function orderId(rand: () => number): string {
  let s = '';
  for (let i = 0; i < 22; i++) s += B64URL[Math.floor(rand() * 64)];
  return s;
}

function instance(n: number): MarketBook {
  const rand = prng(n);
  const orders: MarketOrderIn[] = new Array(n);
  const sellWh = new Array<number>(FEEDERS).fill(0);
  const buyWh = new Array<number>(FEEDERS).fill(0);
  for (let i = 0; i < n; i++) {
    const f = Math.floor(rand() * FEEDERS);
    const side = rand() < 0.5 ? 'buy' : 'sell';
    const energyWh = 500 + Math.floor(rand() * 9_500); // 0.5–10 kWh
    (side === 'buy' ? buyWh : sellWh)[f]! += energyWh;
    // 1 % reuse an earlier order's address: a second order of that home in the interval
    const address = i > 0 && rand() < 0.01 ? orders[Math.floor(rand() * i)]!.address : hex(rand, 64);
    orders[i] = {
      orderId: orderId(rand),
      address,
      feeder: `F${f}`,
      side,
      energyWh,
      priceMcPerKWh: (side === 'buy' ? 8_000 : 5_000) + Math.floor(rand() * 20_000),
      inclusion: Math.floor(i / 1_000) * 100_000 + (i % 1_000), // 1,000 txs per block
    };
  }
  return {
    epoch: n,
    pricing: 'uniform',
    orders,
    feederRoom: sellWh.map((e, f) => ({ feeder: `F${f}`, exportWh: Math.floor(e * 0.4), importWh: Math.floor(buyWh[f]! * 0.4) })),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function time(book: MarketBook, runs: number) {
  clearMarket(book); // warm up
  const ms: number[] = [];
  const cpu: number[] = [];
  let last: MarketResult | undefined;
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    last = clearMarket(book);
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const result = last!;
  const feederLimited = result.excluded.filter((e) => e.reason === 'FEEDER_LIMIT').length;
  return {
    medianMs: round(median(ms)),
    maxMs: round(Math.max(...ms)),
    // process CPU time (all threads, incl. parallel GC): less sensitive than wall time to other load on the machine
    medianCpuMs: round(median(cpu)),
    runsMs: ms.map(round),
    volumeWh: result.volumeWh,
    clearingPriceMcPerKWh: result.clearingPriceMcPerKWh,
    priceRange: result.priceRange,
    fills: result.fills.length,
    excluded: result.excluded.length,
    feederLimited,
    // Σ bid × Wh − Σ ask × Wh ÷ 1000, at the orders' own prices
    welfareMc: Math.round(marketWelfare(book, result) / 1000),
  };
}

const round = (x: number) => Math.round(x * 100) / 100;
const nlogn = (n: number) => n * Math.log2(n);

const sizes: Record<string, unknown>[] = [];
const extra: Record<string, unknown> = {};
let base: { n: number; ms: number } | undefined;
for (const n of SIZES) {
  const book = instance(n);
  const t = time(book, RUNS[n] ?? 3);
  base ??= { n, ms: t.medianMs };
  sizes.push({
    orders: n,
    feeders: FEEDERS,
    ...t,
    nsPerOrderLog2N: round((t.medianMs * 1e6) / nlogn(n)),
    // (t(n) / t(smallest)) ÷ (n·log n / smallest·log smallest): ≈ 1 = n·log n growth, < 1 = slower growth
    ratioToNLogNGrowth: round(t.medianMs / base.ms / (nlogn(n) / nlogn(base.n))),
  });
  if (n === 100_000) {
    const rand = prng(7);
    const shuffled = book.orders.map((o) => ({ o, k: rand() })).sort((x, y) => x.k - y.k).map((x) => x.o);
    extra.shuffled100k = { note: 'same orders, not in chain order (sorted first)', ...time({ ...book, orders: shuffled }, 5) };
  }
}

const at100k = sizes.find((s) => s.orders === 100_000) as { medianMs: number } | undefined;
const result = {
  bench: 'market',
  instance: 'half buys, half sells, asks 5-25 c/kWh, bids 8-28 c/kWh, 50 feeders with binding export and import rooms, uniform pricing, 1% duplicate addresses, orders in chain order',
  sizes,
  ...extra,
  target: { orders: 100_000, feeders: FEEDERS, maxMs: TARGET_MS },
  meetsTarget: at100k === undefined ? null : at100k.medianMs <= TARGET_MS,
  loadAverage: os.loadavg().map(round),
  machine: machine(),
};
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
