/**
 * Proof-of-Energy ranking (DESIGN §7, README "Election").
 *
 *   [CPF]          score = |P − C| in Wh, integers, from the pseudonym's signed reading,
 *                  P = producedWh (the home's RES) and, by the genesis `cpfRule`:
 *                    "paper" (default): C = consumedWh + chargedWh — the loads plus the
 *                      energy absorbed by storage; discharge is neither P nor C (§V-F);
 *                    "net-exchange": C = consumedWh + chargedWh − dischargedWh — the home's
 *                      net exchange with the grid (every battery home in self-consumption
 *                      scores 0 and the seed decides: the rule of the first chains).
 *   [POE-7.valid]  validators for e: pseudonyms with a reading for interval e − 2 on chain at
 *                  the end of epoch e − 1, certified RE or RE+TE (the certificate that covered
 *                  that reading), not revoked, not recorded as equivocators.
 *   [SYBIL-3]      one place per meter: among validators whose certificates carry the same
 *                  registry tag, only the newest certificate (latest validFrom, then the
 *                  smaller address) ranks.
 *   [CPF-window]   equal scores are broken by energy over a longer window: the k =
 *                  `cpfWindowIntervals` intervals before e − 2 (e − 3 … e − 2 − k): first
 *                  fewer intervals without a reading on chain, then the smaller sum of the
 *                  scores of those readings, then the larger RES energy balanced: the sum of
 *                  producedWh over e − 2 and the window (a home that matches more of its own
 *                  production goes first).
 *   [POE-7.rank]   ranking for epoch e: by score, then the window (above), then the smaller
 *                  SHA-256(seed ‖ address) (32 + 32 raw bytes, compared as hex), where seed is
 *                  the [SEED] of epoch e (seedForEpoch).
 *
 * The ranking of an epoch is computed once, from the state as it is before the first block
 * of the epoch (= the chain at the end of epoch e − 1), and kept in the state's meta; a
 * revocation or equivocation later in the epoch removes that address from it at once.
 */
import type { ChainState, CertEntry, EquivocationEntry, ReadingEntry } from './chainState.js';
import { sha256Hex } from './hashing.js';
import type { CpfRule } from './genesis.js';

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

/** [CPF] |P − C| in Wh under the genesis rule (default the paper's). */
export function readingScore(r: Pick<ReadingEntry, 'producedWh' | 'consumedWh' | 'chargedWh' | 'dischargedWh'>, rule: CpfRule = 'paper'): number {
  const consumed = rule === 'paper' ? r.consumedWh + r.chargedWh : r.consumedWh + r.chargedWh - r.dischargedWh;
  return Math.abs(r.producedWh - consumed);
}

/** [POE-7.rank] tie-break key: SHA-256(seed ‖ address), hex. */
export function tieBreak(seed: string, address: string): string {
  return sha256Hex(Buffer.from(seed, 'hex'), Buffer.from(address, 'hex'));
}

export interface RankedValidator {
  address: string;
  /** |P − C| of interval e − 2, Wh */
  score: number;
  /** [CPF-window] intervals of the window without a reading on chain */
  missing: number;
  /** [CPF-window] sum of the window's scores, Wh */
  windowWh: number;
  /** [CPF-window] producedWh of e − 2 and the window, Wh (larger first) */
  producedWh: number;
  tieBreak: string;
}

export interface RankingRule {
  cpfRule: CpfRule;
  cpfWindowIntervals: number;
}

/** The order of the ranking: score, then the window, then the seed's tie-break. */
export function compareValidators(a: RankedValidator, b: RankedValidator): number {
  return a.score - b.score || a.missing - b.missing || a.windowWh - b.windowWh || b.producedWh - a.producedWh || (a.tieBreak < b.tieBreak ? -1 : a.tieBreak > b.tieBreak ? 1 : 0);
}

/**
 * What decided the first place: `single` (one validator), `score` (interval e − 2 alone),
 * `window` (equal scores, the earlier intervals), `seed` (equal on energy: the tie-break
 * hash), or `none` (no validator). Ranked must be sorted.
 */
export function decidedBy(ranked: readonly RankedValidator[]): 'none' | 'single' | 'score' | 'window' | 'seed' {
  const [a, b] = ranked;
  if (a === undefined) return 'none';
  if (b === undefined) return 'single';
  if (a.score !== b.score) return 'score';
  if (a.missing !== b.missing || a.windowWh !== b.windowWh || a.producedWh !== b.producedWh) return 'window';
  return 'seed';
}

/** The validators of epoch e with their scores, best first. */
export function rankValidators(src: RankingSources, epoch: number, seed: string, rule: RankingRule): RankedValidator[] {
  const interval = epoch - 2;
  if (interval < 0) return [];
  const suffix = `|${interval}`;
  const byTag = new Map<string, { address: string; validFrom: number; v: RankedValidator }>();
  for (const [key, reading] of src.readings.entries()) {
    if (!key.endsWith(suffix)) continue;
    const address = key.slice(0, key.length - suffix.length);
    const cert = src.certs.get(address);
    if (cert === undefined || (cert.programme !== 'RE' && cert.programme !== 'RE+TE')) continue;
    if (src.revoked.has(address) || src.equivocators.has(address)) continue;
    let missing = 0;
    let windowWh = 0;
    let producedWh = reading.producedWh;
    for (let i = interval - 1; i >= interval - rule.cpfWindowIntervals; i--) {
      const r = i >= 0 ? src.readings.get(`${address}|${i}`) : undefined;
      if (r === undefined) missing++;
      else {
        windowWh += readingScore(r, rule.cpfRule);
        producedWh += r.producedWh;
      }
    }
    // [SYBIL-3] one place per tag: the newest certificate
    const prev = byTag.get(cert.tag);
    if (prev !== undefined && (prev.validFrom > cert.validFrom || (prev.validFrom === cert.validFrom && prev.address < address))) continue;
    byTag.set(cert.tag, { address, validFrom: cert.validFrom, v: { address, score: readingScore(reading, rule.cpfRule), missing, windowWh, producedWh, tieBreak: tieBreak(seed, address) } });
  }
  const out = [...byTag.values()].map((x) => x.v);
  out.sort(compareValidators);
  return out;
}

export function computeRanking(src: RankingSources, epoch: number, seed: string, rule: RankingRule): string[] {
  return rankValidators(src, epoch, seed, rule).map((v) => v.address);
}

/**
 * [SEED] The tie-break seed of epoch e: the newest VRF seed made at the first block of an
 * epoch ≤ e − 2 (so it is fixed before the readings of interval e − 2, which rank epoch e,
 * exist), or the genesis hash when there is none yet.
 */
export function seedForEpoch(meta: Pick<ChainState['meta'], 'seeds' | 'genesisHash'>, epoch: number): string {
  let best: string | undefined;
  for (const [e, seed] of meta.seeds) if (e <= epoch - 2) best = seed;
  return best ?? meta.genesisHash;
}

/**
 * The ranking a block of `epoch` whose parent state is `state` is checked against: the
 * stored one when the parent is already in that epoch, else computed now with the
 * epoch's [SEED].
 */
export function rankingForEpoch(state: ChainState, epoch: number): Ranking {
  const m = state.meta;
  if (epoch === m.rankingEpoch) return { epoch, seed: m.seed, ranking: m.ranking };
  if (epoch < m.rankingEpoch) throw new RangeError(`EPOCH_IN_PAST epoch=${epoch} stateEpoch=${m.rankingEpoch}`);
  const seed = seedForEpoch(m, epoch);
  // computed once per state and epoch: it scans every reading, and a node asks it at every
  // slot until the epoch's first block is made (who produces, is a heartbeat due, build)
  let memo = rankingMemo.get(state.sections);
  if (memo === undefined) rankingMemo.set(state.sections, (memo = new Map()));
  const key = `${epoch}|${seed}`;
  let ranking = memo.get(key);
  if (ranking === undefined) memo.set(key, (ranking = computeRanking(state.sections, epoch, seed, state.genesis)));
  return { epoch, seed, ranking: [...ranking] };
}

/** [POE-7.rank] rankings computed per sections object (immutable: a new block makes new sections) */
const rankingMemo = new WeakMap<object, Map<string, readonly string[]>>();
