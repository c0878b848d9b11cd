/**
 * bid-reveal [SEALED] (commit–reveal by the bidders): a bidder opens its sealed bid.
 *   [REV-1] signer = address (codec)
 *   [REV-2] the auction exists, is sealed and not yet cleared      UNKNOWN_AUCTION / NOT_SEALED / AUCTION_NOT_OPEN
 *   [REV-3] closesAt ≤ block time < closesAt + revealWindowMs       REVEAL_NOT_DUE / REVEAL_TOO_LATE
 *   [REV-4] the address has a sealed bid there, not yet revealed   NO_SEALED_BID / DUPLICATE_REVEAL
 *   [REV-5] bidCommitment(auctionId, address, bid, salt) equals its commitment  BAD_REVEAL
 * The revealed bid is stored with the commitment; side and range are checked at clearing
 * (WRONG_SIDE, OUT_OF_RANGE exclusions), so a reveal cannot be refused for its content.
 */
import type { Envelope } from '../../../schemas/types.js';
import { TxError } from '../chainError.js';
import { bidCommitment } from '../auction/sealedBid.js';
import type { TxContext } from './txContext.js';

export function applyBidReveal(env: Envelope<'bid-reveal'>, ctx: TxContext): void {
  const d = ctx.draft;
  const g = d.genesis;
  const p = env.parameters;
  const a = d.s.auctions.get(p.auctionId);
  if (a === undefined) throw new TxError('UNKNOWN_AUCTION', { auctionId: p.auctionId });
  if (!a.sealed) throw new TxError('NOT_SEALED', { auctionId: p.auctionId });
  if (a.status !== 'open') throw new TxError('AUCTION_NOT_OPEN', { auctionId: p.auctionId, status: a.status });
  if (ctx.time < a.closesAt) throw new TxError('REVEAL_NOT_DUE', { auctionId: p.auctionId, closesAt: new Date(a.closesAt).toISOString() });
  if (ctx.time >= a.closesAt + g.revealWindowMs) throw new TxError('REVEAL_TOO_LATE', { auctionId: p.auctionId, until: new Date(a.closesAt + g.revealWindowMs).toISOString() });
  const key = `${p.auctionId}|${p.address}`;
  const bid = d.s.bids.get(key);
  if (bid === undefined || bid.sealed === undefined) throw new TxError('NO_SEALED_BID', { auctionId: p.auctionId, address: p.address });
  if (bid.bid !== undefined) throw new TxError('DUPLICATE_REVEAL', { auctionId: p.auctionId, address: p.address });
  if (bidCommitment({ auctionId: p.auctionId, address: p.address, bid: p.bid, salt: p.salt }) !== bid.sealed.commitment) {
    throw new TxError('BAD_REVEAL', { auctionId: p.auctionId, address: p.address });
  }
  d.s.bids.set(key, { ...bid, bid: p.bid });
}
