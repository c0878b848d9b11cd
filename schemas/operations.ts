/**
 * Parameters of every market and metering operation (DESIGN §2). Chain operations
 * (tx, block, sync-*, evidence) are in chainOperations.ts.
 */
import {
  address, energy, price, interval, id, isoDate, isoDay, feeder, programme,
  wh, signedWh, millicentsPerKWh, millicents, reqId, shortText, signature, hash,
} from './common.js';

/** An open bid or offer: the paper's shape. `type` is the HEM's side: sell = discharge. */
export const openBid = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'energy', 'price'],
  properties: {
    type: { type: 'string', enum: ['buy', 'sell'] },
    energy,
    price,
  },
} as const;

/**
 * A sealed bid [SEALED]: a commitment, hex SHA-256("TMI/v1/bid-commitment" ‖ 0x00 ‖
 * canonical JSON of {auctionId, address, bid, salt}), bound to the auction and the bidder.
 * Nobody can read the bid before its bidder reveals it (`bid-reveal`) after the close.
 */
export const sealedBid = {
  type: 'object',
  additionalProperties: false,
  required: ['commitment'],
  properties: { commitment: hash },
} as const;

/** [SEALED] the bidder opens its sealed bid after closesAt, within the chain's reveal window. */
export const bidRevealParams = {
  type: 'object',
  additionalProperties: false,
  required: ['auctionId', 'address', 'bid', 'salt'],
  properties: {
    auctionId: id,
    address,
    bid: openBid,
    /** 32 random bytes, hex, chosen by the bidder and kept until the reveal */
    salt: hash,
  },
} as const;

export const bidOfferParams = {
  type: 'object',
  additionalProperties: false,
  required: ['auctionId', 'address', 'cpf', 'feeder'],
  properties: {
    auctionId: id,
    address,
    /** display only; consensus uses integer |P−C| from readings (DESIGN §7) */
    cpf: { type: 'number', minimum: 0, maximum: 1 },
    feeder,
    bid: openBid,
    sealed: sealedBid,
  },
  oneOf: [{ required: ['bid'] }, { required: ['sealed'] }],
} as const;

/**
 * [MKT] A peer-to-peer market order (poe-chain/core/market): a home's sell offer or buy bid
 * for one delivery interval or a run of `intervals` consecutive ones starting with
 * `delivery`, always sealed. commitment = hex SHA-256("TMI/v1/order-commitment" ‖ 0x00 ‖
 * canonical JSON of {orderId, address, side, energyWh, priceMcPerKWh, salt}). Energy and
 * price are in the chain's integer units: Wh per interval, millicents per kWh (buy: the
 * most it pays; sell: the least it accepts).
 */
export const marketOrderParams = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'address', 'feeder', 'side', 'delivery', 'intervals', 'commitment'],
  properties: {
    orderId: id,
    address,
    feeder,
    /** the home's side: buy = it imports, sell = it exports */
    side: { type: 'string', enum: ['buy', 'sell'] },
    /** the first delivery interval */
    delivery: interval,
    /** how many consecutive intervals the order stands in, from `delivery` (1..96) */
    intervals: { type: 'integer', minimum: 1, maximum: 96 },
    commitment: hash,
  },
} as const;

/** [MKT] the orderer opens its sealed order before the gate closure of its first interval. */
export const marketRevealParams = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'address', 'energyWh', 'priceMcPerKWh', 'salt'],
  properties: {
    orderId: id,
    address,
    energyWh: wh,
    priceMcPerKWh: millicentsPerKWh,
    /** 32 random bytes, hex, kept by the orderer until the reveal */
    salt: hash,
  },
} as const;

/** [MKT] one fill of a P2P order at a clearing. */
export const marketFill = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'address', 'side', 'energyWh', 'priceMcPerKWh'],
  properties: {
    orderId: id,
    address,
    side: { type: 'string', enum: ['buy', 'sell'] },
    energyWh: wh,
    priceMcPerKWh: millicentsPerKWh,
  },
} as const;

/**
 * [MKT] the aggregator republishes the chain's clearing of one delivery interval's P2P market
 * on market/results/{interval index}, retained: what each filled order must deliver or take.
 */
export const marketResultParams = {
  type: 'object',
  additionalProperties: false,
  required: ['delivery', 'volumeWh', 'fills', 'height'],
  properties: {
    delivery: interval,
    volumeWh: wh,
    /** absent when nothing traded */
    clearingPriceMcPerKWh: millicentsPerKWh,
    fills: { type: 'array', maxItems: 100_000, items: marketFill },
    /** the block whose end cleared it */
    height: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 },
  },
} as const;

export const feederLimit = {
  type: 'object',
  additionalProperties: false,
  required: ['feeder', 'maxExportWh', 'maxImportWh'],
  properties: { feeder, maxExportWh: wh, maxImportWh: wh },
} as const;

/**
 * [FEEDER-1] A feeder's limits as the registry signed them: an item of `GET /v1/feeders` and
 * the parameters of the chain operation `feeder-limit`. `issuedAt` is the registry's clock,
 * strictly increasing per feeder. registrySignature = Ed25519 by the registry key over
 * "TMI/v1/feeder-limit" ‖ 0x00 ‖ canonical JSON of {feeder, maxExportWh, maxImportWh, issuedAt}
 * (domain-separated: a certificate's or revocation's signature never verifies as a feeder limit).
 */
export const feederLimitParams = {
  type: 'object',
  additionalProperties: false,
  required: ['feeder', 'maxExportWh', 'maxImportWh', 'issuedAt', 'registrySignature'],
  properties: {
    feeder,
    maxExportWh: wh,
    maxImportWh: wh,
    issuedAt: isoDate,
    registrySignature: signature,
  },
} as const;

export const auctionOpenParams = {
  type: 'object',
  additionalProperties: false,
  required: ['auctionId', 'side', 'energy', 'limitPrice', 'delivery', 'closesAt', 'pricing', 'sealed'],
  properties: {
    auctionId: id,
    /** the aggregator's side: buy = it buys energy (HEMs offer to sell) */
    side: { type: 'string', enum: ['buy', 'sell'] },
    energy,
    limitPrice: price,
    delivery: interval,
    closesAt: isoDate,
    pricing: { type: 'string', enum: ['pay-as-bid', 'uniform'] },
    /** [SEALED] bids are commitments revealed by their bidders after closesAt */
    sealed: { type: 'boolean' },
    feederLimits: { type: 'array', maxItems: 1000, items: feederLimit },
  },
} as const;

export const auctionCloseParams = {
  type: 'object',
  additionalProperties: false,
  required: ['auctionId'],
  properties: {
    auctionId: id,
  },
} as const;

export const award = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'energyWh', 'priceMillicentsPerKWh'],
  properties: {
    address,
    feeder,
    energyWh: wh,
    priceMillicentsPerKWh: millicentsPerKWh,
    bidReqId: reqId,
  },
} as const;

export const exclusion = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'reason'],
  properties: { address, reqId, reason: shortText },
} as const;

export const auctionResultParams = {
  type: 'object',
  additionalProperties: false,
  required: ['auctionId', 'status', 'awards'],
  properties: {
    auctionId: id,
    status: { type: 'string', enum: ['cleared', 'void'] },
    clearingPriceMillicentsPerKWh: millicentsPerKWh,
    awardedWh: wh,
    awards: { type: 'array', maxItems: 100_000, items: award },
    excluded: { type: 'array', maxItems: 100_000, items: exclusion },
    /** height of the block that holds the clearing, when known */
    height: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 },
    reason: shortText,
  },
} as const;

/** Signed meter reading for one metering interval; integers only (DESIGN §5). */
export const meterReadingParams = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'interval', 'seq', 'producedWh', 'consumedWh', 'chargedWh', 'dischargedWh', 'socPermille'],
  properties: {
    address,
    interval,
    /** per-pseudonym sequence number: a gap or repeat is visible to every node */
    seq: { type: 'integer', minimum: 0, maximum: 1_000_000_000 },
    /** P: energy produced by the home's RES */
    producedWh: wh,
    /** C: energy consumed by the home, excluding the battery */
    consumedWh: wh,
    /** battery flows in the interval */
    chargedWh: wh,
    dischargedWh: wh,
    socPermille: { type: 'integer', minimum: 0, maximum: 1000 },
  },
} as const;

/** Private live state of a home (meters/{meterId}/state). */
export const stateParams = {
  type: 'object',
  additionalProperties: false,
  required: ['meterId', 'socPermille', 'pvW', 'loadW', 'batteryW'],
  properties: {
    meterId: id,
    address,
    socPermille: { type: 'integer', minimum: 0, maximum: 1000 },
    pvW: { type: 'integer', minimum: 0, maximum: 10_000_000 },
    loadW: { type: 'integer', minimum: 0, maximum: 10_000_000 },
    /** positive = charging */
    batteryW: { type: 'integer', minimum: -10_000_000, maximum: 10_000_000 },
    setpointW: { type: 'integer', minimum: -10_000_000, maximum: 10_000_000 },
    mode: { type: 'string', enum: ['auto', 'award', 'idle', 'offline'] },
    walletMillicents: millicents,
    queued: { type: 'integer', minimum: 0, maximum: 1_000_000_000 },
  },
} as const;

/** Aggregator's day-ahead schedule of aggregated net load (consumption − production). */
export const scheduleParams = {
  type: 'object',
  additionalProperties: false,
  required: ['day', 'intervalMinutes', 'netLoadWh'],
  properties: {
    day: isoDay,
    intervalMinutes: { type: 'integer', minimum: 1, maximum: 1440 },
    netLoadWh: { type: 'array', minItems: 1, maxItems: 1440, items: signedWh },
    method: shortText,
    /** wall-clock start of the first slot and slot length, when they differ from the
     * calendar day and intervalMinutes (compressed simulations) */
    start: isoDate,
    intervalMs: { type: 'integer', minimum: 100, maximum: 86_400_000 },
  },
} as const;

/** Pseudonym certificate issued by the registry (DESIGN §4). */
export const certificateParams = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'validFrom', 'validTo', 'feeder', 'programme', 'registrySignature'],
  properties: {
    address,
    validFrom: isoDate,
    validTo: isoDate,
    feeder,
    programme,
    /**
     * [SYBIL] the registry's per-meter, per-period tag: HMAC-SHA256 under a registry secret of
     * (meter id, certificate period). The same for every certificate of one meter in one
     * period, different across periods, meaningless to anyone but the registry.
     */
    tag: hash,
    /** Ed25519 by the registry key over the canonical certificate without this field */
    registrySignature: signature,
  },
} as const;

export const revocationParams = {
  type: 'object',
  additionalProperties: false,
  required: ['addresses', 'reason', 'registrySignature', 'revokedAt'],
  properties: {
    addresses: { type: 'array', minItems: 1, maxItems: 1000, items: address },
    reason: shortText,
    revokedAt: isoDate,
    registrySignature: signature,
  },
} as const;

export const transferParams = {
  type: 'object',
  additionalProperties: false,
  required: ['to', 'amountMillicents'],
  properties: {
    to: address,
    amountMillicents: { type: 'integer', minimum: 1, maximum: 1_000_000_000_000_000 },
    memo: shortText,
  },
} as const;

export const errorParams = {
  type: 'object',
  additionalProperties: false,
  required: ['code', 'reason'],
  properties: {
    code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$', minLength: 1, maxLength: 64 },
    reason: { type: 'string', minLength: 0, maxLength: 1024 },
    /** reqId of the rejected message, when it could be read */
    reqId: { type: 'string', minLength: 0, maxLength: 64 },
    topic: { type: 'string', minLength: 0, maxLength: 256 },
  },
} as const;
