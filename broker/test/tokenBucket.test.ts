import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from '../tokenBucket.js';

test('token bucket: burst, then the refill rate', () => {
  const b = new TokenBucket({ messagesPerSecond: 10, burst: 3 }, 0);
  assert.deepEqual([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false]);
  assert.equal(b.take(50), false, 'half a token after 50 ms');
  assert.equal(b.take(100), true, 'one token after 100 ms');
  assert.equal(b.take(100), false);
  let ok = 0;
  for (let t = 1000; t < 11_000; t += 10) if (b.take(t)) ok++;
  assert.ok(ok >= 99 && ok <= 103, `about 10/s over 10 s: ${ok}`);
  assert.equal(b.take(1_000_000), true);
});

test('token bucket: bad limits are refused', () => {
  assert.throws(() => new TokenBucket({ messagesPerSecond: 0, burst: 1 }, 0), /BAD_RATE_LIMIT/);
  assert.throws(() => new TokenBucket({ messagesPerSecond: 1, burst: 0 }, 0), /BAD_RATE_LIMIT/);
  assert.throws(() => new TokenBucket({ messagesPerSecond: Number.NaN, burst: 1 }, 0), /BAD_RATE_LIMIT/);
});
