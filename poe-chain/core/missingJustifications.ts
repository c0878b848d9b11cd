/**
 * [FIN-R] Which of the links a node saw justified its chain still lacks (README "Finality",
 * "After a restart"). Pure: a head state and the node's links in, two lists out.
 *
 *   keep    the links whose target round is above the chain's meta.justified round. The others
 *           are on chain, or the chain has justified a later round without them: a node's later
 *           links start from the chain's justified checkpoints, so they are never needed again.
 *   submit  of those kept, the ones the chain can take now, in round order: the source is
 *           justified in the state (section `justified`, same block) or is the target of a link
 *           before it in this list, and the target round is not justified yet. A link whose
 *           source is not reached waits (kept, not submitted).
 *
 * A link that went only into a mempool is lost when the node crashes or when the mempool drops
 * it; then every later link of that node, whose source is the lost link's target, is refused
 * UNJUSTIFIED_SOURCE and the chain's justification stops (simulator bug 6).
 */
import type { Justification } from '../../schemas/types.js';
import type { ChainState } from './chainState.js';

export function missingJustifications(state: ChainState, links: Iterable<Justification>): { keep: Justification[]; submit: Justification[] } {
  const above = state.meta.justified.round;
  const keep = [...links].filter((l) => l.target.round > above).sort((a, b) => a.target.round - b.target.round || a.source.round - b.source.round);
  /** justified checkpoints: on chain, then the targets of the links chosen below */
  const reached = new Map<number, { height: number; hash: string }>();
  const justifiedAt = (round: number) => reached.get(round) ?? state.sections.justified.get(String(round));
  const submit: Justification[] = [];
  for (const l of keep) {
    if (justifiedAt(l.target.round) !== undefined) continue;
    const src = justifiedAt(l.source.round);
    if (src === undefined || src.height !== l.source.height || src.hash !== l.source.hash) continue;
    if (!(l.source.round < l.target.round && l.source.height <= l.target.height)) continue;
    reached.set(l.target.round, { height: l.target.height, hash: l.target.hash });
    submit.push(l);
  }
  return { keep, submit };
}
