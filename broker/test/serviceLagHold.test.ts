/**
 * [BROKER-HOLD] serviceLagHold.ts with plain values: a map of queues, a clock, a log that
 * records. The end-to-end behaviour over MQTT is in publishHold.e2e.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createServiceLagHold } from '../serviceLagHold.js';

/** `hold`: the marks, or null for the hold off */
function setup(hold: { holdAbove: number; resumeBelow: number; stuckAfterMs: number } | null = { holdAbove: 100, resumeBelow: 50, stuckAfterMs: 1000 }) {
  const queues = new Map<string, { bytes: number; size: number }>();
  let clock = 0;
  const closed: string[] = [];
  let stuck = 0;
  const h = createServiceLagHold({
    hold: hold ?? undefined,
    queues: () => queues,
    now: () => clock,
    log: pino({ level: 'silent' }),
    closeService: (id) => closed.push(id),
    onStuck: () => stuck++,
  });
  return { h, queues, closed, stuckCount: () => stuck, tick: (ms: number) => (clock += ms), at: () => clock };
}

test('[BROKER-HOLD] the lag is the worst online service queue; an offline service holds nobody', () => {
  const { h, queues } = setup();
  queues.set('node', { bytes: 80, size: 8 });
  queues.set('analytics', { bytes: 150, size: 3 });
  queues.set('home-1', { bytes: 999, size: 99 }); // not a service: never counted
  h.online('node', 0);
  assert.deepEqual(h.lag(), { clientId: 'node', bytes: 80, messages: 8 });
  h.online('analytics', 0);
  assert.deepEqual(h.lag(), { clientId: 'analytics', bytes: 150, messages: 3 });
  const ran: number[] = [];
  assert.equal(h.admit(10, (release) => (ran.push(1), release())), true, 'over the mark: the publish waits');
  assert.deepEqual(ran, []);
  h.offline('analytics'); // its queue stays, but it no longer holds anybody
  assert.deepEqual(ran, [], 'the node\'s 80 bytes are still above resumeBelow (50)');
  queues.set('node', { bytes: 30, size: 3 });
  h.acknowledged('node');
  assert.deepEqual(ran, [1], 'released once the online service is below resumeBelow');
  assert.equal(h.stats().waiting, 0);
});

test('[BROKER-HOLD] publishes let through count until queued; released in order as the service acknowledges', () => {
  const { h, queues } = setup();
  queues.set('node', { bytes: 0, size: 0 });
  h.online('node', 0);
  const releases: (() => void)[] = [];
  // publishes of 12 bytes go through at once: each is counted while on its way, none queued yet
  for (let i = 0; i < 9; i++) assert.equal(h.admit(12, (release) => releases.push(release)), false);
  assert.equal(h.admit(12, (release) => releases.push(release)), true, 'the 10th waits: 108 bytes on their way > 100');
  assert.equal(releases.length, 9);
  for (const r of releases.splice(0)) r(); // queued (the queue itself is what the node has not acknowledged)
  queues.set('node', { bytes: 108, size: 9 });
  h.acknowledged('node');
  assert.equal(releases.length, 0, 'still above resumeBelow');
  queues.set('node', { bytes: 40, size: 4 });
  h.acknowledged('node');
  assert.equal(releases.length, 1, 'below resumeBelow: the waiting publish goes');
  assert.deepEqual({ waiting: h.stats().waiting, episodes: h.stats().episodes, total: h.stats().total }, { waiting: 0, episodes: 1, total: 1 });
});

test('[BROKER-HOLD] SERVICE_STUCK: a service over the mark that acknowledges nothing for stuckAfterMs is closed, and the homes go on', () => {
  const { h, queues, closed, stuckCount, tick } = setup();
  h.online('analytics', 0);
  queues.set('analytics', { bytes: 500, size: 50 });
  const ran: string[] = [];
  assert.equal(h.admit(10, (release) => (ran.push('a'), release())), true);
  tick(999);
  h.recheck();
  assert.deepEqual(closed, [], 'silent for 999 ms of 1000: not yet');
  tick(2);
  h.recheck();
  assert.deepEqual(closed, ['analytics']);
  assert.equal(stuckCount(), 1);
  assert.deepEqual(ran, ['a'], 'the held publish went once the stuck service was closed');
  // control: a lagging service that acknowledges is never closed
  const c = setup();
  c.h.online('node', 0);
  c.queues.set('node', { bytes: 500, size: 50 });
  c.h.admit(10, (release) => release());
  for (let i = 0; i < 10; i++) {
    c.tick(500);
    c.h.acknowledged('node');
  }
  assert.deepEqual(c.closed, []);
});

test('[BROKER-HOLD] with the hold off nothing waits, and the lag is still reported', () => {
  const { h, queues } = setup(null);
  h.online('node', 0);
  queues.set('node', { bytes: 1e9, size: 1e6 });
  let ran = 0;
  assert.equal(h.admit(10, (release) => (ran++, release())), false);
  assert.equal(ran, 1);
  assert.deepEqual(h.stats(), { waiting: 0, total: 0, episodes: 0, serviceQueue: 1e6, serviceQueueBytes: 1e9 });
});
