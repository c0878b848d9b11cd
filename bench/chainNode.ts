/**
 * node dist/bench/chainNode.js — the networked PoE chain node, parts (b) and (c) of the
 * chain benchmark (part (a) is bench/chain.ts). Prints one JSON object.
 *
 * (b) confirmation delay: two nodes in separate processes (bench/chainNodeWorker.ts) over
 *     a plain aedes broker on loopback (in this process). Node A holds the aggregator node
 *     key and produces; node B follows. This process offers BENCH_RATE (150) signed
 *     transfers per second for BENCH_SECONDS (20) on tmi/v1/chain/txs; the delay of a
 *     transaction = the time B applied the block holding it − the time it was published.
 *     p50/p90/p99/max over the included transactions; targets p50 ≤ 75 ms, p99 ≤ 250 ms.
 * (c) idle: a fresh pair of nodes with nothing to do for BENCH_IDLE_SECONDS (30): heartbeat
 *     blocks only (one per W slots). CPU-seconds per block (process.cpuUsage of each node
 *     process over the window ÷ blocks), and disk growth of the producer's data directory:
 *       diskBytesPerDay = (bytes at end − bytes at start) / window seconds × 86,400
 *     next to the logical figure blocksPerDay × bytes per heartbeat block, with
 *       blocksPerDay = 86,400,000 / (W × S ms).
 * Chain parameters: BENCH_SLOT_MS and BENCH_PATIENCE, by default the genesis defaults S and W
 * (GENESIS_DEFAULTS: 250 ms, 8), so the figures are those of a default chain.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { signEnvelope } from '../wire/codec.js';
import { generateKeyPair, type KeyPair } from '../wire/keys.js';
import { txId } from '../poe-chain/core/txId.js';
import { GENESIS_DEFAULTS, parseGenesis } from '../poe-chain/core/genesis.js';
import { machine } from './machine.js';

const RATE = Number(process.env.BENCH_RATE ?? 150);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
const SLOT_MS = Number(process.env.BENCH_SLOT_MS ?? GENESIS_DEFAULTS.slotMs);
const PATIENCE = Number(process.env.BENCH_PATIENCE ?? GENESIS_DEFAULTS.patience);
const INTERVAL_MS = 900_000;
const WORKER = fileURLToPath(new URL('./chainNodeWorker.js', import.meta.url));

const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface BlockMsg {
  type: 'block';
  t: number;
  height: number;
  slot: number;
  /** [SUB] the block's place in its slot's run (0: the first) */
  sub: number;
  producer: string;
  txIds: string[];
  bytes: number;
}
interface CpuMsg {
  type: 'cpu';
  user: number;
  system: number;
  blocks: number;
  height: number;
}

class Worker {
  readonly child: ChildProcess;
  readonly blocks: BlockMsg[] = [];
  private waiting = new Map<string, (m: unknown) => void>();
  onBlock?: (m: BlockMsg) => void;
  onPending?: (m: { t: number; txId: string }) => void;

  constructor(readonly name: string) {
    this.child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { type: string }) => {
      if (m.type === 'block') {
        this.blocks.push(m as BlockMsg);
        this.onBlock?.(m as BlockMsg);
        return;
      }
      if (m.type === 'pending') {
        this.onPending?.(m as unknown as { t: number; txId: string });
        return;
      }
      if (m.type === 'error') throw new Error(`${name}: ${(m as unknown as { message: string }).message}`);
      const w = this.waiting.get(m.type);
      if (w) {
        this.waiting.delete(m.type);
        w(m);
      }
    });
  }

  request<T>(msg: object, reply: string): Promise<T> {
    return new Promise<T>((resolve) => {
      this.waiting.set(reply, resolve as (m: unknown) => void);
      this.child.send(msg);
    });
  }

  cpu(): Promise<CpuMsg> {
    return this.request<CpuMsg>({ type: 'cpu' }, 'cpu');
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'stop' });
    await exited;
  }
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await dirBytes(p) : (await stat(p)).size;
  }
  return total;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** how many slots apart consecutive blocks are: {"0": n (the same slot [SUB]), "1": n, …} */
function gapCounts(slots: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 1; i < slots.length; i++) {
    const k = String(Math.min(slots[i]! - slots[i - 1]!, 5)).replace(/^5$/, '5+');
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

async function startPair(url: string, dir: string, tag: string, config: object, producerKey: KeyPair) {
  const a = new Worker(`producer-${tag}`);
  const b = new Worker(`follower-${tag}`);
  const base = { type: 'start', url, config };
  await a.request({ ...base, dataDir: join(dir, `a-${tag}`), seedHex: Buffer.from(producerKey.seed).toString('hex'), nodeId: `a-${tag}`, produce: true, serveSync: true, pending: true }, 'ready');
  await b.request({ ...base, dataDir: join(dir, `b-${tag}`), seedHex: Buffer.from(generateKeyPair().seed).toString('hex'), nodeId: `b-${tag}`, produce: false, serveSync: true }, 'ready');
  // the producer waits for its initial sync (no other chain) before its first heartbeat
  const until = Date.now() + 30_000;
  while (b.blocks.length < 2 && Date.now() < until) await sleep(20);
  if (b.blocks.length < 2) throw new Error('the follower saw no blocks');
  return { a, b };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-bench-chain-node-'));
  const aedes = await Aedes.createBroker();
  // Nagle off on every broker socket: small MQTT packets are not held back for delayed ACKs
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    aedes.handle(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
  const producerKey = generateKeyPair();
  const funded = generateKeyPair();
  const loadgen = generateKeyPair();
  const payees = Array.from({ length: 64 }, () => generateKeyPair().address);
  const now = Date.now();
  const config = {
    chainId: 'tmi-bench',
    genesisTime: new Date(Math.floor(now / INTERVAL_MS) * INTERVAL_MS).toISOString(),
    registryKey: generateKeyPair().address,
    aggregatorKey: generateKeyPair().address,
    aggregatorNodeKey: producerKey.address,
    slotMs: SLOT_MS,
    patience: PATIENCE,
    intervalMs: INTERVAL_MS,
    balances: [{ address: funded.address, millicents: 1_000_000_000_000 }],
  };
  const chain = parseGenesis(config).hash; // [DOMAIN-TX] every transfer names it
  const out: Record<string, unknown> = {
    bench: 'chain-node',
    machine: machine(),
    chain: { slotMs: SLOT_MS, patience: PATIENCE, intervalMs: INTERVAL_MS },
  };
  try {
    // ── (b) confirmation delay ────────────────────────────────────────────────
    {
      const { a, b } = await startPair(url, dir, 'load', config, producerKey);
      const client = await mqtt.connectAsync(url, { clientId: 'loadgen', reconnectPeriod: 0 });
      (client.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
      const sentAt = new Map<string, number>();
      const delays: number[] = [];
      const admitted: number[] = [];
      const admittedAt = new Map<string, number>();
      const admittedToProduced: number[] = [];
      const producedToApplied: number[] = [];
      /** when the producer had made and stored each block, by height */
      const producedAt = new Map<number, number>();
      a.onPending = (m) => {
        const t0 = sentAt.get(m.txId);
        if (t0 === undefined) return;
        admitted.push(m.t - t0);
        admittedAt.set(m.txId, m.t);
      };
      a.onBlock = (m) => {
        if (m.txIds.length > 0) producedAt.set(m.height, m.t);
      };
      b.onBlock = (m) => {
        const tp = producedAt.get(m.height);
        if (tp !== undefined) producedToApplied.push(m.t - tp);
        for (const id of m.txIds) {
          const t0 = sentAt.get(id);
          if (t0 !== undefined) {
            delays.push(m.t - t0);
            const ta = admittedAt.get(id);
            if (ta !== undefined && tp !== undefined) admittedToProduced.push(tp - ta);
          }
        }
      };
      const firstHeight = b.blocks.at(-1)!.height;
      const total = Math.round(RATE * SECONDS);
      const start = wall();
      let sent = 0;
      let k = 0;
      await new Promise<void>((resolve) => {
        const tick = setInterval(() => {
          const due = Math.min(total, Math.floor(((wall() - start) / 1000) * RATE));
          while (sent < due) {
            const tx = signEnvelope(funded, 'transfer', { to: payees[k++ % payees.length]!, amountMillicents: 1 }, { chain });
            const wrapped = signEnvelope(loadgen, 'tx', { tx });
            sentAt.set(txId(tx), wall());
            client.publish('tmi/v1/chain/txs', JSON.stringify(wrapped), { qos: 0 });
            sent++;
          }
          if (sent >= total) {
            clearInterval(tick);
            resolve();
          }
        }, 5);
      });
      const offeredSeconds = (wall() - start) / 1000;
      await sleep(Math.max(2000, 4 * SLOT_MS * PATIENCE));
      const loadBlocks = b.blocks.filter((m) => m.height > firstHeight);
      const withTxs = loadBlocks.filter((m) => m.txIds.length > 0);
      delays.sort((x, y) => x - y);
      const p50 = percentile(delays, 50);
      const p99 = percentile(delays, 99);
      out.confirmation = {
        what: 'publish on tmi/v1/chain/txs → applied by the follower in another process (ms)',
        offeredTxPerSecond: RATE,
        seconds: round(offeredSeconds, 2),
        submitted: sent,
        included: delays.length,
        missing: sent - delays.length,
        p50Ms: round(p50),
        p90Ms: round(percentile(delays, 90)),
        p99Ms: round(p99),
        maxMs: round(delays.at(-1) ?? NaN),
        meanMs: round(delays.reduce((s, x) => s + x, 0) / Math.max(1, delays.length)),
        blocks: loadBlocks.length,
        txsPerBlock: round(withTxs.reduce((s, m) => s + m.txIds.length, 0) / Math.max(1, withTxs.length)),
        // the delay in three parts: published → in the producer's mempool; → the producer made and
        // stored the block holding it (the wait for the next tick of the slot timer, S / 5 apart
        // while the producer's run of blocks at a slot goes on [SUB], + building); → the follower applied it
        publishedToProducerMempoolMs: { p50: round(percentile(admitted.sort((x, y) => x - y), 50)), p99: round(percentile(admitted, 99)) },
        producerMempoolToBlockMadeMs: { p50: round(percentile(admittedToProduced.sort((x, y) => x - y), 50)), p99: round(percentile(admittedToProduced, 99)) },
        blockMadeToFollowerAppliedMs: { p50: round(percentile(producedToApplied.sort((x, y) => x - y), 50)), p99: round(percentile(producedToApplied, 99)) },
        // [SUB] blocks at a place > 0 of their slot, and how many slots apart the loaded blocks are (0: the same slot)
        subBlocks: withTxs.filter((m) => m.sub > 0).length,
        slotsBetweenLoadedBlocks: gapCounts(withTxs.map((m) => m.slot)),
        meanBlockBytes: Math.round(withTxs.reduce((s, m) => s + m.bytes, 0) / Math.max(1, withTxs.length)),
        target: { p50Ms: 75, p99Ms: 250 },
        meetsTarget: p50 <= 75 && p99 <= 250,
        loadAverage: loadavg().map((x) => round(x, 2)),
      };
      await client.endAsync();
      await a.stop();
      await b.stop();
    }

    // ── (c) idle: heartbeats only ─────────────────────────────────────────────
    {
      const idleKey = generateKeyPair();
      const idleConfig = { ...config, chainId: 'tmi-bench-idle', aggregatorNodeKey: idleKey.address, balances: [] };
      const { a, b } = await startPair(url, dir, 'idle', idleConfig, idleKey);
      await sleep(2 * SLOT_MS * PATIENCE);
      const aDir = join(dir, 'a-idle');
      const [ca0, cb0, bytes0] = [await a.cpu(), await b.cpu(), await dirBytes(aDir)];
      const t0 = wall();
      await sleep(IDLE_SECONDS * 1000);
      const [ca1, cb1, bytes1] = [await a.cpu(), await b.cpu(), await dirBytes(aDir)];
      const secs = (wall() - t0) / 1000;
      const blocks = ca1.blocks - ca0.blocks;
      const cpuPerBlock = (c0: CpuMsg, c1: CpuMsg) => round((c1.user + c1.system - c0.user - c0.system) / 1e6 / Math.max(1, blocks), 5);
      const heartbeat = a.blocks.filter((m) => m.txIds.length === 0);
      const blockBytes = Math.round(heartbeat.reduce((s, m) => s + m.bytes, 0) / Math.max(1, heartbeat.length));
      const blocksPerDay = 86_400_000 / (PATIENCE * SLOT_MS);
      out.idle = {
        seconds: round(secs, 1),
        blocks,
        expectedBlocks: round((secs * 1000) / (PATIENCE * SLOT_MS), 1),
        cpuSecondsPerBlock: { producer: cpuPerBlock(ca0, ca1), follower: cpuPerBlock(cb0, cb1) },
        cpuShareOfOneCore: { producer: round((ca1.user + ca1.system - ca0.user - ca0.system) / 1e6 / secs, 4), follower: round((cb1.user + cb1.system - cb0.user - cb0.system) / 1e6 / secs, 4) },
        disk: {
          bytesAtStart: bytes0,
          bytesAtEnd: bytes1,
          measuredBytesPerDay: Math.round(((bytes1 - bytes0) / secs) * 86_400),
          formula: 'measuredBytesPerDay = (bytesAtEnd − bytesAtStart) / seconds × 86400',
          heartbeatBlockBytes: blockBytes,
          blocksPerDay,
          logicalBlockBytesPerDay: Math.round(blocksPerDay * blockBytes),
          logicalFormula: 'blocksPerDay × heartbeatBlockBytes, blocksPerDay = 86400000 / (W × S ms); snapshots are bounded (2 kept)',
        },
      };
      await a.stop();
      await b.stop();
    }
  } finally {
    await new Promise<void>((r) => aedes.close(() => server.close(() => r())));
    await rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

await main();
