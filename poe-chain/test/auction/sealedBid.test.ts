/** Sealed bids [AUC-11] [AUC-12]: nacl.box to the auction key, revealed at close. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import nacl from 'tweetnacl';
import fc from 'fast-check';
import {
  auctionKeyFromWire, auctionKeysMatch, auctionKeyToWire, newAuctionKeyPair, openSealedBid, sealBid,
} from '../../core/auction/sealedBid.js';
import { AuctionError } from '../../core/auction/auctionError.js';
import { canonicalize } from '../../../wire/canonicalJson.js';
import { compileSchema } from '../../../schemas/validators.js';
import { sealedBid as sealedBidSchema } from '../../../schemas/operations.js';
import type { OpenBid } from '../../../schemas/types.js';

const keys = newAuctionKeyPair(new Uint8Array(32).fill(1));
const otherKeys = newAuctionKeyPair(new Uint8Array(32).fill(2));
const bid: OpenBid = { type: 'sell', energy: { unit: 'kWh', value: 10 }, price: { unit: 'cents/kWh', value: 8.2 } };
const validSealed = compileSchema(sealedBidSchema);

/** a box of arbitrary plaintext bytes, as a malicious or buggy bidder could send */
function rawBox(plain: Uint8Array) {
  const eph = nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(9));
  const nonce = new Uint8Array(24).fill(3);
  return {
    epk: Buffer.from(eph.publicKey).toString('base64'),
    nonce: Buffer.from(nonce).toString('base64'),
    box: Buffer.from(nacl.box(plain, nonce, keys.publicKey, eph.secretKey)).toString('base64'),
  };
}

test('seal then reveal gives back the open bid; the wire form matches the sealedBid schema', () => {
  const sealed = sealBid(bid, auctionKeyToWire(keys.publicKey));
  assert.ok(validSealed(sealed), JSON.stringify(validSealed.errors));
  assert.deepEqual(openSealedBid(sealed, auctionKeyToWire(keys.secretKey)), { ok: true, bid });
  assert.deepEqual(openSealedBid(sealed, keys.secretKey), { ok: true, bid });
});

test('the plaintext is the RFC 8785 canonical JSON of the open bid', () => {
  const sealed = sealBid(bid, keys.publicKey);
  const plain = nacl.box.open(
    new Uint8Array(Buffer.from(sealed.box, 'base64')),
    new Uint8Array(Buffer.from(sealed.nonce, 'base64')),
    new Uint8Array(Buffer.from(sealed.epk, 'base64')),
    keys.secretKey,
  );
  assert.ok(plain);
  assert.equal(Buffer.from(plain).toString('utf8'), canonicalize(bid));
  assert.equal(Buffer.from(plain).toString('utf8'), '{"energy":{"unit":"kWh","value":10},"price":{"unit":"cents/kWh","value":8.2},"type":"sell"}');
});

test('each sealing uses a fresh ephemeral key and nonce; injected randomness makes it reproducible', () => {
  const a = sealBid(bid, keys.publicKey);
  const b = sealBid(bid, keys.publicKey);
  assert.notEqual(a.epk, b.epk);
  assert.notEqual(a.nonce, b.nonce);
  const fixed = (n: number) => new Uint8Array(n).fill(5);
  assert.deepEqual(sealBid(bid, keys.publicKey, fixed), sealBid(bid, keys.publicKey, fixed));
  assert.throws(() => sealBid(bid, keys.publicKey, () => new Uint8Array(3)), (e: unknown) => e instanceof AuctionError && e.code === 'INVALID_KEY');
});

test('a bid sealed to another key, or tampered with, is SEALED_UNDECRYPTABLE', () => {
  const toOther = sealBid(bid, otherKeys.publicKey);
  assert.deepEqual(openSealedBid(toOther, keys.secretKey), { ok: false, reason: 'SEALED_UNDECRYPTABLE' });
  const s = sealBid(bid, keys.publicKey);
  const box = Buffer.from(s.box, 'base64');
  box[box.length - 1] = box[box.length - 1]! ^ 1;
  assert.deepEqual(openSealedBid({ ...s, box: box.toString('base64') }, keys.secretKey), { ok: false, reason: 'SEALED_UNDECRYPTABLE' });
  const other = sealBid(bid, keys.publicKey);
  assert.deepEqual(openSealedBid({ ...s, nonce: other.nonce }, keys.secretKey), { ok: false, reason: 'SEALED_UNDECRYPTABLE' });
});

test('a sealed bid that is not well-formed is SEALED_MALFORMED', () => {
  const s = sealBid(bid, keys.publicKey);
  for (const bad of [null, 'x', [], {}, { ...s, extra: 1 }, { epk: s.epk, nonce: s.nonce }, { ...s, epk: 'not base64!' }, { ...s, nonce: 'AAAA' }, { ...s, box: '' }]) {
    assert.deepEqual(openSealedBid(bad, keys.secretKey), { ok: false, reason: 'SEALED_MALFORMED' }, JSON.stringify(bad));
  }
});

test('a plaintext that is not JSON is SEALED_BAD_JSON; JSON that is not an open bid is SEALED_SCHEMA_INVALID', () => {
  const enc = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
  assert.deepEqual(openSealedBid(rawBox(enc('not json')), keys.secretKey), { ok: false, reason: 'SEALED_BAD_JSON' });
  assert.deepEqual(openSealedBid(rawBox(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), keys.secretKey), { ok: false, reason: 'SEALED_BAD_JSON' });
  assert.deepEqual(openSealedBid(rawBox(enc('{"type":"hold","energy":{"unit":"kWh","value":1},"price":{"unit":"cents/kWh","value":1}}')), keys.secretKey), { ok: false, reason: 'SEALED_SCHEMA_INVALID' });
  assert.deepEqual(openSealedBid(rawBox(enc('{"type":"sell","energy":{"unit":"kWh","value":-1},"price":{"unit":"cents/kWh","value":1}}')), keys.secretKey), { ok: false, reason: 'SEALED_SCHEMA_INVALID' });
  assert.deepEqual(openSealedBid(rawBox(enc('[1,2]')), keys.secretKey), { ok: false, reason: 'SEALED_SCHEMA_INVALID' });
  // a non-canonical but valid JSON open bid is accepted
  assert.deepEqual(openSealedBid(rawBox(enc(' {"type":"sell", "price":{"value":8.2,"unit":"cents/kWh"},"energy":{"unit":"kWh","value":10}}')), keys.secretKey), { ok: true, bid });
});

test('opening garbage never throws; it is always a coded reason', () => {
  fc.assert(
    fc.property(fc.anything(), (v) => {
      const r = openSealedBid(v, keys.secretKey);
      assert.equal(r.ok, false);
    }),
    { numRuns: 500 },
  );
  const s = sealBid(bid, keys.publicKey);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 700 }), (bytes) => {
      const r = openSealedBid({ ...s, box: Buffer.from(bytes).toString('base64') }, keys.secretKey);
      assert.ok(!r.ok && (r.reason === 'SEALED_UNDECRYPTABLE' || r.reason === 'SEALED_MALFORMED'));
    }),
    { numRuns: 300 },
  );
});

test('keys: seeded key pairs are reproducible, mismatches are detected, bad keys are coded errors', () => {
  assert.deepEqual(newAuctionKeyPair(new Uint8Array(32).fill(1)), keys);
  assert.equal(newAuctionKeyPair().publicKey.length, 32);
  assert.equal(auctionKeysMatch(keys.secretKey, keys.publicKey), true);
  assert.equal(auctionKeysMatch(auctionKeyToWire(keys.secretKey), auctionKeyToWire(keys.publicKey)), true);
  assert.equal(auctionKeysMatch(otherKeys.secretKey, keys.publicKey), false);
  const code = (e: unknown) => e instanceof AuctionError && e.code === 'INVALID_KEY';
  assert.throws(() => newAuctionKeyPair(new Uint8Array(31)), code);
  assert.throws(() => auctionKeyFromWire('AAAA'), code);
  assert.throws(() => openSealedBid(sealBid(bid, keys.publicKey), new Uint8Array(16)), code);
  assert.throws(() => sealBid({ ...bid, type: 'hold' } as unknown as OpenBid, keys.publicKey), (e: unknown) => e instanceof AuctionError && e.code === 'INVALID_OPEN_BID');
});
