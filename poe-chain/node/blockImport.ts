/**
 * [NODE-import] Block import (README "Import and fork choice"): a block from gossip or sync
 * goes through named steps — duplicate, decode, equivocation watch, finality, parent
 * (orphans wait and ask for a sync), clock ([NODE-future] held until due, or refused),
 * [NODE-verify] signatures off the main thread, validateAndApplyBlock against the parent's
 * state, fork choice (chainHead.ts). Runs inside the node's work queue.
 */
import { signEnvelope } from '../../wire/codec.js';
import { WireError } from '../../wire/errors.js';
import type { AnyEnvelope, BlockHeader, Evidence } from '../../schemas/types.js';
import { blockHash, verifyHeaderSignature } from '../core/blockHash.js';
import { BlockError } from '../core/chainError.js';
import { shouldSwitch } from '../core/forkChoice.js';
import { slotAt, slotTime } from '../core/genesis.js';
import { validateAndApplyBlock, type AppliedBlock } from '../core/validateAndApplyBlock.js';
import type { BlockTree, TreeNode } from './blockTree.js';
import type { ChainHead } from './chainHead.js';
import type { EquivocationWatch } from './equivocationWatch.js';
import { bump, gossipTx, type BlockSource, type ImportOutcome, type NodeContext, type RejectedBlockEvent } from './nodeContext.js';
import { NODE_TOPICS } from './nodeTopics.js';
import type { PendingBlocks } from './pendingBlocks.js';
import { preverifyTxs, type TxVerifyPool } from './txVerifyPool.js';

export interface ImportResult {
  outcome: ImportOutcome;
  hash?: string;
  height?: number;
}

export interface BlockImport {
  /** imports a block (any JSON value) and then any orphans that were waiting for it; inside the queue */
  importBlock(raw: unknown, source: BlockSource): Promise<ImportResult>;
}

export interface BlockImportParts {
  head: ChainHead;
  tree: BlockTree;
  pending: PendingBlocks;
  watch: EquivocationWatch;
  /** [NODE-verify] checks large blocks' signatures on worker threads */
  verifyPool: TxVerifyPool | undefined;
  /** [NODE-future] blocks up to this many slots ahead are held */
  holdSlots: number;
  /** asks peers for blocks from `fromHeight` (an orphan's parent is unknown) */
  requestSync(fromHeight: number, why: string): void;
}

export function createBlockImport(ctx: NodeContext, parts: BlockImportParts): BlockImport {
  const { genesis: g, mempool, log, events, key, txCodec } = ctx;
  const { head: chain, tree, pending, watch, verifyPool, holdSlots } = parts;
  const badBlocks = new Map<string, string>();

  function rejectBlock(e: RejectedBlockEvent): 'rejected' {
    bump(ctx.rejectedBlocks, e.code);
    if (e.hash !== undefined) {
      if (badBlocks.size >= 4096) badBlocks.delete(badBlocks.keys().next().value!);
      badBlocks.set(e.hash, e.code);
    }
    log.warn({ hash: e.hash, height: e.height, producer: e.producer, code: e.code, reason: e.message, source: e.source }, 'block rejected');
    events.emit('rejected', e);
    return 'rejected';
  }

  function submitEvidence(ev: Evidence): void {
    if (chain.current().state.sections.equivocators.has(ev.a.header.producer)) return;
    const env = signEnvelope(key, 'evidence', ev, { date: new Date(ctx.now()), chain: g.hash, reqId: ctx.newReqId() }); // [DOMAIN-TX]
    const r = mempool.admit(env);
    log.warn({ producer: ev.a.header.producer, slot: ev.a.header.slot, admitted: r.status, code: r.code }, 'equivocation: submitting evidence');
    if (r.status === 'admitted') {
      ctx.counters.evidenceSubmitted++;
      gossipTx(ctx, env);
    }
    events.emit('evidence', ev);
  }

  /**
   * A block this node already has. [SYNC-3] One still waiting for its parent is an orphan
   * again, with its height, so that a sync response made of orphans already held steps back
   * for their ancestors (it was taken for "caught up": the node kept the orphans and never
   * asked for their parents — sim seed 3 with --serve-sync all).
   */
  function alreadyHere(hash: string, height: number): ImportResult {
    return { outcome: pending.isOrphan(hash) ? 'orphan' : 'duplicate', hash, height };
  }

  /** [NODE-import] one block (any JSON value) from gossip or sync. Runs inside the queue. */
  async function importOne(raw: unknown, source: BlockSource): Promise<ImportResult> {
    // duplicate, before any work: a header already held means this block is held
    const peek = (raw as { parameters?: { header?: unknown } } | null)?.parameters?.header;
    if (typeof peek === 'object' && peek !== null) {
      try {
        const known = blockHash(peek as BlockHeader);
        if (tree.has(known) || pending.has(known)) return alreadyHere(known, (peek as BlockHeader).height);
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
    if (tree.has(hash) || pending.has(hash)) return alreadyHere(hash, h.height);
    const bad = badBlocks.get(hash);
    if (bad !== undefined) return { outcome: 'rejected', ...at };
    // equivocation watch: any header its producer signed
    if (verifyHeaderSignature(p, g.hash)) {
      const ev = watch.observe(p);
      if (ev) submitEvidence(ev);
    }
    // finality: nothing at or below the final height can change the chain
    const head = chain.current();
    const fin = chain.finalHeight();
    if (h.height <= head.height && (await chain.isCanonical(at))) return { outcome: 'duplicate', ...at };
    if (h.height <= fin) return { outcome: 'below-final', ...at };
    // parent
    let parent = tree.get(h.parent);
    if (!parent && h.height - 1 >= fin && h.height - 1 <= head.height && (await chain.isCanonical({ height: h.height - 1, hash: h.parent }))) {
      parent = await chain.materialise(h.height - 1);
    }
    if (!parent) {
      pending.addOrphan({ hash, parent: h.parent, height: h.height, slot: h.slot, raw, source });
      log.debug({ ...at, parent: h.parent, source }, 'orphan block: parent unknown');
      if (source !== 'sync') parts.requestSync(Math.min(chain.current().height + 1, h.height), 'orphan');
      return { outcome: 'orphan', ...at };
    }
    // [NODE-future] the clock: ahead by more than one slot → held until due, or refused
    const t = ctx.now();
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
    ctx.counters.imported++;
    const n: TreeNode = { hash, height: h.height, slot: h.slot, parent: h.parent, block: applied.block, txIds: applied.txIds, state: applied.state };
    tree.add(n);
    // fork choice
    const current = chain.current();
    if (n.parent === current.hash) {
      await chain.extend(n, source);
      return { outcome: 'applied', ...at };
    }
    const forkHeight = await chain.forkHeightOf(n);
    if (shouldSwitch(chain.tipOf(chain.current()), chain.tipOf(n), forkHeight, chain.finalHeight())) {
      await chain.reorg(n, forkHeight);
      return { outcome: 'applied', ...at };
    }
    log.debug({ ...at, forkHeight, head: chain.current().height }, 'side branch block');
    return { outcome: 'side', ...at };
  }

  async function importBlock(raw: unknown, source: BlockSource): Promise<ImportResult> {
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

  return { importBlock };
}
