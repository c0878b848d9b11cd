/**
 * [AN-P2P] The P2P market: recent intervals, one interval in detail (fills, book, settlements),
 * and per address Christidis's efficiency measures over its P2P trading:
 *
 *   [AN-P2P-M] M_i = E_trd / E_imp
 *   [AN-P2P-A] A_i = E_trd / min(E_buy, E_sell)
 *
 * E_trd  = energy the address bought plus sold in P2P fills (tradedWh);
 * E_imp  = Σ over its readings of max(0, C + charged − P − discharged) (importedWh);
 * E_buy  = Σ energy of its revealed buy orders over the books of the cleared intervals
 *          (an order standing in n intervals counts n times) (revealedBuyWh);
 * E_sell = the same for its sell orders (revealedSellWh).
 * A ratio with a zero denominator is null (e.g. A_i of an address that only bought).
 */
import type { MarketOrderFact } from '../facts.js';
import type { MarketRecord, MarketSettlementRecord } from './records.js';
import { ids } from './records.js';
import { iso, ratio, type ReadStore } from './readStore.js';

export interface MarketIntervalSummary {
  interval: number;
  start: string | null;
  end: string | null;
  status: MarketRecord['status'];
  clearingPriceMcPerKWh: number | null;
  priceLowMcPerKWh: number | null;
  priceHighMcPerKWh: number | null;
  /** energy cleared in P2P (bought = sold) */
  p2pVolumeWh: number;
  fills: number;
  /** revealed orders in the book, and their energy per side */
  bookBuyOrders: number;
  bookSellOrders: number;
  bookBuyWh: number;
  bookSellWh: number;
  excludedCount: number;
  settledFills: number;
  deliveredWh: number;
  /** energy awarded in the aggregator's cleared auctions delivering in the same interval */
  auctionAwardedWh: number;
  clearedHeight: number | null;
}

function bookSums(book: readonly MarketOrderFact[]) {
  let bookBuyOrders = 0, bookSellOrders = 0, bookBuyWh = 0, bookSellWh = 0;
  for (const o of book) {
    if (o.side === 'buy') { bookBuyOrders++; bookBuyWh += o.energyWh; } else { bookSellOrders++; bookSellWh += o.energyWh; }
  }
  return { bookBuyOrders, bookSellOrders, bookBuyWh, bookSellWh };
}

export function marketSummary(store: ReadStore, m: MarketRecord): MarketIntervalSummary {
  const slot = m.intervalStart === null ? undefined : store.get('slot', ids.slot(m.intervalStart));
  return {
    interval: m.interval,
    start: iso(m.intervalStart),
    end: iso(m.intervalEnd),
    status: m.status,
    clearingPriceMcPerKWh: m.clearingPriceMcPerKWh,
    priceLowMcPerKWh: m.priceRange?.lowMcPerKWh ?? null,
    priceHighMcPerKWh: m.priceRange?.highMcPerKWh ?? null,
    p2pVolumeWh: m.volumeWh,
    fills: m.fills.length,
    ...bookSums(m.book),
    excludedCount: m.excludedCount,
    settledFills: m.settledFills,
    deliveredWh: m.deliveredWh,
    auctionAwardedWh: slot?.tradedWh ?? 0,
    clearedHeight: m.clearedHeight,
  };
}

export interface MarketList {
  /** over the intervals listed */
  totals: { intervals: number; p2pVolumeWh: number; auctionAwardedWh: number; fills: number; volumeWeightedPriceMcPerKWh: number | null };
  /** newest interval first */
  items: MarketIntervalSummary[];
}

/** The latest `limit` intervals whose market cleared, newest first; `before` (an interval) is exclusive. */
export function listMarkets(store: ReadStore, q: { limit: number; before?: number }): MarketList {
  const all = store.range('market', { ...(q.before !== undefined ? { lt: ids.market(q.before) } : {}), reverse: true })
    .filter((m) => m.status !== 'unknown')
    .slice(0, q.limit);
  const items = all.map((m) => marketSummary(store, m));
  let p2pVolumeWh = 0, auctionAwardedWh = 0, fills = 0, value = 0;
  for (const r of items) {
    p2pVolumeWh += r.p2pVolumeWh;
    auctionAwardedWh += r.auctionAwardedWh;
    fills += r.fills;
    value += r.p2pVolumeWh * (r.clearingPriceMcPerKWh ?? 0);
  }
  return {
    totals: { intervals: items.length, p2pVolumeWh, auctionAwardedWh, fills, volumeWeightedPriceMcPerKWh: p2pVolumeWh === 0 ? null : Math.floor(value / p2pVolumeWh) },
    items,
  };
}

export interface MarketDetail {
  market: MarketIntervalSummary;
  /** each at its fill price */
  fills: MarketOrderFact[];
  /** the revealed orders, buys by descending price then sells by ascending price, each at its own price */
  book: { buys: MarketOrderFact[]; sells: MarketOrderFact[] };
  bookTruncated: boolean;
  settlements: MarketSettlementRecord[];
}

export const MAX_DETAIL_ORDERS = 10_000;

export function marketDetail(store: ReadStore, interval: number): MarketDetail | undefined {
  const m = store.get('market', ids.market(interval));
  if (m === undefined) return undefined;
  const buys = m.book.filter((o) => o.side === 'buy').sort((x, y) => y.priceMcPerKWh - x.priceMcPerKWh);
  const sells = m.book.filter((o) => o.side === 'sell').sort((x, y) => x.priceMcPerKWh - y.priceMcPerKWh);
  const prefix = ids.market(interval);
  return {
    market: marketSummary(store, m),
    fills: m.fills.slice(0, MAX_DETAIL_ORDERS).map((f) => ({ ...f })),
    book: { buys: buys.slice(0, MAX_DETAIL_ORDERS), sells: sells.slice(0, MAX_DETAIL_ORDERS) },
    bookTruncated: buys.length > MAX_DETAIL_ORDERS || sells.length > MAX_DETAIL_ORDERS || m.fills.length > MAX_DETAIL_ORDERS,
    // ids of an interval's settlements start with "<padded interval>|"; '}' sorts right after '|'
    settlements: store.range('marketSettlement', { gte: `${prefix}|`, lt: `${prefix}}`, limit: MAX_DETAIL_ORDERS }),
  };
}

export interface MarketHomeRow {
  address: string;
  fills: number;
  boughtWh: number;
  soldWh: number;
  /** E_trd = boughtWh + soldWh */
  tradedWh: number;
  /** E_imp, from its readings */
  importedWh: number;
  buyOrders: number;
  sellOrders: number;
  /** E_buy, E_sell */
  revealedBuyWh: number;
  revealedSellWh: number;
  /** M_i = tradedWh / importedWh */
  marketEfficiency: number | null;
  /** A_i = tradedWh / min(revealedBuyWh, revealedSellWh) */
  allocativeEfficiency: number | null;
}

/** Addresses with P2P orders or fills, most traded first (then by address), at most `limit`. */
export function marketHomes(store: ReadStore, q: { limit: number }): { total: number; items: MarketHomeRow[] } {
  const all = store.range('trader').map((t) => {
    const tradedWh = t.boughtWh + t.soldWh;
    const importedWh = store.get('home', ids.home(t.address))?.importedWh ?? 0;
    return {
      address: t.address, fills: t.fills, boughtWh: t.boughtWh, soldWh: t.soldWh, tradedWh, importedWh,
      buyOrders: t.buyOrders, sellOrders: t.sellOrders, revealedBuyWh: t.revealedBuyWh, revealedSellWh: t.revealedSellWh,
      marketEfficiency: ratio(tradedWh, importedWh),
      allocativeEfficiency: ratio(tradedWh, Math.min(t.revealedBuyWh, t.revealedSellWh)),
    };
  });
  all.sort((x, y) => y.tradedWh - x.tradedWh || (x.address < y.address ? -1 : x.address > y.address ? 1 : 0));
  return { total: all.length, items: all.slice(0, q.limit) };
}
