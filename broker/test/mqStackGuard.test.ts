import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Aedes } from 'aedes';
import { guardMqRecursion } from '../mqStackGuard.js';

type Mq = { on(t: string, f: (p: unknown, cb: () => void) => void): void; emit(p: { topic: string }, cb: (err?: Error) => void): void };

/** One slot held by a slow delivery, then a long queue of messages nobody subscribes to. */
async function drainQueue(guard: boolean, queued: number): Promise<{ threw: unknown; done: number; outOfOrder: number; wait: () => Promise<void>; close: () => void }> {
  const aedes = await Aedes.createBroker({ concurrency: 1 });
  const mq = (aedes as unknown as { mq: Mq }).mq;
  if (guard) guardMqRecursion(mq);
  let hold: (() => void) | undefined;
  mq.on('slow', (_p, cb) => {
    hold = cb;
  });
  mq.emit({ topic: 'slow' }, () => {});
  let done = 0;
  let outOfOrder = 0;
  for (let i = 0; i < queued; i++) {
    mq.emit({ topic: 'nobody' }, () => {
      if (i !== done) outOfOrder++;
      done++;
    });
  }
  let threw: unknown;
  try {
    hold!();
  } catch (err) {
    threw = err;
  }
  return {
    threw,
    get done() {
      return done;
    },
    get outOfOrder() {
      return outOfOrder;
    },
    close: () => aedes.close(),
    wait: async () => {
      const until = Date.now() + 10_000;
      while (done < queued && Date.now() < until) await new Promise((r) => setImmediate(r));
      aedes.close();
    },
  };
}

test('without the guard a long queue drains as one call chain and overflows the stack', async () => {
  const r = await drainQueue(false, 30_000);
  assert.ok(r.threw instanceof RangeError, `expected a stack overflow, got ${String(r.threw)}`);
  r.close();
});

test('with the guard the same queue drains completely, in order, without overflow', async () => {
  const r = await drainQueue(true, 30_000);
  assert.equal(r.threw, undefined);
  const t0 = Date.now();
  await r.wait();
  assert.equal(r.done, 30_000);
  assert.equal(r.outOfOrder, 0);
  assert.ok(Date.now() - t0 < 5000, `drained in ${Date.now() - t0} ms`);
});
