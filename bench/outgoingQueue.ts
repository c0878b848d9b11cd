/**
 * `npm run bench:broker-queue` — [BROKER-QUEUE] the cost of one QoS 1 message to a
 * persistent subscriber that is `backlog` messages behind, in aedes' in-memory persistence
 * as shipped (an array, scanned) and with the broker's indexed queue (broker/indexedOutgoing.ts).
 *
 * One message = what aedes asks of the persistence for it: enqueue, give it a packet id
 * (outgoingUpdate), remove it on PUBACK (outgoingClearMessageId). The subscriber
 * acknowledges in order, `backlog` messages late: the queue stays at `backlog`.
 * Prints one JSON object: µs per message for each backlog, both implementations.
 */
import { performance } from 'node:perf_hooks';
import { indexOutgoingQueues, shippedMemoryPersistence } from '../broker/indexedOutgoing.js';
import { machine } from './machine.js';

type Persistence = Record<string, (...a: unknown[]) => Promise<unknown>>;
const memory = shippedMemoryPersistence as () => Persistence;

const BACKLOGS = (process.env.BENCH_BACKLOGS ?? '100,1000,10000,30000').split(',').map(Number);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 5000);

async function perMessageUs(p: Persistence, backlog: number): Promise<number> {
  const client = { id: 'chain-node' };
  const sub = { clientId: 'chain-node' };
  let counter = 0;
  let acked = 0;
  const payload = Buffer.alloc(600);
  const one = async () => {
    const n = ++counter;
    const messageId = ((n - 1) % 65535) + 1;
    await p.outgoingEnqueue!(sub, { cmd: 'publish', topic: 'tmi/v1/readings', payload, qos: 1, brokerId: 'b', brokerCounter: n });
    await p.outgoingUpdate!(client, { cmd: 'publish', topic: 'tmi/v1/readings', payload, qos: 1, brokerId: 'b', brokerCounter: n, messageId });
  };
  const ackOldest = async () => {
    const n = ++acked;
    await p.outgoingClearMessageId!(client, { messageId: ((n - 1) % 65535) + 1 });
  };
  for (let i = 0; i < backlog; i++) await one();
  const t0 = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    await one();
    await ackOldest();
  }
  return ((performance.now() - t0) * 1000) / MESSAGES;
}

// untimed warm-up of both, so that the first row is not the JIT's
await perMessageUs(memory(), 100);
{
  const w = memory();
  indexOutgoingQueues(w);
  await perMessageUs(w, 100);
}
const rows = [];
for (const backlog of BACKLOGS) {
  const shipped = await perMessageUs(memory(), backlog);
  const idx = memory();
  indexOutgoingQueues(idx);
  const indexed = await perMessageUs(idx, backlog);
  rows.push({ backlog, aedesMemoryUsPerMessage: Math.round(shipped * 10) / 10, indexedUsPerMessage: Math.round(indexed * 10) / 10, ratio: Math.round((shipped / indexed) * 10) / 10 });
}
console.log(JSON.stringify({
  bench: 'broker-queue',
  what: 'µs of the broker thread per QoS 1 message to a persistent subscriber `backlog` messages behind (enqueue, packet id, clear on PUBACK); aedes-persistence in memory as shipped vs the indexed queue [BROKER-QUEUE]',
  messages: MESSAGES,
  rows,
  machine: machine(),
}, null, 2));
