/**
 * One chain node in its own process for bench/chainNode.ts, driven over the IPC channel:
 *   {type:'start', url, config, dataDir, seedHex, nodeId, produce, serveSync} → {type:'ready'}
 *   every applied block → {type:'block', t (ms since the Unix epoch, sub-ms), source, height, slot, sub, producer, txIds, bytes}
 *   every transaction admitted to the mempool, when started with pending: true → {type:'pending', t, txId}
 *   {type:'cpu'} → {type:'cpu', user, system (µs), blocks, height}
 *   {type:'stop'} → {type:'stopped'} and exit
 */
import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { keyPairFromSeed } from '../wire/keys.js';
import { parseGenesis } from '../poe-chain/core/genesis.js';
import { openChainStoreAt } from '../poe-chain/store/chainDataDir.js';
import type { ChainStore } from '../poe-chain/store/openChainStore.js';
import { createChainNode, type ChainNode } from '../poe-chain/node/createChainNode.js';

interface Start {
  type: 'start';
  url: string;
  config: unknown;
  dataDir: string;
  seedHex: string;
  nodeId: string;
  produce: boolean;
  serveSync: boolean;
  /** report each transaction admitted to the mempool */
  pending?: boolean;
}

const send = (m: object) => process.send?.(m);
const wall = () => performance.timeOrigin + performance.now();

let node: ChainNode | undefined;
let client: MqttClient | undefined;
let store: ChainStore | undefined;
let blocks = 0;

process.on('message', (m: { type: string }) => {
  void (async () => {
    if (m.type === 'start') {
      const s = m as Start;
      store = await openChainStoreAt(s.dataDir, { genesis: s.config, createIfMissing: true });
      client = await mqtt.connectAsync(s.url, { clientId: s.nodeId, reconnectPeriod: 0 });
      (client.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
      node = await createChainNode({
        genesis: parseGenesis(s.config),
        key: keyPairFromSeed(Buffer.from(s.seedHex, 'hex')),
        store,
        mqtt: client,
        nodeId: s.nodeId,
        produce: s.produce,
        serveSync: s.serveSync,
        sync: { timeoutMs: 500, retries: 1 },
        // BENCH_VOTE=0: the finality gadget's votes off, to tell their idle cost from the rest
        vote: process.env.BENCH_VOTE !== '0',
      });
      node.on('block', (b) => {
        blocks++;
        send({ type: 'block', t: wall(), source: b.source, height: b.height, slot: b.block.parameters.header.slot, sub: b.block.parameters.header.sub ?? 0, producer: b.block.parameters.header.producer, txIds: b.txIds, bytes: Buffer.byteLength(JSON.stringify(b.block)) });
      });
      if (s.pending) node.on('pending', (e) => send({ type: 'pending', t: wall(), txId: e.txId }));
      send({ type: 'ready', head: node.head().height });
    } else if (m.type === 'cpu') {
      const u = process.cpuUsage();
      send({ type: 'cpu', user: u.user, system: u.system, blocks, height: node?.head().height ?? 0 });
    } else if (m.type === 'stop') {
      await node?.close();
      await client?.endAsync();
      await store?.close();
      send({ type: 'stopped' });
      process.exit(0);
    }
  })().catch((err: unknown) => {
    send({ type: 'error', message: (err as Error).message });
    process.exit(1);
  });
});
