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
import { createReadingWatch, keepReading, KEPT_READING_PREFIX, lastCheckpoint, type KeptReading } from '../readingWatch.js';

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
  let now = slotTime(f.genesis, f.firstSlotOf(5) + 1); // both missing readings are past a checkpoint: due
  const watch = createReadingWatch({ store, chainState: () => f.state, topic: TOPIC, now: () => now, maxResends: 2 });

  const first = await watch.check();
  assert.deepEqual(first, { onChain: 1, resent: 2, lost: 0, waiting: 0 });
  assert.deepEqual(store.queue().map((q) => q.entry.envelope), [r[1], r[2]], 'the same signed envelopes, in interval order');
  assert.ok(store.queue().every((q) => q.entry.topic === TOPIC && q.entry.operation === 'meter-reading' && q.entry.signer === me.address));
  // while they wait in the outbox they are not queued twice
  assert.deepEqual(await watch.check(), { onChain: 0, resent: 0, lost: 0, waiting: 2 });
  // the outbox sent them (PUBACK) but the chain still lacks them: nothing more before the next checkpoint
  for (const q of [...store.queue()]) await store.remove(q.key);
  assert.deepEqual(await watch.check(), { onChain: 0, resent: 0, lost: 0, waiting: 2 }, 'one send per checkpoint');
  // at the next checkpoint (one interval later) again, up to maxResends
  now += f.genesis.intervalMs;
  assert.equal((await watch.check()).resent, 2);
  for (const q of [...store.queue()]) await store.remove(q.key);
  now += f.genesis.intervalMs;
  const gaveUp = await watch.check();
  assert.deepEqual(gaveUp, { onChain: 0, resent: 0, lost: 2, waiting: 0 }, 'after maxResends: dropped and named');
  assert.equal((await store.list<KeptReading>(KEPT_READING_PREFIX)).length, 0);
});

test('[HEM-R1] [CENSOR] a missing reading is sent again within the epoch that counts it: a few blocks after it was sent and before the inclusion window, so the window ranks it', async () => {
  const f = new ChainFixture();
  const g = f.genesis;
  const me = f.key('watch-home-3');
  f.produce([f.certTx(me)]);
  const beat = g.patience * g.slotMs;
  // the reading of interval 1, sent when it ends (the start of epoch 2); it ranks epoch 3 if on
  // chain by the end of epoch 2. A censor leaves it out and the nodes lose it (no block has it).
  const sentAt = f.firstSlotOf(2) + 1;
  const r1 = f.readingTx(me, 1, { p: 500, c: 100 }, 1, f.at(sentAt));
  f.produce([], sentAt + 4);
  const store = await HemStore.open(new MemoryLevel<string, string>() as unknown as HemDb);
  await store.commit([keepReading(Date.parse(f.interval(1).start), r1 as AnyEnvelope)]);
  const endMs = Date.parse(f.interval(1).end);
  const windowStart = slotTime(g, f.firstSlotOf(3) - g.inclusionSlots);
  const nextReadingAt = endMs + g.intervalMs;
  let now = endMs + beat; // one heartbeat after it was sent: not yet
  const watch = createReadingWatch({ store, chainState: () => f.state, topic: TOPIC, now: () => now });
  assert.deepEqual(await watch.check(), { onChain: 0, resent: 0, lost: 0, waiting: 1 });

  // checkpoint 1: a few blocks (two heartbeats) after it was sent
  now = endMs + 2 * beat;
  assert.equal(lastCheckpoint(g, endMs, now), now);
  assert.deepEqual(await watch.check(), { onChain: 0, resent: 1, lost: 0, waiting: 0 }, 'sent again early in epoch 2, not two intervals later');
  assert.deepEqual(store.queue().map((q) => q.entry.envelope), [r1]);
  for (const q of [...store.queue()]) await store.remove(q.key); // sent; lost again
  now = endMs + g.intervalMs / 2; // mid-epoch: no checkpoint since
  assert.deepEqual(await watch.check(), { onChain: 0, resent: 0, lost: 0, waiting: 1 });

  // checkpoint 2: before the inclusion window of epoch 2 (and before the next reading is sent)
  const cp2 = windowStart - beat;
  assert.ok(cp2 < windowStart && windowStart < nextReadingAt);
  now = cp2 - 1;
  assert.equal((await watch.check()).resent, 0);
  now = cp2;
  assert.deepEqual(await watch.check(), { onChain: 0, resent: 1, lost: 0, waiting: 0 }, 'sent again before the window');
  const resent = store.queue()[0]?.entry.envelope;
  assert.deepEqual(resent, r1);

  // the aggregator's node includes what it holds in its window: the reading ranks epoch 3
  const windowBlock = f.produce([resent], f.firstSlotOf(3) - 1);
  assert.equal(windowBlock.block.parameters.header.producer, f.node.address);
  f.produce([], f.firstSlotOf(3) + g.patience - 1); // the first block of epoch 3 (a heartbeat)
  assert.equal(f.state.meta.rankingEpoch, 3);
  assert.deepEqual(f.state.meta.ranking, [me.address]);
  for (const q of [...store.queue()]) await store.remove(q.key);
  now = slotTime(g, f.firstSlotOf(3));
  assert.deepEqual(await watch.check(), { onChain: 1, resent: 0, lost: 0, waiting: 0 });
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

test('[HEM-R1] the watch and the HEM replay guard share one store without reading each other\'s records (both once used `r:`)', async () => {
  const { openHemReplayGuard } = await import('../hemReplayGuard.js');
  const f = new ChainFixture();
  const me = f.key('watch-home-guard');
  f.produce([f.certTx(me)]);
  const r0 = f.readingTx(me, 0, { p: 100, c: 50 }, 1, f.at(f.firstSlotOf(1) + 1));
  f.produce([], f.firstSlotOf(2) + 1);
  const store = await HemStore.open(new MemoryLevel<string, string>() as unknown as HemDb);
  const guard = await openHemReplayGuard({ store });
  // the guard records a message id; the watch keeps a reading
  assert.equal(await guard.check('aggregator', 'req-0000000000000001', new Date(slotTime(f.genesis, f.firstSlotOf(2))).toISOString(), slotTime(f.genesis, f.firstSlotOf(2))), 'fresh');
  await store.commit([keepReading(Date.parse(f.interval(0).start), r0 as AnyEnvelope)]);
  // an earlier version's kept reading under `r:` (the guard's prefix) is skipped by the guard
  await store.commit([{ type: 'put', key: 'r:000001736899200000', value: { envelope: r0, resent: 0 } }]);
  const again = await openHemReplayGuard({ store });
  assert.ok(again.size >= 1);
  const watch = createReadingWatch({ store, chainState: () => f.state, topic: TOPIC, now: () => slotTime(f.genesis, f.firstSlotOf(3)), maxResends: 2 });
  const report = await watch.check();
  assert.deepEqual(report, { onChain: 0, resent: 1, lost: 0, waiting: 0 }, 'the kept reading (missing on chain) is resent; the guard\'s records are not readings');
});
