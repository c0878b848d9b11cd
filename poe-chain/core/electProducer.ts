/**
 * Slot-based production (DESIGN §7):
 *   [POE-7.3] the producer of a block at slot s whose parent is at slot p is
 *             ranking[⌊(s − p − 1) / W⌋ mod n]; with an empty ranking, the aggregator's node.
 * So the best-ranked validator may produce from slot p + 1, the next one takes over after
 * W silent slots, and so on round the ranking.
 */
import type { ChainState } from './chainState.js';
import { epochOfSlot } from './genesis.js';
import { rankingForEpoch } from './rankingForEpoch.js';

export function electProducer(ranking: readonly string[], parentSlot: number, slot: number, W: number, fallback: string): string {
  if (!(slot > parentSlot)) throw new RangeError(`BAD_SLOT slot=${slot} parentSlot=${parentSlot}`);
  const n = ranking.length;
  if (n === 0) return fallback;
  return ranking[Math.floor((slot - parentSlot - 1) / W) % n]!;
}

/** The address entitled to produce the child of `state` at `slot`. */
export function producerForSlot(state: ChainState, slot: number): string {
  const g = state.genesis;
  const { ranking } = rankingForEpoch(state, epochOfSlot(g, slot));
  return electProducer(ranking, state.meta.tipSlot, slot, g.patience, g.aggregatorNodeKey);
}

/**
 * The first slot after `fromSlot` (exclusive) at which `address` may produce a child of
 * `state`, within the same epoch; undefined if none. Helps a node schedule production.
 */
export function nextSlotFor(state: ChainState, address: string, fromSlot: number): number | undefined {
  const g = state.genesis;
  const start = Math.max(fromSlot + 1, state.meta.tipSlot + 1);
  const epoch = epochOfSlot(g, start);
  const { ranking } = rankingForEpoch(state, epoch);
  const end = Math.ceil(((epoch + 1) * g.intervalMs) / g.slotMs); // first slot of the next epoch
  const n = ranking.length;
  if (n === 0) return address === g.aggregatorNodeKey ? start : undefined;
  const rank = ranking.indexOf(address);
  if (rank < 0) return undefined;
  const p = state.meta.tipSlot;
  const W = g.patience;
  const w0 = Math.floor((start - p - 1) / W);
  const w = w0 + ((((rank - w0) % n) + n) % n);
  const slot = w === w0 ? start : p + 1 + w * W;
  return slot < end ? slot : undefined;
}
