/**
 * Fork choice (DESIGN §7, README "Fork choice and finality").
 *
 *   [FC-J] the best of two valid chain tips is the one whose chain has justified the higher
 *          round [FIN-J] (meta.justified of its state); then
 *   [FC-1] the greater weight: the height less the blocks at a place > 0 of their slot [SUB]
 *          (the number of slots with a block; equal to the height on a chain without such
 *          blocks); at equal weight the one whose tip has the smaller slot (it was produced by
 *          the better-ranked producer, who may produce earlier); then the smaller block hash.
 *   [FC-2] a node never switches to a branch that forks below its final block: the finality
 *          gadget's final checkpoint (node/finalityGadget.ts), never a depth.
 *
 * Why longest chain fits PoE with patience W: the validator ranked k may only produce
 * after k·W silent slots following its parent, so a lower-ranked producer's private
 * branch grows at most one block per k·W + 1 slots while the top-ranked live producer
 * extends the public chain at least every W slots (heartbeat); a run of blocks at one slot
 * [SUB] counts once, so splitting a slot's block into five does not change this. Finality does not rest on
 * that: a block is final once two thirds of a committee have voted for it in two rounds
 * in a row (core/finality.ts), and [FC-J] keeps every node on the branch with the latest
 * justification, so that honest voters can always vote without breaking a voting rule.
 */
export interface TipInfo {
  height: number;
  /** [SUB] blocks on the tip's chain at a place > 0 of their slot (meta.subBlocks; 0 when absent) */
  subBlocks?: number;
  slot: number;
  hash: string;
  /** [FC-J] the highest justified round on the tip's chain (0 when only genesis) */
  justifiedRound?: number;
}

/** [FC-J] [FC-1] negative when a is the better tip, positive when b is, 0 when the same. */
export function compareTips(a: TipInfo, b: TipInfo): number {
  const ja = a.justifiedRound ?? 0;
  const jb = b.justifiedRound ?? 0;
  if (ja !== jb) return jb - ja;
  // [SUB] a run of blocks at one slot weighs as one block: a producer cannot outweigh a branch by splitting its blocks
  const wa = a.height - (a.subBlocks ?? 0);
  const wb = b.height - (b.subBlocks ?? 0);
  if (wa !== wb) return wb - wa;
  if (a.slot !== b.slot) return a.slot - b.slot;
  return a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0;
}

/** The best of some tips (undefined for none). */
export function bestTip<T extends TipInfo>(tips: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const t of tips) if (best === undefined || compareTips(t, best) < 0) best = t;
  return best;
}

/**
 * [FC-J] [FC-1] [FC-2] whether to switch from the current head to a candidate tip whose
 * branch shares the blocks up to forkHeight with the current chain, given the height of the
 * node's final block.
 */
export function shouldSwitch(current: TipInfo, candidate: TipInfo, forkHeight: number, finalHeight: number): boolean {
  if (forkHeight < finalHeight) return false;
  return compareTips(candidate, current) < 0;
}
