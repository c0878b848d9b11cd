/**
 * From wire messages to the clearing's integers and back (DESIGN §2, §5, §8).
 *
 *   [AUC-15] a `bid-offer` becomes a clearing offer only if: its auctionId is the
 *            auction's (else WRONG_AUCTION); it is open in an open auction and sealed in
 *            a sealed one (else OPEN_BID_IN_SEALED_AUCTION / SEALED_BID_IN_OPEN_AUCTION);
 *            a sealed bid has been revealed by its bidder (else NOT_REVEALED) and the
 *            reveal opens its commitment [AUC-12] (else BAD_REVEAL);
 *            its type is the HEM's side opposite the aggregator's — `sell` (discharge)
 *            in a buy auction, `buy` (charge) in a sell auction (else WRONG_SIDE).
 *            Such bids are not offers: they do not count for [AUC-2].
 *   [AUC-16] quantities are converted once with wire/quantities (floor): energy → Wh,
 *            price → millicents/kWh.
 *   [AUC-17] feeder limits = the ones given by the caller (the registry's), tightened by
 *            the ones in `auction-open` (min per feeder, as the chain clears [FEEDER-2]:
 *            effectiveFeederLimits); without the caller's, the ones in `auction-open`;
 *            a feeder in neither is unlimited.
 */
import { energyToWh, priceToMillicentsPerKWh } from '../../../wire/quantities.js';
import type { AuctionOpen, AuctionResult, BidOffer, BidReveal, FeederLimit, OpenBid } from '../../../schemas/types.js';
import { clearAuction, type ClearingAuction, type ClearingExclusion, type ClearingOffer, type ClearingResult } from './clearAuction.js';
import { revealOpens } from './sealedBid.js';
import { effectiveFeederLimits } from './effectiveFeederLimits.js';
import { AuctionError } from './auctionError.js';

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
  | 'NOT_REVEALED'
  | 'BAD_REVEAL'
  | 'WRONG_SIDE';

export type PreparedOffer = { ok: true; offer: ClearingOffer } | { ok: false; exclusion: ClearingExclusion & { reason: BidRejection } };

/** [AUC-16] [AUC-17] the clearing view of an `auction-open`. */
export function clearingAuctionFromOpen(open: AuctionOpen, feederLimits?: readonly FeederLimit[]): ClearingAuction {
  const own = open.feederLimits ?? [];
  if (feederLimits !== undefined) {
    const seen = new Set<string>();
    for (const l of feederLimits) {
      if (seen.has(l.feeder)) throw new AuctionError('DUPLICATE_FEEDER_LIMIT', { auctionId: open.auctionId, feeder: l.feeder });
      seen.add(l.feeder);
    }
  }
  const limits = feederLimits === undefined ? own : effectiveFeederLimits(feederLimits.map((l) => [l.feeder, l] as const), own);
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
export function clearingOfferFromBid(open: AuctionOpen, bid: WireBid, reveal?: BidReveal): PreparedOffer {
  const p = bid.params;
  const reject = (reason: BidRejection): PreparedOffer => ({ ok: false, exclusion: { address: p.address, reqId: bid.reqId, reason } });
  if (p.auctionId !== open.auctionId) return reject('WRONG_AUCTION');
  let openBid: OpenBid;
  if (p.bid !== undefined) {
    if (open.sealed) return reject('OPEN_BID_IN_SEALED_AUCTION');
    openBid = p.bid;
  } else {
    if (!open.sealed) return reject('SEALED_BID_IN_OPEN_AUCTION');
    if (reveal === undefined) return reject('NOT_REVEALED');
    if (p.sealed === undefined || reveal.auctionId !== p.auctionId || reveal.address !== p.address || !revealOpens(p.sealed, reveal)) return reject('BAD_REVEAL');
    openBid = reveal.bid;
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
  /** the registry's feeder limits; the auction-open's own only tighten them [AUC-17] */
  feederLimits?: readonly FeederLimit[];
  /** [SEALED] the bidders' `bid-reveal` parameters, for sealed auctions */
  reveals?: readonly BidReveal[];
}

/**
 * Clear an auction from its wire messages. excluded = first the bids that are not offers
 * [AUC-15], then the offers the clearing excluded, each group in chain order.
 */
export function clearWireAuction(open: AuctionOpen, bids: readonly WireBid[], o: WireClearingOptions = {}): ClearingResult {
  const offers: ClearingOffer[] = [];
  const rejected: { inclusion: number; e: ClearingExclusion }[] = [];
  const revealOf = new Map((o.reveals ?? []).map((r) => [r.address, r]));
  for (const b of bids) {
    const r = clearingOfferFromBid(open, b, revealOf.get(b.params.address));
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

/** The `auction-result` parameters of a void auction [AUC-13]. */
export function voidAuctionResultParams(auctionId: string, reason: string, height?: number): AuctionResult {
  return { auctionId, status: 'void', awards: [], reason, ...(height !== undefined ? { height } : {}) };
}
