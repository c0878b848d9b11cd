/**
 * Coded errors of the market clearing: message = `CODE k=v k=v` (STYLE: coded errors).
 * Thrown only for inputs the caller should never pass (the chain checks orders when it
 * accepts them); an order that merely cannot trade is excluded with a reason instead.
 */
import { CodedError } from '../../../wire/errors.js';

export type MarketErrorCode =
  /** a field of the book itself (epoch, pricing, orders, feederRoom, Σ energy) */
  | 'INVALID_BOOK'
  /** a field of one order: `index` (its position in `orders`), `field`, `value` */
  | 'INVALID_ORDER'
  /** two orders with one orderId */
  | 'DUPLICATE_ORDER_ID'
  /** one feeder listed twice in feederRoom */
  | 'DUPLICATE_FEEDER_ROOM';

export class MarketError extends CodedError<MarketErrorCode> {}

/** A non-negative safe integer: the only kind of quantity the clearing accepts (DESIGN §5). */
export function isQuantity(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
