/**
 * What happens in every block around its transactions (README "State transition"):
 *
 * beginBlock (before the transactions, with the block's slot time T):
 *   [BB-1] first block of a new epoch e: store the ranking of e (computed from the parent
 *          state, seed = parent hash) [POE-7.rank]; prune readings, reading heads and
 *          certificates older than readingRetentionIntervals, and old auctions [AC-5]
 *   [BB-2] void open auctions past closesAt + voidGraceMs [AC-2]
 *   [BB-3] forget seen transaction ids whose window has passed [TX-3]
 * endBlock (after the transactions):
 *   [EB-1] settle awards that are due [AC-3]
 *   [EB-2] block reward: blockRewardMc minted to the producer if it holds a certificate
 *          (still in state) for RE or RE+TE and is neither revoked nor an equivocator
 *   [EB-3] meta.height, meta.tipSlot
 */
import { pruneAuctions, settleDueAwards, voidExpiredAuctions } from './auctionContract.js';
import { pruneSeen } from './applyTransaction.js';
import type { StateDraft } from './chainState.js';
import { epochStart } from './genesis.js';
import { computeRanking } from './rankingForEpoch.js';

export function beginBlock(d: StateDraft, p: { epoch: number; time: number; parentHash: string; ranking?: readonly string[] }): void {
  if (p.epoch > d.meta.rankingEpoch) {
    d.meta.ranking = p.ranking !== undefined ? [...p.ranking] : computeRanking(d.s, p.epoch, p.parentHash);
    d.meta.rankingEpoch = p.epoch;
    d.meta.seed = p.parentHash;
    pruneEpoch(d, p.epoch);
  }
  voidExpiredAuctions(d, p.time);
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
  }
  pruneAuctions(d, epoch);
}

export function endBlock(d: StateDraft, p: { height: number; slot: number; time: number; producer: string }): void {
  settleDueAwards(d, p.time, p.height);
  const g = d.genesis;
  const cert = d.s.certs.get(p.producer);
  if (
    g.blockRewardMc > 0n &&
    cert !== undefined &&
    (cert.programme === 'RE' || cert.programme === 'RE+TE') &&
    !d.s.revoked.has(p.producer) &&
    !d.s.equivocators.has(p.producer)
  ) {
    d.credit(p.producer, g.blockRewardMc);
    d.s.rewards.set(p.producer, (BigInt(d.s.rewards.get(p.producer) ?? '0') + g.blockRewardMc).toString());
  }
  d.meta.height = p.height;
  d.meta.tipSlot = p.slot;
}
