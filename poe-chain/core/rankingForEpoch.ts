/**
 * Proof-of-Energy ranking (DESIGN §7, README "Election").
 *
 *   [POE-7.score]  score = |P − C| in Wh, integers, from the pseudonym's signed reading:
 *                  P = producedWh (the home's RES),
 *                  C = consumedWh + chargedWh − dischargedWh (consumption including storage:
 *                      energy put into the battery counts as consumed, energy taken out of it
 *                      reduces consumption), so |P − C| is the home's net exchange with the grid.
 *   [POE-7.rank]   ranking for epoch e: the validators ordered by score ascending, ties by the
 *                  smaller SHA-256(seed ‖ address) (32 + 32 raw bytes, compared as hex), where
 *                  seed = hash of the last block before epoch e.
 *   [POE-7.valid]  validators for e: pseudonyms with a reading for interval e − 2 on chain at
 *                  the end of epoch e − 1, certified RE or RE+TE (the certificate that covered
 *                  that reading), not revoked, not recorded as equivocators.
 *
 * The ranking of an epoch is computed once, from the state as it is before the first block
 * of the epoch (= the chain at the end of epoch e − 1), and kept in the state's meta; a
 * revocation or equivocation later in the epoch removes that address from it at once.
 */
import type { ChainState, CertEntry, EquivocationEntry, ReadingEntry } from './chainState.js';
import { sha256Hex } from './hashing.js';

interface Readable<V> {
  get(key: string): V | undefined;
  has(key: string): boolean;
  entries(): IterableIterator<[string, V]>;
}

export interface RankingSources {
  readings: Readable<ReadingEntry>;
  certs: Readable<CertEntry>;
  revoked: Readable<number>;
  equivocators: Readable<EquivocationEntry>;
}

export interface Ranking {
  epoch: number;
  seed: string;
  /** addresses, best first */
  ranking: string[];
}

/** [POE-7.score] |P − C| in Wh. */
export function readingScore(r: Pick<ReadingEntry, 'producedWh' | 'consumedWh' | 'chargedWh' | 'dischargedWh'>): number {
  return Math.abs(r.producedWh - (r.consumedWh + r.chargedWh - r.dischargedWh));
}

/** [POE-7.rank] tie-break key: SHA-256(seed ‖ address), hex. */
export function tieBreak(seed: string, address: string): string {
  return sha256Hex(Buffer.from(seed, 'hex'), Buffer.from(address, 'hex'));
}

export interface RankedValidator {
  address: string;
  score: number;
  tieBreak: string;
}

/** The validators of epoch e with their scores, best first. */
export function rankValidators(src: RankingSources, epoch: number, seed: string): RankedValidator[] {
  const interval = epoch - 2;
  if (interval < 0) return [];
  const suffix = `|${interval}`;
  const out: RankedValidator[] = [];
  for (const [key, reading] of src.readings.entries()) {
    if (!key.endsWith(suffix)) continue;
    const address = key.slice(0, key.length - suffix.length);
    const cert = src.certs.get(address);
    if (cert === undefined || (cert.programme !== 'RE' && cert.programme !== 'RE+TE')) continue;
    if (src.revoked.has(address) || src.equivocators.has(address)) continue;
    out.push({ address, score: readingScore(reading), tieBreak: tieBreak(seed, address) });
  }
  out.sort((a, b) => a.score - b.score || (a.tieBreak < b.tieBreak ? -1 : a.tieBreak > b.tieBreak ? 1 : 0));
  return out;
}

export function computeRanking(src: RankingSources, epoch: number, seed: string): string[] {
  return rankValidators(src, epoch, seed).map((v) => v.address);
}

/**
 * The ranking a block of `epoch` whose parent state is `state` is checked against: the
 * stored one when the parent is already in that epoch, else computed now with
 * seed = the parent's hash (the last block before the epoch).
 */
export function rankingForEpoch(state: ChainState, epoch: number): Ranking {
  const m = state.meta;
  if (epoch === m.rankingEpoch) return { epoch, seed: m.seed, ranking: m.ranking };
  if (epoch < m.rankingEpoch) throw new RangeError(`EPOCH_IN_PAST epoch=${epoch} stateEpoch=${m.rankingEpoch}`);
  return { epoch, seed: state.tipHash, ranking: computeRanking(state.sections, epoch, state.tipHash) };
}
