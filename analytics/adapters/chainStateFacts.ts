/**
 * Chain state → facts, after each applied block. Pure: compares the state before and
 * after one block (poe-chain's ChainState) and says what changed:
 *
 *   BlockFact          the block, with the producer's reward (Δ of its `rewards` entry)
 *   WalletFact         every wallet whose balance changed (all of them after genesis)
 *   AuctionOpenFact    auctions that appeared (delivery interval from the genesis epochs)
 *   AuctionResultFact  auctions that closed with awards (cleared) or were voided
 *   SettlementFact     awards that got a settlement
 *   RankingFact        the PoE ranking, when a new epoch's ranking was stored; each
 *                      entry's score is |P − C| of the reading it was ranked by
 */
import type { AuctionEntry, ChainState } from '../../poe-chain/core/chainState.js';
import { epochStart } from '../../poe-chain/core/genesis.js';
import { poeEpochRecord } from '../../poe-chain/core/poeStats.js';
import type { BlockHeader } from '../../schemas/types.js';
import { readingScore } from '../../poe-chain/core/rankingForEpoch.js';
import type { BlockEnvelope } from '../../poe-chain/core/validateAndApplyBlock.js';
import type { Fact, RankingEntry } from '../facts.js';
import { cpfOf } from '../stats/ranking.js';

export interface AppliedBlockLike {
  block: BlockEnvelope;
  hash: string;
  state: ChainState;
}

const MAX_MC = 1_000_000_000_000_000;
/** chain balances are arbitrary-precision decimal strings; facts carry bounded numbers (display) */
const toMc = (s: string | undefined): number => {
  const v = Number(BigInt(s ?? '0'));
  return Math.max(-MAX_MC, Math.min(MAX_MC, v));
};

function sameAuctionOutcome(a: AuctionEntry | undefined, b: AuctionEntry): boolean {
  return a !== undefined && a.status === b.status && a.awardedWh === b.awardedWh && a.awards?.length === b.awards?.length && a.voidReason === b.voidReason;
}

export function chainStateFacts(prev: ChainState, applied: AppliedBlockLike): Fact[] {
  const next = applied.state;
  const g = next.genesis;
  const { header, txs } = applied.block.parameters;
  const height = header.height;
  const time = Date.parse(applied.block.date);
  const out: Fact[] = [];

  const rewardMc = toMc(next.sections.rewards.get(header.producer)) - toMc(prev.sections.rewards.get(header.producer));
  out.push({
    kind: 'block', height, slot: header.slot, epoch: header.epoch, hash: applied.hash, producer: header.producer,
    txCount: txs.length, time, rewardMc: Math.max(0, rewardMc),
  });

  for (const [address, balance] of next.sections.wallets.entries()) {
    if (prev.sections.wallets.get(address) !== balance || prev.meta.height === 0) out.push({ kind: 'wallet', address, balanceMc: toMc(balance), height });
  }

  for (const [auctionId, a] of next.sections.auctions.entries()) {
    const before = prev.sections.auctions.get(auctionId);
    if (before === undefined) {
      out.push({
        kind: 'auction-open', auctionId, side: a.side, energyWh: a.energyWh, limitPriceMcPerKWh: a.limitPriceMcPerKWh,
        deliveryStart: epochStart(g, a.deliveryEpoch), deliveryEnd: epochStart(g, a.deliveryEpoch + 1), closesAt: a.closesAt,
        pricing: a.pricing, sealed: a.sealed, time,
      });
    }
    if ((a.status === 'void' || a.awards !== undefined) && !sameAuctionOutcome(before, a)) {
      const cleared = a.status !== 'void';
      out.push({
        kind: 'auction-result', auctionId, status: cleared ? 'cleared' : 'void',
        ...(cleared && a.clearingPriceMcPerKWh !== undefined && a.clearingPriceMcPerKWh !== null ? { clearingPriceMcPerKWh: a.clearingPriceMcPerKWh } : {}),
        awards: cleared ? (a.awards ?? []).map((w) => ({ address: w.address, energyWh: w.energyWh, priceMcPerKWh: w.priceMcPerKWh })) : [],
        excludedCount: a.excluded?.length ?? 0,
        height: a.closedHeight ?? height,
        time,
      });
    }
    // one settlement fact per (auction, address): the sums over that address's settled awards
    const fresh = new Set<string>();
    for (const w of a.awards ?? []) {
      if (w.settlement === undefined) continue;
      const was = before?.awards?.find((x) => x.address === w.address && x.reqId === w.reqId)?.settlement;
      if (was === undefined) fresh.add(w.address);
    }
    for (const address of [...fresh].sort()) {
      const s = { deliveredWh: 0, paymentMc: 0, penaltyMc: 0, height: 0 };
      for (const w of a.awards ?? []) {
        if (w.address !== address || w.settlement === undefined) continue;
        s.deliveredWh += w.settlement.deliveredWh;
        s.paymentMc += w.settlement.paymentMc;
        s.penaltyMc += w.settlement.penaltyMc;
        s.height = Math.max(s.height, w.settlement.height);
      }
      out.push({ kind: 'settlement', auctionId, address, ...s });
    }
  }

  if (next.meta.rankingEpoch > prev.meta.rankingEpoch && next.meta.rankingEpoch >= 0) {
    const epoch = next.meta.rankingEpoch;
    const ranking: RankingEntry[] = [];
    for (const address of next.meta.ranking) {
      // [POE-7.valid] the ranking of e uses the readings of interval e − 2
      const key = `${address}|${epoch - 2}`;
      const r = next.sections.readings.get(key) ?? prev.sections.readings.get(key);
      if (r === undefined) continue;
      const scoreWh = readingScore(r, next.genesis.cpfRule);
      ranking.push({ address, scoreWh, cpf: cpfOf(scoreWh) });
    }
    // [AN-POE] what decided: the chain's ranking computed again on the parent state, with its keys
    const rec = poeEpochRecord(prev, { epoch } as Pick<BlockHeader, 'epoch'> as BlockHeader);
    out.push({ kind: 'ranking', epoch, ranking, height, decidedBy: rec.decidedBy, tiedAtTop: rec.tiedAtTop });
  }
  return out;
}
