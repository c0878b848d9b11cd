/** The login-token stores (loginTokenStore.ts): memory and file; Redis is covered by loginToken.adversary.test.ts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileTokenStore, createMemoryTokenStore, tokenKey } from '../loginTokenStore.js';

test('tokenKey covers the meter id and the signed fields, not the signature text', () => {
  assert.equal(tokenKey('m1', 'v1.123.abcdefghijklmnop.SIG'), 'm1:v1.123.abcdefghijklmnop');
  assert.notEqual(tokenKey('m1', 'v1.1.n.s'), tokenKey('m2', 'v1.1.n.s'));
});

test('memory store: once until it expires', async () => {
  const s = createMemoryTokenStore();
  assert.equal(await s.remember('k', 1000, 0), true);
  assert.equal(await s.remember('k', 1000, 500), false);
  assert.equal(await s.remember('k', 3000, 1001), true, 'after its expiry the clock check refuses it anyway');
});

test('file store: survives a reopen, skips torn and garbage lines, forgets expired tokens, refuses bad keys', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmi-tokens-'));
  try {
    let t = 1_000_000;
    let s = await createFileTokenStore(dir, { now: () => t });
    assert.equal(statSync(join(dir, 'login-tokens.log')).mode & 0o777, 0o600);
    assert.equal(await s.remember('m:v1.1.a', t + 60_000, t), true);
    assert.equal(await s.remember('m:v1.1.b', t + 10, t), true);
    assert.equal(await s.remember('m:v1.1.a', t + 60_000, t), false);
    await assert.rejects(s.remember('bad key with spaces', t + 1, t), /BAD_TOKEN_KEY/);
    await assert.rejects(s.remember('x'.repeat(201), t + 1, t), /BAD_TOKEN_KEY/);
    await s.close();
    // a crash mid-line and garbage in the file
    writeFileSync(join(dir, 'login-tokens.log'), readFileSync(join(dir, 'login-tokens.log'), 'utf8') + 'garbage\nNaN m:x\n99999999999 \u0000bad\n1234', { mode: 0o600 });
    t += 1000;
    s = await createFileTokenStore(dir, { now: () => t });
    assert.equal(await s.remember('m:v1.1.a', t + 60_000, t), false, 'remembered across the reopen');
    assert.equal(await s.remember('m:v1.1.b', t + 60_000, t), true, 'expired before the reopen: forgotten');
    await s.close();
    const lines = readFileSync(join(dir, 'login-tokens.log'), 'utf8').trim().split('\n');
    assert.ok(lines.every((l) => /^\d+ m:v1\.1\.[ab]$/.test(l)), `compacted at open: ${lines.join(' | ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
