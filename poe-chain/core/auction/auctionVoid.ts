/**
 * The closing window of an `auction-close` (DESIGN §8).
 *
 * Times are integer milliseconds since the Unix epoch, on the chain's clock (the time of
 * the block that includes a message, never a node's wall clock). closesAt is the
 * `auction-open` closing time (Date.parse of its ISO string); graceMs is a chain
 * parameter. deadline = closesAt + graceMs.
 *
 *   [AUC-13] an `auction-close` timed before closesAt is early: the state transition
 *            rejects it and the auction stays open. One timed in [closesAt, deadline]
 *            closes the auction and it is cleared. Nothing is voided for a missing close
 *            any more: the chain clears every auction by its clock ([CLOSE], [SEALED]).
 *   [AUC-14] (withdrawn) a sealed auction no longer depends on the aggregator's key:
 *            its bidders reveal their bids [SEALED] (sealedBid.ts).
 */
import { AuctionError } from './auctionError.js';

export type CloseTiming = 'early' | 'on-time' | 'late';

/** [AUC-13] how an `auction-close` at closedAtMs relates to the auction's closing window. */
export function closeTiming(closedAtMs: number, closesAtMs: number, graceMs: number): CloseTiming {
  checkTimes({ closedAtMs, closesAtMs, graceMs });
  if (closedAtMs < closesAtMs) return 'early';
  return closedAtMs <= closesAtMs + graceMs ? 'on-time' : 'late';
}

function checkTimes(t: Record<string, number | undefined>): void {
  for (const [field, v] of Object.entries(t)) {
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new AuctionError('INVALID_AUCTION', { field, value: String(v) });
  }
}
