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

/**
 * The one coded-error shape every part uses: a stable `code`, a `context` of simple
 * values, and message = `CODE k=v k=v`. Each part declares its codes and a subclass.
 */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  readonly context: ErrorContext;
  constructor(code: C, context: ErrorContext = {}) {
    super(formatCoded(code, context));
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

export class WireError extends CodedError<WireErrorCode> {}

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
