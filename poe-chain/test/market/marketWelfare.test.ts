/**
 * Welfare of the clearing against the optimum of the linear programme over the counted
 * orders (the first of each address, energy > 0):
 *
 *   maximise  Σ_i bid_i·x_i − Σ_j ask_j·y_j
 *   subject to 0 ≤ x_i ≤ E_i (buys), 0 ≤ y_j ≤ E_j (sells), Σ x = Σ y,
 *              Σ_{i on f} x_i ≤ importRoom_f, Σ_{j on f} y_j ≤ exportRoom_f (listed feeders)
 *
 * solved here by a small dense simplex (Bland's rule, floats with a tolerance). The
 * clearing can never beat the optimum; clearMarket.ts argues that it reaches it, and the
 * test measures the ratio welfare / optimum over books with a positive optimum.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clearMarket, type MarketBook, type MarketOrderIn } from '../../core/market/clearMarket.js';
import { marketWelfare } from '../../core/market/marketWelfare.js';
import { bookArb } from './arbitraries.js';

const EPS = 1e-9;

/**
 * max c·z subject to A z ≤ b, z ≥ 0, with b ≥ 0 (so z = 0 is a feasible start: no phase
 * one) and a bounded feasible set. Dense tableau; Bland's rule (smallest entering index,
 * ties in the ratio test to the smallest basic index) so degenerate pivots cannot cycle.
 */
export function lpMax(c: number[], A: number[][], b: number[]): number {
  const m = A.length;
  const n = c.length;
  const width = n + m + 1;
  const rows = A.map((row, i) => {
    const r = new Array<number>(width).fill(0);
    row.forEach((v, j) => (r[j] = v));
    r[n + i] = 1;
    r[width - 1] = b[i]!;
    return r;
  });
  const objective = new Array<number>(width).fill(0);
  c.forEach((v, j) => (objective[j] = -v));
  const basis = Array.from({ length: m }, (_, i) => n + i);
  for (let iteration = 0; iteration < 10_000; iteration++) {
    let enter = -1;
    for (let j = 0; j < n + m; j++) {
      if (objective[j]! < -EPS) {
        enter = j;
        break;
      }
    }
    if (enter < 0) return objective[width - 1]!;
    let leave = -1;
    let best = Infinity;
    for (let i = 0; i < m; i++) {
      const a = rows[i]![enter]!;
      if (a <= EPS) continue;
      const ratio = rows[i]![width - 1]! / a;
      if (ratio < best - EPS || (Math.abs(ratio - best) <= EPS && basis[i]! < basis[leave]!)) {
        best = ratio;
        leave = i;
      }
    }
    if (leave < 0) throw new Error('unbounded');
    const pivotRow = rows[leave]!;
    const pv = pivotRow[enter]!;
    for (let j = 0; j < width; j++) pivotRow[j] = pivotRow[j]! / pv;
    for (const r of [...rows.filter((_, i) => i !== leave), objective]) {
      const factor = r[enter]!;
      if (Math.abs(factor) <= EPS) continue;
      for (let j = 0; j < width; j++) r[j] = r[j]! - factor * pivotRow[j]!;
    }
    basis[leave] = enter;
  }
  throw new Error('simplex did not converge');
}

/** The welfare LP above for a book's counted orders; returns the optimum (mc/kWh × Wh). */
function welfareOptimum(b: MarketBook): number {
  const sorted = [...b.orders].sort((x, y) => x.inclusion - y.inclusion || (x.orderId < y.orderId ? -1 : x.orderId > y.orderId ? 1 : 0));
  const firstOf = new Map<string, MarketOrderIn>();
  for (const o of sorted) if (!firstOf.has(o.address)) firstOf.set(o.address, o);
  const vars = [...firstOf.values()].filter((o) => o.energyWh > 0);
  const n = vars.length;
  if (n === 0) return 0;
  const c = vars.map((o) => (o.side === 'buy' ? o.priceMcPerKWh : -o.priceMcPerKWh));
  const A: number[][] = [];
  const rhs: number[] = [];
  const row = (coef: (o: MarketOrderIn) => number, bound: number) => {
    A.push(vars.map(coef));
    rhs.push(bound);
  };
  for (const o of vars) row((v) => (v === o ? 1 : 0), o.energyWh);
  row((v) => (v.side === 'buy' ? 1 : -1), 0); // Σx − Σy ≤ 0
  row((v) => (v.side === 'buy' ? -1 : 1), 0); // Σy − Σx ≤ 0
  for (const r of b.feederRoom) {
    row((v) => (v.feeder === r.feeder && v.side === 'buy' ? 1 : 0), r.importWh);
    row((v) => (v.feeder === r.feeder && v.side === 'sell' ? 1 : 0), r.exportWh);
  }
  return lpMax(c, A, rhs);
}

test('the LP solver on small programmes with known optima', () => {
  // max 3x + 2y, x + y ≤ 4, x + 3y ≤ 6, x ≤ 3 → x = 3, y = 1: 11
  assert.ok(Math.abs(lpMax([3, 2], [[1, 1], [1, 3], [1, 0]], [4, 6, 3]) - 11) < 1e-9);
  // degenerate: max x + y, x − y ≤ 0, y − x ≤ 0, x ≤ 2, y ≤ 5 → 4
  assert.ok(Math.abs(lpMax([1, 1], [[1, -1], [-1, 1], [1, 0], [0, 1]], [0, 0, 2, 5]) - 4) < 1e-9);
  // Christidis's example (cents/kWh, kWh): buys 11·x1 (≤ 1) + 7·x2 (≤ 2), sells 5·y1 + 6·y2 (≤ 1 each) → 7
  const christidis: MarketBook = {
    epoch: 0,
    pricing: 'uniform',
    feederRoom: [],
    orders: [
      { orderId: 'A', address: 'A', feeder: 'F', side: 'buy', energyWh: 1, priceMcPerKWh: 11, inclusion: 0 },
      { orderId: 'B', address: 'B', feeder: 'F', side: 'buy', energyWh: 2, priceMcPerKWh: 7, inclusion: 1 },
      { orderId: 'C', address: 'C', feeder: 'F', side: 'sell', energyWh: 1, priceMcPerKWh: 5, inclusion: 2 },
      { orderId: 'D', address: 'D', feeder: 'F', side: 'sell', energyWh: 1, priceMcPerKWh: 6, inclusion: 3 },
    ],
  };
  assert.ok(Math.abs(welfareOptimum(christidis) - 7) < 1e-9);
  assert.equal(marketWelfare(christidis, clearMarket(christidis)), 7);
});

test('welfare of the clearing ≤ the LP optimum on every book (and equal to it, as clearMarket.ts argues)', (t) => {
  const ratios: number[] = [];
  let books = 0;
  fc.assert(
    fc.property(fc.oneof(bookArb(true), bookArb(false)), (b) => {
      books++;
      const welfare = marketWelfare(b, clearMarket(b));
      const optimum = welfareOptimum(b);
      const tolerance = 1e-6 * Math.max(1, Math.abs(optimum));
      assert.ok(welfare <= optimum + tolerance, `welfare ${welfare} above the LP optimum ${optimum}`);
      assert.ok(welfare >= optimum - tolerance, `welfare ${welfare} below the LP optimum ${optimum}`);
      if (optimum > tolerance) ratios.push(welfare / optimum);
    }),
    { numRuns: 3000 },
  );
  const mean = ratios.reduce((s, x) => s + x, 0) / ratios.length;
  const min = Math.min(...ratios);
  t.diagnostic(`welfare / LP optimum over ${ratios.length} of ${books} books with optimum > 0: mean ${mean.toFixed(6)}, min ${min.toFixed(6)}`);
  assert.ok(ratios.length >= 1000, `${ratios.length} books with a positive optimum`);
});
