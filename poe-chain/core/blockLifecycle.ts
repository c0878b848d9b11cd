/**
 * What happens in every block around its transactions (README "State transition"):
 *
 * beginBlock (before the transactions, with the block's slot time T):
 *   [BB-1] first block of a new epoch e: store the ranking of e (computed from the parent
 *          state with the seed of e) [POE-7.rank]; record the epoch's new VRF seed [SEED];
 *          prune readings, reading heads, certificates and delivery records [SETTLE-1] older than
 *          readingRetentionIntervals, old auctions [AC-5] and old P2P markets [MKT-PRUNE]
 *   [BB-2] (no longer: auctions are not void; every auction is cleared by [EB-0])
 *   [BB-3] forget seen transaction ids whose window has passed [TX-3]
 *   [BB-4] [FIN-J] record the parent's hash and slot at its height (blockHashes), with the epoch
 *          whose committee is in force in the parent's state [FIN-C] (committeeEpoch: it counts
 *          the links that target the parent), and at the first block of an epoch that epoch's
 *          committee [FIN-C] (committees; in force once a block of the epoch is final; the first
 *          block of a chain records it for epoch 0 too, the genesis checkpoint's)
 * endBlock (after the transactions):
 *   [EB-0] clear the open-bid auctions whose closesAt ≤ block time and that no
 *          auction-close of this block cleared [CLOSE], and the sealed auctions whose
 *          closesAt + revealWindowMs ≤ block time [SEALED]
 *   [EB-0b] clear the P2P markets whose gate has come [MKT-GATE]
 *   [EB-1] settle awards that are due [AC-3], then the P2P fills that are due [MKT-SETTLE]
 *   [EB-2] block reward [REWARD]: ⌊blockRewardMc × min(s − p, W) / W⌋ minted to the producer
 *          (s its slot, p the parent's) if it holds a certificate (still in state) for RE
 *          or RE+TE and is neither revoked nor an equivocator. Paid by the slots a block
 *          covers, not per block: making blocks more often earns nothing more (at most
 *          blockRewardMc per W slots)
 *   [EB-3] meta.height, meta.tipSlot; [SUB] meta.subBlocks + 1 for a block at a place > 0 of
 *          its slot (absent while there is none, so chains without such blocks keep their roots)
 */
import { closeDueAuctions, pruneAuctions, pruneDeliveries, settleDueAwards } from './auctionContract.js';
import { pruneSeen } from './applyTransaction.js';
import { clearDueMarkets, pruneMarkets, settleDueMarkets } from './marketContract.js';
import type { StateDraft } from './chainState.js';
import { epochStart } from './genesis.js';
import { SEEDS_KEPT } from './epochSeed.js';
import { computeRanking, seedForEpoch } from './rankingForEpoch.js';
import { committeeEpochInForce, committeeOf } from './finality.js';

export function beginBlock(d: StateDraft, p: { epoch: number; time: number; parentHash: string; ranking?: readonly string[]; newSeed?: string }): void {
  // before the transactions, d is the parent's state
  const committeeEpoch = committeeEpochInForce(d.genesis, d.meta, d.s.blockHashes);
  d.s.blockHashes.set(String(d.meta.height), { hash: p.parentHash, slot: d.meta.tipSlot, committeeEpoch });
  if (p.epoch > d.meta.rankingEpoch) {
    const firstBlock = d.meta.rankingEpoch < 0;
    const seed = seedForEpoch(d.meta, p.epoch);
    d.meta.ranking = p.ranking !== undefined ? [...p.ranking] : computeRanking(d.s, p.epoch, seed, d.genesis);
    d.meta.rankingEpoch = p.epoch;
    d.meta.seed = seed;
    if (p.newSeed === undefined) throw new Error('first block of an epoch without its seed');
    d.meta.seeds = [...d.meta.seeds, [p.epoch, p.newSeed] as [number, string]].slice(-SEEDS_KEPT);
    pruneEpoch(d, p.epoch);
    const g = d.genesis;
    const committee = committeeOf(d.meta.ranking, g.aggregatorNodeKey, !d.s.equivocators.has(g.aggregatorNodeKey), g.committeeSize);
    d.s.committees.set(String(p.epoch), committee);
    // [FIN-C] the genesis checkpoint is of epoch 0, whose committee is in force until a later block is final:
    // a chain whose first block is of a later epoch records it there too
    if (firstBlock && p.epoch !== 0) d.s.committees.set('0', committee);
  }
  pruneSeen(d, p.time);
}

function pruneEpoch(d: StateDraft, epoch: number): void {
  const g = d.genesis;
  const oldest = epoch - g.readingRetentionIntervals;
  if (oldest > 0) {
    const drop: string[] = [];
    for (const [key] of d.s.readings.entries()) {
      if (Number(key.slice(key.lastIndexOf('|') + 1)) < oldest) drop.push(key);
    }
    for (const k of drop) d.s.readings.delete(k);
    const heads: string[] = [];
    for (const [addr, h] of d.s.readingHeads.entries()) if (h.interval < oldest) heads.push(addr);
    for (const a of heads) d.s.readingHeads.delete(a);
    const cutoff = epochStart(g, oldest);
    const certs: string[] = [];
    for (const [addr, c] of d.s.certs.entries()) if (c.validTo < cutoff) certs.push(addr);
    for (const a of certs) d.s.certs.delete(a);
    pruneDeliveries(d, oldest);
  }
  pruneAuctions(d, epoch);
  pruneMarkets(d, epoch);
}

/** [REWARD] the reward of a block at `slot` whose parent is at `parentSlot`. */
export function blockReward(blockRewardMc: bigint, parentSlot: number, slot: number, W: number): bigint {
  return (blockRewardMc * BigInt(Math.min(slot - parentSlot, W))) / BigInt(W);
}

export function endBlock(d: StateDraft, p: { height: number; slot: number; sub: number; time: number; producer: string }): void {
  closeDueAuctions(d, p.time, p.height);
  clearDueMarkets(d, p.time, p.height);
  settleDueAwards(d, p.time, p.height);
  settleDueMarkets(d, p.time, p.height);
  const g = d.genesis;
  const cert = d.s.certs.get(p.producer);
  const reward = blockReward(g.blockRewardMc, d.meta.tipSlot, p.slot, g.patience);
  if (
    reward > 0n &&
    cert !== undefined &&
    (cert.programme === 'RE' || cert.programme === 'RE+TE') &&
    !d.s.revoked.has(p.producer) &&
    !d.s.equivocators.has(p.producer)
  ) {
    d.credit(p.producer, reward);
    d.s.rewards.set(p.producer, (BigInt(d.s.rewards.get(p.producer) ?? '0') + reward).toString());
  }
  d.meta.height = p.height;
  d.meta.tipSlot = p.slot;
  // [SUB] fork choice counts slots, not blocks: a run of blocks at one slot weighs as one
  if (p.sub > 0) d.meta.subBlocks = (d.meta.subBlocks ?? 0) + 1;
}
