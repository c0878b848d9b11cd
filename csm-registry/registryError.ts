/**
 * Coded registry errors (STYLE: coded errors with context). The HTTP layer turns one
 * into `status` and `{error:{code, message}}`; message = `CODE k=v k=v`.
 */
import { CodedError, type ErrorContext } from '../wire/errors.js';

export type RegistryErrorCode =
  | 'SCHEMA_MISSING_FIELD'
  | 'SCHEMA_UNKNOWN_FIELD'
  | 'SCHEMA_BAD_VALUE'
  | 'SCHEMA_OUT_OF_RANGE'
  | 'SCHEMA_NOT_FINITE'
  | 'SCHEMA_BAD_LENGTH'
  | 'SCHEMA_WRONG_TYPE'
  | 'SCHEMA_BAD_FORMAT'
  | 'SCHEMA_BAD_SHAPE'
  | 'SCHEMA_INVALID'
  | 'MALFORMED_JSON'
  | 'BAD_REQUEST'
  | 'BAD_PUBLIC_KEY'
  | 'ADDRESS_IS_METER_KEY'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'BAD_SIGNATURE'
  | 'STALE_DATE'
  | 'REVOKED'
  | 'NOT_FOUND'
  | 'UNKNOWN_METER'
  | 'ALREADY_ENROLLED'
  | 'DUPLICATE_PUBLIC_KEY'
  | 'ALREADY_REVOKED'
  | 'NONCE_REUSED'
  | 'ADDRESS_TAKEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'INTERNAL';

/** HTTP status of each code. */
export const STATUS_OF: Record<RegistryErrorCode, number> = {
  SCHEMA_MISSING_FIELD: 400,
  SCHEMA_UNKNOWN_FIELD: 400,
  SCHEMA_BAD_VALUE: 400,
  SCHEMA_OUT_OF_RANGE: 400,
  SCHEMA_NOT_FINITE: 400,
  SCHEMA_BAD_LENGTH: 400,
  SCHEMA_WRONG_TYPE: 400,
  SCHEMA_BAD_FORMAT: 400,
  SCHEMA_BAD_SHAPE: 400,
  SCHEMA_INVALID: 400,
  MALFORMED_JSON: 400,
  BAD_REQUEST: 400,
  BAD_PUBLIC_KEY: 400,
  ADDRESS_IS_METER_KEY: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  BAD_SIGNATURE: 401,
  STALE_DATE: 401,
  REVOKED: 403,
  NOT_FOUND: 404,
  UNKNOWN_METER: 404,
  ALREADY_ENROLLED: 409,
  DUPLICATE_PUBLIC_KEY: 409,
  ALREADY_REVOKED: 409,
  NONCE_REUSED: 409,
  ADDRESS_TAKEN: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
};

export class RegistryError extends CodedError<RegistryErrorCode> {
  readonly status: number;
  /** seconds, for 429 */
  readonly retryAfterS: number | undefined;
  constructor(code: RegistryErrorCode, context: ErrorContext = {}, retryAfterS?: number) {
    super(code, context);
    this.status = STATUS_OF[code];
    this.retryAfterS = retryAfterS;
  }
}

export function isRegistryError(e: unknown): e is RegistryError {
  return e instanceof RegistryError;
}
