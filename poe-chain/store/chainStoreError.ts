/** Coded errors of the chain store: `CORRUPT_DB height=… reason=…`. */
import { CodedError } from '../../wire/errors.js';

export type ChainStoreErrorCode = 'NO_CHAIN' | 'CORRUPT_DB' | 'GENESIS_MISMATCH' | 'NOT_A_CHILD' | 'BAD_HEIGHT' | 'LOCKED' | 'OLD_FORMAT' | 'NOT_EMPTY' | 'BAD_CHECKPOINT' | 'NOT_CANONICAL';

export class ChainStoreError extends CodedError<ChainStoreErrorCode> {}
