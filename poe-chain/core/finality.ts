/**
 * The finality gadget's pure rules (README "Finality"): committees, votes, quorum, links,
 * and the two voting rules whose breach is evidence. Casper FFG (Buterin & Griffith 2017)
 * with a slot as its epoch: a checkpoint is (round, block), a vote is a link source → target.
 *
 *   [FIN-C]  committee of an epoch = the first committeeSize addresses of its ranking, then
 *            the aggregator's node unless it is an equivocator; fixed at the epoch's first
 *            block (chain state: committees). One vote per member (not weighted).
 *            Committees change only through finality (Casper FFG's dynasties): the committee
 *            that counts a link on a branch is the committee *in force* in the target block's
 *            state, the committee recorded for the epoch of that state's last final checkpoint
 *            (meta.finalized), not the committee of the target's epoch (committeeInForce). A
 *            new epoch's committee takes effect once a block of that epoch (or later) is final
 *            on chain, finalised by the committee before it. Before any block, the aggregator's
 *            node alone (the committee of epoch 0 on a chain with nobody ranked).
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
 * have broken [FIN-E], and their votes prove it. Take two conflicting final blocks and F, the
 * last checkpoint final on both branches (genesis at worst). On each branch the first block
 * finalised after F was finalised while F was the branch's final checkpoint, so by committee(F)
 * — one committee, recorded on F's own chain, the same on both branches: two quorums of it
 * voted for conflicting checkpoints and more than a third of it broke [FIN-E] (the FFG argument
 * for one validator set). F must be final on chain on both branches: a branch whose chain lacks
 * the justification that made a later block final elsewhere still counts by the older
 * committee, so an honest node does not vote while the committee in force on its head is older
 * than the one its own final block puts in force (node/finalityGadget.ts). The cost: a committee
 * change lags finality, and if more than a third of the committee in force goes away for good,
 * finality stops until they return.
 */
import { createHash } from 'node:crypto';
import { canonicalBytes, canonicalize } from '../../wire/canonicalJson.js';
import { PublicKeyCache, verifyBytes } from '../../wire/keys.js';
import type { Checkpoint, Envelope, VoteParams, VoteSignature } from '../../schemas/types.js';
import type { BlockHashEntry, ChainState, StateMeta } from './chainState.js';
import { epochOfSlot, type Genesis } from './genesis.js';

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

/**
 * [FIN-C] the epoch whose committee is in force in a state: the epoch of the block at
 * meta.finalized (its slot from blockHashes, which hold the chain from the final block up).
 * The same function records it in each block's blockHashes entry (committeeEpoch, at the next
 * block's beginBlock), so that the chain checks a link against the committee in force in its
 * target block's state, exactly as a node counts gossiped votes.
 */
export function committeeEpochInForce(g: Genesis, meta: Pick<StateMeta, 'finalized'>, blockHashes: { get(key: string): BlockHashEntry | undefined }): number {
  const at = blockHashes.get(String(meta.finalized.height));
  // blockHashes always hold the final block (pruning keeps heights from it up); the round is a bound, never reached
  return epochOfSlot(g, at?.slot ?? meta.finalized.round);
}

/**
 * [FIN-C] the committee in force in a state (the target block's state for a link, the head's
 * state for a vote): the one function the chain (applyJustification, via the target's
 * blockHashes entry), the node's gadget (counting votes) and the voter use. The genesis state
 * records no committee yet: the aggregator's node alone, with the genesis ranking.
 */
export function committeeInForce(state: ChainState): { epoch: number; members: readonly string[] } {
  const g = state.genesis;
  const epoch = committeeEpochInForce(g, state.meta, state.sections.blockHashes);
  const recorded = state.sections.committees.get(String(epoch));
  if (recorded !== undefined) return { epoch, members: recorded };
  return { epoch, members: committeeOf(state.meta.ranking, g.aggregatorNodeKey, !state.sections.equivocators.has(g.aggregatorNodeKey), g.committeeSize) };
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
