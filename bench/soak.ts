/**
 * Soak (`npm run soak`, prints one JSON object): SOAK_HOMES (10,000) simulated HEM clients
 * against ONE broker for a compressed day, then checks that nothing was lost.
 *
 * Processes (all on this machine, loopback):
 *   broker   registry (HTTP, level) + broker, wired as `tmi up` wires them   (bench/soak/brokerProcess.ts)
 *   chain    the aggregator's chain node (producer) + the aggregator             (bench/soak/chainProcess.ts)
 *   homes ×P the homes, one MQTT connection each, logged in with a signed token  (bench/soak/homesProcess.ts)
 *   this     orchestrator + the counting subscriber (role analytics)             (bench/soak/soakCounter.ts)
 *
 * Phases: enrol + certify every home over the registry's HTTP API (client, concurrency);
 * log in; each home puts its pseudonym certificate on chain; then SOAK_INTERVALS metering
 * intervals of SOAK_INTERVAL_MS: each home publishes a signed reading per interval (QoS 1)
 * and answers every auction-open with a signed bid (QoS 1); the aggregator opens an auction
 * every SOAK_AUCTION_EVERY intervals and closes it on time; the chain clears it.
 *
 * Checks: every PUBACKed message was either seen by the counting subscriber or answered
 * by a broker error (dropped = 0); each auction's bids on chain = bids acknowledged; the
 * chain's clearing = clearAuction recomputed here from the bids in the blocks; readings on
 * chain per interval; RSS of the broker and the chain node sampled over the day, with a
 * least-squares slope; close → block-with-the-close and close → auction-result delays.
 */
import { spawn, execSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearAuction, type ClearingOffer } from '../poe-chain/core/auction/clearAuction.js';
import { bidQuantities, hemSideFor } from '../poe-chain/core/tx/applyBidOffer.js';
import { brokerProcess } from './soak/brokerProcess.js';
import { chainProcess } from './soak/chainProcess.js';
import { homesProcess } from './soak/homesProcess.js';
import { homeNodeProcess, type HomeNodeEvents, type HomeNodeSample } from './soak/homeNodeProcess.js';
import { homeNodeReport, checkpointSyncReport, type HomeNodeStop } from './soak/homeNodeReport.js';
import { rpc, type Msg, type ProcSample } from './soak/soakIpc.js';
import { startCounter, type SoakCounter } from './soak/soakCounter.js';
import { parseReqId, serviceKey, FEEDERS } from './soak/soakHomes.js';
import { linearTrend } from './soak/linearTrend.js';
import type { FeederLimit } from '../schemas/types.js';
import { GENESIS_DEFAULTS } from '../poe-chain/core/genesis.js';
import { startRedisServer, type RedisServer } from '../broker/test/redisFixtures.js';
import { soakHeapCaps } from './soak/soakHeapCaps.js';

const HEAP_CAPS = soakHeapCaps();

const SELF = fileURLToPath(import.meta.url);
const env = (k: string, d: number) => (process.env[k] !== undefined ? Number(process.env[k]) : d);

const T0 = Date.now();
/** children that exited before the orchestrator closed them */
const crashes: { role: string; code: number | null; signal: string | null; atS: number }[] = [];
let closing = false;
/** removed on every exit path, including Ctrl-C */
let dataDirToRemove: string | undefined;
function log(msg: string): void {
  process.stderr.write(`[soak ${((Date.now() - T0) / 1000).toFixed(1)} s] ${msg}\n`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;
const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

function pct(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** the chain node's work timings, to whole milliseconds */
function roundAll(w: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([f, x]) => [f, Math.round(x)]))]));
}

function ulimits(): { soft: number; hard: number } {
  try {
    const [soft, hard] = execSync('ulimit -Sn; ulimit -Hn', { shell: '/bin/sh', encoding: 'utf8' }).trim().split('\n');
    const n = (s: string | undefined) => (s === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s));
    return { soft: n(soft), hard: n(hard) };
  } catch {
    return { soft: Number.NaN, hard: Number.NaN };
  }
}

/** Starts a child role of this file; with `nofile`, through sh so that its soft fd limit is raised first. */
function spawnChild(role: string, nofile: number | undefined): Promise<ChildProcess> {
  // SOAK_PROFILE=<role>: that child writes a V8 CPU profile (.cpuprofile) into the working directory
  // SOAK_HEAPSNAPSHOT=<role>: `kill -USR2 <pid>` makes that child write a .heapsnapshot there
  // the heap caps `tmi up` gives the same parts (soak/soakHeapCaps.ts)
  const part = role === 'broker' ? 'edge' : role === 'chain' ? 'core' : undefined;
  const cap = part && HEAP_CAPS ? [`--max-old-space-size=${HEAP_CAPS[part]}`] : [];
  const args = [
    ...cap,
    ...(process.env.SOAK_PROFILE === role ? ['--cpu-prof'] : []),
    ...(process.env.SOAK_HEAPSNAPSHOT === role ? ['--heapsnapshot-signal=SIGUSR2'] : []),
    SELF,
    role,
  ];
  const child = nofile === undefined
    ? spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    : spawn('/bin/sh', ['-c', `ulimit -n ${nofile} && exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`CHILD_EXITED role=${role} code=${code} signal=${signal}`)));
    child.once('message', (m: Msg) => {
      if (m.cmd === 'ready') {
        child.removeAllListeners('exit');
        child.once('exit', (code, signal) => {
          if (!closing) crashes.push({ role, code, signal, atS: r1((Date.now() - T0) / 1000) });
        });
        resolve(child);
      }
    });
  });
}

interface HomesProgress {
  rssMB: number;
  retried: Record<string, number>;
  cpuS: number;
  counts: { sent: Record<string, number>; acked: Record<string, number>; reconnects: number; closes: number; errorMessages: number };
  rejected: number;
  connected: number;
  publishErrors: Record<string, number>;
}

interface ChainAuctionInfo {
  found: boolean;
  status?: string;
  bidCount?: number;
  closedHeight?: number | null;
  awardedWh?: number | null;
  clearingPriceMcPerKWh?: number | null;
  awards?: { address: string; feeder: string; reqId: string; energyWh: number; priceMcPerKWh: number }[];
  excluded?: number;
  excludedReasons?: Record<string, number>;
  voidReason?: string | null;
  aggregatorStatus?: string | null;
  params?: { side: 'buy' | 'sell'; energyWh: number; limitPriceMcPerKWh: number; pricing: 'pay-as-bid' | 'uniform'; feederLimits: FeederLimit[] };
}

function series(samples: readonly ProcSample[], startMs: number, key: 'rssMB' | 'heapUsedMB' | 'heapTotalMB' | 'arrayBuffersMB' | 'externalMB') {
  return samples.map((s) => [r1((s.t - startMs) / 1000), s[key]] as const);
}

/** cores used between `from` and `to`: CPU seconds over wall seconds, first to last sample */
function coresOf(samples: readonly { t: number; cpuS: number }[], from: number, to: number): number | null {
  const d = samples.filter((s) => s.t >= from && s.t <= to);
  return d.length > 1 ? r2((d.at(-1)!.cpuS - d[0]!.cpuS) / ((d.at(-1)!.t - d[0]!.t) / 1000)) : null;
}

/** event-loop delay over the day: the median of the samples' p99 and the worst single delay (ms) */
function loopDelayOf(samples: readonly ProcSample[], from: number, to: number) {
  const d = samples.filter((s) => s.t >= from && s.t <= to && Number.isFinite(s.loopP99Ms));
  const p99s = d.map((s) => s.loopP99Ms!).sort((a, b) => a - b);
  return { medianP99Ms: pct(p99s, 50), worstP99Ms: p99s.at(-1) ?? null, maxMs: d.length ? Math.max(...d.map((s) => s.loopMaxMs!)) : null };
}

function trendOf(samples: readonly ProcSample[], from: number, to: number) {
  const pts = samples.filter((s) => s.t >= from && s.t <= to).map((s) => [(s.t - from) / 60_000, s.rssMB] as const);
  const all = linearTrend(pts);
  const half = linearTrend(pts.filter(([x]) => x >= (to - from) / 120_000));
  const first = pts[0]?.[1] ?? Number.NaN;
  const last = pts.at(-1)?.[1] ?? Number.NaN;
  const growing = all.slope > 0 && all.r2 >= 0.5 && half.slope > 0 && half.r2 >= 0.5;
  return {
    slopeMBPerMin: r2(all.slope),
    r2: r2(all.r2),
    secondHalfSlopeMBPerMin: r2(half.slope),
    secondHalfR2: r2(half.r2),
    firstMB: first,
    lastMB: last,
    maxMB: Math.max(...pts.map(([, y]) => y)),
    samples: pts.length,
    trend: growing ? 'growing (slope > 0 with R² ≥ 0.5 over the whole day and its second half)' : 'no steady growth (slope not consistently positive, or R² < 0.5)',
  };
}

async function main(): Promise<void> {
  const HOMES_WANTED = env('SOAK_HOMES', 10_000);
  const PROCS = env('SOAK_PROCS', 4);
  // brokers sharing one Redis (mqemitter-redis, aedes-persistence-redis), as `tmi broker --redis`; homes processes are spread over them
  const BROKERS = Math.max(1, env('SOAK_BROKERS', 1));
  // 48 intervals of 20 s (45× real time, ≈ 16 min): long enough for the chain's replay window
  // and reading retention to fill, so that a memory trend means something; at 10 s (90×) the
  // chain process gets too little of a 2-core machine that also runs the homes (RESILIENCE.md)
  const I = env('SOAK_INTERVAL_MS', 20_000);
  const D = env('SOAK_INTERVALS', 48);
  const EVERY = env('SOAK_AUCTION_EVERY', 4);
  const SAMPLE_MS = env('SOAK_SAMPLE_MS', 2000);
  const SLOT_MS = env('SOAK_SLOT_MS', GENESIS_DEFAULTS.slotMs);
  const PATIENCE = env('SOAK_PATIENCE', GENESIS_DEFAULTS.patience);
  const READING_SPREAD = env('SOAK_READING_SPREAD_MS', Math.round(0.7 * I));
  const BID_SPREAD = env('SOAK_BID_SPREAD_MS', Math.round(0.5 * I));
  const CONCURRENCY = env('SOAK_ENROL_CONCURRENCY', 16);
  // 'store': enrol and certify through the registry's store in the broker process (fast);
  // 'http': through the registry's HTTP API with RegistryClient (measured: 97–153 s for 10,000)
  const ENROL = process.env.SOAK_ENROL === 'http' ? 'http' : 'store';
  // the broker looks up each new pseudonym at the registry before it acknowledges: a burst
  // of 10,000 first messages times out (DIRECTORY_UNAVAILABLE), so certificates go out
  // with at most this many awaiting their PUBACK per homes process
  const CERT_WINDOW = env('SOAK_CERT_WINDOW', 25);
  // [STORE-P] home chain nodes that follow the chain (chainNodeMain.js processes): 'pruned'
  // (--prune, as a home's node) and 'full' (no pruning, for comparison); '' or 'none': neither
  const HOME_NODES = (process.env.SOAK_HOME_NODES ?? 'pruned,full').split(',').map((x) => x.trim()).filter((x) => x === 'pruned' || x === 'full');
  // [SYNC-C] a fresh node with --checkpoint-sync starts this many intervals before the day's
  // last (0: none) and is timed until it is on the head
  const CP_BEFORE_END = env('SOAK_CHECKPOINT_SYNC_BEFORE_END', 4);
  const loadAtStart = loadavg().map(r2);

  // ── file descriptors: one per connection in the broker, one per home in its process
  const lim = ulimits();
  const brokerNeeds = (h: number) => Math.ceil(h / BROKERS) + 600;
  const homesNeeds = (h: number) => Math.ceil(h / PROCS) + 300;
  let homes = HOMES_WANTED;
  const limitNote: string[] = [];
  if (Number.isFinite(lim.hard) && brokerNeeds(homes) > lim.hard) {
    homes = Math.max(PROCS, (lim.hard - 600) * BROKERS);
    limitNote.push(`hard fd limit ${lim.hard} < ${brokerNeeds(HOMES_WANTED)} needed by the broker: homes reduced to ${homes}`);
  }
  const raise = (need: number) => (Number.isFinite(lim.soft) && need > lim.soft ? Math.min(lim.hard, need) : undefined);
  log(`fd limits soft ${lim.soft} hard ${lim.hard}; broker needs ~${brokerNeeds(homes)}, each homes process ~${homesNeeds(homes)}`);

  const dataDir = await mkdtemp(join(tmpdir(), 'tmi-soak-'));
  dataDirToRemove = dataDir;
  const children: ChildProcess[] = [];
  let counter: SoakCounter | undefined;
  let redis: RedisServer | undefined;
  try {
    const feederLimits: [string, number][] = [['F00', 2_000_000], ['F01', 500_000], ['F02', 1_000_000]];
    const broker = await spawnChild('broker', raise(brokerNeeds(homes)));
    children.push(broker);
    if (BROKERS > 1) redis = await startRedisServer();
    const redisUrl = redis ? { redisUrl: redis.url } : {};
    const b = await rpc<{ mqttUrl: string; registryUrl: string; adminToken: string; registryKey: string }>(broker, { cmd: 'start', dataDir, sampleMs: SAMPLE_MS, feederLimits, ...redisUrl });
    const extraBrokers: ChildProcess[] = [];
    const brokerUrls = [b.mqttUrl];
    for (let k = 1; k < BROKERS; k++) {
      const x = await spawnChild('broker', raise(brokerNeeds(homes)));
      children.push(x);
      extraBrokers.push(x);
      brokerUrls.push((await rpc<{ mqttUrl: string }>(x, { cmd: 'start', dataDir, sampleMs: SAMPLE_MS, registryUrl: b.registryUrl, adminToken: b.adminToken, ...redisUrl })).mqttUrl);
    }
    if (BROKERS > 1) log(`${BROKERS} brokers on Redis ${redis!.url}: ${brokerUrls.join(', ')}`);
    const chain = await spawnChild('chain', undefined);
    children.push(chain);
    const g = await rpc<{ genesisHash: string; genesisTimeMs: number; intervalMs: number; slotMs: number; voidGraceMs: number | null }>(chain, {
      cmd: 'start', dataDir, mqttUrl: b.mqttUrl, registryUrl: b.registryUrl, adminToken: b.adminToken, registryKey: b.registryKey,
      intervalMs: I, slotMs: SLOT_MS, patience: PATIENCE, slotsPerDay: D, sampleMs: SAMPLE_MS,
    });
    // ── home chain nodes: followers from genesis, as a home that joined with the chain
    const homeNodeSamples = new Map<string, HomeNodeSample[]>();
    const homeNodeEvents = new Map<string, HomeNodeEvents>();
    const homeNodeArgs = new Map<string, string[]>();
    const nodeName = (kind: string) => `home-node-${kind}`;
    const homeNodes = HOME_NODES.length > 0 || CP_BEFORE_END > 0 ? await spawnChild('homeNodes', undefined) : undefined;
    if (homeNodes) children.push(homeNodes);
    const startHomeNode = async (kind: 'pruned' | 'full' | 'checkpoint') => {
      const name = nodeName(kind);
      const r = await rpc<{ pid: number; args: string[] }>(homeNodes!, {
        cmd: 'start', name, dataDir: join(dataDir, name), genesisFile: join(dataDir, 'genesis.json'), mqttUrl: b.mqttUrl,
        prune: kind !== 'full', checkpointSync: kind === 'checkpoint', journal: false, sampleMs: SAMPLE_MS,
        // its "final" lines time the catch-up
        recordFinals: kind === 'checkpoint',
      });
      homeNodeSamples.set(name, []);
      homeNodeArgs.set(name, r.args);
      log(`${name} started (pid ${r.pid}): ${r.args.join(' ')}`);
    };
    const sampleHomeNodes = async () => {
      for (const name of homeNodeSamples.keys()) {
        const r = await rpc<{ samples: HomeNodeSample[]; events: HomeNodeEvents }>(homeNodes!, { cmd: 'samples', name }, 60_000);
        homeNodeSamples.get(name)!.push(...r.samples);
        homeNodeEvents.set(name, r.events);
      }
    };
    for (const kind of HOME_NODES) await startHomeNode(kind as 'pruned' | 'full');
    log(`broker ${b.mqttUrl}, registry ${b.registryUrl}; chain genesis ${new Date(g.genesisTimeMs).toISOString()}, interval ${g.intervalMs} ms, slot ${g.slotMs} ms`);

    const homesProcs = await Promise.all(Array.from({ length: PROCS }, () => spawnChild('homes', raise(homesNeeds(homes)))));
    children.push(...homesProcs);
    const per = Math.ceil(homes / PROCS);
    const ranges = homesProcs.map((_, p) => [p * per, Math.min(homes, (p + 1) * per)] as const);

    // ── enrolment and certificates
    const tEnrol = Date.now();
    let storeCerts: [number, unknown][][] = ranges.map(() => []);
    if (ENROL === 'store') {
      const e = await rpc<{ certs: [number, unknown][]; ms: number }>(broker, { cmd: 'enrol', from: 0, to: homes }, 1_200_000);
      storeCerts = ranges.map(([a, z]) => e.certs.filter(([i]) => i >= a && i < z));
    }
    const setup = await Promise.all(homesProcs.map((h, p) => rpc<{ homes: number; keysMs: number; enrolMs: number }>(h, {
      cmd: 'setup', from: ranges[p]![0], to: ranges[p]![1], registryUrl: b.registryUrl, adminToken: b.adminToken, concurrency: CONCURRENCY, certs: storeCerts[p], chain: g.genesisHash,
    }, 1_200_000)));
    const enrolS = (Date.now() - tEnrol) / 1000;
    log(`${homes} meters enrolled and certified (${ENROL}) in ${r1(enrolS)} s`);

    counter = await startCounter(b.mqttUrl, 'soak-counter', serviceKey('soak-counter'));

    // ── logins
    const tLogin = Date.now();
    // homes process p logs in to broker p mod BROKERS
    const conn = await Promise.all(homesProcs.map((h, p) => rpc<{ connected: number; failed: number; ms: number }>(h, { cmd: 'connect', mqttUrl: brokerUrls[p % BROKERS], batch: 50 }, 900_000)));
    const loginS = (Date.now() - tLogin) / 1000;
    const connected = conn.reduce((s, c) => s + c.connected, 0);
    log(`${connected} homes logged in (${conn.reduce((s, c) => s + c.failed, 0)} failed) in ${r1(loginS)} s`);

    // ── certificates on chain
    const tCert = Date.now();
    await Promise.all(homesProcs.map((h) => rpc(h, { cmd: 'certTx', window: CERT_WINDOW }, 900_000)));
    let certs = 0;
    let certStall: Record<string, unknown> | undefined;
    for (let lastChange = Date.now(), lastCount = -1; Date.now() - tCert < Math.max(300_000, homes * 5);) {
      const c = await rpc<{ certs: number; height: number }>(chain, { cmd: 'certs' });
      certs = c.certs;
      if (certs >= connected) break;
      if (certs !== lastCount) [lastChange, lastCount] = [Date.now(), certs];
      if (Date.now() - lastChange > 20_000) {
        // no progress for 20 s: record why, and go on with the homes that are certified
        const st = await rpc<{ stats: { mempool: unknown; droppedMessages: unknown } }>(chain, { cmd: 'stats' });
        const hp = await Promise.all(homesProcs.map((h) => rpc<HomesProgress>(h, { cmd: 'progress' })));
        certStall = { certsOnChain: certs, mempool: st.stats.mempool, droppedMessages: st.stats.droppedMessages, refusedAtBroker: hp.reduce((s2, x) => s2 + x.rejected, 0), counterSawCertTxs: [...counter.received].filter((id) => id.startsWith('soak_c_')).length };
        log(`certificates stalled at ${certs}: ${JSON.stringify(certStall)}`);
        break;
      }
      await sleep(1000);
    }
    const certS = (Date.now() - tCert) / 1000;
    log(`${certs} certificates on chain in ${r1(certS)} s`);

    // ── the day
    const first = Math.floor((Date.now() - g.genesisTimeMs) / I) + 1; // the first whole interval from now
    const last = first + D - 1;
    const startOf = (n: number) => g.genesisTimeMs + n * I;
    const dayStart = startOf(first);
    const dayEnd = startOf(last + 1) + READING_SPREAD;
    await Promise.all(homesProcs.map((h) => rpc(h, { cmd: 'run', genesisTimeMs: g.genesisTimeMs, intervalMs: I, firstInterval: first, lastInterval: last, readingSpreadMs: READING_SPREAD, bidSpreadMs: BID_SPREAD })));
    await rpc(broker, { cmd: 'samples' }); // samples of the setup are dropped; the day is sampled below
    for (const x of extraBrokers) await rpc(x, { cmd: 'samples' });
    await rpc(chain, { cmd: 'samples' });
    log(`day: intervals ${first}..${last} (${D} × ${I} ms), auction every ${EVERY} intervals, readings spread over ${READING_SPREAD} ms, bids over ${BID_SPREAD} ms`);

    const brokerSamples: ProcSample[] = [];
    const extraBrokerSamples: ProcSample[][] = extraBrokers.map(() => []);
    const chainSamples: ProcSample[] = [];
    const homesRss: [number, number][] = [];
    /** CPU seconds of all homes processes so far */
    const homesCpu: { t: number; cpuS: number }[] = [];
    const auctions: { auctionId: string; n: number; openedAt: number; closesAtMs: number }[] = [];
    const auctionErrors: string[] = [];
    const readingsOnChain: { interval: number; onChain: number }[] = [];
    let lastProgress: HomesProgress[] = [];
    // sampling runs on its own clock, so a slow child never delays the auctions
    let sampling = false;
    const sampleOnce = async () => {
      if (sampling) return;
      sampling = true;
      try {
        const [bs, cs, hp] = await Promise.all([
          rpc<{ samples: ProcSample[] }>(broker, { cmd: 'samples' }, 60_000),
          rpc<{ samples: ProcSample[] }>(chain, { cmd: 'samples' }, 60_000),
          Promise.all(homesProcs.map((h) => rpc<HomesProgress>(h, { cmd: 'progress' }, 60_000))),
        ]);
        brokerSamples.push(...bs.samples);
    for (const [k, x] of extraBrokers.entries()) extraBrokerSamples[k]!.push(...(await rpc<{ samples: ProcSample[] }>(x, { cmd: 'samples' })).samples);
        chainSamples.push(...cs.samples);
        for (const [k, x] of extraBrokers.entries()) extraBrokerSamples[k]!.push(...(await rpc<{ samples: ProcSample[] }>(x, { cmd: 'samples' }, 60_000)).samples);
        homesRss.push([Date.now(), hp.reduce((s2, x) => s2 + x.rssMB, 0)]);
        homesCpu.push({ t: Date.now(), cpuS: hp.reduce((s2, x) => s2 + x.cpuS, 0) });
        lastProgress = hp;
        if (homeNodes) await sampleHomeNodes();
        const hn = [...homeNodeSamples].map(([name, xs]) => {
          const x = xs.at(-1);
          const base = homeNodeEvents.get(name)?.pruned.at(-1)?.base ?? 0;
          return x ? `${name.slice(10)} ${r1(x.dir.bytes / 2 ** 20)} MB base ${base} rss ${x.rssMB}` : '';
        }).filter(Boolean).join(', ');
        const ack = (k: string) => hp.reduce((s2, x) => s2 + (x.counts.acked[k] ?? 0), 0);
        const lb = brokerSamples.at(-1);
        const lc = chainSamples.at(-1);
        log(`t=${r1((Date.now() - dayStart) / 1000)} s: acked r ${ack('r')} b ${ack('b')}; counter ${counter!.received.size}; refused ${hp.reduce((s2, x) => s2 + x.rejected, 0)}; ` +
          `retried ${JSON.stringify(hp.reduce<Record<string, number>>((acc, x) => { for (const [k, v] of Object.entries(x.retried)) acc[k] = (acc[k] ?? 0) + v; return acc; }, {}))}; ` +
          `broker rss ${lb?.rssMB} MB conn ${lb?.connected}; chain rss ${lc?.rssMB} MB height ${lc?.height} mempool ${lc?.mempool} admitting ${lc?.admitting}; reconnects ${hp.reduce((s2, x) => s2 + x.counts.reconnects, 0)}; ${hn ? `home nodes: ${hn}; ` : ''}load ${loadavg()[0]!.toFixed(1)}`);
      } catch (err) {
        log(`sampling failed: ${(err as Error).message.split('\n')[0]}`);
      } finally {
        sampling = false;
      }
    };
    const sampler = setInterval(() => void sampleOnce(), Math.max(SAMPLE_MS, I / 2));
    let side: 'buy' | 'sell' = 'buy';
    /** [SYNC-C] when the fresh node was started, and the aggregator node's head then */
    let cpStart: { at: number; interval: number; aggregatorHead: number; aggregatorFinal: number } | undefined;
    try {
      for (let n = first; n <= last + 1; n++) {
        await sleep(startOf(n) - Date.now());
        if (crashes.length > 0) {
          log(`a child process exited: ${JSON.stringify(crashes)}; the day is cut short`);
          break;
        }
        if (homeNodes && CP_BEFORE_END > 0 && n === Math.max(first + 1, last - CP_BEFORE_END)) {
          const at = Date.now();
          void rpc<{ head: number; final: number }>(chain, { cmd: 'timeline', since: at }).then((c) => {
            cpStart = { at, interval: n, aggregatorHead: c.head, aggregatorFinal: c.final };
            return startHomeNode('checkpoint');
          }).catch((err: unknown) => log(`checkpoint-sync node not started: ${(err as Error).message.split('\n')[0]}`));
        }
        // readings of interval n − 3 have had two intervals to reach the chain
        if (n - 3 >= first) {
          const k = n - 3;
          void rpc<{ readings: number }>(chain, { cmd: 'readingsOf', epoch: k }, 60_000).then((r) => readingsOnChain.push({ interval: k, onChain: r.readings }), () => undefined);
        }
        if (n > first && n <= last - 2 && (n - first - 1) % EVERY === 0) {
          await sleep(startOf(n) + 0.45 * I - Date.now());
          const now = Date.now();
          // delivery = interval n + 2; the close leaves a tenth of an interval before it
          const closesAtMs = Math.min(now + 1.1 * I, startOf(n + 2) - 0.1 * I);
          if (closesAtMs - now < 0.5 * I) {
            auctionErrors.push(`interval ${n}: too late to open (${now - startOf(n)} ms into the interval)`);
            continue;
          }
          try {
            const a = await rpc<{ auctionId: string }>(chain, {
              cmd: 'openAuction', side, energyWh: Math.round(homes * 500), limitPriceMcPerKWh: side === 'buy' ? 25_000 : 8_000,
              deliveryStartMs: startOf(n + 2), deliveryEndMs: startOf(n + 3), closesAtMs, pricing: auctions.length % 2 === 0 ? 'pay-as-bid' : 'uniform',
            }, 30_000);
            auctions.push({ auctionId: a.auctionId, n: n + 2, openedAt: Date.now(), closesAtMs });
            log(`interval ${n}: auction ${a.auctionId} (${side}) opened, closes in ${r1((closesAtMs - Date.now()) / 1000)} s`);
          } catch (err) {
            auctionErrors.push(`interval ${n}: ${(err as Error).message.split('\n')[0]}`);
            log(`interval ${n}: auction not opened: ${(err as Error).message.split('\n')[0]}`);
          }
          side = side === 'buy' ? 'sell' : 'buy';
        }
      }
    } finally {
      clearInterval(sampler);
    }
    void lastProgress;

    // ── drain: the last readings, the last results
    await sleep(dayEnd + 2000 - Date.now());
    for (let k = 0; k < 40; k++) {
      const st = await rpc<{ stats: { mempool: { count: number }; admission: { urgent: number; readings: number } } }>(chain, { cmd: 'stats' });
      // received but not yet admitted counts as pending too [NODE-admit]
      if (st.stats.mempool.count === 0 && st.stats.admission.urgent + st.stats.admission.readings === 0) break;
      await sleep(500);
    }
    const readingsTail: { interval: number; onChain: number }[] = [];
    for (let n = Math.max(first, last - 2); n <= last; n++) {
      readingsTail.push({ interval: n, onChain: (await rpc<{ readings: number }>(chain, { cmd: 'readingsOf', epoch: n })).readings });
    }
    const settleUntil = Date.now() + 60_000;
    const infos = new Map<string, ChainAuctionInfo>();
    while (Date.now() < settleUntil) {
      let done = true;
      for (const a of auctions) {
        const info = await rpc<ChainAuctionInfo>(chain, { cmd: 'auction', auctionId: a.auctionId });
        infos.set(a.auctionId, info);
        if (!info.found || info.status === 'open' || !counter.auctions.get(a.auctionId)?.resultAt) done = false;
      }
      if (done && Date.now() - counter.lastHomeMessageAt > 3000) break;
      await sleep(1000);
    }
    // [SYNC-C] the fresh node: until its final block is the aggregator node's (at most 120 s after it started)
    if (cpStart && homeNodes) {
      const name = nodeName('checkpoint');
      while (Date.now() - cpStart.at < 120_000) {
        await sampleHomeNodes();
        const ev = homeNodeEvents.get(name);
        const c = await rpc<{ final: number }>(chain, { cmd: 'timeline', since: Date.now() });
        if (ev?.exit || (ev?.finals.at(-1)?.[1] ?? -1) >= c.final) break;
        await sleep(500);
      }
    }
    const chainTimeline = cpStart ? await rpc<{ heads: [number, number][]; finals: [number, number][] }>(chain, { cmd: 'timeline', since: cpStart.at - 60_000 }) : undefined;
    // stop the home nodes (each writes a head snapshot as it closes), then read their stores
    const homeNodeStops = new Map<string, HomeNodeStop>();
    for (const name of homeNodeSamples.keys()) {
      const r = await rpc<HomeNodeStop>(homeNodes!, { cmd: 'stop', name }, 120_000).catch((err: unknown) => {
        log(`${name} not stopped cleanly: ${(err as Error).message.split('\n')[0]}`);
        return undefined;
      });
      if (!r) continue;
      homeNodeSamples.get(name)!.push(...r.samples);
      homeNodeEvents.set(name, r.events);
      homeNodeStops.set(name, r);
    }
    const [bs, cs] = await Promise.all([rpc<{ samples: ProcSample[] }>(broker, { cmd: 'samples' }), rpc<{ samples: ProcSample[] }>(chain, { cmd: 'samples' })]);
    brokerSamples.push(...bs.samples);
    chainSamples.push(...cs.samples);

    // ── accounting: every acknowledged message is seen by the counter or was refused with a code
    const reports = await Promise.all(homesProcs.map((h) => rpc<{ acked: string[]; rejected: [string, string][]; codes: Record<string, number>; retried: Record<string, number>; counts: HomesProgress['counts']; publishErrors: Record<string, number> }>(h, { cmd: 'report' }, 300_000)));
    const rejectedBy = new Map<string, string>();
    for (const r of reports) for (const [id, code] of r.rejected) rejectedBy.set(id, code);
    const byKind = { r: { acked: 0, counted: 0, rejected: 0, dropped: 0 }, b: { acked: 0, counted: 0, rejected: 0, dropped: 0 }, c: { acked: 0, counted: 0, rejected: 0, dropped: 0 } };
    const droppedExamples: string[] = [];
    const ackedBids = new Map<number, number>(); // delivery interval → bids acknowledged and not refused
    for (const r of reports) {
      for (const id of r.acked) {
        const p = parseReqId(id)!;
        const k = byKind[p.kind];
        k.acked++;
        if (counter.received.has(id)) k.counted++;
        else if (rejectedBy.has(id)) k.rejected++;
        else {
          k.dropped++;
          if (droppedExamples.length < 10) droppedExamples.push(id);
        }
        if (p.kind === 'b' && !rejectedBy.has(id)) ackedBids.set(p.n, (ackedBids.get(p.n) ?? 0) + 1);
      }
    }
    const codes: Record<string, number> = {};
    for (const r of reports) for (const [c, n] of Object.entries(r.codes)) codes[c] = (codes[c] ?? 0) + n;
    const counts = reports.map((r) => r.counts);
    const sum = (f: (c: HomesProgress['counts']) => number) => counts.reduce((s, c) => s + f(c), 0);

    // ── auctions: on chain, recomputed, timed
    const auctionOut = [];
    for (const a of auctions) {
      const info = infos.get(a.auctionId) ?? (await rpc<ChainAuctionInfo>(chain, { cmd: 'auction', auctionId: a.auctionId }));
      const t = counter.auctions.get(a.auctionId) ?? {};
      const bidsSeen = [...(counter.bidsByAuction.get(a.auctionId)?.values() ?? [])].sort((x, y) => x.inclusion - y.inclusion);
      let recomputed: { match: boolean; awards: number; awardedWh: number; note?: string } | null = null;
      if (info.params && (info.status === 'closed' || info.status === 'settled')) {
        const want = hemSideFor(info.params.side);
        const offers: ClearingOffer[] = [];
        const closeInclusion = (t.closeBlockHeight ?? Number.MAX_SAFE_INTEGER) * 100_000 + 99_999;
        for (const x of bidsSeen) {
          if (x.inclusion > closeInclusion || x.bid.type !== want) continue;
          const q = bidQuantities(x.bid);
          if (q) offers.push({ address: x.address, feeder: x.feeder, energyWh: q.energyWh, priceMcPerKWh: q.priceMcPerKWh, inclusion: x.inclusion, reqId: x.reqId });
        }
        const res = clearAuction({ auctionId: a.auctionId, ...info.params }, offers);
        const key = (w: { address: string; energyWh: number; priceMcPerKWh: number }) => `${w.address}:${w.energyWh}:${w.priceMcPerKWh}`;
        const mine = res.awards.map(key).sort();
        const theirs = (info.awards ?? []).map(key).sort();
        recomputed = { match: mine.length === theirs.length && mine.every((k, i) => k === theirs[i]) && res.awardedWh === info.awardedWh, awards: res.awards.length, awardedWh: res.awardedWh };
      }
      const awards = info.awards ?? [];
      const limitOk = info.params ? awards.every((w) => (info.params!.side === 'buy' ? w.priceMcPerKWh <= info.params!.limitPriceMcPerKWh : w.priceMcPerKWh >= info.params!.limitPriceMcPerKWh) || info.params!.pricing === 'uniform') : null;
      const feederOk = info.params ? info.params.feederLimits.every((f) => awards.filter((w) => w.feeder === f.feeder).reduce((s, w) => s + w.energyWh, 0) <= (info.params!.side === 'buy' ? f.maxExportWh : f.maxImportWh)) : null;
      auctionOut.push({
        auctionId: a.auctionId,
        side: info.params?.side ?? null,
        pricing: info.params?.pricing ?? null,
        requestedWh: info.params?.energyWh ?? null,
        status: info.status ?? 'not on chain',
        bidsAcked: ackedBids.get(a.n) ?? 0,
        bidsOnChain: info.bidCount ?? null,
        bidsInBlocksSeen: bidsSeen.length,
        awards: awards.length,
        awardedWh: info.awardedWh ?? null,
        clearingPriceMcPerKWh: info.clearingPriceMcPerKWh ?? null,
        excluded: info.excluded ?? null,
        excludedReasons: info.excludedReasons ?? null,
        voidReason: info.voidReason ?? null,
        recomputedClearingMatches: recomputed?.match ?? null,
        awardsWithinLimitPrice: limitOk,
        feederLimitsRespected: feederOk,
        closeToBlockMs: t.closeSignedAt !== undefined && t.closeBlockAt !== undefined ? t.closeBlockAt - t.closeSignedAt : null,
        closeToResultMs: t.closeSignedAt !== undefined && t.resultAt !== undefined ? t.resultAt - t.closeSignedAt : null,
        closeSignedLateMs: t.closeSignedAt !== undefined ? t.closeSignedAt - a.closesAtMs : null,
        resultAwardsPublished: t.resultAwards ?? null,
      });
    }

    const [brokerStats, chainStats] = await Promise.all([
      rpc<Record<string, unknown>>(broker, { cmd: 'stats' }),
      rpc<{ leftOutBlocksByCode: Record<string, number>; finality: Record<string, unknown>; head: { height: number }; stats: { mempool: Record<string, unknown>; produced: number; reorgs: number; droppedMessages: Record<string, number>; rejectedBlocks: Record<string, number>; work: Record<string, Record<string, number>>; admission: Record<string, unknown> } }>(chain, { cmd: 'stats' }),
    ]);
    const readingsAll = [...readingsOnChain, ...readingsTail.filter((x) => !readingsOnChain.some((y) => y.interval === x.interval))];
    const ackedReadingsOf = new Map<number, number>();
    for (const r of reports) for (const id of r.acked) {
      const p = parseReqId(id)!;
      if (p.kind === 'r' && !rejectedBy.has(id)) ackedReadingsOf.set(p.n, (ackedReadingsOf.get(p.n) ?? 0) + 1);
    }
    const delays = auctionOut.map((a) => a.closeToBlockMs).filter((x): x is number => x !== null).sort((x, y) => x - y);
    const resultDelays = auctionOut.map((a) => a.closeToResultMs).filter((x): x is number => x !== null).sort((x, y) => x - y);
    const totalDropped = byKind.r.dropped + byKind.b.dropped + byKind.c.dropped;

    const homeReport = (kind: 'pruned' | 'full') => {
      const name = nodeName(kind);
      if (!homeNodeSamples.has(name)) return undefined;
      return homeNodeReport({
        name, args: homeNodeArgs.get(name) ?? [], samples: homeNodeSamples.get(name) ?? [], events: homeNodeEvents.get(name), stop: homeNodeStops.get(name),
        dayStart, dayEnd, steadyFrom: startOf(first + GENESIS_DEFAULTS.readingRetentionIntervals), intervalMs: I,
      });
    };
    const prunedHome = homeReport('pruned');
    const unprunedHome = homeReport('full');
    const cpName = nodeName('checkpoint');
    const checkpointSync = cpStart ? checkpointSyncReport({
      name: cpName, args: homeNodeArgs.get(cpName) ?? [], start: cpStart,
      samples: homeNodeSamples.get(cpName) ?? [], events: homeNodeEvents.get(cpName), stop: homeNodeStops.get(cpName),
      aggregator: chainTimeline ?? { heads: [], finals: [] },
    }) : undefined;
    const out = {
      bench: 'soak',
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGB: r1(totalmem() / 2 ** 30), node: process.version,
        loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg().map(r2),
        fdLimit: { soft: lim.soft, hard: lim.hard, brokerNeeds: brokerNeeds(homes), homesProcessNeeds: homesNeeds(homes), raisedInChildren: raise(brokerNeeds(homes)) !== undefined },
      },
      setup: {
        homesRequested: HOMES_WANTED,
        homes,
        homesProcesses: PROCS,
        brokers: BROKERS,
        // V8 old-generation caps of the broker and chain processes, as `tmi up` sets them for its parts
        heapCapsMB: HEAP_CAPS ? { broker: HEAP_CAPS.edge, chain: HEAP_CAPS.core } : 'off',
        note: limitNote,
        day: { intervals: D, intervalMs: I, auctionEvery: EVERY, readingSpreadMs: READING_SPREAD, bidSpreadMs: BID_SPREAD, slotMs: SLOT_MS, patience: PATIENCE, feeders: FEEDERS, feederLimits },
        enrolment: ENROL === 'http'
          ? `registry HTTP API through RegistryClient, ${CONCURRENCY} requests in flight per homes process (enrol + certificate per home)`
          : 'registry store in the broker process (createRegistry().store: enroll + issueCertificate, the same checks and level writes as the HTTP API), before any home connects',
        certificateTxWindowPerProcess: CERT_WINDOW,
        enrolSeconds: r1(enrolS),
        enrolPerSecond: Math.round((2 * homes) / enrolS),
        keyDerivationMsMax: Math.max(...setup.map((s) => s.keysMs)),
        loginSeconds: r1(loginS),
        connected,
        certificatesOnChain: certs,
        certificatesStalled: certStall ?? null,
        certificatesSeconds: r1(certS),
      },
      messages: {
        readings: byKind.r,
        bids: byKind.b,
        certificateTxs: byKind.c,
        dropped: totalDropped,
        droppedExamples,
        refusedByBroker: codes,
        retriedAfterRefusal: reports.reduce<Record<string, number>>((acc, r) => {
          for (const [k, v] of Object.entries(r.retried)) acc[k] = (acc[k] ?? 0) + v;
          return acc;
        }, {}),
        counterDuplicates: counter.duplicates,
        counterDisconnects: counter.disconnects,
        counterDisconnectReasons: counter.disconnectReasons,
        homesReconnects: sum((c) => c.reconnects),
        homesConnectionCloses: sum((c) => c.closes),
        publishErrors: reports.reduce<Record<string, number>>((acc, r) => {
          for (const [k, v] of Object.entries(r.publishErrors)) acc[k] = (acc[k] ?? 0) + v;
          return acc;
        }, {}),
      },
      readingsOnChain: readingsAll.sort((x, y) => x.interval - y.interval).map((x) => ({ ...x, acked: ackedReadingsOf.get(x.interval) ?? 0 })),
      auctions: auctionOut,
      auctionsNotOpened: auctionErrors,
      closeToBlockMs: { p50: pct(delays, 50), max: delays.at(-1) ?? null, note: 'aggregator signs auction-close → the block holding it arrives at the counting subscriber' },
      closeToResultMs: { p50: pct(resultDelays, 50), max: resultDelays.at(-1) ?? null, note: 'aggregator signs auction-close → its auction-result (from the chain) arrives at the counting subscriber' },
      memory: {
        broker: { ...trendOf(brokerSamples, dayStart, dayEnd), fdsMax: Math.max(...brokerSamples.map((x) => x.fds ?? -1)), seriesSecondsMB: series(brokerSamples, dayStart, 'rssMB'), heapUsedSecondsMB: series(brokerSamples, dayStart, 'heapUsedMB'), heapTotalSecondsMB: series(brokerSamples, dayStart, 'heapTotalMB'), externalSecondsMB: series(brokerSamples, dayStart, 'externalMB') },
        chainNode: { ...trendOf(chainSamples, dayStart, dayEnd), seriesSecondsMB: series(chainSamples, dayStart, 'rssMB'), heapUsedSecondsMB: series(chainSamples, dayStart, 'heapUsedMB'), heapTotalSecondsMB: series(chainSamples, dayStart, 'heapTotalMB'), arrayBuffersSecondsMB: series(chainSamples, dayStart, 'arrayBuffersMB'), note: 'the chain process also holds the aggregator' },
        homesProcessesTotalMB: homesRss.map(([t, mb]) => [r1((t - dayStart) / 1000), r1(mb)]),
      },
      cpu: {
        brokerCoresDuringDay: coresOf(brokerSamples, dayStart, dayEnd),
        chainCoresDuringDay: coresOf(chainSamples, dayStart, dayEnd),
        homesProcessesCoresDuringDay: coresOf(homesCpu, dayStart, dayEnd),
        brokerEventLoopDelay: loopDelayOf(brokerSamples, dayStart, dayEnd),
        chainEventLoopDelay: loopDelayOf(chainSamples, dayStart, dayEnd),
      },
      broker: brokerStats,
      // [SOAK_BROKERS] the brokers after the first: memory, cores, connections and their own counters
      ...(extraBrokers.length > 0 ? { redis: redis!.url, extraBrokers: await Promise.all(extraBrokers.map(async (x, k) => ({
        mqttUrl: brokerUrls[k + 1],
        memory: { ...trendOf(extraBrokerSamples[k]!, dayStart, dayEnd), fdsMax: Math.max(...extraBrokerSamples[k]!.map((y) => y.fds ?? -1)) },
        coresDuringDay: coresOf(extraBrokerSamples[k]!, dayStart, dayEnd),
        eventLoopDelay: loopDelayOf(extraBrokerSamples[k]!, dayStart, dayEnd),
        connectedMax: Math.max(...extraBrokerSamples[k]!.map((y) => Number(y.connected ?? 0))),
        stats: await rpc<Record<string, unknown>>(x, { cmd: 'stats' }),
      }))) } : {}),
      chain: { leftOutBlocksByCode: chainStats.leftOutBlocksByCode, finality: chainStats.finality, height: chainStats.head.height, produced: chainStats.stats.produced, reorgs: chainStats.stats.reorgs, mempool: chainStats.stats.mempool, droppedMessages: chainStats.stats.droppedMessages, rejectedBlocks: chainStats.stats.rejectedBlocks, work: roundAll(chainStats.stats.work), admission: chainStats.stats.admission },
      counter: { blocks: counter.blocks.count, blockTxs: counter.blocks.txs, largestBlockBytes: counter.blocks.maxBytes, otherMessages: counter.others },
      // [STORE-P] the chain nodes of homes: on-disk size of <data>/chain (sum of file sizes), RSS, CPU, writes, pruned base
      ...(prunedHome ? { prunedHome } : {}),
      ...(unprunedHome ? { unprunedHome } : {}),
      // [SYNC-C] a fresh node started from the aggregator node's final checkpoint near the end of the day
      checkpointSync: checkpointSync ?? null,
      crashes,
      verdict: {
        noCrash: crashes.length === 0,
        droppedZero: totalDropped === 0,
        everyAuctionCleared: auctionOut.length > 0 && auctionOut.every((a) => a.status === 'closed' || a.status === 'settled'),
        everyBidOnChain: auctionOut.every((a) => a.bidsOnChain === a.bidsAcked),
        clearingRecomputedMatches: auctionOut.every((a) => a.recomputedClearingMatches === true),
        // counted two intervals after each interval (the last three after the drain)
        everyReadingOnChainWithinTwoIntervals: readingsAll.every((x) => x.onChain === (ackedReadingsOf.get(x.interval) ?? 0)),
        brokerRssGrowing: [brokerSamples, ...extraBrokerSamples].some((xs) => trendOf(xs, dayStart, dayEnd).trend.startsWith('growing')),
        chainRssGrowing: trendOf(chainSamples, dayStart, dayEnd).trend.startsWith('growing'),
        // [STORE-P] the pruned home pruned, and its directory did not grow steadily once the state was full
        ...(prunedHome ? { prunedHomePruned: prunedHome.prunes > 0, prunedHomeDataDirBounded: prunedHome.dataDirBounded } : {}),
        // [SYNC-C] the fresh node stored the checkpoint and synced the blocks above it; then its final block followed the aggregator node's
        ...(checkpointSync ? { checkpointSyncDone: checkpointSync.msToInitialSyncDone !== null, checkpointSyncFinalFollows: checkpointSync.msToAggregatorFinal !== null } : {}),
      },
      durationS: r1((Date.now() - T0) / 1000),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    closing = true;
    for (const h of homesProcs) await rpc(h, { cmd: 'close' }, 60_000).catch(() => undefined);
    await counter.close().catch(() => undefined);
    counter = undefined;
    if (homeNodes) await rpc(homeNodes, { cmd: 'close' }, 60_000).catch(() => undefined);
    await rpc(chain, { cmd: 'close' }, 60_000).catch(() => undefined);
    for (const x of extraBrokers) await rpc(x, { cmd: 'close' }, 60_000).catch(() => undefined);
    await rpc(broker, { cmd: 'close' }, 60_000).catch(() => undefined);
  } finally {
    closing = true;
    await counter?.close().catch(() => undefined);
    // children exit by themselves after `close` (or when this process's IPC channel closes); SIGKILL stragglers
    const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
    for (let k = 0; k < 100 && !children.every(exited); k++) await sleep(100);
    for (const c of children) if (!exited(c)) c.kill('SIGKILL');
    await redis?.stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  }
}

const role = process.argv[2];
if (role === 'broker') void brokerProcess();
else if (role === 'chain') void chainProcess();
else if (role === 'homes') void homesProcess();
else if (role === 'homeNodes') void homeNodeProcess();
else {
  const stop = () => {
    log('interrupted');
    // the children exit when this process's IPC channel closes
    if (dataDirToRemove) rmSync(dataDirToRemove, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
