/**
 * Coded errors of the chain (STYLE: coded errors with context):
 *   new BlockError({code: 'BAD_PRODUCER', height, expected, got})
 *     → message `BAD_PRODUCER height=… expected=… got=…`
 * A TxError says why one transaction is invalid; inside a block it becomes
 * BlockError BAD_TX with the transaction's index and the TxError code as `reason`.
 */
import { CodedError, type ErrorContext } from '../../wire/errors.js';

export type BlockErrorCode =
  | 'BAD_ENCODING'
  | 'BAD_SIGNATURE'
  | 'BAD_HEIGHT'
  | 'BAD_PARENT'
  | 'BAD_SLOT'
  | 'BAD_SUB'
  | 'SLOT_IN_FUTURE'
  | 'BAD_EPOCH'
  | 'BAD_PRODUCER'
  | 'TOO_MANY_TXS'
  | 'BAD_TX_ROOT'
  | 'DUPLICATE_TX'
  | 'BAD_TX'
  | 'BAD_STATE_ROOT'
  | 'BAD_SEED_PROOF'
  | 'EARLY_EMPTY_BLOCK';

export type TxErrorCode =
  | 'BAD_ENCODING'
  | 'NOT_A_TX_OPERATION'
  | 'CHAIN_MISSING'
  | 'WRONG_CHAIN'
  | 'DUPLICATE_TX'
  | 'DATE_OUT_OF_WINDOW'
  | 'UNAUTHORISED_SIGNER'
  | 'BAD_REGISTRY_SIGNATURE'
  | 'NOT_CERTIFIED'
  | 'CERT_NOT_VALID'
  | 'CERT_EXISTS'
  | 'CERT_EXPIRED'
  | 'BAD_CERT'
  | 'ADDRESS_REVOKED'
  | 'NOTHING_TO_REVOKE'
  | 'PROGRAMME_NOT_TE'
  | 'FEEDER_MISMATCH'
  | 'UNKNOWN_AUCTION'
  | 'AUCTION_EXISTS'
  | 'AUCTION_NOT_OPEN'
  | 'SEALED_CLOSED_BY_CHAIN'
  | 'NOT_SEALED'
  | 'REVEAL_NOT_DUE'
  | 'REVEAL_TOO_LATE'
  | 'NO_SEALED_BID'
  | 'DUPLICATE_REVEAL'
  | 'BAD_REVEAL'
  | 'AUCTION_CLOSED'
  | 'AUCTION_NOT_DUE'
  | 'BAD_AUCTION'
  | 'BID_WRONG_SIDE'
  | 'BID_SEALING_MISMATCH'
  | 'BID_OUT_OF_RANGE'
  | 'DUPLICATE_BID'
  | 'METER_ALREADY_BID'
  | 'CERT_NOT_COVERING_DELIVERY'
  | 'CERT_UNTAGGED'
  | 'BAD_INTERVAL'
  | 'READING_NOT_ENDED'
  | 'READING_TOO_OLD'
  | 'READING_OUT_OF_ORDER'
  | 'INSUFFICIENT_FUNDS'
  | 'SELF_TRANSFER'
  | 'BAD_EVIDENCE'
  | 'ALREADY_EQUIVOCATOR'
  | 'BAD_DELIVERY_INTERVAL'
  | 'ORDERS_CLOSED'
  | 'DUPLICATE_ORDER'
  | 'METER_ALREADY_ORDERED'
  | 'NO_SUCH_ORDER'
  | 'FEEDER_LIMIT_IN_FUTURE'
  | 'STALE_FEEDER_LIMIT'
  | 'UNKNOWN_TARGET'
  | 'BAD_ROUND'
  | 'NOT_HEAD_AT_ROUND'
  | 'UNJUSTIFIED_SOURCE'
  | 'BAD_LINK'
  | 'ALREADY_JUSTIFIED'
  | 'NO_COMMITTEE'
  | 'NOT_IN_COMMITTEE'
  | 'DUPLICATE_VOTER'
  | 'BAD_VOTE_SIGNATURE'
  | 'NO_QUORUM'
  | 'BAD_VOTE_EVIDENCE';

export class BlockError extends CodedError<BlockErrorCode> {
  constructor(ctx: { code: BlockErrorCode } & ErrorContext) {
    const { code, ...rest } = ctx;
    super(code, rest);
  }
}

export class TxError extends CodedError<TxErrorCode> {}

export type GenesisErrorCode = 'GENESIS_INVALID';

export class GenesisError extends CodedError<GenesisErrorCode> {
  constructor(context: ErrorContext) {
    super('GENESIS_INVALID', context);
  }
}
