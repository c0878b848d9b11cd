/**
 * A node's disk in the simulator: one memory-level database that outlives the node's
 * incarnations. Each incarnation reaches it through its own handle; a crash fences the
 * handle, so whatever that incarnation still had in flight never completes (its promises
 * stay pending, as a killed process's would) and nothing it does later reaches the disk.
 * A write already handed to the database lands whole or not at all (level batches are
 * atomic), which is what the store relies on (store/openChainStore.ts "Crash safety").
 */
import { MemoryLevel } from 'memory-level';
import type { ChainDb, ChainDbOp } from '../store/openChainStore.js';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

export class SimDisk {
  readonly db = new MemoryLevel<string, string>();
  private current: { crashed: boolean } | undefined;

  /** a handle for a new incarnation (the previous one is fenced) */
  open(): ChainDb {
    this.crash();
    const fence = { crashed: false };
    this.current = fence;
    const db = this.db;
    return {
      get status() {
        return fence.crashed ? 'closed' : db.status;
      },
      open: () => (fence.crashed ? never() : db.open()),
      get: (key: string) => (fence.crashed ? never<string | undefined>() : db.get(key)),
      batch: (ops: ChainDbOp[]) => (fence.crashed ? never<void>() : db.batch(ops)),
      keys(opts) {
        if (fence.crashed) return { [Symbol.asyncIterator]: () => ({ next: () => never<IteratorResult<string>>() }) };
        const it = db.keys(opts);
        return {
          [Symbol.asyncIterator]: () => ({
            next: async (): Promise<IteratorResult<string>> => {
              if (fence.crashed) return never();
              const k = await it.next();
              return k === undefined ? { done: true, value: undefined } : { done: false, value: k };
            },
            return: async (): Promise<IteratorResult<string>> => {
              if (!fence.crashed) await it.close();
              return { done: true, value: undefined };
            },
          }),
        };
      },
      // the disk outlives the incarnation: closing a handle leaves the database open
      close: () => Promise.resolve(),
    };
  }

  /** fences the current incarnation's handle */
  crash(): void {
    if (this.current) this.current.crashed = true;
  }
}
