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
 *   [AUC-14] a sealed auction is also void when its close does not reveal the secret key
 *            of the public key it published (SECRET_KEY_MISSING, SECRET_KEY_MISMATCH),
 *            or when it published no public key (PUBLIC_KEY_MISSING): otherwise the
 *            aggregator could choose which bids count by withholding or garbling the key.
 */
import { AuctionError } from './auctionError.js';
import { auctionKeysMatch } from './sealedBid.js';

export type CloseTiming = 'early' | 'on-time' | 'late';

export type VoidReason = 'NOT_CLOSED_IN_TIME' | 'PUBLIC_KEY_MISSING' | 'SECRET_KEY_MISSING' | 'SECRET_KEY_MISMATCH';

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
  sealed: boolean;
  /** base64, from `auction-open` */
  auctionPublicKey?: string;
  /** base64, from `auction-close` */
  auctionSecretKey?: string;
}

/** [AUC-13] [AUC-14] why the auction is void, or null when it is not (yet). */
export function auctionVoidReason(c: VoidCheck): VoidReason | null {
  if (isAuctionVoid(c.closedAtMs, c.closesAtMs, c.graceMs, c.nowMs)) return 'NOT_CLOSED_IN_TIME';
  const closed = c.closedAtMs !== undefined && c.closedAtMs >= c.closesAtMs;
  if (!c.sealed || !closed) return null;
  if (c.auctionPublicKey === undefined) return 'PUBLIC_KEY_MISSING';
  if (c.auctionSecretKey === undefined) return 'SECRET_KEY_MISSING';
  let match: boolean;
  try {
    match = auctionKeysMatch(c.auctionSecretKey, c.auctionPublicKey);
  } catch {
    match = false;
  }
  return match ? null : 'SECRET_KEY_MISMATCH';
}

function checkTimes(t: Record<string, number | undefined>): void {
  for (const [field, v] of Object.entries(t)) {
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new AuctionError('INVALID_AUCTION', { field, value: String(v) });
  }
}
