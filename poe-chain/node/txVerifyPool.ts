/**
 * [NODE-verify] Transaction signatures checked on every core (issue "speed and scale"):
 * Ed25519 verification is most of a follower's import cost, and one thread caps it. A
 * pool of worker threads verifies a share of a block's transactions while the main thread
 * verifies the rest; each valid one is then remembered by the node's verified codec, so the
 * block's import steps (validateAndApplyBlock, unchanged: the same rules in the same order)
 * apply them without verifying again. A transaction a worker finds invalid is not
 * remembered: the import decodes it again on the main thread and refuses the block with
 * the rule's own code. Pure speed: no rule depends on the pool.
 */
import { Worker } from 'node:worker_threads';
import type { VerifiedCodec } from './verifiedCodec.js';

export interface TxVerifyPool {
  readonly threads: number;
  /** the transaction id of each valid envelope, null for the others, in order */
  verify(txs: readonly unknown[]): Promise<(string | null)[]>;
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  inflight: Map<number, (ids: (string | null)[]) => void>;
}

export function createTxVerifyPool(threads: number): TxVerifyPool {
  let seq = 0;
  const slots: Slot[] = [];
  for (let i = 0; i < threads; i++) {
    const worker = new Worker(new URL('./txVerifyWorker.js', import.meta.url));
    const slot: Slot = { worker, inflight: new Map() };
    worker.on('message', (m: { seq: number; ids: (string | null)[] }) => {
      const r = slot.inflight.get(m.seq);
      slot.inflight.delete(m.seq);
      if (slot.inflight.size === 0) worker.unref();
      r?.(m.ids);
    });
    const fail = () => {
      // a worker that fails verifies nothing: every transaction it held is checked on the main thread
      for (const [, r] of slot.inflight) r([]);
      slot.inflight.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    worker.unref();
    slots.push(slot);
  }
  let next = 0;
  return {
    threads,
    async verify(txs) {
      if (txs.length === 0) return [];
      const per = Math.ceil(txs.length / slots.length);
      const parts: Promise<(string | null)[]>[] = [];
      for (let i = 0; i < txs.length; i += per) {
        const slot = slots[next++ % slots.length]!;
        const chunk = txs.slice(i, i + per);
        parts.push(
          new Promise((resolve) => {
            const s = ++seq;
            if (slot.inflight.size === 0) slot.worker.ref();
            slot.inflight.set(s, (ids) => resolve(ids.length === chunk.length ? ids : chunk.map(() => null)));
            slot.worker.postMessage({ seq: s, txs: chunk });
          }),
        );
      }
      return (await Promise.all(parts)).flat();
    },
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

/**
 * Verifies a block's transactions on the pool and the main thread together (the main
 * thread takes 1/(threads + 1) of them), and remembers the valid ones in `codec`. Returns
 * how many were verified off the main thread.
 */
export async function preverifyTxs(pool: TxVerifyPool, codec: VerifiedCodec, txs: readonly unknown[]): Promise<number> {
  const own = Math.floor(txs.length / (pool.threads + 1));
  const off = txs.slice(own);
  const pending = pool.verify(off);
  for (let i = 0; i < own; i++) {
    try {
      codec.decodeValue(txs[i], { replayCheck: false }); // remembered when valid
    } catch {
      // refused again, with its code, by the import
    }
  }
  return rememberValid(codec, await pending);
}

function rememberValid(codec: VerifiedCodec, ids: readonly (string | null)[]): number {
  let n = 0;
  for (const id of ids) {
    if (id !== null) {
      codec.remember(id);
      n++;
    }
  }
  return n;
}

/**
 * Verifies `txs` on the pool alone and remembers the valid ones in `codec` when the answer
 * comes: for a node that imports a run of blocks (sync), the next block's transactions are
 * verified while the main thread imports the current one.
 */
export async function verifyOffThread(pool: TxVerifyPool, codec: VerifiedCodec, txs: readonly unknown[]): Promise<number> {
  return rememberValid(codec, await pool.verify(txs));
}
