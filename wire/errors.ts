/**
 * Typed wire errors with a stable code and context (STYLE: coded errors).
 * message = `${code} k=v k=v …`, so logs and error replies read the same.
 */
export type WireErrorCode =
  | 'MESSAGE_TOO_LARGE'
  | 'MALFORMED_JSON'
  | 'NOT_AN_OBJECT'
  | 'UNKNOWN_OPERATION'
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
  | 'ADDRESS_MISMATCH'
  | 'UNKNOWN_SIGNER'
  | 'BAD_SIGNATURE'
  | 'STALE_DATE'
  | 'REPLAYED';

export type ErrorContext = Record<string, string | number | boolean | undefined>;

export class WireError extends Error {
  readonly code: WireErrorCode;
  readonly context: ErrorContext;
  constructor(code: WireErrorCode, context: ErrorContext = {}) {
    super(formatCoded(code, context));
    this.name = 'WireError';
    this.code = code;
    this.context = context;
  }
}

export function formatCoded(code: string, context: ErrorContext): string {
  const parts = [code];
  for (const [k, v] of Object.entries(context)) {
    if (v === undefined) continue;
    const s = String(v);
    parts.push(`${k}=${s.length > 120 ? s.slice(0, 117) + '...' : s}`);
  }
  return parts.join(' ');
}

export function isWireError(e: unknown): e is WireError {
  return e instanceof WireError;
}
