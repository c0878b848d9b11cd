/**
 * One part of `tmi up` in a worker thread (platformParts.ts starts it): the edge or the
 * core of startPlatform.ts. Posts `ready` with the part's plain facts, or `failed` with
 * the error; on `stop` stops the part and posts `stopped`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { pino } from 'pino';
import { startCore, startEdge, type Core, type Edge } from './startPlatform.js';
import type { PartStart, PartToMain, MainToPart } from './platformParts.js';

const port = parentPort;
if (!port) throw new Error('partWorker runs only as a worker thread');
const start = workerData as PartStart;
const log = pino({ level: start.logLevel }, pino.destination(2));
const post = (m: PartToMain) => port.postMessage(m);
/** the heap this thread may use, as V8 reports it: the cap plus the young generation */
const heapLimitMB = () => Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);

function edgeFacts(e: Edge) {
  return {
    urls: e.urls,
    link: e.link,
    adminTokenFile: e.adminTokenFile,
    directoryTokenFile: e.directoryTokenFile,
    brokerKeyFile: e.brokerKeyFile,
    brokerKey: e.broker.address,
    genesisFile: e.paths.genesis,
    chainId: e.genesis.chainId,
    registryKey: e.registry.address,
    aggregatorKey: e.keys.aggregator.address,
  };
}

const coreFacts = (c: Core) => ({ urls: c.urls, operatorTokenFile: c.operatorTokenFile });

async function main(): Promise<void> {
  let running: Edge | Core;
  try {
    if (start.part === 'edge') {
      const e = await startEdge({ ...start.edge!, log });
      running = e;
      post({ type: 'ready', edge: edgeFacts(e), heapLimitMB: heapLimitMB() });
    } else {
      const c = await startCore({ ...start.core!, log });
      running = c;
      post({ type: 'ready', core: coreFacts(c), heapLimitMB: heapLimitMB() });
    }
  } catch (err) {
    post({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
    return;
  }
  port!.on('message', (m: MainToPart) => {
    if (m.type !== 'stop') return;
    void running.stop().then(() => post({ type: 'stopped' }));
  });
}

void main();
