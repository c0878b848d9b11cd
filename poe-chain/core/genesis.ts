/**
 * The genesis file: parsing with defaults, checks, and the genesis hash.
 *
 *   genesisHash = SHA-256("TMI/v1/genesis" ‖ 0x00 ‖ canonical JSON of the normalised config)
 *
 * The normalised config is the file with every default written out, so a file that
 * omits a default and one that spells it out describe — and hash to — the same chain.
 */
import { canonicalize } from '../../wire/canonicalJson.js';
import { compileSchema } from '../../schemas/validators.js';
import { genesisConfig } from '../../schemas/chainOperations.js';
import type { GenesisConfig } from '../../schemas/types.js';
import { GenesisError } from './chainError.js';
import { DOMAIN, taggedHash } from './hashing.js';

/**
 * Slot length S and patience W: 250 ms slots and W = 8, a heartbeat every W·S = 2 s. Shorter
 * slots (S = 100 ms, W = 20) cut confirmation from ≈ 140 to ≈ 60 ms but left more gaps in a
 * simulated day on 2 cores (home nodes missed their slots) and lost auctions. Runs of up to
 * five blocks a slot [SUB] (electProducer.ts) cut it to ≈ 35 ms at these defaults instead.
 */
export const GENESIS_DEFAULTS = {
  slotMs: 250,
  patience: 8,
  intervalMs: 900_000,
  blockRewardMc: 1000,
  penaltyMcPerKWh: 5000,
  voidGraceMs: 120_000,
  revealWindowMs: 60_000,
  unrevealedPenaltyMc: 10_000,
  settleGraceMs: 1_800_000,
  txWindowMs: 3_600_000,
  txFutureMs: 120_000,
  maxTxsPerBlock: 5000,
  finalityDepth: 32,
  committeeSize: 12,
  readingRetentionIntervals: 16,
  auctionRetentionIntervals: 96,
  cpfRule: 'paper',
  cpfWindowIntervals: 14,
  certPeriodMs: 86_400_000,
  inclusionSlots: 8, // = W (derived: min(W, a quarter of an epoch's slots))
  gateClosureMs: 300_000,
  marketPricing: 'uniform',
  creditLimitMc: 1_000_000,
  imbalancePriceMcPerKWh: 30_000,
} as const;

export type CpfRule = 'paper' | 'net-exchange';

export type NormalisedGenesisConfig = GenesisConfig & Required<Omit<GenesisConfig, 'chainId'>>;

/** A parsed genesis: the normalised config, its hash, and the numbers the chain uses. */
export interface Genesis {
  readonly config: NormalisedGenesisConfig;
  readonly hash: string;
  readonly chainId: string;
  readonly genesisTimeMs: number;
  readonly slotMs: number;
  readonly patience: number;
  readonly intervalMs: number;
  readonly registryKey: string;
  readonly aggregatorKey: string;
  readonly aggregatorNodeKey: string;
  readonly blockRewardMc: bigint;
  readonly penaltyMcPerKWh: number;
  readonly voidGraceMs: number;
  readonly revealWindowMs: number;
  readonly unrevealedPenaltyMc: bigint;
  readonly settleGraceMs: number;
  readonly txWindowMs: number;
  readonly txFutureMs: number;
  readonly maxTxsPerBlock: number;
  readonly finalityDepth: number;
  /** [FIN] members of an epoch's finality committee taken from its ranking (plus the aggregator's node) */
  readonly committeeSize: number;
  readonly readingRetentionIntervals: number;
  readonly auctionRetentionIntervals: number;
  readonly cpfRule: CpfRule;
  readonly cpfWindowIntervals: number;
  readonly certPeriodMs: number;
  readonly inclusionSlots: number;
  readonly gateClosureMs: number;
  readonly marketPricing: 'uniform' | 'pay-as-bid';
  readonly creditLimitMc: bigint;
  readonly imbalancePriceMcPerKWh: number;
}

const validate = compileSchema(genesisConfig);

/** Validates a genesis file's JSON value; throws GenesisError GENESIS_INVALID with the reason. */
export function parseGenesis(value: unknown): Genesis {
  if (!validate(value)) {
    const e = validate.errors?.[0];
    throw new GenesisError({ path: e?.instancePath || '/', reason: e?.message ?? 'schema' });
  }
  const c = value as GenesisConfig;
  const retention = c.readingRetentionIntervals ?? GENESIS_DEFAULTS.readingRetentionIntervals;
  const config: NormalisedGenesisConfig = {
    ...GENESIS_DEFAULTS,
    // [CPF-window] by default as long as the kept readings allow (14 with the default 16)
    cpfWindowIntervals: retention - 2,
    // [CENSOR] by default W slots, at most a quarter of an epoch
    inclusionSlots: Math.min(
      c.patience ?? GENESIS_DEFAULTS.patience,
      Math.floor((c.intervalMs ?? GENESIS_DEFAULTS.intervalMs) / (c.slotMs ?? GENESIS_DEFAULTS.slotMs) / 4),
    ),
    // [MKT] by default a third of an interval before delivery (5 minutes of 15)
    gateClosureMs: Math.floor((c.intervalMs ?? GENESIS_DEFAULTS.intervalMs) / 3),
    ...c,
    balances: [...(c.balances ?? [])].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)),
  } as NormalisedGenesisConfig;
  const genesisTimeMs = Date.parse(config.genesisTime);
  if (!Number.isFinite(genesisTimeMs) || genesisTimeMs < 0) throw new GenesisError({ path: '/genesisTime', reason: 'not a time' });
  if (genesisTimeMs % config.intervalMs !== 0) {
    throw new GenesisError({ path: '/genesisTime', reason: `must be a multiple of intervalMs=${config.intervalMs} since 1970-01-01T00:00:00Z` });
  }
  if (config.certPeriodMs % config.intervalMs !== 0) throw new GenesisError({ path: '/certPeriodMs', reason: 'must be a multiple of intervalMs' });
  if (config.inclusionSlots * 2 > config.intervalMs / config.slotMs) throw new GenesisError({ path: '/inclusionSlots', reason: 'at most half the slots of an epoch' });
  if (config.intervalMs % config.slotMs !== 0) throw new GenesisError({ path: '/intervalMs', reason: 'must be a multiple of slotMs' });
  if (config.settleGraceMs + config.intervalMs > config.readingRetentionIntervals * config.intervalMs) {
    throw new GenesisError({ path: '/settleGraceMs', reason: 'readings must outlive the settlement grace: settleGraceMs + intervalMs ≤ readingRetentionIntervals × intervalMs' });
  }
  // [CPF] the tie-break window ends at interval e − 2 − k, which must still be in the state
  if (config.cpfWindowIntervals + 2 > config.readingRetentionIntervals) {
    throw new GenesisError({ path: '/cpfWindowIntervals', reason: 'the window must fit in the kept readings: cpfWindowIntervals + 2 ≤ readingRetentionIntervals' });
  }
  for (let i = 1; i < config.balances.length; i++) {
    if (config.balances[i]!.address === config.balances[i - 1]!.address) {
      throw new GenesisError({ path: '/balances', reason: `duplicate address ${config.balances[i]!.address}` });
    }
  }
  return {
    config,
    hash: taggedHash(DOMAIN.genesis, canonicalize(config)).toString('hex'),
    chainId: config.chainId,
    genesisTimeMs,
    slotMs: config.slotMs,
    patience: config.patience,
    intervalMs: config.intervalMs,
    registryKey: config.registryKey,
    aggregatorKey: config.aggregatorKey,
    aggregatorNodeKey: config.aggregatorNodeKey,
    blockRewardMc: BigInt(config.blockRewardMc),
    penaltyMcPerKWh: config.penaltyMcPerKWh,
    voidGraceMs: config.voidGraceMs,
    revealWindowMs: config.revealWindowMs,
    unrevealedPenaltyMc: BigInt(config.unrevealedPenaltyMc),
    settleGraceMs: config.settleGraceMs,
    txWindowMs: config.txWindowMs,
    txFutureMs: config.txFutureMs,
    maxTxsPerBlock: config.maxTxsPerBlock,
    finalityDepth: config.finalityDepth,
    committeeSize: config.committeeSize,
    readingRetentionIntervals: config.readingRetentionIntervals,
    auctionRetentionIntervals: config.auctionRetentionIntervals,
    cpfRule: config.cpfRule as CpfRule,
    cpfWindowIntervals: config.cpfWindowIntervals,
    certPeriodMs: config.certPeriodMs,
    inclusionSlots: config.inclusionSlots,
    gateClosureMs: config.gateClosureMs,
    marketPricing: config.marketPricing as 'uniform' | 'pay-as-bid',
    creditLimitMc: BigInt(config.creditLimitMc),
    imbalancePriceMcPerKWh: config.imbalancePriceMcPerKWh,
  };
}

// ── chain time (DESIGN §7) ──────────────────────────────────────────────────────

/** Start of slot s, ms since the Unix epoch: genesisTime + s × S. */
export function slotTime(g: Genesis, slot: number): number {
  return g.genesisTimeMs + slot * g.slotMs;
}

/** [POE-7.epoch] epoch of slot s = ⌊s × S / interval⌋: one metering interval per epoch. */
export function epochOfSlot(g: Genesis, slot: number): number {
  return Math.floor((slot * g.slotMs) / g.intervalMs);
}

/** [CENSOR] Whether `slot` is in the inclusion window: the last inclusionSlots slots of its epoch. */
export function inInclusionWindow(g: Genesis, slot: number): boolean {
  if (g.inclusionSlots === 0) return false;
  const perEpoch = g.intervalMs / g.slotMs;
  return slot % perEpoch >= perEpoch - g.inclusionSlots;
}

/** The first slot of the inclusion window that holds `slot`. */
export function inclusionWindowStart(g: Genesis, slot: number): number {
  const perEpoch = g.intervalMs / g.slotMs;
  return slot - (slot % perEpoch) + perEpoch - g.inclusionSlots;
}

/** The slot whose start is at or before t (t ≥ genesis time). */
export function slotAt(g: Genesis, timeMs: number): number {
  return Math.floor((timeMs - g.genesisTimeMs) / g.slotMs);
}

export function epochAt(g: Genesis, timeMs: number): number {
  return Math.floor((timeMs - g.genesisTimeMs) / g.intervalMs);
}

/** Start of epoch (= metering interval) e. */
export function epochStart(g: Genesis, epoch: number): number {
  return g.genesisTimeMs + epoch * g.intervalMs;
}

/**
 * The epoch index of a wire interval {start, end}, or undefined when the interval is not
 * exactly one metering interval of this chain's grid (start = genesis + e × I, end = start + I).
 */
export function epochOfInterval(g: Genesis, interval: { start: string; end: string }): number | undefined {
  const start = Date.parse(interval.start);
  const end = Date.parse(interval.end);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return undefined;
  if (end - start !== g.intervalMs) return undefined;
  const off = start - g.genesisTimeMs;
  if (off < 0 || off % g.intervalMs !== 0) return undefined;
  return off / g.intervalMs;
}

/** [MKT] gate closure of the P2P market for delivery interval e: its start − gateClosureMs. */
export function marketGate(g: Genesis, epoch: number): number {
  return epochStart(g, epoch) - g.gateClosureMs;
}

/** [MKT] orders whose first interval is e are taken while block time < this (the gate − revealWindowMs). */
export function marketOrderClose(g: Genesis, epoch: number): number {
  return marketGate(g, epoch) - g.revealWindowMs;
}
