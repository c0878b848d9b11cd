/**
 * auction-close (DESIGN §8): the aggregator closes an open-bid auction; every node clears it.
 *   [TX-C1] signed by the genesis aggregator key                          UNAUTHORISED_SIGNER
 *   [TX-C2] the auction exists and is open                                UNKNOWN_AUCTION / AUCTION_NOT_OPEN
 *   [TX-C3] block time ≥ closesAt ([AUC-13] an early close is rejected)   AUCTION_NOT_DUE
 *           and ≤ closesAt + voidGraceMs                                  AUCTION_NOT_OPEN
 *   [TX-C4] [SEALED] a sealed auction takes no close: its bidders reveal and the chain
 *           clears it at closesAt + revealWindowMs, so a close can neither open its bids
 *           nor void it                                                   SEALED_CLOSED_BY_CHAIN
 *   [TX-C5] otherwise the bids are cleared with clearAuction; the awards are stored and
 *           settled later (auctionContract.settleDueAwards). [CLOSE]: without a close the
 *           chain clears the auction at its first block ≥ closesAt, with the same result.
 */
import type { Envelope } from '../../../schemas/types.js';
import { TxError } from '../chainError.js';
import { closeTiming } from '../auction/auctionVoid.js';
import { clearClosedAuction } from '../auctionContract.js';
import type { TxContext } from './txContext.js';

export function applyAuctionClose(env: Envelope<'auction-close'>, ctx: TxContext): void {
  const d = ctx.draft;
  const g = d.genesis;
  const p = env.parameters;
  if (env.clientId !== g.aggregatorKey) throw new TxError('UNAUTHORISED_SIGNER', { operation: 'auction-close', signer: env.clientId });
  const a = d.s.auctions.get(p.auctionId);
  if (a === undefined) throw new TxError('UNKNOWN_AUCTION', { auctionId: p.auctionId });
  if (a.sealed) throw new TxError('SEALED_CLOSED_BY_CHAIN', { auctionId: p.auctionId });
  if (a.status !== 'open') throw new TxError('AUCTION_NOT_OPEN', { auctionId: p.auctionId, status: a.status });
  const timing = closeTiming(ctx.time, a.closesAt, g.voidGraceMs);
  if (timing === 'early') throw new TxError('AUCTION_NOT_DUE', { auctionId: p.auctionId, closesAt: new Date(a.closesAt).toISOString() });
  if (timing === 'late') throw new TxError('AUCTION_NOT_OPEN', { auctionId: p.auctionId, status: 'closed' });
  clearClosedAuction(d, p.auctionId, a, ctx.height);
}
