/**
 * Block production: select the valid candidates, apply them, compute the roots, sign.
 * A candidate that does not decode, repeats an id or fails its checks is left out with
 * its reason (each transaction is applied atomically: a failing one leaves no trace).
 */
import { signEnvelope, type Codec } from '../../wire/codec.js';
import { WireError } from '../../wire/errors.js';
import type { KeyPair } from '../../wire/keys.js';
import type { BlockHeader, EmbeddedEnvelope } from '../../schemas/types.js';
import { applyTransaction } from './applyTransaction.js';
import { beginBlock, endBlock } from './blockLifecycle.js';
import { blockHash, signHeader } from './blockHash.js';
import { BlockError, TxError } from './chainError.js';
import { StateDraft, stateRoot, withTipHash, type ChainState } from './chainState.js';
import { electedProducer, emptyBlockAllowed, onlyJustifications, subForChild } from './electProducer.js';
import { previousSeed, proveSeed } from './epochSeed.js';
import { epochOfSlot, slotTime } from './genesis.js';
import { merkleRoot } from './merkleRoot.js';
import { rankingForEpoch } from './rankingForEpoch.js';
import { txId } from './txId.js';
import { chainCodec, type AppliedBlock, type ChainCodec } from './validateAndApplyBlock.js';

export interface RejectedTx {
  /** index in the candidate list */
  index: number;
  txId?: string;
  code: string;
  message: string;
}

export interface BuiltBlock extends AppliedBlock {
  rejected: RejectedTx[];
}

/**
 * [REWARD] No candidate was valid and the slot is not a heartbeat: there is no block to
 * make. Carries the candidates left out, so that a node can still drop them.
 */
export class EarlyEmptyBlockError extends BlockError {
  constructor(ctx: { height: number; slot: number; parentSlot: number; patience: number }, readonly rejected: RejectedTx[]) {
    super({ code: 'EARLY_EMPTY_BLOCK', ...ctx });
  }
}

export interface BuildOptions {
  /** at most this many transactions (default and cap: genesis maxTxsPerBlock) */
  maxTxs?: number;
  codec?: ChainCodec;
}

/**
 * Builds the child of `state` at `slot` (a slot after the tip's, or [SUB] the tip's own for
 * the next block of its run), signed by `producerKey`. Throws BlockError
 * BAD_SLOT / SLOT_IN_FUTURE / BAD_PRODUCER when this key may not produce that block, and
 * EARLY_EMPTY_BLOCK when no candidate is valid and the slot is not a heartbeat [REWARD].
 */
export function buildBlock(state: ChainState, candidates: readonly unknown[], producerKey: KeyPair, slot: number, now: number, opts: BuildOptions = {}): BuiltBlock {
  const g = state.genesis;
  const height = state.meta.height + 1;
  // [SUB] after the parent's slot, or at it as the next place of the parent's run
  const sub = subForChild(state, slot);
  if (sub === undefined) throw new BlockError({ code: 'BAD_SLOT', height, slot, parentSlot: state.meta.tipSlot });
  const time = slotTime(g, slot);
  if (time > now + g.slotMs) throw new BlockError({ code: 'SLOT_IN_FUTURE', height, slot });
  const epoch = epochOfSlot(g, slot);
  const { ranking } = rankingForEpoch(state, epoch);
  const producer = electedProducer(state, slot, ranking);
  if (producer !== producerKey.address) throw new BlockError({ code: 'BAD_PRODUCER', height, expected: producer, got: producerKey.address });
  // [SEED] the first block of an epoch carries the producer's VRF proof
  const seeded = epoch > state.meta.rankingEpoch ? proveSeed(producerKey.seed, g.hash, epoch, previousSeed(state.meta)) : undefined;

  const codec: ChainCodec = opts.codec ?? chainCodec();
  const idOf = codec.idOf ?? txId;
  const max = Math.min(opts.maxTxs ?? g.maxTxsPerBlock, g.maxTxsPerBlock);
  const d = new StateDraft(state);
  beginBlock(d, { epoch, time, parentHash: state.tipHash, ranking, ...(seeded ? { newSeed: seeded.seed } : {}) });
  const included: EmbeddedEnvelope[] = [];
  const ids: string[] = [];
  const inBlock = new Set<string>();
  const rejected: RejectedTx[] = [];
  for (let i = 0; i < candidates.length && included.length < max; i++) {
    const cand = candidates[i];
    let id: string | undefined;
    try {
      id = idOf(cand);
      if (inBlock.has(id)) throw new TxError('DUPLICATE_TX', { txId: id });
      const env = codec.decodeValue(cand, { replayCheck: false });
      d.begin();
      try {
        applyTransaction(env, { draft: d, height, slot, time, index: included.length, txId: id });
        d.commit();
      } catch (err) {
        d.rollback();
        throw err;
      }
      included.push(cand as EmbeddedEnvelope);
      ids.push(id);
      inBlock.add(id);
    } catch (err) {
      const code = err instanceof TxError || err instanceof WireError ? err.code : 'INTERNAL';
      rejected.push({ index: i, ...(id !== undefined ? { txId: id } : {}), code, message: err instanceof Error ? err.message : String(err) });
    }
  }
  if (onlyJustifications(included) && !emptyBlockAllowed(state, slot)) {
    throw new EarlyEmptyBlockError({ height, slot, parentSlot: state.meta.tipSlot, patience: g.patience }, rejected);
  }
  endBlock(d, { height, slot, sub, time, producer });
  const next = d.finish(state.tipHash);
  const header: BlockHeader = {
    height,
    slot,
    epoch,
    parent: state.tipHash,
    producer,
    txRoot: merkleRoot(ids),
    stateRoot: stateRoot(next),
    ...(sub > 0 ? { sub } : {}),
    ...(seeded ? { seedProof: seeded.proof } : {}),
  };
  const hash = blockHash(header);
  const block = signEnvelope(
    producerKey,
    'block',
    { header, headerSignature: signHeader(producerKey, header, g.hash), txs: included },
    { date: new Date(time).toISOString(), reqId: Buffer.from(hash, 'hex').subarray(0, 16).toString('base64url') },
  );
  return { block, hash, txIds: ids, state: withTipHash(next, hash), rejected };
}
