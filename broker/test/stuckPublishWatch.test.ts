import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStuckPublishWatch, type StuckInfo, type StuckReport } from '../stuckPublishWatch.js';

test('[BROKER-STUCK] publishes not finished within the limit: one report per sweep, each publish counted once; finished ones never', () => {
  let t = 0;
  const seen: StuckReport[] = [];
  const w = createStuckPublishWatch({ afterMs: 10_000, now: () => t, onStuck: (r) => seen.push(r), examples: 2 });
  const info = (clientId: string, stage: StuckInfo['stage']): StuckInfo => ({ clientId, topic: 'tmi/v1/chain/blocks', qos: 1, bytes: 100, stage });
  const endA = w.start(info('a', 'authorize'));
  t = 1_000;
  const endB = w.start(info('b', 'forward'));
  const endC = w.start(info('c', 'authorize'));
  const endD = w.start(info('d', 'forward'));
  endA();
  t = 10_500;
  assert.equal(w.sweep(), 3);
  assert.equal(seen.length, 0, 'a finished after 1 s; b, c and d have waited 9.5 s');
  t = 11_000;
  w.sweep();
  assert.deepEqual(seen, [{
    newlyStuck: 3, pending: 3, oldestAgeMs: 10_000, byStage: { authorize: 1, forward: 2 },
    examples: [{ ...info('b', 'forward'), ageMs: 10_000 }, { ...info('c', 'authorize'), ageMs: 10_000 }],
  }]);
  t = 60_000;
  w.sweep();
  assert.equal(seen.length, 1, 'each reported once: no new report');
  const endE = w.start(info('e', 'authorize'));
  t = 70_001;
  w.sweep();
  assert.equal(seen.length, 2);
  assert.equal(seen[1]!.newlyStuck, 1);
  assert.equal(seen[1]!.oldestAgeMs, 69_001, 'the oldest still open (b)');
  for (const end of [endB, endC, endD, endE]) end();
  assert.equal(w.sweep(), 0);
  assert.equal(w.pending, 0);
});
