/**
 * The head and fork choice (README "Import and fork choice"): the canonical chain's tip,
 * the tree of blocks above the final height with their states, and every change of the
 * head — extend, [FC-1] [FC-2] reorg, resume from the store, reload states from the
 * store. Called only from inside the node's work queue, so the store, the head and the
 * mempool always agree.
 */
import { stateRoot } from '../core/chainState.js';
import type { TipInfo } from '../core/forkChoice.js';
import { epochOfSlot, slotTime } from '../core/genesis.js';
import { validateAndApplyBlock, type AppliedBlock, type BlockEnvelope } from '../core/validateAndApplyBlock.js';
import type { ChainStore } from '../store/openChainStore.js';
import type { BlockTree, TreeNode } from './blockTree.js';
import type { EquivocationWatch } from './equivocationWatch.js';
import type { BlockSource, NodeBlockEvent, NodeContext, ReorgEvent } from './nodeContext.js';
import type { PendingBlocks } from './pendingBlocks.js';

export interface ChainHeadInfo extends TipInfo {
  epoch: number;
  stateRoot: string;
  /** start of the head's slot, ISO */
  time: string;
  /** [FIN] the height of this node's final block (finality gadget) */
  finalizedHeight: number;
  producer: string | null;
}

export interface ChainHead {
  /** the head block and its state */
  current(): TreeNode;
  info(): ChainHeadInfo;
  /** appends a child of the head to the store and makes it the head */
  extend(n: TreeNode, source: BlockSource): Promise<void>;
  /** [FC-1] [FC-2] switches the head to `tip`, whose branch leaves the canonical chain above forkHeight */
  reorg(tip: TreeNode, forkHeight: number): Promise<void>;
  isCanonical(n: { height: number; hash: string }): Promise<boolean>;
  /** height of the last block a side branch ending at `tip` shares with the canonical chain */
  forkHeightOf(tip: TreeNode): Promise<number>;
  /** the canonical block at `height` with its state, reloaded from the store (see below) */
  materialise(height: number): Promise<TreeNode>;
  /** [FC-2] the height of the node's final block: nothing at or below it changes */
  finalHeight(): number;
  /** [FC-J] a tree node as a tip for fork choice */
  tipOf(n: TreeNode): TipInfo;
}

export interface ChainHeadParts {
  tree: BlockTree;
  pending: PendingBlocks;
  watch: EquivocationWatch;
  /** [FIN] the finality gadget's final height (set once the gadget exists) */
  finalHeight: () => number;
}

const REPLAY_CTX_NOW = Number.MAX_SAFE_INTEGER;

/** The store's head as a tree node (the head at start). */
export async function headOfStore(store: ChainStore): Promise<TreeNode> {
  const h = store.head;
  const block = h.height > 0 ? await store.blockAt(h.height) : undefined;
  return { hash: h.hash, height: h.height, slot: h.slot, parent: block?.parameters.header.parent ?? '', ...(block ? { block } : {}), txIds: [], state: store.state };
}

/** `start` is the store's head (headOfStore); it is added to the tree as canonical. */
export function createChainHead(ctx: NodeContext, parts: ChainHeadParts, start: TreeNode): ChainHead {
  const { genesis: g, store, mempool, log, events } = ctx;
  const { tree, pending, watch } = parts;
  const W = g.patience;
  let head = start;
  tree.add(head);
  tree.setCanonical(head.height, head.hash);

  function info(): ChainHeadInfo {
    return {
      height: head.height,
      hash: head.hash,
      slot: head.slot,
      epoch: epochOfSlot(g, head.slot),
      stateRoot: stateRoot(head.state),
      time: new Date(slotTime(g, head.slot)).toISOString(),
      finalizedHeight: parts.finalHeight(),
      producer: head.block?.parameters.header.producer ?? null,
    };
  }

  function appliedOf(n: TreeNode): AppliedBlock {
    return { block: n.block!, hash: n.hash, txIds: [...n.txIds], state: n.state };
  }

  function afterHeadChange(): void {
    mempool.setHead(head.state);
    // [FIN] the tree keeps every block above the final one (a branch that forks above it may
    // still win once the network heals), and forgets what is below
    const fin = parts.finalHeight();
    tree.prune(fin);
    pending.pruneBelow(fin);
    watch.pruneBefore(head.slot - 4 * g.finalityDepth * W);
  }

  function emitBlock(n: TreeNode, source: BlockSource): void {
    const ev: NodeBlockEvent = { ...appliedOf(n), height: n.height, source, at: ctx.now() };
    log[source === 'produced' || source === 'reorg' ? 'info' : 'debug'](
      { height: n.height, hash: n.hash, slot: n.slot, producer: n.block?.parameters.header.producer, txs: n.txIds.length, source },
      'head',
    );
    events.emit('block', ev);
  }

  async function extend(n: TreeNode, source: BlockSource): Promise<void> {
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
    ctx.counters.reorgs++;
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
      const a = validateAndApplyBlock(prev.state, b, { now: REPLAY_CTX_NOW, codec: ctx.txCodec });
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

  const tipOf = (n: TreeNode): TipInfo => ({ height: n.height, slot: n.slot, hash: n.hash, justifiedRound: n.state.meta.justified.round, subBlocks: n.state.meta.subBlocks ?? 0 });
  return { current: () => head, info, extend, reorg, isCanonical, forkHeightOf, materialise, finalHeight: parts.finalHeight, tipOf };
}
