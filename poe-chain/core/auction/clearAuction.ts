/**
 * Auction clearing: the pure core of the auction contract (DESIGN §8).
 *
 * Every chain node, the `tmi auction clear` audit command and the benchmarks run this
 * one function, so a result is bit-identical everywhere: integers only (Wh,
 * millicents/kWh), no floats, no clock, no randomness, and a result that depends only
 * on the multiset of offers, never on the order in which they are passed.
 *
 * Rules (ids used in comments and in README.md):
 *   [AUC-1] chain order: offers are ranked by (inclusion, reqId, address) — smaller
 *           inclusion = earlier on chain; strings compare by UTF-16 code units.
 *   [AUC-2] one offer per address: only the first offer of an address in chain order
 *           counts; every later one is excluded DUPLICATE_ADDRESS.
 *   [AUC-3] an offer of 0 Wh is excluded ZERO_ENERGY.
 *   [AUC-4] aggregator buy: an offer priced above the limit is excluded
 *           PRICE_ABOVE_LIMIT; aggregator sell: a bid priced below the limit is
 *           excluded PRICE_BELOW_LIMIT. A price equal to the limit is acceptable.
 *   [AUC-5] merit order: buy = ascending price, sell = descending price; ties in chain
 *           order [AUC-1].
 *   [AUC-6] in merit order each offer is awarded min(its energy, energy still wanted,
 *           capacity left on its feeder) — so the marginal offer is partly filled, and
 *           an offer on a nearly full feeder is partly filled and clearing goes on with
 *           later offers. Feeder capacity = maxExportWh (buy) or maxImportWh (sell); a
 *           feeder with no limit entry is unlimited. An offer awarded nothing is
 *           excluded QUANTITY_FILLED (the auction's energy is reached) or FEEDER_LIMIT
 *           (its feeder is full).
 *   [AUC-7] pricing: pay-as-bid awards each offer its own price; uniform awards every
 *           offer the marginal price = the price of the last accepted offer in merit
 *           order. clearingPriceMcPerKWh is that marginal price under both rules, null
 *           when nothing is awarded.
 *   [AUC-8] output order: awards in merit order, exclusions in chain order.
 *
 * The result is optimal: the constraints (each offer ≤ its energy, each feeder ≤ its
 * limit, total ≤ the auction's energy) form a laminar family, hence a polymatroid, on
 * which the greedy merit order gives the largest feasible quantity at the least cost
 * (buy) or the most revenue (sell), and the least-extreme marginal price. The property
 * test checks this against a brute force.
 */
import { AuctionError, isQuantity } from './auctionError.js';
import { byPriceIndices, chainOrderIndices } from '../orderBy.js';

export interface ClearingOffer {
  address: string;
  feeder: string;
  energyWh: number;
  priceMcPerKWh: number;
  /** order of inclusion on chain (e.g. height * 100000 + txIndex); smaller = earlier */
  inclusion: number;
  reqId: string;
}

export interface ClearingFeederLimit {
  feeder: string;
  maxExportWh: number;
  maxImportWh: number;
}

export interface ClearingAuction {
  auctionId: string;
  /** the aggregator's side: buy = it buys energy from HEM offers (discharge, export) */
  side: 'buy' | 'sell';
  energyWh: number;
  limitPriceMcPerKWh: number;
  pricing: 'pay-as-bid' | 'uniform';
  feederLimits: ClearingFeederLimit[];
}

export interface ClearingAward {
  address: string;
  feeder: string;
  reqId: string;
  energyWh: number;
  priceMcPerKWh: number;
}

export interface ClearingExclusion {
  address: string;
  reqId: string;
  reason: string;
}

export interface ClearingResult {
  /** in merit order */
  awards: ClearingAward[];
  awardedWh: number;
  clearingPriceMcPerKWh: number | null;
  /** in chain order [AUC-1] */
  excluded: ClearingExclusion[];
}

/** Why an offer was not awarded anything. */
export const EXCLUSION_REASONS = [
  'DUPLICATE_ADDRESS',
  'ZERO_ENERGY',
  'PRICE_ABOVE_LIMIT',
  'PRICE_BELOW_LIMIT',
  'FEEDER_LIMIT',
  'QUANTITY_FILLED',
] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

// status codes per offer: 0 = candidate/awarded, k = EXCLUSION_REASONS[k − 1]
const DUPLICATE = 1;
const ZERO = 2;
const ABOVE = 3;
const BELOW = 4;
const FEEDER = 5;
const FILLED = 6;

/** Largest integer for which packed sort keys stay exact in a double. */

export function clearAuction(a: ClearingAuction, offers: readonly ClearingOffer[]): ClearingResult {
  checkAuction(a);
  const n = offers.length;
  for (let i = 0; i < n; i++) checkOffer(offers[i], i);
  const buy = a.side === 'buy';
  const limit = a.limitPriceMcPerKWh;

  // [AUC-6] feeder capacities for this side
  const feederIndex = new Map<string, number>();
  const capacity: number[] = [];
  for (const fl of a.feederLimits) {
    if (feederIndex.has(fl.feeder)) throw new AuctionError('DUPLICATE_FEEDER_LIMIT', { auctionId: a.auctionId, feeder: fl.feeder });
    feederIndex.set(fl.feeder, capacity.length);
    capacity.push(buy ? fl.maxExportWh : fl.maxImportWh);
  }

  // [AUC-1] chain order
  const order = chainOrderIndices(offers, compareChainOrder);
  const status = new Uint8Array(n);

  // [AUC-2] [AUC-3] [AUC-4] filters, walking in chain order
  const seen = new Set<string>();
  const candidates = new Int32Array(n);
  let m = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const o = offers[i]!;
    if (seen.has(o.address)) {
      status[i] = DUPLICATE;
      continue;
    }
    seen.add(o.address);
    if (o.energyWh === 0) status[i] = ZERO;
    else if (buy && o.priceMcPerKWh > limit) status[i] = ABOVE;
    else if (!buy && o.priceMcPerKWh < limit) status[i] = BELOW;
    else candidates[m++] = i;
  }

  // [AUC-5] merit order, ties kept in chain order
  // merit order: ascending price for an aggregator buy, descending for a sell
  const merit = byPriceIndices(offers, candidates, m, buy);

  // [AUC-6] greedy fill
  const awards: ClearingAward[] = [];
  let remaining = a.energyWh;
  let k = 0;
  for (; k < m && remaining > 0; k++) {
    const i = merit[k]!;
    const o = offers[i]!;
    const f = feederIndex.get(o.feeder);
    const cap = f === undefined ? Infinity : capacity[f]!;
    let take = o.energyWh;
    if (remaining < take) take = remaining;
    if (cap < take) take = cap;
    if (take === 0) {
      status[i] = FEEDER;
      continue;
    }
    remaining -= take;
    if (f !== undefined) capacity[f] = cap - take;
    awards.push({ address: o.address, feeder: o.feeder, reqId: o.reqId, energyWh: take, priceMcPerKWh: o.priceMcPerKWh });
  }
  for (; k < m; k++) status[merit[k]!] = FILLED;

  // [AUC-7] pricing
  const last = awards[awards.length - 1];
  const clearingPrice = last === undefined ? null : last.priceMcPerKWh;
  if (a.pricing === 'uniform' && clearingPrice !== null) {
    for (const aw of awards) aw.priceMcPerKWh = clearingPrice;
  }

  // [AUC-8]
  const excluded: ClearingExclusion[] = [];
  for (let k2 = 0; k2 < n; k2++) {
    const i = order[k2]!;
    const s = status[i]!;
    if (s !== 0) {
      const o = offers[i]!;
      excluded.push({ address: o.address, reqId: o.reqId, reason: EXCLUSION_REASONS[s - 1]! });
    }
  }
  return { awards, awardedWh: a.energyWh - remaining, clearingPriceMcPerKWh: clearingPrice, excluded };
}

/** [AUC-1] total order on offers: inclusion, reqId, address, then the remaining fields. */
export function compareChainOrder(x: ClearingOffer, y: ClearingOffer): number {
  if (x.inclusion !== y.inclusion) return x.inclusion < y.inclusion ? -1 : 1;
  if (x.reqId !== y.reqId) return x.reqId < y.reqId ? -1 : 1;
  if (x.address !== y.address) return x.address < y.address ? -1 : 1;
  // same (inclusion, reqId, address) twice: only possible with bad input; still total
  if (x.priceMcPerKWh !== y.priceMcPerKWh) return x.priceMcPerKWh - y.priceMcPerKWh;
  if (x.energyWh !== y.energyWh) return x.energyWh - y.energyWh;
  if (x.feeder !== y.feeder) return x.feeder < y.feeder ? -1 : 1;
  return 0;
}

function checkAuction(a: ClearingAuction): void {
  const bad = (field: string, value: unknown): never => {
    throw new AuctionError('INVALID_AUCTION', { auctionId: typeof a?.auctionId === 'string' ? a.auctionId : undefined, field, value: String(value) });
  };
  if (typeof a !== 'object' || a === null) bad('auction', a);
  if (typeof a.auctionId !== 'string') bad('auctionId', a.auctionId);
  if (a.side !== 'buy' && a.side !== 'sell') bad('side', a.side);
  if (a.pricing !== 'pay-as-bid' && a.pricing !== 'uniform') bad('pricing', a.pricing);
  if (!isQuantity(a.energyWh)) bad('energyWh', a.energyWh);
  if (!isQuantity(a.limitPriceMcPerKWh)) bad('limitPriceMcPerKWh', a.limitPriceMcPerKWh);
  if (!Array.isArray(a.feederLimits)) bad('feederLimits', a.feederLimits);
  a.feederLimits.forEach((fl, i) => {
    if (typeof fl !== 'object' || fl === null) bad(`feederLimits/${i}`, fl);
    if (typeof fl.feeder !== 'string') bad(`feederLimits/${i}/feeder`, fl.feeder);
    if (!isQuantity(fl.maxExportWh)) bad(`feederLimits/${i}/maxExportWh`, fl.maxExportWh);
    if (!isQuantity(fl.maxImportWh)) bad(`feederLimits/${i}/maxImportWh`, fl.maxImportWh);
  });
}

function checkOffer(o: ClearingOffer | undefined, index: number): void {
  const bad = (field: string, value: unknown): never => {
    throw new AuctionError('INVALID_OFFER', { index, field, value: String(value) });
  };
  if (typeof o !== 'object' || o === null) return bad('offer', o);
  if (typeof o.address !== 'string') bad('address', o.address);
  if (typeof o.feeder !== 'string') bad('feeder', o.feeder);
  if (typeof o.reqId !== 'string') bad('reqId', o.reqId);
  if (!isQuantity(o.energyWh)) bad('energyWh', o.energyWh);
  if (!isQuantity(o.priceMcPerKWh)) bad('priceMcPerKWh', o.priceMcPerKWh);
  if (!isQuantity(o.inclusion)) bad('inclusion', o.inclusion);
}
