import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settlesWithin } from '../settlesWithin.js';

test('settlesWithin: true when the promise resolves in time, false when the bound comes first, a rejection passes through', async () => {
  assert.equal(await settlesWithin(new Promise((r) => setTimeout(r, 5)), 1_000), true);
  const t0 = Date.now();
  assert.equal(await settlesWithin(new Promise(() => undefined), 30), false, 'a promise that never settles');
  const waited = Date.now() - t0;
  assert.ok(waited >= 25 && waited < 1_000, `returned after the bound (${waited} ms)`);
  assert.equal(await settlesWithin(Promise.resolve(), -5), true, 'a negative bound waits for nothing but an already settled promise still wins');
  await assert.rejects(settlesWithin(Promise.reject(new Error('boom')), 1_000), /boom/);
});
