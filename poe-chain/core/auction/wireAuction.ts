/**
 * From wire messages to the clearing's integers and back (DESIGN §2, §5, §8).
 *
 *   [AUC-15] a `bid-offer` becomes a clearing offer only if: its auctionId is the
 *            auction's (else WRONG_AUCTION); it is open in an open auction and sealed in
 *            a sealed one (else OPEN_BID_IN_SEALED_AUCTION / SEALED_BID_IN_OPEN_AUCTION);
 *            a sealed bid has been revealed (else SEALED_NOT_REVEALED) and opens [AUC-12];
 *            its type is the HEM's side opposite the aggregator's — `sell` (discharge)
 *            in a buy auction, `buy` (charge) in a sell auction (else WRONG_SIDE).
 *            Such bids are not offers: they do not count for [AUC-2].
 *   [AUC-16] quantities are converted once with wire/quantities (floor): energy → Wh,
 *            price → millicents/kWh.
 *   [AUC-17] feeder limits = the ones given by the caller (the registry's), else the
 *            ones in `auction-open`, else none (unlimited).
 */
import { energyToWh, priceToMillicentsPerKWh } from '../../../wire/quantities.js';
import type { AuctionOpen, AuctionResult, BidOffer, FeederLimit, OpenBid } from '../../../schemas/types.js';
import { clearAuction, type ClearingAuction, type ClearingExclusion, type ClearingOffer, type ClearingResult } from './clearAuction.js';
import { openSealedBid } from './sealedBid.js';

/** A `bid-offer` as included on chain. */
export interface WireBid {
  /** reqId of the bid-offer envelope */
  reqId: string;
  /** order of inclusion on chain; smaller = earlier */
  inclusion: number;
  params: BidOffer;
}

export type BidRejection =
  | 'WRONG_AUCTION'
  | 'OPEN_BID_IN_SEALED_AUCTION'
  | 'SEALED_BID_IN_OPEN_AUCTION'
  | 'SEALED_NOT_REVEALED'
  | 'SEALED_MALFORMED'
  | 'SEALED_UNDECRYPTABLE'
  | 'SEALED_BAD_JSON'
  | 'SEALED_SCHEMA_INVALID'
  | 'WRONG_SIDE';

export type PreparedOffer = { ok: true; offer: ClearingOffer } | { ok: false; exclusion: ClearingExclusion & { reason: BidRejection } };

/** [AUC-16] [AUC-17] the clearing view of an `auction-open`. */
export function clearingAuctionFromOpen(open: AuctionOpen, feederLimits?: readonly FeederLimit[]): ClearingAuction {
  const limits = feederLimits ?? open.feederLimits ?? [];
  return {
    auctionId: open.auctionId,
    side: open.side,
    energyWh: energyToWh(open.energy),
    limitPriceMcPerKWh: priceToMillicentsPerKWh(open.limitPrice),
    pricing: open.pricing,
    feederLimits: limits.map((l) => ({ feeder: l.feeder, maxExportWh: l.maxExportWh, maxImportWh: l.maxImportWh })),
  };
}

/** [AUC-15] [AUC-16] one bid-offer → a clearing offer, or the reason it is not one. */
export function clearingOfferFromBid(open: AuctionOpen, bid: WireBid, auctionSecretKey?: Uint8Array | string): PreparedOffer {
  const p = bid.params;
  const reject = (reason: BidRejection): PreparedOffer => ({ ok: false, exclusion: { address: p.address, reqId: bid.reqId, reason } });
  if (p.auctionId !== open.auctionId) return reject('WRONG_AUCTION');
  let openBid: OpenBid;
  if (p.bid !== undefined) {
    if (open.sealed) return reject('OPEN_BID_IN_SEALED_AUCTION');
    openBid = p.bid;
  } else {
    if (!open.sealed) return reject('SEALED_BID_IN_OPEN_AUCTION');
    if (auctionSecretKey === undefined) return reject('SEALED_NOT_REVEALED');
    const opened = openSealedBid(p.sealed, auctionSecretKey);
    if (!opened.ok) return reject(opened.reason);
    openBid = opened.bid;
  }
  const wanted = open.side === 'buy' ? 'sell' : 'buy';
  if (openBid.type !== wanted) return reject('WRONG_SIDE');
  return {
    ok: true,
    offer: {
      address: p.address,
      feeder: p.feeder,
      energyWh: energyToWh(openBid.energy),
      priceMcPerKWh: priceToMillicentsPerKWh(openBid.price),
      inclusion: bid.inclusion,
      reqId: bid.reqId,
    },
  };
}

export interface WireClearingOptions {
  /** the registry's feeder limits [AUC-17] */
  feederLimits?: readonly FeederLimit[];
  /** revealed by `auction-close`, for sealed auctions */
  auctionSecretKey?: Uint8Array | string;
}

/**
 * Clear an auction from its wire messages. excluded = first the bids that are not offers
 * [AUC-15], then the offers the clearing excluded, each group in chain order.
 */
export function clearWireAuction(open: AuctionOpen, bids: readonly WireBid[], o: WireClearingOptions = {}): ClearingResult {
  const offers: ClearingOffer[] = [];
  const rejected: { inclusion: number; e: ClearingExclusion }[] = [];
  for (const b of bids) {
    const r = clearingOfferFromBid(open, b, o.auctionSecretKey);
    if (r.ok) offers.push(r.offer);
    else rejected.push({ inclusion: b.inclusion, e: r.exclusion });
  }
  rejected.sort((x, y) =>
    x.inclusion !== y.inclusion ? (x.inclusion < y.inclusion ? -1 : 1)
    : x.e.reqId !== y.e.reqId ? (x.e.reqId < y.e.reqId ? -1 : 1)
    : x.e.address < y.e.address ? -1 : x.e.address > y.e.address ? 1 : 0);
  const result = clearAuction(clearingAuctionFromOpen(open, o.feederLimits), offers);
  return { ...result, excluded: [...rejected.map((r) => r.e), ...result.excluded] };
}

/** The `auction-result` parameters of a cleared auction. */
export function auctionResultParams(auctionId: string, r: ClearingResult, height?: number): AuctionResult {
  return {
    auctionId,
    status: 'cleared',
    ...(r.clearingPriceMcPerKWh !== null ? { clearingPriceMillicentsPerKWh: r.clearingPriceMcPerKWh } : {}),
    awardedWh: r.awardedWh,
    awards: r.awards.map((a) => ({ address: a.address, feeder: a.feeder, energyWh: a.energyWh, priceMillicentsPerKWh: a.priceMcPerKWh, bidReqId: a.reqId })),
    excluded: r.excluded.map((e) => ({ address: e.address, reqId: e.reqId, reason: e.reason })),
    ...(height !== undefined ? { height } : {}),
  };
}

/** The `auction-result` parameters of a void auction [AUC-13] [AUC-14]. */
export function voidAuctionResultParams(auctionId: string, reason: string, height?: number): AuctionResult {
  return { auctionId, status: 'void', awards: [], reason, ...(height !== undefined ? { height } : {}) };
}
