/**
 * bid-offer (DESIGN §8): a pseudonym's bid or offer in an open auction.
 *   [TX-B1] signer = address (codec) holds a certificate not expired at block time NOT_CERTIFIED / CERT_NOT_VALID
 *   [TX-B2] not revoked; programme TE or RE+TE (RE alone does not trade)          ADDRESS_REVOKED / PROGRAMME_NOT_TE
 *   [TX-B3] the bid's feeder is the certificate's                                 FEEDER_MISMATCH
 *   [TX-B4] the auction exists, is open, and block time < closesAt                UNKNOWN_AUCTION / AUCTION_NOT_OPEN / AUCTION_CLOSED
 *   [TX-B5] sealed iff the auction is sealed                                      BID_SEALING_MISMATCH
 *   [TX-B6] an open bid is on the HEM side opposite to the aggregator's (aggregator
 *           buys → HEM sells) and within bounds (≤ 1 GWh, ≤ 10^8 mc/kWh)          BID_WRONG_SIDE / BID_OUT_OF_RANGE
 *   [TX-B7] one bid per address per auction                                       DUPLICATE_BID
 *   [SYBIL-2] the certificate covers the delivery interval (so only the certificates of
 *           one period can bid for it), and one bid per certificate tag (= per meter)
 *           per auction                                                           CERT_NOT_COVERING_DELIVERY / METER_ALREADY_BID
 */
import type { Envelope, OpenBid } from '../../../schemas/types.js';
import { energyToWh, priceToMillicentsPerKWh } from '../../../wire/quantities.js';
import { TxError } from '../chainError.js';
import type { BidEntry } from '../chainState.js';
import { inclusionOf, type TxContext } from './txContext.js';

export const MAX_BID_WH = 1_000_000_000;
export const MAX_PRICE_MC_PER_KWH = 100_000_000;

/** HEM side of a bid that can meet an aggregator auction of `side`. */
export function hemSideFor(side: 'buy' | 'sell'): 'buy' | 'sell' {
  return side === 'buy' ? 'sell' : 'buy';
}

/** Integer quantities of an open bid, or why it is out of range. */
export function bidQuantities(bid: OpenBid): { energyWh: number; priceMcPerKWh: number } | undefined {
  const energyWh = energyToWh(bid.energy);
  const priceMcPerKWh = priceToMillicentsPerKWh(bid.price);
  if (!(energyWh <= MAX_BID_WH) || !(priceMcPerKWh <= MAX_PRICE_MC_PER_KWH)) return undefined;
  return { energyWh, priceMcPerKWh };
}

export function applyBidOffer(env: Envelope<'bid-offer'>, ctx: TxContext): void {
  const d = ctx.draft;
  const p = env.parameters;
  const addr = p.address;
  const cert = d.s.certs.get(addr);
  if (cert === undefined) throw new TxError('NOT_CERTIFIED', { address: addr });
  // [TX-B1] valid at block time, or [SYBIL-2] a certificate of the delivery's period posted ahead of it
  if (ctx.time >= cert.validTo) throw new TxError('CERT_NOT_VALID', { address: addr, at: new Date(ctx.time).toISOString() });
  if (d.s.revoked.has(addr)) throw new TxError('ADDRESS_REVOKED', { address: addr });
  if (cert.programme !== 'TE' && cert.programme !== 'RE+TE') throw new TxError('PROGRAMME_NOT_TE', { address: addr, programme: cert.programme });
  if (p.feeder !== cert.feeder) throw new TxError('FEEDER_MISMATCH', { address: addr, feeder: p.feeder, certified: cert.feeder });
  const a = d.s.auctions.get(p.auctionId);
  if (a === undefined) throw new TxError('UNKNOWN_AUCTION', { auctionId: p.auctionId });
  if (a.status !== 'open') throw new TxError('AUCTION_NOT_OPEN', { auctionId: p.auctionId, status: a.status });
  if (ctx.time >= a.closesAt) throw new TxError('AUCTION_CLOSED', { auctionId: p.auctionId, closesAt: new Date(a.closesAt).toISOString() });
  if (a.sealed !== (p.sealed !== undefined)) throw new TxError('BID_SEALING_MISMATCH', { auctionId: p.auctionId, sealedAuction: a.sealed });
  if (p.bid !== undefined) {
    if (p.bid.type !== hemSideFor(a.side)) throw new TxError('BID_WRONG_SIDE', { auctionId: p.auctionId, side: a.side, bidType: p.bid.type });
    if (bidQuantities(p.bid) === undefined) throw new TxError('BID_OUT_OF_RANGE', { auctionId: p.auctionId });
  }
  const key = `${p.auctionId}|${addr}`;
  if (d.s.bids.has(key)) throw new TxError('DUPLICATE_BID', { auctionId: p.auctionId, address: addr });
  const g = d.genesis;
  const deliveryStart = g.genesisTimeMs + a.deliveryEpoch * g.intervalMs;
  if (cert.validFrom > deliveryStart || deliveryStart + g.intervalMs > cert.validTo) {
    throw new TxError('CERT_NOT_COVERING_DELIVERY', { address: addr, auctionId: p.auctionId });
  }
  const tagKey = `${p.auctionId}|${cert.tag}`;
  if (d.s.bidTags.has(tagKey)) throw new TxError('METER_ALREADY_BID', { auctionId: p.auctionId, address: addr });
  d.s.bidTags.set(tagKey, addr);
  const entry: BidEntry = { inclusion: inclusionOf(ctx), reqId: env.reqId, feeder: p.feeder };
  if (p.bid !== undefined) entry.bid = p.bid;
  if (p.sealed !== undefined) entry.sealed = p.sealed;
  d.s.bids.set(key, entry);
  d.s.auctions.set(p.auctionId, { ...a, bidCount: a.bidCount + 1 });
}
