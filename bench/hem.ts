/**
 * npm run bench:hem — one HEM process (`tmi hem`, sim adapter) against an in-process
 * plain aedes broker and the real registry (memory-level), both in this process. Prints JSON:
 *
 *   compressed: a simulated day (96 intervals of 15 min home time, BENCH_HEM_DAY_S wall
 *               seconds, default 60), an auction every 8 intervals; RSS (from
 *               /proc/<pid>/status) sampled every second and the process's CPU (from
 *               /proc/<pid>/stat) over the run;
 *   idle:       the same HEM at real-time pace (15-min intervals) measured over
 *               BENCH_HEM_IDLE_S seconds (default 30) after a 5 s warm-up.
 *
 * The HEM runs as deployed (deploy/tmi-hem.service): `node --lite-mode --no-expose-wasm
 * --max-semi-space-size=1 dist/hem/main.js` (hem/nodeFlags.ts); BENCH_HEM_ENTRY=tmi and BENCH_HEM_NODE_FLAGS='' measure `tmi hem` with
 * default V8 settings instead.
 *
 * Targets (Raspberry Pi budget): RSS ≤ 64 MB, idle CPU < 1 % of a core.
 */
import { spawn, execSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { MemoryLevel } from 'memory-level';
import { createRegistry } from '../csm-registry/createRegistry.js';
import { createRegistryClient } from '../csm-registry/client.js';
import type { RegistryDb } from '../csm-registry/registryStore.js';
import { generateKeyPair } from '../wire/keys.js';
import { writeKeyFile } from '../wire/keyFile.js';
import { signAndEncode } from '../wire/codec.js';
import { machine } from './machine.js';
import { HEM_NODE_FLAGS } from '../hem/nodeFlags.js';

const HEM_MAIN = fileURLToPath(new URL('../hem/main.js', import.meta.url));
const TMI = fileURLToPath(new URL('../cli/tmi.js', import.meta.url));
/** how the HEM is started: the Pi form (deploy/tmi-hem.service) unless BENCH_HEM_ENTRY=tmi */
const ENTRY = process.env.BENCH_HEM_ENTRY === 'tmi' ? [TMI, 'hem'] : [HEM_MAIN];
const NODE_FLAGS = process.env.BENCH_HEM_NODE_FLAGS !== undefined ? process.env.BENCH_HEM_NODE_FLAGS.split(' ').filter(Boolean) : [...HEM_NODE_FLAGS];
const ADMIN = 'bench-admin-token-0123456789abcdef';
const DAY_S = Number(process.env.BENCH_HEM_DAY_S ?? 60);
const IDLE_S = Number(process.env.BENCH_HEM_IDLE_S ?? 30);
const CLK_TCK = (() => {
  try {
    return Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** user + system CPU seconds of a process */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sampled {
  rssMaxMB: number;
  rssMeanMB: number;
  rssEndMB: number;
  cpuPercentOfCore: number;
  seconds: number;
}

async function sample(pid: number, seconds: number, during?: (s: number) => void): Promise<Sampled> {
  const rss: number[] = [];
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  for (let s = 0; s < seconds; s++) {
    during?.(s);
    await sleep(1000);
    rss.push(rssBytes(pid));
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - c0;
  const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;
  return {
    rssMaxMB: mb(Math.max(...rss)),
    rssMeanMB: mb(rss.reduce((a, b) => a + b, 0) / rss.length),
    rssEndMB: mb(rss[rss.length - 1] ?? 0),
    cpuPercentOfCore: Math.round((cpu / wall) * 10000) / 100,
    seconds: Math.round(wall),
  };
}

async function main(): Promise<void> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const brokerUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const regDb = new MemoryLevel<string, string>() as unknown as RegistryDb;
  const registryKey = generateKeyPair();
  // [DOMAIN-TX] no chain runs here, but the HEM signs its transactions for one: the registry names it
  const chain = 'be'.repeat(32);
  const registry = await createRegistry({ db: regDb, registryKey, adminToken: ADMIN, chain: { genesisHash: chain, chainId: 'tmi-bench' } });
  const { url: registryUrl } = await registry.listen(0, '127.0.0.1');
  const admin = createRegistryClient({ url: registryUrl, adminToken: ADMIN });
  const agg = generateKeyPair();
  const dir = await mkdtemp(join(tmpdir(), 'tmi-bench-hem-'));
  const obs = mqtt.connect(brokerUrl, { clientId: 'bench-observer' });
  await new Promise<void>((r) => obs.once('connect', () => r()));
  let readings = 0;
  let bids = 0;
  obs.on('message', (topic) => {
    if (topic === 'tmi/v1/readings') readings++;
    else if (topic.endsWith('/bids')) bids++;
  });
  obs.subscribe(['tmi/v1/readings', 'tmi/v1/auctions/+/bids'], { qos: 1 });

  async function startHem(name: string, intervalMs: number, speed: number): Promise<ChildProcess> {
    const key = generateKeyPair();
    const dataDir = join(dir, name);
    await writeKeyFile(join(dataDir, 'meter-key.json'), key, name);
    await admin.enroll({ meterId: name, serial: name, meterType: 'sim', publicKey: key.address, feeder: 'F1', programme: 'RE+TE' });
    const config = join(dir, `${name}.json`);
    await writeFile(config, JSON.stringify({
      meterId: name, dataDir, broker: { url: brokerUrl }, registry: { url: registryUrl, publicKey: registryKey.address },
      aggregatorAddress: agg.address, intervalMs, speed, adapter: { type: 'sim', seed: 7, initialSoc: 0.6 }, log: { level: 'warn' },
    }));
    const child = spawn(process.execPath, [...NODE_FLAGS, ...ENTRY, '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
    await sleep(3000); // start-up: key, registry, first connection
    return child;
  }

  const stop = async (c: ChildProcess) => {
    const done = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await done;
  };

  // ── compressed day ──
  const intervalMs = Math.round((DAY_S * 1000) / 96);
  const day = await startHem('bench-day', intervalMs, (900_000 / intervalMs));
  const r0 = readings;
  let auctions = 0;
  const compressed = await sample(day.pid!, DAY_S, (s) => {
    if (s % Math.max(1, Math.round((8 * intervalMs) / 1000)) !== 0) return;
    const start = (Math.floor(Date.now() / intervalMs) + 2) * intervalMs;
    const id = `bench-${auctions++}`;
    obs.publish(`tmi/v1/auctions/${id}`, signAndEncode(agg, 'auction-open', {
      auctionId: id, side: auctions % 2 ? 'buy' : 'sell', energy: { unit: 'kWh', value: 1 },
      limitPrice: { unit: 'cents/kWh', value: auctions % 2 ? 200 : 1 },
      delivery: { start: new Date(start).toISOString(), end: new Date(start + intervalMs).toISOString() },
      closesAt: new Date(Date.now() + 2000).toISOString(), pricing: 'pay-as-bid', sealed: false,
    }, { chain }), { qos: 1 });
  });
  const dayReadings = readings - r0;
  await stop(day);

  // ── idle at real-time pace ──
  const idle = await startHem('bench-idle', 900_000, 1);
  await sleep(5000);
  const idleSample = await sample(idle.pid!, IDLE_S);
  await stop(idle);

  obs.end(true);
  await registry.close();
  await regDb.close();
  await new Promise<void>((r) => aedes.close(() => r()));
  await new Promise<void>((r) => server.close(() => r()));
  await rm(dir, { recursive: true, force: true });

  process.stdout.write(JSON.stringify({
    bench: 'hem',
    machine: machine(),
    command: ['node', ...NODE_FLAGS, ENTRY[0] === TMI ? 'dist/cli/tmi.js hem' : 'dist/hem/main.js', '--config …'].join(' '),
    compressedDay: { ...compressed, intervalMs, intervals: 96, readingsReceived: dayReadings, auctions, bidsReceived: bids },
    idleRealTime: idleSample,
    targets: { rssMB: 64, idleCpuPercentOfCore: 1 },
    meets: {
      rss: Math.max(compressed.rssMaxMB, idleSample.rssMaxMB) <= 64,
      idleCpu: idleSample.cpuPercentOfCore < 1,
    },
  }, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:hem failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
