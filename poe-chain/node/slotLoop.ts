/**
 * [NODE-slot] The slot loop and block production (README "Slot loop"): at each slot
 * boundary, through the node's work queue, release held blocks that are due, drive sync,
 * prune expired transactions, and — when producing — build a block if this key is the
 * producer for the slot on the head and there are pending transactions or W slots have
 * passed since the parent (heartbeat).
 * [NODE-idle] With nothing to do (no transaction pending, no held block, no sync in
 * flight) the timer skips the slots in which the node would find nothing to do: it wakes
 * at the first slot at which it may make an empty block (its heartbeat, a market's gate),
 * at the latest W slots on, and at the next boundary as soon as something arrives (wake).
 */
import { buildBlock, EarlyEmptyBlockError } from '../core/buildBlock.js';
import { BlockError } from '../core/chainError.js';
import { BLOCKS_PER_SLOT } from '../../schemas/chainOperations.js';
import { electedProducer, emptyBlockAllowed, onlyJustifications, producerForSlot, subForChild } from '../core/electProducer.js';
import { rankingForEpoch } from '../core/rankingForEpoch.js';
import { epochOfSlot, inclusionWindowStart, inInclusionWindow, slotAt, slotTime } from '../core/genesis.js';
import type { BlockTree, TreeNode } from './blockTree.js';
import type { BlockImport } from './blockImport.js';
import type { ChainHead } from './chainHead.js';
import type { EquivocationWatch } from './equivocationWatch.js';
import { gossipTx, type NodeContext } from './nodeContext.js';
import type { NodeSync } from './nodeSync.js';
import { NODE_TOPICS } from './nodeTopics.js';
import type { PendingBlocks } from './pendingBlocks.js';

export interface SlotLoop {
  /** the slot work for the clock's current slot; inside the queue */
  slotWork(): Promise<void>;
  /** starts the slot timer (unless `slotTimer` is false) */
  start(): void;
  /** stops the slot timer */
  stop(): void;
  /**
   * [NODE-idle] something may need the next slot (a transaction admitted, a block held or
   * imported, a sync started): the timer fires at the next boundary again if it slept past it
   */
  wake(): void;
}

export interface SlotLoopParts {
  head: ChainHead;
  tree: BlockTree;
  pending: PendingBlocks;
  watch: EquivocationWatch;
  import: BlockImport;
  sync: NodeSync;
  /** build blocks when this key is elected */
  produce: boolean;
  /** most transactions and bytes of transactions per block */
  maxTxs: number;
  maxBlockBytes: number;
  /** run on timers; false: the caller calls slotWork() */
  slotTimer: boolean;
  /** [FIN-1] the round of this node's last vote's target (finalityGadget.ts votedRound): always before the clock's slot [FIN-V] */
  votedRound: () => number;
  /** [SUB] how long the oldest message waiting for admission has waited (ms) */
  admissionBacklogMs: () => number;
}

/** [MP-13] a transaction still waiting this many slots after it was last sent or received is sent again */
export const REGOSSIP_AFTER_SLOTS = 16;
/** [MP-13] at most this many re-gossiped per slot */
export const REGOSSIP_PER_SLOT = 8;

/**
 * [SUB] The shortest tick of the slot timer: a block is built, published and stored in a few ms
 * under load, so ticks much shorter than this would leave the node's one work queue no time for
 * admission and imports (at S = 50 ms, ticks of 10 ms made the slot work late, and slots passed
 * without a block).
 */
export const MIN_TICK_MS = 25;

export function createSlotLoop(ctx: NodeContext, parts: SlotLoopParts): SlotLoop {
  const { genesis: g, key, mempool, log, now, work, scheduler } = ctx;
  /** [SUB] the slot timer's ticks per slot: the slot's start, then one per further block of a run */
  const TICKS = Math.max(1, Math.min(BLOCKS_PER_SLOT, Math.floor(g.slotMs / MIN_TICK_MS)));
  const { head: chain, tree, pending, watch, produce, maxTxs, maxBlockBytes } = parts;
  /** [SUB] tick k of slot s is k / TICKS of the way through it; tick number = s × TICKS + k */
  const tickTime = (tick: number): number => slotTime(g, Math.floor(tick / TICKS)) + ((tick % TICKS) * g.slotMs) / TICKS;
  const tickOf = (t: number): number => {
    const s = slotAt(g, t);
    return s * TICKS + Math.min(TICKS - 1, Math.floor(((t - slotTime(g, s)) * TICKS) / g.slotMs));
  };
  // [NODE-slot] never produce twice in one slot, nor in the slot the node started in (a restart),
  // except [SUB] the next block of the run this process is making at that slot
  let lastProducedSlot = Math.max(chain.current().slot, slotAt(g, now()));
  /** [SUB] the block this process made last, and the tick it made it in */
  let lastProduced: { hash: string; tick: number } | undefined;

  /**
   * [SUB] Whether the next block at `slot` may extend this node's run there: the head is the
   * block it made last, in this process (never after a restart: a block published and not
   * stored would be made twice), at `slot`, the run has room, transactions wait, the clock
   * has reached a later tick than that block's (at most one block per tick), and admission
   * keeps up (nothing has waited there longer than a tick). Behind, transactions wait in
   * admission, not for a block, and one block a slot costs the node less than five: at 90×
   * in the 10,000-home soak, runs under overload left the chain further behind.
   */
  function runContinues(slot: number, tick: number): boolean {
    const head = chain.current();
    return produce && lastProduced !== undefined && head.hash === lastProduced.hash && head.slot === slot
      && tick > lastProduced.tick && mempool.blockWorthy > 0 && parts.admissionBacklogMs() < g.slotMs / TICKS
      && subForChild(head.state, slot) !== undefined;
  }

  // ── production ────────────────────────────────────────────────────────────
  async function produceAt(slot: number): Promise<void> {
    if (!produce || ctx.closed() || !parts.sync.initialSyncDone()) return;
    const parent = chain.current();
    const tick = tickOf(now());
    // (runContinues implies slot = the head's slot = lastProducedSlot: the head is this process's last block)
    const sub = runContinues(slot, tick);
    if (!sub && (slot <= parent.slot || slot <= lastProducedSlot)) return;
    // [FIN-1] never a block in a round this node already voted in: its vote's target must stay
    // the head of that round, or the justification is refused on chain (NOT_HEAD_AT_ROUND,
    // BAD_ROUND) and every later link lacks a justified source there (UNJUSTIFIED_SOURCE), and
    // nodes that saw this block before the vote drop the vote (VOTE_NOT_HEAD_AT_ROUND): their
    // finality, and so their pruning, stops. [FIN-V] votes are for the round before the clock's,
    // so this guard no longer holds a block back; it stays as a check of that rule
    if (slot <= parts.votedRound()) return;
    let producer: string;
    try {
      producer = producerForSlot(parent.state, slot);
    } catch {
      return;
    }
    if (producer !== key.address) return;
    // [NODE-slot] pending transactions, or a heartbeat once W slots have passed since the parent
    // ([SUB] never at the parent's slot)
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
    // [FIN-J] justifications alone make no block: they ride on the next one
    if (onlyJustifications(cands.map((e) => e.env)) && !heartbeatDue) return;
    let built;
    try {
      built = buildBlock(parent.state, cands.map((e) => e.env), key, slot, now(), { maxTxs, codec: ctx.txCodec });
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
    lastProduced = { hash: built.hash, tick };
    if (sub) ctx.counters.subBlocks++;
    const h = built.block.parameters.header;
    watch.observe(built.block.parameters);
    const n: TreeNode = { hash: built.hash, height: h.height, slot: h.slot, parent: h.parent, block: built.block, txIds: built.txIds, state: built.state };
    tree.add(n);
    ctx.counters.produced++;
    // published first, so that peers validate while this node writes it; a block that
    // then fails to store comes back by gossip or sync (extend forgets it)
    ctx.publish(NODE_TOPICS.blocks, built.block);
    const t2 = performance.now();
    await chain.extend(n, 'produced');
    work.produce.storeMs += performance.now() - t2;
    work.produce.blocks++;
    work.produce.txs += built.txIds.length;
    if (built.rejected.length > 0) log.debug({ height: h.height, rejected: built.rejected.length, codes: [...new Set(built.rejected.map((r) => r.code))] }, 'candidates left out');
  }

  // ── [MP-13] re-gossip ─────────────────────────────────────────────────────
  const regossipAfterMs = REGOSSIP_AFTER_SLOTS * g.slotMs;
  function regossip(t: number): void {
    for (const e of mempool.dueForGossip(t, regossipAfterMs, REGOSSIP_PER_SLOT)) {
      if (gossipTx(ctx, e.env)) ctx.counters.regossiped++;
    }
  }

  // ── the slot loop ─────────────────────────────────────────────────────────
  let lastPrune = 0;
  async function slotWork(): Promise<void> {
    if (ctx.closed()) return;
    const t = now();
    const s = slotAt(g, t);
    // [NODE-future] held blocks whose slot starts within one slot of the clock
    for (const b of pending.takeDue(s + 1)) await parts.import.importBlock(b.raw, b.source === 'sync' ? 'sync' : 'gossip');
    parts.sync.onSlot(t);
    if (t - lastPrune >= 1000) {
      lastPrune = t;
      mempool.pruneExpired();
    }
    if (s >= 1) await produceAt(s);
    regossip(t);
  }

  // ── the timer ─────────────────────────────────────────────────────────────
  /** [NODE-idle] work that needs every slot: pending transactions, held blocks, a sync */
  function busy(): boolean {
    return mempool.blockWorthy > 0 || pending.heldCount > 0 || parts.sync.active() || !parts.sync.initialSyncDone();
  }

  /**
   * [NODE-idle] The first slot in [from, until) at which this node may make an empty child
   * of the head (a heartbeat, or a block at a market's gate) as its producer; else `until`.
   * The ranking of an epoch the head has not reached is computed once per call.
   */
  function emptyBlockDuty(from: number, until: number): number {
    if (!produce) return until;
    const parent = chain.current();
    const rankings = new Map<number, readonly string[]>();
    for (let s = Math.max(from, parent.slot + 1); s < until; s++) {
      if (!emptyBlockAllowed(parent.state, s)) continue;
      const e = epochOfSlot(g, s);
      let ranking = rankings.get(e);
      try {
        if (ranking === undefined) rankings.set(e, (ranking = rankingForEpoch(parent.state, e).ranking));
        if (electedProducer(parent.state, s, ranking) === key.address) return s;
      } catch {
        return s; // let the slot work decide
      }
    }
    return until;
  }

  /**
   * The tick whose start the timer waits for: a slot's start (tick = slot × TICKS), or [SUB] one
   * of the TICKS − 1 later ticks of the current slot while this node's run there can go on
   * (runContinues): a transaction then waits for the next tick (S / TICKS), not for the next slot.
   */
  function nextTick(): number {
    const t = now();
    const current = slotAt(g, t);
    const next = Math.max(1, current + 1);
    if (busy()) {
      const tick = tickOf(t) + 1;
      return tick < next * TICKS && runContinues(current, tick) ? tick : next * TICKS;
    }
    // [NODE-idle] nothing to do before the node's next empty block; at the latest W slots on
    return emptyBlockDuty(next, next + g.patience) * TICKS;
  }

  let timer: unknown;
  /** the tick the timer fires at */
  let timerTick = 0;
  /**
   * a slot's work is queued and has not started: the next slot adds none (it would only
   * find its slot passed). Without this, a node whose blocks took longer than a slot piled
   * up ~120 waiting slot tasks (10,000-home soak: slot work started up to 30 s late).
   */
  let slotQueued = false;
  function scheduleSlot(): void {
    if (ctx.closed() || !parts.slotTimer) return;
    const tick = nextTick();
    if (timer !== undefined) {
      // a timer whose tick has begun is due: moving it on would skip that tick's work
      if (tick === timerTick || timerTick <= tickOf(now())) return;
      scheduler.clearTimeout(timer);
    }
    timerTick = tick;
    timer = scheduler.setTimeout(() => {
      timer = undefined;
      const early = tickOf(now()) < tick; // timers may fire a little before the wall clock's boundary
      scheduleSlot();
      if (slotQueued || early) return;
      slotQueued = true;
      const fired = performance.now();
      void ctx.queue.enqueue('slot', async () => {
        slotQueued = false;
        const wait = performance.now() - fired;
        work.slotQueue.runs++;
        work.slotQueue.waitMs += wait;
        if (wait > work.slotQueue.maxWaitMs) work.slotQueue.maxWaitMs = wait;
        // [SUB] a later tick of a slot only extends the run (the slot's other work ran at its
        // start), unless it runs late, in a later slot: then that slot's work is due
        const s = slotAt(g, now());
        if (tick % TICKS === 0 || s !== Math.floor(tick / TICKS)) await slotWork();
        else await produceAt(s);
        scheduleSlot(); // the head or the mempool may have changed: sleep longer, or not
      });
    }, Math.max(0, tickTime(tick) - now()));
  }

  return {
    slotWork,
    start: scheduleSlot,
    stop() {
      if (timer !== undefined) scheduler.clearTimeout(timer);
      timer = undefined;
    },
    wake: scheduleSlot,
  };
}
