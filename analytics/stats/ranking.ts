/**
 * The CPF ranking (DESIGN §7), current and history.
 *
 * Source "chain": the rankings the chain computed (RankingFact, from the chain-state
 * adapter). Until there are any, source "readings": a display ranking derived from the
 * readings on chain [AN-ONCHAIN] of each metering interval, every address with one, by
 *   [AN-CPF] scoreWh = |P − (C + charged − discharged)|, CPF = e^(−scoreWh/1000)
 * (the chain's score, poe-chain readingScore), smaller score first, ties by address. The readings ranking is
 * for display only: it does not know which addresses are certified validators.
 */
import { readingScore } from '../../poe-chain/core/rankingForEpoch.js';
import type { ReadingRecord } from './records.js';
import { ids } from './records.js';
import { iso, type ReadStore } from './readStore.js';

export interface RankedEntry {
  rank: number;
  address: string;
  scoreWh: number;
  cpf: number;
}

export interface Ranking {
  source: 'chain' | 'readings';
  epoch: number | null;
  intervalStart: string | null;
  size: number;
  items: RankedEntry[];
  /** [AN-RK] set when the chain's latest epoch (this number) ranked no validator and an earlier one is shown */
  latestEpoch?: number;
  /** [AN-POE] what decided first place: single, score, window or seed (chain source only) */
  decidedBy?: string | null;
  /** [AN-POE] validators equal to the first on energy */
  tiedAtTop?: number | null;
}

/** [CPF] the chain's own score function, with the paper's rule (readings seen before the chain ranks them). */
export function scoreWh(r: Pick<ReadingRecord, 'producedWh' | 'consumedWh' | 'chargedWh' | 'dischargedWh'>): number {
  return readingScore(r);
}

/** e^(−scoreWh/1000), 6 decimals: display only. */
export function cpfOf(score: number): number {
  return Math.round(Math.exp(-score / 1000) * 1e6) / 1e6;
}

function readingsRanking(store: ReadStore, slotStart: number, top: number): Ranking {
  const prefix = ids.slot(slotStart);
  const rs = store.range('reading', { gte: `${prefix}|`, lt: `${prefix}}` }).filter((r) => r.height !== null); // [AN-ONCHAIN]
  const ranked = rs
    .map((r) => ({ address: r.address, scoreWh: scoreWh(r) }))
    .sort((a, b) => a.scoreWh - b.scoreWh || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return {
    source: 'readings',
    epoch: null,
    intervalStart: iso(slotStart),
    size: ranked.length,
    items: ranked.slice(0, top).map((r, i) => ({ rank: i + 1, address: r.address, scoreWh: r.scoreWh, cpf: cpfOf(r.scoreWh) })),
  };
}

export function rankingHistory(store: ReadStore, q: { limit: number; top: number }): { source: 'chain' | 'readings' | 'none'; items: Ranking[] } {
  if (store.count('ranking') > 0) {
    const items = store.range('ranking', { reverse: true, limit: q.limit }).map((r): Ranking => ({
      source: 'chain',
      epoch: r.epoch,
      intervalStart: null,
      size: r.ranking.length,
      items: r.ranking.slice(0, q.top).map((e, i) => ({ rank: i + 1, address: e.address, scoreWh: e.scoreWh, cpf: e.cpf })),
      decidedBy: r.decidedBy ?? null,
      tiedAtTop: r.tiedAtTop ?? null,
    }));
    return { source: 'chain', items };
  }
  const items: Ranking[] = [];
  for (const s of store.range('slot', { reverse: true })) {
    if (items.length >= q.limit) break;
    if (s.readings > 0) items.push(readingsRanking(store, s.start, q.top));
  }
  return { source: items.length > 0 ? 'readings' : 'none', items };
}

/**
 * [AN-RK] the current ranking: the chain's latest epoch that ranked at least one validator
 * (after a simulated day, or while homes are silent, the chain's epochs go on with no
 * readings; the panel then keeps the last ranked epoch and says which epoch is latest).
 */
export function currentRanking(store: ReadStore, q: { top: number }): Ranking | null {
  const latest = rankingHistory(store, { limit: 1, top: q.top }).items[0];
  if (latest === undefined || latest.source !== 'chain' || latest.size > 0) return latest ?? null;
  for (const r of store.range('ranking', { reverse: true })) {
    if (r.ranking.length === 0) continue;
    return {
      source: 'chain', epoch: r.epoch, intervalStart: null, size: r.ranking.length, latestEpoch: latest.epoch!,
      decidedBy: r.decidedBy ?? null, tiedAtTop: r.tiedAtTop ?? null,
      items: r.ranking.slice(0, q.top).map((e, i) => ({ rank: i + 1, address: e.address, scoreWh: e.scoreWh, cpf: e.cpf })),
    };
  }
  return latest;
}
