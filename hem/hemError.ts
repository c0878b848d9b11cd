/** Coded errors of the HEM: message = `CODE k=v k=v` (STYLE: coded errors). */
import { CodedError } from '../wire/errors.js';

export type HemErrorCode =
  | 'BAD_CONFIG'
  | 'BAD_STORE'
  | 'NO_PSEUDONYM'
  | 'UNKNOWN_SIGNER_KEY'
  | 'ADAPTER_FAILED'
  | 'BAD_DEVICE_VALUE';

export class HemError extends CodedError<HemErrorCode> {}
