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
