/**
 * Query-string schemas of the HTTP API, with bounds. Query values arrive as strings;
 * this ajv instance coerces them to the schema's types (and applies defaults), so a
 * handler receives typed, bounded values or the request is answered 400 BAD_QUERY.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { FromSchema } from 'json-schema-to-ts';
import { address, id, isoDate, isoDay } from '../../schemas/common.js';
import { AnalyticsError } from '../analyticsError.js';

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false, strict: true, strictRequired: false });

const format = { type: 'string', enum: ['json', 'csv'], default: 'json' } as const;
const limit = (def: number, max: number) => ({ type: 'integer', minimum: 1, maximum: max, default: def }) as const;
const from = isoDate;
const to = isoDate;

export const emptyQuery = { type: 'object', additionalProperties: false, properties: {} } as const;
export const formatQuery = { type: 'object', additionalProperties: false, required: ['format'], properties: { format } } as const;

export const auctionsQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['limit', 'format'],
  properties: {
    limit: limit(50, 1000),
    /** the `next` of a previous page: "<ms>:<auctionId>", or "<ms>" */
    before: { type: 'string', pattern: '^[0-9]{1,16}(:[A-Za-z0-9][A-Za-z0-9._:-]{0,127})?$', minLength: 1, maxLength: 145 },
    format,
  },
} as const;

export const timeRangeQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['limit', 'format'],
  properties: { from, to, limit: limit(1000, 10_000), format },
} as const;

export const rankingQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['top', 'format'],
  properties: { top: limit(100, 10_000), format },
} as const;

export const rankingHistoryQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['limit', 'top', 'format'],
  properties: { limit: limit(20, 1000), top: limit(10, 1000), format },
} as const;

export const walletsQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['limit', 'format'],
  properties: { limit: limit(100, 10_000), format },
} as const;

export const netLoadQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['format'],
  properties: { day: isoDay, format },
} as const;

export const socQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['limit', 'homes', 'format'],
  properties: { from, to, limit: limit(96, 10_000), homes: limit(10, 100), format },
} as const;

export const marketQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['limit', 'format'],
  properties: {
    limit: limit(48, 1000),
    /** list intervals before this one (exclusive): the `interval` of the last item of a page */
    before: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 },
    format,
  },
} as const;

export const marketHomesQuery = walletsQuery;

export const marketPath = {
  type: 'object',
  additionalProperties: false,
  required: ['interval'],
  properties: { interval: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 } },
} as const;

export const auctionPath = { type: 'object', additionalProperties: false, required: ['id'], properties: { id } } as const;
export const walletPath = { type: 'object', additionalProperties: false, required: ['address'], properties: { address } } as const;

export type AuctionsQuery = FromSchema<typeof auctionsQuery>;
export type TimeRangeQuery = FromSchema<typeof timeRangeQuery>;
export type RankingQuery = FromSchema<typeof rankingQuery>;
export type RankingHistoryQuery = FromSchema<typeof rankingHistoryQuery>;
export type WalletsQuery = FromSchema<typeof walletsQuery>;
export type NetLoadQuery = FromSchema<typeof netLoadQuery>;
export type SocQuery = FromSchema<typeof socQuery>;
export type MarketQuery = FromSchema<typeof marketQuery>;
export type MarketHomesQuery = FromSchema<typeof marketHomesQuery>;
export type FormatQuery = FromSchema<typeof formatQuery>;

const compiled = new Map<object, ValidateFunction>();

/**
 * Validates (and coerces, on a copy) `value` against `schema`; throws AnalyticsError
 * BAD_QUERY / BAD_PATH with a message that names the parameter.
 */
export function checkInput<T>(schema: object, value: Record<string, unknown>, where: 'query' | 'path'): T {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  const copy: Record<string, unknown> = { ...value };
  if (validate(copy)) return copy as T;
  const e = validate.errors?.[0];
  const code = where === 'query' ? 'BAD_QUERY' : 'BAD_PATH';
  const what = where === 'query' ? 'query parameter' : 'path parameter';
  if (e === undefined) throw new AnalyticsError(code, { reason: 'invalid' });
  if (e.keyword === 'additionalProperties') {
    const p = (e.params as { additionalProperty: string }).additionalProperty;
    throw new AnalyticsError(code, { reason: `unknown ${what} '${p}'` });
  }
  const name = e.instancePath.replace(/^\//, '') || '?';
  throw new AnalyticsError(code, { reason: `${what} '${name}' ${e.message ?? 'is invalid'}` });
}

/** ms of an ISO date that passed the pattern; throws BAD_QUERY for an impossible date (e.g. month 13). */
export function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!Number.isFinite(t) || new Date(t).toISOString().slice(0, 19) !== value.slice(0, 19)) {
    throw new AnalyticsError('BAD_QUERY', { reason: `query parameter '${name}' is not a real date: ${value}` });
  }
  return t;
}

export function parseRange(q: { from?: string; to?: string }): { from?: number; to?: number } {
  const f = parseTime('from', q.from);
  const t = parseTime('to', q.to);
  if (f !== undefined && t !== undefined && f >= t) throw new AnalyticsError('BAD_QUERY', { reason: "query parameter 'from' must be before 'to'" });
  return { ...(f !== undefined ? { from: f } : {}), ...(t !== undefined ? { to: t } : {}) };
}

export function parseDay(day: string | undefined): string | undefined {
  if (day === undefined) return undefined;
  parseTime('day', `${day}T00:00:00.000Z`);
  return day;
}
