/**
 * Block import (DESIGN §7): a list of named steps (STYLE "named steps"), each a small
 * function that throws a coded BlockError. The input state is never mutated: the result
 * is a new state sharing every untouched part with it.
 *
 *   decodeBlock        the block envelope decodes (schema, envelope signature, replay off)
 *                      and is signed by the header's producer        BAD_ENCODING / BAD_SIGNATURE
 *   checkHeight        height = parent height + 1                      BAD_HEIGHT
 *   checkParent        parent = hash of the parent block               BAD_PARENT
 *   checkSlot          slot > parent slot, or [SUB] = parent slot as the next place (sub) of
 *                      the parent's run (< BLOCKS_PER_SLOT); slot start ≤ now + S
 *                                                                       BAD_SLOT / BAD_SUB / SLOT_IN_FUTURE
 *   checkEpoch         epoch = ⌊slot × S / interval⌋                   BAD_EPOCH
 *   checkProducer      producer = order[⌊(s − p − 1)/W⌋ mod n], order = ranking + aggregator node [LIVE]
 *                      ([SUB] p = the slot before the parent's run when s = the parent's slot)
 *                                                                       BAD_PRODUCER
 *   checkHeaderSignature  headerSignature by the producer, over this chain's genesis hash [DOMAIN]
 *                                                                       BAD_SIGNATURE
 *   checkSeedProof     the first block of an epoch carries the producer's VRF proof, no other does [SEED]
 *                                                                       BAD_SEED_PROOF
 *   checkTxRoot        ≤ maxTxsPerBlock txs; txRoot = Merkle root of their ids; no id twice
 *                                                                       TOO_MANY_TXS / BAD_TX_ROOT / DUPLICATE_TX
 *   checkHeartbeat     an empty block only as a heartbeat (s − p ≥ W) or to clear a due P2P market [REWARD]
 *                      (never at the parent's slot [SUB])                                EARLY_EMPTY_BLOCK
 *   applyTransactions  beginBlock; each tx decodes (codec, replay off) and applies
 *                      (signer authorised, valid against the state); endBlock
 *                                                                       BAD_TX / DUPLICATE_TX
 *   checkStateRoot     stateRoot = root of the resulting state         BAD_STATE_ROOT
 */
import type { Codec } from '../../wire/codec.js';
import { createCodec } from '../../wire/codec.js';
import { WireError } from '../../wire/errors.js';
import type { BlockHeader, Envelope } from '../../schemas/types.js';
import { applyTransaction } from './applyTransaction.js';
import { beginBlock, endBlock } from './blockLifecycle.js';
import { blockHash, verifyHeaderSignature } from './blockHash.js';
import { BlockError, TxError } from './chainError.js';
import { StateDraft, stateRoot, type ChainState } from './chainState.js';
import { electedProducer, emptyBlockAllowed, onlyJustifications, subForChild } from './electProducer.js';
import { previousSeed, verifySeed } from './epochSeed.js';
import { epochOfSlot, slotTime } from './genesis.js';
import { merkleRoot } from './merkleRoot.js';
import { rankingForEpoch } from './rankingForEpoch.js';
import { txId } from './txId.js';

export type BlockEnvelope = Envelope<'block'>;

/** A codec that may also know transaction ids (the node's verified codec computes each once per object). */
export interface ChainCodec extends Codec {
  idOf?(value: unknown): string;
}

export interface ApplyContext {
  /** the node's clock, ms; a block whose slot starts later than now + S is rejected */
  now: number;
  /** codec to decode with (shares its key cache); default: one per process, replay check off */
  codec?: ChainCodec;
}

export interface AppliedBlock {
  block: BlockEnvelope;
  hash: string;
  /** ids of its transactions, in block order */
  txIds: string[];
  state: ChainState;
}

let sharedCodec: Codec | undefined;
export function chainCodec(): Codec {
  return (sharedCodec ??= createCodec({ replayCheck: false }));
}

interface BlockInput {
  readonly parent: ChainState;
  readonly raw: unknown;
  readonly ctx: ApplyContext;
  readonly codec: ChainCodec;
  block?: BlockEnvelope;
  header?: BlockHeader;
  hash?: string;
  ranking?: readonly string[];
  newSeed?: string;
  txIds?: string[];
  state?: ChainState;
}

type BlockStep = (b: BlockInput) => void;

function heightOf(b: BlockInput): number | undefined {
  if (b.header) return b.header.height;
  const h = (b.raw as { parameters?: { header?: { height?: unknown } } } | null)?.parameters?.header?.height;
  return typeof h === 'number' ? h : undefined;
}

const decodeBlock: BlockStep = (b) => {
  let env;
  try {
    env = b.codec.decodeValue(b.raw, { replayCheck: false });
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    throw new BlockError({ code: err.code === 'BAD_SIGNATURE' ? 'BAD_SIGNATURE' : 'BAD_ENCODING', height: heightOf(b), reason: err.code, detail: err.message });
  }
  if (env.operation !== 'block') throw new BlockError({ code: 'BAD_ENCODING', height: heightOf(b), reason: 'not a block', operation: env.operation });
  const header = env.parameters.header;
  if (env.clientId !== header.producer) {
    throw new BlockError({ code: 'BAD_SIGNATURE', height: header.height, reason: 'envelope not signed by the producer', signer: env.clientId, producer: header.producer });
  }
  b.block = env;
  b.header = header;
  b.hash = blockHash(header);
};

const checkHeight: BlockStep = (b) => {
  const expected = b.parent.meta.height + 1;
  if (b.header!.height !== expected) throw new BlockError({ code: 'BAD_HEIGHT', height: b.header!.height, expected });
};

const checkParent: BlockStep = (b) => {
  if (b.header!.parent !== b.parent.tipHash) {
    throw new BlockError({ code: 'BAD_PARENT', height: b.header!.height, expected: b.parent.tipHash, got: b.header!.parent });
  }
};

const checkSlot: BlockStep = (b) => {
  const h = b.header!;
  const g = b.parent.genesis;
  // [POE-7.slot] after the parent's slot, or [SUB] at it as the next place of the parent's run
  // (a block at the parent's slot that does not name a place is not after the parent's slot)
  const sub = subForChild(b.parent, h.slot);
  if (sub === undefined || (sub > 0 && h.sub === undefined)) throw new BlockError({ code: 'BAD_SLOT', height: h.height, slot: h.slot, parentSlot: b.parent.meta.tipSlot });
  if ((h.sub ?? 0) !== sub) throw new BlockError({ code: 'BAD_SUB', height: h.height, slot: h.slot, expected: sub, got: h.sub ?? 0 });
  // [POE-7.clock] not ahead of the node's clock by more than one slot
  const start = slotTime(g, h.slot);
  if (start > b.ctx.now + g.slotMs) {
    throw new BlockError({ code: 'SLOT_IN_FUTURE', height: h.height, slot: h.slot, slotStart: new Date(start).toISOString(), now: new Date(b.ctx.now).toISOString() });
  }
};

const checkEpoch: BlockStep = (b) => {
  const expected = epochOfSlot(b.parent.genesis, b.header!.slot);
  if (b.header!.epoch !== expected) throw new BlockError({ code: 'BAD_EPOCH', height: b.header!.height, expected, got: b.header!.epoch });
};

const checkProducer: BlockStep = (b) => {
  const h = b.header!;
  const { ranking } = rankingForEpoch(b.parent, h.epoch);
  // [CENSOR] the inclusion window; else [LIVE] the ranking, then the aggregator's node,
  // [POE-7.3] producer = order[⌊(s − p − 1)/W⌋ mod n]
  const expected = electedProducer(b.parent, h.slot, ranking);
  if (h.producer !== expected) throw new BlockError({ code: 'BAD_PRODUCER', height: h.height, expected, got: h.producer });
  b.ranking = ranking;
};

const checkHeaderSignature: BlockStep = (b) => {
  // [DOMAIN] over this chain's genesis hash
  if (!verifyHeaderSignature({ header: b.header!, headerSignature: b.block!.parameters.headerSignature }, b.parent.genesis.hash)) {
    throw new BlockError({ code: 'BAD_SIGNATURE', height: b.header!.height, reason: 'header signature' });
  }
};

const checkSeedProof: BlockStep = (b) => {
  const h = b.header!;
  const m = b.parent.meta;
  const first = h.epoch > m.rankingEpoch;
  // [SEED] exactly the first block of an epoch carries a proof
  if (!first) {
    if (h.seedProof !== undefined) throw new BlockError({ code: 'BAD_SEED_PROOF', height: h.height, reason: 'not the first block of its epoch' });
    return;
  }
  if (h.seedProof === undefined) throw new BlockError({ code: 'BAD_SEED_PROOF', height: h.height, reason: 'missing in the first block of an epoch' });
  const seed = verifySeed(h.producer, h.seedProof, b.parent.genesis.hash, h.epoch, previousSeed(m));
  if (seed === undefined) throw new BlockError({ code: 'BAD_SEED_PROOF', height: h.height, reason: 'does not verify' });
  b.newSeed = seed;
};

const checkTxRoot: BlockStep = (b) => {
  const txs = b.block!.parameters.txs;
  const h = b.header!;
  if (txs.length > b.parent.genesis.maxTxsPerBlock) throw new BlockError({ code: 'TOO_MANY_TXS', height: h.height, count: txs.length, max: b.parent.genesis.maxTxsPerBlock });
  const idOf = b.codec.idOf ?? txId;
  const ids = txs.map((t) => idOf(t));
  const root = merkleRoot(ids);
  if (root !== h.txRoot) throw new BlockError({ code: 'BAD_TX_ROOT', height: h.height, expected: root, got: h.txRoot });
  const seen = new Set<string>();
  ids.forEach((id, index) => {
    if (seen.has(id)) throw new BlockError({ code: 'DUPLICATE_TX', height: h.height, index, txId: id });
    seen.add(id);
  });
  b.txIds = ids;
};

const checkHeartbeat: BlockStep = (b) => {
  const h = b.header!;
  // [REWARD] an empty block is valid only as a heartbeat, at least W slots after its parent, or when it clears a P2P market [MKT-GATE];
  // [FIN-J] a block of justifications alone counts as empty
  if (onlyJustifications(b.block!.parameters.txs) && !emptyBlockAllowed(b.parent, h.slot)) {
    throw new BlockError({ code: 'EARLY_EMPTY_BLOCK', height: h.height, slot: h.slot, parentSlot: b.parent.meta.tipSlot, patience: b.parent.genesis.patience });
  }
};

const applyTransactions: BlockStep = (b) => {
  const h = b.header!;
  const g = b.parent.genesis;
  const time = slotTime(g, h.slot);
  const d = new StateDraft(b.parent);
  beginBlock(d, { epoch: h.epoch, time, parentHash: b.parent.tipHash, ...(b.ranking !== undefined ? { ranking: b.ranking } : {}), ...(b.newSeed !== undefined ? { newSeed: b.newSeed } : {}) });
  const txs = b.block!.parameters.txs;
  for (let index = 0; index < txs.length; index++) {
    const id = b.txIds![index]!;
    try {
      const env = b.codec.decodeValue(txs[index], { replayCheck: false });
      applyTransaction(env, { draft: d, height: h.height, slot: h.slot, time, index, txId: id });
    } catch (err) {
      if (err instanceof WireError) throw new BlockError({ code: 'BAD_TX', height: h.height, index, txId: id, reason: err.code, detail: err.message });
      if (err instanceof TxError) {
        throw new BlockError({ code: err.code === 'DUPLICATE_TX' ? 'DUPLICATE_TX' : 'BAD_TX', height: h.height, index, txId: id, reason: err.code, detail: err.message });
      }
      throw err;
    }
  }
  endBlock(d, { height: h.height, slot: h.slot, sub: h.sub ?? 0, time, producer: h.producer });
  b.state = d.finish(b.hash!);
};

const checkStateRoot: BlockStep = (b) => {
  const root = stateRoot(b.state!);
  if (root !== b.header!.stateRoot) throw new BlockError({ code: 'BAD_STATE_ROOT', height: b.header!.height, expected: root, got: b.header!.stateRoot });
};

/** The import steps, in order. Exported so that tests and docs can list them. */
export const BLOCK_STEPS: readonly { name: string; run: BlockStep }[] = [
  { name: 'decodeBlock', run: decodeBlock },
  { name: 'checkHeight', run: checkHeight },
  { name: 'checkParent', run: checkParent },
  { name: 'checkSlot', run: checkSlot },
  { name: 'checkEpoch', run: checkEpoch },
  { name: 'checkProducer', run: checkProducer },
  { name: 'checkHeaderSignature', run: checkHeaderSignature },
  { name: 'checkSeedProof', run: checkSeedProof },
  { name: 'checkTxRoot', run: checkTxRoot },
  { name: 'checkHeartbeat', run: checkHeartbeat },
  { name: 'applyTransactions', run: applyTransactions },
  { name: 'checkStateRoot', run: checkStateRoot },
];

/** Validates `block` (any JSON value) as the child of `state` and returns the new state. Throws BlockError. */
export function validateAndApplyBlock(state: ChainState, block: unknown, ctx: ApplyContext): AppliedBlock {
  const b: BlockInput = { parent: state, raw: block, ctx, codec: ctx.codec ?? chainCodec() };
  for (const step of BLOCK_STEPS) step.run(b);
  return { block: b.block!, hash: b.hash!, txIds: b.txIds!, state: b.state! };
}

/** Alias: the state transition function of the chain. */
export const applyBlock = validateAndApplyBlock;
