/**
 * When an auction is void (DESIGN §8): nothing is awarded and nothing is settled.
 *
 * Times are integer milliseconds since the Unix epoch, on the chain's clock (the time of
 * the block that includes a message, never a node's wall clock). closesAt is the
 * `auction-open` closing time (Date.parse of its ISO string); graceMs is a chain
 * parameter. deadline = closesAt + graceMs.
 *
 *   [AUC-13] an `auction-close` timed before closesAt is early: the state transition
 *            rejects it and the auction stays open. One timed in [closesAt, deadline]
 *            closes the auction and it is cleared. An auction with no accepted close by
 *            the deadline is void (NOT_CLOSED_IN_TIME): bidders are never held to an
 *            auction the aggregator abandoned.
 *   [AUC-14] (withdrawn) a sealed auction no longer depends on the aggregator's key:
 *            its bidders reveal their bids [SEALED] (sealedBid.ts).
 *   On chain, [AUC-13] no longer voids anything: the chain clears every auction by its
 *   clock ([CLOSE], [SEALED]); `tmi auction clear` still applies it to audit files.
 */
import { AuctionError } from './auctionError.js';

export type CloseTiming = 'early' | 'on-time' | 'late';

export type VoidReason = 'NOT_CLOSED_IN_TIME';

/** [AUC-13] how an `auction-close` at closedAtMs relates to the auction's closing window. */
export function closeTiming(closedAtMs: number, closesAtMs: number, graceMs: number): CloseTiming {
  checkTimes({ closedAtMs, closesAtMs, graceMs });
  if (closedAtMs < closesAtMs) return 'early';
  return closedAtMs <= closesAtMs + graceMs ? 'on-time' : 'late';
}

/**
 * [AUC-13] void iff the auction was not closed by its deadline. closedAtMs = time of the
 * accepted close, undefined if none yet (an early close is not a close); nowMs = the
 * chain time at which the question is asked.
 */
export function isAuctionVoid(closedAtMs: number | undefined, closesAtMs: number, graceMs: number, nowMs: number): boolean {
  checkTimes({ closedAtMs, closesAtMs, graceMs, nowMs });
  const deadline = closesAtMs + graceMs;
  if (closedAtMs === undefined || closedAtMs < closesAtMs) return nowMs > deadline;
  return closedAtMs > deadline;
}

export interface VoidCheck {
  closesAtMs: number;
  graceMs: number;
  nowMs: number;
  closedAtMs?: number;
}

/** [AUC-13] why the auction is void, or null when it is not (yet). */
export function auctionVoidReason(c: VoidCheck): VoidReason | null {
  return isAuctionVoid(c.closedAtMs, c.closesAtMs, c.graceMs, c.nowMs) ? 'NOT_CLOSED_IN_TIME' : null;
}

function checkTimes(t: Record<string, number | undefined>): void {
  for (const [field, v] of Object.entries(t)) {
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new AuctionError('INVALID_AUCTION', { field, value: String(v) });
  }
}
