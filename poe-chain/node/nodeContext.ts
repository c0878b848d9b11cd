/**
 * What the chain node's steps share (README "Files"): the context each step is given —
 * the store, the mempool, the single work queue, the clock, the logger, publish — and the
 * types of the events and counters they report. No step reaches into another's closure:
 * they call each other through the small interfaces createChainNode.ts wires together.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { newReqId, signEnvelope } from '../../wire/codec.js';
import { operations } from '../../schemas/envelope.js';
import type { KeyPair } from '../../wire/keys.js';
import type { Checkpoint, Envelope, Evidence } from '../../schemas/types.js';
import type { TxEnvelope } from '../core/applyTransaction.js';
import type { TipInfo } from '../core/forkChoice.js';
import type { Genesis } from '../core/genesis.js';
import type { AppliedBlock } from '../core/validateAndApplyBlock.js';
import type { ChainStore } from '../store/openChainStore.js';
import type { PendingTxEvent } from './chainViews.js';
import type { Mempool } from './mempool.js';
import type { VerifiedCodec } from './verifiedCodec.js';
import { NODE_TOPICS } from './nodeTopics.js';

export type BlockSource = 'produced' | 'gossip' | 'sync' | 'reorg';

export interface NodeBlockEvent extends AppliedBlock {
  height: number;
  source: BlockSource;
  /** local clock when the block became part of the head chain */
  at: number;
}

export interface ReorgEvent {
  from: TipInfo;
  to: TipInfo;
  forkHeight: number;
  orphaned: string[];
  adopted: string[];
}

export interface RejectedBlockEvent {
  hash?: string;
  height?: number;
  producer?: string;
  code: string;
  message: string;
  source: BlockSource;
}

export type ImportOutcome = 'applied' | 'side' | 'duplicate' | 'orphan' | 'held' | 'below-final' | 'rejected';

/** Cumulative timings of the node's work queue: what an operator reads when the chain lags. */
export interface WorkTimings {
  /** blocks this node produced: choosing candidates, building (applying) them, storing */
  produce: { blocks: number; txs: number; candidatesMs: number; buildMs: number; storeMs: number };
  /** blocks imported from gossip or sync (decode, apply, store; duplicates included) */
  import: { blocks: number; ms: number };
  /** slot work: time from the slot timer firing to the work starting (the queue ahead of it) */
  slotQueue: { runs: number; waitMs: number; maxWaitMs: number };
}

export interface ChainNodeEvents {
  block: [NodeBlockEvent];
  /** each transaction admitted to the mempool (a service in the same process reads them here instead of over MQTT) */
  pending: [PendingTxEvent];
  reorg: [ReorgEvent];
  rejected: [RejectedBlockEvent];
  evidence: [Evidence];
  /** [NODE-fin] this node's final checkpoint moved: it and its ancestors never revert (at = local clock) */
  final: [FinalEvent];
  /** [FIN-E] a committee member signed two votes that break a voting rule */
  voteEvidence: [{ voter: string; why: 'double' | 'surround'; a: Envelope<'vote'>; b: Envelope<'vote'> }];
}

export interface FinalEvent extends Checkpoint {
  at: number;
}

/** The node's counters that stats() reports as they are. */
export interface NodeCounters {
  produced: number;
  /** [SUB] of those, blocks at a place > 0 of their slot */
  subBlocks: number;
  imported: number;
  reorgs: number;
  evidenceSubmitted: number;
  /** [MP-13] transactions sent to the peers again */
  regossiped: number;
}

/**
 * Where the node's timers and deferred work run: the real ones by default; a simulator
 * (../sim) gives virtual ones, so that one seed replays a whole network exactly.
 */
export interface NodeScheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** runs `fn` after the event loop has had its turn */
  setImmediate(fn: () => void): void;
  /** monotonic milliseconds that bound a slice of admission work (admissionQueue.ts) */
  monotonic(): number;
}

export const REAL_SCHEDULER: NodeScheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setImmediate: (fn) => void setImmediate(fn),
  monotonic: () => performance.now(),
};

export const RANDOM_REQ_IDS: () => string = newReqId;

/** What every step of the node is given. */
export interface NodeContext {
  readonly genesis: Genesis;
  /** the node's key: signs its blocks and messages */
  readonly key: KeyPair;
  readonly nodeId: string;
  readonly store: ChainStore;
  readonly mempool: Mempool;
  /** transactions and blocks, without the replay guard; remembers what it verified */
  readonly txCodec: VerifiedCodec;
  readonly now: () => number;
  /** timers and deferred work (REAL_SCHEDULER unless injected) */
  readonly scheduler: NodeScheduler;
  /** the reqId of each envelope the node signs (random unless injected) */
  readonly newReqId: () => string;
  readonly log: Logger;
  /** the ChainNode's events (ChainNodeEvents) */
  readonly events: EventEmitter;
  /** the single work queue: everything that touches the head runs through it */
  readonly queue: WorkQueue;
  /** publishes a message (QoS 1); nothing once the node is closed */
  publish(topic: string, env: object): void;
  /**
   * [SYNC-C-MEM] publishes a message (QoS 1) and resolves once the broker acknowledged it;
   * rejects if it could not be sent, or once the node is closed
   */
  publishAcked(topic: string, env: object): Promise<void>;
  /** true once close() was called */
  closed(): boolean;
  /** counts a dropped message by code (stats().droppedMessages) */
  drop(code: string, topic: string, detail?: string): void;
  readonly counters: NodeCounters;
  readonly work: WorkTimings;
  readonly rejectedBlocks: Record<string, number>;
  readonly droppedMessages: Record<string, number>;
}

/** One serial queue of async work: a task starts when the one before it has settled. */
export interface WorkQueue {
  /** queues `fn`; a failure is logged (`what`) and resolves undefined */
  enqueue<T>(what: string, fn: () => Promise<T>): Promise<T | undefined>;
  /** resolves when the work queued so far, and any it queued meanwhile, is done */
  drained(): Promise<void>;
}

export function createWorkQueue(log: Logger): WorkQueue {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    enqueue<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
      const run = queue.then(fn).catch((err: unknown) => {
        log.error({ err: (err as Error).message, stack: (err as Error).stack, what }, 'chain node task failed');
        return undefined;
      });
      queue = run;
      return run;
    },
    async drained(): Promise<void> {
      let q: Promise<unknown>;
      do {
        q = queue;
        await q;
      } while (q !== queue);
    },
  };
}

export function bump(rec: Record<string, number>, code: string): void {
  rec[code] = (rec[code] ?? 0) + 1;
}

/** true at most once per `ms` (warnings about a condition that lasts) */
export function every(now: () => number, ms: number): () => boolean {
  let at = Number.NEGATIVE_INFINITY;
  return () => {
    if (now() - at < ms) return false;
    at = now();
    return true;
  };
}

/**
 * Sends a transaction to the peers, wrapped in a `tx` envelope signed by this node (with
 * its reqId, for the peers' replay guard). False when the wrapper would exceed the `tx`
 * operation's size limit: the transaction then stays with this node alone.
 */
export function gossipTx(ctx: NodeContext, tx: TxEnvelope | Envelope): boolean {
  const wrapped = signEnvelope(ctx.key, 'tx', { tx: tx as Envelope<'tx'>['parameters']['tx'] }, { date: new Date(ctx.now()), reqId: ctx.newReqId() });
  if (Buffer.byteLength(JSON.stringify(wrapped), 'utf8') > operations.tx.maxBytes) return false;
  ctx.publish(NODE_TOPICS.txs, wrapped);
  return true;
}
