/**
 * The message codec (DESIGN §2).
 *
 * decode = size check → JSON parse → schema → signature → replay; each failure a
 * WireError with a stable code. encode/sign build envelopes whose signature is
 * Ed25519 over the RFC 8785 canonical JSON of the envelope without `signature`.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type { ErrorObject } from 'ajv';
import { envelopeValidator, validateHeader } from '../schemas/validators.js';
import { operations, MAX_ANY_MESSAGE_BYTES, type Operation } from '../schemas/envelope.js';
import type { AnyEnvelope, Envelope, Params, UnsignedEnvelope } from '../schemas/types.js';
import { canonicalBytes } from './canonicalJson.js';
import { WireError, type WireErrorCode } from './errors.js';
import { PublicKeyCache, isAddress, signBytes, verifyBytes, type KeyPair } from './keys.js';
import { ReplayGuard } from './replayGuard.js';

/** Operations whose `parameters.address` must be the signer (clientId). */
const SIGNER_IS_ADDRESS: ReadonlySet<Operation> = new Set<Operation>(['bid-offer', 'bid-reveal', 'market-order', 'market-reveal', 'meter-reading']);

export interface CodecOptions {
  /** Upper bound on any message, bytes; each operation also has its own (schemas/envelope.ts). */
  maxBytes?: number;
  /** Date tolerance, ms (default 120 s). */
  skewMs?: number;
  now?: () => number;
  /** Reject repeated (clientId, reqId) and stale dates (default true). */
  replayCheck?: boolean;
  /**
   * Key of a clientId that is not an address (e.g. a meter id signing with its meter
   * key). Return undefined for an unknown signer.
   */
  resolveKey?: (clientId: string) => KeyObject | undefined;
  keyCache?: PublicKeyCache;
}

export interface Codec {
  /** Decode a message from the wire. Throws WireError. */
  decode(data: Uint8Array | string): AnyEnvelope;
  /** Validate an already-parsed envelope (e.g. a transaction inside a block). */
  decodeValue(value: unknown, opts?: { replayCheck?: boolean }): AnyEnvelope;
  readonly replay: ReplayGuard;
}

export function createCodec(opts: CodecOptions = {}): Codec {
  const maxBytes = opts.maxBytes ?? MAX_ANY_MESSAGE_BYTES;
  const keys = opts.keyCache ?? new PublicKeyCache();
  const replay = new ReplayGuard({ skewMs: opts.skewMs ?? 120_000, now: opts.now ?? Date.now });
  const replayDefault = opts.replayCheck ?? true;

  function keyFor(clientId: string): KeyObject {
    if (isAddress(clientId)) return keys.get(clientId);
    const k = opts.resolveKey?.(clientId);
    if (!k) throw new WireError('UNKNOWN_SIGNER', { clientId });
    return k;
  }

  function decodeValue(value: unknown, o: { replayCheck?: boolean } = {}): AnyEnvelope {
    // [WIRE-2.schema] envelope first, to learn the operation; then the operation's schema
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new WireError('NOT_AN_OBJECT', { got: Array.isArray(value) ? 'array' : typeof value });
    }
    const op = (value as { operation?: unknown }).operation;
    if (typeof op !== 'string' || !Object.prototype.hasOwnProperty.call(operations, op)) {
      if (!validateHeader(value)) throw schemaError(validateHeader, value);
      throw new WireError('UNKNOWN_OPERATION', { operation: String(op) });
    }
    const validate = envelopeValidator(op as Operation);
    if (!validate(value)) throw schemaError(validate, value);
    const env = value as AnyEnvelope;

    if (SIGNER_IS_ADDRESS.has(env.operation)) {
      const addr = (env.parameters as { address: string }).address;
      if (addr !== env.clientId) throw new WireError('ADDRESS_MISMATCH', { clientId: env.clientId, address: addr });
    }

    // [WIRE-2.signature] Ed25519 over canonical JSON without `signature`
    const key = keyFor(env.clientId);
    const { signature, ...unsigned } = env;
    const sig = Buffer.from(signature, 'base64');
    // only the canonical encoding: one signature, one string (ids hash the string)
    if (sig.toString('base64') !== signature || !verifyBytes(key, canonicalBytes(unsigned), sig)) {
      throw new WireError('BAD_SIGNATURE', { clientId: env.clientId, reqId: env.reqId });
    }

    // [WIRE-2.replay] repeated (clientId, reqId) or date outside ±skew
    if (o.replayCheck ?? replayDefault) replay.check(env.clientId, env.reqId, env.date);
    return env;
  }

  function decode(data: Uint8Array | string): AnyEnvelope {
    const size = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
    if (size > maxBytes) throw new WireError('MESSAGE_TOO_LARGE', { bytes: size, limit: maxBytes });
    let value: unknown;
    try {
      value = JSON.parse(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
    } catch (err) {
      throw new WireError('MALFORMED_JSON', { reason: (err as Error).message });
    }
    const op = (value as { operation?: unknown } | null)?.operation;
    if (typeof op === 'string' && Object.prototype.hasOwnProperty.call(operations, op)) {
      const limit = Math.min(maxBytes, operations[op as Operation].maxBytes);
      if (size > limit) throw new WireError('MESSAGE_TOO_LARGE', { bytes: size, limit, operation: op });
    }
    return decodeValue(value);
  }

  return { decode, decodeValue, replay };
}

const KEYWORD_CODES: Record<string, WireErrorCode> = {
  required: 'SCHEMA_MISSING_FIELD',
  additionalProperties: 'SCHEMA_UNKNOWN_FIELD',
  enum: 'SCHEMA_BAD_VALUE',
  const: 'SCHEMA_BAD_VALUE',
  minimum: 'SCHEMA_OUT_OF_RANGE',
  maximum: 'SCHEMA_OUT_OF_RANGE',
  exclusiveMinimum: 'SCHEMA_OUT_OF_RANGE',
  exclusiveMaximum: 'SCHEMA_OUT_OF_RANGE',
  minLength: 'SCHEMA_BAD_LENGTH',
  maxLength: 'SCHEMA_BAD_LENGTH',
  minItems: 'SCHEMA_BAD_LENGTH',
  maxItems: 'SCHEMA_BAD_LENGTH',
  type: 'SCHEMA_WRONG_TYPE',
  pattern: 'SCHEMA_BAD_FORMAT',
  format: 'SCHEMA_BAD_FORMAT',
  oneOf: 'SCHEMA_BAD_SHAPE',
};

function valueAt(root: unknown, pointer: string): unknown {
  let cur: unknown = root;
  for (const part of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}

export function schemaError(validate: { errors?: ErrorObject[] | null }, value: unknown): WireError {
  const e: ErrorObject | undefined = validate.errors?.[0];
  if (!e) return new WireError('SCHEMA_INVALID', {});
  let code = KEYWORD_CODES[e.keyword] ?? 'SCHEMA_INVALID';
  let path = e.instancePath || '/';
  if (e.keyword === 'required') path = `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`;
  if (e.keyword === 'additionalProperties') {
    path = `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`;
  }
  if (e.keyword === 'type') {
    const v = valueAt(value, e.instancePath);
    if (typeof v === 'number' && !Number.isFinite(v)) code = 'SCHEMA_NOT_FINITE';
  }
  return new WireError(code, { path, reason: e.message });
}

// ── building messages ──────────────────────────────────────────────────────────

export function newReqId(): string {
  return randomBytes(16).toString('base64url'); // 128 bits
}

export interface SignOptions {
  /** defaults to the key's address */
  clientId?: string;
  reqId?: string;
  date?: Date | string;
  /** [DOMAIN-TX] the genesis hash of the chain the envelope is for (every chain transaction carries it) */
  chain?: string;
}

export function signEnvelope<O extends Operation>(kp: KeyPair, operation: O, parameters: Params<O>, o: SignOptions = {}): Envelope<O> {
  const unsigned: UnsignedEnvelope<O> = {
    clientId: o.clientId ?? kp.address,
    reqId: o.reqId ?? newReqId(),
    date: typeof o.date === 'string' ? o.date : (o.date ?? new Date()).toISOString(),
    operation,
    ...(o.chain !== undefined ? { chain: o.chain } : {}),
    parameters,
  };
  const signature = signBytes(kp, canonicalBytes(unsigned)).toString('base64');
  return { ...unsigned, signature } as Envelope<O>;
}

export function encode(env: object): Buffer {
  return Buffer.from(JSON.stringify(env), 'utf8');
}

/** Sign and encode in one step. */
export function signAndEncode<O extends Operation>(kp: KeyPair, operation: O, parameters: Params<O>, o: SignOptions = {}): Buffer {
  return encode(signEnvelope(kp, operation, parameters, o));
}
