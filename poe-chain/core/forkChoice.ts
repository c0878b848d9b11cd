/**
 * Fork choice and finality (DESIGN §7, README "Fork choice and finality").
 *
 *   [FC-1] the best of two valid chain tips is the one with the greater height; at equal
 *          height the one whose tip has the smaller slot (it was produced by the
 *          better-ranked producer, who may produce earlier); then the smaller block hash.
 *   [FC-2] a block is final once finalityDepth blocks are built on it on the best chain
 *          (height ≤ head height − finalityDepth). A node never switches to a branch that
 *          forks below its last final block, so final blocks are never reverted by it.
 *
 * Why longest chain fits PoE with patience W: the validator ranked k may only produce
 * after k·W silent slots following its parent, so a lower-ranked producer's private
 * branch grows at most one block per k·W + 1 slots while the top-ranked live producer
 * extends the public chain at least every W slots (heartbeat). Finality by depth is a
 * rule of thumb, not a BFT guarantee: it assumes the top-ranked validators are honest and
 * live most of the time, which the ranking (fresh each epoch, equivocators excluded) favours.
 */
export interface TipInfo {
  height: number;
  slot: number;
  hash: string;
}

/** [FC-1] negative when a is the better tip, positive when b is, 0 when the same. */
export function compareTips(a: TipInfo, b: TipInfo): number {
  if (a.height !== b.height) return b.height - a.height;
  if (a.slot !== b.slot) return a.slot - b.slot;
  return a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0;
}

/** The best of some tips (undefined for none). */
export function bestTip<T extends TipInfo>(tips: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const t of tips) if (best === undefined || compareTips(t, best) < 0) best = t;
  return best;
}

/** [FC-2] the greatest final height on a chain whose head is at headHeight (0 = genesis only). */
export function finalizedHeight(headHeight: number, finalityDepth: number): number {
  return Math.max(0, headHeight - finalityDepth);
}

/**
 * [FC-1] [FC-2] whether to switch from the current head to a candidate tip whose branch
 * shares the blocks up to forkHeight with the current chain.
 */
export function shouldSwitch(current: TipInfo, candidate: TipInfo, forkHeight: number, finalityDepth: number): boolean {
  if (forkHeight < finalizedHeight(current.height, finalityDepth)) return false;
  return compareTips(candidate, current) < 0;
}
