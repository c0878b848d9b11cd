import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Level } from 'level';
import { generateKeyPair } from '../../wire/keys.js';
import { signEnvelope } from '../../wire/codec.js';
import type { AnyEnvelope } from '../../schemas/types.js';
import { HemStore, type HemDb, type OutboxEntry } from '../hemStore.js';
import { tempDir } from './hemFixtures.js';

function entry(n: number): OutboxEntry {
  const k = generateKeyPair();
  const env = signEnvelope(k, 'meter-reading', {
    address: k.address, interval: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:15:00.000Z' }, seq: n,
    producedWh: n, consumedWh: 0, chargedWh: 0, dischargedWh: 0, socPermille: 500,
  });
  return { topic: 'tmi/v1/readings', operation: 'meter-reading', signer: k.address, envelope: env as AnyEnvelope };
}

test('outbox keeps order and survives a restart; removed entries stay removed', async () => {
  const dir = await tempDir();
  const open = () => HemStore.open(new Level<string, string>(join(dir, 'db')) as unknown as HemDb);
  let s = await open();
  for (let i = 0; i < 12; i++) await s.commit([{ type: 'put', key: 's:x', value: i }], [entry(i)]);
  await s.remove(s.queue()[3]!.key);
  await s.close();

  s = await open();
  const seqs = s.queue().map((q) => (q.entry.envelope.parameters as { seq: number }).seq);
  assert.deepEqual(seqs, [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.equal(await s.get<number>('s:x'), 11);
  // new entries go after the reloaded ones, even after removals at the tail
  await s.remove(s.queue()[s.queued - 1]!.key);
  await s.commit([], [entry(99)]);
  await s.close();
  s = await open();
  assert.deepEqual(s.queue().map((q) => (q.entry.envelope.parameters as { seq: number }).seq), [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 99]);
  await s.close();
});

test('a commit is all or nothing: state and outbox move together', async () => {
  const dir = await tempDir();
  const s = await HemStore.open(new Level<string, string>(join(dir, 'db')) as unknown as HemDb);
  await s.commit([{ type: 'put', key: 'p:a', value: { nextSeq: 1 } }], [entry(0)]);
  // a write that fails (non-string key type smuggled in) must not change memory either
  await assert.rejects(s.commit([{ type: 'put', key: undefined as unknown as string, value: 1 }], [entry(1)]));
  assert.equal(s.queued, 1);
  assert.deepEqual(await s.get('p:a'), { nextSeq: 1 });
  await s.close();
});
