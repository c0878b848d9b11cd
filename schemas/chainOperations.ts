/**
 * Parameters of chain operations (DESIGN §2, §3, §7). A chain transaction is itself a
 * signed envelope of a transaction operation; a block carries them as plain objects and
 * every node re-decodes each one with the codec.
 */
import { address, hash, height, id, reqId } from './common.js';

/** A signed envelope carried inside another message; decoded again by the receiver. */
export const embeddedEnvelope = {
  type: 'object',
  required: ['clientId', 'reqId', 'date', 'operation', 'signature', 'parameters'],
  properties: {
    clientId: { type: 'string', maxLength: 128 },
    reqId: { type: 'string', maxLength: 64 },
    date: { type: 'string', maxLength: 24 },
    operation: { type: 'string', maxLength: 32 },
    signature: { type: 'string', maxLength: 88 },
    parameters: { type: 'object' },
  },
  additionalProperties: false,
} as const;

export const txParams = {
  type: 'object',
  additionalProperties: false,
  required: ['tx'],
  properties: { tx: embeddedEnvelope },
} as const;

export const blockHeader = {
  type: 'object',
  additionalProperties: false,
  required: ['height', 'slot', 'epoch', 'parent', 'producer', 'txRoot', 'stateRoot'],
  properties: {
    height,
    slot: height,
    epoch: height,
    parent: hash,
    producer: address,
    txRoot: hash,
    stateRoot: hash,
  },
} as const;

export const blockParams = {
  type: 'object',
  additionalProperties: false,
  required: ['header', 'txs'],
  properties: {
    header: blockHeader,
    txs: { type: 'array', maxItems: 20_000, items: embeddedEnvelope },
  },
} as const;

export const syncRequestParams = {
  type: 'object',
  additionalProperties: false,
  required: ['nodeId', 'fromHeight'],
  properties: {
    nodeId: id,
    fromHeight: height,
    maxBlocks: { type: 'integer', minimum: 1, maximum: 1000 },
  },
} as const;

export const syncResponseParams = {
  type: 'object',
  additionalProperties: false,
  required: ['requestReqId', 'blocks', 'tipHeight'],
  properties: {
    requestReqId: reqId,
    tipHeight: height,
    /** signed block envelopes */
    blocks: { type: 'array', maxItems: 1000, items: embeddedEnvelope },
  },
} as const;

/** Two headers signed by one producer for one slot (DESIGN §7). */
export const evidenceParams = {
  type: 'object',
  additionalProperties: false,
  required: ['producer', 'slot', 'blockA', 'blockB'],
  properties: {
    producer: address,
    slot: height,
    blockA: embeddedEnvelope,
    blockB: embeddedEnvelope,
  },
} as const;
