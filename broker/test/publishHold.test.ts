/** [BROKER-HOLD] The hold's rule with plain values: hysteresis, waiters released together. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PublishHold } from '../publishHold.js';

test('[BROKER-HOLD] holds above the high mark, releases every waiter below the low mark, not between', async () => {
  const h = new PublishHold({ holdAbove: 10, resumeBelow: 5 });
  assert.equal(h.update(10), false, 'at the mark: no hold');
  assert.equal(h.wait(), undefined);
  assert.equal(h.update(11), true, 'above it: a hold begins');
  assert.equal(h.update(12), false, 'already holding: not a new episode');
  const released: number[] = [];
  const waits = [1, 2, 3].map((i) => h.wait()!.then(() => released.push(i)));
  assert.equal(h.waiting, 3);
  h.update(5); // between the marks: still held
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(released, []);
  assert.equal(h.holding, true);
  h.update(4);
  await Promise.all(waits);
  assert.deepEqual(released, [1, 2, 3], 'in the order they came');
  assert.equal(h.waiting, 0);
  assert.equal(h.holding, false);
  assert.equal(h.wait(), undefined);
  assert.equal(h.heldTotal, 3);
  assert.equal(h.episodes, 1);
  assert.equal(h.update(11), true);
  assert.equal(h.episodes, 2);
});

test('[BROKER-HOLD] marks out of order are refused', () => {
  assert.throws(() => new PublishHold({ holdAbove: 5, resumeBelow: 6 }), RangeError);
  assert.throws(() => new PublishHold({ holdAbove: 5, resumeBelow: 0 }), RangeError);
});

test('[BROKER-HOLD] a newcomer queues behind the waiters left', async () => {
  const h = new PublishHold({ holdAbove: 10, resumeBelow: 10 });
  h.update(11);
  const order: string[] = [];
  const a = h.wait()!.then(() => order.push('a'));
  const b = h.wait()!.then(() => order.push('b'));
  h.update(9); // room for one up to the high mark
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['a']);
  assert.equal(h.holding, true, 'waiters left: still held');
  const c = h.wait();
  assert.ok(c, 'the newcomer waits');
  void c.then(() => order.push('c'));
  h.update(0);
  await Promise.all([a, b, c]);
  assert.deepEqual(order, ['a', 'b', 'c']);
  assert.equal(h.holding, false);
});

test('[BROKER-HOLD] a long line is released in slices that refill the queue to the high mark, never past it', async () => {
  const h = new PublishHold({ holdAbove: 100, resumeBelow: 50 });
  h.update(101);
  let queue = 101;
  let released = 0;
  const all = Array.from({ length: 1000 }, () => h.wait()!.then(() => void released++));
  let slices = 0;
  while (h.waiting > 0) {
    queue = 49; // the service caught up to just under the low mark
    const before = released;
    h.update(queue);
    await new Promise((r) => setImmediate(r));
    queue += released - before;
    assert.ok(queue <= 100, `the queue refilled to ${queue}`);
    slices++;
  }
  await Promise.all(all);
  assert.equal(released, 1000);
  assert.equal(slices, Math.ceil(1000 / 51));
});
