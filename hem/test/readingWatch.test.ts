/**
 * [HEM-R1] The reading watch against real chain states (the chain's own state transition)
 * and a real HEM store: readings on chain are forgotten, missing ones go in the outbox again
 * with the same signed bytes, readings that can no longer be added are dropped and named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLevel } from 'memory-level';
import { ChainFixture } from '../../poe-chain/testkit/chainFixture.js';
import { slotTime } from '../../poe-chain/core/genesis.js';
import type { AnyEnvelope } from '../../schemas/types.js';
import { HemStore, type HemDb } from '../hemStore.js';
import { createReadingWatch, keepReading, KEPT_READING_PREFIX, type KeptReading } from '../readingWatch.js';

const TOPIC = 'tmi/v1/readings';

test('[HEM-R1] on chain → forgotten; missing and due → sent again as signed; not yet due → waits; at most maxResends', async () => {
  const f = new ChainFixture();
  const me = f.key('watch-home');
  f.produce([f.certTx(me)]);
  // readings of intervals 0, 1, 2 signed; only interval 0's reaches the chain (a censor left 1 and 2 out)
  const r = [0, 1, 2].map((e) => f.readingTx(me, e, { p: 100 * e, c: 50 }, e + 1, f.at(f.firstSlotOf(e + 1) + 1)));
  f.produce([r[0]], f.firstSlotOf(1) + 1);
  f.produce([], f.firstSlotOf(4) + 1);
  const store = await HemStore.open(new MemoryLevel<string, string>() as unknown as HemDb);
  await store.commit(r.map((env, e) => keepReading(Date.parse(f.interval(e).start), env as AnyEnvelope)));
  const now = slotTime(f.genesis, f.firstSlotOf(5) + 1); // interval 2 ended two intervals ago: due
  const watch = createReadingWatch({ store, chainState: () => f.state, topic: TOPIC, now: () => now, maxResends: 2 });

  const first = await watch.check();
  assert.deepEqual(first, { onChain: 1, resent: 2, lost: 0, waiting: 0 });
  assert.deepEqual(store.queue().map((q) => q.entry.envelope), [r[1], r[2]], 'the same signed envelopes, in interval order');
  assert.ok(store.queue().every((q) => q.entry.topic === TOPIC && q.entry.operation === 'meter-reading' && q.entry.signer === me.address));
  // while they wait in the outbox they are not queued twice
  assert.deepEqual(await watch.check(), { onChain: 0, resent: 0, lost: 0, waiting: 2 });
  // the outbox sent them (PUBACK) but the chain still lacks them: again, up to maxResends
  for (const q of [...store.queue()]) await store.remove(q.key);
  assert.equal((await watch.check()).resent, 2);
  for (const q of [...store.queue()]) await store.remove(q.key);
  const gaveUp = await watch.check();
  assert.deepEqual(gaveUp, { onChain: 0, resent: 0, lost: 2, waiting: 0 }, 'after maxResends: dropped and named');
  assert.equal((await store.list<KeptReading>(KEPT_READING_PREFIX)).length, 0);
});

test('[HEM-R1] a reading the chain can no longer take (a later one of the pseudonym is on chain) is dropped; a recent one waits', async () => {
  const f = new ChainFixture();
  const me = f.key('watch-home-2');
  f.produce([f.certTx(me)]);
  const r0 = f.readingTx(me, 0, { p: 1 }, 1, f.at(f.firstSlotOf(1) + 1));
  const r1 = f.readingTx(me, 1, { p: 2 }, 2, f.at(f.firstSlotOf(2) + 1));
  f.produce([r1], f.firstSlotOf(2) + 1); // interval 1 on chain, interval 0 never
  const store = await HemStore.open(new MemoryLevel<string, string>() as unknown as HemDb);
  const r2 = f.readingTx(me, 2, { p: 3 }, 3, f.at(f.firstSlotOf(3) + 1));
  await store.commit([keepReading(Date.parse(f.interval(0).start), r0 as AnyEnvelope), keepReading(Date.parse(f.interval(2).start), r2 as AnyEnvelope)]);
  const now = slotTime(f.genesis, f.firstSlotOf(3) + 10); // interval 2 ended just now: not due
  const report = await createReadingWatch({ store, chainState: () => f.state, topic: TOPIC, now: () => now }).check();
  assert.deepEqual(report, { onChain: 0, resent: 0, lost: 1, waiting: 1 });
  assert.equal(store.queue().length, 0);
});
