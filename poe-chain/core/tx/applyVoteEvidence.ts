/**
 * vote-evidence [FIN-E] (README "Finality"): two votes signed by one committee member that
 * break a voting rule.
 *   [FIN-E1] both are `vote` envelopes of this chain (schema, `chain`), signed by the same
 *            clientId, each signature valid, and they conflict: a double vote (two different
 *            votes for one target round) or a surround vote (s1 < s2, t2 < t1), by a validator: a
 *            certified pseudonym or the aggregator's node (evidence cannot fill the state with
 *            made-up keys)                                                       BAD_VOTE_EVIDENCE
 *   [FIN-E2] the member is not yet recorded                                     ALREADY_EQUIVOCATOR
 *   Effect: as a producer's equivocation [POE-7.equivocation] (applyEvidence.ts): recorded in
 *   equivocators (slot = the later target round), out of the ranking at once and of every later
 *   ranking and committee, its rewards taken back. Anyone may submit it.
 */
import type { Envelope } from '../../../schemas/types.js';
import { envelopeValidator } from '../../../schemas/validators.js';
import { TxError } from '../chainError.js';
import { voteConflict, voteSignatureValid } from '../finality.js';
import { punishEquivocator } from './applyEvidence.js';
import type { TxContext } from './txContext.js';

const validVote = envelopeValidator('vote');

export function applyVoteEvidence(env: Envelope<'vote-evidence'>, ctx: TxContext): void {
  const d = ctx.draft;
  const votes = [env.parameters.a, env.parameters.b];
  for (const v of votes) {
    if (!validVote(v)) throw new TxError('BAD_VOTE_EVIDENCE', { reason: 'not a vote envelope' });
    if (v.chain !== d.meta.genesisHash) throw new TxError('BAD_VOTE_EVIDENCE', { reason: 'not a vote of this chain' });
  }
  const [a, b] = votes as unknown as [Envelope<'vote'>, Envelope<'vote'>];
  if (a.clientId !== b.clientId) throw new TxError('BAD_VOTE_EVIDENCE', { reason: 'two voters' });
  if (!d.s.certs.has(a.clientId) && a.clientId !== d.genesis.aggregatorNodeKey) throw new TxError('BAD_VOTE_EVIDENCE', { reason: 'not a validator' });
  const conflict = voteConflict(a.parameters, b.parameters);
  if (conflict === undefined) throw new TxError('BAD_VOTE_EVIDENCE', { reason: 'the votes do not conflict' });
  if (!voteSignatureValid(a) || !voteSignatureValid(b)) throw new TxError('BAD_VOTE_EVIDENCE', { reason: 'bad signature' });
  if (d.s.equivocators.has(a.clientId)) throw new TxError('ALREADY_EQUIVOCATOR', { producer: a.clientId });
  punishEquivocator(d, a.clientId, Math.max(a.parameters.target.round, b.parameters.target.round), ctx.height);
}
