/**
 * [NODE-verify] Transaction signatures checked on every core (issue "speed and scale"):
 * Ed25519 verification is most of a follower's import cost, and one thread caps it. A
 * pool of worker threads verifies a block's transactions beside the main thread; each
 * valid one is then remembered by the node's verified codec (by its object and its id),
 * so the block's import steps (validateAndApplyBlock, unchanged: the same rules in the
 * same order) apply them without verifying or hashing them again. A transaction a worker
 * finds invalid is not remembered: the import decodes it again on the main thread and
 * refuses the block with the rule's own code. Pure speed: no rule depends on the pool.
 *
 * The work splits by speed: a job's transactions are cut into chunks of `CHUNK`, and the
 * workers and the main thread claim chunks from one shared counter (txVerifyWorker.ts).
 * `startVerify` hands a job to the workers at once; its `finish()` makes the main thread
 * verify the chunks still unclaimed, then waits for the workers' answers. A node that
 * imports a run of blocks starts block k + 1's job before importing block k.
 */
import { Worker } from 'node:worker_threads';
import type { VerifiedCodec } from './verifiedCodec.js';
import type { VerifyJobAnswer, VerifyJobMessage } from './txVerifyWorker.js';

/** transactions per claim: small enough to balance, large enough that claiming costs nothing */
export const CHUNK = 16;

export interface TxVerifyPool {
  readonly threads: number;
  /** the transaction id of each valid envelope, null for the others, in order (on the workers alone) */
  verify(txs: readonly unknown[]): Promise<(string | null)[]>;
  /**
   * Hands `txs` to every worker; chunks are claimed from `next` ([0] = next chunk). Resolves,
   * per worker, the chunks it verified; a worker that fails answers none.
   */
  post(txs: readonly unknown[], chunk: number, next: Int32Array): Promise<VerifyJobAnswer>[];
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  inflight: Map<number, (a: VerifyJobAnswer) => void>;
}

export function createTxVerifyPool(threads: number): TxVerifyPool {
  let seq = 0;
  const slots: Slot[] = [];
  for (let i = 0; i < threads; i++) {
    const worker = new Worker(new URL('./txVerifyWorker.js', import.meta.url));
    const slot: Slot = { worker, inflight: new Map() };
    worker.on('message', (m: VerifyJobAnswer) => {
      const r = slot.inflight.get(m.seq);
      slot.inflight.delete(m.seq);
      if (slot.inflight.size === 0) worker.unref();
      r?.(m);
    });
    const fail = () => {
      // a worker that fails verifies nothing: what it claimed is checked on the main thread by the import
      for (const [s, r] of slot.inflight) r({ seq: s, chunks: [], ids: [] });
      slot.inflight.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    worker.unref();
    slots.push(slot);
  }
  function post(txs: readonly unknown[], chunk: number, next: Int32Array): Promise<VerifyJobAnswer>[] {
    return slots.map(
      (slot) =>
        new Promise<VerifyJobAnswer>((resolve) => {
          const s = ++seq;
          if (slot.inflight.size === 0) slot.worker.ref();
          slot.inflight.set(s, resolve);
          const job: VerifyJobMessage = { seq: s, txs: txs as unknown[], chunk, next };
          slot.worker.postMessage(job);
        }),
    );
  }
  return {
    threads,
    post,
    async verify(txs) {
      const ids: (string | null)[] = txs.map(() => null);
      if (txs.length === 0) return ids;
      const answers = await Promise.all(post(txs, CHUNK, new Int32Array(new SharedArrayBuffer(4))));
      for (const a of answers) a.chunks.forEach((c, k) => a.ids[k]!.forEach((id, j) => (ids[c * CHUNK + j] = id)));
      return ids;
    },
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

export interface PendingVerify {
  /** resolves once the workers have answered (they claim chunks until none is left): how many they verified */
  readonly workersDone: Promise<number>;
  /** verifies on this thread the chunks no worker has claimed yet, then waits for the workers; how many the workers verified */
  finish(): Promise<number>;
}

/** Starts verifying `txs` on the pool; the valid ones are remembered in `codec` as the workers answer. */
export function startVerify(pool: TxVerifyPool, codec: VerifiedCodec, txs: readonly unknown[]): PendingVerify {
  const next = new Int32Array(new SharedArrayBuffer(4));
  const count = Math.ceil(txs.length / CHUNK);
  const workersDone = Promise.all(txs.length > 0 ? pool.post(txs, CHUNK, next) : []).then((answers) => {
    let off = 0;
    for (const a of answers) {
      a.chunks.forEach((c, k) =>
        a.ids[k]!.forEach((id, j) => {
          const tx = txs[c * CHUNK + j];
          if (id === null || typeof tx !== 'object' || tx === null) return;
          codec.rememberValue(tx, id); // the worker's id, computed from a copy of this very object
          off++;
        }),
      );
    }
    return off;
  });
  return {
    workersDone,
    finish() {
      for (let c = Atomics.add(next, 0, 1); c < count; c = Atomics.add(next, 0, 1)) {
        for (let i = c * CHUNK; i < Math.min(txs.length, (c + 1) * CHUNK); i++) {
          try {
            codec.decodeValue(txs[i], { replayCheck: false }); // remembered when valid
          } catch {
            // refused again, with its code, by the import
          }
        }
      }
      return workersDone;
    },
  };
}

/** Verifies a block's transactions on the pool and the main thread together; how many the workers verified. */
export function preverifyTxs(pool: TxVerifyPool, codec: VerifiedCodec, txs: readonly unknown[]): Promise<number> {
  return startVerify(pool, codec, txs).finish();
}
