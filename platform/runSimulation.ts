/**
 * The main job (`tmi simulate`, `npm start`): the whole platform and a community of
 * HEMs for compressed simulated days, over real MQTT on loopback, with real processes
 * for the homes. At the end it writes a report and checks the chain.
 *
 *   1. platform (registry, broker, aggregator chain node, aggregator, analytics) in this process
 *   2. homes enrolled by the operator; feeder limits set in the registry and put on chain [FEEDER-1]
 *   3. one `hem` process per home (sim adapter, its own chain node when RE/RE+TE)
 *   4. days × 96 intervals of 15 simulated minutes, `intervalMs` of wall time each
 *   5. homes stopped, platform stopped; the chain re-verified block by block from disk, and
 *      every figure of the report computed from those verified blocks (chainFigures.ts);
 *      with `serve`, the dashboard is then served again from the stored analytics data
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { generateKeyPair } from '../wire/keys.js';
import { writeKeyFile } from '../wire/keyFile.js';
import { verifyChain } from '../poe-chain/store/verifyChain.js';
import { chainLevel } from '../poe-chain/store/chainDataDir.js';
import { startPlatform, type Platform } from './startPlatform.js';
import { planSimulation, type Plan } from './simulationPlan.js';
import { buildReportData, writeReport, type OffChainFacts, type ReportData } from './simulationReport.js';
import { createChainTally } from './chainFigures.js';
import { Level } from 'level';
import { createAnalytics } from '../analytics/createAnalytics.js';
import { HEM_NODE_FLAGS } from '../hem/nodeFlags.js';
import { settlesWithin } from '../wire/settlesWithin.js';

export interface SimulateOptions {
  homes: number;
  days: number;
  /** run only this many intervals (a short simulation); default days × 96 */
  intervals?: number;
  seed: number;
  /** wall-clock ms per 15-minute interval */
  intervalMs: number;
  /** first simulated day (YYYY-MM-DD, the profiles' local time) */
  date: string;
  dataDir: string;
  outDir: string;
  /** a CSV in the format of the shared metered data: every home replays it */
  csv?: string;
  /** keep the platform and dashboard running after the report */
  serve?: boolean;
  analyticsPort?: number;
  log?: Logger;
  progress?: (p: Progress) => void;
  /** called once the platform is up (the dashboard is live from then on) */
  onStarted?: (urls: Platform['urls']) => void;
}

/** Live progress, from the analytics follower while the day runs (the report's figures come from the verified chain). */
export interface Progress {
  interval: number;
  intervals: number;
  blocks: number;
  auctions: number;
  tradedWh: number;
  /** readings seen in blocks */
  readingsOnChain: number;
}

export interface SimulationResult {
  report: ReportData;
  reportDir: string;
  dataDir: string;
  dashboard?: string;
  /** the chain as stored on disk, re-validated block by block from genesis (always, --serve included) */
  chainVerified: { ok: boolean; height: number; error?: string };
  /** when serve: stops the dashboard */
  stop?: () => Promise<void>;
}

const HEM_MAIN = fileURLToPath(new URL('../hem/main.js', import.meta.url));
const SLOTS_PER_DAY = 96;

async function fetchJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`HTTP_${r.status} ${url}`);
  return (await r.json()) as T;
}

/** [FEEDER-1] relays the registry's feeder limits and waits (within `ms`) until the chain holds every one of `feeders`. */
async function feederLimitsOnChain(platform: Platform, feeders: string[], ms: number, log: Logger): Promise<void> {
  if (!platform.aggregator || feeders.length === 0) return;
  await platform.aggregator.syncFeederLimits();
  const until = Date.now() + ms;
  while (!feeders.every((f) => platform.node.state().sections.feederLimits.has(f))) {
    if (Date.now() > until) {
      log.warn({ feeders }, 'feeder limits not on chain yet');
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runSimulation(o: SimulateOptions): Promise<SimulationResult> {
  const log = o.log ?? pino({ level: 'silent' });
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const dataDir = resolve(o.dataDir);
  await mkdir(dataDir, { recursive: true });
  const plan: Plan = planSimulation({ homes: o.homes, seed: o.seed, date: o.date });
  const speed = 900_000 / o.intervalMs;

  // 1. the platform; the aggregator's first schedule comes from yesterday's profiles
  const platform: Platform = await startPlatform({
    dataDir,
    intervalMs: o.intervalMs,
    ports: { analytics: o.analyticsPort ?? 0 },
    log: log.child({ part: 'platform' }),
    aggregator: {
      slotsPerDay: SLOTS_PER_DAY,
      priorNetLoadWh: plan.priorNetLoadWh,
      // independent homes' deviations add up like √n, so the threshold does too
      deviation: { thresholdWh: Math.round(150 * Math.sqrt(o.homes)), thresholdFraction: 0.1, maxEnergyWh: 400 * o.homes },
    },
  });
  timings.platformStartMs = Date.now() - t0;
  o.onStarted?.(platform.urls);
  const children: ChildProcess[] = [];
  let stopped = false;
  try {
    // 2. the operator enrols the homes and sets feeder limits; [FEEDER-1] the aggregator puts
    //    the registry's signed limits on chain before the first auction or P2P market clears
    for (const f of plan.feeders) await platform.registryClient.setFeeder(f.feeder, { maxExportWh: f.maxExportWh, maxImportWh: f.maxImportWh });
    await feederLimitsOnChain(platform, plan.feeders.map((f) => f.feeder), Math.max(10_000, 2 * o.intervalMs), log);
    const startWall = new Date(platform.genesis.genesisTimeMs).toISOString();
    for (const h of plan.homes) {
      const dir = join(dataDir, 'homes', h.meterId);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const key = generateKeyPair();
      await writeKeyFile(join(dir, 'meter-key.json'), key, h.meterId);
      await platform.registryClient.enroll({
        meterId: h.meterId, serial: `SIM-${h.meterId}`, meterType: 'simulated smart meter', publicKey: key.address,
        feeder: h.feeder, programme: h.programme, role: 'hem',
      });
      const config = {
        meterId: h.meterId,
        dataDir: dir,
        meterKeyFile: join(dir, 'meter-key.json'),
        broker: { url: platform.urls.mqtt, reconnectMs: 500 },
        registry: { url: platform.urls.registry, publicKey: platform.registry.address },
        aggregatorAddress: platform.keys.aggregator.address,
        brokerAddress: platform.broker.address,
        intervalMs: o.intervalMs,
        speed,
        underDeliverFactor: h.underDeliverFactor,
        // [P2P-UNTIL] no P2P order for an interval after the day: it could not be revealed once the homes stop
        market: { until: new Date(platform.genesis.genesisTimeMs + (o.intervals ?? o.days * SLOTS_PER_DAY) * o.intervalMs).toISOString() },
        ...(h.programme !== 'TE' ? { chain: { genesis: platform.paths.genesis, produce: true } } : {}),
        adapter: {
          type: 'sim',
          seed: h.seed,
          initialSoc: h.initialSoc,
          pvPeakW: h.pvPeakW,
          ...(h.flexibleLoad ? { flexibleLoad: h.flexibleLoad } : {}),
          profile: { startDate: o.date, days: Math.max(1, o.days), intervalMinutes: 15 },
          startWall,
          ...(o.csv ? { csv: resolve(o.csv) } : {}),
        },
        // [PLAN-KIND] no battery: zero power; no PV: pvPeakW 0
        battery: h.battery,
        log: { level: 'info' },
      };
      await writeFile(join(dir, 'hem.json'), JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
    }
    timings.enrolMs = Date.now() - t0 - timings.platformStartMs;

    // 3. one process per home
    for (const h of plan.homes) {
      const dir = join(dataDir, 'homes', h.meterId);
      const out = createWriteStream(join(dir, 'hem.log'));
      const child = spawn(process.execPath, [...HEM_NODE_FLAGS, HEM_MAIN, '--config', join(dir, 'hem.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.pipe(out);
      child.stderr?.pipe(out);
      children.push(child);
    }

    // 4. run the simulated days; the clock is the genesis grid
    const intervals = o.intervals ?? o.days * SLOTS_PER_DAY;
    const endMs = platform.genesis.genesisTimeMs + (intervals + 1) * o.intervalMs;
    const tickMs = Math.min(1000, o.intervalMs);
    while (Date.now() < endMs) {
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(tickMs, endMs - Date.now()))));
      const dead = children.filter((c) => c.exitCode !== null);
      if (dead.length) log.warn({ dead: dead.length }, 'HEM processes exited');
      if (o.progress) {
        const s = await fetchJson<{ height: number; auctions: Record<string, number> | number; tradedWh: number; readingsOnChain: number }>(`${platform.urls.analytics}/api/summary`).catch(() => undefined);
        const auctions = s ? (typeof s.auctions === 'number' ? s.auctions : Object.values(s.auctions).reduce((a, b) => a + b, 0)) : 0;
        o.progress({
          interval: Math.min(intervals, Math.floor((Date.now() - platform.genesis.genesisTimeMs) / o.intervalMs)),
          intervals, blocks: s?.height ?? platform.node.head().height, auctions, tradedWh: s?.tradedWh ?? 0, readingsOnChain: s?.readingsOnChain ?? 0,
        });
      }
    }
    timings.runMs = Date.now() - t0 - timings.platformStartMs - timings.enrolMs;

    // 5. stop the homes, let the last blocks land
    await Promise.all(children.map((c) => new Promise<void>((r) => {
      if (c.exitCode !== null) return r();
      c.once('exit', () => r());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
    })));
    // what the homes sent before they stopped reaches a block: wait until the mempool is
    // empty (the aggregator node's inclusion window comes every interval), within a bound
    const drainUntil = Date.now() + Math.max(5_000, 3 * o.intervalMs);
    do {
      // bounded: a node whose work queue does not drain must not hold the day's end forever
      const idle = await settlesWithin(platform.node.idle(), drainUntil - Date.now());
      if (!idle) log.warn({ event: 'node-not-idle', stats: platform.node.stats().work }, 'the chain node was still busy when the drain time ran out');
      await new Promise((r) => setTimeout(r, Math.min(250, o.intervalMs)));
    } while (platform.node.stats().mempool.count > 0 && Date.now() < drainUntil);
    const leftInMempool = platform.node.stats().mempool.count;
    if (leftInMempool > 0) log.warn({ event: 'mempool-not-drained', transactions: leftInMempool }, 'transactions still waiting for a block when the day ended');
    // what is not on the chain: the aggregator's schedule and its own books
    const off: OffChainFacts = {
      scheduleWh: Array.from({ length: intervals }, (_, i) => platform.aggregator?.schedule(Math.floor(i / SLOTS_PER_DAY))?.[i % SLOTS_PER_DAY] ?? null),
      aggregatorLedger: platform.aggregator?.ledger().totals ?? null,
    };
    const analyticsPort = platform.urls.analytics ? Number(new URL(platform.urls.analytics).port) : undefined;
    const genesis = platform.genesis;
    stopped = true;
    await platform.stop();

    // the chain as stored on disk, re-validated block by block from genesis; the figures
    // come from the blocks as they validate
    const tally = createChainTally(genesis);
    const db = chainLevel(dataDir);
    let chainVerified: SimulationResult['chainVerified'];
    let localFinalizedHeight: number | undefined;
    try {
      const v = await verifyChain(db, { onBlock: (applied, parent) => tally.add(applied, parent) });
      chainVerified = v.ok ? { ok: true, height: v.height } : { ok: false, height: v.height, error: `${v.code} at height ${v.height}: ${v.reason}` };
      // [CF-9] the aggregator node's own final checkpoint when it stopped (its store's record)
      const rec = await db.get('n:final').catch(() => undefined);
      if (rec !== undefined) localFinalizedHeight = (JSON.parse(rec) as { height: number }).height;
    } finally {
      await db.close().catch(() => undefined);
    }
    timings.totalMs = Date.now() - t0;
    const data = buildReportData({ ...o, intervals, plan, timings }, tally.figures(localFinalizedHeight !== undefined ? { localFinalizedHeight } : {}), chainVerified, off);
    const reportDir = resolve(o.outDir);
    await writeReport(reportDir, data);

    if (o.serve && analyticsPort !== undefined) {
      // the day is over: the dashboard shows the stored day, and the chain no longer moves on
      const served = await serveStoredAnalytics(join(dataDir, 'analytics'), analyticsPort, log);
      return { report: data, reportDir, dataDir, chainVerified, dashboard: served.url, stop: served.stop };
    }
    return { report: data, reportDir, dataDir, chainVerified };
  } catch (err) {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    if (!stopped) await platform.stop();
    throw err;
  }
}

/** Analytics alone over its stored data (no broker, no chain follower): the dashboard of a finished run. */
async function serveStoredAnalytics(dir: string, port: number, log: Logger): Promise<{ url: string; stop: () => Promise<void> }> {
  const db = new Level<string, string>(dir, { valueEncoding: 'utf8' });
  await db.open();
  const an = await createAnalytics({ db, log: log.child({ part: 'analytics' }) });
  const l = await an.listen(port, '127.0.0.1');
  return {
    url: l.url,
    async stop() {
      await an.close();
      await db.close();
    },
  };
}
