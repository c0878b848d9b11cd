/**
 * Slot-based production (DESIGN §7):
 *   [LIVE]     the production order of an epoch is its ranking followed by the aggregator's
 *              node, which is always last; an aggregator node recorded as an equivocator
 *              loses that place (the order is the ranking alone), and only if the ranking is
 *              empty as well does it still produce, so the chain never stops (it earns nothing).
 *   [POE-7.3]  the producer of a block at slot s whose parent is at slot p is
 *              order[⌊(s − p − 1) / W⌋ mod n], n = the length of the order.
 *   [CENSOR]   the last `inclusionSlots` slots of every epoch (the inclusion window) belong to
 *              the aggregator's node alone (unless it equivocated): it includes every valid
 *              transaction it holds, so a reading that the ranked producers leave out still
 *              reaches the chain before the epoch that it ranks. (Its node waits for the
 *              window's last slot, so that a block made just before the window arrives
 *              first and no fork starts; see node/README.md.)
 * So the best-ranked validator may produce from slot p + 1, the next one takes over after
 * W silent slots, and so on; after every ranked validator has had its patience the
 * aggregator's node produces: no gap between blocks is longer than n·W slots while the
 * aggregator's node is live ((ranked validators + 1)·W).
 *   [SUB]      the producer of a block may make up to BLOCKS_PER_SLOT − 1 more at the same slot,
 *              each the child of the one before, each with transactions (an empty one is never
 *              allowed there: it covers no slot), each earning no reward (it covers no slot). The
 *              header's `sub` gives its place; evidence of equivocation is two headers of one
 *              producer for one slot and one place.
 */
import { BLOCKS_PER_SLOT } from '../../schemas/chainOperations.js';
import type { ChainState } from './chainState.js';
import { epochOfSlot, inInclusionWindow, marketGate, slotTime } from './genesis.js';
import { rankingForEpoch } from './rankingForEpoch.js';

/** [LIVE] ranking + the aggregator's node last (unless it equivocated and others can produce). */
export function productionOrder(ranking: readonly string[], aggregatorNode: string, aggregatorNodeEligible: boolean): readonly string[] {
  const ranked = ranking.includes(aggregatorNode) ? ranking.filter((a) => a !== aggregatorNode) : ranking;
  if (!aggregatorNodeEligible && ranked.length > 0) return ranked;
  return [...ranked, aggregatorNode];
}

/** [POE-7.3] order[⌊(s − p − 1)/W⌋ mod n]. */
export function electProducer(order: readonly string[], parentSlot: number, slot: number, W: number): string {
  if (!(slot > parentSlot)) throw new RangeError(`BAD_SLOT slot=${slot} parentSlot=${parentSlot}`);
  if (order.length === 0) throw new RangeError('EMPTY_ORDER');
  return order[Math.floor((slot - parentSlot - 1) / W) % order.length]!;
}

/**
 * [SUB] The run of blocks at the tip's slot: `sub`, the tip's place in it (0 when its parent is at
 * an earlier slot), and `beforeSlot`, the slot of the block before the run (the parent slot its
 * producer was elected by). Read from blockHashes, which hold the chain from the final block up:
 * the final block is always before the run (a justification's rounds are before its block's slot).
 * Undefined at genesis, or if blockHashes did not reach before the run.
 */
export function tipRun(state: ChainState): { sub: number; beforeSlot: number } | undefined {
  const { height, tipSlot } = state.meta;
  if (height < 1) return undefined;
  let sub = 0;
  for (let h = height - 1; h >= 0; h--) {
    const e = state.sections.blockHashes.get(String(h));
    if (e === undefined) return undefined;
    if (e.slot !== tipSlot) return { sub, beforeSlot: e.slot };
    sub++;
  }
  return undefined;
}

/**
 * [CENSOR] [LIVE] [POE-7.3] The producer of the child of `parent` at `slot`, given the epoch's
 * ranking. [SUB] At the parent's own slot: the producer elected by the slot before the parent's
 * run, the one who made it. Throws RangeError BAD_SLOT before the parent's slot, and at it when
 * the parent is genesis.
 */
export function electedProducer(parent: ChainState, slot: number, ranking: readonly string[]): string {
  const g = parent.genesis;
  const aggregatorEligible = !parent.sections.equivocators.has(g.aggregatorNodeKey);
  if (aggregatorEligible && inInclusionWindow(g, slot)) return g.aggregatorNodeKey;
  let parentSlot = parent.meta.tipSlot;
  if (slot === parentSlot) {
    const run = tipRun(parent);
    if (run === undefined) throw new RangeError(`BAD_SLOT slot=${slot} parentSlot=${parentSlot}`);
    parentSlot = run.beforeSlot;
  }
  return electProducer(productionOrder(ranking, g.aggregatorNodeKey, aggregatorEligible), parentSlot, slot, g.patience);
}

/**
 * [SUB] The place in its slot of a child of `parent` at `slot`: 0 after an earlier slot, the
 * tip's place + 1 at the tip's slot; undefined when no child may be made there (before the tip's
 * slot, at genesis's slot, or past BLOCKS_PER_SLOT).
 */
export function subForChild(parent: ChainState, slot: number): number | undefined {
  if (slot > parent.meta.tipSlot) return 0;
  if (slot < parent.meta.tipSlot) return undefined;
  const run = tipRun(parent);
  if (run === undefined || run.sub + 1 >= BLOCKS_PER_SLOT) return undefined;
  return run.sub + 1;
}

/**
 * [REWARD] Whether an empty child of `parent` at `slot` is valid: a heartbeat, at least W
 * slots after its parent, or [MKT-GATE] a block that clears a P2P market whose gate has come
 * (so the clearing does not wait for the next heartbeat, up to W slots after the gate).
 */
export function emptyBlockAllowed(parent: ChainState, slot: number): boolean {
  return slot - parent.meta.tipSlot >= parent.genesis.patience || marketDue(parent, slotTime(parent.genesis, slot));
}

/** [FIN-J] whether a block's transactions are justifications only (or none): such a block counts as empty [REWARD]. */
export function onlyJustifications(txs: readonly unknown[]): boolean {
  return txs.every((t) => (t as { operation?: unknown }).operation === 'justification');
}

/** [MKT-GATE] a P2P market still open whose gate is at or before `time`: a block at `time` clears it. */
function marketDue(parent: ChainState, time: number): boolean {
  const g = parent.genesis;
  return parent.meta.marketsActive.some((e) => time >= marketGate(g, e) && parent.sections.markets.get(String(e))?.status === 'open');
}

/** The production order of `epoch` for a child of `state`. */
export function orderForEpoch(state: ChainState, epoch: number): readonly string[] {
  const g = state.genesis;
  const { ranking } = rankingForEpoch(state, epoch);
  return productionOrder(ranking, g.aggregatorNodeKey, !state.sections.equivocators.has(g.aggregatorNodeKey));
}

/** The address entitled to produce the child of `state` at `slot`. */
export function producerForSlot(state: ChainState, slot: number): string {
  const g = state.genesis;
  return electedProducer(state, slot, rankingForEpoch(state, epochOfSlot(g, slot)).ranking);
}

/**
 * The first slot after `fromSlot` (exclusive) at which `address` may produce a child of
 * `state`, within the same epoch; undefined if none. Helps a node schedule production.
 */
export function nextSlotFor(state: ChainState, address: string, fromSlot: number): number | undefined {
  const g = state.genesis;
  const start = Math.max(fromSlot + 1, state.meta.tipSlot + 1);
  const epoch = epochOfSlot(g, start);
  const order = orderForEpoch(state, epoch);
  const end = Math.ceil(((epoch + 1) * g.intervalMs) / g.slotMs); // first slot of the next epoch
  const n = order.length;
  const rank = order.indexOf(address);
  if (rank < 0) return undefined;
  // [CENSOR] the inclusion window: the aggregator's node alone (slower path, rare)
  if (g.inclusionSlots > 0) {
    const { ranking } = rankingForEpoch(state, epoch);
    for (let s = start; s < end; s++) if (electedProducer(state, s, ranking) === address) return s;
    return undefined;
  }
  const p = state.meta.tipSlot;
  const W = g.patience;
  const w0 = Math.floor((start - p - 1) / W);
  const w = w0 + ((((rank - w0) % n) + n) % n);
  const slot = w === w0 ? start : p + 1 + w * W;
  return slot < end ? slot : undefined;
}
