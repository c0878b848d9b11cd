import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLoginToken, makeLoginToken, TokenReplayCache } from '../loginToken.js';
import { generateKeyPair, publicKeyObject } from '../keys.js';

test('a login token verifies for its meter and key only, within the skew', () => {
  const meter = generateKeyPair();
  const other = generateKeyPair();
  const now = 1_800_000_000_000;
  const tok = makeLoginToken(meter, 'meter-1', now);
  const pub = publicKeyObject(meter.publicKey);
  assert.equal(checkLoginToken(tok, 'meter-1', pub, now), undefined);
  assert.equal(checkLoginToken(tok, 'meter-2', pub, now), 'TOKEN_BAD_SIGNATURE');
  assert.equal(checkLoginToken(tok, 'meter-1', publicKeyObject(other.publicKey), now), 'TOKEN_BAD_SIGNATURE');
  assert.equal(checkLoginToken(tok, 'meter-1', pub, now + 61_000), 'TOKEN_EXPIRED');
  assert.equal(checkLoginToken('v1.x', 'meter-1', pub, now), 'TOKEN_MALFORMED');
  assert.equal(checkLoginToken('x'.repeat(10_000), 'meter-1', pub, now), 'TOKEN_MALFORMED');
  const cache = new TokenReplayCache();
  assert.equal(cache.remember(tok, now), true);
  assert.equal(cache.remember(tok, now), false);
});

test('a re-encoded token (same signature bytes, another last character) is malformed and counts as the same token', () => {
  const meter = generateKeyPair();
  const now = 1_800_000_000_000;
  const tok = makeLoginToken(meter, 'meter-1', now);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = tok[tok.length - 1]!;
  const twin = tok.slice(0, -1) + alphabet[alphabet.indexOf(last) + 1];
  const sig = (t: string) => Buffer.from(t.split('.')[3]!, 'base64url');
  assert.deepEqual(sig(twin), sig(tok), 'the same signature bytes');
  assert.equal(checkLoginToken(twin, 'meter-1', publicKeyObject(meter.publicKey), now), 'TOKEN_MALFORMED');
  const cache = new TokenReplayCache();
  assert.equal(cache.remember(tok, now), true);
  assert.equal(cache.remember(twin, now), false, 'replay cache keyed on what is signed');
});
