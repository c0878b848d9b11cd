/**
 * The finality gadget's pure rules (README "Finality"): committees, votes, quorum, links,
 * and the two voting rules whose breach is evidence. Casper FFG (Buterin & Griffith 2017)
 * with a slot as its epoch: a checkpoint is (round, block), a vote is a link source → target.
 *
 *   [FIN-C]  committee of an epoch = the first committeeSize addresses of its ranking, then
 *            the aggregator's node unless it is an equivocator; fixed at the epoch's first
 *            block (chain state: committees). One vote per member (not weighted).
 *   [FIN-Q]  quorum(n) = ⌊2n/3⌋ + 1 distinct members: more than two thirds, so two quorums of
 *            one committee share more than n/3 members.
 *   [FIN-J]  the genesis checkpoint {round 0, height 0, genesis hash} is justified and final;
 *            a target is justified by a quorum of its committee voting one link source → target
 *            from a justified source, with source.round < target.round and target descending from
 *            source (a descendant or the block itself).
 *   [FIN-F]  a justified source is final once a link source → target with
 *            target.round = source.round + 1 is justified; it and all its ancestors are final.
 *   [FIN-E]  a member must never sign
 *              (double)   two different votes with the same target round, or
 *              (surround) a vote whose link lies strictly inside another of its links:
 *                         s1 < s2 and t2 < t1.
 *            Two such votes are evidence: the member becomes an equivocator (out of every later
 *            ranking and committee, its rewards taken back), like a producer's double header.
 * Accountable safety (FFG): two conflicting final blocks need a third of one committee to
 * have broken [FIN-E], and their votes prove it. Across a change of committee (a new epoch)
 * the bound holds for committees that share two thirds; README "Finality" says what that means.
 */
import { createHash } from 'node:crypto';
import { canonicalBytes, canonicalize } from '../../wire/canonicalJson.js';
import { PublicKeyCache, verifyBytes } from '../../wire/keys.js';
import type { Checkpoint, Envelope, VoteParams, VoteSignature } from '../../schemas/types.js';

export type { Checkpoint } from '../../schemas/types.js';

/** [FIN-Q] more than two thirds of n. */
export function quorum(n: number): number {
  return Math.floor((2 * n) / 3) + 1;
}

/** [FIN-C] the committee from an epoch's ranking. */
export function committeeOf(ranking: readonly string[], aggregatorNode: string, aggregatorEligible: boolean, size: number): string[] {
  const members = ranking.filter((a) => a !== aggregatorNode).slice(0, size);
  if (aggregatorEligible) members.push(aggregatorNode);
  return members;
}

/** [FIN-J] the genesis checkpoint: justified and final from the start. */
export function genesisCheckpoint(genesisHash: string): Checkpoint {
  return { round: 0, height: 0, hash: genesisHash };
}

export function sameCheckpoint(a: Checkpoint, b: Checkpoint): boolean {
  return a.round === b.round && a.height === b.height && a.hash === b.hash;
}

/** A link's identity: votes for the same link count together. */
export function linkKey(source: Checkpoint, target: Checkpoint): string {
  return canonicalize({ source, target });
}

/** [FIN-E] why two votes of one member break a voting rule, or undefined. */
export function voteConflict(a: VoteParams, b: VoteParams): 'double' | 'surround' | undefined {
  if (a.target.round === b.target.round) return sameCheckpoint(a.target, b.target) && sameCheckpoint(a.source, b.source) ? undefined : 'double';
  if (a.source.round < b.source.round && b.target.round < a.target.round) return 'surround';
  if (b.source.round < a.source.round && a.target.round < b.target.round) return 'surround';
  return undefined;
}

/** [FIN-J] the vote envelope a justification's entry stands for (its signature is checked on it). */
export function voteEnvelope(v: VoteSignature, link: VoteParams, chain: string): Envelope<'vote'> {
  return { clientId: v.voter, reqId: v.reqId, date: v.date, operation: 'vote', chain, signature: v.signature, parameters: { source: link.source, target: link.target } };
}

/** The entry of a justification for a signed vote envelope. */
export function voteSignatureOf(env: Envelope<'vote'>): VoteSignature {
  return { voter: env.clientId, reqId: env.reqId, date: env.date, signature: env.signature };
}

const keys = new PublicKeyCache(10_000);
/** signatures already found valid, with the bytes they sign: a vote is checked once per process (gossip, mempool, build, import) */
const verified = new Map<string, true>();
const VERIFIED_MAX = 50_000;

/**
 * [FIN-J] whether a vote envelope's signature is its clientId's Ed25519 signature over the
 * canonical JSON of the envelope without `signature` (as the codec signs every envelope).
 * The schema is the caller's: justification and vote-evidence are schema-checked as a whole.
 */
export function voteSignatureValid(env: Envelope<'vote'>): boolean {
  const { signature, ...unsigned } = env;
  const sig = Buffer.from(signature, 'base64');
  if (sig.toString('base64') !== signature) return false;
  try {
    const bytes = canonicalBytes(unsigned);
    const memo = createHash('sha256').update(env.clientId).update(sig).update(bytes).digest('base64');
    if (verified.has(memo)) return true;
    const ok = verifyBytes(keys.get(env.clientId), bytes, sig);
    if (ok) {
      if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
      verified.set(memo, true);
    }
    return ok;
  } catch {
    return false;
  }
}
