/**
 * [BROKER-QUEUE] The indexed outgoing queue against aedes' own in-memory persistence:
 * the same operations give the same answers and leave the same queues.
 * [SESSION-CAP] With limits, the same again against aedes' persistence given only the
 * messages the limits let in; a message is dropped exactly when a limit would be passed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { indexOutgoingQueues, isMemoryPersistence, shippedMemoryPersistence, type QueueDropReason, type SessionLimit } from '../indexedOutgoing.js';

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
    const { queues } = indexOutgoingQueues(p)!;
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

describe('[SESSION-CAP] bounded session queues', () => {
  // c1 and c2 limited, c3 not (a service); small limits, so that every limit is reached often
  const LIMIT: SessionLimit = { messages: 3, bytes: 10 };
  const TOTAL = 14;
  const limitFor = (id: string) => (id === 'c3' ? undefined : LIMIT);
  const capClient = fc.constantFrom('c1', 'c2', 'c3');
  type PP = P & { payload: Buffer };
  // one broker id: the memory persistence's case (one broker). Two: an update may replace
  // another broker's message by a larger one, which no limit checks (the byte total must
  // still be exact)
  const capOps = (brokers: string[]) => {
    const withPayload = fc.tuple(packet, fc.constantFrom(...brokers), fc.nat(6)).map(([p, brokerId, n]) => ({ ...p, brokerId, payload: Buffer.alloc(n, 1) }));
    return fc.array(fc.oneof(
    fc.record({ op: fc.constant('enqueue' as const), client: capClient, p: withPayload }),
    fc.record({ op: fc.constant('combi' as const), clients: fc.uniqueArray(capClient, { minLength: 1, maxLength: 3 }), p: withPayload }),
    fc.record({ op: fc.constant('update' as const), client: capClient, p: withPayload }),
    fc.record({ op: fc.constant('clear' as const), client: capClient, messageId: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) }),
    fc.record({ op: fc.constant('clean' as const), client: capClient }),
    ), { maxLength: 60 });
  };
  type CapOp = Op | { op: 'clean'; client: string };

  async function held(p: Record<string, (...a: unknown[]) => unknown>, client: string): Promise<{ n: number; bytes: number }> {
    let n = 0;
    let bytes = 0;
    for await (const x of p.outgoingStream!({ id: client }) as Readable) {
      n++;
      bytes += ((x as PP).payload?.length ?? 0);
    }
    return { n, bytes };
  }

  for (const brokers of [['b1'], ['b1', 'b2']]) it(`drops exactly the messages that would pass a limit; everything else as aedes-persistence given the rest (broker ids ${brokers.join(', ')})`, async () => {
    await fc.assert(
      fc.asyncProperty(capOps(brokers), async (ops: CapOp[]) => {
        const reference = memory();
        const indexed = memory();
        const drops: [string, QueueDropReason][] = [];
        const ix = indexOutgoingQueues(indexed, { limitFor, totalBytes: TOTAL, onDrop: (id, reason) => drops.push([id, reason]) })!;
        for (const o of ops) {
          if (o.op === 'clean') {
            await indexed.cleanSubscriptions!({ id: o.client });
            // the reference keeps a clean start's queue (aedes-persistence 11): empty it by hand
            const ids: (number | undefined)[] = [];
            for await (const x of reference.outgoingStream!({ id: o.client }) as unknown as Readable) ids.push((x as P).messageId);
            for (const messageId of ids) await reference.outgoingClearMessageId!({ id: o.client }, { messageId });
            assert.equal((await held(reference, o.client)).n, 0);
            assert.equal((await held(indexed, o.client)).n, 0, 'a clean start discards the queue');
          } else if (o.op === 'enqueue' || o.op === 'combi') {
            // the expected drops, from the reference's queues before each sub
            const subs = o.op === 'enqueue' ? [o.client] : o.clients;
            const size = (o.p as PP).payload.length;
            const expected: [string, QueueDropReason][] = [];
            const kept: string[] = [];
            for (const c of subs) {
              let reason: QueueDropReason | undefined;
              if (limitFor(c)) {
                const h = await held(reference, c);
                let total = 0;
                for (const l of ['c1', 'c2']) total += (await held(reference, l)).bytes;
                if (h.n + 1 > LIMIT.messages) reason = 'session-messages';
                else if (h.bytes + size > LIMIT.bytes) reason = 'session-bytes';
                else if (total + size > TOTAL) reason = 'total-bytes';
              }
              if (reason) expected.push([c, reason]);
              else {
                kept.push(c);
                await reference.outgoingEnqueue!({ clientId: c }, { ...o.p });
              }
            }
            drops.length = 0;
            assert.equal(await run(indexed, o), undefined);
            assert.deepEqual(drops, expected, JSON.stringify(o));
          } else {
            assert.deepEqual(await run(indexed, o), await run(reference, o), JSON.stringify(o));
          }
          let limitedBytes = 0;
          let limitedMessages = 0;
          for (const c of ['c1', 'c2', 'c3']) {
            const a = await run(indexed, { op: 'stream', client: c });
            assert.deepEqual(a, await run(reference, { op: 'stream', client: c }), `${c} after ${JSON.stringify(o)}`);
            const h = await held(indexed, c);
            if (limitFor(c)) {
              if (brokers.length === 1) assert.ok(h.n <= LIMIT.messages && h.bytes <= LIMIT.bytes, `${c} holds ${h.n} messages, ${h.bytes} bytes`);
              limitedBytes += h.bytes;
              limitedMessages += h.n;
            }
          }
          if (brokers.length === 1) assert.ok(limitedBytes <= TOTAL);
          const l = ix.limited();
          assert.equal(l.bytes, limitedBytes, 'the byte total is kept exactly');
          assert.equal(l.messages, limitedMessages);
        }
      }),
      { numRuns: 500 },
    );
  });
});
