/**
 * The networked PoE chain node (DESIGN §3, §7; README in this folder): the pure core
 * (../core) and the level store (../store) driven by MQTT messages and a slot clock.
 *
 *   admission    [NODE-admit] transactions from tmi/v1/auctions/+, tmi/v1/auctions/+/bids,
 *                tmi/v1/readings and tmi/v1/chain/txs wait in two lanes (admissionQueue.ts),
 *                bids and auctions ahead of readings, and enter the mempool (mempool.ts)
 *                a slice at a time
 *   journal      [NODE-J] each received transaction is kept in the store until it is on
 *                chain or refused, and admitted again at start (txJournal.ts)
 *   slot loop    [NODE-slot] at each slot boundary: release held blocks that are due,
 *                drive sync, and — when producing — build a block if this key is the
 *                producer for the slot on the head and there are pending transactions or
 *                W slots have passed since the parent (heartbeat)
 *   import       [NODE-import] named steps: decode, duplicate, equivocation watch, finality,
 *                parent (orphans wait and trigger a sync), clock (future blocks are held),
 *                validateAndApplyBlock against the parent's state, fork choice
 *   fork choice  [FC-1] [FC-2] bestTip/shouldSwitch against the head; a switch rewinds the
 *                store to the fork and appends the new branch; never below the final height
 *   sync         syncProtocol.ts
 *
 * Every change of the head (import, production, reorg, sync) runs in one serial queue,
 * so the store, the head and the mempool always agree. Everything slow is injected:
 * the store, the MQTT client, the clock, the logger.
 */
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { pino, type Logger } from 'pino';
import { createCodec, signEnvelope } from '../../wire/codec.js';
import { WireError } from '../../wire/errors.js';
import type { KeyPair } from '../../wire/keys.js';
import { operations, type Operation } from '../../schemas/envelope.js';
import type { AnyEnvelope, BlockHeader, Envelope, Evidence } from '../../schemas/types.js';
import type { ChainAuction, PendingTxEvent } from './chainViews.js';
import { blockHash, verifyHeaderSignature } from '../core/blockHash.js';
import { buildBlock, EarlyEmptyBlockError } from '../core/buildBlock.js';
import { TX_OPERATIONS, type TxEnvelope } from '../core/applyTransaction.js';
import { BlockError } from '../core/chainError.js';
import { stateRoot, type ChainState } from '../core/chainState.js';
import { emptyBlockAllowed, producerForSlot } from '../core/electProducer.js';
import { rankingForEpoch } from '../core/rankingForEpoch.js';
import { finalizedHeight, shouldSwitch, type TipInfo } from '../core/forkChoice.js';
import { epochOfSlot, inclusionWindowStart, inInclusionWindow, slotAt, slotTime, type Genesis } from '../core/genesis.js';
import { chainCodec, validateAndApplyBlock, type AppliedBlock, type BlockEnvelope } from '../core/validateAndApplyBlock.js';
import type { ChainStore, StoredTx } from '../store/openChainStore.js';
import { BlockTree, type TreeNode } from './blockTree.js';
import { auctionView, walletView, type WalletView } from './chainQueries.js';
import { EquivocationWatch } from './equivocationWatch.js';
import { createVerifiedCodec } from './verifiedCodec.js';
import { createTxVerifyPool, preverifyTxs } from './txVerifyPool.js';
import { AdmissionQueue, type AdmissionQueueStats } from './admissionQueue.js';
import { Mempool, type AdmitResult, type MempoolStats } from './mempool.js';
import { NO_JOURNAL, TxJournal } from './txJournal.js';
import { NODE_TOPICS, nodeRouteOf, type NodeRoute } from './nodeTopics.js';
import { PendingBlocks } from './pendingBlocks.js';
import { readSyncPage, SyncClient, SYNC_DEFAULTS, type SyncOptions } from './syncProtocol.js';

export type BlockSource = 'produced' | 'gossip' | 'sync' | 'reorg';

export interface ChainNodeOptions {
  genesis: Genesis;
  /** the node's key: produces blocks (a validator pseudonym or the aggregator node key) and signs its messages */
  key: KeyPair;
  store: ChainStore;
  /** a connected mqtt.js client; the node subscribes and publishes, the caller ends it */
  mqtt: MqttClient;
  /** the node's id in sync topics (its MQTT client id / meter id) */
  nodeId: string;
  now?: () => number;
  log?: Logger;
  /** build blocks when this key is elected (default false) */
  produce?: boolean;
  /** answer sync requests (default false) */
  serveSync?: boolean;
  mempoolLimit?: { count?: number; bytes?: number; perSigner?: number; attempts?: number };
  /** [NODE-J] keep received transactions in the store until on chain (default true) */
  journal?: boolean;
  /** [NODE-admit] high-water marks of the admission queue (default 20,000 messages, 16 MiB) */
  admissionLimit?: { highWater?: number; highWaterBytes?: number };
  /** most transactions per block (default and cap: genesis maxTxsPerBlock) */
  maxTxsPerBlock?: number;
  /**
   * [NODE-verify] worker threads that check the signatures of an imported block's
   * transactions beside the main thread (default 0: all on the main thread)
   */
  verifyThreads?: number;
  /** most bytes of transactions per block (default 8 MiB) */
  maxBlockBytes?: number;
  /** [NODE-future] blocks up to this many slots ahead are held until due; later ones refused (default 8) */
  holdSlots?: number;
  sync?: Partial<SyncOptions>;
  /** run the slot loop on timers (default true); false: the caller calls tick() */
  slotTimer?: boolean;
}

export interface ChainHeadInfo extends TipInfo {
  epoch: number;
  stateRoot: string;
  /** start of the head's slot, ISO */
  time: string;
  finalizedHeight: number;
  producer: string | null;
}

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

export interface ChainNodeStats {
  head: ChainHeadInfo;
  mempool: MempoolStats;
  /** [NODE-admit] received transactions waiting for admission */
  admission: AdmissionQueueStats;
  /** [NODE-J] transactions held in the journal until on chain, and failed journal writes */
  journal: { held: number; writeFailures: number };
  produced: number;
  imported: number;
  reorgs: number;
  rejectedBlocks: Record<string, number>;
  droppedMessages: Record<string, number>;
  evidenceSubmitted: number;
  tree: number;
  orphans: number;
  held: number;
  syncing: boolean;
  /** where the node's single work queue spends its time (ms, summed since start) */
  work: WorkTimings;
}

/** Cumulative timings of the node's work queue: what an operator reads when the chain lags. */
export interface WorkTimings {
  /** blocks this node produced: choosing candidates, building (applying) them, storing */
  produce: { blocks: number; txs: number; candidatesMs: number; buildMs: number; storeMs: number };
  /** blocks imported from gossip or sync (decode, apply, store; duplicates included) */
  import: { blocks: number; ms: number };
  /** slot work: time from the slot timer firing to the work starting (the queue ahead of it) */
  slotQueue: { runs: number; waitMs: number; maxWaitMs: number };
}

/** A transaction the mempool admitted: schema, signature and a trial application to the head passed. */
export type { PendingTxEvent } from './chainViews.js';

export interface ChainNodeEvents {
  block: [NodeBlockEvent];
  /** each transaction admitted to the mempool (a service in the same process reads them here instead of over MQTT) */
  pending: [PendingTxEvent];
  reorg: [ReorgEvent];
  rejected: [RejectedBlockEvent];
  evidence: [Evidence];
}

export interface ChainNode {
  readonly nodeId: string;
  readonly address: string;
  readonly genesis: Genesis;
  head(): ChainHeadInfo;
  /** the head state */
  state(): ChainState;
  /** the aggregator's view of an auction at the head (see chainViewOf) */
  auction(auctionId: string): ChainAuction | undefined;
  wallet(address: string): WalletView;
  /** where a transaction is on the canonical chain */
  tx(txId: string): Promise<StoredTx | undefined>;
  /** adds a signed transaction envelope to the mempool and, if admitted, gossips it on tmi/v1/chain/txs */
  submit(envelope: unknown): Promise<AdmitResult>;
  on<E extends keyof ChainNodeEvents>(event: E, listener: (...args: ChainNodeEvents[E]) => void): ChainNode;
  off<E extends keyof ChainNodeEvents>(event: E, listener: (...args: ChainNodeEvents[E]) => void): ChainNode;
  stats(): ChainNodeStats;
  /** runs the slot work for the clock's current slot (tests with slotTimer: false) */
  tick(): Promise<void>;
  /** resolves when the work queued so far is done */
  idle(): Promise<void>;
  /** stops timers and handlers and unsubscribes; the store and the MQTT client stay open (the caller owns them) */
  close(): Promise<void>;
}

const REPLAY_CTX_NOW = Number.MAX_SAFE_INTEGER;

function bump(rec: Record<string, number>, code: string): void {
  rec[code] = (rec[code] ?? 0) + 1;
}

export async function createChainNode(o: ChainNodeOptions): Promise<ChainNode> {
  const g = o.genesis;
  const { store, mqtt, key, nodeId } = o;
  if (store.genesis.hash !== g.hash) throw new Error(`GENESIS_MISMATCH stored=${store.genesis.hash} given=${g.hash}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(nodeId) || nodeId.length > 128) throw new Error(`BAD_NODE_ID nodeId=${nodeId}`);
  const now = o.now ?? Date.now;
  const log = (o.log ?? pino({ level: 'silent' })).child({ part: 'chain-node', nodeId });
  const produce = o.produce ?? false;
  const serveSync = o.serveSync ?? false;
  const maxTxs = Math.min(o.maxTxsPerBlock ?? g.maxTxsPerBlock, g.maxTxsPerBlock);
  const maxBlockBytes = Math.min(o.maxBlockBytes ?? 8 * 1024 * 1024, operations.block.maxBytes - 64 * 1024);
  const holdSlots = o.holdSlots ?? 8;
  const syncCfg = { ...SYNC_DEFAULTS, ...o.sync };
  const W = g.patience;

  // messages: wrappers and sync messages with the replay guard; transactions and blocks without
  const msgCodec = createCodec({ now, replayCheck: true });
  const txCodec = createVerifiedCodec(chainCodec());
  const verifyPool = (o.verifyThreads ?? 0) > 0 ? createTxVerifyPool(o.verifyThreads!) : undefined;
  const events = new EventEmitter();

  // ── head, tree, pools ─────────────────────────────────────────────────────
  const tree = new BlockTree();
  const pending = new PendingBlocks();
  const watch = new EquivocationWatch(g.hash);
  const sync = new SyncClient(syncCfg.timeoutMs, syncCfg.retries);
  const badBlocks = new Map<string, string>();
  const counters = { produced: 0, imported: 0, reorgs: 0, evidenceSubmitted: 0 };
  const work: WorkTimings = {
    produce: { blocks: 0, txs: 0, candidatesMs: 0, buildMs: 0, storeMs: 0 },
    import: { blocks: 0, ms: 0 },
    slotQueue: { runs: 0, waitMs: 0, maxWaitMs: 0 },
  };
  const rejectedBlocks: Record<string, number> = {};
  const droppedMessages: Record<string, number> = {};

  const startHead = store.head;
  const startBlock = startHead.height > 0 ? await store.blockAt(startHead.height) : undefined;
  let head: TreeNode = {
    hash: startHead.hash,
    height: startHead.height,
    slot: startHead.slot,
    parent: startBlock?.parameters.header.parent ?? '',
    ...(startBlock ? { block: startBlock } : {}),
    txIds: [],
    state: store.state,
  };
  tree.add(head);
  tree.setCanonical(head.height, head.hash);
  const journal = new TxJournal(o.journal === false ? NO_JOURNAL : store, (err) => log.error({ err: (err as Error).message }, 'journal write failed: received transactions may not survive a restart'));
  const mempool = new Mempool(head.state, {
    now,
    codec: txCodec,
    ...(o.mempoolLimit?.count !== undefined ? { maxCount: o.mempoolLimit.count } : {}),
    ...(o.mempoolLimit?.bytes !== undefined ? { maxBytes: o.mempoolLimit.bytes } : {}),
    ...(o.mempoolLimit?.perSigner !== undefined ? { maxPerSigner: o.mempoolLimit.perSigner } : {}),
    ...(o.mempoolLimit?.attempts !== undefined ? { maxAttempts: o.mempoolLimit.attempts } : {}),
    onRemove: (id) => journal.removed(id),
    onAdmit: (e) => {
      if (events.listenerCount('pending') === 0) return;
      try {
        events.emit('pending', { txId: e.id, envelope: e.env });
      } catch (err) {
        // a listener's failure is its own: the transaction stays admitted
        log.error({ err: (err as Error).message, txId: e.id }, 'pending listener failed');
      }
    },
  });
  // [NODE-slot] never produce twice in one slot, nor in the slot the node started in (a restart)
  let lastProducedSlot = Math.max(head.slot, slotAt(g, now()));
  let initialSyncDone = false;
  let closed = false;

  // ── the serial queue ──────────────────────────────────────────────────────
  let queue: Promise<unknown> = Promise.resolve();
  function enqueue<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    const run = queue.then(fn).catch((err: unknown) => {
      log.error({ err: (err as Error).message, stack: (err as Error).stack, what }, 'chain node task failed');
      return undefined;
    });
    queue = run;
    return run;
  }

  function publish(topic: string, env: object): void {
    if (closed) return;
    mqtt.publish(topic, JSON.stringify(env), { qos: 1 }, (err) => {
      if (err) log.warn({ topic, err: err.message }, 'publish failed');
    });
  }

  function headInfo(): ChainHeadInfo {
    return {
      height: head.height,
      hash: head.hash,
      slot: head.slot,
      epoch: epochOfSlot(g, head.slot),
      stateRoot: stateRoot(head.state),
      time: new Date(slotTime(g, head.slot)).toISOString(),
      finalizedHeight: finalizedHeight(head.height, g.finalityDepth),
      producer: head.block?.parameters.header.producer ?? null,
    };
  }

  function rejectBlock(e: RejectedBlockEvent): 'rejected' {
    bump(rejectedBlocks, e.code);
    if (e.hash !== undefined) {
      if (badBlocks.size >= 4096) badBlocks.delete(badBlocks.keys().next().value!);
      badBlocks.set(e.hash, e.code);
    }
    log.warn({ hash: e.hash, height: e.height, producer: e.producer, code: e.code, reason: e.message, source: e.source }, 'block rejected');
    events.emit('rejected', e);
    return 'rejected';
  }

  // ── head changes ──────────────────────────────────────────────────────────
  function appliedOf(n: TreeNode): AppliedBlock {
    return { block: n.block!, hash: n.hash, txIds: [...n.txIds], state: n.state };
  }

  function afterHeadChange(): void {
    mempool.setHead(head.state);
    const fin = finalizedHeight(head.height, g.finalityDepth);
    tree.prune(fin);
    pending.pruneBelow(fin);
    watch.pruneBefore(head.slot - 4 * g.finalityDepth * W);
  }

  function emitBlock(n: TreeNode, source: BlockSource): void {
    const ev: NodeBlockEvent = { ...appliedOf(n), height: n.height, source, at: now() };
    log[source === 'produced' || source === 'reorg' ? 'info' : 'debug'](
      { height: n.height, hash: n.hash, slot: n.slot, producer: n.block?.parameters.header.producer, txs: n.txIds.length, source },
      'head',
    );
    events.emit('block', ev);
  }

  async function extendHead(n: TreeNode, source: BlockSource): Promise<void> {
    try {
      await store.append(appliedOf(n));
    } catch (err) {
      tree.remove(n.hash); // not stored: let a later copy (gossip, sync) try again
      throw err;
    }
    tree.setCanonical(n.height, n.hash);
    head = n;
    mempool.setHead(n.state);
    mempool.removeIncluded(n.txIds);
    afterHeadChange();
    emitBlock(n, source);
  }

  async function isCanonical(n: { height: number; hash: string }): Promise<boolean> {
    const c = tree.canonicalAt(n.height);
    if (c !== undefined) return c === n.hash;
    return (await store.hashAt(n.height)) === n.hash;
  }

  /** Height of the last block a side branch ending at `tip` shares with the canonical chain. */
  async function forkHeightOf(tip: TreeNode): Promise<number> {
    let n: TreeNode = tip;
    for (;;) {
      const p = tree.get(n.parent);
      if (!p) return n.height - 1;
      if (await isCanonical(p)) return p.height;
      n = p;
    }
  }

  async function canonicalNodes(from: number, to: number): Promise<{ hash: string; txs: unknown[] }[]> {
    const out: { hash: string; txs: unknown[] }[] = [];
    for (let h = from; h <= to; h++) {
      const hash = tree.canonicalAt(h) ?? (await store.hashAt(h));
      if (hash === undefined) continue;
      const block = tree.get(hash)?.block ?? (await store.blockByHash(hash));
      out.push({ hash, txs: block ? [...block.parameters.txs] : [] });
    }
    return out;
  }

  /** [FC-1] [FC-2] switches the head to `tip`, whose branch leaves the canonical chain above forkHeight. */
  async function reorg(tip: TreeNode, forkHeight: number): Promise<void> {
    const from: TipInfo = { height: head.height, slot: head.slot, hash: head.hash };
    const branch = tree.branch(tip, forkHeight);
    const old = await canonicalNodes(forkHeight + 1, head.height);
    try {
      await store.rewindTo(forkHeight);
      tree.dropCanonicalAbove(forkHeight);
      for (const n of branch) {
        await store.append(appliedOf(n));
        tree.setCanonical(n.height, n.hash);
      }
    } catch (err) {
      log.error({ err: (err as Error).message, forkHeight, tip: tip.hash }, 'reorg failed: resuming from the store');
      await resumeFromStore();
      return;
    }
    head = tip;
    mempool.setHead(tip.state);
    const adoptedIds = new Set<string>();
    for (const n of branch) for (const id of n.txIds) adoptedIds.add(id);
    mempool.removeIncluded(adoptedIds);
    // [MP-10] transactions of the orphaned blocks, in chain order, minus those in the new branch
    const back = old.flatMap((b) => b.txs);
    const readded = mempool.readd(back);
    counters.reorgs++;
    afterHeadChange();
    const ev: ReorgEvent = { from, to: { height: tip.height, slot: tip.slot, hash: tip.hash }, forkHeight, orphaned: old.map((b) => b.hash), adopted: branch.map((n) => n.hash) };
    log.info({ ...ev, readded }, 'reorg');
    events.emit('reorg', ev);
    for (const n of branch) emitBlock(n, 'reorg');
  }

  /** After a failed store operation: the store's head is the truth. */
  async function resumeFromStore(): Promise<void> {
    const h = store.head;
    const known = tree.get(h.hash);
    const block = h.height > 0 ? await store.blockAt(h.height) : undefined;
    head = known ?? { hash: h.hash, height: h.height, slot: h.slot, parent: block?.parameters.header.parent ?? '', ...(block ? { block } : {}), txIds: [], state: store.state };
    tree.add(head);
    tree.dropCanonicalAbove(h.height);
    tree.setCanonical(h.height, h.hash);
    afterHeadChange();
  }

  /**
   * The state of the canonical block at `height` when the tree does not hold it (after a
   * restart): the store rewinds to it (its snapshot + replay) and the blocks above are
   * appended again, re-validated, so the tree holds them all. Only above the final height.
   */
  async function materialise(height: number): Promise<TreeNode> {
    const top = head.height;
    const above: BlockEnvelope[] = [];
    for (let h = height + 1; h <= top; h++) {
      const b = await store.blockAt(h);
      if (!b) throw new Error(`CORRUPT_DB reason=block missing height=${h}`);
      above.push(b);
    }
    const baseBlock = height > 0 ? await store.blockAt(height) : undefined;
    await store.rewindTo(height);
    const sh = store.head;
    let prev: TreeNode = { hash: sh.hash, height: sh.height, slot: sh.slot, parent: baseBlock?.parameters.header.parent ?? '', ...(baseBlock ? { block: baseBlock } : {}), txIds: [], state: store.state };
    const base = prev;
    tree.add(base);
    tree.dropCanonicalAbove(height);
    tree.setCanonical(height, base.hash);
    for (const b of above) {
      const a = validateAndApplyBlock(prev.state, b, { now: REPLAY_CTX_NOW, codec: txCodec });
      await store.append(a);
      const n: TreeNode = { hash: a.hash, height: b.parameters.header.height, slot: b.parameters.header.slot, parent: b.parameters.header.parent, block: a.block, txIds: a.txIds, state: a.state };
      tree.add(n);
      tree.setCanonical(n.height, n.hash);
      prev = n;
    }
    head = prev;
    mempool.setHead(head.state);
    log.info({ height, head: head.height }, 'states reloaded from the store');
    return base;
  }

  // ── block import ──────────────────────────────────────────────────────────
  function submitEvidence(ev: Evidence): void {
    if (head.state.sections.equivocators.has(ev.a.header.producer)) return;
    const env = signEnvelope(key, 'evidence', ev, { date: new Date(now()) });
    const r = mempool.admit(env);
    log.warn({ producer: ev.a.header.producer, slot: ev.a.header.slot, admitted: r.status, code: r.code }, 'equivocation: submitting evidence');
    if (r.status === 'admitted') {
      counters.evidenceSubmitted++;
      publish(NODE_TOPICS.txs, signEnvelope(key, 'tx', { tx: env }, { date: new Date(now()) }));
    }
    events.emit('evidence', ev);
  }

  /** [NODE-import] one block (any JSON value) from gossip or sync. Runs inside the queue. */
  async function importOne(raw: unknown, source: BlockSource): Promise<{ outcome: ImportOutcome; hash?: string; height?: number }> {
    // duplicate, before any work: a header already held means this block is held
    const peek = (raw as { parameters?: { header?: unknown } } | null)?.parameters?.header;
    if (typeof peek === 'object' && peek !== null) {
      try {
        const known = blockHash(peek as BlockHeader);
        if (tree.has(known) || pending.has(known)) return { outcome: 'duplicate', hash: known };
      } catch {
        // not canonicalisable: the decode below says why
      }
    }
    // decode: schema and envelope signature (the core checks them again, with the rest)
    let env: AnyEnvelope;
    try {
      env = txCodec.decodeValue(raw, { replayCheck: false });
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      rejectBlock({ code: err.code === 'BAD_SIGNATURE' ? 'BAD_SIGNATURE' : 'BAD_ENCODING', message: err.message, source });
      return { outcome: 'rejected' };
    }
    if (env.operation !== 'block') {
      rejectBlock({ code: 'BAD_ENCODING', message: `not a block: ${env.operation}`, source });
      return { outcome: 'rejected' };
    }
    const p = env.parameters;
    const h = p.header;
    const hash = blockHash(h);
    const at = { hash, height: h.height };
    // duplicate
    if (tree.has(hash) || pending.has(hash)) return { outcome: 'duplicate', ...at };
    const bad = badBlocks.get(hash);
    if (bad !== undefined) return { outcome: 'rejected', ...at };
    // equivocation watch: any header its producer signed
    if (verifyHeaderSignature(p, g.hash)) {
      const ev = watch.observe(p);
      if (ev) submitEvidence(ev);
    }
    // finality: nothing at or below the final height can change the chain
    const fin = finalizedHeight(head.height, g.finalityDepth);
    if (h.height <= head.height && (await isCanonical(at))) return { outcome: 'duplicate', ...at };
    if (h.height <= fin) return { outcome: 'below-final', ...at };
    // parent
    let parent = tree.get(h.parent);
    if (!parent && h.height - 1 >= fin && h.height - 1 <= head.height && (await isCanonical({ height: h.height - 1, hash: h.parent }))) {
      parent = await materialise(h.height - 1);
    }
    if (!parent) {
      pending.addOrphan({ hash, parent: h.parent, height: h.height, slot: h.slot, raw, source });
      log.debug({ ...at, parent: h.parent, source }, 'orphan block: parent unknown');
      if (source !== 'sync') requestSync(Math.min(head.height + 1, h.height), 'orphan');
      return { outcome: 'orphan', ...at };
    }
    // [NODE-future] the clock: ahead by more than one slot → held until due, or refused
    const t = now();
    if (slotTime(g, h.slot) > t + g.slotMs) {
      const ahead = h.slot - slotAt(g, t);
      if (ahead <= holdSlots && pending.hold({ hash, parent: h.parent, height: h.height, slot: h.slot, raw, source })) {
        log.debug({ ...at, slot: h.slot, ahead }, 'block from the future held until its slot');
        return { outcome: 'held', ...at };
      }
      rejectBlock({ ...at, producer: h.producer, code: 'SLOT_IN_FUTURE', message: `SLOT_IN_FUTURE slot=${h.slot} ahead=${ahead} holdSlots=${holdSlots}`, source });
      return { outcome: 'rejected', ...at };
    }
    // [NODE-verify] a large block's signatures are checked on every core first (pure speed:
    // the import steps below apply every rule whatever the pool found)
    const txs = (raw as { parameters?: { txs?: unknown } }).parameters?.txs;
    if (verifyPool && Array.isArray(txs) && txs.length >= 64) await preverifyTxs(verifyPool, txCodec, txs);
    // validation: the core's import steps against the parent's state
    let applied: AppliedBlock;
    try {
      applied = validateAndApplyBlock(parent.state, raw, { now: t, codec: txCodec });
    } catch (err) {
      if (!(err instanceof BlockError)) throw err;
      rejectBlock({ ...at, producer: h.producer, code: err.code, message: err.message, source });
      return { outcome: 'rejected', ...at };
    }
    counters.imported++;
    const n: TreeNode = { hash, height: h.height, slot: h.slot, parent: h.parent, block: applied.block, txIds: applied.txIds, state: applied.state };
    tree.add(n);
    // fork choice
    if (n.parent === head.hash) {
      await extendHead(n, source);
      return { outcome: 'applied', ...at };
    }
    const forkHeight = await forkHeightOf(n);
    if (shouldSwitch(head, n, forkHeight, g.finalityDepth)) {
      await reorg(n, forkHeight);
      return { outcome: 'applied', ...at };
    }
    log.debug({ ...at, forkHeight, head: head.height }, 'side branch block');
    return { outcome: 'side', ...at };
  }

  /** Imports a block and then any orphans that were waiting for it. Runs inside the queue. */
  async function importBlock(raw: unknown, source: BlockSource): Promise<{ outcome: ImportOutcome; hash?: string; height?: number }> {
    const first = await importOne(raw, source);
    if (first.outcome !== 'applied' && first.outcome !== 'side') return first;
    const todo = [first.hash!];
    while (todo.length > 0) {
      const parentHash = todo.shift()!;
      for (const child of pending.takeChildren(parentHash)) {
        const r = await importOne(child.raw, child.source === 'sync' ? 'sync' : 'gossip');
        if ((r.outcome === 'applied' || r.outcome === 'side') && r.hash) todo.push(r.hash);
      }
    }
    return first;
  }

  // ── sync ──────────────────────────────────────────────────────────────────
  function sendSyncRequest(fromHeight: number, attempts: number): void {
    const env = signEnvelope(key, 'sync-request', { nodeId, fromHeight, maxBlocks: syncCfg.maxBlocks }, { date: new Date(now()) });
    sync.started(env.reqId, fromHeight, now(), attempts);
    log.debug({ fromHeight, attempts }, 'sync request');
    publish(NODE_TOPICS.syncRequest, env);
  }

  function requestSync(fromHeight: number, why: string): void {
    if (closed || sync.active) return;
    log.debug({ fromHeight, why }, 'sync');
    sendSyncRequest(Math.max(1, fromHeight), 0);
  }

  async function onSyncResponse(env: Envelope<'sync-response'>): Promise<void> {
    const p = env.parameters;
    sync.bestKnownTip = Math.max(sync.bestKnownTip, p.tipHeight);
    let firstOrphan = false;
    let lastHeight: number | undefined;
    for (let i = 0; i < p.blocks.length; i++) {
      const r = await importBlock(p.blocks[i], 'sync');
      if (i === 0 && r.outcome === 'orphan') firstOrphan = true;
      if (r.height !== undefined) lastHeight = r.height;
    }
    const cur = sync.current;
    if (!cur || cur.reqId !== p.requestReqId) return; // an answer to an older request, or a second server: blocks used, no paging
    if (p.blocks.length === 0 || lastHeight === undefined) {
      sync.done();
      syncFinished('caught up');
      return;
    }
    if (firstOrphan) {
      const fin = finalizedHeight(head.height, g.finalityDepth);
      const from = sync.stepBack(cur.fromHeight, fin + 1);
      sync.current = undefined;
      if (from < cur.fromHeight) sendSyncRequest(from, 0);
      else {
        sync.done();
        syncFinished('fork below the final height');
      }
      return;
    }
    if (p.tipHeight > lastHeight) {
      sync.current = undefined;
      sendSyncRequest(lastHeight + 1, 0);
      return;
    }
    sync.done();
    syncFinished('caught up');
  }

  function syncFinished(why: string): void {
    if (!initialSyncDone) log.info({ why, head: head.height }, 'initial sync done');
    initialSyncDone = true;
  }

  const serving = new Map<string, number>();
  async function serveSyncRequest(env: Envelope<'sync-request'>): Promise<void> {
    const p = env.parameters;
    if (p.nodeId === nodeId) return;
    // [SYNC-1] one answer in flight per requester, at most 8 in all
    const t = now();
    if (serving.has(p.nodeId) || serving.size >= 8) {
      bump(droppedMessages, 'SYNC_BUSY');
      return;
    }
    serving.set(p.nodeId, t);
    try {
      const max = Math.min(p.maxBlocks ?? syncCfg.maxBlocks, syncCfg.serveMaxBlocks);
      const page = await readSyncPage(store, p.fromHeight, max, syncCfg.maxResponseBytes);
      const resp = signEnvelope(key, 'sync-response', { requestReqId: env.reqId, tipHeight: store.head.height, blocks: page.blocks as Envelope<'sync-response'>['parameters']['blocks'] }, { date: new Date(now()) });
      log.debug({ to: p.nodeId, fromHeight: p.fromHeight, blocks: page.blocks.length, bytes: page.bytes }, 'sync response');
      publish(NODE_TOPICS.syncResponse(p.nodeId), resp);
    } finally {
      serving.delete(p.nodeId);
    }
  }

  // ── production ────────────────────────────────────────────────────────────
  async function produceAt(slot: number): Promise<void> {
    if (!produce || closed || !initialSyncDone) return;
    const parent = head;
    if (slot <= parent.slot || slot <= lastProducedSlot) return;
    let producer: string;
    try {
      producer = producerForSlot(parent.state, slot);
    } catch {
      return;
    }
    if (producer !== key.address) return;
    // [NODE-slot] pending transactions, or a heartbeat once W slots have passed since the parent
    const heartbeatDue = emptyBlockAllowed(parent.state, slot);
    // [NODE-window] [CENSOR] in its inclusion window the aggregator's node waits for the last
    // slot (unless a heartbeat is due), so that a block a ranked validator made just before
    // the window reaches it first: producing at once would fork off that block whenever it is
    // in flight. With nobody ranked it is the only producer and does not wait.
    if (!heartbeatDue && inInclusionWindow(g, slot) && slot < inclusionWindowStart(g, slot) + g.inclusionSlots - 1
      && rankingForEpoch(parent.state, epochOfSlot(g, slot)).ranking.length > 0) return;
    const t0 = performance.now();
    const cands = mempool.candidates(parent.hash, maxTxs, maxBlockBytes, slot);
    const t1 = performance.now();
    work.produce.candidatesMs += t1 - t0;
    if (cands.length === 0 && !heartbeatDue) return;
    let built;
    try {
      built = buildBlock(parent.state, cands.map((e) => e.env), key, slot, now(), { maxTxs, codec: txCodec });
    } catch (err) {
      // [REWARD] every candidate was refused and no heartbeat is due: nothing to make
      if (err instanceof EarlyEmptyBlockError) {
        mempool.recordBuild(parent.hash, cands, err.rejected, slot);
        return;
      }
      if (!(err instanceof BlockError)) throw err;
      log.warn({ slot, err: err.message }, 'block not built');
      return;
    }
    work.produce.buildMs += performance.now() - t1;
    mempool.recordBuild(parent.hash, cands, built.rejected, slot);
    if (built.txIds.length === 0 && !heartbeatDue) return;
    lastProducedSlot = slot;
    const h = built.block.parameters.header;
    watch.observe(built.block.parameters);
    const n: TreeNode = { hash: built.hash, height: h.height, slot: h.slot, parent: h.parent, block: built.block, txIds: built.txIds, state: built.state };
    tree.add(n);
    counters.produced++;
    // published first, so that peers validate while this node writes it; a block that
    // then fails to store comes back by gossip or sync (extendHead forgets it)
    publish(NODE_TOPICS.blocks, built.block);
    const t2 = performance.now();
    await extendHead(n, 'produced');
    work.produce.storeMs += performance.now() - t2;
    work.produce.blocks++;
    work.produce.txs += built.txIds.length;
    if (built.rejected.length > 0) log.debug({ height: h.height, rejected: built.rejected.length, codes: [...new Set(built.rejected.map((r) => r.code))] }, 'candidates left out');
  }

  // ── the slot loop ─────────────────────────────────────────────────────────
  let lastPrune = 0;
  async function slotWork(): Promise<void> {
    if (closed) return;
    const t = now();
    const s = slotAt(g, t);
    // [NODE-future] held blocks whose slot starts within one slot of the clock
    for (const b of pending.takeDue(s + 1)) await importBlock(b.raw, b.source === 'sync' ? 'sync' : 'gossip');
    switch (sync.onTick(t)) {
      case 'resend':
        sendSyncRequest(sync.current!.fromHeight, sync.current!.attempts + 1);
        break;
      case 'give-up':
        syncFinished('no answer');
        break;
      default:
        break;
    }
    if (t - lastPrune >= 1000) {
      lastPrune = t;
      mempool.pruneExpired();
    }
    if (s >= 1) await produceAt(s);
  }

  let timer: NodeJS.Timeout | undefined;
  /**
   * a slot's work is queued and has not started: the next slot adds none (it would only
   * find its slot passed). Without this, a node whose blocks took longer than a slot piled
   * up ~120 waiting slot tasks (10,000-home soak: slot work started up to 30 s late).
   */
  let slotQueued = false;
  function scheduleSlot(): void {
    if (closed || o.slotTimer === false) return;
    const t = now();
    const next = Math.max(1, slotAt(g, t) + 1);
    timer = setTimeout(() => {
      timer = undefined;
      scheduleSlot();
      if (slotQueued) return;
      slotQueued = true;
      const fired = performance.now();
      void enqueue('slot', () => {
        slotQueued = false;
        const wait = performance.now() - fired;
        work.slotQueue.runs++;
        work.slotQueue.waitMs += wait;
        if (wait > work.slotQueue.maxWaitMs) work.slotQueue.maxWaitMs = wait;
        return slotWork();
      });
    }, Math.max(0, slotTime(g, next) - t));
  }

  // ── messages ──────────────────────────────────────────────────────────────
  function maxBytesOf(route: NodeRoute): number {
    return Math.max(...route.operations.map((op: Operation) => operations[op].maxBytes));
  }

  /** valid transactions refused for room since the last warning (the sender is not told: they are lost) */
  /** true at most once per `ms` (warnings about a condition that lasts) */
  const every = (ms: number) => {
    let at = Number.NEGATIVE_INFINITY;
    return () => {
      if (now() - at < ms) return false;
      at = now();
      return true;
    };
  };
  let fullRefusals = 0;
  const warnFull = every(10_000);
  function drop(code: string, topic: string, detail?: string): void {
    bump(droppedMessages, code);
    log.debug({ topic, code, detail }, 'message dropped');
    if (code === 'TX_MEMPOOL_FULL') {
      fullRefusals++;
      if (warnFull()) {
        log.warn({ refused: fullRefusals, mempool: mempool.stats().count }, 'mempool full: valid transactions refused (raise mempoolLimit, or the node cannot keep up)');
        fullRefusals = 0;
      }
    }
  }

  // [NODE-import] blocks and sync responses waiting in the queue: beyond this, gossip is
  // dropped (a flood cannot grow the queue; sync recovers anything legitimate)
  const MAX_QUEUED_IMPORTS = 256;
  let queuedImports = 0;

  // [NODE-admit] transactions wait in two lanes and are admitted a slice at a time
  // (admissionQueue.ts): bids and auctions never queue behind a backlog of readings
  interface Received {
    topic: string;
    text: string;
    bytes: number;
    route: NodeRoute;
    /** [NODE-J] its journal entry */
    seq: number;
    /** replayed from the journal at start */
    replay?: boolean;
  }
  const admission = new AdmissionQueue<Received>({
    handle: (m) => {
      if (!closed) journal.settle(m.seq, admitReceived(m));
    },
    onError: (err, m) => {
      journal.settle(m.seq, undefined);
      log.error({ err: (err as Error).message, topic: m.topic }, 'admission failed');
    },
    ...o.admissionLimit,
  });
  // backpressure: while the queue is at its high-water mark, the MQTT client's
  // acknowledgement of the message just queued — and with it the reading of the next
  // one — waits, so a backlog stays with the broker, unacknowledged, instead of here
  const ownHandleMessage = Object.prototype.hasOwnProperty.call(mqtt, 'handleMessage');
  const previousHandleMessage = mqtt.handleMessage;
  // a hold that outlives its connection is dropped, never released onto the next one (its
  // PUBACK would name a packet of the old connection); the broker sends the message again
  let connection = 0;
  const onClose = () => void connection++;
  mqtt.on('close', onClose);
  mqtt.handleMessage = (packet, callback) => {
    previousHandleMessage.call(mqtt, packet, (err?: Error) => {
      if (err) return callback(err);
      if (admission.hasRoom()) return callback();
      const at = connection;
      void admission.whenRoom().then(() => {
        if (at === connection) callback();
      });
    });
  };
  const warnHeld = every(10_000);

  /** admits a received transaction message; the transaction id when it entered the mempool */
  function admitReceived({ topic, text, bytes, route, replay }: Received): string | undefined {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      drop('MALFORMED_JSON', topic);
      return undefined;
    }
    if (route.kind === 'wrapped-tx') {
      if (replay) {
        // the wrapper only carried it here (its replay guard is ±120 s): the transaction
        // inside is checked in full by admission
        value = (value as { operation?: unknown; parameters?: { tx?: unknown } } | null)?.operation === 'tx' ? (value as { parameters: { tx?: unknown } }).parameters.tx : undefined;
      } else {
        let env: AnyEnvelope;
        try {
          env = msgCodec.decodeValue(value);
        } catch (err) {
          if (err instanceof WireError) {
            drop(err.code, topic, err.message);
            return undefined;
          }
          throw err;
        }
        if (env.operation !== 'tx') {
          drop('TOPIC_MISMATCH', topic, env.operation);
          return undefined;
        }
        value = env.parameters.tx;
      }
      return settled(mempool.admit(value), topic);
    }
    const op = (value as { operation?: unknown } | null)?.operation;
    if (typeof op !== 'string' || !(route.operations as readonly string[]).includes(op)) {
      drop('TOPIC_MISMATCH', topic, String(op));
      return undefined;
    }
    return settled(mempool.admit(value, bytes), topic);
  }

  function settled(r: AdmitResult, topic: string): string | undefined {
    if (r.status === 'rejected') drop(`TX_${r.code ?? 'REJECTED'}`, topic, r.message);
    return r.status === 'admitted' ? r.txId : undefined;
  }

  /** [NODE-admit] readings in their own lane, everything else ahead of them */
  function queueReceived(m: Received): void {
    admission.push(m.topic === NODE_TOPICS.readings ? 'readings' : 'urgent', m, m.bytes);
  }

  /** [NODE-J] transactions submitted in this process are journaled under this topic */
  const LOCAL_TOPIC = 'local';
  const routeOfJournaled = (topic: string): NodeRoute | undefined => (topic === LOCAL_TOPIC ? { kind: 'tx', operations: TX_OPERATIONS } : nodeRouteOf(topic, nodeId));

  function onMessage(topic: string, payload: Buffer): void {
    if (closed) return;
    const route = nodeRouteOf(topic, nodeId);
    if (!route) return;
    if (payload.length === 0) return; // a cleared retained message
    if (payload.length > maxBytesOf(route)) return drop('MESSAGE_TOO_LARGE', topic, `bytes=${payload.length}`);
    if (route.kind === 'tx' || route.kind === 'wrapped-tx') {
      const text = payload.toString('utf8');
      queueReceived({ topic, text, bytes: payload.length, route, seq: journal.record(topic, text) });
      if (!admission.hasRoom() && warnHeld()) log.warn({ waiting: admission.size }, 'admission falling behind: holding further messages at the broker');
      return;
    }
    if (route.kind === 'block') {
      let value: unknown;
      try {
        value = JSON.parse(payload.toString('utf8'));
      } catch {
        return drop('MALFORMED_JSON', topic);
      }
      const op = (value as { operation?: unknown } | null)?.operation;
      if (typeof op !== 'string' || !(route.operations as readonly string[]).includes(op)) return drop('TOPIC_MISMATCH', topic, String(op));
      if (op === 'block') {
        if (queuedImports >= MAX_QUEUED_IMPORTS) return drop('IMPORT_QUEUE_FULL', topic);
        queuedImports++;
        void enqueue('import', async () => {
          const t0 = performance.now();
          try {
            return await importBlock(value, 'gossip');
          } finally {
            work.import.blocks++;
            work.import.ms += performance.now() - t0;
          }
        }).finally(() => queuedImports--);
        return;
      }
      settled(mempool.admit(value, payload.length), topic); // evidence
      return;
    }
    let env: AnyEnvelope;
    try {
      env = msgCodec.decode(payload);
    } catch (err) {
      if (err instanceof WireError) return drop(err.code, topic, err.message);
      throw err;
    }
    if (!(route.operations as readonly string[]).includes(env.operation)) return drop('TOPIC_MISMATCH', topic, env.operation);
    switch (env.operation) {
      case 'sync-request':
        if (serveSync) void serveSyncRequest(env).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'sync request not served'));
        return;
      case 'sync-response':
        if (queuedImports >= MAX_QUEUED_IMPORTS) return drop('IMPORT_QUEUE_FULL', topic);
        queuedImports++;
        void enqueue('sync-response', () => onSyncResponse(env)).finally(() => queuedImports--);
        return;
      default:
        return;
    }
  }

  const onConnect = () => {
    if (closed) return;
    log.info({ head: head.height }, 'broker connection (re)established: syncing');
    requestSync(head.height + 1, 'reconnect');
  };

  // ── start ─────────────────────────────────────────────────────────────────
  // [NODE-J] what was received and not on chain when the node last stopped comes first
  let replayed = 0;
  for (const e of await journal.load()) {
    const route = routeOfJournaled(e.topic);
    if (!route || (route.kind !== 'tx' && route.kind !== 'wrapped-tx')) {
      journal.settle(e.seq, undefined);
      continue;
    }
    queueReceived({ topic: e.topic, text: e.payload, bytes: Buffer.byteLength(e.payload, 'utf8'), route, seq: e.seq, replay: true });
    replayed++;
  }
  if (replayed > 0) log.info({ transactions: replayed }, 'journal: admitting again what was received and not on chain at the last stop');
  mqtt.on('message', onMessage);
  const topics = [NODE_TOPICS.auctions, NODE_TOPICS.bids, NODE_TOPICS.readings, NODE_TOPICS.marketOrders, NODE_TOPICS.txs, NODE_TOPICS.blocks, NODE_TOPICS.syncResponse(nodeId)];
  if (serveSync) topics.push(NODE_TOPICS.syncRequest);
  const grants = await mqtt.subscribeAsync(Object.fromEntries(topics.map((t) => [t, { qos: 1 as const }])));
  for (const gr of grants) if (gr.qos === 128) log.warn({ topic: gr.topic }, 'subscription refused by the broker');
  mqtt.on('connect', onConnect);
  log.info({ address: key.address, head: head.height, hash: head.hash, produce, serveSync }, 'chain node started');
  requestSync(head.height + 1, 'start');
  scheduleSlot();

  const node: ChainNode = {
    nodeId,
    address: key.address,
    genesis: g,
    head: headInfo,
    state: () => head.state,
    auction: (auctionId) => auctionView(head.state, auctionId),
    wallet: (address) => walletView(head.state, address),
    tx: (id) => store.tx(id),
    async submit(envelope) {
      const r = mempool.admit(envelope);
      if (r.status === 'admitted') {
        journal.settle(journal.record(LOCAL_TOPIC, JSON.stringify(envelope)), r.txId);
        const wrapped = signEnvelope(key, 'tx', { tx: envelope as Envelope<'tx'>['parameters']['tx'] }, { date: new Date(now()) });
        const size = Buffer.byteLength(JSON.stringify(wrapped), 'utf8');
        if (size <= operations.tx.maxBytes) publish(NODE_TOPICS.txs, wrapped);
        else log.warn({ txId: r.txId, bytes: size }, 'transaction too large to gossip as tx: kept locally');
      }
      return r;
    },
    on(event, listener) {
      events.on(event, listener as (...a: unknown[]) => void);
      return node;
    },
    off(event, listener) {
      events.off(event, listener as (...a: unknown[]) => void);
      return node;
    },
    stats: () => ({
      head: headInfo(),
      mempool: mempool.stats(),
      admission: admission.stats(),
      journal: journal.stats(),
      ...counters,
      rejectedBlocks: { ...rejectedBlocks },
      droppedMessages: { ...droppedMessages },
      tree: tree.size,
      orphans: pending.orphanCount,
      held: pending.heldCount,
      syncing: sync.active,
      work: {
        produce: { ...work.produce },
        import: { ...work.import },
        slotQueue: { ...work.slotQueue },
      },
    }),
    tick: async () => {
      await enqueue('tick', slotWork);
    },
    idle: async () => {
      await admission.idle();
      let q: Promise<unknown>;
      do {
        q = queue;
        await q;
      } while (q !== queue);
      await journal.flush();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      mqtt.off('message', onMessage);
      mqtt.off('connect', onConnect);
      mqtt.off('close', onClose);
      if (ownHandleMessage) mqtt.handleMessage = previousHandleMessage;
      else delete (mqtt as { handleMessage?: unknown }).handleMessage;
      admission.clear(); // still in the journal: admitted again at the next start
      await node.idle();
      await verifyPool?.close();
      if (mqtt.connected) {
        try {
          await mqtt.unsubscribeAsync(topics);
        } catch {
          // disconnected meanwhile: nothing to undo
        }
      }
      log.info({ head: head.height, hash: head.hash }, 'chain node stopped');
    },
  };
  return node;
}
