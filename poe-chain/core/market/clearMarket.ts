/**
 * Peer-to-peer market clearing: the pure core of the market contract. Homes post orders
 * to buy (import) or sell (export) energy in one interval; one uniform clearing price
 * matches them, within what each feeder can still carry.
 *
 * Every chain node, the `tmi market clear` audit command and `npm run bench:market` run
 * this one function, so a result is bit-identical everywhere: integers only (Wh,
 * millicents/kWh), no floats, no clock, no randomness, and a result that depends only on
 * the set of orders, never on the order in which they are passed.
 *
 * Rules (ids used in comments and in README.md):
 *   [MKT-1] chain order: orders are ranked by (inclusion, orderId, address) — smaller
 *           inclusion = earlier on chain; strings compare by UTF-16 code units. One order
 *           per address: only the first order of an address in chain order counts,
 *           whatever its side; every later one is excluded DUPLICATE_ADDRESS. An order
 *           of 0 Wh is excluded ZERO_ENERGY. The others are the counted orders.
 *   [MKT-2] volume at a price p (any real p), over the counted orders:
 *             S(p) = Σ_f min(exportRoom_f, Σ energy of sells on f with ask ≤ p)
 *             D(p) = Σ_f min(importRoom_f, Σ energy of buys on f with bid ≥ p)
 *             V(p) = min(S(p), D(p))
 *           A feeder not listed in feederRoom has no min. Every sell counts against its
 *           feeder's export room and every buy against its feeder's import room, also
 *           when buyer and seller sit on the same feeder (conservative: such a trade
 *           crosses no transformer, but the market does not net it).
 *   [MKT-3] V* = max over p of V(p). S only grows and D only falls with p, so V is
 *           largest on one interval [lo, hi]: lo = the smallest ask with S(lo) ≥ V*, hi =
 *           the largest bid with D(hi) ≥ V*. The clearing price (MCP) is the middle of
 *           that range, floor((lo + hi) / 2) (Christidis's rule); priceRange = {lo, hi}.
 *           When V* = 0 nothing trades: MCP and priceRange are null and every counted
 *           order is excluded FEEDER_LIMIT when its feeder has no room at all on its side
 *           (exportRoom 0 for a sell, importRoom 0 for a buy), PRICE_NOT_MET otherwise.
 *   [MKT-4] allocation: eligible sells have ask ≤ MCP, eligible buys bid ≥ MCP; the others
 *           are excluded PRICE_NOT_MET. Each side is filled to exactly V* in priority
 *           order — sells by ascending ask, buys by descending bid, equal prices in chain
 *           order [MKT-1] — each order taking min(its energy, V* still to fill, room left
 *           on its feeder on its side). An eligible order that gets nothing is excluded
 *           QUANTITY_FILLED when V* was already reached at its turn, else FEEDER_LIMIT.
 *   [MKT-5] pricing: 'uniform' fills every order at the MCP; 'pay-as-bid' fills each at its
 *           own price (a buyer pays its bid, a seller receives its ask), and the spread
 *           Σ bid × Wh − Σ ask × Wh goes to the market's clearing account. The volume,
 *           the allocation, the MCP and the exclusions are the same under both.
 *   [MKT-6] output order: fills = sells in priority order, then buys in priority order;
 *           excluded in chain order. Every order appears exactly once in one of them.
 *
 * Why the greedy fill of [MKT-4] reaches V* on each side: per side the constraints (each
 * order ≤ its energy, each feeder ≤ its room, the side's total ≤ V*) are nested — orders
 * within feeders within the total — i.e. a laminar family, whose feasible vectors form a
 * polymatroid: greedy in any order ends on a maximal vector. Directly: suppose the sells'
 * fill ended below V*. Then V* still to fill was never 0, so each sell took min(its
 * energy, room left on its feeder); on each feeder either some sell was cut by the room
 * (the feeder is full: its fill = exportRoom_f) or none was (its fill = its eligible
 * energy). Hence the fill ≥ Σ_f min(exportRoom_f, eligible energy on f) = S(MCP) ≥ V*
 * (MCP ∈ [lo, hi]): a contradiction. The same holds for buys with D(MCP) ≥ V*.
 *
 * Welfare: with C'(v) the ask of the v-th Wh in the sells' greedy order (capped by the
 * feeders, no total) and B'(v) the bid of the v-th Wh in the buys', V(p) ≥ v exactly when
 * C'(v) ≤ p ≤ B'(v); so V* = the largest v with B'(v) ≥ C'(v), and the fills are the
 * greedy prefixes of length V*. Those maximise Σ bid·x − Σ ask·y over all feasible
 * allocations (the linear programme in README.md): the clearing is also efficient, and
 * test/market/marketWelfare.test.ts checks it against an LP solver.
 *
 * Complexity: O(n log n) — one sort for chain order (O(n) when the orders already are in
 * it, the chain's case), one per side by price (packed numeric keys), then linear passes.
 */
import { MarketError, isQuantity } from './marketError.js';
import { byPriceIndices, chainOrderIndices } from '../orderBy.js';

export interface MarketOrderIn {
  /** unique id of the order */
  orderId: string;
  /** the pseudonym */
  address: string;
  feeder: string;
  /** the home's side: buy = it imports energy, sell = it exports */
  side: 'buy' | 'sell';
  /** integer ≥ 0: what it may trade in this interval (the caller has already applied credit caps) */
  energyWh: number;
  /** integer ≥ 0 millicents/kWh; buy: the most it pays; sell: the least it accepts */
  priceMcPerKWh: number;
  /** chain order, smaller = earlier (integer) */
  inclusion: number;
}

/** Room left on the feeder in this interval; a feeder not listed is unlimited. */
export interface MarketFeederRoom { feeder: string; exportWh: number; importWh: number }

export interface MarketBook { epoch: number; pricing: 'uniform' | 'pay-as-bid'; orders: MarketOrderIn[]; feederRoom: MarketFeederRoom[] }

export interface MarketFill { orderId: string; address: string; feeder: string; side: 'buy' | 'sell'; energyWh: number; priceMcPerKWh: number }

export interface MarketExclusion { orderId: string; address: string; reason: 'ZERO_ENERGY' | 'DUPLICATE_ADDRESS' | 'PRICE_NOT_MET' | 'QUANTITY_FILLED' | 'FEEDER_LIMIT' }

export interface MarketResult {
  epoch: number;
  /** energy traded (= Σ buy fills = Σ sell fills) */
  volumeWh: number;
  /** MCP; null when nothing trades */
  clearingPriceMcPerKWh: number | null;
  /** the prices that maximise volume */
  priceRange: { lowMcPerKWh: number; highMcPerKWh: number } | null;
  /** sells in priority order, then buys in priority order */
  fills: MarketFill[];
  /** in chain order */
  excluded: MarketExclusion[];
}

/** Why an order trades nothing. */
export const MARKET_EXCLUSION_REASONS: readonly MarketExclusion['reason'][] = [
  'ZERO_ENERGY',
  'DUPLICATE_ADDRESS',
  'PRICE_NOT_MET',
  'QUANTITY_FILLED',
  'FEEDER_LIMIT',
];

// status per order: 0 = counted (then traded), k = MARKET_EXCLUSION_REASONS[k − 1]
const ZERO = 1;
const DUPLICATE = 2;
const PRICE = 3;
const FILLED = 4;
const FEEDER = 5;

/** Largest integer for which packed sort keys stay exact in a double. */

export function clearMarket(book: MarketBook): MarketResult {
  checkBook(book);
  const orders = book.orders;
  const n = orders.length;
  const ids = new Set<string>();
  let totalWh = 0;
  for (let i = 0; i < n; i++) {
    const o = orders[i];
    checkOrder(o, i);
    if (ids.has(o.orderId)) throw new MarketError('DUPLICATE_ORDER_ID', { index: i, orderId: o.orderId });
    ids.add(o.orderId);
    totalWh += o.energyWh;
  }
  // every sum below is at most totalWh: keep them exact integers
  if (totalWh > Number.MAX_SAFE_INTEGER) throw new MarketError('INVALID_BOOK', { field: 'orders', reason: 'total energyWh above 2^53 - 1', value: totalWh });

  // [MKT-2] feeder rooms; a feeder without an entry is unlimited (Infinity)
  const feederIndex = new Map<string, number>();
  const exportRoom: number[] = [];
  const importRoom: number[] = [];
  for (const r of book.feederRoom) {
    if (feederIndex.has(r.feeder)) throw new MarketError('DUPLICATE_FEEDER_ROOM', { epoch: book.epoch, feeder: r.feeder });
    feederIndex.set(r.feeder, exportRoom.length);
    exportRoom.push(r.exportWh);
    importRoom.push(r.importWh);
  }

  // [MKT-1] chain order, one order per address, no empty orders
  const order = chainOrderIndices(orders, compareMarketChainOrder);
  const status = new Uint8Array(n);
  const feederOf = new Int32Array(n);
  const seen = new Set<string>();
  const sells = new Int32Array(n);
  const buys = new Int32Array(n);
  let ns = 0;
  let nb = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const o = orders[i]!;
    if (seen.has(o.address)) {
      status[i] = DUPLICATE;
      continue;
    }
    seen.add(o.address);
    if (o.energyWh === 0) {
      status[i] = ZERO;
      continue;
    }
    let f = feederIndex.get(o.feeder);
    if (f === undefined) {
      f = exportRoom.length;
      feederIndex.set(o.feeder, f);
      exportRoom.push(Infinity);
      importRoom.push(Infinity);
    }
    feederOf[i] = f;
    if (o.side === 'sell') sells[ns++] = i;
    else buys[nb++] = i;
  }

  // [MKT-4] priority: sells by ascending ask, buys by descending bid, ties in chain order
  // [MKT-4] sells by ascending ask, buys by descending bid, chain order on equal prices
  const sellOrder = byPriceIndices(orders, sells, ns, true);
  const buyOrder = byPriceIndices(orders, buys, nb, false);

  // [MKT-2] [MKT-3]
  const { volume, lo, hi } = maxVolume(orders, sellOrder, buyOrder, feederOf, exportRoom, importRoom);
  const fills: MarketFill[] = [];
  let mcp: number | null = null;
  if (volume === 0) {
    // [MKT-3] nothing trades
    for (const i of sellOrder) status[i] = exportRoom[feederOf[i]!] === 0 ? FEEDER : PRICE;
    for (const i of buyOrder) status[i] = importRoom[feederOf[i]!] === 0 ? FEEDER : PRICE;
  } else {
    mcp = lo + Math.floor((hi - lo) / 2); // = floor((lo + hi) / 2), without overflowing 2^53
    // [MKT-4] [MKT-5] [MKT-6]
    const uniform = book.pricing === 'uniform';
    allocate(orders, sellOrder, true, feederOf, exportRoom, volume, mcp, uniform, status, fills);
    allocate(orders, buyOrder, false, feederOf, importRoom, volume, mcp, uniform, status, fills);
  }

  // [MKT-6] exclusions in chain order
  const excluded: MarketExclusion[] = [];
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const s = status[i]!;
    if (s !== 0) {
      const o = orders[i]!;
      excluded.push({ orderId: o.orderId, address: o.address, reason: MARKET_EXCLUSION_REASONS[s - 1]! });
    }
  }
  return {
    epoch: book.epoch,
    volumeWh: volume,
    clearingPriceMcPerKWh: mcp,
    priceRange: mcp === null ? null : { lowMcPerKWh: lo, highMcPerKWh: hi },
    fills,
    excluded,
  };
}

/**
 * [MKT-2] [MKT-3] V* and the range [lo, hi] of prices that reach it. V is largest at an
 * ask price (between two asks S is flat and D can only fall), so V* is the largest
 * min(S(a), D(a)) over the asks a, walked upwards while the buys whose bid falls below a
 * drop out of D. Once S(a) ≥ D(a), V(p) ≤ D(p) ≤ D(a) for every p > a: the walk stops.
 */
function maxVolume(
  orders: readonly MarketOrderIn[],
  sellOrder: Int32Array,
  buyOrder: Int32Array,
  feederOf: Int32Array,
  exportRoom: readonly number[],
  importRoom: readonly number[],
): { volume: number; lo: number; hi: number } {
  const ns = sellOrder.length;
  const nb = buyOrder.length;
  if (ns === 0 || nb === 0) return { volume: 0, lo: 0, hi: 0 };
  const feeders = exportRoom.length;
  const sellWh = new Float64Array(feeders);
  const buyWh = new Float64Array(feeders);
  // D below every bid: every buy counts
  for (let k = 0; k < nb; k++) {
    const i = buyOrder[k]!;
    const f = feederOf[i]!;
    buyWh[f] = buyWh[f]! + orders[i]!.energyWh;
  }
  let d = 0;
  for (let f = 0; f < feeders; f++) d += Math.min(importRoom[f]!, buyWh[f]!);
  let s = 0;
  let best = 0;
  let j = nb - 1; // the lowest bid still counted in D
  for (let k = 0; k < ns; ) {
    const ask = orders[sellOrder[k]!]!.priceMcPerKWh;
    for (; k < ns && orders[sellOrder[k]!]!.priceMcPerKWh === ask; k++) {
      const i = sellOrder[k]!;
      const f = feederOf[i]!;
      const room = exportRoom[f]!;
      const before = sellWh[f]!;
      const after = before + orders[i]!.energyWh;
      sellWh[f] = after;
      s += Math.min(room, after) - Math.min(room, before);
    }
    for (; j >= 0 && orders[buyOrder[j]!]!.priceMcPerKWh < ask; j--) {
      const i = buyOrder[j]!;
      const f = feederOf[i]!;
      const room = importRoom[f]!;
      const before = buyWh[f]!;
      const after = before - orders[i]!.energyWh;
      buyWh[f] = after;
      d += Math.min(room, after) - Math.min(room, before);
    }
    const v = Math.min(s, d);
    if (v > best) best = v;
    if (s >= d) break;
  }
  if (best === 0) return { volume: 0, lo: 0, hi: 0 };

  // lo = the smallest ask with S(lo) ≥ V*
  sellWh.fill(0);
  s = 0;
  let lo = 0;
  for (let k = 0; k < ns; ) {
    const ask = orders[sellOrder[k]!]!.priceMcPerKWh;
    for (; k < ns && orders[sellOrder[k]!]!.priceMcPerKWh === ask; k++) {
      const i = sellOrder[k]!;
      const f = feederOf[i]!;
      const before = sellWh[f]!;
      sellWh[f] = before + orders[i]!.energyWh;
      s += Math.min(exportRoom[f]!, sellWh[f]!) - Math.min(exportRoom[f]!, before);
    }
    if (s >= best) {
      lo = ask;
      break;
    }
  }
  // hi = the largest bid with D(hi) ≥ V*
  buyWh.fill(0);
  d = 0;
  let hi = 0;
  for (let k = 0; k < nb; ) {
    const bid = orders[buyOrder[k]!]!.priceMcPerKWh;
    for (; k < nb && orders[buyOrder[k]!]!.priceMcPerKWh === bid; k++) {
      const i = buyOrder[k]!;
      const f = feederOf[i]!;
      const before = buyWh[f]!;
      buyWh[f] = before + orders[i]!.energyWh;
      d += Math.min(importRoom[f]!, buyWh[f]!) - Math.min(importRoom[f]!, before);
    }
    if (d >= best) {
      hi = bid;
      break;
    }
  }
  return { volume: best, lo, hi };
}

/** [MKT-4] [MKT-5] fills one side to `volume` in priority order; sets the status of each order. */
function allocate(
  orders: readonly MarketOrderIn[],
  priority: Int32Array,
  sell: boolean,
  feederOf: Int32Array,
  room: readonly number[],
  volume: number,
  mcp: number,
  uniform: boolean,
  status: Uint8Array,
  fills: MarketFill[],
): void {
  const left = room.slice();
  let remaining = volume;
  const m = priority.length;
  let k = 0;
  for (; k < m; k++) {
    const i = priority[k]!;
    const o = orders[i]!;
    if (sell ? o.priceMcPerKWh > mcp : o.priceMcPerKWh < mcp) break; // the rest of the side is priced out
    if (remaining === 0) {
      status[i] = FILLED;
      continue;
    }
    const f = feederOf[i]!;
    let take = o.energyWh;
    if (remaining < take) take = remaining;
    if (left[f]! < take) take = left[f]!;
    if (take === 0) {
      status[i] = FEEDER;
      continue;
    }
    remaining -= take;
    left[f] = left[f]! - take;
    fills.push({ orderId: o.orderId, address: o.address, feeder: o.feeder, side: o.side, energyWh: take, priceMcPerKWh: uniform ? mcp : o.priceMcPerKWh });
  }
  for (; k < m; k++) status[priority[k]!] = PRICE;
}

/** [MKT-1] total order on orders: inclusion, orderId, address (orderIds are unique). */
export function compareMarketChainOrder(x: MarketOrderIn, y: MarketOrderIn): number {
  if (x.inclusion !== y.inclusion) return x.inclusion < y.inclusion ? -1 : 1;
  if (x.orderId !== y.orderId) return x.orderId < y.orderId ? -1 : 1;
  if (x.address !== y.address) return x.address < y.address ? -1 : 1;
  return 0;
}

function checkBook(b: MarketBook): void {
  const bad = (field: string, value: unknown): never => {
    throw new MarketError('INVALID_BOOK', { field, value: String(value) });
  };
  if (typeof b !== 'object' || b === null) bad('book', b);
  if (!isQuantity(b.epoch)) bad('epoch', b.epoch);
  if (b.pricing !== 'uniform' && b.pricing !== 'pay-as-bid') bad('pricing', b.pricing);
  if (!Array.isArray(b.orders)) bad('orders', b.orders);
  if (!Array.isArray(b.feederRoom)) bad('feederRoom', b.feederRoom);
  b.feederRoom.forEach((r, i) => {
    if (typeof r !== 'object' || r === null) bad(`feederRoom/${i}`, r);
    if (typeof r.feeder !== 'string') bad(`feederRoom/${i}/feeder`, r.feeder);
    if (!isQuantity(r.exportWh)) bad(`feederRoom/${i}/exportWh`, r.exportWh);
    if (!isQuantity(r.importWh)) bad(`feederRoom/${i}/importWh`, r.importWh);
  });
}

function checkOrder(o: MarketOrderIn | undefined, index: number): asserts o is MarketOrderIn {
  const bad = (field: string, value: unknown): never => {
    throw new MarketError('INVALID_ORDER', { index, field, value: String(value) });
  };
  if (typeof o !== 'object' || o === null) return bad('order', o);
  if (typeof o.orderId !== 'string') bad('orderId', o.orderId);
  if (typeof o.address !== 'string') bad('address', o.address);
  if (typeof o.feeder !== 'string') bad('feeder', o.feeder);
  if (o.side !== 'buy' && o.side !== 'sell') bad('side', o.side);
  if (!isQuantity(o.energyWh)) bad('energyWh', o.energyWh);
  if (!isQuantity(o.priceMcPerKWh)) bad('priceMcPerKWh', o.priceMcPerKWh);
  if (!Number.isSafeInteger(o.inclusion)) bad('inclusion', o.inclusion);
}
