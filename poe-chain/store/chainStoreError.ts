/** Coded errors of the chain store: `CORRUPT_DB height=… reason=…`. */
import { formatCoded, type ErrorContext } from '../../wire/errors.js';

export type ChainStoreErrorCode = 'NO_CHAIN' | 'CORRUPT_DB' | 'GENESIS_MISMATCH' | 'NOT_A_CHILD' | 'BAD_HEIGHT' | 'LOCKED';

export class ChainStoreError extends Error {
  readonly code: ChainStoreErrorCode;
  readonly context: ErrorContext;
  constructor(code: ChainStoreErrorCode, context: ErrorContext = {}) {
    super(formatCoded(code, context));
    this.name = 'ChainStoreError';
    this.code = code;
    this.context = context;
  }
}
