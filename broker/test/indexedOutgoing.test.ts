/**
 * [BROKER-QUEUE] The indexed outgoing queue against aedes' own in-memory persistence:
 * the same operations give the same answers and leave the same queues.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { indexOutgoingQueues, isMemoryPersistence, shippedMemoryPersistence } from '../indexedOutgoing.js';

// aedes' default persistence, resolved from aedes itself (the one a broker gets without Redis)
const memory = shippedMemoryPersistence;

interface P {
  brokerId: string;
  brokerCounter: number;
  topic: string;
  qos: number;
  messageId?: number;
}

type Op =
  | { op: 'enqueue'; client: string; p: P }
  | { op: 'combi'; clients: string[]; p: P }
  | { op: 'update'; client: string; p: P }
  | { op: 'clear'; client: string; messageId: number | undefined }
  | { op: 'stream'; client: string };

// small spaces, so that ids collide often: the first-match rules are where the two could differ
const client = fc.constantFrom('c1', 'c2');
const packet = fc.record({
  brokerId: fc.constantFrom('b1', 'b2'),
  brokerCounter: fc.integer({ min: 1, max: 4 }),
  topic: fc.constantFrom('t/a', 't/b'),
  qos: fc.constant(1),
  messageId: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('enqueue' as const), client, p: packet }),
  fc.record({ op: fc.constant('combi' as const), clients: fc.uniqueArray(client, { minLength: 1, maxLength: 2 }), p: packet }),
  fc.record({ op: fc.constant('update' as const), client, p: packet }),
  fc.record({ op: fc.constant('clear' as const), client, messageId: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) }),
  fc.record({ op: fc.constant('stream' as const), client }),
);

const view = (x: unknown) => {
  if (x === undefined || x === null) return x;
  const p = x as P;
  return { brokerId: p.brokerId, brokerCounter: p.brokerCounter, topic: p.topic, messageId: p.messageId };
};

async function streamed(s: unknown): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const x of s as Readable) out.push(view(x));
  return out;
}

/** runs one operation, answering what a caller sees: the result, or the error's message */
async function run(p: Record<string, (...a: unknown[]) => unknown>, o: Op): Promise<unknown> {
  // every call gets its own copy: a persistence may keep the object it is given
  const copy = (x: P) => ({ ...x });
  try {
    switch (o.op) {
      case 'enqueue':
        return await p.outgoingEnqueue!({ clientId: o.client }, copy(o.p));
      case 'combi':
        return await p.outgoingEnqueueCombi!(o.clients.map((clientId) => ({ clientId })), copy(o.p));
      case 'update':
        return await p.outgoingUpdate!({ id: o.client }, copy(o.p));
      case 'clear':
        return view(await p.outgoingClearMessageId!({ id: o.client }, { messageId: o.messageId }));
      case 'stream':
        return await streamed(p.outgoingStream!({ id: o.client }));
    }
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('[BROKER-QUEUE] indexed outgoing queues', () => {
  it('only the in-memory persistence is replaced', () => {
    assert.equal(isMemoryPersistence(memory()), true);
    assert.equal(indexOutgoingQueues({ outgoingUpdate: () => undefined }), undefined);
    assert.equal(indexOutgoingQueues(null), undefined);
  });

  it('answers as aedes-persistence does, operation for operation, and leaves the same queues', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const reference = memory();
        const indexed = memory();
        assert.ok(indexOutgoingQueues(indexed));
        for (const o of ops) {
          assert.deepEqual(await run(indexed, o), await run(reference, o), JSON.stringify(o));
        }
        for (const c of ['c1', 'c2']) {
          assert.deepEqual(await run(indexed, { op: 'stream', client: c }), await run(reference, { op: 'stream', client: c }));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a queue of 20,000 drains by packet id in any order, and its client holds no queue after', async () => {
    const p = memory();
    const queues = indexOutgoingQueues(p)!;
    const n = 20_000;
    for (let i = 1; i <= n; i++) await p.outgoingEnqueue!({ clientId: 'node' }, { brokerId: 'b', brokerCounter: i, topic: 't', qos: 1 });
    // packet ids as aedes gives them: 1..65535, in the order the messages go out
    for (let i = 1; i <= n; i++) await p.outgoingUpdate!({ id: 'node' }, { brokerId: 'b', brokerCounter: i, topic: 't', qos: 1, messageId: i });
    assert.equal(queues.get('node')!.size, n);
    // acknowledged out of order: evens first, then odds
    for (const parity of [0, 1]) {
      for (let i = 1; i <= n; i++) {
        if (i % 2 !== parity) continue;
        const got = (await p.outgoingClearMessageId!({ id: 'node' }, { messageId: i })) as P;
        assert.equal(got.brokerCounter, i);
      }
    }
    assert.equal(queues.has('node'), false);
    assert.deepEqual(await streamed(p.outgoingStream!({ id: 'node' })), []);
    await assert.rejects(Promise.resolve(p.outgoingUpdate!({ id: 'node' }, { brokerId: 'b', brokerCounter: 1, messageId: 1 })), /no such packet/);
  });
});
