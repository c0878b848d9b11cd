/**
 * The wire envelope (DESIGN §2) and the table of operations. This file is the one
 * source of the ajv validators (validators.ts) and of the TypeScript types (types.ts).
 */
import { chain, clientId, isoDate, reqId, signature } from './common.js';
import {
  auctionCloseParams, auctionOpenParams, auctionResultParams, bidOfferParams, bidRevealParams, certificateParams,
  errorParams, feederLimitParams, marketOrderParams, marketResultParams, marketRevealParams, meterReadingParams, revocationParams, scheduleParams, stateParams, transferParams,
} from './operations.js';
import { blockParams, checkpointRequestParams, checkpointResponseParams, evidenceParams, justificationParams, syncRequestParams, syncResponseParams, txParams, voteEvidenceParams, voteParams } from './chainOperations.js';

/** Default maximum size of one message in bytes (DESIGN §2). */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024;

/**
 * Every operation: its parameters schema and its own size limit. Blocks and sync
 * responses carry many transactions and get a larger limit.
 */
export const operations = {
  state: { params: stateParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
  'meter-reading': { params: meterReadingParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
  'bid-offer': { params: bidOfferParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
  'bid-reveal': { params: bidRevealParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
  'market-order': { params: marketOrderParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
  'market-reveal': { params: marketRevealParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
  'market-result': { params: marketResultParams, maxBytes: 16 * 1024 * 1024 },
  'auction-open': { params: auctionOpenParams, maxBytes: 256 * 1024 },
  'auction-close': { params: auctionCloseParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
  'auction-result': { params: auctionResultParams, maxBytes: 16 * 1024 * 1024 },
  schedule: { params: scheduleParams, maxBytes: 64 * 1024 },
  certificate: { params: certificateParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
  revocation: { params: revocationParams, maxBytes: 128 * 1024 },
  'feeder-limit': { params: feederLimitParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
  transfer: { params: transferParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
  tx: { params: txParams, maxBytes: 64 * 1024 },
  block: { params: blockParams, maxBytes: 16 * 1024 * 1024 },
  'sync-request': { params: syncRequestParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
  'sync-response': { params: syncResponseParams, maxBytes: 32 * 1024 * 1024 },
  evidence: { params: evidenceParams, maxBytes: 32 * 1024 * 1024 },
  vote: { params: voteParams, maxBytes: 2 * 1024 },
  justification: { params: justificationParams, maxBytes: 64 * 1024 },
  'vote-evidence': { params: voteEvidenceParams, maxBytes: 8 * 1024 },
  'checkpoint-request': { params: checkpointRequestParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
  'checkpoint-response': { params: checkpointResponseParams, maxBytes: 8 * 1024 * 1024 },
  error: { params: errorParams, maxBytes: DEFAULT_MAX_MESSAGE_BYTES },
} as const;

export type Operation = keyof typeof operations;
export const OPERATIONS = Object.keys(operations) as Operation[];

/** The largest limit of any operation: nothing bigger is even parsed. */
export const MAX_ANY_MESSAGE_BYTES = Math.max(...OPERATIONS.map((o) => operations[o].maxBytes));

/** Envelope with parameters left open: checked first, to learn the operation. */
export const envelopeHeader = {
  type: 'object',
  additionalProperties: false,
  required: ['clientId', 'reqId', 'date', 'operation', 'signature', 'parameters'],
  properties: {
    clientId,
    reqId,
    date: isoDate,
    operation: { type: 'string', enum: OPERATIONS as unknown as readonly string[] },
    chain,
    signature,
    parameters: { type: 'object' },
  },
} as const;

/** The full envelope schema of one operation. */
export function envelopeSchema<O extends Operation>(op: O) {
  return {
    $id: `https://tmi.energy/schemas/v1/${op}.json`,
    title: `tmi/v1 ${op} message`,
    type: 'object',
    additionalProperties: false,
    required: ['clientId', 'reqId', 'date', 'operation', 'signature', 'parameters'],
    properties: {
      clientId,
      reqId,
      date: isoDate,
      operation: { type: 'string', const: op },
      chain,
      signature,
      parameters: operations[op].params,
    },
  } as const;
}
