/**
 * auction-open (DESIGN §8): the aggregator opens an auction.
 *   [TX-A1] signed by the genesis aggregator key                               UNAUTHORISED_SIGNER
 *   [TX-A2] a new auction id                                                   AUCTION_EXISTS
 *   [TX-A3] delivery = one metering interval of the chain's grid; block time <
 *           closesAt ≤ delivery start; 0 < energy ≤ 1 GWh; limit ≤ 10^8 mc/kWh;
 *           sealed ⇒ closesAt + revealWindowMs ≤ delivery start [SEALED]; no feeder
 *           listed twice                                                       BAD_AUCTION
 *   [FEEDER-2] the feeder limits it carries are the aggregator's own restriction for this
 *           auction: at clearing they may only tighten the registry's limits on chain
 *           (`feederLimits` section, written only by `feeder-limit` [FEEDER-1]); they never
 *           change that section, so they reach neither other auctions nor the P2P market
 */
import type { Envelope } from '../../../schemas/types.js';
import { energyToWh, priceToMillicentsPerKWh } from '../../../wire/quantities.js';
import { TxError } from '../chainError.js';
import type { AuctionEntry } from '../chainState.js';
import { epochOfInterval, epochStart } from '../genesis.js';
import { MAX_BID_WH, MAX_PRICE_MC_PER_KWH } from './applyBidOffer.js';
import { insertSorted, type TxContext } from './txContext.js';

export function applyAuctionOpen(env: Envelope<'auction-open'>, ctx: TxContext): void {
  const d = ctx.draft;
  const g = d.genesis;
  const p = env.parameters;
  if (env.clientId !== g.aggregatorKey) throw new TxError('UNAUTHORISED_SIGNER', { operation: 'auction-open', signer: env.clientId });
  if (d.s.auctions.has(p.auctionId)) throw new TxError('AUCTION_EXISTS', { auctionId: p.auctionId });
  const bad = (reason: string): never => {
    throw new TxError('BAD_AUCTION', { auctionId: p.auctionId, reason });
  };
  const deliveryEpoch = epochOfInterval(g, p.delivery);
  if (deliveryEpoch === undefined) return bad('delivery is not one metering interval');
  const closesAt = Date.parse(p.closesAt);
  if (!(closesAt > ctx.time)) bad('closesAt is not after the block time');
  if (closesAt > epochStart(g, deliveryEpoch)) bad('closesAt is after the delivery start');
  const energyWh = energyToWh(p.energy);
  if (!(energyWh > 0 && energyWh <= MAX_BID_WH)) bad('energy out of range');
  const limitPriceMcPerKWh = priceToMillicentsPerKWh(p.limitPrice);
  if (!(limitPriceMcPerKWh <= MAX_PRICE_MC_PER_KWH)) bad('limit price out of range');
  if (p.sealed && closesAt + g.revealWindowMs > epochStart(g, deliveryEpoch)) bad('the reveal window ends after the delivery start');
  const feederLimits = p.feederLimits ?? [];
  if (new Set(feederLimits.map((f) => f.feeder)).size !== feederLimits.length) bad('feeder listed twice');
  const entry: AuctionEntry = {
    side: p.side,
    energyWh,
    limitPriceMcPerKWh,
    pricing: p.pricing,
    sealed: p.sealed,
    feederLimits,
    deliveryEpoch,
    closesAt,
    openedHeight: ctx.height,
    status: 'open',
    bidCount: 0,
  };
  d.s.auctions.set(p.auctionId, entry);
  d.meta.active = insertSorted(d.meta.active, p.auctionId);
}
