import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCodec, encode, signAndEncode, signEnvelope } from '../codec.js';
import { keyPairFromSeed } from '../keys.js';
import { WireError, type WireErrorCode } from '../errors.js';
import type { BidOffer } from '../../schemas/types.js';

const kp = keyPairFromSeed(new Uint8Array(32).fill(7));
const NOW = Date.parse('2026-11-21T10:15:00.000Z');

/** The paper's example bid-offer (DESIGN §2), numbers as JSON numbers. */
function paperBid(): BidOffer {
  return {
    auctionId: 'auction-2026-11-21T10:30',
    address: kp.address,
    cpf: 0.72,
    feeder: 'F1',
    bid: { type: 'sell', energy: { unit: 'kWh', value: 10 }, price: { unit: 'cents/kWh', value: 8.2 } },
  };
}

function codecAt(now = NOW, extra: Parameters<typeof createCodec>[0] = {}) {
  return createCodec({ now: () => now, ...extra });
}

function signedJson(mutate?: (env: Record<string, unknown>) => void, params = paperBid()): string {
  const env = signEnvelope(kp, 'bid-offer', params, { date: new Date(NOW) }) as unknown as Record<string, unknown>;
  mutate?.(env);
  return JSON.stringify(env);
}

function rejects(codec: ReturnType<typeof createCodec>, data: string | Uint8Array, code: WireErrorCode, path?: string): WireError {
  try {
    codec.decode(data);
  } catch (err) {
    assert.ok(err instanceof WireError, `expected WireError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (path !== undefined) assert.equal(err.context.path, path, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but the message decoded`);
}

/** Change parameters after signing, keeping the original signature. */
function tampered(fn: (p: Record<string, any>) => void): string {
  return signedJson((env) => fn(env.parameters as Record<string, any>));
}

test('the paper example bid-offer becomes a signed envelope that decodes', () => {
  const wire = signAndEncode(kp, 'bid-offer', paperBid(), { date: new Date(NOW) });
  const env = codecAt().decode(wire);
  assert.equal(env.operation, 'bid-offer');
  assert.equal(env.clientId, kp.address);
  assert.deepEqual(env.parameters, paperBid());
  assert.match(env.signature, /^[A-Za-z0-9+/]{86}==$/);
  assert.ok(env.reqId.length >= 16);
});

// Each case: a field change made before signing (so only the schema can object).
function signedWith(fn: (p: Record<string, any>) => void): string {
  const p = paperBid() as unknown as Record<string, any>;
  fn(p);
  return signedJson(undefined, p as unknown as BidOffer);
}

test('missing field → SCHEMA_MISSING_FIELD', () => {
  rejects(codecAt(), signedWith((p) => delete p.auctionId), 'SCHEMA_MISSING_FIELD', '/parameters/auctionId');
  rejects(codecAt(), signedJson((env) => delete env.reqId), 'SCHEMA_MISSING_FIELD', '/reqId');
});

test('extra field → SCHEMA_UNKNOWN_FIELD', () => {
  rejects(codecAt(), signedWith((p) => (p.bid.extra = 1)), 'SCHEMA_UNKNOWN_FIELD', '/parameters/bid/extra');
  rejects(codecAt(), signedJson((env) => (env.extra = true)), 'SCHEMA_UNKNOWN_FIELD', '/extra');
});

test('wrong unit → SCHEMA_BAD_VALUE', () => {
  rejects(codecAt(), signedWith((p) => (p.bid.energy.unit = 'MWh')), 'SCHEMA_BAD_VALUE', '/parameters/bid/energy/unit');
  rejects(codecAt(), signedWith((p) => (p.bid.price.unit = 'EUR/kWh')), 'SCHEMA_BAD_VALUE', '/parameters/bid/price/unit');
});

test('negative energy → SCHEMA_OUT_OF_RANGE; non-finite energy → SCHEMA_NOT_FINITE', () => {
  rejects(codecAt(), signedWith((p) => (p.bid.energy.value = -1)), 'SCHEMA_OUT_OF_RANGE', '/parameters/bid/energy/value');
  // JSON has no Infinity; 1e999 is how one arrives on the wire (JSON.parse gives Infinity)
  const inf = signedJson().replace('"value":10', '"value":1e999');
  rejects(codecAt(), inf, 'SCHEMA_NOT_FINITE', '/parameters/bid/energy/value');
  const nan = signedJson().replace('"value":10', '"value":NaN');
  rejects(codecAt(), nan, 'MALFORMED_JSON');
});

test('a 1 MB string → SCHEMA_BAD_LENGTH (with the size limit lifted) and MESSAGE_TOO_LARGE (default)', () => {
  const big = signedWith((p) => (p.auctionId = 'a'.repeat(1024 * 1024)));
  rejects(codecAt(NOW, { maxBytes: 4 * 1024 * 1024 }), big, 'MESSAGE_TOO_LARGE'); // per-operation limit still holds
  // the schema bound itself, on an already-parsed value
  const value = JSON.parse(big);
  assert.throws(() => codecAt().decodeValue(value), (e: unknown) => e instanceof WireError && e.code === 'SCHEMA_BAD_LENGTH' && e.context.path === '/parameters/auctionId');
});

test('a flipped signature byte → BAD_SIGNATURE', () => {
  const env = JSON.parse(signedJson());
  const sig = Buffer.from(env.signature, 'base64');
  sig[10] = (sig[10] ?? 0) ^ 0x01;
  env.signature = sig.toString('base64');
  rejects(codecAt(), JSON.stringify(env), 'BAD_SIGNATURE');
});

test('a field changed after signing → BAD_SIGNATURE', () => {
  rejects(codecAt(), tampered((p) => (p.bid.price.value = 8.3)), 'BAD_SIGNATURE');
});

test('a replayed reqId → REPLAYED', () => {
  const codec = codecAt();
  const wire = signedJson();
  codec.decode(wire);
  rejects(codec, wire, 'REPLAYED');
  // a different reqId from the same signer is fine
  codec.decode(signedJson());
});

test('a stale date → STALE_DATE (±120 s by default, configurable)', () => {
  const wire = signedJson();
  rejects(codecAt(NOW + 121_000), wire, 'STALE_DATE');
  rejects(codecAt(NOW - 121_000), wire, 'STALE_DATE');
  codecAt(NOW + 119_000).decode(wire);
  rejects(codecAt(NOW + 20_000, { skewMs: 10_000 }), wire, 'STALE_DATE');
});

test('a message over the size limit → MESSAGE_TOO_LARGE', () => {
  const wire = signedJson();
  const padded = wire.slice(0, -1) + ' '.repeat(16 * 1024) + '}';
  rejects(codecAt(), padded, 'MESSAGE_TOO_LARGE');
  rejects(codecAt(NOW, { maxBytes: 100 }), wire, 'MESSAGE_TOO_LARGE');
});

test('other failures have their own codes', () => {
  rejects(codecAt(), '{not json', 'MALFORMED_JSON');
  rejects(codecAt(), '[1,2]', 'NOT_AN_OBJECT');
  rejects(codecAt(), 'null', 'NOT_AN_OBJECT');
  rejects(codecAt(), signedJson((env) => (env.operation = 'launch-missiles')), 'SCHEMA_BAD_VALUE', '/operation');
  rejects(codecAt(), signedWith((p) => (p.address = 'ab'.repeat(32))), 'ADDRESS_MISMATCH');
  rejects(codecAt(), signedWith((p) => (p.cpf = 'high')), 'SCHEMA_WRONG_TYPE', '/parameters/cpf');
  rejects(codecAt(), signedJson((env) => (env.date = '2026-11-21 10:15:00.000Z')), 'SCHEMA_BAD_FORMAT', '/date');
  rejects(codecAt(), signedWith((p) => delete p.bid), 'SCHEMA_MISSING_FIELD', '/parameters/bid');
  const sealed = { epk: Buffer.alloc(32).toString('base64'), nonce: Buffer.alloc(24).toString('base64'), box: Buffer.alloc(40).toString('base64') };
  rejects(codecAt(), signedWith((p) => (p.sealed = sealed)), 'SCHEMA_BAD_SHAPE', '/parameters');
});

test('a meter id signer is resolved through resolveKey', () => {
  const codec = codecAt(NOW, { resolveKey: () => undefined });
  const state = signEnvelope(kp, 'state', { meterId: 'meter-1', socPermille: 500, pvW: 100, loadW: 300, batteryW: -200 }, { clientId: 'meter-1', date: new Date(NOW) });
  rejects(codec, encode(state), 'UNKNOWN_SIGNER');
  const known = createCodec({ now: () => NOW, resolveKey: (id) => (id === 'meter-1' ? publicKeyOf() : undefined) });
  assert.equal(known.decode(encode(state)).operation, 'state');
});

function publicKeyOf() {
  return createPublicKeyFrom(kp.publicKey);
}
import { publicKeyObject as createPublicKeyFrom } from '../keys.js';

test('every rejection is a WireError whose message starts with its code', () => {
  const codec = codecAt();
  for (const bad of ['', '{}', '{"operation":"bid-offer"}', signedWith((p) => (p.bid.energy.value = -5))]) {
    try {
      codec.decode(bad);
      assert.fail('decoded garbage');
    } catch (e) {
      assert.ok(e instanceof WireError);
      assert.ok(e.message.startsWith(e.code));
    }
  }
});

/** The same bytes under another base64 string: bump the last data character within its unused bits. */
function malleate(b64: string, lastDataIndex: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const c = b64[lastDataIndex]!;
  return b64.slice(0, lastDataIndex) + alphabet[alphabet.indexOf(c) + 1] + b64.slice(lastDataIndex + 1);
}

test('a non-canonical base64 signature (same bytes, another string) is refused, so ids cannot be multiplied', () => {
  const env = JSON.parse(signedJson());
  const twin = malleate(env.signature, 85);
  assert.notEqual(twin, env.signature);
  assert.deepEqual(Buffer.from(twin, 'base64'), Buffer.from(env.signature, 'base64'), 'decodes to the same signature bytes');
  rejects(codecAt(), JSON.stringify({ ...env, signature: twin }), 'SCHEMA_BAD_FORMAT', '/signature');
  // past the schema (e.g. an embedded envelope checked with a laxer schema) the codec re-encodes too
  codecAt().decode(JSON.stringify(env));
});
