/**
 * auction-close (DESIGN §8): the aggregator closes an auction; every node clears it.
 *   [TX-C1] signed by the genesis aggregator key                          UNAUTHORISED_SIGNER
 *   [TX-C2] the auction exists and is open                                UNKNOWN_AUCTION / AUCTION_NOT_OPEN
 *   [TX-C3] block time ≥ closesAt ([AUC-13] an early close is rejected)   AUCTION_NOT_DUE
 *   [TX-C4] [AUC-14] a sealed auction whose close does not reveal the secret key of its
 *           public key becomes void (the close is recorded, nothing is awarded)
 *   [TX-C5] otherwise the bids are opened (sealed) and cleared with clearAuction; the
 *           awards are stored and settled later (auctionContract.settleDueAwards).
 */
import type { Envelope } from '../../../schemas/types.js';
import { TxError } from '../chainError.js';
import { closeTiming, auctionVoidReason } from '../auction/auctionVoid.js';
import { clearClosedAuction, voidAuction } from '../auctionContract.js';
import type { TxContext } from './txContext.js';

export function applyAuctionClose(env: Envelope<'auction-close'>, ctx: TxContext): void {
  const d = ctx.draft;
  const g = d.genesis;
  const p = env.parameters;
  if (env.clientId !== g.aggregatorKey) throw new TxError('UNAUTHORISED_SIGNER', { operation: 'auction-close', signer: env.clientId });
  const a = d.s.auctions.get(p.auctionId);
  if (a === undefined) throw new TxError('UNKNOWN_AUCTION', { auctionId: p.auctionId });
  if (a.status !== 'open') throw new TxError('AUCTION_NOT_OPEN', { auctionId: p.auctionId, status: a.status });
  const timing = closeTiming(ctx.time, a.closesAt, g.voidGraceMs);
  if (timing === 'early') throw new TxError('AUCTION_NOT_DUE', { auctionId: p.auctionId, closesAt: new Date(a.closesAt).toISOString() });
  if (timing === 'late') throw new TxError('AUCTION_NOT_OPEN', { auctionId: p.auctionId, status: 'void' });
  const voidReason = auctionVoidReason({
    closesAtMs: a.closesAt,
    graceMs: g.voidGraceMs,
    nowMs: ctx.time,
    closedAtMs: ctx.time,
    sealed: a.sealed,
    ...(a.auctionPublicKey !== undefined ? { auctionPublicKey: a.auctionPublicKey } : {}),
    ...(p.auctionSecretKey !== undefined ? { auctionSecretKey: p.auctionSecretKey } : {}),
  });
  if (voidReason !== null) {
    voidAuction(d, p.auctionId, { ...a, closedHeight: ctx.height, ...(p.auctionSecretKey !== undefined ? { auctionSecretKey: p.auctionSecretKey } : {}) }, voidReason);
    return;
  }
  clearClosedAuction(d, p.auctionId, a, ctx.height, a.sealed ? p.auctionSecretKey : undefined);
}
