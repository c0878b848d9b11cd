/** Auctions: the list, one auction in detail, and clearing prices and volumes per slot. */
import type { AuctionRecord, BidRecord, SettlementRecord } from './records.js';
import { ids } from './records.js';
import { iso, type ReadStore } from './readStore.js';

export interface AuctionSummary {
  auctionId: string;
  status: AuctionRecord['status'];
  side: 'buy' | 'sell' | null;
  energyWh: number | null;
  limitPriceMcPerKWh: number | null;
  deliveryStart: string | null;
  deliveryEnd: string | null;
  closesAt: string | null;
  pricing: 'pay-as-bid' | 'uniform' | null;
  sealed: boolean | null;
  openedAt: string | null;
  closedAt: string | null;
  clearingPriceMcPerKWh: number | null;
  awardedWh: number;
  awards: number;
  /** bids seen (on MQTT or on chain), including any the chain refused */
  bids: number;
  /** bids seen in a block (listing only; null in other views) */
  bidsOnChain: number | null;
  sealedUnopened: number;
  bidBuyWh: number;
  bidSellWh: number;
  resultHeight: number | null;
}

/** The time an auction is listed at: its opening, else its result, else its close. */
export function auctionTime(a: AuctionRecord): number {
  return a.openedAt ?? a.resultAt ?? a.closedAt ?? 0;
}

export function auctionSummary(a: AuctionRecord): AuctionSummary {
  return {
    auctionId: a.auctionId,
    status: a.status,
    side: a.side,
    energyWh: a.energyWh,
    limitPriceMcPerKWh: a.limitPriceMcPerKWh,
    deliveryStart: iso(a.deliveryStart),
    deliveryEnd: iso(a.deliveryEnd),
    closesAt: iso(a.closesAt),
    pricing: a.pricing,
    sealed: a.sealed,
    openedAt: iso(a.openedAt),
    closedAt: iso(a.closedAt),
    clearingPriceMcPerKWh: a.clearingPriceMcPerKWh,
    awardedWh: a.awardedWh,
    awards: a.awards.length,
    bids: a.bids,
    bidsOnChain: null,
    sealedUnopened: a.sealedUnopened,
    bidBuyWh: a.bidBuyWh,
    bidSellWh: a.bidSellWh,
    resultHeight: a.resultHeight,
  };
}

const cursorOf = (a: AuctionRecord): string => `${auctionTime(a)}:${a.auctionId}`;

/** Parses a `before` cursor: "<ms>" or "<ms>:<auctionId>" (the `next` of a page). */
function parseCursor(c: string): { t: number; id: string | null } {
  const i = c.indexOf(':');
  return i < 0 ? { t: Number(c), id: null } : { t: Number(c.slice(0, i)), id: c.slice(i + 1) };
}

/** Newest first (by auctionTime, then auctionId descending); `before` is exclusive. */
export function listAuctions(store: ReadStore, q: { limit: number; before?: string }): { items: AuctionSummary[]; next: string | null } {
  const all = store.range('auction');
  all.sort((x, y) => auctionTime(y) - auctionTime(x) || (y.auctionId < x.auctionId ? -1 : y.auctionId > x.auctionId ? 1 : 0));
  let start = 0;
  if (q.before !== undefined) {
    const c = parseCursor(q.before);
    start = all.findIndex((a) => auctionTime(a) < c.t || (c.id !== null && auctionTime(a) === c.t && a.auctionId < c.id));
    if (start < 0) start = all.length;
  }
  const page = all.slice(start, start + q.limit);
  const last = page[page.length - 1];
  const more = start + q.limit < all.length;
  const onChain = (id: string) => store.range('bid', { gte: `${id}|`, lt: `${id}}` }).filter((b) => b.height !== null).length;
  return { items: page.map((a) => ({ ...auctionSummary(a), bidsOnChain: onChain(a.auctionId) })), next: more && last !== undefined ? cursorOf(last) : null };
}

export interface AuctionDetail {
  auction: AuctionSummary & { excludedCount: number; resultAt: string | null };
  awards: { address: string; energyWh: number; priceMcPerKWh: number }[];
  bids: (Omit<BidRecord, 'time'> & { time: string })[];
  bidsTruncated: boolean;
  settlements: SettlementRecord[];
}

export const MAX_DETAIL_BIDS = 10_000;

export function auctionDetail(store: ReadStore, auctionId: string): AuctionDetail | undefined {
  const a = store.get('auction', ids.auction(auctionId));
  if (a === undefined) return undefined;
  // ids of bids and settlements start with "<auctionId>|"; '|' never occurs in an id, '}' sorts right after it
  const range = { gte: `${auctionId}|`, lt: `${auctionId}}` };
  const bids = store.range('bid', { ...range, limit: MAX_DETAIL_BIDS + 1 });
  return {
    auction: { ...auctionSummary(a), excludedCount: a.excludedCount, resultAt: iso(a.resultAt) },
    awards: a.awards.map((w) => ({ ...w })),
    bids: bids.slice(0, MAX_DETAIL_BIDS).sort((x, y) => x.time - y.time).map((b) => ({ ...b, time: iso(b.time) as string })),
    bidsTruncated: bids.length > MAX_DETAIL_BIDS,
    settlements: store.range('settlement', range),
  };
}

export interface PricePoint {
  start: string;
  end: string;
  auctions: number;
  clearedAuctions: number;
  /** traded (awarded) energy of the cleared auctions delivering in the slot */
  volumeWh: number;
  /** volume-weighted mean award price, floor; null with no volume */
  meanPriceMcPerKWh: number | null;
  buyWh: number;
  sellWh: number;
}

/** Slots with auctions, from ≤ start < to, the latest `limit` of them, oldest first. */
export function priceSeries(store: ReadStore, q: { from?: number; to?: number; limit: number }): PricePoint[] {
  const slots = store.range('slot', {
    ...(q.from !== undefined ? { gte: ids.slot(q.from) } : {}),
    ...(q.to !== undefined ? { lt: ids.slot(q.to) } : {}),
  }).filter((s) => s.auctions > 0);
  return slots.slice(Math.max(0, slots.length - q.limit)).map((s) => ({
    start: iso(s.start) as string,
    end: iso(s.end) as string,
    auctions: s.auctions,
    clearedAuctions: s.clearedAuctions,
    volumeWh: s.tradedWh,
    meanPriceMcPerKWh: s.tradedWh === 0 ? null : Math.floor(s.tradedValue / s.tradedWh),
    buyWh: s.buyWh,
    sellWh: s.sellWh,
  }));
}
