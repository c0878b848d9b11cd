/**
 * Codes the broker sends on `tmi/v1/clients/{meterId}/errors`: every codec code
 * (wire/errors.ts) plus the broker's own.
 */
import type { WireErrorCode } from '../wire/errors.js';

export type BrokerOwnCode =
  /** the envelope's clientId is neither the login's meter id, its key's address, nor a pseudonym certified to it */
  | 'NOT_YOUR_ID'
  /** the operation or an id in the parameters does not belong on this topic */
  | 'TOPIC_MISMATCH'
  /** the login's role may not publish on this topic */
  | 'NOT_AUTHORIZED_TOPIC'
  /** retained flag on a topic where DESIGN §3 allows no retained message */
  | 'RETAIN_NOT_ALLOWED'
  /** the client exceeded its message rate */
  | 'RATE_LIMITED'
  /** the registry could not be asked (pseudonym owner look-up failed) */
  | 'DIRECTORY_UNAVAILABLE'
  /** the signature-verification worker failed; the message was not checked */
  | 'VERIFIER_FAILED';

export type BrokerErrorCode = WireErrorCode | BrokerOwnCode;

export interface Rejection {
  code: BrokerErrorCode;
  reason: string;
  /** reqId of the rejected message, when it could be read */
  reqId?: string;
}
