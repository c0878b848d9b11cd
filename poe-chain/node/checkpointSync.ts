/**
 * [SYNC-C] Checkpoint sync (README "Checkpoint sync"): a new or wiped node starts from the
 * archive's final state instead of replaying the chain from genesis.
 *
 *   serve   a node with serveSync answers `checkpoint-request {nodeId}` on
 *           tmi/v1/chain/sync/request with `checkpoint-response` pieces on
 *           tmi/v1/chain/sync/response/{nodeId}: its final checkpoint, that block, the two
 *           justified links that made it final, and the state after the block (serialised, cut
 *           in pieces of ≤ 4 MiB); only while its final checkpoint has its votes at hand.
 *   fetch   the new node takes pieces signed by the genesis `aggregatorNodeKey` only (the
 *           archive it already trusts for the genesis file), and accepts the checkpoint only if
 *             - the state parses and its root is the block header's stateRoot, its tip is the block;
 *             - the block's hash and height are the checkpoint's;
 *             - the two links are J → checkpoint and checkpoint → round + 1, each with a quorum of
 *               the committee of the block's epoch (read from that state), every signature valid.
 *           It then writes a store that starts pruned at that block and records it as final;
 *           the node syncs the blocks above it as usual.
 * Trust: the committee that attests the checkpoint is read from the state being checked, so a
 * dishonest archive that forged a whole state with keys of its own could pass the vote check;
 * the signature of the genesis aggregatorNodeKey on every piece is what rules it out (weak
 * subjectivity: a node joining late trusts the archive as it trusts the genesis file).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { CHECKPOINT_PIECE_CHARS } from '../../schemas/chainOperations.js';
import type { Checkpoint, Envelope, Justification } from '../../schemas/types.js';
import { createCodec, signEnvelope } from '../../wire/codec.js';
import { WireError } from '../../wire/errors.js';
import type { KeyPair } from '../../wire/keys.js';
import { blockHash } from '../core/blockHash.js';
import { deserializeState, stateJsonPieces, stateRoot, type ChainState } from '../core/chainState.js';
import { committeeInForce, quorum, sameCheckpoint, voteEnvelope, voteSignatureValid } from '../core/finality.js';
import type { Genesis } from '../core/genesis.js';
import { chainCodec, type BlockEnvelope } from '../core/validateAndApplyBlock.js';
import { initChainStoreFromCheckpoint, type ChainDb } from '../store/openChainStore.js';
import type { BlockTree } from './blockTree.js';
import type { FinalityGadget } from './finalityGadget.js';
import type { NodeContext } from './nodeContext.js';
import { NODE_TOPICS } from './nodeTopics.js';
import { settlesWithin } from '../../wire/settlesWithin.js';

/**
 * [SYNC-C] one checkpoint per requester per this long: a whole state is megabytes to serialise
 * and send, and a home asking again and again would keep the archive doing nothing else (a
 * requester's checkpoint sync waits 30 s for its answer, so a rerun after a failed one is served)
 */
export const CHECKPOINT_COOLDOWN_MS = 30_000;

/** [SYNC-C-MEM] a piece the broker has not acknowledged within this ends the serving (the requester asks again) */
const CHECKPOINT_PIECE_ACK_MS = 30_000;

/**
 * [SYNC-C] The server: answers a checkpoint-request with its final checkpoint, that block, the
 * votes that made it final and its state, in pieces; one answer at a time (others dropped:
 * CHECKPOINT_UNAVAILABLE, like an answer it cannot give), and one per requester per
 * CHECKPOINT_COOLDOWN_MS (CHECKPOINT_TOO_SOON). The broker sees that a home names itself as
 * the requester [EDGE-12].
 */
export function createCheckpointServer(
  ctx: NodeContext,
  parts: { tree: BlockTree; finality: FinalityGadget },
  pieceChars = CHECKPOINT_PIECE_CHARS,
): (requester: string, requestReqId: string) => void {
  const { genesis: g, key, log, store } = ctx;
  let serving = false;
  const lastServed = new Map<string, number>();
  return (requester, requestReqId) => {
    const t = ctx.now();
    const last = lastServed.get(requester);
    if (last !== undefined && t - last < CHECKPOINT_COOLDOWN_MS) return ctx.drop('CHECKPOINT_TOO_SOON', NODE_TOPICS.syncRequest, requester);
    if (lastServed.size >= 4096) for (const [r, at] of lastServed) if (t - at >= CHECKPOINT_COOLDOWN_MS) lastServed.delete(r);
    const proof = parts.finality.finalProof();
    const at = proof !== undefined ? parts.tree.get(proof.checkpoint.hash) : undefined;
    if (proof === undefined || at === undefined || serving) return ctx.drop('CHECKPOINT_UNAVAILABLE', NODE_TOPICS.syncRequest, requester);
    serving = true;
    lastServed.set(requester, t);
    void (async () => {
      const block = at.block ?? (await store.blockByHash(at.hash));
      if (block === undefined) return ctx.drop('CHECKPOINT_UNAVAILABLE', NODE_TOPICS.syncRequest, requester);
      const pieces = checkpointPieces(requestReqId, proof.checkpoint, block, proof.links, at.state, pieceChars);
      // [SYNC-C-MEM] one piece at a time: the next is signed and encoded once the broker has
      // the one before. All at once, a 10,000-home checkpoint (67 MB in 16 pieces) had every
      // piece's canonical text, JSON and buffer in memory together: the serving process stood
      // ~230 MB higher for the seconds it took (45× soak)
      for (const p of pieces) {
        if (ctx.closed()) return;
        const env = signEnvelope(key, 'checkpoint-response', p, { chain: g.hash, reqId: ctx.newReqId() });
        if (!(await settlesWithin(ctx.publishAcked(NODE_TOPICS.syncResponse(requester), env), CHECKPOINT_PIECE_ACK_MS))) {
          throw new Error(`piece ${p.piece} not acknowledged within ${CHECKPOINT_PIECE_ACK_MS} ms`);
        }
      }
      log.info({ requester, height: proof.checkpoint.height, pieces: pieces.length }, 'checkpoint served');
    })()
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'checkpoint not served'))
      .finally(() => (serving = false));
  };
}

/** The pieces of a checkpoint-response answering `requestReqId`. */
export function checkpointPieces(
  requestReqId: string,
  checkpoint: Checkpoint,
  block: BlockEnvelope,
  links: [Justification, Justification],
  state: ChainState,
  pieceChars = CHECKPOINT_PIECE_CHARS,
): Envelope<'checkpoint-response'>['parameters'][] {
  const text = [...stateJsonPieces(state)].join('');
  const pieces = Math.max(1, Math.ceil(text.length / pieceChars));
  const out: Envelope<'checkpoint-response'>['parameters'][] = [];
  for (let i = 0; i < pieces; i++) {
    out.push({
      requestReqId,
      checkpoint,
      piece: i,
      pieces,
      ...(i === 0 ? { block: block as never, proof: links } : {}),
      state: text.slice(i * pieceChars, (i + 1) * pieceChars),
    });
  }
  return out;
}

export class CheckpointError extends Error {
  constructor(readonly code: 'BAD_CHECKPOINT' | 'NO_CHECKPOINT', reason: string) {
    super(`${code} ${reason}`);
  }
}

/** [SYNC-C] Checks an assembled checkpoint; returns the state and block, or throws BAD_CHECKPOINT with the reason. */
export function checkCheckpoint(g: Genesis, checkpoint: Checkpoint, blockValue: unknown, links: readonly Justification[], stateText: string): { state: ChainState; block: BlockEnvelope } {
  const bad = (reason: string) => new CheckpointError('BAD_CHECKPOINT', reason);
  let block: BlockEnvelope;
  try {
    const env = chainCodec().decodeValue(blockValue, { replayCheck: false });
    if (env.operation !== 'block') throw bad('not a block');
    block = env as BlockEnvelope;
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw bad(`block: ${(err as Error).message}`);
  }
  const h = block.parameters.header;
  if (blockHash(h) !== checkpoint.hash || h.height !== checkpoint.height) throw bad('the block is not the checkpoint\'s');
  let state: ChainState;
  try {
    state = deserializeState(JSON.parse(stateText));
  } catch (err) {
    throw bad(`state: ${(err as Error).message}`);
  }
  if (state.genesis.hash !== g.hash) throw bad('state of another chain');
  if (state.tipHash !== checkpoint.hash || state.meta.height !== h.height || stateRoot(state) !== h.stateRoot) throw bad('the state is not the one the block commits to');
  const [justifying, finalising] = links;
  if (justifying === undefined || finalising === undefined) throw bad('two links needed');
  if (!sameCheckpoint(justifying.target, checkpoint)) throw bad('the first link does not justify the checkpoint');
  if (!sameCheckpoint(finalising.source, checkpoint) || finalising.target.round !== checkpoint.round + 1) throw bad('the second link is not the adjacent link from the checkpoint');
  // [FIN-C] the committee in force in the checkpoint's state: it counts the justifying link. The
  // finalising link's target is the checkpoint or a later block whose state is not here: it is
  // checked against the same committee, which is the one in force there unless that block's
  // chain finalised something new in between (then this check is an approximation)
  const committee = new Set(committeeInForce(state).members);
  const need = quorum(committee.size);
  for (const l of links) {
    const voters = new Set<string>();
    for (const v of l.votes) {
      if (!committee.has(v.voter) || voters.has(v.voter)) throw bad(`vote of ${v.voter}: not a member, or twice`);
      if (!voteSignatureValid(voteEnvelope(v, l, g.hash))) throw bad(`vote of ${v.voter}: bad signature`);
      voters.add(v.voter);
    }
    if (voters.size < need) throw bad(`${voters.size} votes, quorum ${need}`);
  }
  return { state, block };
}

export interface CheckpointSyncOptions {
  genesis: Genesis;
  /** a connected client logged in as nodeId (subscribes to its sync response topic) */
  mqtt: MqttClient;
  nodeId: string;
  /** signs the request */
  key: KeyPair;
  /** an empty chain database: written here once the checkpoint checks */
  db: ChainDb;
  log: Logger;
  /** give up after (default 30 s) */
  timeoutMs?: number;
}

export interface CheckpointSyncResult {
  checkpoint: Checkpoint;
  /** bytes of checkpoint-response payloads received */
  bytes: number;
  pieces: number;
  ms: number;
}

/** [SYNC-C] Asks the archive for its final checkpoint, checks it and writes the store. */
export async function checkpointSync(o: CheckpointSyncOptions): Promise<CheckpointSyncResult> {
  const g = o.genesis;
  const t0 = performance.now();
  const topic = NODE_TOPICS.syncResponse(o.nodeId);
  const codec = createCodec({ replayCheck: true });
  const request = signEnvelope(o.key, 'checkpoint-request', { nodeId: o.nodeId }, { chain: g.hash });
  let bytes = 0;
  let first: Envelope<'checkpoint-response'>['parameters'] | undefined;
  const pieces = new Map<number, string>();
  let done: (() => void) | undefined;
  const complete = new Promise<void>((resolve) => (done = resolve));
  const onMessage = (t: string, payload: Buffer) => {
    if (t !== topic) return;
    let env;
    try {
      env = codec.decode(payload);
    } catch (err) {
      if (err instanceof WireError) o.log.debug({ code: err.code }, 'checkpoint response dropped');
      return;
    }
    if (env.operation !== 'checkpoint-response') return;
    // the archive only: the genesis aggregatorNodeKey
    if (env.clientId !== g.aggregatorNodeKey) return o.log.warn({ from: env.clientId }, 'checkpoint response not from the aggregator node: ignored');
    const p = env.parameters;
    if (p.requestReqId !== request.reqId) return;
    if (first !== undefined && (!sameCheckpoint(first.checkpoint, p.checkpoint) || first.pieces !== p.pieces)) return;
    bytes += payload.length;
    if (p.piece === 0) first = p;
    pieces.set(p.piece, p.state);
    if (first !== undefined && pieces.size === first.pieces) done!();
  };
  o.mqtt.on('message', onMessage);
  try {
    await o.mqtt.subscribeAsync(topic, { qos: 1 });
    await o.mqtt.publishAsync(NODE_TOPICS.syncRequest, JSON.stringify(request), { qos: 1 });
    const timeout = o.timeoutMs ?? 30_000;
    const ac = new AbortController();
    const timedOut = await Promise.race([complete.then(() => false), delay(timeout, true, { signal: ac.signal }).catch(() => false)]);
    ac.abort();
    if (timedOut || first === undefined) throw new CheckpointError('NO_CHECKPOINT', `no complete answer from the aggregator node within ${timeout} ms`);
    const text = Array.from({ length: first.pieces }, (_, i) => pieces.get(i) ?? '').join('');
    const { state, block } = checkCheckpoint(g, first.checkpoint, first.block, first.proof ?? [], text);
    await initChainStoreFromCheckpoint(o.db, state, block, first.checkpoint);
    const r = { checkpoint: first.checkpoint, bytes, pieces: first.pieces, ms: Math.round(performance.now() - t0) };
    o.log.info(r, 'checkpoint sync: started from the final checkpoint');
    return r;
  } finally {
    // unsubscribed before the listener goes: without a listener the client holds every
    // incoming packet [LOGIN-Q], and a piece still in flight would hold the UNSUBACK for good
    await o.mqtt.unsubscribeAsync(topic).catch(() => undefined);
    o.mqtt.off('message', onMessage);
  }
}
