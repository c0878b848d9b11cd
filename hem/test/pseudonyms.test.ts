import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { generateKeyPair } from '../../wire/keys.js';
import { HemStore } from '../hemStore.js';
import { PseudonymBook, rotationDue, type PseudonymRecord } from '../pseudonyms.js';
import { fakeIssuer, memoryDb, tempDir } from './hemFixtures.js';

const cert = (from: number, to: number) => ({
  address: 'a'.repeat(64), validFrom: new Date(from).toISOString(), validTo: new Date(to).toISOString(), feeder: 'F', programme: 'TE' as const,
  registrySignature: 'A'.repeat(86) + '==',
});

test('rotationDue: by age, before validTo (with margin), never for a pending key', () => {
  const rec = (created: number, from: number, to: number): PseudonymRecord => ({ address: 'a'.repeat(64), createdAtMs: created, nextSeq: 0, cert: cert(from, to) });
  const day = 86_400_000;
  const p = { rotationMs: day };
  assert.equal(rotationDue(rec(0, 0, 2 * day), day - 1, p), false);
  assert.equal(rotationDue(rec(0, 0, 2 * day), day, p), true);
  assert.equal(rotationDue(rec(0, 0, day / 2), day / 2 - 3_600_001, p), false);
  assert.equal(rotationDue(rec(0, 0, day / 2), day / 2 - 3_600_000, p), true, '1 h margin');
  assert.equal(rotationDue(rec(0, 0, day / 2), day / 2 - 7_200_000, { ...p, minMarginMs: 7_200_000 }), true);
  assert.equal(rotationDue({ address: 'a'.repeat(64), createdAtMs: 0, nextSeq: 0 }, 10 * day, p), false);
});

test('rotation: new key (0600) per period, seq restarts at 0, a failed request keeps the same pending key', async () => {
  const dir = await tempDir();
  let now = Date.now();
  let failing = true;
  const issuer = fakeIssuer({ now: () => now, validMs: 10 * 86_400_000, fail: () => failing });
  const store = await HemStore.open(memoryDb());
  const opts = { dir: join(dir, 'pseudonyms'), store, meterKey: generateKeyPair(), meterId: 'm', issuer, policy: { rotationMs: 86_400_000 }, now: () => now };
  let book = await PseudonymBook.load(opts);
  await book.prepare();
  await assert.rejects(book.ensure(), /REGISTRY_UNREACHABLE/);
  const pending = book.addresses();
  assert.equal(pending.length, 1);
  assert.equal((await stat(book.keyPath(pending[0]!))).mode & 0o777, 0o600);
  book = await PseudonymBook.load(opts); // restart: same pending key is asked for
  failing = false;
  const p1 = await book.ensure();
  assert.equal(p1.key.address, pending[0]);
  assert.equal(book.advanceSeq(p1.key.address).seq, 0);
  assert.equal(book.advanceSeq(p1.key.address).seq, 1);
  await store.commit([book.advanceSeq(p1.key.address).write]);
  now += 86_400_000;
  const p2 = await book.ensure();
  assert.notEqual(p2.key.address, p1.key.address);
  assert.equal(book.advanceSeq(p2.key.address).seq, 0, 'seq is per pseudonym');
  // restart: state comes back
  book = await PseudonymBook.load(opts);
  assert.equal(book.current()?.key.address, p2.key.address);
  assert.equal(book.get(p1.key.address)?.record.nextSeq, 3);
  // the reading of an interval is signed by a pseudonym whose certificate covers it
  const validFrom2 = Date.parse(p2.record.cert!.validFrom);
  const validFrom1 = Date.parse(p1.record.cert!.validFrom);
  assert.equal(book.signerFor({ startMs: validFrom1, endMs: validFrom1 + 1000 })?.key.address, p1.key.address);
  assert.equal(book.signerFor({ startMs: validFrom2, endMs: validFrom2 + 1000 })?.key.address, p2.key.address);
  assert.equal(book.signerFor({ startMs: 0, endMs: 1000 }), undefined);
  // old pseudonyms are pruned long after expiry
  now += 20 * 86_400_000;
  await book.ensure();
  assert.ok((await book.prune()) >= 1);
  assert.equal(book.has(p1.key.address), false);
});
