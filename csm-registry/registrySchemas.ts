/**
 * Schemas of the registry HTTP API: request bodies, query strings and responses.
 * Every object has additionalProperties:false and every string and number is bounded.
 * The TypeScript types are derived from these (STYLE: one source for wire types).
 */
import type { FromSchema } from 'json-schema-to-ts';
import { address, feeder, hash, id, isoDate, programme, reqId, signature, wh } from '../schemas/common.js';
import { certificateParams, feederLimitParams, revocationParams } from '../schemas/operations.js';

/** Largest JSON request body, bytes. */
export const MAX_BODY_BYTES = 16 * 1024;

/** Page sizes of the list endpoints. */
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

export const meterId = id;

/** Printable ASCII without spaces, e.g. "LG-E450-000123". */
export const serial = { type: 'string', pattern: '^[\\x21-\\x7e]+$', minLength: 1, maxLength: 64 } as const;

/** Printable ASCII, inner spaces allowed, e.g. "Landis+Gyr E450". */
export const meterType = {
  type: 'string',
  pattern: '^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$',
  minLength: 1,
  maxLength: 64,
} as const;

export const role = { type: 'string', enum: ['hem', 'aggregator', 'node', 'analytics', 'admin'] } as const;

export const meterStatus = { type: 'string', enum: ['active', 'revoked'] } as const;

/** Free text without control characters. */
export const reason = { type: 'string', pattern: '^[^\\u0000-\\u001f\\u007f]+$', minLength: 1, maxLength: 256 } as const;

/** Operator name from the optional `X-TMI-Operator` header, recorded in the audit log. */
export const operator = id;

// ── request bodies ───────────────────────────────────────────────────────────────

export const enrollBody = {
  type: 'object',
  additionalProperties: false,
  required: ['meterId', 'serial', 'meterType', 'publicKey', 'feeder', 'programme'],
  properties: { meterId, serial, meterType, publicKey: address, feeder, programme, role },
} as const;

export const revokeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reason'],
  properties: { reason },
} as const;

/** Signed by the meter key: Ed25519 over the canonical JSON of the body without `signature`. */
export const certificateRequestBody = {
  type: 'object',
  additionalProperties: false,
  required: ['meterId', 'address', 'date', 'nonce', 'signature'],
  properties: { meterId, address, date: isoDate, nonce: reqId, signature },
} as const;

export const feederLimitsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['maxExportWh', 'maxImportWh'],
  properties: { maxExportWh: wh, maxImportWh: wh },
} as const;

// ── path parameters and query strings (strings, as they arrive) ───────────────────

/** 1…9999; more than MAX_PAGE is served as MAX_PAGE */
const pageLimit = { type: 'string', pattern: '^[1-9][0-9]{0,3}$', minLength: 1, maxLength: 4 } as const;
const seqText = { type: 'string', pattern: '^[0-9]{1,15}$', minLength: 1, maxLength: 15 } as const;

export const meterIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['meterId'],
  properties: { meterId },
} as const;

export const addressParams = {
  type: 'object',
  additionalProperties: false,
  required: ['address'],
  properties: { address },
} as const;

export const feederParams = {
  type: 'object',
  additionalProperties: false,
  required: ['feeder'],
  properties: { feeder },
} as const;

export const listMetersQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: pageLimit, after: meterId },
} as const;

export const revocationsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { since: seqText, limit: pageLimit },
} as const;

export const auditQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { after: seqText, limit: pageLimit },
} as const;

export const emptyQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

// ── records and responses ───────────────────────────────────────────────────────

const seq = { type: 'integer', minimum: 0, maximum: 999_999_999_999_999 } as const;

export const meterRecord = {
  type: 'object',
  additionalProperties: false,
  required: ['meterId', 'serial', 'meterType', 'publicKey', 'feeder', 'programme', 'role', 'status', 'enrolledAt'],
  properties: {
    meterId,
    serial,
    meterType,
    publicKey: address,
    feeder,
    programme,
    role,
    status: meterStatus,
    enrolledAt: isoDate,
    revokedAt: isoDate,
    revokedReason: reason,
  },
} as const;

/** The pseudonym ↔ meter audit link (operators only). `status` is the meter's. */
export const pseudonymRecord = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'meterId', 'validFrom', 'validTo', 'feeder', 'programme', 'issuedAt', 'status'],
  properties: {
    address,
    meterId,
    validFrom: isoDate,
    validTo: isoDate,
    feeder,
    programme,
    issuedAt: isoDate,
    status: meterStatus,
  },
} as const;

/**
 * One entry of the revocations feed. `pseudonyms` are all addresses ever certified to
 * the meter; `chainRevocations` are registry-signed `revocation` parameters (≤ 1000
 * addresses each) of those still valid at `revokedAt`, ready to put on chain.
 */
export const revocationItem = {
  type: 'object',
  additionalProperties: false,
  required: ['seq', 'meterId', 'revokedAt', 'reason', 'pseudonyms', 'chainRevocations'],
  properties: {
    seq,
    meterId,
    revokedAt: isoDate,
    reason,
    pseudonyms: { type: 'array', maxItems: 1_000_000, items: address },
    chainRevocations: { type: 'array', maxItems: 1000, items: revocationParams },
  },
} as const;

export const auditEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['seq', 'at', 'actor', 'action', 'target'],
  properties: {
    seq,
    at: isoDate,
    actor: operator,
    /** remote address of the request, when known */
    from: { type: 'string', minLength: 0, maxLength: 64 },
    action: { type: 'string', enum: ['enroll', 'revoke', 'feeder-set'] },
    target: { type: 'string', minLength: 1, maxLength: 128 },
    details: {
      type: 'object',
      additionalProperties: false,
      properties: {
        serial,
        meterType,
        publicKey: address,
        feeder,
        programme,
        role,
        reason,
        pseudonyms: { type: 'integer', minimum: 0, maximum: 1_000_000 },
        maxExportWh: wh,
        maxImportWh: wh,
        previousExportWh: wh,
        previousImportWh: wh,
      },
    },
  },
} as const;

export const healthResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'meters'],
  properties: {
    status: { type: 'string', enum: ['ok'] },
    meters: { type: 'integer', minimum: 0, maximum: 1_000_000_000 },
    revocations: seq,
  },
} as const;

export const registryKeyResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'algorithm'],
  properties: { address, algorithm: { type: 'string', enum: ['Ed25519'] } },
} as const;

/** GET /v1/broker-key: the broker's error-signing key, for HEMs to pin [BROKER-ID] */
export const brokerKeyResponse = registryKeyResponse;

/**
 * GET /v1/chain: the chain this registry serves [DOMAIN-TX]: its genesis hash, which every
 * chain transaction names (`chain`), and its chain id. HEMs learn it here.
 */
export const chainInfoResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['genesisHash', 'chainId'],
  properties: { genesisHash: hash, chainId: id },
} as const;

/** GET /v1/whoami: which credential the bearer token is [ROLES] */
export const whoamiResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['role'],
  properties: { role: { type: 'string', enum: ['admin', 'directory'] } },
} as const;

export const meterResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['meter'],
  properties: { meter: meterRecord },
} as const;

export const meterPage = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: { items: { type: 'array', maxItems: MAX_PAGE, items: meterRecord }, next: meterId },
} as const;

export const revocationPage = {
  type: 'object',
  additionalProperties: false,
  required: ['items', 'last'],
  properties: { items: { type: 'array', maxItems: MAX_PAGE, items: revocationItem }, last: seq, more: { type: 'boolean' } },
} as const;

export const auditPage = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: { items: { type: 'array', maxItems: MAX_PAGE, items: auditEntry }, next: seq },
} as const;

/** [FEEDER-1] every feeder's limits, each signed by the registry (the `feeder-limit` parameters) */
export const feederList = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: { items: { type: 'array', maxItems: 100_000, items: feederLimitParams } },
} as const;

export const errorResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$', minLength: 1, maxLength: 64 },
        message: { type: 'string', minLength: 0, maxLength: 2048 },
      },
    },
  },
} as const;

export { certificateParams };

export type EnrollRequest = FromSchema<typeof enrollBody>;
export type RevokeRequest = FromSchema<typeof revokeBody>;
export type CertificateRequest = FromSchema<typeof certificateRequestBody>;
export type FeederLimits = FromSchema<typeof feederLimitsBody>;
export type Role = FromSchema<typeof role>;
export type Programme = FromSchema<typeof programme>;
export type MeterStatus = FromSchema<typeof meterStatus>;
export type MeterRecord = FromSchema<typeof meterRecord>;
export type PseudonymRecord = FromSchema<typeof pseudonymRecord>;
export type RevocationItem = FromSchema<typeof revocationItem>;
export type AuditEntry = FromSchema<typeof auditEntry>;
export type AuditAction = AuditEntry['action'];
export type AuditDetails = NonNullable<AuditEntry['details']>;
export type Health = FromSchema<typeof healthResponse>;
export type RegistryKeyInfo = FromSchema<typeof registryKeyResponse>;
export type Whoami = FromSchema<typeof whoamiResponse>;
export type ChainInfo = FromSchema<typeof chainInfoResponse>;
export type MeterPage = FromSchema<typeof meterPage>;
export type RevocationPage = FromSchema<typeof revocationPage>;
export type AuditPage = FromSchema<typeof auditPage>;
export type FeederList = FromSchema<typeof feederList>;
export type ErrorResponse = FromSchema<typeof errorResponse>;
