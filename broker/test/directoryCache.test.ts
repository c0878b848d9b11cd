import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../../wire/keys.js';
import { DirectoryCache, TtlMap } from '../directoryCache.js';
import { createMemoryDirectory, type MeterDirectory } from '../meterDirectory.js';

function counting(inner: MeterDirectory) {
  const calls = { meter: 0, owner: 0 };
  let fail = false;
  const dir: MeterDirectory = {
    async meter(id) {
      calls.meter++;
      if (fail) throw new Error('REGISTRY_UNREACHABLE');
      return inner.meter(id);
    },
    async pseudonymOwner(a) {
      calls.owner++;
      if (fail) throw new Error('REGISTRY_UNREACHABLE');
      return inner.pseudonymOwner(a);
    },
    revokedSince: (s) => inner.revokedSince(s),
  };
  return { dir, calls, setFail: (f: boolean) => void (fail = f) };
}

test('cache: positive TTL, negative TTL, one request in flight, errors not cached', async () => {
  const mem = createMemoryDirectory();
  const k = generateKeyPair();
  mem.enroll({ meterId: 'm1', publicKey: k.address });
  const { dir, calls, setFail } = counting(mem);
  let t = 0;
  const c = new DirectoryCache(dir, { ttlMs: 1000, negativeTtlMs: 100, now: () => t });

  assert.equal(c.peekMeter('m1'), undefined);
  const [a, b] = await Promise.all([c.meter('m1'), c.meter('m1')]);
  assert.equal(calls.meter, 1, 'concurrent look-ups share one request');
  assert.equal(a?.publicKey, k.address);
  assert.equal(a, b);
  assert.equal(c.peekMeter('m1')?.meterId, 'm1');
  t = 999;
  await c.meter('m1');
  assert.equal(calls.meter, 1);
  t = 1000;
  await c.meter('m1');
  assert.equal(calls.meter, 2, 'expired after ttl');

  assert.equal(await c.meter('nobody'), undefined);
  assert.equal(c.peekMeter('nobody'), null, 'negative answer cached');
  t += 100;
  assert.equal(c.peekMeter('nobody'), undefined, 'negative TTL is shorter');

  setFail(true);
  await assert.rejects(c.meter('m2'), /REGISTRY_UNREACHABLE/);
  assert.equal(c.peekMeter('m2'), undefined, 'errors are not cached');
  setFail(false);
});

test('cache: revocation marks the meter and forgets its pseudonyms', async () => {
  const mem = createMemoryDirectory();
  const k = generateKeyPair();
  const p = generateKeyPair();
  mem.enroll({ meterId: 'm1', publicKey: k.address });
  mem.certify('m1', p.address);
  const c = new DirectoryCache(mem);
  assert.equal(await c.pseudonymOwner(p.address), 'm1');
  assert.equal((await c.meter('m1'))?.status, 'active');
  const item = mem.revoke('m1');
  c.markRevoked(item);
  assert.equal(c.peekMeter('m1')?.status, 'revoked');
  assert.equal(c.peekOwner(p.address), null);
  assert.equal(await c.pseudonymOwner(p.address), undefined);
  assert.ok(c.isRevoked('m1'));
});

test('TtlMap: bounded, oldest evicted first', () => {
  const m = new TtlMap<number>(3);
  for (let i = 0; i < 5; i++) m.set(`k${i}`, i, 1e9);
  assert.equal(m.size, 3);
  assert.equal(m.get('k0', 0), undefined);
  assert.equal(m.get('k1', 0), undefined);
  assert.equal(m.get('k4', 0), 4);
});

test('cache [DIR-SWR]: a known owner past its TTL is served while one request refreshes it; not after staleMs, not when negative or revoked', async () => {
  const mem = createMemoryDirectory();
  const k = generateKeyPair();
  const p = generateKeyPair();
  mem.enroll({ meterId: 'm1', publicKey: k.address });
  mem.certify('m1', p.address);
  const { dir, calls, setFail } = counting(mem);
  let t = 0;
  const c = new DirectoryCache(dir, { ttlMs: 1000, negativeTtlMs: 100, staleMs: 5000, now: () => t });
  assert.equal(await c.pseudonymOwner(p.address), 'm1');
  assert.equal(calls.owner, 1);

  // past the TTL: a burst of peeks is answered at once from the stale entry, with one refresh
  t = 1500;
  for (let i = 0; i < 100; i++) assert.equal(c.peekOwner(p.address), 'm1');
  assert.equal(calls.owner, 2, 'one background request for the burst');
  await new Promise((r) => setImmediate(r));
  assert.equal(c.peekOwner(p.address), 'm1');
  assert.equal(calls.owner, 2, 'refreshed: fresh again until 1500 + ttl');
  t = 2499;
  assert.equal(c.peekOwner(p.address), 'm1');
  assert.equal(calls.owner, 2);

  // registry down: still served up to staleMs past the TTL, then refused as unknown
  setFail(true);
  t = 2500 + 4999;
  assert.equal(c.peekOwner(p.address), 'm1');
  await new Promise((r) => setImmediate(r));
  assert.equal(c.peekOwner(p.address), 'm1', 'a failed refresh keeps the stale entry');
  assert.ok(c.stats.errors >= 1);
  t = 2500 + 5000;
  assert.equal(c.peekOwner(p.address), undefined, 'not past staleMs');
  await assert.rejects(c.pseudonymOwner(p.address), /REGISTRY_UNREACHABLE/);
  setFail(false);

  // a negative answer is never served stale
  const q = generateKeyPair();
  assert.equal(await c.pseudonymOwner(q.address), undefined);
  t += 150;
  assert.equal(c.peekOwner(q.address), undefined);

  // a revoked pseudonym is refused at once, stale or fresh
  assert.equal(await c.pseudonymOwner(p.address), 'm1');
  t += 1500;
  c.markRevoked(mem.revoke('m1'));
  assert.equal(c.peekOwner(p.address), null);
  assert.equal(await c.pseudonymOwner(p.address), undefined);
});

test('cache [DIR-SIE]: a known meter is served when the registry fails, up to staleMs past its TTL, never when revoked', async () => {
  const mem = createMemoryDirectory();
  const k = generateKeyPair();
  mem.enroll({ meterId: 'm1', publicKey: k.address });
  mem.enroll({ meterId: 'm2', publicKey: generateKeyPair().address });
  const { dir, calls, setFail } = counting(mem);
  let t = 0;
  const c = new DirectoryCache(dir, { ttlMs: 1000, staleMs: 5000, now: () => t });
  await c.meter('m1');
  await c.meter('m2');
  setFail(true);
  t = 2000; // past the TTL, registry down
  assert.equal((await c.meter('m1'))?.publicKey, k.address, 'served stale');
  assert.equal(calls.meter, 3, 'the registry was asked first');
  assert.equal((await c.meter('m1'))?.publicKey, k.address, 'and again on the next failure');
  assert.equal(c.stats.stale, 2);
  // revoked through the feed: refused even though the registry is down
  c.markRevoked({ seq: 1, meterId: 'm2', pseudonyms: [] });
  await assert.rejects(c.meter('m2'), /REGISTRY_UNREACHABLE/);
  // past staleMs: the failure is the answer
  t = 1000 + 5000;
  await assert.rejects(c.meter('m1'), /REGISTRY_UNREACHABLE/);
  // the registry answers again: fresh record, normal TTL
  setFail(false);
  assert.equal((await c.meter('m1'))?.meterId, 'm1');
});
