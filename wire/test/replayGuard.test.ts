import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayGuard, replayKeyOf } from '../replayGuard.js';
import { WireError } from '../errors.js';

const at = (ms: number) => new Date(ms).toISOString();

test('[REPLAY-KEY] a repeated (clientId, reqId) is REPLAYED, also one rotation later; two rotations forget it', () => {
  let now = 1_000_000;
  const g = new ReplayGuard({ skewMs: 1000, now: () => now });
  g.check('0xabc', 'r1', at(now));
  assert.throws(() => g.check('0xabc', 'r1', at(now)), (e: unknown) => e instanceof WireError && e.code === 'REPLAYED');
  // another sender, another reqId: not the same id
  g.check('0xdef', 'r1', at(now));
  g.check('0xabc', 'r2', at(now));
  now += 2000; // one rotation: the id is in the previous generation
  assert.throws(() => g.check('0xabc', 'r1', at(now)), (e: unknown) => e instanceof WireError && e.code === 'REPLAYED');
  now += 4000; // past 4×skew: both generations new
  g.check('0xabc', 'r1', at(now));
  assert.equal(g.size, 1);
});

test('[REPLAY-KEY] ids that join to the same text stay apart; the key is 16 characters', () => {
  // with the key clientId + "\0" + reqId these two were one id, and the second was refused
  const g = new ReplayGuard({ now: () => 0 });
  g.check('a\u0000b', 'c', at(0));
  g.check('a', 'b\u0000c', at(0));
  assert.equal(g.size, 2);
  assert.notEqual(replayKeyOf('a\u0000b', 'c'), replayKeyOf('a', 'b\u0000c'));
  assert.equal(replayKeyOf('0x' + 'ab'.repeat(20), 'soak_r_00001_000012').length, 16);
  assert.equal(replayKeyOf('x', 'y'), replayKeyOf('x', 'y'));
});
