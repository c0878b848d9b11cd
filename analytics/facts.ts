/**
 * The input of analytics: a small union of facts, each one thing that happened on the
 * market or the chain. Adapters (MQTT follower, chain-state adapter) turn wire messages
 * and chain state into facts; the reducer (stats/reduceFact.ts) turns facts into
 * statistics. Integers as on the chain (DESIGN §5): energy in Wh, prices in millicents
 * per kWh, money in millicents; times in ms since the epoch. CPF is a float for display.
 *
 * The schemas below are the one source of the Fact types (STYLE: one source for types);
 * every fact is validated before it touches the store.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { address, hash, id, isoDay, millicents, millicentsPerKWh, reqId, feeder, signedWh, wh } from '../schemas/common.js';
import { compileSchema } from '../schemas/validators.js';
import { AnalyticsError } from './analyticsError.js';

/** ms since the epoch, up to the year 9999. */
const ms = { type: 'integer', minimum: 0, maximum: 253_402_300_799_999 } as const;
const count = { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 } as const;
const height = count;
const cpf = { type: 'number', minimum: 0, maximum: 1 } as const;
const side = { type: 'string', enum: ['buy', 'sell'] } as const;

export const blockFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'height', 'slot', 'epoch', 'hash', 'producer', 'txCount', 'time'],
  properties: {
    kind: { const: 'block' },
    height,
    slot: height,
    epoch: height,
    hash,
    producer: address,
    txCount: count,
    /** block date (envelope date), ms */
    time: ms,
    /** block-producer incentive credited by this block, when the chain state tells it */
    rewardMc: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000_000 },
  },
} as const;

export const readingFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'address', 'intervalStart', 'intervalEnd', 'producedWh', 'consumedWh', 'chargedWh', 'dischargedWh', 'socPermille'],
  properties: {
    kind: { const: 'reading' },
    address,
    intervalStart: ms,
    intervalEnd: ms,
    producedWh: wh,
    consumedWh: wh,
    chargedWh: wh,
    dischargedWh: wh,
    socPermille: { type: 'integer', minimum: 0, maximum: 1000 },
    /** height of the block that holds the reading, when seen on chain */
    height,
  },
} as const;

export const auctionOpenFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'auctionId', 'side', 'energyWh', 'limitPriceMcPerKWh', 'deliveryStart', 'deliveryEnd', 'closesAt', 'pricing', 'sealed', 'time'],
  properties: {
    kind: { const: 'auction-open' },
    auctionId: id,
    /** the aggregator's side: buy = it buys energy (HEMs offer to sell) */
    side,
    energyWh: wh,
    limitPriceMcPerKWh: millicentsPerKWh,
    deliveryStart: ms,
    deliveryEnd: ms,
    closesAt: ms,
    pricing: { type: 'string', enum: ['pay-as-bid', 'uniform'] },
    sealed: { type: 'boolean' },
    time: ms,
  },
} as const;

export const auctionCloseFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'auctionId', 'time'],
  properties: { kind: { const: 'auction-close' }, auctionId: id, time: ms },
} as const;

/**
 * A bid (HEM type buy = charge/import) or offer (type sell = discharge/export). A sealed
 * bid that is not opened yet has no type, energy or price; the same (address, reqId)
 * seen again opened replaces it.
 */
export const bidFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'auctionId', 'address', 'reqId', 'sealed', 'time'],
  properties: {
    kind: { const: 'bid' },
    auctionId: id,
    address,
    reqId,
    feeder,
    cpf,
    sealed: { type: 'boolean' },
    type: side,
    energyWh: wh,
    priceMcPerKWh: millicentsPerKWh,
    time: ms,
    height,
  },
} as const;

export const awardFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'energyWh', 'priceMcPerKWh'],
  properties: { address, energyWh: wh, priceMcPerKWh: millicentsPerKWh },
} as const;

export const auctionResultFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'auctionId', 'status', 'awards', 'time'],
  properties: {
    kind: { const: 'auction-result' },
    auctionId: id,
    status: { type: 'string', enum: ['cleared', 'void'] },
    clearingPriceMcPerKWh: millicentsPerKWh,
    awards: { type: 'array', maxItems: 100_000, items: awardFactSchema },
    excludedCount: count,
    height,
    time: ms,
  },
} as const;

export const settlementFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'auctionId', 'address', 'deliveredWh', 'paymentMc', 'penaltyMc'],
  properties: {
    kind: { const: 'settlement' },
    auctionId: id,
    address,
    deliveredWh: wh,
    paymentMc: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000_000 },
    penaltyMc: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000_000 },
    height,
  },
} as const;

export const walletFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'address', 'balanceMc'],
  /** clearingAccount: the address is the aggregator's (genesis aggregatorKey), the market's clearing account [AN-WM] */
  properties: { kind: { const: 'wallet' }, address, balanceMc: millicents, height, clearingAccount: { const: true } },
} as const;

/**
 * [AN-FIN] a final checkpoint: the block at `height` and every block below it never revert.
 * `source` = `chain` (proven on chain by justification transactions: the state's
 * meta.finalized) or `node` (a chain node's own finality gadget, ahead of the chain's proof by
 * a block or so). A record per source; a final height never goes back.
 */
export const finalityFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'source', 'round', 'height', 'hash'],
  properties: {
    kind: { const: 'finality' },
    source: { type: 'string', enum: ['chain', 'node'] },
    round: count,
    height,
    hash,
    time: ms,
  },
} as const;

export const rankingEntrySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'scoreWh', 'cpf'],
  properties: { address, scoreWh: wh, cpf },
} as const;

/** The PoE ranking of one epoch as the chain computed it (DESIGN §7). */
export const rankingFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'epoch', 'ranking'],
  properties: {
    kind: { const: 'ranking' },
    epoch: height,
    ranking: { type: 'array', maxItems: 100_000, items: rankingEntrySchema },
    height,
    /** [AN-POE] what decided first place (poe-chain decidedBy) */
    decidedBy: { enum: ['none', 'single', 'score', 'window', 'seed'] },
    /** [AN-POE] validators equal to the first on energy (score and window) */
    tiedAtTop: { type: 'integer', minimum: 0, maximum: 100_000 },
  },
} as const;

export const scheduleFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'day', 'intervalMinutes', 'netLoadWh'],
  properties: {
    kind: { const: 'schedule' },
    /** UTC day */
    day: isoDay,
    intervalMinutes: { type: 'integer', minimum: 1, maximum: 1440 },
    netLoadWh: { type: 'array', minItems: 1, maxItems: 1440, items: signedWh },
    time: ms,
    /** wall-clock start of slot 0 and slot length, when the schedule says so (compressed time) */
    startMs: ms,
    stepMs: { type: 'integer', minimum: 100, maximum: 86_400_000 },
  },
} as const;

/** [AN-P2P] one order of a P2P book or one fill: the home's side (buy = it imports), its energy and price */
export const marketOrderFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'address', 'side', 'energyWh', 'priceMcPerKWh'],
  properties: { orderId: id, address, side, energyWh: wh, priceMcPerKWh: millicentsPerKWh },
} as const;

/**
 * [AN-P2P] the P2P market of one delivery interval cleared (its chain entry left 'open'):
 * the clearing as the chain stored it, and the book of revealed orders that stood in it.
 */
export const marketClearingFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'interval', 'intervalStart', 'intervalEnd', 'volumeWh', 'fills', 'time'],
  properties: {
    kind: { const: 'market-clearing' },
    /** the delivery interval (epoch index) */
    interval: height,
    intervalStart: ms,
    intervalEnd: ms,
    /** absent when nothing traded */
    clearingPriceMcPerKWh: millicentsPerKWh,
    priceRange: {
      type: 'object',
      additionalProperties: false,
      required: ['lowMcPerKWh', 'highMcPerKWh'],
      properties: { lowMcPerKWh: millicentsPerKWh, highMcPerKWh: millicentsPerKWh },
    },
    volumeWh: wh,
    /** each fill at its fill price */
    fills: { type: 'array', maxItems: 100_000, items: marketOrderFactSchema },
    /** the revealed orders standing in the interval at its own price (before credit caps) */
    book: { type: 'array', maxItems: 100_000, items: marketOrderFactSchema },
    excludedCount: count,
    /** the block that cleared it */
    height,
    time: ms,
  },
} as const;

/** [AN-P2P] one fill of a P2P market settled [MKT-SETTLE]. */
export const marketSettlementFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'interval', 'orderId', 'address', 'side', 'filledWh', 'deliveredWh', 'paymentMc', 'penaltyMc'],
  properties: {
    kind: { const: 'market-settlement' },
    interval: height,
    orderId: id,
    address,
    side,
    filledWh: wh,
    deliveredWh: wh,
    paymentMc: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000_000 },
    penaltyMc: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000_000 },
    uncollectedMc: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000_000 },
    height,
  },
} as const;

export type BlockFact = FromSchema<typeof blockFactSchema>;
export type ReadingFact = FromSchema<typeof readingFactSchema>;
export type AuctionOpenFact = FromSchema<typeof auctionOpenFactSchema>;
export type AuctionCloseFact = FromSchema<typeof auctionCloseFactSchema>;
export type BidFact = FromSchema<typeof bidFactSchema>;
export type AwardFact = FromSchema<typeof awardFactSchema>;
export type AuctionResultFact = FromSchema<typeof auctionResultFactSchema>;
export type SettlementFact = FromSchema<typeof settlementFactSchema>;
export type WalletFact = FromSchema<typeof walletFactSchema>;
export type FinalityFact = FromSchema<typeof finalityFactSchema>;
export type RankingEntry = FromSchema<typeof rankingEntrySchema>;
export type RankingFact = FromSchema<typeof rankingFactSchema>;
export type ScheduleFact = FromSchema<typeof scheduleFactSchema>;
export type MarketOrderFact = FromSchema<typeof marketOrderFactSchema>;
export type MarketClearingFact = FromSchema<typeof marketClearingFactSchema>;
export type MarketSettlementFact = FromSchema<typeof marketSettlementFactSchema>;

export type Fact =
  | BlockFact | ReadingFact | AuctionOpenFact | AuctionCloseFact | BidFact | AuctionResultFact
  | SettlementFact | WalletFact | RankingFact | ScheduleFact | MarketClearingFact | MarketSettlementFact | FinalityFact;
export type FactKind = Fact['kind'];

const schemas = {
  block: blockFactSchema,
  reading: readingFactSchema,
  'auction-open': auctionOpenFactSchema,
  'auction-close': auctionCloseFactSchema,
  bid: bidFactSchema,
  'auction-result': auctionResultFactSchema,
  settlement: settlementFactSchema,
  wallet: walletFactSchema,
  ranking: rankingFactSchema,
  schedule: scheduleFactSchema,
  'market-clearing': marketClearingFactSchema,
  'market-settlement': marketSettlementFactSchema,
  finality: finalityFactSchema,
} as const satisfies Record<FactKind, object>;

export const FACT_KINDS = Object.keys(schemas) as FactKind[];

const validators = new Map(FACT_KINDS.map((k) => [k, compileSchema(schemas[k])]));

/**
 * Checks one fact: its schema, then the rules a schema cannot say (an interval ends after
 * it starts; an opened bid has type, energy and price together). Throws AnalyticsError
 * BAD_FACT; returns the fact typed.
 */
export function checkFact(value: unknown): Fact {
  const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
  const validate = typeof kind === 'string' ? validators.get(kind as FactKind) : undefined;
  if (!validate) throw new AnalyticsError('BAD_FACT', { reason: 'unknown kind', kind: String(kind) });
  if (!validate(value)) {
    const e = validate.errors?.[0];
    throw new AnalyticsError('BAD_FACT', { kind: String(kind), path: e?.instancePath || '/', reason: e?.message ?? 'invalid' });
  }
  const f = value as Fact;
  if (f.kind === 'reading' && f.intervalEnd <= f.intervalStart) {
    throw new AnalyticsError('BAD_FACT', { kind: f.kind, reason: 'intervalEnd must be after intervalStart' });
  }
  if (f.kind === 'auction-open' && f.deliveryEnd <= f.deliveryStart) {
    throw new AnalyticsError('BAD_FACT', { kind: f.kind, reason: 'deliveryEnd must be after deliveryStart' });
  }
  if (f.kind === 'market-clearing') {
    if (f.intervalEnd <= f.intervalStart) throw new AnalyticsError('BAD_FACT', { kind: f.kind, reason: 'intervalEnd must be after intervalStart' });
    if (f.priceRange !== undefined && f.priceRange.lowMcPerKWh > f.priceRange.highMcPerKWh) {
      throw new AnalyticsError('BAD_FACT', { kind: f.kind, reason: 'priceRange low must not exceed high' });
    }
  }
  if (f.kind === 'market-settlement' && f.deliveredWh > f.filledWh) {
    throw new AnalyticsError('BAD_FACT', { kind: f.kind, reason: 'deliveredWh must not exceed filledWh' });
  }
  if (f.kind === 'bid') {
    const parts = [f.type, f.energyWh, f.priceMcPerKWh].filter((x) => x !== undefined).length;
    if (parts !== 0 && parts !== 3) throw new AnalyticsError('BAD_FACT', { kind: f.kind, reason: 'type, energyWh and priceMcPerKWh go together' });
    if (parts === 0 && !f.sealed) throw new AnalyticsError('BAD_FACT', { kind: f.kind, reason: 'an open bid needs type, energyWh and priceMcPerKWh' });
  }
  return f;
}
