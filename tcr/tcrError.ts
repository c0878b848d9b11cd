/**
 * Coded errors of the transactive controller: message = `CODE k=v k=v`.
 * Thrown only for caller mistakes (bad parameters, impossible state or request);
 * ordinary market outcomes ("no bid this time") are returned, never thrown.
 */
import { CodedError } from '../wire/errors.js';

export type TcrErrorCode =
  | 'BAD_BATTERY_PARAM'
  | 'BAD_CURVE_PARAM'
  | 'BAD_MARKET_PARAM'
  | 'BAD_STATE'
  | 'BAD_REQUEST'
  | 'BOTH_DIRECTIONS'
  | 'BAD_INTERVAL'
  | 'BAD_FORECAST'
  | 'BAD_EV_PARAM'
  | 'BAD_EV_STATE'
  | 'BAD_THERMAL_PARAM'
  | 'BAD_THERMAL_STATE'
  | 'BAD_SHIFTABLE_PARAM'
  | 'BAD_SHIFTABLE_STATE'
  | 'BAD_ACTIVE_USER_PARAM'
  | 'BAD_COMMITMENT';

export class TcrError extends CodedError<TcrErrorCode> {}
