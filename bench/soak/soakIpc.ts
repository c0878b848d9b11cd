/**
 * Request/response over the IPC channel of a child process (bench/soak.ts and its
 * children). A child calls `serve(handlers)`; the parent calls `rpc(child, {cmd, …})`.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';

export type Msg = { id?: number; cmd: string; [k: string]: unknown };
export type Handlers = Record<string, (m: Msg) => Promise<Record<string, unknown>>>;

let nextId = 1;

export function rpc<T>(child: ChildProcess, msg: Msg, timeoutMs = 120_000): Promise<T> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.off('message', on);
      reject(new Error(`RPC_TIMEOUT cmd=${msg.cmd} ms=${timeoutMs}`));
    }, timeoutMs);
    const on = (m: Msg) => {
      if (m.id !== id) return;
      clearTimeout(t);
      child.off('message', on);
      if (typeof m.error === 'string') reject(new Error(m.error));
      else resolve(m as T);
    };
    child.on('message', on);
    child.send({ ...msg, id });
  });
}

export function serve(handlers: Handlers): void {
  process.on('message', (m: Msg) => {
    const h = handlers[m.cmd];
    if (!h) return void process.send?.({ id: m.id, error: `UNKNOWN_CMD cmd=${m.cmd}` });
    h(m).then(
      (r) => process.send?.({ ...r, id: m.id }),
      (err: unknown) => process.send?.({ id: m.id, error: (err as Error).stack ?? String(err) }),
    );
  });
  // the parent went away (killed or done): do not linger
  process.on('disconnect', () => process.exit(0));
  process.send?.({ cmd: 'ready' });
}

/** A process resource sample. */
export interface ProcSample {
  /** ms since the epoch */
  t: number;
  rssMB: number;
  heapUsedMB: number;
  /** CPU seconds used so far by the process (all threads) */
  cpuS: number;
  [k: string]: number;
}

/** Open file descriptors of this process (-1 when they cannot be counted, e.g. none left). */
export function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

/** event-loop delay of this process since the previous sample (started by the first sample) */
let loopDelay: IntervalHistogram | undefined;

/** A sample of this process; never throws (memoryUsage itself needs a descriptor). */
export function procSample(extra: Record<string, number> = {}): ProcSample {
  let rss = Number.NaN;
  let heap = Number.NaN;
  let heapTotal = Number.NaN;
  let external = Number.NaN;
  let arrayBuffers = Number.NaN;
  try {
    const m = process.memoryUsage();
    rss = m.rss;
    heap = m.heapUsed;
    heapTotal = m.heapTotal;
    external = m.external;
    arrayBuffers = m.arrayBuffers;
  } catch {
    /* EMFILE: reported as NaN */
  }
  const c = process.cpuUsage();
  if (!loopDelay) {
    loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
  }
  // how long work waited for this process's main thread (ms): p99 and max since the last sample
  const loop = { loopP99Ms: Math.round(loopDelay.percentile(99) / 1e5) / 10, loopMaxMs: Math.round(loopDelay.max / 1e5) / 10 };
  loopDelay.reset();
  return {
    t: Date.now(),
    rssMB: Math.round((rss / 2 ** 20) * 10) / 10,
    heapUsedMB: Math.round((heap / 2 ** 20) * 10) / 10,
    // V8's heap as committed (in use, garbage not yet collected, and pages kept)
    heapTotalMB: Math.round((heapTotal / 2 ** 20) * 10) / 10,
    // memory V8 knows of outside its heap; of it, Buffers and ArrayBuffers
    externalMB: Math.round((external / 2 ** 20) * 10) / 10,
    arrayBuffersMB: Math.round((arrayBuffers / 2 ** 20) * 10) / 10,
    cpuS: Math.round((c.user + c.system) / 1e4) / 100,
    fds: openFds(),
    ...loop,
    ...extra,
  };
}
