/**
 * Coded errors of the auction contract: message = `CODE k=v k=v` (STYLE: coded errors).
 * Thrown only for inputs the caller should never pass (the chain validates messages
 * first); a bid that is merely unacceptable is excluded with a reason instead.
 */
import { CodedError } from '../../../wire/errors.js';

export type AuctionErrorCode =
  | 'INVALID_AUCTION'
  | 'INVALID_OFFER'
  | 'DUPLICATE_FEEDER_LIMIT'
  | 'INVALID_SETTLEMENT'
  | 'INVALID_OPEN_BID'
  | 'INVALID_KEY'
  | 'INVALID_AUDIT_INPUT';

export class AuctionError extends CodedError<AuctionErrorCode> {}

/** A non-negative safe integer: the only kind of quantity the contract accepts (DESIGN §5). */
export function isQuantity(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
