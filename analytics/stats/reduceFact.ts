/**
 * The reducer: (records, fact) → changes. Pure: it reads the records through a view and
 * returns the changes to make; it never mutates what it reads.
 *
 * Every entity record (reading, auction, block, settlement) contributes fixed sums to
 * aggregates (slot, home, producer, account). When a record changes, the reducer
 * subtracts the old record's contributions and adds the new one's, so that:
 *   - the same fact ingested twice changes nothing (idempotent);
 *   - a record replaced (a reorg at one height, a sealed bid opened, a re-published
 *     result) moves the aggregates exactly;
 *   - facts may arrive in any order (a bid before its auction-open).
 *
 * [AN-ONCHAIN] Readings count in the aggregates (slot, home) only once they are on chain
 * (seen in a block: height set), so every figure computed from readings is one of readings
 * on chain.
 */
import { paymentMillicents } from '../../wire/quantities.js';
import type { Fact } from '../facts.js';
import {
  ids,
  type AccountAgg, type AuctionRecord, type MarketRecord, type MarketSettlementRecord, type TraderAgg, type AuctionStatus, type BidRecord, type BlockRecord, type Change, type HomeAgg,
  type ProducerAgg, type ReadingRecord, type RecordKind, type RecordTypes, type RecordView, type ScheduleRecord, type SettlementRecord, type SlotAgg,
} from './records.js';

type AggKind = 'slot' | 'home' | 'producer' | 'account' | 'trader';
type EntityKind = Exclude<RecordKind, AggKind>;

/** One record's share of one aggregate. */
interface Contribution {
  kind: AggKind;
  id: string;
  /** the aggregate with zero sums, when it does not exist yet */
  init: () => RecordTypes[AggKind];
  delta: Record<string, number>;
}

interface EntityChange {
  kind: EntityKind;
  id: string;
  old: RecordTypes[EntityKind] | undefined;
  next: RecordTypes[EntityKind];
}

export function reduceFact(view: RecordView, fact: Fact): Change[] {
  const overlay = new Map<string, RecordTypes[RecordKind] | null>();
  const get = <K extends RecordKind>(kind: K, id: string): RecordTypes[K] | undefined => {
    const k = `${kind}!${id}`;
    if (overlay.has(k)) return (overlay.get(k) ?? undefined) as RecordTypes[K] | undefined;
    return view.get(kind, id);
  };
  const changes: Change[] = [];
  const set = (kind: RecordKind, id: string, value: RecordTypes[RecordKind] | null): void => {
    overlay.set(`${kind}!${id}`, value);
    changes.push({ kind, id, value } as Change);
  };

  for (const e of entityChanges(get, fact)) {
    if (e.old !== undefined && sameRecord(e.old, e.next)) continue;
    set(e.kind, e.id, e.next);
    applyContributions(get, set, [...contributions(e.kind, e.old, -1), ...contributions(e.kind, e.next, +1)]);
  }
  return lastChanges(view, changes);
}

/** Adds each contribution to its aggregate (an aggregate that ends empty is deleted). */
function applyContributions(get: Getter, set: (kind: RecordKind, id: string, value: RecordTypes[RecordKind] | null) => void, deltas: readonly Contribution[]): void {
  for (const c of deltas) {
    const cur = get(c.kind, c.id) ?? c.init();
    const next = { ...cur } as unknown as Record<string, number>;
    for (const [field, d] of Object.entries(c.delta)) next[field] = (next[field] ?? 0) + d;
    const agg = next as unknown as RecordTypes[AggKind];
    set(c.kind, c.id, isEmptyAggregate(c.kind, agg) ? null : agg);
  }
}

/** The last change per record only, without deletions of records that never existed. */
function lastChanges(view: RecordView, changes: readonly Change[]): Change[] {
  const last = new Map<string, Change>();
  for (const c of changes) last.set(`${c.kind}!${c.id}`, c);
  return [...last.values()].filter((c) => !(c.value === null && view.get(c.kind, c.id) === undefined));
}

/**
 * [AN-ONCHAIN] For a store written before readings counted only once on chain: the aggregate
 * changes that take out the readings not seen in a block (their old contributions).
 */
export function uncountOffChainReadings(view: RecordView, readings: readonly ReadingRecord[]): Change[] {
  const overlay = new Map<string, RecordTypes[RecordKind] | null>();
  const get: Getter = <K extends RecordKind>(kind: K, id: string): RecordTypes[K] | undefined => {
    const k = `${kind}!${id}`;
    return (overlay.has(k) ? overlay.get(k) ?? undefined : view.get(kind, id)) as RecordTypes[K] | undefined;
  };
  const changes: Change[] = [];
  const set = (kind: RecordKind, id: string, value: RecordTypes[RecordKind] | null): void => {
    overlay.set(`${kind}!${id}`, value);
    changes.push({ kind, id, value } as Change);
  };
  for (const r of readings) if (r.height === null) applyContributions(get, set, contributions('reading', { ...r, height: 0 }, -1));
  return lastChanges(view, changes);
}

function sameRecord(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

// ── entity changes, per fact kind ────────────────────────────────────────────────

type Getter = <K extends RecordKind>(kind: K, id: string) => RecordTypes[K] | undefined;

function entityChanges(get: Getter, f: Fact): EntityChange[] {
  switch (f.kind) {
    case 'block': {
      const id = ids.block(f.height);
      const old = get('block', id);
      const sameBlock = old !== undefined && old.hash === f.hash;
      const next: BlockRecord = {
        height: f.height, slot: f.slot, epoch: f.epoch, hash: f.hash, producer: f.producer, txCount: f.txCount,
        time: sameBlock ? Math.min(old.time, f.time) : f.time,
        rewardMc: f.rewardMc ?? (sameBlock ? old.rewardMc : 0),
      };
      return [{ kind: 'block', id, old, next }];
    }
    case 'reading': {
      const id = ids.reading(f.intervalStart, f.address);
      const old = get('reading', id);
      const next: ReadingRecord = {
        address: f.address, intervalStart: f.intervalStart, intervalEnd: f.intervalEnd,
        producedWh: f.producedWh, consumedWh: f.consumedWh, chargedWh: f.chargedWh, dischargedWh: f.dischargedWh,
        socPermille: f.socPermille, height: f.height ?? old?.height ?? null,
      };
      return [{ kind: 'reading', id, old, next }];
    }
    case 'auction-open': {
      const id = ids.auction(f.auctionId);
      const old = get('auction', id);
      const base = old ?? emptyAuction(f.auctionId);
      const next = withStatus({
        ...base,
        side: f.side, energyWh: f.energyWh, limitPriceMcPerKWh: f.limitPriceMcPerKWh,
        deliveryStart: f.deliveryStart, deliveryEnd: f.deliveryEnd, closesAt: f.closesAt,
        pricing: f.pricing, sealed: f.sealed, openedAt: base.openedAt === null ? f.time : Math.min(base.openedAt, f.time),
      });
      return [{ kind: 'auction', id, old, next }];
    }
    case 'auction-close': {
      const id = ids.auction(f.auctionId);
      const old = get('auction', id);
      const base = old ?? emptyAuction(f.auctionId);
      const next = withStatus({ ...base, closedAt: base.closedAt === null ? f.time : Math.min(base.closedAt, f.time) });
      return [{ kind: 'auction', id, old, next }];
    }
    case 'auction-result': {
      const id = ids.auction(f.auctionId);
      const old = get('auction', id);
      const base = old ?? emptyAuction(f.auctionId);
      // an older result never replaces a newer one
      if (base.resultAt !== null && f.time < base.resultAt) return [];
      const awards = f.status === 'cleared' ? f.awards.map((a) => ({ address: a.address, energyWh: a.energyWh, priceMcPerKWh: a.priceMcPerKWh })) : [];
      const next = withStatus({
        ...base,
        result: f.status,
        clearingPriceMcPerKWh: f.clearingPriceMcPerKWh ?? null,
        awards,
        awardedWh: awards.reduce((s, a) => s + a.energyWh, 0),
        excludedCount: f.excludedCount ?? 0,
        resultHeight: f.height ?? (base.result !== null ? base.resultHeight : null),
        resultAt: f.time,
      });
      return [{ kind: 'auction', id, old, next }];
    }
    case 'bid': {
      const id = ids.bid(f.auctionId, f.address, f.reqId);
      const old = get('bid', id);
      const next: BidRecord = {
        auctionId: f.auctionId, address: f.address, reqId: f.reqId,
        feeder: f.feeder ?? old?.feeder ?? null,
        cpf: f.cpf ?? old?.cpf ?? null,
        sealed: f.sealed || (old?.sealed ?? false),
        type: f.type ?? old?.type ?? null,
        energyWh: f.energyWh ?? old?.energyWh ?? null,
        priceMcPerKWh: f.priceMcPerKWh ?? old?.priceMcPerKWh ?? null,
        time: old === undefined ? f.time : Math.min(old.time, f.time),
        height: f.height ?? old?.height ?? null,
      };
      const out: EntityChange[] = [{ kind: 'bid', id, old, next }];
      // the auction keeps the sums of its bids: subtract the old bid's share, add the new one's
      const aid = ids.auction(f.auctionId);
      const oldAuction = get('auction', aid);
      const a = { ...(oldAuction ?? emptyAuction(f.auctionId)) };
      const before = old ? bidShare(old) : undefined;
      const after = bidShare(next);
      a.bids += after.bids - (before?.bids ?? 0);
      a.sealedUnopened += after.sealedUnopened - (before?.sealedUnopened ?? 0);
      a.bidBuyWh += after.bidBuyWh - (before?.bidBuyWh ?? 0);
      a.bidSellWh += after.bidSellWh - (before?.bidSellWh ?? 0);
      out.push({ kind: 'auction', id: aid, old: oldAuction, next: withStatus(a) });
      return out;
    }
    case 'settlement': {
      const id = ids.settlement(f.auctionId, f.address);
      const old = get('settlement', id);
      const next: SettlementRecord = {
        auctionId: f.auctionId, address: f.address, deliveredWh: f.deliveredWh, paymentMc: f.paymentMc, penaltyMc: f.penaltyMc,
        height: f.height ?? old?.height ?? null,
      };
      return [{ kind: 'settlement', id, old, next }];
    }
    case 'wallet': {
      const id = ids.wallet(f.address);
      const old = get('wallet', id);
      // an older balance never overwrites a newer one
      if (old !== undefined && old.height !== null && f.height !== undefined && f.height < old.height) return [];
      const clearing = f.clearingAccount === true || old?.clearingAccount === true;
      return [{ kind: 'wallet', id, old, next: { address: f.address, balanceMc: f.balanceMc, height: f.height ?? old?.height ?? null, ...(clearing ? { clearingAccount: true as const } : {}) } }];
    }
    case 'finality': {
      // [AN-FIN] a final checkpoint only moves forward
      const id = ids.finality(f.source);
      const old = get('finality', id);
      if (old !== undefined && old.height >= f.height) return [];
      return [{ kind: 'finality', id, old, next: { source: f.source, round: f.round, height: f.height, hash: f.hash, time: f.time ?? null } }];
    }
    case 'ranking': {
      const id = ids.ranking(f.epoch);
      const next = {
        epoch: f.epoch, ranking: f.ranking.map((r) => ({ address: r.address, scoreWh: r.scoreWh, cpf: r.cpf })), height: f.height ?? null,
        decidedBy: f.decidedBy ?? null, tiedAtTop: f.tiedAtTop ?? null,
      };
      return [{ kind: 'ranking', id, old: get('ranking', id), next }];
    }
    case 'market-clearing': {
      const id = ids.market(f.interval);
      const old = get('market', id);
      const base = old ?? emptyMarket(f.interval);
      const order = (o: { orderId: string; address: string; side: 'buy' | 'sell'; energyWh: number; priceMcPerKWh: number }) => ({
        orderId: o.orderId, address: o.address, side: o.side, energyWh: o.energyWh, priceMcPerKWh: o.priceMcPerKWh,
      });
      const next = withMarketStatus({
        ...base,
        intervalStart: f.intervalStart, intervalEnd: f.intervalEnd,
        clearingPriceMcPerKWh: f.clearingPriceMcPerKWh ?? null,
        priceRange: f.priceRange !== undefined ? { lowMcPerKWh: f.priceRange.lowMcPerKWh, highMcPerKWh: f.priceRange.highMcPerKWh } : null,
        volumeWh: f.volumeWh,
        fills: f.fills.map(order),
        // a clearing seen again without its book (e.g. from another source) keeps the book
        book: f.book !== undefined ? f.book.map(order) : base.book,
        excludedCount: f.excludedCount ?? 0,
        clearedHeight: f.height ?? base.clearedHeight,
        clearedAt: base.clearedAt === null ? f.time : Math.min(base.clearedAt, f.time),
      });
      return [{ kind: 'market', id, old, next }];
    }
    case 'market-settlement': {
      const id = ids.marketSettlement(f.interval, f.address, f.orderId);
      const old = get('marketSettlement', id);
      const next: MarketSettlementRecord = {
        interval: f.interval, orderId: f.orderId, address: f.address, side: f.side, filledWh: f.filledWh, deliveredWh: f.deliveredWh,
        paymentMc: f.paymentMc, penaltyMc: f.penaltyMc, uncollectedMc: f.uncollectedMc ?? 0, height: f.height ?? old?.height ?? null,
      };
      // the market keeps the sums of its settlements: subtract the old one's share, add the new one's
      const mid = ids.market(f.interval);
      const oldMarket = get('market', mid);
      const m = { ...(oldMarket ?? emptyMarket(f.interval)) };
      m.settledFills += 1 - (old ? 1 : 0);
      m.deliveredWh += next.deliveredWh - (old?.deliveredWh ?? 0);
      m.paymentMc += next.paymentMc - (old?.paymentMc ?? 0);
      m.penaltyMc += next.penaltyMc - (old?.penaltyMc ?? 0);
      return [{ kind: 'marketSettlement', id, old, next }, { kind: 'market', id: mid, old: oldMarket, next: withMarketStatus(m) }];
    }
    case 'schedule': {
      const id = ids.schedule(f.day, f.startMs);
      const old = get('schedule', id);
      const next = {
        day: f.day, intervalMinutes: f.intervalMinutes, netLoadWh: [...f.netLoadWh], time: f.time ?? null,
        ...(f.startMs !== undefined ? { startMs: f.startMs } : {}),
        ...(f.stepMs !== undefined ? { stepMs: f.stepMs } : {}),
      };
      // the newest schedule of a day wins, whatever the order of arrival (ties: the larger content)
      if (old !== undefined && !newer(next, old)) return [];
      return [{ kind: 'schedule', id, old, next }];
    }
  }
}

export function emptyMarket(interval: number): MarketRecord {
  return {
    interval, intervalStart: null, intervalEnd: null, status: 'unknown', clearingPriceMcPerKWh: null, priceRange: null, volumeWh: 0,
    fills: [], book: [], excludedCount: 0, clearedHeight: null, clearedAt: null, settledFills: 0, deliveredWh: 0, paymentMc: 0, penaltyMc: 0,
  };
}

function withMarketStatus(m: MarketRecord): MarketRecord {
  const status = m.clearedAt === null ? 'unknown' : m.settledFills >= m.fills.length ? 'settled' : 'cleared';
  return { ...m, status };
}

function newer(a: ScheduleRecord, b: ScheduleRecord): boolean {
  const ta = a.time ?? 0;
  const tb = b.time ?? 0;
  if (ta !== tb) return ta > tb;
  return JSON.stringify([a.intervalMinutes, a.netLoadWh]) >= JSON.stringify([b.intervalMinutes, b.netLoadWh]);
}

export function emptyAuction(auctionId: string): AuctionRecord {
  return {
    auctionId, status: 'unknown',
    side: null, energyWh: null, limitPriceMcPerKWh: null, deliveryStart: null, deliveryEnd: null, closesAt: null,
    pricing: null, sealed: null, openedAt: null, closedAt: null,
    result: null, clearingPriceMcPerKWh: null, awardedWh: 0, awards: [], excludedCount: 0, resultHeight: null, resultAt: null,
    bids: 0, sealedUnopened: 0, bidBuyWh: 0, bidSellWh: 0,
  };
}

/** The result decides; else closed once a close is seen; else open once an open is seen. */
export function auctionStatus(a: AuctionRecord): AuctionStatus {
  if (a.result !== null) return a.result;
  if (a.closedAt !== null) return 'closed';
  if (a.openedAt !== null) return 'open';
  return 'unknown';
}

function withStatus(a: AuctionRecord): AuctionRecord {
  return { ...a, status: auctionStatus(a) };
}

function bidShare(b: BidRecord): { bids: number; sealedUnopened: number; bidBuyWh: number; bidSellWh: number } {
  const opened = b.type !== null && b.energyWh !== null;
  return {
    bids: 1,
    sealedUnopened: opened ? 0 : 1,
    bidBuyWh: opened && b.type === 'buy' ? (b.energyWh ?? 0) : 0,
    bidSellWh: opened && b.type === 'sell' ? (b.energyWh ?? 0) : 0,
  };
}

// ── contributions of entity records to aggregates ─────────────────────────────────

/** The energy balance of one reading; the definitions of analytics/README.md. */
export function readingBalance(r: { producedWh: number; consumedWh: number; chargedWh: number; dischargedWh: number }) {
  const load = r.consumedWh + r.chargedWh;
  const supply = r.producedWh + r.dischargedWh;
  return {
    // [AN-SC] PV used at home (by the load or to charge the battery), never more than produced
    selfConsumedWh: Math.min(r.producedWh, load),
    // [AN-EI] energy taken from the grid in the interval
    importedWh: Math.max(0, load - supply),
    exportedWh: Math.max(0, supply - load),
    netLoadWh: load - supply,
  };
}

function scaled(delta: Record<string, number>, sign: 1 | -1): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(delta)) out[k] = sign * v;
  return out;
}

function contributions(kind: EntityKind, record: RecordTypes[EntityKind] | undefined, sign: 1 | -1): Contribution[] {
  if (record === undefined) return [];
  switch (kind) {
    case 'reading': {
      const r = record as ReadingRecord;
      // [AN-ONCHAIN] a reading counts in the figures once it is seen in a block; one seen only
      // on MQTT (not yet, or never, on chain) is kept as a record but adds to no aggregate
      if (r.height === null) return [];
      const b = readingBalance(r);
      const sums = {
        readings: 1, producedWh: r.producedWh, consumedWh: r.consumedWh, chargedWh: r.chargedWh, dischargedWh: r.dischargedWh,
        selfConsumedWh: b.selfConsumedWh, importedWh: b.importedWh, exportedWh: b.exportedWh,
      };
      return [
        { kind: 'slot', id: ids.slot(r.intervalStart), init: () => emptySlot(r.intervalStart, r.intervalEnd),
          delta: scaled({ ...sums, netLoadWh: b.netLoadWh, socPermilleSum: r.socPermille }, sign) },
        { kind: 'home', id: ids.home(r.address), init: () => emptyHome(r.address), delta: scaled(sums, sign) },
      ];
    }
    case 'auction': {
      const a = record as AuctionRecord;
      const out: Contribution[] = [];
      const cleared = a.result === 'cleared';
      if (a.deliveryStart !== null && a.deliveryEnd !== null && a.side !== null && a.energyWh !== null) {
        const start = a.deliveryStart;
        const end = a.deliveryEnd;
        // [AN-AE] E_buy / E_sell: the aggregator's own quantity on its side, the HEMs' bids on the other
        out.push({
          kind: 'slot', id: ids.slot(start), init: () => emptySlot(start, end),
          delta: scaled({
            auctions: 1,
            clearedAuctions: cleared ? 1 : 0,
            tradedWh: cleared ? a.awardedWh : 0,
            tradedValue: cleared ? a.awards.reduce((s, w) => s + w.energyWh * w.priceMcPerKWh, 0) : 0,
            buyWh: a.side === 'buy' ? a.energyWh : a.bidBuyWh,
            sellWh: a.side === 'sell' ? a.energyWh : a.bidSellWh,
          }, sign),
        });
      }
      if (cleared) {
        for (const w of a.awards) {
          out.push({
            kind: 'account', id: ids.account(w.address), init: () => emptyAccount(w.address),
            delta: scaled({ awards: 1, awardedWh: w.energyWh, awardValueMc: paymentMillicents(w.energyWh, w.priceMcPerKWh) }, sign),
          });
        }
      }
      return out;
    }
    case 'block': {
      const b = record as BlockRecord;
      return [{
        kind: 'producer', id: ids.producer(b.producer), init: () => emptyProducer(b.producer),
        delta: scaled({ blocks: 1, txs: b.txCount, rewardMc: b.rewardMc }, sign),
      }];
    }
    case 'market': {
      // [AN-P2P] per address: its fills and the orders it had in the book
      const m = record as MarketRecord;
      const per = new Map<string, Record<string, number>>();
      const add = (address: string, d: Record<string, number>) => {
        const cur = per.get(address) ?? {};
        for (const [k, v] of Object.entries(d)) cur[k] = (cur[k] ?? 0) + v;
        per.set(address, cur);
      };
      for (const f of m.fills) add(f.address, { fills: 1, [f.side === 'buy' ? 'boughtWh' : 'soldWh']: f.energyWh });
      for (const o of m.book) add(o.address, o.side === 'buy' ? { buyOrders: 1, revealedBuyWh: o.energyWh } : { sellOrders: 1, revealedSellWh: o.energyWh });
      return [...per].map(([address, d]) => ({ kind: 'trader' as const, id: ids.trader(address), init: () => emptyTrader(address), delta: scaled(d, sign) }));
    }
    case 'settlement': {
      const s = record as SettlementRecord;
      return [{
        kind: 'account', id: ids.account(s.address), init: () => emptyAccount(s.address),
        delta: scaled({ settlements: 1, deliveredWh: s.deliveredWh, paymentMc: s.paymentMc, penaltyMc: s.penaltyMc }, sign),
      }];
    }
    default:
      return [];
  }
}

function isEmptyAggregate(kind: AggKind, agg: RecordTypes[AggKind]): boolean {
  switch (kind) {
    case 'slot': {
      const s = agg as SlotAgg;
      return s.readings === 0 && s.auctions === 0;
    }
    case 'home':
      return (agg as HomeAgg).readings === 0;
    case 'producer':
      return (agg as ProducerAgg).blocks === 0;
    case 'account': {
      const a = agg as AccountAgg;
      return a.awards === 0 && a.settlements === 0;
    }
    case 'trader': {
      const t = agg as TraderAgg;
      return t.fills === 0 && t.buyOrders === 0 && t.sellOrders === 0;
    }
  }
}

export function emptySlot(start: number, end: number): SlotAgg {
  return {
    start, end, readings: 0, producedWh: 0, consumedWh: 0, chargedWh: 0, dischargedWh: 0, selfConsumedWh: 0, importedWh: 0,
    exportedWh: 0, netLoadWh: 0, socPermilleSum: 0, auctions: 0, clearedAuctions: 0, tradedWh: 0, tradedValue: 0, buyWh: 0, sellWh: 0,
  };
}

export function emptyHome(address: string): HomeAgg {
  return { address, readings: 0, producedWh: 0, consumedWh: 0, chargedWh: 0, dischargedWh: 0, selfConsumedWh: 0, importedWh: 0, exportedWh: 0 };
}

export function emptyProducer(address: string): ProducerAgg {
  return { address, blocks: 0, txs: 0, rewardMc: 0 };
}

export function emptyAccount(address: string): AccountAgg {
  return { address, awards: 0, awardedWh: 0, awardValueMc: 0, settlements: 0, deliveredWh: 0, paymentMc: 0, penaltyMc: 0 };
}

export function emptyTrader(address: string): TraderAgg {
  return { address, fills: 0, boughtWh: 0, soldWh: 0, buyOrders: 0, sellOrders: 0, revealedBuyWh: 0, revealedSellWh: 0 };
}
