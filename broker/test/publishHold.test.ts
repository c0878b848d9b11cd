/** [BROKER-HOLD] The hold's rule with plain values: hysteresis, first come first released, in slices. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PublishHold } from '../publishHold.js';

test('[BROKER-HOLD] holds above the high mark, releases every waiter below the low mark, not between', () => {
  const h = new PublishHold({ holdAbove: 10, resumeBelow: 5 });
  assert.equal(h.update(10), false, 'at the mark: no hold');
  assert.equal(h.admit(() => undefined), false, 'not held: goes at once');
  assert.equal(h.update(11), true, 'above it: a hold begins');
  assert.equal(h.update(12), false, 'already holding: not a new episode');
  const released: number[] = [];
  for (const i of [1, 2, 3]) assert.equal(h.admit(() => released.push(i)), true, 'held: waits');
  assert.equal(h.waiting, 3);
  h.update(5); // between the marks: still held
  assert.deepEqual(released, []);
  assert.equal(h.holding, true);
  h.update(4); // released inside the update, synchronously
  assert.deepEqual(released, [1, 2, 3], 'in the order they came');
  assert.equal(h.waiting, 0);
  assert.equal(h.holding, false);
  assert.equal(h.admit(() => undefined), false, 'not held: goes at once');
  assert.equal(h.heldTotal, 3);
  assert.equal(h.episodes, 1);
  assert.equal(h.update(11), true);
  assert.equal(h.episodes, 2);
});

test('[BROKER-HOLD] marks out of order are refused', () => {
  assert.throws(() => new PublishHold({ holdAbove: 5, resumeBelow: 6 }), RangeError);
  assert.throws(() => new PublishHold({ holdAbove: 5, resumeBelow: 0 }), RangeError);
});

test('[BROKER-HOLD] a newcomer queues behind the waiters left', () => {
  const h = new PublishHold({ holdAbove: 10, resumeBelow: 10 });
  h.update(11);
  const order: string[] = [];
  h.admit(() => order.push('a'));
  h.admit(() => order.push('b'));
  h.update(9); // room for one up to the high mark: released inside the update
  assert.deepEqual(order, ['a']);
  assert.equal(h.holding, true, 'waiters left: still held');
  assert.equal(h.admit(() => order.push('c')), true, 'the newcomer waits');
  h.update(0);
  assert.deepEqual(order, ['a', 'b', 'c']);
  h.admit(() => order.push('d'));
  assert.deepEqual(order, ['a', 'b', 'c', 'd'], 'after the hold, at once');
  assert.equal(h.holding, false);
});

test('[BROKER-HOLD] a long line is released in slices that refill the queue to the high mark, never past it', () => {
  const h = new PublishHold({ holdAbove: 100, resumeBelow: 50 });
  h.update(101);
  let queue = 101;
  let released = 0;
  for (let i = 0; i < 1000; i++) h.admit(() => void released++);
  let slices = 0;
  while (h.waiting > 0) {
    queue = 49; // the service caught up to just under the low mark
    const before = released;
    h.update(queue);
    queue += released - before;
    assert.ok(queue <= 100, `the queue refilled to ${queue}`);
    slices++;
  }
  assert.equal(released, 1000);
  assert.equal(slices, Math.ceil(1000 / 51));
});
