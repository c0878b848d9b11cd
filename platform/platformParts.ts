/**
 * `tmi up`'s two parts, each in its own worker thread with its own V8 heap cap
 * (partHeapCaps.ts): the edge (registry, broker, genesis file), then the core (the
 * aggregator's chain node, analytics, the aggregator), which reaches the edge only through
 * its URLs and tokens. One process: a kill ends both parts at once, as it did when they
 * shared a thread. A part that fails to start, throws or runs out of heap ends `tmi up`:
 * the other part is stopped cleanly and the error names the part.
 */
import { Worker } from 'node:worker_threads';
import type { CoreOptions, EdgeLink, EdgeOptions } from './startPlatform.js';
import type { Part } from './partHeapCaps.js';

/** what a part's worker is started with (structured-cloned: no functions, no logger) */
export interface PartStart {
  part: Part;
  logLevel: string;
  edge?: Omit<EdgeOptions, 'log' | 'now'>;
  core?: Omit<CoreOptions, 'log' | 'now'>;
}

export interface EdgeFacts {
  urls: { registry: string; mqtt: string; ws?: string; metrics?: string };
  link: EdgeLink;
  adminTokenFile: string | undefined;
  directoryTokenFile: string | undefined;
  brokerKeyFile: string;
  brokerKey: string;
  genesisFile: string;
  chainId: string;
  registryKey: string;
  aggregatorKey: string;
}

export interface CoreFacts {
  urls: { aggregator?: string; analytics?: string };
  operatorTokenFile: string | undefined;
}

export type PartToMain =
  | { type: 'ready'; edge?: EdgeFacts; core?: CoreFacts; heapLimitMB: number }
  | { type: 'failed'; error: string }
  | { type: 'stopped' };
export type MainToPart = { type: 'stop' };

/** a part stops within this, or its thread is ended */
const PART_STOP_MS = 30_000;

interface RunningPart {
  ready: PartToMain & { type: 'ready' };
  /** stops the part cleanly, then ends its thread */
  stop(): Promise<void>;
  /** resolves with the reason if the part ends by itself (an error, out of heap) */
  died: Promise<string>;
}

function startPart(start: PartStart, heapCapMB: number): Promise<RunningPart> {
  const worker = new Worker(new URL('./partWorker.js', import.meta.url), {
    workerData: start,
    resourceLimits: { maxOldGenerationSizeMb: heapCapMB },
    stdout: false,
    stderr: false,
  });
  let stopping = false;
  let lastError: string | undefined;
  worker.on('error', (err) => void (lastError = (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' ? `PART_OUT_OF_HEAP cap=${heapCapMB}MiB` : err.message));
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const died = exited.then((code) => (stopping ? new Promise<string>(() => undefined) : `PART_EXITED part=${start.part} code=${code}${lastError ? ` error=${lastError}` : ''}`));
  return new Promise((resolve, reject) => {
    void exited.then((code) => reject(new Error(`PART_FAILED part=${start.part} exited while starting (code ${code})${lastError ? `: ${lastError}` : ''}`)));
    worker.once('message', (m: PartToMain) => {
      if (m.type === 'failed') {
        stopping = true;
        void worker.terminate();
        reject(new Error(`PART_FAILED part=${start.part}: ${m.error}`));
        return;
      }
      if (m.type !== 'ready') return;
      resolve({
        ready: m,
        died,
        stop: async () => {
          if (stopping) return;
          stopping = true;
          const stopped = new Promise<void>((r) => worker.on('message', (x: PartToMain) => x.type === 'stopped' && r()));
          worker.postMessage({ type: 'stop' } satisfies MainToPart);
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([stopped, exited, new Promise<void>((r) => (timer = setTimeout(r, PART_STOP_MS)))]);
          clearTimeout(timer);
          await worker.terminate();
        },
      });
    });
  });
}

export interface PlatformParts {
  edge: EdgeFacts;
  core: CoreFacts;
  /** each part's heap limit as V8 in its thread reports it (the cap plus the young generation) */
  heapLimitMB: Record<Part, number>;
  /** resolves with the reason if a part ends by itself; the other part is stopped first */
  died: Promise<string>;
  stop(): Promise<void>;
}

export async function startPlatformParts(o: {
  edge: Omit<EdgeOptions, 'log' | 'now'>;
  core: Omit<CoreOptions, 'log' | 'now' | 'edge'>;
  logLevel: string;
  heapCapMB: Record<Part, number>;
}): Promise<PlatformParts> {
  const edge = await startPart({ part: 'edge', logLevel: o.logLevel, edge: o.edge }, o.heapCapMB.edge);
  let core: RunningPart;
  try {
    core = await startPart({ part: 'core', logLevel: o.logLevel, core: { ...o.core, edge: edge.ready.edge!.link } }, o.heapCapMB.core);
  } catch (err) {
    await edge.stop();
    throw err;
  }
  const stop = async () => {
    await core.stop();
    await edge.stop();
  };
  const died = Promise.race([edge.died, core.died]).then(async (why) => {
    await stop();
    return why;
  });
  return { edge: edge.ready.edge!, core: core.ready.core!, heapLimitMB: { edge: edge.ready.heapLimitMB, core: core.ready.heapLimitMB }, died, stop };
}
