/**
 * Broker benchmark (`npm run bench:broker`, prints one JSON object).
 *
 * Processes: this orchestrator; the broker in its own child (so RSS is the broker's);
 * two load children (one per core) each holding half of the 1,000 authenticated HEM
 * clients (mqtt.js, QoS 1) plus one aggregator subscriber. Every client logs in with
 * its own meter key; every bid-offer is pre-signed by the client's pseudonym.
 *
 * Phases, first with edge validation on, then off (same load, a fresh broker):
 *   latency     1,000 msgs/s offered for LATENCY_MS: p50/p99 publish → delivery
 *   throughput  closed loop (window of in-flight QoS 1 publishes, messages signed before the
 *               phase starts): accepted msgs/s at the broker, and per second of the flood
 * Then 10,000 idle authenticated connections on a fresh broker: broker RSS.
 *
 * Targets: ≥ 5,000 verified msgs/s; p99 < 50 ms at 1,000 msgs/s.
 */
import { fork, execSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { signAndEncode } from '../wire/codec.js';
import { keyPairFromSeed, type KeyPair } from '../wire/keys.js';
import { makeLoginToken } from '../wire/loginToken.js';
import type { BidOffer } from '../schemas/types.js';
import { rpc, serve, type Msg } from './soak/soakIpc.js';

const SELF = fileURLToPath(import.meta.url);
const ACTIVE = 1000;
const IDLE = 10_000;
const WORKERS = 2;
const LATENCY_RATE = 1000;
const LATENCY_MS = 10_000;
const LATENCY_WARMUP_MS = 2000; // sent at the same rate before the measured window, not measured
const FLOOD_MS = 10_000;
const FLOOD_WARMUP_MS = 1500;
const FLOOD_WINDOW = 1000; // in-flight QoS 1 publishes per load process
const FLOOD_PRESIGNED = 45_000; // per load process
/** extra node flags for the broker child, e.g. BENCH_BROKER_NODE_FLAGS='--cpu-prof --cpu-prof-dir=prof' */
const BROKER_FLAGS = (process.env.BENCH_BROKER_NODE_FLAGS ?? '').split(' ').filter(Boolean);

// ── shared ────────────────────────────────────────────────────────────────────

function seed(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label).digest());
}
const meterId = (i: number) => `bench-${i}`;
const aggId = (w: number) => `bench-agg-${w}`;
const meterKey = (id: string) => keyPairFromSeed(seed(`tmi-bench-meter:${id}`));
const pseudonymKey = (i: number) => keyPairFromSeed(seed(`tmi-bench-pseudonym:${i}`));

// ── broker child ──────────────────────────────────────────────────────────────

async function brokerChild(validate: boolean): Promise<void> {
  const { createTmiBroker } = await import('../broker/createTmiBroker.js');
  const { createMemoryDirectory } = await import('../broker/meterDirectory.js');
  const dir = createMemoryDirectory();
  for (let i = 0; i < ACTIVE + IDLE; i++) {
    const id = meterId(i);
    dir.enroll({ meterId: id, publicKey: meterKey(id).address });
    if (i < ACTIVE) dir.certify(id, pseudonymKey(i).address);
  }
  for (let w = 0; w < WORKERS; w++) dir.enroll({ meterId: aggId(w), publicKey: meterKey(aggId(w)).address, role: 'aggregator' });
  const broker = await createTmiBroker({ directory: dir, listeners: { mqtt: { port: 0 } }, validate });
  const gc = (globalThis as { gc?: () => void }).gc;
  const counter = async (name: string, label?: string) => {
    const m = await broker.metrics.getSingleMetric(name)?.get();
    return m?.values.filter((v) => label === undefined || v.labels.result === label).reduce((s, v) => s + v.value, 0) ?? 0;
  };
  // (t, accepted) every 250 ms, timestamped here: IPC replies lag when the broker is saturated
  const samples: { t: number; accepted: number; cpuMs: number }[] = [];
  const sampler = setInterval(() => {
    void counter('tmi_broker_messages_in_total', 'accepted').then((accepted) => {
      const cpu = process.cpuUsage(); // all threads of the broker process, µs
      samples.push({ t: performance.timeOrigin + performance.now(), accepted, cpuMs: (cpu.user + cpu.system) / 1000 });
    });
  }, 250);
  serve({
    async ports() {
      return { port: broker.ports.mqtt };
    },
    async samples() {
      return { samples: samples.splice(0) };
    },
    async stats(m) {
      if (m.gc === true) gc?.();
      const mem = process.memoryUsage();
      return {
        accepted: await counter('tmi_broker_messages_in_total', 'accepted'),
        rejected: await counter('tmi_broker_messages_in_total', 'rejected'),
        out: await counter('tmi_broker_messages_out_total'),
        connected: broker.aedes.connectedClients,
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        t: performance.timeOrigin + performance.now(),
      };
    },
    async close() {
      clearInterval(sampler);
      await broker.close();
      setImmediate(() => process.exit(0));
      return {};
    },
  });
}

// ── load child ────────────────────────────────────────────────────────────────

interface Hem {
  i: number;
  client: MqttClient;
  pseudonym: KeyPair;
}

async function loadChild(w: number): Promise<void> {
  let hems: Hem[] = [];
  let sub: MqttClient | undefined;
  let floodMsgs: Buffer[] = [];
  let idle: MqttClient[] = [];
  const auctionId = `bench-w${w}`;
  const topic = `tmi/v1/auctions/${auctionId}/bids`;
  const first = w * (ACTIVE / WORKERS);
  const pseudonyms = Array.from({ length: ACTIVE / WORKERS }, (_, k) => pseudonymKey(first + k));
  const keys = new Map<string, KeyPair>();
  const keyOf = (id: string) => {
    let k = keys.get(id);
    if (!k) keys.set(id, (k = meterKey(id)));
    return k;
  };
  const connectMeter = (port: number, id: string, keepalive = 60) =>
    connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: id, username: id, password: makeLoginToken(keyOf(id), id), reconnectPeriod: 0, keepalive, connectTimeout: 30_000,
    });
  let onDelivery: (payload: Buffer) => void = () => {};
  let subscriberClosed = false;

  function presign(n: number): Buffer[] {
    const out: Buffer[] = [];
    for (let k = 0; k < n; k++) {
      const p = pseudonyms[k % pseudonyms.length]!;
      const params = {
        auctionId, address: p.address, cpf: 0.8, feeder: 'F1',
        bid: { type: 'sell', energy: { unit: 'Wh', value: 500 + (k % 100) }, price: { unit: 'cents/kWh', value: 8.5 } },
      } as BidOffer;
      out.push(signAndEncode(p, 'bid-offer', params));
    }
    return out;
  }
  const reqIdOf = (b: Buffer): string => {
    const s = b.toString('latin1');
    const at = s.indexOf('"reqId":"') + 9;
    return s.slice(at, s.indexOf('"', at));
  };

  serve({
    async connect(m) {
      const port = m.port as number;
      const t0 = performance.now();
      sub = await connectMeter(port, aggId(w));
      await sub.subscribeAsync(topic, { qos: 0 });
      sub.on('message', (_t, payload) => onDelivery(payload));
      subscriberClosed = false;
      sub.on('close', () => void (subscriberClosed = true));
      hems = [];
      for (let k = 0; k < pseudonyms.length; k += 50) {
        const batch = await Promise.all(
          pseudonyms.slice(k, k + 50).map(async (p, j) => ({ i: first + k + j, pseudonym: p, client: await connectMeter(port, meterId(first + k + j)) })),
        );
        hems.push(...batch);
      }
      return { clients: hems.length, ms: performance.now() - t0 };
    },
    async paced(m) {
      const rate = m.rate as number;
      const warm = m.warmupMs as number;
      const ms = (m.ms as number) + warm;
      const msgs = presign(Math.ceil((rate * ms) / 1000));
      const firstMeasured = Math.floor((rate * warm) / 1000);
      const sentAt = new Map<string, number>();
      const latencies: number[] = [];
      const bySecond: number[][] = [];
      const start = performance.now();
      onDelivery = (payload) => {
        const t = sentAt.get(reqIdOf(payload));
        if (t === undefined) return;
        const l = performance.now() - t;
        latencies.push(l);
        (bySecond[Math.floor((t - start - warm) / 1000)] ??= []).push(l);
      };
      let sent = 0;
      await new Promise<void>((resolve) => {
        const tick = () => {
          const due = Math.min(msgs.length, Math.floor(((performance.now() - start) * rate) / 1000));
          while (sent < due) {
            const payload = msgs[sent]!;
            const h = hems[sent % hems.length]!;
            if (sent >= firstMeasured) sentAt.set(reqIdOf(payload), performance.now());
            h.client.publish(topic, payload, { qos: 1 });
            sent++;
          }
          if (sent >= msgs.length) resolve();
          else setTimeout(tick, 2);
        };
        tick();
      });
      await new Promise((r) => setTimeout(r, 1500));
      onDelivery = () => {};
      return { sent: sent - firstMeasured, delivered: latencies.length, latencies, bySecond };
    },
    async prepareFlood() {
      // signed before the flood starts, so signing time is not counted as broker time
      floodMsgs = presign(FLOOD_PRESIGNED);
      return { messages: floodMsgs.length };
    },
    async flood(m) {
      const ms = m.ms as number;
      // with validation off the broker has no replay guard: the same bytes may be sent again
      const cycle = m.cycle === true;
      const msgs = floodMsgs;
      let delivered = 0;
      onDelivery = () => void delivered++;
      let sent = 0;
      let acked = 0;
      let inflight = 0;
      let stop = false;
      const start = performance.now();
      await new Promise<void>((resolve) => {
        const pump = () => {
          while (!stop && inflight < FLOOD_WINDOW && (cycle || sent < msgs.length)) {
            const h = hems[sent % hems.length]!;
            inflight++;
            h.client.publish(topic, msgs[sent % msgs.length]!, { qos: 1 }, () => {
              inflight--;
              acked++;
              if (!stop) pump();
              else if (inflight === 0) resolve();
            });
            sent++;
          }
          if ((stop || (!cycle && sent >= msgs.length)) && inflight === 0) resolve();
        };
        setTimeout(() => {
          stop = true;
          if (inflight === 0) resolve();
        }, ms);
        pump();
      });
      const elapsed = performance.now() - start;
      await new Promise((r) => setTimeout(r, 500));
      onDelivery = () => {};
      return { sent, acked, delivered, exhausted: !cycle && sent >= msgs.length, ms: elapsed, subscriberClosed };
    },
    async disconnect() {
      await Promise.all([...hems.map((h) => h.client.endAsync(true)), sub?.endAsync(true)]);
      hems = [];
      return {};
    },
    async idle(m) {
      const port = m.port as number;
      const from = m.from as number;
      const to = m.to as number;
      const t0 = performance.now();
      let failed = 0;
      const ids = Array.from({ length: to - from }, (_, k) => meterId(from + k));
      for (const id of ids) keyOf(id); // derive keys before the clock matters
      for (let k = 0; k < ids.length; k += 100) {
        const batch = await Promise.allSettled(ids.slice(k, k + 100).map((id) => connectMeter(port, id, 600)));
        for (const r of batch) {
          if (r.status === 'fulfilled') idle.push(r.value);
          else failed++;
        }
      }
      return { connected: idle.length, failed, ms: performance.now() - t0 };
    },
    async idleClose() {
      await Promise.all(idle.map((c) => c.endAsync(true)));
      idle = [];
      return {};
    },
  });
}

// ── orchestrator ──────────────────────────────────────────────────────────────

function spawnChild(args: string[], execArgv: string[] = []): Promise<ChildProcess> {
  const child = fork(SELF, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`CHILD_EXITED args=${args.join(' ')} code=${code}`)));
    child.once('message', (m: Msg) => {
      if (m.cmd === 'ready') {
        child.removeAllListeners('exit');
        resolve(child);
      }
    });
  });
}

const T0 = performance.now();
function log(msg: string): void {
  process.stderr.write(`[bench:broker ${((performance.now() - T0) / 1000).toFixed(1)} s] ${msg}\n`);
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

interface Stats {
  accepted: number;
  rejected: number;
  out: number;
  connected: number;
  rss: number;
  heapUsed: number;
  t: number;
}

async function runLoad(validate: boolean, loads: ChildProcess[]) {
  const broker = await spawnChild(['broker', validate ? '1' : '0'], ['--expose-gc', ...BROKER_FLAGS]);
  try {
    const { port } = await rpc<{ port: number }>(broker, { cmd: 'ports' });
    const conn = await Promise.all(loads.map((l) => rpc<{ clients: number; ms: number }>(l, { cmd: 'connect', port })));
    const s0 = await rpc<Stats>(broker, { cmd: 'stats' });
    log(`${validate ? 'validated' : 'unvalidated'}: ${conn.reduce((x, c) => x + c.clients, 0)} clients logged in`);

    const paced = await Promise.all(loads.map((l) => rpc<{ sent: number; delivered: number; latencies: number[]; bySecond: number[][] }>(l, { cmd: 'paced', rate: LATENCY_RATE / loads.length, ms: LATENCY_MS, warmupMs: LATENCY_WARMUP_MS })));
    const lat = paced.flatMap((p) => p.latencies).sort((a, b) => a - b);
    const sentPaced = paced.reduce((s, p) => s + p.sent, 0);
    log(`${validate ? 'validated' : 'unvalidated'}: latency phase done, p99 ${r2(pct(lat, 99))} ms`);

    await Promise.all(loads.map((l) => rpc(l, { cmd: 'prepareFlood' })));
    await rpc(broker, { cmd: 'samples' }); // drop samples of the latency phase
    const floodStart = performance.timeOrigin + performance.now();
    const fl = await Promise.all(loads.map((l) => rpc<{ sent: number; acked: number; delivered: number; exhausted: boolean; ms: number; subscriberClosed: boolean }>(l, { cmd: 'flood', ms: FLOOD_MS, cycle: !validate })));
    const floodEnd = performance.timeOrigin + performance.now();
    const { samples } = await rpc<{ samples: { t: number; accepted: number; cpuMs: number }[] }>(broker, { cmd: 'samples' });
    const s1 = await rpc<Stats>(broker, { cmd: 'stats' });
    // accepted msgs/s between the first sample after the warm-up and the last one before the end
    const inWindow = samples.filter((x) => x.t >= floodStart + FLOOD_WARMUP_MS && x.t <= Math.min(floodEnd, floodStart + FLOOD_MS));
    // if the pre-signed messages ran out, end the window where the count stopped rising
    while (inWindow.length > 2 && inWindow[inWindow.length - 1]!.accepted === inWindow[inWindow.length - 2]!.accepted) inWindow.pop();
    if (inWindow.length < 2) log('throughput window has fewer than 2 samples: no rate');
    const first = inWindow[0];
    const last = inWindow[inWindow.length - 1];
    const rate = first && last && last.t > first.t ? ((last.accepted - first.accepted) * 1000) / (last.t - first.t) : Number.NaN;
    log(`${validate ? 'validated' : 'unvalidated'}: flood done, ${Math.round(rate)} msgs/s`);
    await Promise.all(loads.map((l) => rpc(l, { cmd: 'disconnect' })));

    return {
      validate,
      clients: conn.reduce((s, c) => s + c.clients, 0),
      loginMs: Math.round(Math.max(...conn.map((c) => c.ms))),
      latency: {
        offeredMsgsPerS: LATENCY_RATE,
        seconds: LATENCY_MS / 1000,
        warmupSeconds: LATENCY_WARMUP_MS / 1000,
        sent: sentPaced,
        delivered: lat.length,
        p50Ms: r2(pct(lat, 50)),
        p90Ms: r2(pct(lat, 90)),
        p99Ms: r2(pct(lat, 99)),
        maxMs: r2(lat[lat.length - 1] ?? Number.NaN),
        p99MsBySecond: Array.from({ length: Math.ceil(LATENCY_MS / 1000) }, (_, sec) =>
          r1(pct(paced.flatMap((p) => p.bySecond[sec] ?? []).sort((x, y) => x - y), 99))),
      },
      throughput: {
        acceptedMsgsPerS: Math.round(rate),
        windowS: first && last ? r2((last.t - first.t) / 1000) : 0,
        // accepted msgs/s in each second of the flood (warm-up included): a falling series means the broker slows down
        acceptedBySecond: samples
          .filter((x) => x.t >= floodStart && x.t <= floodEnd)
          .filter((_, k) => k % 4 === 0)
          .map((x, k, a) => (k === 0 ? null : Math.round(((x.accepted - a[k - 1]!.accepted) * 1000) / (x.t - a[k - 1]!.t))))
          .filter((x): x is number => x !== null),
        brokerCpuCores: first && last ? r2((last.cpuMs - first.cpuMs) / (last.t - first.t)) : null,
        acceptedPerBrokerCpuSecond: first && last ? Math.round(((last.accepted - first.accepted) * 1000) / (last.cpuMs - first.cpuMs)) : null,
        ackedMsgsPerSAtClients: Math.round(fl.reduce((sum, f) => sum + (f.acked * 1000) / f.ms, 0)),
        qos: 1,
        inflightWindowPerLoadProcess: FLOOD_WINDOW,
        sent: fl.reduce((s, f) => s + f.sent, 0),
        acked: fl.reduce((s, f) => s + f.acked, 0),
        deliveredToSubscribers: fl.reduce((s, f) => s + f.delivered, 0),
        presignedExhausted: fl.some((f) => f.exhausted),
        subscriberDisconnected: fl.some((f) => f.subscriberClosed),
      },
      broker: { accepted: s1.accepted - s0.accepted, rejected: s1.rejected - s0.rejected, rssMB: r1(s1.rss / 2 ** 20) },
    };
  } finally {
    await rpc(broker, { cmd: 'close' }).catch(() => broker.kill());
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const loadAtStart = loadavg().map(r2);
  let ulimit = Number.NaN;
  try {
    ulimit = Number(execSync('ulimit -n', { shell: '/bin/sh', encoding: 'utf8' }).trim());
  } catch {
    /* not a POSIX shell */
  }
  // the broker needs one fd per connection; each load process holds half of them
  const idleCount = Number.isFinite(ulimit) ? Math.min(IDLE, Math.max(0, Math.floor(ulimit - 200))) : IDLE;
  const loads = await Promise.all(Array.from({ length: WORKERS }, (_, w) => spawnChild(['load', String(w)])));
  try {
    const on = await runLoad(true, loads);
    const off = await runLoad(false, loads);

    const broker = await spawnChild(['broker', '1'], ['--expose-gc']);
    let idle;
    try {
      const { port } = await rpc<{ port: number }>(broker, { cmd: 'ports' });
      const base = await rpc<Stats>(broker, { cmd: 'stats', gc: true });
      const per = Math.floor(idleCount / loads.length);
      const res = await Promise.all(loads.map((l, w) => rpc<{ connected: number; failed: number; ms: number }>(l, { cmd: 'idle', port, from: ACTIVE + w * per, to: ACTIVE + (w + 1) * per }, 300_000)));
      await new Promise((r) => setTimeout(r, 1000));
      const full = await rpc<Stats>(broker, { cmd: 'stats', gc: true });
      log(`idle: ${full.connected} connections, broker RSS ${r1(full.rss / 2 ** 20)} MB`);
      await Promise.all(loads.map((l) => rpc(l, { cmd: 'idleClose' })));
      const connected = full.connected;
      idle = {
        requested: IDLE,
        attempted: per * loads.length,
        connected,
        failed: res.reduce((s, r) => s + r.failed, 0),
        connectSeconds: r1(Math.max(...res.map((r) => r.ms)) / 1000),
        brokerRssBaselineMB: r1(base.rss / 2 ** 20),
        brokerRssMB: r1(full.rss / 2 ** 20),
        brokerHeapUsedMB: r1(full.heapUsed / 2 ** 20),
        perConnectionKB: connected > 0 ? r1((full.rss - base.rss) / 1024 / connected) : null,
        note: 'RSS after a forced GC in the broker process (node --expose-gc); idle clients keepalive 600 s',
      };
    } finally {
      await rpc(broker, { cmd: 'close' }).catch(() => broker.kill());
    }

    const out = {
      bench: 'broker',
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGB: r1(totalmem() / 2 ** 30), node: process.version, ulimitN: ulimit,
        loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg().map(r2),
      },
      setup: {
        processes: `broker child + ${WORKERS} load children (mqtt.js) + orchestrator, all on this machine`,
        clients: ACTIVE,
        message: 'bid-offer pre-signed by each client\'s pseudonym (Ed25519), ~430 bytes; with validation off the throughput phase re-sends the pre-signed set in a cycle',
        verifyThreads: 'broker default (cores - 1, at most 4)',
        throughputPhase: `closed loop, QoS 1, messages signed before the phase, ${FLOOD_WINDOW} publishes in flight per load process, ${FLOOD_MS / 1000} s, first ${FLOOD_WARMUP_MS / 1000} s not counted; rate from the broker's own accepted counter sampled every 250 ms`,
        rateLimit: 'off (per-client token bucket not configured)',
      },
      validated: on,
      unvalidated: off,
      validationCost: {
        throughputRatio: r2(on.throughput.acceptedMsgsPerS / off.throughput.acceptedMsgsPerS),
        p99RatioAt1000: r2(on.latency.p99Ms / off.latency.p99Ms),
      },
      idle,
      targets: {
        verifiedMsgsPerS: { target: 5000, measured: on.throughput.acceptedMsgsPerS, met: on.throughput.acceptedMsgsPerS >= 5000 },
        p99MsAt1000: { target: 50, measured: on.latency.p99Ms, met: on.latency.p99Ms < 50 },
        idleConnections: { target: IDLE, measured: idle.connected, met: idle.connected >= IDLE },
      },
      durationS: r1((performance.now() - t0) / 1000),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } finally {
    for (const l of loads) l.kill();
  }
}

const [role, arg] = process.argv.slice(2);
if (role === 'broker') void brokerChild(arg === '1');
else if (role === 'load') void loadChild(Number(arg));
else
  main().catch((err: unknown) => {
    process.stderr.write(`bench:broker failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
