import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionQueue } from '../../node/admissionQueue.js';

/** a queue driven by hand: a fake clock each handled message advances, and a list of scheduled slices */
function setup(o: { sliceMs?: number; highWater?: number; highWaterBytes?: number; costMs?: number } = {}) {
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
    highWater: o.highWater,
    highWaterBytes: o.highWaterBytes,
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
  for (let i = 0; i < 5; i++) q.push('readings', `r${i}`, 10);
  q.push('urgent', 'bid', 10);
  q.push('urgent', 'close', 10);
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

test('[NODE-admit] high-water marks in count and bytes: no room until the queue drains below them', async () => {
  const { q, runSlice, handled } = setup({ highWater: 3, highWaterBytes: 100, sliceMs: 2, costMs: 1 });
  q.push('readings', 'a', 10);
  q.push('readings', 'b', 10);
  assert.ok(q.hasRoom());
  q.push('urgent', 'c', 10);
  assert.equal(q.hasRoom(), false, 'three waiting: at the count mark');
  let room = false;
  const p = q.whenRoom().then(() => (room = true));
  runSlice(); // c and a: one waits
  await Promise.resolve();
  assert.deepEqual(handled, ['c', 'a']);
  await p;
  assert.ok(room && q.hasRoom(), 'room once below the mark');
  q.push('readings', 'big', 95);
  assert.equal(q.hasRoom(), false, 'b (10) + big (95) bytes: at the bytes mark');
  assert.deepEqual(q.stats(), { urgent: 0, readings: 2, bytes: 105, maxQueued: 3, maxWaitMs: { urgent: 0, readings: 1 }, handled: 2, full: 2 });
  runSlice();
  assert.deepEqual(handled, ['c', 'a', 'b', 'big']);
  assert.equal(q.stats().bytes, 0);
  assert.ok(q.hasRoom());
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

test('[NODE-verify] ahead: the messages behind the slice, in handling order, each once, at most aheadCount outstanding', () => {
  const clock = { t: 0 };
  const handled: string[] = [];
  const aheadCalls: string[][] = [];
  const slices: (() => void)[] = [];
  const q = new AdmissionQueue<string>({
    handle: (m) => {
      handled.push(m);
      clock.t += 1;
    },
    clock: () => clock.t,
    schedule: (fn) => slices.push(fn),
    sliceMs: 2, // two messages a slice
    ahead: (items) => aheadCalls.push(items),
    aheadSkip: 2,
    aheadCount: 3,
  });
  for (let i = 0; i < 6; i++) q.push('readings', `r${i}`, 10);
  q.push('urgent', 'bid', 10);
  slices.shift()!();
  // order of handling: bid, r0, r1, …; the first two (this slice's) are skipped
  assert.deepEqual(aheadCalls, [['r1', 'r2', 'r3']]);
  assert.deepEqual(handled, ['bid', 'r0']);
  slices.shift()!();
  // three still outstanding when the slice began: nothing more handed over
  assert.deepEqual(aheadCalls, [['r1', 'r2', 'r3']]);
  assert.deepEqual(handled, ['bid', 'r0', 'r1', 'r2']);
  slices.shift()!();
  // r1 and r2 handled: room for two, but r3 and r4 are this slice's own (r3 handed already), so r5 alone
  assert.deepEqual(aheadCalls, [['r1', 'r2', 'r3'], ['r5']]);
  while (slices.length > 0) slices.shift()!();
  assert.deepEqual(aheadCalls.flat(), ['r1', 'r2', 'r3', 'r5'], 'r4 was never behind a slice: this thread took it in turn');
  assert.deepEqual(handled, ['bid', 'r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
});
