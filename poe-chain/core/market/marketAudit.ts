/**
 * The audit input of `tmi market clear`: one JSON document holding a MarketBook, checked
 * against marketBookSchema (unknown fields, types and bounds, with the field named) and
 * cleared with exactly the chain's code (clearMarket). Pure: the caller reads the file.
 *
 *   {"epoch": 7, "pricing": "uniform" | "pay-as-bid",
 *    "orders": [{"orderId", "address", "feeder", "side": "buy" | "sell", "energyWh",
 *                "priceMcPerKWh", "inclusion"}],
 *    "feederRoom": [{"feeder", "exportWh", "importWh"}]}
 *
 * MarketBook is the clearing's own input type (the chain builds it from its state, not
 * from a wire message); the type check at the end of this file keeps the schema and the
 * interface the same shape.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { compileOnUse } from '../../../schemas/validators.js';
import { clearMarket, type MarketBook, type MarketResult } from './clearMarket.js';
import { MarketError } from './marketError.js';

/** At most this many orders in an audit file (a day's interval of a large market is far fewer). */
export const MAX_AUDIT_ORDERS = 1_000_000;
export const MAX_AUDIT_FEEDERS = 100_000;

const quantity = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const name = { type: 'string', maxLength: 256 } as const;

export const marketBookSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['epoch', 'pricing', 'orders', 'feederRoom'],
  properties: {
    epoch: quantity,
    pricing: { type: 'string', enum: ['uniform', 'pay-as-bid'] },
    orders: {
      type: 'array',
      maxItems: MAX_AUDIT_ORDERS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['orderId', 'address', 'feeder', 'side', 'energyWh', 'priceMcPerKWh', 'inclusion'],
        properties: {
          orderId: name,
          address: name,
          feeder: name,
          side: { type: 'string', enum: ['buy', 'sell'] },
          energyWh: quantity,
          priceMcPerKWh: quantity,
          inclusion: { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
        },
      },
    },
    feederRoom: {
      type: 'array',
      maxItems: MAX_AUDIT_FEEDERS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['feeder', 'exportWh', 'importWh'],
        properties: { feeder: name, exportWh: quantity, importWh: quantity },
      },
    },
  },
} as const;

const validateBook = compileOnUse(marketBookSchema);

/**
 * Checks a parsed JSON document against marketBookSchema and clears it. Throws
 * MarketError INVALID_BOOK field=<path> value=<value> reason=<rule> on a document that
 * does not fit, and clearMarket's errors (DUPLICATE_ORDER_ID, DUPLICATE_FEEDER_ROOM, …).
 */
export function auditMarket(document: unknown): MarketResult {
  if (!validateBook(document)) {
    const e = validateBook.errors?.[0];
    let path = e?.instancePath ?? '';
    let reason = e?.message ?? 'invalid';
    const params = (e?.params ?? {}) as { additionalProperty?: string; missingProperty?: string; allowedValues?: unknown[] };
    if (params.additionalProperty !== undefined) {
      path += `/${params.additionalProperty}`;
      reason = 'unknown field';
    } else if (params.missingProperty !== undefined) {
      path += `/${params.missingProperty}`;
      reason = 'required';
    } else if (params.allowedValues !== undefined) reason = `must be one of ${params.allowedValues.join(', ')}`;
    throw new MarketError('INVALID_BOOK', { field: path.slice(1) || 'book', value: show(at(document, path)), reason });
  }
  return clearMarket(document as MarketBook);
}

/** the value at a JSON pointer made of plain keys and indices (ajv's instancePath) */
function at(doc: unknown, path: string): unknown {
  let v = doc;
  for (const key of path.split('/').slice(1)) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

function show(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
}

// compile-time check: the audit file's schema and MarketBook are the same shape
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type MarketBookSchemaMatchesBook = Assert<Same<FromSchema<typeof marketBookSchema>, MarketBook>>;
