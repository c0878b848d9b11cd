/** Coded errors of the HEM: message = `CODE k=v k=v` (STYLE: coded errors). */
import { formatCoded, type ErrorContext } from '../wire/errors.js';

export type HemErrorCode =
  | 'BAD_CONFIG'
  | 'BAD_STORE'
  | 'NO_PSEUDONYM'
  | 'UNKNOWN_SIGNER_KEY'
  | 'ADAPTER_FAILED'
  | 'BAD_DEVICE_VALUE';

export class HemError extends Error {
  readonly code: HemErrorCode;
  readonly context: ErrorContext;
  constructor(code: HemErrorCode, context: ErrorContext = {}) {
    super(formatCoded(code, context));
    this.name = 'HemError';
    this.code = code;
    this.context = context;
  }
}
