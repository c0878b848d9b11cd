/**
 * The P2P market contract hosted in the state transition (poe-chain/core/market/README.md).
 * The pure clearing is market/clearMarket.ts; this file moves it through the chain state.
 *
 *   [MKT-GATE] the market of delivery interval e clears at the end of the first block whose
 *          time is at or after its gate, start(e) − gateClosureMs, after that block's
 *          transactions and after the aggregator's auctions due in it. Every revealed order
 *          whose range holds e stands in the book, in chain order (inclusion).
 *   [MKT-SEAL] an order not revealed by the gate of its first interval is out of every
 *          interval of its range (NOT_REVEALED); at that first clearing its home pays the
 *          aggregator unrevealedPenaltyMc (within its credit limit, [MKT-CREDIT]).
 *   [MKT-CREDIT] a home's buy order counts for at most
 *          ⌊(balance + creditLimitMc − reserved) × 1000 / its price⌋ Wh (none when that is
 *          negative); after the clearing, ⌈filled × fill price / 1000⌉ is reserved until that
 *          fill settles. Reserved money cannot be transferred away [TX-T3], and a market
 *          penalty never takes a wallet below −creditLimitMc: what would is not taken and
 *          is recorded as uncollectedMc. (The aggregator's auctions keep [AC-4]: their
 *          payments and penalties are not capped.) The aggregator's own orders have no cap:
 *          its wallet is the market's clearing account.
 *   [MKT-FEEDER] feeder room for e: for each feeder with a limit in the `feederLimits` section
 *          (the registry's latest signed limits, written only by `feeder-limit` [FEEDER-1]),
 *          maxExportWh (sells) or maxImportWh (buys) minus the Wh already used on it for e
 *          (`feederUse`, shared with the aggregator's auctions [FEEDER-2]), never below 0.
 *          The fills are then added to `feederUse` (sells as export, buys as import).
 *   [MKT-SETTLE] once block time ≥ end(e), each fill whose home has a reading for e settles
 *          (at end(e) + settleGraceMs, every fill still without one, with 0 Wh measured), in
 *          the order of the orders' inclusion, after the aggregator's awards of that block.
 *          measured = net export max(0, P + discharged − C − charged) for a sell, net import
 *          max(0, C + charged − P − discharged) for a buy, less what is already paid of that
 *          meter's interval in that direction ([SETTLE-1] extended: `deliveries` under
 *          `e|export|tag` and `e|import|tag`, which also count the aggregator's
 *          discharge-award (export) and charge-award (import) deliveries). delivered =
 *          min(filled, measured); an aggregator's fill is delivered in full.
 *          Money (p = the fill's price): a seller is paid ⌊delivered × p / 1000⌋ by the
 *          aggregator; a buyer pays the aggregator ⌊delivered × p / 1000⌋ and its reservation
 *          is released; either side pays the aggregator ⌊(filled − delivered) ×
 *          imbalancePriceMcPerKWh / 1000⌋ for what it failed to deliver or take. The
 *          aggregator is the clearing house: it covers every imbalance, so every Wh moves
 *          between wallets and Σ wallets changes only by block rewards.
 *   [MKT-PRUNE] orders and `orderSlots` of an interval are dropped once it has cleared (the
 *          last interval of an order drops the order); a settled market is dropped from the
 *          state auctionRetentionIntervals after its interval (blocks keep it).
 */
import type { FillEntry, MarketEntry, OrderEntry, ReadingEntry, StateDraft } from './chainState.js';
import { epochStart, marketGate } from './genesis.js';
import { paymentMillicents } from '../../wire/quantities.js';
import { clearMarket, type MarketOrderIn } from './market/clearMarket.js';
import { orderSlotKey } from './tx/applyMarketOrder.js';

function setActive(d: StateDraft, epochs: number[]): void {
  d.meta.marketsActive = epochs;
}

/** [MKT-CREDIT] takes up to `amount` from a home's wallet without going below −creditLimitMc; returns what was taken. */
function chargeWithinCredit(d: StateDraft, address: string, amount: bigint): bigint {
  if (amount <= 0n) return 0n;
  const g = d.genesis;
  if (address === g.aggregatorKey) return 0n;
  const room = d.balance(address) + g.creditLimitMc - d.reserved(address);
  const taken = room <= 0n ? 0n : room < amount ? room : amount;
  if (taken > 0n) {
    d.credit(address, -taken);
    d.credit(g.aggregatorKey, taken);
  }
  return taken;
}

/** The orders standing in interval e, in chain order. */
function ordersFor(d: StateDraft, epoch: number): OrderEntry[] {
  const out: OrderEntry[] = [];
  for (const k of d.s.orderSlots.keysWithPrefix(`${epoch}|`)) {
    const o = d.s.orders.get(d.s.orderSlots.get(k)!);
    if (o !== undefined) out.push(o);
  }
  return out.sort((x, y) => x.inclusion - y.inclusion);
}

/** [MKT-GATE] clears the market of interval `epoch` in the block at `height`. */
function clearDueMarket(d: StateDraft, epoch: number, height: number): void {
  const g = d.genesis;
  const excluded: NonNullable<MarketEntry['excluded']> = [];
  const book: MarketOrderIn[] = [];
  const orders = ordersFor(d, epoch);
  const byOrderId = new Map<string, OrderEntry>();
  for (const o of orders) {
    if (o.energyWh === undefined || o.priceMcPerKWh === undefined) {
      // [MKT-SEAL] the fee once, at the order's first clearing
      let penaltyMc: number | undefined;
      if (!o.unrevealed) {
        penaltyMc = Number(chargeWithinCredit(d, o.address, g.unrevealedPenaltyMc));
        d.s.orders.set(`${o.address}|${o.orderId}`, { ...o, unrevealed: true });
      }
      excluded.push({ orderId: o.orderId, address: o.address, reason: 'NOT_REVEALED', ...(penaltyMc !== undefined ? { penaltyMc } : {}) });
      continue;
    }
    let energyWh = o.energyWh;
    if (o.side === 'buy' && o.address !== g.aggregatorKey) {
      // [MKT-CREDIT]
      const room = d.balance(o.address) + g.creditLimitMc - d.reserved(o.address);
      const cap = room <= 0n ? 0 : o.priceMcPerKWh === 0 ? energyWh : Number((room * 1000n) / BigInt(o.priceMcPerKWh));
      if (cap < energyWh) {
        energyWh = cap;
        if (cap === 0) {
          excluded.push({ orderId: o.orderId, address: o.address, reason: 'NO_FUNDS' });
          continue;
        }
      }
    }
    // the book's order ids: unique per interval, as one meter has one order per interval
    const id = `${o.address}|${o.orderId}`;
    byOrderId.set(id, o);
    book.push({ orderId: id, address: o.address, feeder: o.feeder, side: o.side, energyWh, priceMcPerKWh: o.priceMcPerKWh, inclusion: o.inclusion });
  }
  // [MKT-FEEDER]
  const feederRoom: { feeder: string; exportWh: number; importWh: number }[] = [];
  for (const [feeder, lim] of d.s.feederLimits.entries()) {
    const used = (dir: 'export' | 'import') => d.s.feederUse.get(`${epoch}|${dir}|${feeder}`)?.awardedWh ?? 0;
    feederRoom.push({ feeder, exportWh: Math.max(0, lim.maxExportWh - used('export')), importWh: Math.max(0, lim.maxImportWh - used('import')) });
  }
  const r = clearMarket({ epoch, pricing: g.marketPricing, orders: book, feederRoom });
  const fills: FillEntry[] = [];
  for (const f of r.fills) {
    const o = byOrderId.get(f.orderId)!;
    const dir = f.side === 'sell' ? 'export' : 'import';
    const useKey = `${epoch}|${dir}|${f.feeder}`;
    d.s.feederUse.set(useKey, { awardedWh: (d.s.feederUse.get(useKey)?.awardedWh ?? 0) + f.energyWh });
    let reservedMc = 0;
    if (f.side === 'buy' && o.address !== g.aggregatorKey) {
      // ⌈filled × price / 1000⌉
      reservedMc = Math.ceil((f.energyWh * f.priceMcPerKWh) / 1000);
      d.reserve(o.address, BigInt(reservedMc));
    }
    fills.push({
      orderId: o.orderId, address: o.address, tag: o.tag, feeder: f.feeder, side: f.side,
      energyWh: f.energyWh, priceMcPerKWh: f.priceMcPerKWh, inclusion: o.inclusion, reservedMc,
    });
  }
  for (const x of r.excluded) excluded.push({ orderId: byOrderId.get(x.orderId)?.orderId ?? x.orderId, address: x.address, reason: x.reason });
  fills.sort((x, y) => x.inclusion - y.inclusion);
  d.s.markets.set(String(epoch), {
    epoch,
    status: fills.length === 0 ? 'settled' : 'cleared',
    clearedHeight: height,
    volumeWh: r.volumeWh,
    clearingPriceMcPerKWh: r.clearingPriceMcPerKWh,
    priceRange: r.priceRange,
    fills,
    excluded,
  });
  // [MKT-PRUNE]
  for (const k of d.s.orderSlots.keysWithPrefix(`${epoch}|`)) d.s.orderSlots.delete(k);
  for (const o of orders) if (o.lastEpoch <= epoch) d.s.orders.delete(`${o.address}|${o.orderId}`);
  if (fills.length === 0) setActive(d, d.meta.marketsActive.filter((e) => e !== epoch));
}

/** [MKT-GATE] clears every P2P market whose gate has come at `time`. */
export function clearDueMarkets(d: StateDraft, time: number, height: number): void {
  for (const e of d.meta.marketsActive) {
    const m = d.s.markets.get(String(e));
    if (m?.status === 'open' && time >= marketGate(d.genesis, e)) clearDueMarket(d, e, height);
  }
}

/** [MKT-SETTLE] the meter's net flow in the fill's direction. */
export function measuredNetWh(side: 'buy' | 'sell', r: ReadingEntry): number {
  const out = r.producedWh + r.dischargedWh;
  const use = r.consumedWh + r.chargedWh;
  return side === 'sell' ? Math.max(0, out - use) : Math.max(0, use - out);
}

/** [MKT-SETTLE] what is already paid of a meter's interval in one direction (P2P and the aggregator's awards). */
function paidWh(d: StateDraft, epoch: number, side: 'buy' | 'sell', tag: string): number {
  const [p2p, auction] = side === 'sell' ? ['export', 'discharged'] : ['import', 'charged'];
  return (d.s.deliveries.get(`${epoch}|${p2p}|${tag}`)?.deliveredWh ?? 0) + (d.s.deliveries.get(`${epoch}|${auction}|${tag}`)?.deliveredWh ?? 0);
}

/** [MKT-SETTLE] settles the fills that are due at `time` in the block at `height`. */
export function settleDueMarkets(d: StateDraft, time: number, height: number): void {
  const g = d.genesis;
  const done: number[] = [];
  for (const e of d.meta.marketsActive) {
    const m = d.s.markets.get(String(e));
    if (m?.status !== 'cleared' || m.fills === undefined) continue;
    const end = epochStart(g, e + 1);
    if (time < end) continue;
    const deadlinePassed = time >= end + g.settleGraceMs;
    let open = 0;
    let changed = false;
    const fills = m.fills.map((f) => {
      if (f.settlement !== undefined) return f;
      const isAggregator = f.address === g.aggregatorKey;
      const reading = isAggregator ? undefined : d.s.readings.get(`${f.address}|${e}`);
      if (!isAggregator && reading === undefined && !deadlinePassed) {
        open++;
        return f;
      }
      changed = true;
      return settleFill(d, e, f, isAggregator, reading, height);
    });
    if (!changed) continue;
    d.s.markets.set(String(e), { ...m, fills, status: open === 0 ? 'settled' : 'cleared' });
    if (open === 0) done.push(e);
  }
  if (done.length > 0) setActive(d, d.meta.marketsActive.filter((e) => !done.includes(e)));
}

function settleFill(d: StateDraft, epoch: number, f: FillEntry, isAggregator: boolean, reading: ReadingEntry | undefined, height: number): FillEntry {
  const g = d.genesis;
  const priorWh = isAggregator ? 0 : paidWh(d, epoch, f.side, f.tag);
  const measured = isAggregator ? f.energyWh : Math.max(0, (reading === undefined ? 0 : measuredNetWh(f.side, reading)) - priorWh);
  const deliveredWh = Math.min(f.energyWh, measured);
  if (!isAggregator && deliveredWh > 0) {
    const key = `${epoch}|${f.side === 'sell' ? 'export' : 'import'}|${f.tag}`;
    d.s.deliveries.set(key, { deliveredWh: (d.s.deliveries.get(key)?.deliveredWh ?? 0) + deliveredWh });
  }
  const paymentMc = paymentMillicents(deliveredWh, f.priceMcPerKWh);
  if (f.side === 'sell') {
    d.credit(f.address, BigInt(paymentMc));
    d.credit(g.aggregatorKey, -BigInt(paymentMc));
  } else {
    d.reserve(f.address, -BigInt(f.reservedMc));
    d.credit(f.address, -BigInt(paymentMc));
    d.credit(g.aggregatorKey, BigInt(paymentMc));
  }
  const penaltyMc = paymentMillicents(f.energyWh - deliveredWh, g.imbalancePriceMcPerKWh);
  const taken = Number(chargeWithinCredit(d, f.address, BigInt(penaltyMc)));
  return { ...f, settlement: { deliveredWh, priorWh, paymentMc, penaltyMc: taken, uncollectedMc: isAggregator ? 0 : penaltyMc - taken, height } };
}

/** [MKT-PRUNE] drops settled markets older than the retention at `epoch`. */
export function pruneMarkets(d: StateDraft, epoch: number): void {
  const oldest = epoch - d.genesis.auctionRetentionIntervals;
  const drop: string[] = [];
  for (const [k, m] of d.s.markets.entries()) if (m.status === 'settled' && m.epoch < oldest) drop.push(k);
  for (const k of drop) d.s.markets.delete(k);
}

export { orderSlotKey };
