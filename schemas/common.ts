/**
 * Shared schema fragments. Every object has additionalProperties:false and every
 * number and string is bounded (DESIGN §2). Fragments are plain `as const` objects so
 * that json-schema-to-ts can derive the TypeScript types from them.
 */

/** Lowercase hex of a 32-byte Ed25519 public key: a pseudonym or node address. */
export const address = { type: 'string', pattern: '^[0-9a-f]{64}$', minLength: 64, maxLength: 64 } as const;

/** A SHA-256 digest in lowercase hex. */
export const hash = { type: 'string', pattern: '^[0-9a-f]{64}$', minLength: 64, maxLength: 64 } as const;

/**
 * [DOMAIN-TX] The chain an envelope is signed for: its genesis hash (lowercase hex). Optional
 * in every envelope and covered by its signature like any field; every chain transaction
 * must carry this chain's (poe-chain/core/applyTransaction.ts).
 */
export const chain = hash;

/** An identifier safe inside an MQTT topic level: no '/', '+', '#'. */
export const id = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$', minLength: 1, maxLength: 128 } as const;

/** Client id: a meter id or an address; never contains topic wildcards. */
export const clientId = id;

/** ≥ 96 random bits, base64url or hex. */
export const reqId = { type: 'string', pattern: '^[A-Za-z0-9_-]+$', minLength: 16, maxLength: 64 } as const;

/** UTC timestamp, ISO 8601 with milliseconds, as Date.prototype.toISOString writes it. */
export const isoDate = {
  type: 'string',
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?Z$',
  minLength: 20,
  maxLength: 24,
} as const;

/** A day, YYYY-MM-DD. */
export const isoDay = { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', minLength: 10, maxLength: 10 } as const;

/**
 * base64 of a 64-byte Ed25519 signature, canonical only: the last data character carries
 * 2 bits and 4 zero bits, so only A, Q, g or w may stand there. Any other would decode to
 * the same bytes under a different string — and ids hash the string (a replayed transfer).
 */
export const signature = { type: 'string', pattern: '^[A-Za-z0-9+/]{85}[AQgw]==$', minLength: 88, maxLength: 88 } as const;

/** base64 of 32 bytes (X25519 / Ed25519 key), canonical only (last data character: 4 bits + 2 zero bits). */
export const key32 = { type: 'string', pattern: '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$', minLength: 44, maxLength: 44 } as const;

/** base64 of a 24-byte nacl nonce. */
export const nonce24 = { type: 'string', pattern: '^[A-Za-z0-9+/]{32}$', minLength: 32, maxLength: 32 } as const;

/** Feeder name, as in the registry. */
export const feeder = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', minLength: 1, maxLength: 64 } as const;

export const programme = { type: 'string', enum: ['TE', 'RE', 'RE+TE'] } as const;

/** Integer energy in Wh (chain unit, DESIGN §5). Up to 1 GWh. */
export const wh = { type: 'integer', minimum: 0, maximum: 1_000_000_000 } as const;

/** Signed integer energy in Wh. */
export const signedWh = { type: 'integer', minimum: -1_000_000_000, maximum: 1_000_000_000 } as const;

/** Integer price in millicents per kWh (chain unit). Up to 1,000 €/kWh-equivalent cents. */
export const millicentsPerKWh = { type: 'integer', minimum: 0, maximum: 100_000_000 } as const;

/** Integer money in millicents. Signed: wallets may go negative by penalties. */
export const millicents = { type: 'integer', minimum: -1_000_000_000_000_000, maximum: 1_000_000_000_000_000 } as const;

export const height = { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 } as const;

/**
 * Energy quantity on the wire, the paper's shape: {"unit":"kWh","value":10}.
 * Converted to integer Wh by quantities.ts with the single rounding rule (floor).
 */
export const energy = {
  type: 'object',
  additionalProperties: false,
  required: ['unit', 'value'],
  properties: {
    unit: { type: 'string', enum: ['kWh', 'Wh'] },
    value: { type: 'number', minimum: 0, maximum: 1_000_000_000 },
  },
} as const;

/** Price on the wire: {"unit":"cents/kWh","value":8.2}. */
export const price = {
  type: 'object',
  additionalProperties: false,
  required: ['unit', 'value'],
  properties: {
    unit: { type: 'string', enum: ['cents/kWh', 'millicents/kWh'] },
    value: { type: 'number', minimum: 0, maximum: 100_000_000 },
  },
} as const;

/** A half-open time interval [start, end). */
export const interval = {
  type: 'object',
  additionalProperties: false,
  required: ['start', 'end'],
  properties: { start: isoDate, end: isoDate },
} as const;

export const shortText = { type: 'string', minLength: 0, maxLength: 256 } as const;
