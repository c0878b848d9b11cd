/**
 * The networked PoE chain node (DESIGN §3, §7; README in this folder): the pure core
 * (../core) and the level store (../store) driven by MQTT messages and a slot clock.
 * This file is the composition — options, wiring, the public ChainNode API; each step is
 * its own module, given a NodeContext (nodeContext.ts) and the steps it calls:
 *
 *   admission    [NODE-admit] nodeAdmission.ts: transactions from tmi/v1/auctions/+,
 *                tmi/v1/auctions/+/bids, tmi/v1/readings and tmi/v1/chain/txs wait in two
 *                lanes (admissionQueue.ts), bids and auctions ahead of readings, and enter
 *                the mempool (mempool.ts) a slice at a time
 *   journal      [NODE-J] each received transaction is kept in the store until it is on
 *                chain or refused, and admitted again at start (txJournal.ts)
 *   slot loop    [NODE-slot] slotLoop.ts: at each slot boundary: release held blocks that
 *                are due, drive sync, and — when producing — build a block if this key is
 *                the producer for the slot on the head and there are pending transactions
 *                or W slots have passed since the parent (heartbeat); [NODE-idle] with
 *                nothing to do it sleeps until its next empty block (at most W slots) and
 *                wakes when a transaction, a block or a sync arrives
 *   import       [NODE-import] blockImport.ts: named steps: decode, duplicate, equivocation
 *                watch, finality, parent (orphans wait and trigger a sync), clock (future
 *                blocks are held), validateAndApplyBlock against the parent's state, fork choice
 *   fork choice  [FC-1] [FC-2] chainHead.ts: bestTip/shouldSwitch against the head; a switch
 *                rewinds the store to the fork and appends the new branch; never below the
 *                final height
 *   sync         nodeSync.ts (messages and paging: syncProtocol.ts)
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
import type { AnyEnvelope, Envelope } from '../../schemas/types.js';
import type { ChainAuction } from './chainViews.js';
import type { ChainState } from '../core/chainState.js';
import type { Genesis } from '../core/genesis.js';
import { chainCodec } from '../core/validateAndApplyBlock.js';
import type { ChainStore, StoredTx } from '../store/openChainStore.js';
import { BlockTree } from './blockTree.js';
import { createBlockImport } from './blockImport.js';
import { createChainHead, headOfStore, type ChainHeadInfo } from './chainHead.js';
import { auctionView, walletView, type WalletView } from './chainQueries.js';
import { EquivocationWatch } from './equivocationWatch.js';
import { createVerifiedCodec } from './verifiedCodec.js';
import { createTxVerifyPool } from './txVerifyPool.js';
import type { AdmissionQueueStats } from './admissionQueue.js';
import { Mempool, type AdmitResult, type MempoolStats } from './mempool.js';
import { createNodeAdmission, LOCAL_TOPIC } from './nodeAdmission.js';
import { bump, createWorkQueue, gossipTx, every, RANDOM_REQ_IDS, REAL_SCHEDULER, type ChainNodeEvents, type NodeContext, type NodeScheduler, type WorkTimings } from './nodeContext.js';
import { createNodeSync } from './nodeSync.js';
import { NO_JOURNAL, TxJournal } from './txJournal.js';
import { NODE_TOPICS, nodeRouteOf, type NodeRoute } from './nodeTopics.js';
import { PendingBlocks } from './pendingBlocks.js';
import { createSlotLoop } from './slotLoop.js';
import { createFinalityGadget, type FinalityGadget, type FinalityStats } from './finalityGadget.js';
import { createCheckpointServer } from './checkpointSync.js';
import { bestTip } from '../core/forkChoice.js';
import { SYNC_DEFAULTS, type SyncOptions } from './syncProtocol.js';
import { settlesWithin } from '../../wire/settlesWithin.js';

export type { FinalEvent } from './nodeContext.js';
export type { FinalityStats } from './finalityGadget.js';
export type { BlockSource, ChainNodeEvents, ImportOutcome, NodeBlockEvent, NodeScheduler, RejectedBlockEvent, ReorgEvent, WorkTimings } from './nodeContext.js';
export type { ChainHeadInfo } from './chainHead.js';

/** close(): how long the node waits for the broker to acknowledge its unsubscribe */
const UNSUBSCRIBE_WAIT_MS = 2_000;

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
  /**
   * [SYNC-1] answer sync requests (default false): true answers every node's (the
   * aggregator's node, the archive); 'archive' answers only the aggregator's node's (a
   * validator home), so that a branch only validators hold reaches the archive, and from it
   * everyone, without every home answering every request [SYNC-A]
   */
  serveSync?: boolean | 'archive';
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
  /** [NODE-future] blocks up to this many slots ahead are held until due; later ones refused (default 8 slots and at least 2 s: 20 at S = 100 ms) */
  holdSlots?: number;
  sync?: Partial<SyncOptions>;
  /** run the slot loop on timers (default true); false: the caller calls tick() */
  slotTimer?: boolean;
  /** [NODE-fin] vote for finality when a member of the head's committee (default: produce) */
  vote?: boolean;
  /**
   * [STORE-P] keep only the state and blocks above the final block: each time the final block
   * is `everyBlocks` (default 256) above the store's base, the base moves to it (a home node;
   * the aggregator's node keeps everything: it is the archive)
   */
  prune?: boolean | { everyBlocks?: number };
  /** timers, deferred work and the admission slice clock (default the real ones; a simulator's are virtual) */
  scheduler?: NodeScheduler;
  /** reqIds of the envelopes the node signs: sync messages, votes, evidence, wrappers (default random) */
  reqIds?: () => string;
}

export interface ChainNodeStats {
  head: ChainHeadInfo;
  mempool: MempoolStats;
  /** [NODE-admit] the admission queue; verifiedAhead: transactions the verify pool checked before their turn [NODE-verify] */
  admission: AdmissionQueueStats & { verifiedAhead: number };
  /** [NODE-J] transactions held in the journal until on chain, and failed journal writes */
  journal: { held: number; writeFailures: number };
  produced: number;
  /** [SUB] of those, blocks at a place > 0 of their slot */
  subBlocks: number;
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
  /** [NODE-fin] the finality gadget: final and justified checkpoints, votes */
  finality: FinalityStats;
}

/** A transaction the mempool admitted: schema, signature and a trial application to the head passed. */
export type { PendingTxEvent } from './chainViews.js';

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
  /** [NODE-fin] this node's final checkpoint: the block at its height and every ancestor never revert */
  finality(): FinalityStats;
  /**
   * [NODE-fin] the state after this node's final block (height = head().finalizedHeight): what
   * no reorg can change (a final balance, final settlements). From the block tree, which keeps
   * the final block and everything above it; after a restart, until finality passes the
   * restart head, read from the store in the background: undefined until it is there.
   */
  finalState(): ChainState | undefined;
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

export async function createChainNode(o: ChainNodeOptions): Promise<ChainNode> {
  const g = o.genesis;
  const { store, mqtt, key, nodeId } = o;
  if (store.genesis.hash !== g.hash) throw new Error(`GENESIS_MISMATCH stored=${store.genesis.hash} given=${g.hash}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(nodeId) || nodeId.length > 128) throw new Error(`BAD_NODE_ID nodeId=${nodeId}`);
  const now = o.now ?? Date.now;
  const scheduler = o.scheduler ?? REAL_SCHEDULER;
  const reqIds = o.reqIds ?? RANDOM_REQ_IDS;
  const log = (o.log ?? pino({ level: 'silent' })).child({ part: 'chain-node', nodeId });
  const produce = o.produce ?? false;
  const serveSync = o.serveSync ?? false;
  const maxTxs = Math.min(o.maxTxsPerBlock ?? g.maxTxsPerBlock, g.maxTxsPerBlock);
  const maxBlockBytes = Math.min(o.maxBlockBytes ?? 8 * 1024 * 1024, operations.block.maxBytes - 64 * 1024);
  const holdSlots = o.holdSlots ?? Math.max(8, Math.ceil(2000 / g.slotMs));
  const syncCfg = { ...SYNC_DEFAULTS, ...o.sync };

  // messages: wrappers and sync messages with the replay guard; transactions and blocks without
  const msgCodec = createCodec({ now, replayCheck: true });
  const txCodec = createVerifiedCodec(chainCodec());
  const verifyPool = (o.verifyThreads ?? 0) > 0 ? createTxVerifyPool(o.verifyThreads!) : undefined;
  const events = new EventEmitter();

  // ── head, tree, pools ─────────────────────────────────────────────────────
  const tree = new BlockTree();
  const pending = new PendingBlocks();
  const watch = new EquivocationWatch(g.hash);
  const counters = { produced: 0, subBlocks: 0, imported: 0, reorgs: 0, evidenceSubmitted: 0, regossiped: 0 };
  const work: WorkTimings = {
    produce: { blocks: 0, txs: 0, candidatesMs: 0, buildMs: 0, storeMs: 0 },
    import: { blocks: 0, ms: 0 },
    slotQueue: { runs: 0, waitMs: 0, maxWaitMs: 0 },
  };
  const rejectedBlocks: Record<string, number> = {};
  const droppedMessages: Record<string, number> = {};

  const start = await headOfStore(store);
  const journal = new TxJournal(o.journal === false ? NO_JOURNAL : store, (err) => log.error({ err: (err as Error).message }, 'journal write failed: received transactions may not survive a restart'), scheduler.setImmediate);
  const mempool = new Mempool(start.state, {
    now,
    codec: txCodec,
    ...(o.mempoolLimit?.count !== undefined ? { maxCount: o.mempoolLimit.count } : {}),
    ...(o.mempoolLimit?.bytes !== undefined ? { maxBytes: o.mempoolLimit.bytes } : {}),
    ...(o.mempoolLimit?.perSigner !== undefined ? { maxPerSigner: o.mempoolLimit.perSigner } : {}),
    ...(o.mempoolLimit?.attempts !== undefined ? { maxAttempts: o.mempoolLimit.attempts } : {}),
    onRemove: (id) => journal.removed(id),
    onAdmit: (e) => {
      if (e.env.operation === 'justification') return; // [FIN-J] the node's own proof: rides on the next block
      slots.wake(); // [NODE-idle] a block may be due at the next slot
      if (events.listenerCount('pending') === 0) return;
      try {
        events.emit('pending', { txId: e.id, envelope: e.env });
      } catch (err) {
        // a listener's failure is its own: the transaction stays admitted
        log.error({ err: (err as Error).message, txId: e.id }, 'pending listener failed');
      }
    },
  });
  let closed = false;

  // ── the context every step is given ───────────────────────────────────────
  /** valid transactions refused for room since the last warning (the sender is not told: they are lost) */
  let fullRefusals = 0;
  const warnFull = every(now, 10_000);
  const ctx: NodeContext = {
    genesis: g,
    key,
    nodeId,
    store,
    mempool,
    txCodec,
    now,
    scheduler,
    newReqId: reqIds,
    log,
    events,
    queue: createWorkQueue(log),
    publish(topic, env) {
      if (closed) return;
      mqtt.publish(topic, JSON.stringify(env), { qos: 1 }, (err) => {
        if (err) log.warn({ topic, err: err.message }, 'publish failed');
      });
    },
    publishAcked(topic, env) {
      if (closed) return Promise.reject(new Error('the node is closed'));
      return new Promise<void>((resolve, reject) => mqtt.publish(topic, JSON.stringify(env), { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    },
    closed: () => closed,
    drop(code, topic, detail) {
      bump(droppedMessages, code);
      log.debug({ topic, code, detail }, 'message dropped');
      if (code === 'TX_MEMPOOL_FULL') {
        fullRefusals++;
        if (warnFull()) {
          log.warn({ refused: fullRefusals, mempool: mempool.stats().count }, 'mempool full: valid transactions refused (raise mempoolLimit, or the node cannot keep up)');
          fullRefusals = 0;
        }
      }
    },
    counters,
    work,
    rejectedBlocks,
    droppedMessages,
  };
  const { queue, publish, drop } = ctx;

  // ── the steps ─────────────────────────────────────────────────────────────
  let gadget: FinalityGadget | undefined;
  const storedFinal = await store.nodeRecord('final');
  const startFinal = Math.max(start.state.meta.finalized.height, storedFinal !== undefined ? (JSON.parse(storedFinal) as { height: number }).height : 0);
  const chain = createChainHead(ctx, { tree, pending, watch, finalHeight: () => Math.min(gadget?.final().height ?? startFinal, chain.current().height) }, start);
  const importer = createBlockImport(ctx, { head: chain, tree, pending, watch, verifyPool, holdSlots, requestSync: (from, why) => sync.request(from, why) });
  const sync = createNodeSync(ctx, { head: chain, import: importer, cfg: syncCfg });
  const slots = createSlotLoop(ctx, { head: chain, tree, pending, watch, import: importer, sync, produce, maxTxs, maxBlockBytes, slotTimer: o.slotTimer !== false, votedRound: () => gadget?.votedRound() ?? 0, admissionBacklogMs: () => admission.backlogMs() });
  const admission = createNodeAdmission(ctx, { mqtt, journal, msgCodec, admissionLimit: o.admissionLimit, verifyPool });
  // [FC-2] a block the votes make final that is not on the head's chain (a quorum voted for
  // another branch, e.g. after a split): the head first moves to the best tip above it, then
  // the block is final — never a final block off the node's own chain (the simulator found
  // it: seeds 9, 25, 67, 98 --serve-sync all). In the work queue.
  async function switchToBranchOf(f: { height: number; hash: string }): Promise<boolean> {
    if (await chain.isCanonical(f)) return true;
    const tip = bestTip(tree.tipsFrom(f).map((n) => ({ ...chain.tipOf(n), n })))?.n;
    if (tip === undefined) {
      log.warn({ height: f.height, hash: f.hash }, 'final block not held here: not final until it is');
      return false;
    }
    const forkHeight = await chain.forkHeightOf(tip);
    log.warn({ final: f.height, tip: tip.height, forkHeight }, 'final block on another branch: switching to it');
    await chain.reorg(tip, forkHeight);
    return chain.isCanonical(f);
  }
  gadget = await createFinalityGadget(ctx, { head: chain, tree, vote: o.vote ?? produce, produce, timer: o.slotTimer !== false, switchToBranchOf, requestSync: (from, why) => sync.request(from, why) });
  const fin = gadget;
  // [NODE-fin] a new head: count the votes that waited for it, adopt the chain's proof, vote
  events.on('block', () => void queue.enqueue('finality', fin.onHead));
  // [STORE-P] move the store's base up to the final block every pruneEvery blocks
  const pruneEvery = o.prune === true ? 256 : o.prune ? (o.prune.everyBlocks ?? 256) : 0;
  let pruning = false;
  if (pruneEvery > 0) {
    events.on('final', (f: { height: number; hash: string }) => {
      if (pruning || f.height - store.prunedHeight < pruneEvery) return;
      pruning = true;
      void queue.enqueue('prune', async () => {
        const n = tree.get(f.hash);
        if (n === undefined || !(await chain.isCanonical(n)) || n.height <= store.prunedHeight) return;
        const r = await store.pruneTo(n.state);
        log.info({ base: r.height, blocksDeleted: r.blocksDeleted }, 'pruned below the final block');
      }).finally(() => (pruning = false));
    });
  }

  // ── messages ──────────────────────────────────────────────────────────────
  function maxBytesOf(route: NodeRoute): number {
    return Math.max(...route.operations.map((op: Operation) => operations[op].maxBytes));
  }

  // [NODE-import] blocks and sync responses waiting in the queue: beyond this, gossip is
  // dropped (a flood cannot grow the queue; sync recovers anything legitimate)
  const MAX_QUEUED_IMPORTS = 256;
  let queuedImports = 0;

  function onMessage(topic: string, payload: Buffer): void {
    if (closed) return;
    const route = nodeRouteOf(topic, nodeId);
    if (!route) return;
    if (payload.length === 0) return; // a cleared retained message
    if (payload.length > maxBytesOf(route)) return drop('MESSAGE_TOO_LARGE', topic, `bytes=${payload.length}`);
    if (route.kind === 'tx' || route.kind === 'wrapped-tx') return admission.receive(topic, payload, route);
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
        void queue.enqueue('import', async () => {
          const t0 = performance.now();
          try {
            return await importer.importBlock(value, 'gossip');
          } finally {
            work.import.blocks++;
            work.import.ms += performance.now() - t0;
          }
        }).finally(() => {
          queuedImports--;
          slots.wake(); // [NODE-idle] a held block, a sync request or a new head
        });
        return;
      }
      admission.settled(mempool.admit(value, payload.length), topic); // evidence
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
      case 'vote':
        fin.onVote(env);
        return;
      case 'checkpoint-request':
        if (serveSync === true) serveCheckpoint(env.parameters.nodeId, env.reqId);
        return;
      case 'sync-request':
        // [SYNC-A] a validator home answers the archive alone
        if (serveSync === 'archive' && env.clientId !== g.aggregatorNodeKey) return;
        if (serveSync) void sync.serve(env).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'sync request not served'));
        return;
      case 'sync-response':
        if (queuedImports >= MAX_QUEUED_IMPORTS) return drop('IMPORT_QUEUE_FULL', topic);
        queuedImports++;
        void queue.enqueue('sync-response', () => sync.onResponse(env)).finally(() => {
          queuedImports--;
          slots.wake();
        });
        return;
      default:
        return;
    }
  }

  const serveCheckpoint = createCheckpointServer(ctx, { tree, finality: fin });

  const onConnect = () => {
    if (closed) return;
    log.info({ head: chain.current().height }, 'broker connection (re)established: syncing');
    sync.request(chain.current().height + 1, 'reconnect');
    slots.wake();
  };

  // ── start ─────────────────────────────────────────────────────────────────
  // [NODE-J] what was received and not on chain when the node last stopped comes first
  const replayed = await admission.replayJournal();
  if (replayed > 0) log.info({ transactions: replayed }, 'journal: admitting again what was received and not on chain at the last stop');
  mqtt.on('message', onMessage);
  const topics = [NODE_TOPICS.auctions, NODE_TOPICS.bids, NODE_TOPICS.readings, NODE_TOPICS.marketOrders, NODE_TOPICS.txs, NODE_TOPICS.blocks, NODE_TOPICS.votes, NODE_TOPICS.syncResponse(nodeId)];
  if (serveSync) topics.push(NODE_TOPICS.syncRequest);
  const grants = await mqtt.subscribeAsync(Object.fromEntries(topics.map((t) => [t, { qos: 1 as const }])));
  for (const gr of grants) if (gr.qos === 128) log.warn({ topic: gr.topic }, 'subscription refused by the broker');
  mqtt.on('connect', onConnect);
  log.info({ address: key.address, head: chain.current().height, hash: chain.current().hash, produce, serveSync }, 'chain node started');
  sync.request(chain.current().height + 1, 'start');
  slots.start();
  fin.start();

  // [NODE-fin] the final block's state: the tree holds it, except just after a restart
  let finalFromStore: { height: number; state?: ChainState } | undefined;
  function finalState(): ChainState | undefined {
    const h = chain.info().finalizedHeight;
    const held = tree.canonicalAt(h);
    const n = held !== undefined ? tree.get(held) : undefined;
    if (n) return n.state;
    if (h === chain.current().height) return chain.current().state;
    if (finalFromStore?.height === h) return finalFromStore.state;
    const want: { height: number; state?: ChainState } = { height: h };
    finalFromStore = want;
    void queue.enqueue('final-state', async () => {
      // in the queue: the store does not move under the replay
      if (finalFromStore !== want) return;
      try {
        want.state = await store.stateAt(Math.min(h, store.head.height));
      } catch (err) {
        log.warn({ err: (err as Error).message, height: h }, 'final state not read from the store');
        if (finalFromStore === want) finalFromStore = undefined; // the next call tries again
      }
    });
    return undefined;
  }

  const node: ChainNode = {
    nodeId,
    address: key.address,
    genesis: g,
    head: chain.info,
    state: () => chain.current().state,
    auction: (auctionId) => auctionView(chain.current().state, auctionId),
    wallet: (address) => walletView(chain.current().state, address),
    tx: (id) => store.tx(id),
    finality: () => fin.stats(),
    finalState,
    async submit(envelope) {
      const r = mempool.admit(envelope);
      if (r.status === 'admitted') {
        journal.settle(journal.record(LOCAL_TOPIC, JSON.stringify(envelope)), r.txId);
        if (!gossipTx(ctx, envelope as Envelope)) log.warn({ txId: r.txId }, 'transaction too large to gossip as tx: kept locally');
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
      head: chain.info(),
      mempool: mempool.stats(),
      admission: admission.stats(),
      journal: journal.stats(),
      ...counters,
      rejectedBlocks: { ...rejectedBlocks },
      droppedMessages: { ...droppedMessages },
      tree: tree.size,
      orphans: pending.orphanCount,
      held: pending.heldCount,
      syncing: sync.active(),
      finality: fin.stats(),
      work: {
        produce: { ...work.produce },
        import: { ...work.import },
        slotQueue: { ...work.slotQueue },
      },
    }),
    tick: async () => {
      await queue.enqueue('tick', slots.slotWork);
      await queue.enqueue('finality', fin.onRound);
    },
    idle: async () => {
      await admission.idle();
      await queue.drained();
      await journal.flush();
    },
    async close() {
      if (closed) return;
      closed = true;
      slots.stop();
      fin.stop();
      mqtt.off('connect', onConnect);
      admission.close();
      await node.idle();
      await verifyPool?.close();
      // the message listener stays until the broker has acknowledged the unsubscribe (it
      // ignores everything once closed): the MQTT client holds every incoming packet while it
      // has no listener [LOGIN-Q], so a message in flight (the echo of the node's own last
      // vote) would hold the UNSUBACK behind it for good — 9 stops in 20 of `tmi up` with both
      // cores busy waited for ever, before this order
      if (mqtt.connected) {
        // (disconnected meanwhile: nothing to undo)
        const acked = await settlesWithin(mqtt.unsubscribeAsync(topics).catch(() => undefined), UNSUBSCRIBE_WAIT_MS);
        if (!acked) log.warn({ waitedMs: UNSUBSCRIBE_WAIT_MS }, 'no UNSUBACK from the broker: stopping without it');
      }
      mqtt.off('message', onMessage);
      log.info({ head: chain.current().height, hash: chain.current().hash }, 'chain node stopped');
    },
  };
  return node;
}
