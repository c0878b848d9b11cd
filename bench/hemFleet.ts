/**
 * The lightweight HEM clients of the platform benchmarks (bench/postToClear.ts,
 * bench/marketLatency.ts), and the figures and CPU probes they share.
 *
 * A client = a meter key enrolled by the operator (POST /v1/meters), a pseudonym key with
 * a registry certificate (POST /v1/certificates, signed by the meter key) put on chain as
 * a `tx`-wrapped `certificate` envelope (as hem/ems.ts certificateTxEntry does), and one
 * MQTT connection logged in with a signed token. Meter keys come from a per-run seed: the
 * orchestrator enrols them, the worker processes log in with them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { RegistryClient } from '../csm-registry/client.js';
import { signEnvelope, encode } from '../wire/codec.js';
import { generateKeyPair, keyPairFromSeed, type KeyPair } from '../wire/keys.js';
import { makeLoginToken } from '../wire/loginToken.js';
import { txId } from '../poe-chain/core/txId.js';
import type { Certificate, Envelope } from '../schemas/types.js';

export const FLEET_FEEDERS = 10;

export const wallNow = () => performance.timeOrigin + performance.now();
export const meterId = (i: number) => `pc-${String(i).padStart(5, '0')}`;
export const feederOf = (i: number) => `F${(i % FLEET_FEEDERS) + 1}`;
export const meterKey = (runSeed: string, i: number): KeyPair => keyPairFromSeed(new Uint8Array(createHash('sha256').update(`${runSeed}:meter:${i}`).digest()));

export async function pool<T>(items: T[], concurrency: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
const r1 = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
export function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, min: r1(quantile(s, 0)), p50: r1(quantile(s, 0.5)), p90: r1(quantile(s, 0.9)), p99: r1(quantile(s, 0.99)), max: r1(s[s.length - 1] ?? null) };
}

export async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined> | T | undefined, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`TIMEOUT ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ── the orchestrator's side ─────────────────────────────────────────────────────

/** The operator enrols meters 0…n−1 (TE homes, feeders F1…F10). */
export async function enrolFleet(o: { registryUrl: string; adminToken: string; runSeed: string; hems: number }): Promise<void> {
  const reg = new RegistryClient({ url: o.registryUrl, adminToken: o.adminToken, operator: 'bench' });
  await pool(Array.from({ length: o.hems }, (_, i) => i), 16, async (i) => {
    await reg.enroll({ meterId: meterId(i), serial: `PC-${i}`, meterType: 'bench', publicKey: meterKey(o.runSeed, i).address, feeder: feederOf(i), programme: 'TE', role: 'hem' });
  });
}

/** Forks `n` worker processes of `script` (run with `--worker`), each ready for rpc. */
export async function forkWorkers(script: string, n: number, children: ChildProcess[]): Promise<void> {
  for (let w = 0; w < n; w++) {
    const c = fork(script, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(c);
    await new Promise<void>((r) => c.once('message', () => r()));
  }
}

// ── the worker's side ───────────────────────────────────────────────────────────

/** What a worker needs to bring up clients from…to−1. */
export interface FleetInit {
  runSeed: string;
  from: number;
  to: number;
  mqttUrl: string;
  registryUrl: string;
  registryKey: string;
  aggregatorKey: string;
}

export interface FleetClient {
  i: number;
  client: MqttClient;
  pseudonym: KeyPair;
  feeder: string;
  /** [DOMAIN-TX] the genesis hash its transactions name (learnt from the registry, as a HEM does) */
  chain: string;
  /** id of the certificate transaction on chain (the node unwraps the `tx`: the id of the inner envelope) */
  certTxId: string;
}

/**
 * Certifies a pseudonym for each client (16 registry requests in flight), connects it (25
 * at a time), subscribes it to `topics(i)` and publishes its certificate on chain (QoS 1).
 * `onMessage` is attached before the subscription.
 */
export async function connectFleet(init: FleetInit, o: {
  topics: (i: number, meterId: string) => string[];
  onMessage: (h: FleetClient, topic: string, payload: Buffer) => void;
  errors: Record<string, number>;
  qos?: 0 | 1;
}): Promise<{ clients: FleetClient[]; certMs: number; connectMs: number }> {
  const reg = new RegistryClient({ url: init.registryUrl, registryPublicKey: init.registryKey });
  const { genesisHash: chain } = await reg.chain(); // [DOMAIN-TX]
  const ids = Array.from({ length: init.to - init.from }, (_, k) => init.from + k);
  const t0 = wallNow();
  const certs = new Map<number, { pseudonym: KeyPair; cert: Certificate }>();
  await pool(ids, 16, async (i) => {
    const pseudonym = generateKeyPair();
    const cert = await reg.requestCertificate(meterKey(init.runSeed, i), meterId(i), pseudonym.address);
    certs.set(i, { pseudonym, cert });
  });
  const certMs = wallNow() - t0;
  const t1 = wallNow();
  const clients: FleetClient[] = [];
  const count = (k: string) => (o.errors[k] = (o.errors[k] ?? 0) + 1);
  await pool(ids, 25, async (i) => {
    const key = meterKey(init.runSeed, i);
    const id = meterId(i);
    const client = await mqtt.connectAsync(init.mqttUrl, {
      clientId: id, username: id, password: makeLoginToken(key, id), clean: true, reconnectPeriod: 0,
      connectTimeout: 30_000, protocolVersion: 4, keepalive: 60,
    });
    const { pseudonym, cert } = certs.get(i)!;
    // [HEM-CERT] the certificate on chain: a `tx` wrapping a `certificate` envelope, both signed by the pseudonym
    const inner = signEnvelope(pseudonym, 'certificate', cert, { chain });
    const tx = signEnvelope(pseudonym, 'tx', { tx: inner as unknown as Envelope<'tx'>['parameters']['tx'] });
    const h: FleetClient = { i, client, pseudonym, feeder: cert.feeder, chain, certTxId: txId(inner) };
    clients.push(h);
    client.on('message', (topic, payload) => o.onMessage(h, topic, payload));
    client.on('error', (err) => count(err.message.slice(0, 60)));
    client.on('close', () => count('closed'));
    await client.subscribeAsync(o.topics(i, id), { qos: o.qos ?? 0 });
    await client.publishAsync('tmi/v1/chain/txs', encode(tx), { qos: 1 });
  });
  return { clients, certMs, connectMs: wallNow() - t1 };
}

// ── CPU probes (Linux /proc; null elsewhere) ────────────────────────────────────

/** CPU seconds (user + system) of a process so far */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks of 10 ms
  } catch {
    return null;
  }
}

/** machine-wide CPU ticks (busy, total) from /proc/stat */
function machineTicks(): { busy: number; total: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** ms the main thread of a process has spent runnable but waiting for a CPU, from /proc/<pid>/schedstat */
function runQueueWaitMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return null;
  }
}

/** CPU use sampled every 100 ms: the machine, each process (the first is the platform); the platform's main-thread run-queue wait */
export function cpuSampler(pids: () => (number | undefined)[]) {
  const samples: { t: number; m: { busy: number; total: number } | null; p: (number | null)[]; wait: number | null }[] = [];
  const timer = setInterval(() => {
    const ps = pids();
    samples.push({ t: Date.now(), m: machineTicks(), p: ps.map(cpuSeconds), wait: runQueueWaitMs(ps[0]) });
  }, 100);
  return {
    stop: () => clearInterval(timer),
    /** over [from, to]: machine busy fraction (all cores = 1) and each process's CPU in cores */
    window(from: number, to: number) {
      const a = samples.filter((x) => x.t <= from).pop() ?? samples[0];
      const b = samples.find((x) => x.t >= to) ?? samples[samples.length - 1];
      if (!a || !b || b.t <= a.t) return null;
      const dt = (b.t - a.t) / 1000;
      const m = a.m && b.m ? Math.round(((b.m.busy - a.m.busy) / (b.m.total - a.m.total)) * 100) / 100 : null;
      return {
        windowMs: b.t - a.t,
        machineBusy: m,
        processCores: a.p.map((x, i) => (x === null || b.p[i] === null ? null : Math.round(((b.p[i]! - x) / dt) * 100) / 100)),
        // time the platform's main thread (event loop: broker, chain node, aggregator) was ready to run but had no CPU
        upMainThreadRunQueueWaitMs: a.wait === null || b.wait === null ? null : Math.round(b.wait - a.wait),
      };
    },
  };
}
