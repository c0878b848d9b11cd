/**
 * market-order [MKT]: a home's sealed sell offer or buy bid in the P2P market of one delivery
 * interval or of `intervals` consecutive ones (poe-chain/core/market/README.md).
 *   [TX-O1] signer = address (codec)
 *   [TX-O2] the signer is the aggregator (VPP balancing, no certificate needed), or holds a
 *           certificate valid at block time, is not revoked, trades (TE or RE+TE) and names
 *           its certificate's feeder        NOT_CERTIFIED / CERT_NOT_VALID / ADDRESS_REVOKED /
 *                                           PROGRAMME_NOT_TE / FEEDER_MISMATCH
 *   [TX-O3] `delivery` is one interval of the chain's grid and block time is before its
 *           order close (gate − revealWindowMs)            BAD_DELIVERY_INTERVAL / ORDERS_CLOSED
 *   [TX-O4] a home's certificate covers every interval the order stands in
 *                                                          CERT_NOT_COVERING_DELIVERY
 *   [TX-O5] the address has no live order with this id     DUPLICATE_ORDER
 *   [MKT-ONE] one order per meter (certificate tag [SYBIL]; the aggregator: its address) per
 *           interval, whatever its side                    METER_ALREADY_ORDERED
 */
import type { Envelope } from '../../../schemas/types.js';
import { TxError } from '../chainError.js';
import type { MarketEntry } from '../chainState.js';
import { epochOfInterval, epochStart, marketOrderClose } from '../genesis.js';
import { inclusionOf, type TxContext } from './txContext.js';

/** `orders` key of an order. */
export function orderKey(address: string, orderId: string): string {
  return `${address}|${orderId}`;
}

/** `orderSlots` key: one order per meter per interval. */
export function orderSlotKey(epoch: number, tag: string): string {
  return `${epoch}|${tag}`;
}

/** Keeps an ascending number list sorted and unique. */
function insertEpoch(list: readonly number[], e: number): number[] {
  if (list.includes(e)) return [...list];
  return [...list, e].sort((a, b) => a - b);
}

export function applyMarketOrder(env: Envelope<'market-order'>, ctx: TxContext): void {
  const d = ctx.draft;
  const g = d.genesis;
  const p = env.parameters;
  const addr = p.address;
  const first = epochOfInterval(g, p.delivery);
  if (first === undefined) throw new TxError('BAD_DELIVERY_INTERVAL', { orderId: p.orderId, start: p.delivery.start, end: p.delivery.end });
  const last = first + p.intervals - 1;
  let tag = addr;
  if (addr !== g.aggregatorKey) {
    const cert = d.s.certs.get(addr);
    if (cert === undefined) throw new TxError('NOT_CERTIFIED', { address: addr });
    if (ctx.time >= cert.validTo) throw new TxError('CERT_NOT_VALID', { address: addr, at: new Date(ctx.time).toISOString() });
    if (d.s.revoked.has(addr)) throw new TxError('ADDRESS_REVOKED', { address: addr });
    if (cert.programme !== 'TE' && cert.programme !== 'RE+TE') throw new TxError('PROGRAMME_NOT_TE', { address: addr, programme: cert.programme });
    if (p.feeder !== cert.feeder) throw new TxError('FEEDER_MISMATCH', { address: addr, feeder: p.feeder, certified: cert.feeder });
    if (cert.validFrom > epochStart(g, first) || epochStart(g, last + 1) > cert.validTo) {
      throw new TxError('CERT_NOT_COVERING_DELIVERY', { address: addr, orderId: p.orderId });
    }
    tag = cert.tag;
  }
  if (ctx.time >= marketOrderClose(g, first)) {
    throw new TxError('ORDERS_CLOSED', { orderId: p.orderId, closedAt: new Date(marketOrderClose(g, first)).toISOString() });
  }
  const key = orderKey(addr, p.orderId);
  if (d.s.orders.has(key)) throw new TxError('DUPLICATE_ORDER', { address: addr, orderId: p.orderId });
  for (let e = first; e <= last; e++) {
    if (d.s.orderSlots.has(orderSlotKey(e, tag))) throw new TxError('METER_ALREADY_ORDERED', { address: addr, interval: e });
  }
  for (let e = first; e <= last; e++) {
    d.s.orderSlots.set(orderSlotKey(e, tag), key);
    const mk = String(e);
    if (!d.s.markets.has(mk)) d.s.markets.set(mk, { epoch: e, status: 'open' } satisfies MarketEntry);
    d.meta.marketsActive = insertEpoch(d.meta.marketsActive, e);
  }
  d.s.orders.set(key, {
    orderId: p.orderId,
    address: addr,
    tag,
    feeder: p.feeder,
    side: p.side,
    firstEpoch: first,
    lastEpoch: last,
    inclusion: inclusionOf(ctx),
    reqId: env.reqId,
    commitment: p.commitment,
  });
}
