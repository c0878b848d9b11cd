/**
 * TypeScript types derived from the schemas: never written by hand (STYLE: one source
 * for wire types).
 */
import type { FromSchema } from 'json-schema-to-ts';
import type { Operation } from './envelope.js';
import type {
  auctionCloseParams, auctionOpenParams, auctionResultParams, bidOfferParams, bidRevealParams, certificateParams,
  errorParams, feederLimitParams, marketOrderParams, marketResultParams, marketRevealParams, meterReadingParams, revocationParams, scheduleParams, stateParams, transferParams,
} from './operations.js';
import type { blockParams, checkpointRequestParams, checkpointResponseParams, evidenceParams, justificationParams, syncRequestParams, syncResponseParams, txParams, voteEvidenceParams, voteParams } from './chainOperations.js';
import type { energy, price, interval } from './common.js';
import type { openBid, sealedBid, award, exclusion, feederLimit } from './operations.js';
import type { blockHeader, checkpoint, embeddedEnvelope, genesisConfig, signedHeader, voteSignature } from './chainOperations.js';

/** Each operation's parameters type, derived once from its schema. */
export interface ParamsByOperation {
  state: FromSchema<typeof stateParams>;
  'meter-reading': FromSchema<typeof meterReadingParams>;
  'bid-offer': FromSchema<typeof bidOfferParams>;
  'bid-reveal': FromSchema<typeof bidRevealParams>;
  'market-order': FromSchema<typeof marketOrderParams>;
  'market-reveal': FromSchema<typeof marketRevealParams>;
  'market-result': FromSchema<typeof marketResultParams>;
  'auction-open': FromSchema<typeof auctionOpenParams>;
  'auction-close': FromSchema<typeof auctionCloseParams>;
  'auction-result': FromSchema<typeof auctionResultParams>;
  schedule: FromSchema<typeof scheduleParams>;
  certificate: FromSchema<typeof certificateParams>;
  revocation: FromSchema<typeof revocationParams>;
  'feeder-limit': FromSchema<typeof feederLimitParams>;
  transfer: FromSchema<typeof transferParams>;
  tx: FromSchema<typeof txParams>;
  block: FromSchema<typeof blockParams>;
  'sync-request': FromSchema<typeof syncRequestParams>;
  'sync-response': FromSchema<typeof syncResponseParams>;
  evidence: FromSchema<typeof evidenceParams>;
  vote: FromSchema<typeof voteParams>;
  justification: FromSchema<typeof justificationParams>;
  'vote-evidence': FromSchema<typeof voteEvidenceParams>;
  'checkpoint-request': FromSchema<typeof checkpointRequestParams>;
  'checkpoint-response': FromSchema<typeof checkpointResponseParams>;
  error: FromSchema<typeof errorParams>;
}

export type Params<O extends Operation> = ParamsByOperation[O];

export interface Envelope<O extends Operation = Operation> {
  clientId: string;
  reqId: string;
  date: string;
  operation: O;
  /** [DOMAIN-TX] the genesis hash of the chain it is signed for (every chain transaction carries it) */
  chain?: string;
  signature: string;
  parameters: Params<O>;
}

/** An envelope before signing. */
export type UnsignedEnvelope<O extends Operation = Operation> = Omit<Envelope<O>, 'signature'>;

/** Any decoded message, discriminated on `operation`. */
export type AnyEnvelope = { [O in Operation]: Envelope<O> }[Operation];

export type Energy = FromSchema<typeof energy>;
export type Price = FromSchema<typeof price>;
export type Interval = FromSchema<typeof interval>;
export type OpenBid = FromSchema<typeof openBid>;
export type SealedBid = FromSchema<typeof sealedBid>;
export type Award = FromSchema<typeof award>;
export type Exclusion = FromSchema<typeof exclusion>;
export type FeederLimit = FromSchema<typeof feederLimit>;
export type BlockHeader = FromSchema<typeof blockHeader>;
export type EmbeddedEnvelope = FromSchema<typeof embeddedEnvelope>;
export type SignedHeader = FromSchema<typeof signedHeader>;
/** The genesis file of a chain (not a wire message). */
export type GenesisConfig = FromSchema<typeof genesisConfig>;

export type BidOffer = Params<'bid-offer'>;
export type BidReveal = Params<'bid-reveal'>;
export type MarketOrder = Params<'market-order'>;
export type MarketReveal = Params<'market-reveal'>;
export type MarketResult = Params<'market-result'>;
export type AuctionOpen = Params<'auction-open'>;
export type AuctionClose = Params<'auction-close'>;
export type AuctionResult = Params<'auction-result'>;
export type MeterReading = Params<'meter-reading'>;
export type HomeState = Params<'state'>;
export type Schedule = Params<'schedule'>;
export type Certificate = Params<'certificate'>;
export type Revocation = Params<'revocation'>;
/** [FEEDER-1] a feeder's limits signed by the registry (GET /v1/feeders; the `feeder-limit` transaction) */
export type SignedFeederLimit = Params<'feeder-limit'>;
export type Transfer = Params<'transfer'>;
export type ErrorParams = Params<'error'>;
export type BlockParams = Params<'block'>;
export type TxParams = Params<'tx'>;
export type SyncRequest = Params<'sync-request'>;
export type SyncResponse = Params<'sync-response'>;
export type Evidence = Params<'evidence'>;
/** [FIN] a checkpoint of the finality gadget: {round, height, hash} */
export type Checkpoint = FromSchema<typeof checkpoint>;
export type VoteParams = Params<'vote'>;
export type Justification = Params<'justification'>;
export type VoteSignature = FromSchema<typeof voteSignature>;
