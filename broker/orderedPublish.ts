/**
 * [BROKER-ORDER] Messages reach aedes' message queue in the order aedes numbered them.
 *
 * aedes numbers every published message (`brokerCounter`) when `publish` starts, then
 * stores it if retained, queues it for persistent sessions, and only then emits it. A
 * retained message takes more asynchronous steps than a plain one, so a retained QoS 1
 * message published together with readings was emitted after messages numbered later.
 * Each connection drops a message numbered lower than one it already received (aedes'
 * `dedupe`, meant for a message that matches two of a client's subscriptions), and then
 * clears an entry of the session's queue by an undefined packet id: the first message not
 * yet sent. So a subscriber to both topics lost the retained message (an auction-open never
 * reached the chain node in a 5,000-home soak) and a reading, and was disconnected with
 * "no such packet".
 *
 * This runs publishes one at a time from numbering to emit: the next starts once the
 * previous one has been handed to the message queue (or has failed). Delivery and the
 * publish callback are not waited for, so publishes still overlap after the emit. With the
 * in-memory persistence the steps before the emit are promise turns, not I/O.
 */
type Done = (err?: Error | null) => void;

interface Job<P, C> {
  packet: P;
  client: C;
  done: Done | undefined;
  emitted: boolean;
}

/**
 * Wraps `publish` (aedes' own, bound) and `mq.emit`; returns the ordered publish to install
 * as the broker's `publish`.
 */
export function orderPublishes<P, C>(rawPublish: (packet: P, client: C, done: Done) => void, mq: unknown): (packet: P, client: C, done?: Done) => void {
  const q = mq as { emit?: (message: object, cb?: (err?: Error) => void) => unknown } | null;
  if (!q || typeof q.emit !== 'function') throw new Error('MQEMITTER_UNSUPPORTED the aedes message queue has no emit');
  const rawEmit = q.emit.bind(q);
  const waiting: Job<P, C>[] = [];
  let current: Job<P, C> | undefined;
  let scheduled = false;

  const release = (job: Job<P, C>) => {
    if (current !== job) return;
    current = undefined;
    schedule();
  };

  function schedule(): void {
    if (scheduled || current !== undefined || waiting.length === 0) return;
    scheduled = true;
    // a microtask, not a nested call: a run of QoS 0 messages emits synchronously
    queueMicrotask(() => {
      scheduled = false;
      startNext();
    });
  }

  function startNext(): void {
    if (current !== undefined) return;
    const job = waiting.shift();
    if (!job) return;
    current = job;
    rawPublish(job.packet, job.client, (err) => {
      release(job); // failed before its emit, or finished
      job.done?.(err ?? null);
    });
  }

  q.emit = (message, cb) => {
    const r = rawEmit(message, cb);
    if (current && !current.emitted) {
      current.emitted = true;
      release(current);
    }
    return r;
  };

  return (packet, client, done) => {
    waiting.push({ packet, client, done, emitted: false });
    if (current === undefined) startNext();
  };
}
