/**
 * P2P market latency with 1,000 simulated HEMs (`npm run bench:market-latency`, prints one
 * JSON object): every home trades in the peer-to-peer market [MKT] of BENCH_INTERVALS
 * consecutive short delivery intervals, and the bench times
 *
 *   orderToChain   a `market-order` published → the block holding it applied by the
 *                  aggregator's chain node (its 'block' event, matched by transaction id)
 *   revealToChain  the same for the `market-reveal`
 *   gateToResult   the gate, marketGate(e) → the signed `market-result` of e arriving at a
 *                  home (every home subscribes to tmi/v1/market/results/+, as PROTOCOL §8 says)
 *   gateToClearingBlock  the gate → the node applied the block that clears e
 *
 * Processes (all on loopback, sharing the machine's cores):
 *   - the platform as `tmi up` starts it (startPlatform: registry, broker with edge
 *     validation, the aggregator's chain node — the only producer, as no home sends
 *     readings —, the aggregator with its market-result republisher, analytics), in a child
 *     process that also records, for every transaction id, when the node admitted it to its
 *     mempool and applied the block holding it, and when each market cleared.
 *   - BENCH_WORKERS children holding the BENCH_HEMS HEM clients (bench/hemFleet.ts: enrolled
 *     meter, certified pseudonym on chain, one MQTT login each).
 *   - this orchestrator: plans the intervals, collects the times, prints the figures.
 *
 * Timing (genesis: interval I, gate closure G, reveal window R): for delivery [S, S + I) the
 * order must be in a block before S − G − R, the reveal in [S − G − R, S − G), the chain
 * clears at the gate S − G. Every home sends its order at S − G − R − BENCH_ORDER_LEAD_MS
 * and its reveal at S − G − R + BENCH_REVEAL_MARGIN_MS, all at the same instant (the HEM
 * decides at its metering tick, so real homes burst too). Half buy, half sell (alternating
 * by home and interval), 0.5–1.5 kWh at crossing prices, so most orders fill.
 *
 * Env: BENCH_HEMS (1000), BENCH_WORKERS (2), BENCH_INTERVALS (4), BENCH_INTERVAL_MS (10000),
 * BENCH_GATE_CLOSURE_MS (2000), BENCH_REVEAL_WINDOW_MS (3000), BENCH_ORDER_LEAD_MS (4000),
 * BENCH_REVEAL_MARGIN_MS (500), BENCH_SLOT_MS and BENCH_PATIENCE (the genesis
 * defaults S and W: 100 ms, 20); BENCH_UP_LOG=<file>
 * (+ BENCH_UP_LOG_LEVEL) keeps the platform's log.
 * Targets: order → on chain p50 ≤ 1 s; gate → result p50 ≤ 1 s.
 */
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { encode, signEnvelope } from '../wire/codec.js';
import { txId } from '../poe-chain/core/txId.js';
import { sealOrder } from '../poe-chain/core/market/orderCommitment.js';
import { epochStart, marketGate, marketOrderClose, parseGenesis, slotTime } from '../poe-chain/core/genesis.js';
import type { MarketOrder } from '../schemas/types.js';
import { startPlatform, type Platform } from '../platform/startPlatform.js';
import { machine } from './machine.js';
import { rpc, serve, type Msg } from './soak/soakIpc.js';
import { connectFleet, cpuSampler, enrolFleet, forkWorkers, stats, waitFor, wallNow, type FleetClient, type FleetInit } from './hemFleet.js';
import { GENESIS_DEFAULTS } from '../poe-chain/core/genesis.js';

const SELF = fileURLToPath(import.meta.url);
const HEMS = Number(process.env.BENCH_HEMS ?? 1000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const INTERVALS = Number(process.env.BENCH_INTERVALS ?? 4);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 10_000);
const GATE_CLOSURE_MS = Number(process.env.BENCH_GATE_CLOSURE_MS ?? 2000);
const REVEAL_WINDOW_MS = Number(process.env.BENCH_REVEAL_WINDOW_MS ?? 3000);
const ORDER_LEAD_MS = Number(process.env.BENCH_ORDER_LEAD_MS ?? 4000);
const REVEAL_MARGIN_MS = Number(process.env.BENCH_REVEAL_MARGIN_MS ?? 500);
const SLOT_MS = Number(process.env.BENCH_SLOT_MS ?? GENESIS_DEFAULTS.slotMs);
const PATIENCE = Number(process.env.BENCH_PATIENCE ?? GENESIS_DEFAULTS.patience);
const TOPIC_ORDERS = 'tmi/v1/market/orders';
const TOPIC_RESULTS = 'tmi/v1/market/results/+';
const TARGET_P50_MS = 1000;

/** one interval's market as the workers play it */
interface PlannedInterval {
  epoch: number;
  startMs: number;
  endMs: number;
  sendAt: number;
  revealAt: number;
  orderClose: number;
  gate: number;
}

// ── the platform: startPlatform, and what its chain node did when ───────────────

async function platformProcess(): Promise<void> {
  let p: Platform | undefined;
  /** txId → [admitted to the mempool, block applied, height] (ms, local clock of the node) */
  const seen = new Map<string, [number | null, number | null, number | null]>();
  /** epoch → when the node applied the block that cleared it */
  const cleared = new Map<number, { at: number; height: number; blockTime: number }>();
  const handlers: Record<string, (m: Msg) => Promise<Record<string, unknown>>> = {
    async start(m) {
      const log = process.env.BENCH_UP_LOG ? pino({ level: process.env.BENCH_UP_LOG_LEVEL ?? 'info' }, createWriteStream(process.env.BENCH_UP_LOG)) : undefined;
      p = await startPlatform({
        dataDir: String(m.dataDir), intervalMs: INTERVAL_MS, slotMs: SLOT_MS, patience: PATIENCE,
        market: { gateClosureMs: GATE_CLOSURE_MS, revealWindowMs: REVEAL_WINDOW_MS },
        ports: { registry: 0, mqtt: 0, aggregator: 0, analytics: 0 },
        ...(log ? { log } : {}),
      });
      const node = p.node;
      node.on('pending', (e) => {
        const r = seen.get(e.txId);
        if (r) r[0] ??= Date.now();
        else seen.set(e.txId, [Date.now(), null, null]);
      });
      node.on('block', (ev) => {
        for (const id of ev.txIds) {
          const r = seen.get(id);
          if (r) {
            r[1] = ev.at;
            r[2] = ev.height;
          } else seen.set(id, [null, ev.at, ev.height]);
        }
        // the intervals whose gate is at or just before the block's time
        const g = node.genesis;
        const blockTime = slotTime(g, ev.block.parameters.header.slot);
        const near = Math.floor((blockTime + g.gateClosureMs - g.genesisTimeMs) / g.intervalMs);
        for (let e = near - 1; e <= near + 1; e++) {
          if (ev.state.sections.markets.get(String(e))?.clearedHeight === ev.height && !cleared.has(e)) cleared.set(e, { at: ev.at, height: ev.height, blockTime });
        }
      });
      return {
        urls: p.urls, adminToken: p.adminToken, registryKey: p.registry.address, aggregatorKey: p.keys.aggregator.address,
        genesis: p.genesis.config,
      };
    },
    async txs(m) {
      return { rows: (m.ids as string[]).map((id) => seen.get(id) ?? [null, null, null]) };
    },
    async cleared() {
      return { cleared: Object.fromEntries(cleared) };
    },
    async stats() {
      const s = p!.node.stats();
      return { work: s.work, admission: s.admission, mempool: s.mempool, head: s.head.height };
    },
    async close() {
      await p?.stop();
      setImmediate(() => process.exit(0));
      return {};
    },
  };
  serve(handlers);
}

// ── worker: a share of the HEM clients ─────────────────────────────────────────

async function worker(): Promise<void> {
  let init: FleetInit | undefined;
  let clients: FleetClient[] = [];
  const errors: Record<string, number> = {};
  const brokerErrors: Record<string, number> = {};
  /** per (epoch, client): order [txId, published, PUBACK], reveal likewise, result arrival */
  type Sent = { id: string; at: number; ack: number | null };
  const orders = new Map<string, Sent>();
  const reveals = new Map<string, Sent>();
  const resultAt = new Map<number, Map<number, number>>();
  /** per epoch: the result as parsed once (every client receives its own copy) */
  const results = new Map<number, { date: number; fills: number; volumeWh: number; height: number; mine: Set<string> }>();
  let publishErrors = 0;

  function onMessage(h: FleetClient, topic: string, payload: Buffer): void {
    const t = wallNow();
    if (topic.startsWith('tmi/v1/clients/')) {
      const e = (JSON.parse(payload.toString('utf8')) as { parameters?: { code?: string; reason?: string } }).parameters;
      const code = `${e?.code ?? 'UNKNOWN'}: ${(e?.reason ?? '').replace(/[0-9a-f]{16,}/g, '…').slice(0, 100)}`;
      brokerErrors[code] = (brokerErrors[code] ?? 0) + 1;
      return;
    }
    if (!topic.startsWith('tmi/v1/market/results/')) return;
    const epoch = Number(topic.slice('tmi/v1/market/results/'.length));
    let byClient = resultAt.get(epoch);
    if (!byClient) resultAt.set(epoch, (byClient = new Map()));
    if (!byClient.has(h.i)) byClient.set(h.i, t);
    if (results.has(epoch)) return;
    const env = JSON.parse(payload.toString('utf8')) as { clientId: string; date: string; parameters: { volumeWh: number; height: number; fills: { address: string }[] } };
    if (env.clientId !== init!.aggregatorKey) return;
    results.set(epoch, { date: Date.parse(env.date), fills: env.parameters.fills.length, volumeWh: env.parameters.volumeWh, height: env.parameters.height, mine: new Set(env.parameters.fills.map((f) => f.address)) });
  }

  function publish(h: FleetClient, env: object, into: Map<string, Sent>, key: string): void {
    const s: Sent = { id: txId(env), at: wallNow(), ack: null };
    into.set(key, s);
    h.client.publishAsync(TOPIC_ORDERS, encode(env), { qos: 1 }).then(() => (s.ack = wallNow()), () => publishErrors++);
  }

  /** the order of home i for an interval: alternately buy and sell, 0.5–1.5 kWh, crossing prices */
  function orderOf(h: FleetClient, iv: PlannedInterval) {
    const side: 'buy' | 'sell' = (h.i + iv.epoch) % 2 === 0 ? 'buy' : 'sell';
    const energyWh = 500 + ((h.i * 7919 + iv.epoch * 31) % 1000);
    const priceMcPerKWh = side === 'buy' ? 12_000 + ((h.i * 104_729) % 16_000) : 5_000 + ((h.i * 104_729) % 16_000);
    return { orderId: `p2p-${iv.startMs}`, address: h.pseudonym.address, side, energyWh, priceMcPerKWh };
  }

  function play(iv: PlannedInterval): void {
    const salts = new Map<number, string>();
    setTimeout(() => {
      for (const h of clients) {
        const o = orderOf(h, iv);
        const seal = sealOrder(o);
        salts.set(h.i, seal.salt);
        const wire: MarketOrder = {
          orderId: o.orderId, address: o.address, feeder: h.feeder, side: o.side,
          delivery: { start: new Date(iv.startMs).toISOString(), end: new Date(iv.endMs).toISOString() }, intervals: 1, commitment: seal.commitment,
        };
        publish(h, signEnvelope(h.pseudonym, 'market-order', wire, { chain: h.chain }), orders, `${iv.epoch}:${h.i}`);
      }
    }, Math.max(0, iv.sendAt - Date.now()));
    setTimeout(() => {
      for (const h of clients) {
        const o = orderOf(h, iv);
        const salt = salts.get(h.i);
        if (salt === undefined) continue;
        publish(h, signEnvelope(h.pseudonym, 'market-reveal', { orderId: o.orderId, address: o.address, energyWh: o.energyWh, priceMcPerKWh: o.priceMcPerKWh, salt }, { chain: h.chain }), reveals, `${iv.epoch}:${h.i}`);
      }
    }, Math.max(0, iv.revealAt - Date.now()));
  }

  const handlers: Record<string, (m: Msg) => Promise<Record<string, unknown>>> = {
    async start(m) {
      init = m.init as FleetInit;
      const up = await connectFleet(init, { topics: (_i, id) => [TOPIC_RESULTS, `tmi/v1/clients/${id}/errors`], onMessage, errors, qos: 1 });
      clients = up.clients;
      return { certMs: Math.round(up.certMs), connectMs: Math.round(up.connectMs), clients: clients.length, certTxIds: clients.map((h) => h.certTxId) };
    },
    async plan(m) {
      for (const iv of m.intervals as PlannedInterval[]) play(iv);
      return {};
    },
    async report(m) {
      const e = Number(m.epoch);
      const rows = clients.map((h) => {
        const o = orders.get(`${e}:${h.i}`);
        const r = reveals.get(`${e}:${h.i}`);
        return { order: o ?? null, reveal: r ?? null, resultAt: resultAt.get(e)?.get(h.i) ?? null, filled: results.get(e)?.mine.has(h.pseudonym.address) ?? false };
      });
      const res = results.get(e);
      return { rows, result: res ? { date: res.date, fills: res.fills, volumeWh: res.volumeWh, height: res.height } : null, publishErrors, brokerErrors, errors };
    },
    async close() {
      await Promise.all(clients.map((h) => h.client.endAsync(true).catch(() => undefined)));
      setImmediate(() => process.exit(0));
      return {};
    },
  };
  serve(handlers);
}

// ── orchestrator ────────────────────────────────────────────────────────────────

interface PlatformInfo {
  urls: { registry: string; mqtt: string };
  adminToken: string;
  registryKey: string;
  aggregatorKey: string;
  genesis: unknown;
}

type Sent = { id: string; at: number; ack: number | null };
type Row = { order: Sent | null; reveal: Sent | null; resultAt: number | null; filled: boolean };
type WorkerReport = { rows: Row[]; result: { date: number; fills: number; volumeWh: number; height: number } | null; publishErrors: number; brokerErrors: Record<string, number>; errors: Record<string, number> };

async function orchestrate(): Promise<void> {
  const t0 = wallNow();
  const dataDir = await mkdtemp(join(tmpdir(), 'tmi-bench-market-latency-'));
  const runSeed = createHash('sha256').update(dataDir).digest('hex');
  const children: ChildProcess[] = [];
  let up: ChildProcess | undefined;
  try {
    // 1. the platform
    up = fork(SELF, ['--platform'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((r) => up!.once('message', () => r()));
    const info = await rpc<PlatformInfo>(up, { cmd: 'start', dataDir: join(dataDir, 'up') });
    const g = parseGenesis(info.genesis);
    const upStartMs = wallNow() - t0;

    // 2. meters, certified pseudonyms, connections, certificates on chain
    const t1 = wallNow();
    await enrolFleet({ registryUrl: info.urls.registry, adminToken: info.adminToken, runSeed, hems: HEMS });
    const enrolMs = wallNow() - t1;
    const t2 = wallNow();
    await forkWorkers(SELF, WORKERS, children);
    const per = Math.ceil(HEMS / WORKERS);
    const started = await Promise.all(children.map((c, w) => rpc<{ certMs: number; connectMs: number; clients: number; certTxIds: string[] }>(c, {
      cmd: 'start',
      init: { runSeed, from: w * per, to: Math.min(HEMS, (w + 1) * per), mqttUrl: info.urls.mqtt, registryUrl: info.urls.registry, registryKey: info.registryKey, aggregatorKey: info.aggregatorKey } satisfies FleetInit,
    })));
    const connectMs = wallNow() - t2;
    const certIds = started.flatMap((s) => s.certTxIds);
    const t3 = wallNow();
    await waitFor('every certificate on chain', 60_000, async () => {
      const { rows } = await rpc<{ rows: (number | null)[][] }>(up!, { cmd: 'txs', ids: certIds });
      return rows.every((r) => r[1] !== null) ? true : undefined;
    }, 500);
    const certsOnChainMs = wallNow() - t3;

    // 3. the plan: BENCH_INTERVALS consecutive intervals, the first whose orders go out ≥ 3 s from now
    const lead = g.gateClosureMs + g.revealWindowMs + ORDER_LEAD_MS;
    let e0 = Math.ceil((Date.now() + 3000 + lead - g.genesisTimeMs) / g.intervalMs);
    while (epochStart(g, e0) - lead < Date.now() + 3000) e0++;
    const plan: PlannedInterval[] = Array.from({ length: INTERVALS }, (_, k) => {
      const e = e0 + k;
      const orderClose = marketOrderClose(g, e);
      return { epoch: e, startMs: epochStart(g, e), endMs: epochStart(g, e + 1), sendAt: orderClose - ORDER_LEAD_MS, revealAt: orderClose + REVEAL_MARGIN_MS, orderClose, gate: marketGate(g, e) };
    });
    await Promise.all(children.map((c) => rpc(c, { cmd: 'plan', intervals: plan })));
    const sampler = cpuSampler(() => [up!.pid, ...children.map((c) => c.pid)]);
    const last = plan[plan.length - 1]!;
    // the last result at every home, or 15 s after the last gate
    await new Promise((r) => setTimeout(r, Math.max(0, last.gate - Date.now())));
    const reportsOf = (e: number) => Promise.all(children.map((c) => rpc<WorkerReport>(c, { cmd: 'report', epoch: e })));
    await waitFor('the last result at every home', 20_000, async () => {
      const rows = (await reportsOf(last.epoch)).flatMap((r) => r.rows);
      return rows.every((x) => x.resultAt !== null) || Date.now() > last.gate + 15_000 ? true : undefined;
    }, 250);
    sampler.stop();

    // 4. the figures
    const { cleared } = await rpc<{ cleared: Record<string, { at: number; height: number; blockTime: number }> }>(up, { cmd: 'cleared' });
    const all = { orderToChain: [] as number[], orderToMempool: [] as number[], revealToChain: [] as number[], revealToMempool: [] as number[], gateToResult: [] as number[], gateToClearingBlock: [] as number[] };
    const counts = { ordersSent: 0, ordersAcked: 0, ordersOnChain: 0, revealsSent: 0, revealsOnChain: 0, fills: 0, intervalsCleared: 0, resultsReceived: 0 };
    const perInterval: Record<string, unknown>[] = [];
    for (const iv of plan) {
      const reports = await reportsOf(iv.epoch);
      const rows = reports.flatMap((r) => r.rows);
      const sentOrders = rows.flatMap((r) => (r.order ? [r.order] : []));
      const sentReveals = rows.flatMap((r) => (r.reveal ? [r.reveal] : []));
      const { rows: chainO } = await rpc<{ rows: (number | null)[][] }>(up, { cmd: 'txs', ids: sentOrders.map((s) => s.id) });
      const { rows: chainR } = await rpc<{ rows: (number | null)[][] }>(up, { cmd: 'txs', ids: sentReveals.map((s) => s.id) });
      const o2c = sentOrders.flatMap((s, k) => (chainO[k]![1] !== null ? [chainO[k]![1]! - s.at] : []));
      const o2m = sentOrders.flatMap((s, k) => (chainO[k]![0] !== null ? [chainO[k]![0]! - s.at] : []));
      const r2c = sentReveals.flatMap((s, k) => (chainR[k]![1] !== null ? [chainR[k]![1]! - s.at] : []));
      const r2m = sentReveals.flatMap((s, k) => (chainR[k]![0] !== null ? [chainR[k]![0]! - s.at] : []));
      const g2r = rows.flatMap((r) => (r.resultAt !== null ? [r.resultAt - iv.gate] : []));
      const result = reports.find((r) => r.result)?.result ?? null;
      const c = cleared[String(iv.epoch)];
      all.orderToChain.push(...o2c);
      all.orderToMempool.push(...o2m);
      all.revealToChain.push(...r2c);
      all.revealToMempool.push(...r2m);
      all.gateToResult.push(...g2r);
      if (c) all.gateToClearingBlock.push(c.at - iv.gate);
      counts.ordersSent += sentOrders.length;
      counts.ordersAcked += sentOrders.filter((s) => s.ack !== null).length;
      counts.ordersOnChain += o2c.length;
      counts.revealsSent += sentReveals.length;
      counts.revealsOnChain += r2c.length;
      counts.fills += result?.fills ?? 0;
      counts.intervalsCleared += c ? 1 : 0;
      counts.resultsReceived += g2r.length;
      const lastOrderOnChain = Math.max(...chainO.map((r) => r[1] ?? 0));
      perInterval.push({
        epoch: iv.epoch,
        ordersSent: sentOrders.length,
        ordersOnChain: o2c.length,
        revealsSent: sentReveals.length,
        revealsOnChain: r2c.length,
        fills: result?.fills ?? null,
        volumeWh: result?.volumeWh ?? null,
        homesFilled: rows.filter((r) => r.filled).length,
        orderToMempoolMs: stats(o2m),
        orderToChainMs: stats(o2c),
        revealToChainMs: stats(r2c),
        gateToResultMs: stats(g2r),
        clearing: c ? { height: c.height, gateToBlockAppliedMs: c.at - iv.gate, blockTimeMinusGateMs: c.blockTime - iv.gate } : null,
        // the aggregator signs the market-result when it publishes it: gate → publish, publish → p50 arrival
        gateToResultSignedMs: result ? result.date - iv.gate : null,
        resultSignedToArrivalMs: result ? stats(rows.flatMap((r) => (r.resultAt !== null ? [r.resultAt - result.date] : []))) : null,
        cpuOrderBurst: sampler.window(iv.sendAt, Math.max(iv.sendAt + 250, lastOrderOnChain)),
        cpuGateToResult: sampler.window(iv.gate, Math.max(iv.gate + 250, ...rows.map((r) => r.resultAt ?? 0))),
      });
      process.stderr.write(`market-latency: interval ${iv.epoch}: order→chain p50 ${stats(o2c).p50} ms, reveal→chain p50 ${stats(r2c).p50} ms, gate→result p50 ${stats(g2r).p50} ms; ${o2c.length}/${sentOrders.length} orders, ${r2c.length} reveals on chain, ${result?.fills ?? '?'} fills\n`);
    }
    const node = await rpc<Record<string, unknown>>(up, { cmd: 'stats' });
    // the workers' counters are cumulative: the last report has the whole run
    const final = await reportsOf(last.epoch);
    const brokerErrors: Record<string, number> = {};
    for (const r of final) for (const [k, v] of Object.entries(r.brokerErrors)) brokerErrors[k] = (brokerErrors[k] ?? 0) + v;
    const s = {
      orderToChain: stats(all.orderToChain), revealToChain: stats(all.revealToChain), gateToResult: stats(all.gateToResult),
      gateToClearingBlock: stats(all.gateToClearingBlock), orderToMempool: stats(all.orderToMempool), revealToMempool: stats(all.revealToMempool),
    };
    const verdict = (p50: number | null) => ({ met: p50 !== null && p50 <= TARGET_P50_MS, p50Ms: p50, overByMs: p50 === null ? null : Math.max(0, Math.round(p50 - TARGET_P50_MS)) });
    const ms = (x: ReturnType<typeof stats>) => ({ p50Ms: x.p50, p99Ms: x.p99, ...x });
    const result = {
      bench: 'market-latency',
      what: 'P2P market with every HEM trading: market-order / market-reveal published → block holding it applied by the aggregator\'s chain node; gate (marketGate(e)) → the signed market-result of e arriving at each HEM',
      hems: HEMS,
      workers: WORKERS,
      genesis: { intervalMs: g.intervalMs, gateClosureMs: g.gateClosureMs, revealWindowMs: g.revealWindowMs, slotMs: SLOT_MS, patience: PATIENCE },
      schedule: { intervals: INTERVALS, orderLeadMs: ORDER_LEAD_MS, revealMarginMs: REVEAL_MARGIN_MS, note: 'orders at orderClose − orderLeadMs, reveals at orderClose + revealMarginMs, every home at once' },
      orderToChain: ms(s.orderToChain),
      revealToChain: ms(s.revealToChain),
      gateToResult: ms(s.gateToResult),
      gateToClearingBlock: ms(s.gateToClearingBlock),
      orderToMempool: ms(s.orderToMempool),
      revealToMempool: ms(s.revealToMempool),
      counts,
      targets: {
        orderToChainP50Ms: TARGET_P50_MS,
        gateToResultP50Ms: TARGET_P50_MS,
        orderToChain: verdict(s.orderToChain.p50),
        gateToResult: verdict(s.gateToResult.p50),
      },
      perInterval,
      node,
      setup: { upStartMs: Math.round(upStartMs), enrolMs: Math.round(enrolMs), certificatesAndConnectMs: Math.round(connectMs), workers: started.map(({ certTxIds: _, ...w }) => w), certsOnChainMs: Math.round(certsOnChainMs) },
      publishErrors: final.reduce((n, r) => n + r.publishErrors, 0),
      brokerErrors,
      clientConnectionErrors: final.map((r) => r.errors),
      loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
      machine: machine(),
      notes: [
        'one machine: the platform (broker with edge validation, registry, chain node, aggregator, analytics in one process, as tmi up) and the HEM client processes share its cores, with whatever else runs on it (loadAverage)',
        'no readings are sent, so no validator is eligible and the aggregator node produces every block (PoE fallback)',
        'node times (mempool admission, block applied) are the node process\'s Date.now(); client times are the same machine\'s wall clock',
        'the clients do not verify the market-result signature (a HEM does, against the pinned aggregator key); each worker parses a result once',
      ],
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    await Promise.all(children.map((c) => rpc(c, { cmd: 'close' }, 10_000).catch(() => c.kill('SIGKILL'))));
    if (up && up.exitCode === null) await rpc(up, { cmd: 'close' }, 20_000).catch(() => up!.kill('SIGKILL'));
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--worker')) {
  void worker();
} else if (process.argv.includes('--platform')) {
  void platformProcess();
} else {
  orchestrate().catch((err: unknown) => {
    process.stderr.write(`bench market-latency failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
