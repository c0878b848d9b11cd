import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStuckPublishWatch, type StuckInfo } from '../stuckPublishWatch.js';

test('[BROKER-STUCK] a publish not finished within the limit is reported once; finished ones never', () => {
  let t = 0;
  const seen: (StuckInfo & { ageMs: number; pending: number })[] = [];
  const w = createStuckPublishWatch({ afterMs: 10_000, now: () => t, onStuck: (i) => seen.push(i) });
  const info = (clientId: string, stage: StuckInfo['stage']): StuckInfo => ({ clientId, topic: 'tmi/v1/chain/blocks', qos: 1, bytes: 100, stage });
  const endA = w.start(info('a', 'authorize'));
  t = 1_000;
  const endB = w.start(info('b', 'forward'));
  endA();
  t = 10_500;
  assert.equal(w.sweep(), 1);
  assert.deepEqual(seen, [], 'a finished after 1 s, b has waited 9.5 s');
  t = 11_000;
  w.sweep();
  assert.deepEqual(seen, [{ ...info('b', 'forward'), ageMs: 10_000, pending: 1 }]);
  t = 60_000;
  w.sweep();
  assert.equal(seen.length, 1, 'reported once');
  endB();
  assert.equal(w.sweep(), 0);
  assert.equal(w.pending, 0);
});
