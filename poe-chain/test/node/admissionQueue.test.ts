import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionQueue } from '../../node/admissionQueue.js';

/** a queue driven by hand: a fake clock each handled message advances, and a list of scheduled slices */
function setup(o: { sliceMs?: number; maxCount?: number; maxBytes?: number; costMs?: number } = {}) {
  const clock = { t: 0 };
  const handled: string[] = [];
  const slices: (() => void)[] = [];
  const q = new AdmissionQueue<string>({
    handle: (m) => {
      if (m === 'boom') throw new Error('boom');
      handled.push(m);
      clock.t += o.costMs ?? 1;
    },
    onError: (err, m) => handled.push(`error:${m}:${(err as Error).message}`),
    clock: () => clock.t,
    schedule: (fn) => slices.push(fn),
    sliceMs: o.sliceMs ?? 3,
    maxCount: o.maxCount,
    maxBytes: o.maxBytes,
  });
  const runSlice = () => {
    const fn = slices.shift();
    assert.ok(fn, 'a slice is scheduled');
    fn();
  };
  return { q, clock, handled, slices, runSlice };
}

test('[NODE-admit] urgent messages are admitted before readings that arrived earlier', () => {
  const { q, handled, runSlice } = setup({ sliceMs: 100 });
  for (let i = 0; i < 5; i++) assert.ok(q.push('readings', `r${i}`, 10));
  assert.ok(q.push('urgent', 'bid', 10));
  assert.ok(q.push('urgent', 'close', 10));
  runSlice();
  assert.deepEqual(handled, ['bid', 'close', 'r0', 'r1', 'r2', 'r3', 'r4']);
  assert.equal(q.size, 0);
});

test('[NODE-admit] the queue is worked a slice at a time and an urgent message arriving between slices goes first', () => {
  const { q, handled, slices, runSlice, clock } = setup({ sliceMs: 3, costMs: 1 });
  for (let i = 0; i < 7; i++) q.push('readings', `r${i}`, 10);
  assert.equal(slices.length, 1, 'one slice scheduled however many pushes');
  runSlice();
  assert.deepEqual(handled, ['r0', 'r1', 'r2'], 'a slice stops once sliceMs has passed');
  assert.equal(slices.length, 1, 'the rest is scheduled for after the event loop has had its turn');
  clock.t += 50; // the event loop reads a socket: a bid arrives
  q.push('urgent', 'bid', 10);
  assert.equal(slices.length, 1, 'still one slice scheduled');
  runSlice();
  assert.deepEqual(handled, ['r0', 'r1', 'r2', 'bid', 'r3', 'r4']);
  runSlice();
  assert.deepEqual(handled.slice(6), ['r5', 'r6']);
  assert.equal(slices.length, 0, 'nothing left: nothing scheduled');
  const s = q.stats();
  assert.equal(s.handled, 8);
  assert.equal(s.maxQueued, 7);
  assert.equal(s.maxWaitMs.urgent, 0, 'the bid started at once');
  assert.equal(s.maxWaitMs.readings, 57, 'r6, pushed at 0, started at 3 + 50 + 4 ms');
});

test('[NODE-admit] bounded in count and bytes: a refused push queues nothing and is counted', () => {
  const { q, runSlice, handled } = setup({ maxCount: 2, maxBytes: 100, sliceMs: 100 });
  assert.ok(q.push('readings', 'a', 60));
  assert.equal(q.push('urgent', 'too-big', 41), false, 'bytes over the bound');
  assert.ok(q.push('urgent', 'b', 40));
  assert.equal(q.push('urgent', 'third', 1), false, 'count over the bound');
  assert.deepEqual(q.stats(), { urgent: 1, readings: 1, bytes: 100, maxQueued: 2, maxWaitMs: { urgent: 0, readings: 0 }, handled: 0, refused: 2 });
  runSlice();
  assert.deepEqual(handled, ['b', 'a']);
  assert.equal(q.stats().bytes, 0);
  assert.ok(q.push('urgent', 'room-again', 100), 'room once admitted');
});

test('[NODE-admit] a handler that throws is reported and the queue goes on; idle resolves once drained; clear forgets', async () => {
  const { q, handled, runSlice } = setup({ sliceMs: 100 });
  q.push('urgent', 'boom', 1);
  q.push('readings', 'r0', 1);
  let idle = false;
  const p = q.idle().then(() => (idle = true));
  await Promise.resolve();
  assert.equal(idle, false);
  runSlice();
  await p;
  assert.deepEqual(handled, ['error:boom:boom', 'r0']);
  assert.equal(q.stats().handled, 2);
  q.push('readings', 'never', 1);
  const p2 = q.idle();
  q.clear();
  await p2;
  assert.equal(q.size, 0);
  assert.equal(q.stats().bytes, 0);
});

test('[NODE-admit] a long backlog yields: the default slice is about 10 ms of real time', async () => {
  let n = 0;
  const q = new AdmissionQueue<number>({
    handle: () => {
      const until = performance.now() + 1;
      while (performance.now() < until); // 1 ms of work per message
      n++;
    },
  });
  for (let i = 0; i < 100; i++) q.push('readings', i, 1);
  const ticks: number[] = [];
  const timer = setInterval(() => ticks.push(n), 1);
  await q.idle();
  clearInterval(timer);
  assert.equal(n, 100);
  assert.ok(ticks.length >= 5, `timers ran while the backlog was worked (${ticks.length} times)`);
  assert.ok(ticks.some((k) => k > 0 && k < 100), 'a timer ran between slices');
});
