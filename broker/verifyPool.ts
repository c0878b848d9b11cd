/**
 * A pool of worker threads that run the codec's decode (size, JSON, schema, Ed25519
 * signature) off the main thread. Ed25519 verification is ~85 % of the cost of edge
 * validation (≈ 117 µs of ≈ 150 µs per bid-offer measured here), so one core caps a
 * broker at a few thousand verified messages per second; the pool spreads it over the
 * other cores while the main thread keeps MQTT, ACL, identity and the replay guard.
 *
 * Jobs of one shard key (the login's meter id) always go to the same worker, which
 * answers in order, so one client's messages keep their order. Jobs are batched per
 * event-loop turn to amortise the message passing.
 */
import { Worker } from 'node:worker_threads';
import type { WireErrorCode } from '../wire/errors.js';

export interface VerifyJob {
  payload: Uint8Array;
  /** hex public key for a clientId that is a meter id (not an address) */
  key?: string;
}

/** ok: the payload is a valid, correctly signed envelope (the caller keeps its own parse of it) */
export type VerifyResult = { ok: true } | { ok: false; code: WireErrorCode | 'VERIFIER_FAILED'; message: string };

export interface VerifyPool {
  verify(shard: string, job: VerifyJob): Promise<VerifyResult>;
  readonly size: number;
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  queue: VerifyJob[];
  waiting: ((r: VerifyResult) => void)[];
  /** batches sent and not answered: seq → resolvers */
  inflight: Map<number, ((r: VerifyResult) => void)[]>;
  scheduled: boolean;
}

function shardIndex(key: string, n: number): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) % n;
}

export function createVerifyPool(opts: { threads: number; maxBytes: number; maxBatch?: number; onError?: (err: Error) => void }): VerifyPool {
  const maxBatch = opts.maxBatch ?? 256;
  let seq = 0;
  let closing = false;
  const slots: Slot[] = [];

  function failAll(slot: Slot, message: string): void {
    const failed: VerifyResult = { ok: false, code: 'VERIFIER_FAILED', message };
    for (const rs of slot.inflight.values()) for (const r of rs) r(failed);
    slot.inflight.clear();
  }

  function spawn(i: number): Slot {
    const worker = new Worker(new URL('./verifyWorker.js', import.meta.url), { workerData: { maxBytes: opts.maxBytes } });
    const slot: Slot = { worker, queue: [], waiting: [], inflight: new Map(), scheduled: false };
    worker.on('message', (m: { seq: number; results: VerifyResult[] }) => {
      const rs = slot.inflight.get(m.seq);
      if (!rs) return;
      slot.inflight.delete(m.seq);
      if (slot.inflight.size === 0) worker.unref(); // idle workers do not keep the process alive
      for (let k = 0; k < rs.length; k++) rs[k]!(m.results[k] ?? { ok: false, code: 'VERIFIER_FAILED', message: 'missing result' });
    });
    worker.on('error', (err) => {
      opts.onError?.(err);
      failAll(slot, `verify worker failed: ${err.message}`);
    });
    worker.on('exit', () => {
      failAll(slot, 'verify worker exited');
      if (!closing) {
        // keep the queued jobs; a fresh worker takes over
        const fresh = spawn(i);
        fresh.queue = slot.queue;
        fresh.waiting = slot.waiting;
        slots[i] = fresh;
        if (fresh.queue.length) schedule(fresh);
      }
    });
    worker.unref();
    return slot;
  }

  function flush(slot: Slot): void {
    slot.scheduled = false;
    while (slot.queue.length > 0) {
      const jobs = slot.queue.splice(0, maxBatch);
      const resolvers = slot.waiting.splice(0, jobs.length);
      const s = ++seq;
      if (slot.inflight.size === 0) slot.worker.ref();
      slot.inflight.set(s, resolvers);
      slot.worker.postMessage({ seq: s, jobs });
    }
  }

  function schedule(slot: Slot): void {
    if (slot.scheduled) return;
    slot.scheduled = true;
    setImmediate(() => flush(slot));
  }

  for (let i = 0; i < opts.threads; i++) slots.push(spawn(i));

  return {
    size: opts.threads,
    verify(shard, job) {
      const slot = slots[shardIndex(shard, slots.length)]!;
      return new Promise<VerifyResult>((resolve) => {
        slot.queue.push(job);
        slot.waiting.push(resolve);
        if (slot.queue.length >= maxBatch) flush(slot);
        else schedule(slot);
      });
    },
    async close() {
      closing = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
