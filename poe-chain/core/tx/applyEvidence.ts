/**
 * evidence (DESIGN §7): two headers signed by one producer for one slot.
 *   [TX-E1] same producer, same slot, same place in it (header `sub`, absent = 0) [SUB],
 *           different hashes, both signatures valid for THIS
 *           chain (signed over its genesis hash, [DOMAIN])                      BAD_EVIDENCE
 *   [TX-E2] the producer is not yet recorded                                    ALREADY_EQUIVOCATOR
 *   Effect [POE-7.equivocation]: the producer is recorded as an equivocator, leaves the
 *   current ranking at once and every later one, gets no further block rewards, and
 *   forfeits the rewards it was paid (debited from its wallet, which may go negative).
 *   Anyone may submit evidence.
 */
import type { Envelope } from '../../../schemas/types.js';
import { equivocationProblem } from '../blockHash.js';
import { TxError } from '../chainError.js';
import type { TxContext } from './txContext.js';
import type { StateDraft } from '../chainState.js';

export function applyEvidence(env: Envelope<'evidence'>, ctx: TxContext): void {
  const d = ctx.draft;
  const { a, b } = env.parameters;
  const problem = equivocationProblem(a, b, d.genesis.hash);
  if (problem !== undefined) throw new TxError('BAD_EVIDENCE', { reason: problem });
  const producer = a.header.producer;
  if (d.s.equivocators.has(producer)) throw new TxError('ALREADY_EQUIVOCATOR', { producer });
  punishEquivocator(d, producer, a.header.slot, ctx.height);
}

/** [POE-7.equivocation] [FIN-E] recorded, out of the ranking, rewards taken back. */
export function punishEquivocator(d: StateDraft, address: string, slot: number, height: number): void {
  d.s.equivocators.set(address, { slot, height });
  const paid = d.s.rewards.get(address);
  if (paid !== undefined) {
    d.credit(address, -BigInt(paid));
    d.s.rewards.delete(address);
  }
  if (d.meta.ranking.includes(address)) d.meta.ranking = d.meta.ranking.filter((x) => x !== address);
}
