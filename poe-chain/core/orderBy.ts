/**
 * The two sorts every clearing needs (auction/clearAuction.ts, market/clearMarket.ts), pure
 * and exact: items in chain order, and candidates by price keeping chain order on equal
 * prices. Both pack two integers into one double and use the native numeric sort when that
 * is exact (far faster than a comparator at 100,000 items), and a comparator sort otherwise.
 */

/** Integers up to this are exact in a double. */
export const MAX_EXACT = 2 ** 53;

/**
 * Indices of `items` in chain order: by inclusion, then `compare` within runs of equal
 * inclusion (which the chain never produces); O(n) when they already are (the chain's case).
 */
export function chainOrderIndices<T extends { inclusion: number }>(items: readonly T[], compare: (x: T, y: T) => number): number[] {
  const n = items.length;
  const order = new Array<number>(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    if (sorted && i > 0 && compare(items[i - 1]!, items[i]!) > 0) sorted = false;
  }
  if (sorted) return order;
  if (n * n > MAX_EXACT) return order.sort((i, j) => compare(items[i]!, items[j]!));
  // native numeric sort on (rank of inclusion, index), then the comparator only inside
  // runs of equal inclusion
  const inclusions = new Float64Array(n);
  for (let i = 0; i < n; i++) inclusions[i] = items[i]!.inclusion;
  const ascending = inclusions.slice().sort();
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = lowerBound(ascending, inclusions[i]!) * n + i;
  keys.sort();
  for (let k = 0; k < n; k++) order[k] = keys[k]! % n;
  for (let start = 0; start < n; ) {
    const inc = items[order[start]!]!.inclusion;
    let end = start + 1;
    while (end < n && items[order[end]!]!.inclusion === inc) end++;
    if (end - start > 1) {
      const run = order.slice(start, end).sort((i, j) => compare(items[i]!, items[j]!));
      for (let k = start; k < end; k++) order[k] = run[k - start]!;
    }
    start = end;
  }
  return order;
}

/** first index of v in the ascending array a (v is present) */
function lowerBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The first m `candidates` (indices into `items`, given in chain order) sorted by price,
 * ascending or descending, keeping chain order on equal prices.
 */
export function byPriceIndices<T extends { priceMcPerKWh: number }>(items: readonly T[], candidates: Int32Array, m: number, ascending: boolean): Int32Array {
  const out = new Int32Array(m);
  if (m === 0) return out;
  let maxPrice = 0;
  for (let k = 0; k < m; k++) {
    const p = items[candidates[k]!]!.priceMcPerKWh;
    if (p > maxPrice) maxPrice = p;
  }
  if ((maxPrice + 1) * m <= MAX_EXACT) {
    const keys = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      const p = items[candidates[k]!]!.priceMcPerKWh;
      keys[k] = (ascending ? p : maxPrice - p) * m + k;
    }
    keys.sort();
    for (let k = 0; k < m; k++) out[k] = candidates[keys[k]! % m]!;
    return out;
  }
  const idx = Array.from(candidates.subarray(0, m));
  // Array.prototype.sort is stable (ES2019): equal prices stay in chain order
  idx.sort(ascending
    ? (i, j) => items[i]!.priceMcPerKWh - items[j]!.priceMcPerKWh
    : (i, j) => items[j]!.priceMcPerKWh - items[i]!.priceMcPerKWh);
  out.set(idx);
  return out;
}
