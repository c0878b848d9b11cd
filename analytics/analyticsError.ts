/**
 * Coded analytics errors (STYLE: coded errors with context): message = `CODE k=v k=v`.
 * The HTTP layer turns one into `status` and `{error:{code, message}}`.
 */
import { CodedError } from '../wire/errors.js';

export type AnalyticsErrorCode =
  | 'BAD_FACT'
  | 'BAD_QUERY'
  | 'BAD_PATH'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'TOO_MANY_CLIENTS'
  | 'CLOSED'
  | 'INTERNAL';

export const STATUS_OF: Record<AnalyticsErrorCode, number> = {
  BAD_FACT: 400,
  BAD_QUERY: 400,
  BAD_PATH: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  TOO_MANY_CLIENTS: 503,
  CLOSED: 503,
  INTERNAL: 500,
};

export class AnalyticsError extends CodedError<AnalyticsErrorCode> {}
