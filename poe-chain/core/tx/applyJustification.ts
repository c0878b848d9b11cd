/**
 * justification [FIN-J] (README "Finality"): a quorum of one committee's votes for one link
 * source → target. Anyone may submit it (the votes carry the authority); a node puts the links
 * it saw justified by gossip into its own mempool.
 *   [FIN-1] target: a block of this chain below this one (blockHashes), height ≥ 1; its slot ≤
 *           target.round < this block's slot                                  UNKNOWN_TARGET, BAD_ROUND
 *           and the head of this chain in that round: the next block of this chain has a
 *           later slot (Gasper's epoch-boundary pair: one checkpoint per round and chain, so
 *           the justified checkpoint of a later round never points below an earlier one's) NOT_HEAD_AT_ROUND
 *   [FIN-2] source: a justified checkpoint of this chain (justified), source.round <
 *           target.round, source.height ≤ target.height                       UNJUSTIFIED_SOURCE, BAD_LINK
 *   [FIN-3] target.round not justified yet                                    ALREADY_JUSTIFIED
 *   [FIN-4] the votes: distinct members of the committee in force in the target block's state
 *           [FIN-C] (the committee of the epoch of its last final checkpoint: blockHashes
 *           committeeEpoch, then committees), not the committee of the target's own epoch; at
 *           least quorum(n) of them, each a valid signature of its vote envelope (finality.ts
 *           voteEnvelope)                          NO_COMMITTEE, DUPLICATE_VOTER, NOT_IN_COMMITTEE, NO_QUORUM, BAD_VOTE_SIGNATURE
 *   Effect: target is justified (meta.justified if its round is the highest); [FIN-F] when
 *   target.round = source.round + 1, source is final (meta.finalized if higher) and the
 *   records below it are pruned: justified rounds and blockHashes heights older than the final
 *   checkpoint's, and the committees of epochs below every committeeEpoch still in blockHashes
 *   (the committee in force at the final block stays, and so does the final block's epoch's).
 */
import type { Envelope } from '../../../schemas/types.js';
import { TxError } from '../chainError.js';
import { quorum, voteEnvelope, voteSignatureValid } from '../finality.js';
import type { StateDraft } from '../chainState.js';
import { epochOfSlot } from '../genesis.js';
import type { TxContext } from './txContext.js';

export function applyJustification(env: Envelope<'justification'>, ctx: TxContext): void {
  const d = ctx.draft;
  const { source, target, votes } = env.parameters;
  // [FIN-1]
  const at = target.height >= 1 && target.height <= d.meta.height ? d.s.blockHashes.get(String(target.height)) : undefined;
  if (at === undefined || at.hash !== target.hash) throw new TxError('UNKNOWN_TARGET', { height: target.height, hash: target.hash });
  if (!(target.round >= at.slot && target.round < ctx.slot)) throw new TxError('BAD_ROUND', { round: target.round, blockSlot: at.slot, slot: ctx.slot });
  const next = target.height < d.meta.height ? d.s.blockHashes.get(String(target.height + 1)) : undefined;
  if (next !== undefined && next.slot <= target.round) throw new TxError('NOT_HEAD_AT_ROUND', { round: target.round, height: target.height, nextSlot: next.slot });
  // [FIN-2]
  const js = d.s.justified.get(String(source.round));
  if (js === undefined || js.height !== source.height || js.hash !== source.hash) throw new TxError('UNJUSTIFIED_SOURCE', { round: source.round, height: source.height });
  if (!(source.round < target.round && source.height <= target.height)) throw new TxError('BAD_LINK', { source: source.round, target: target.round });
  // [FIN-3]
  if (d.s.justified.has(String(target.round))) throw new TxError('ALREADY_JUSTIFIED', { round: target.round });
  // [FIN-4]
  // [FIN-C] the committee in force in the target's state (recorded at the next block's beginBlock)
  const epoch = at.committeeEpoch;
  const committee = d.s.committees.get(String(epoch));
  if (committee === undefined) throw new TxError('NO_COMMITTEE', { epoch });
  const members = new Set(committee);
  const voters = new Set<string>();
  for (const v of votes) {
    if (voters.has(v.voter)) throw new TxError('DUPLICATE_VOTER', { voter: v.voter });
    if (!members.has(v.voter)) throw new TxError('NOT_IN_COMMITTEE', { voter: v.voter, epoch });
    voters.add(v.voter);
  }
  const need = quorum(committee.length);
  if (voters.size < need) throw new TxError('NO_QUORUM', { votes: voters.size, needed: need, committee: committee.length });
  for (const v of votes) {
    if (!voteSignatureValid(voteEnvelope(v, { source, target }, d.meta.genesisHash))) throw new TxError('BAD_VOTE_SIGNATURE', { voter: v.voter });
  }
  d.s.justified.set(String(target.round), { height: target.height, hash: target.hash });
  if (target.round > d.meta.justified.round) d.meta.justified = { ...target };
  // [FIN-F]
  if (target.round === source.round + 1 && source.round > d.meta.finalized.round) finalize(d, { ...source });
}

function finalize(d: StateDraft, cp: { round: number; height: number; hash: string }): void {
  d.meta.finalized = cp;
  const dropRounds: string[] = [];
  for (const [k] of d.s.justified.entries()) if (Number(k) < cp.round) dropRounds.push(k);
  for (const k of dropRounds) d.s.justified.delete(k);
  const dropHeights: string[] = [];
  for (const [k] of d.s.blockHashes.entries()) if (Number(k) < cp.height) dropHeights.push(k);
  for (const k of dropHeights) d.s.blockHashes.delete(k);
  // [FIN-C] every committee a kept block has in force stays (a link to that block is counted by it), and so
  // does every later epoch's (the final block's: in force from now on)
  let keepFrom = Infinity;
  for (const [, e] of d.s.blockHashes.entries()) keepFrom = Math.min(keepFrom, e.committeeEpoch);
  const finalSlot = d.s.blockHashes.get(String(cp.height))?.slot ?? 0;
  keepFrom = Math.min(keepFrom, epochOfSlot(d.genesis, finalSlot));
  const dropEpochs: string[] = [];
  for (const [k] of d.s.committees.entries()) if (Number(k) < keepFrom) dropEpochs.push(k);
  for (const k of dropEpochs) d.s.committees.delete(k);
}
