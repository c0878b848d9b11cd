/**
 * The CPF ranking (DESIGN §7), current and history.
 *
 * Source "chain": the rankings the chain computed (RankingFact, from the chain-state
 * adapter). Until there are any, source "readings": a display ranking derived from the
 * readings of each metering interval, every address that reported, by
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
  const rs = store.range('reading', { gte: `${prefix}|`, lt: `${prefix}}` });
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

export function currentRanking(store: ReadStore, q: { top: number }): Ranking | null {
  return rankingHistory(store, { limit: 1, top: q.top }).items[0] ?? null;
}
