/**
 * The simulation report: `summary.json` (figures) and `index.html` (charts). The page is
 * self-contained — uPlot and the data are inlined — so it opens from disk with no server.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Platform } from './startPlatform.js';
import type { Plan } from './simulationPlan.js';
import { settlementsPerInterval, type IntervalSettlement } from '../poe-chain/node/chainQueries.js';

export interface ReportContext {
  homes: number;
  days: number;
  intervals: number;
  seed: number;
  intervalMs: number;
  date: string;
  plan: Plan;
  timings: Record<string, number>;
}

interface ApiSummary {
  height: number;
  blocks: number;
  auctions: Record<string, number> | number;
  bids: number;
  readings: number;
  homes: number;
  tradedWh: number;
  meanPriceMcPerKWh: number | null;
  selfConsumption: number | null;
  marketEfficiency: number | null;
  allocativeEfficiency: number | null;
  settlements?: unknown;
  wallets?: unknown;
}

export interface ReportData {
  generatedAt: string;
  summary: {
    simulation: { homes: number; days: number; seed: number; intervals: number; wallMsPerInterval: number; firstDay: string };
    energy: { tradedWh: number; selfConsumption: number | null; marketEfficiency: number | null; allocativeEfficiency: number | null };
    auctions: { total: number; byStatus: Record<string, number>; bids: number; meanClearingPriceCentsPerKWh: number | null; minClearingPriceCentsPerKWh: number | null; maxClearingPriceCentsPerKWh: number | null };
    payments: { settlements: number; paidToHomesMc: number; penaltiesMc: number; deliveredWh: number };
    /** [SETTLE-1] per delivery interval across all auctions, from the aggregator node's chain state */
    settlementsPerInterval: IntervalSettlement[];
    cpf: { epochs: number; meanBestCpf: number | null; meanBestScoreWh: number | null; validatorsRanked: number };
    chain: { height: number; blocks: number; txs: number; producers: { address: string; blocks: number; share: number; rewardMc: number }[]; verified: boolean | null };
    readings: number;
    aggregatorLedger: unknown;
    timingsMs: Record<string, number>;
  };
  series: {
    netLoad: { t: number[]; scheduledWh: (number | null)[]; actualWh: (number | null)[] };
    prices: { t: number[]; priceCents: (number | null)[]; volumeKWh: number[] };
    ranking: { t: number[]; bestScoreWh: (number | null)[]; validators: number[] };
  };
  wallets: { address: string; balanceMc: number; deliveredWh: number; paymentMc: number; penaltyMc: number }[];
}

async function get<T>(base: string, path: string): Promise<T> {
  const r = await fetch(base + path);
  if (!r.ok) throw new Error(`REPORT_FETCH_FAILED path=${path} status=${r.status}`);
  return (await r.json()) as T;
}

const cents = (mc: number | null | undefined) => (mc === null || mc === undefined ? null : Math.round(mc / 10) / 100);

export async function collectReportData(p: Platform, c: ReportContext): Promise<ReportData> {
  const base = p.urls.analytics;
  if (!base) throw new Error('REPORT_NEEDS_ANALYTICS');
  const s = await get<ApiSummary>(base, '/api/summary');
  const prices = await get<{ items: { start: number | string; volumeWh: number; meanPriceMcPerKWh: number | null }[] }>(base, '/api/prices?limit=10000');
  const producers = await get<{ height: number; totalBlocks: number; totalTxs: number; items: { address: string; blocks: number; share: number; rewardMc: number }[] }>(base, '/api/producers');
  const ranking = await get<{ items: { epoch: number; size: number; items: { scoreWh: number; cpf: number }[] }[] }>(base, '/api/ranking/history?limit=1000&top=1');
  const wallets = await get<{ items: { address: string; balanceMc: number; deliveredWh: number; paymentMc: number; penaltyMc: number; settlements: number }[] }>(base, '/api/wallets?limit=10000');

  const intervals = c.intervals;
  const g = p.genesis;
  const t: number[] = [];
  const scheduledWh: (number | null)[] = [];
  const actualWh: (number | null)[] = [];
  for (let i = 0; i < intervals; i++) {
    t.push(i / 4);
    scheduledWh.push(p.aggregator?.schedule(Math.floor(i / 96))?.[i % 96] ?? null);
    actualWh.push(p.aggregator?.actualNetLoad(i) ?? null);
  }
  // x axes in simulated hours since the first midnight: interval i starts at i/4 h
  const simHour = (v: number | string) => ((typeof v === 'number' ? v : Date.parse(v)) - g.genesisTimeMs) / c.intervalMs / 4;
  const priceItems = [...prices.items].sort((a, b) => simHour(a.start) - simHour(b.start));
  const cleared = priceItems.map((x) => x.meanPriceMcPerKWh).filter((x): x is number => x !== null);
  const rankItems = [...ranking.items].sort((a, b) => a.epoch - b.epoch);
  const best = rankItems.map((r) => r.items[0]).filter((x): x is { scoreWh: number; cpf: number } => x !== undefined);
  const byStatus = typeof s.auctions === 'number' ? { total: s.auctions } : s.auctions;
  const settled = wallets.items.reduce((a, w) => ({ n: a.n + (w.settlements ?? 0), paid: a.paid + (w.paymentMc ?? 0), pen: a.pen + (w.penaltyMc ?? 0), del: a.del + (w.deliveredWh ?? 0) }), { n: 0, paid: 0, pen: 0, del: 0 });

  return {
    generatedAt: new Date().toISOString(),
    summary: {
      simulation: { homes: c.homes, days: c.days, seed: c.seed, intervals, wallMsPerInterval: c.intervalMs, firstDay: c.date },
      energy: { tradedWh: s.tradedWh, selfConsumption: s.selfConsumption, marketEfficiency: s.marketEfficiency, allocativeEfficiency: s.allocativeEfficiency },
      auctions: {
        total: Object.values(byStatus).reduce((a, b) => a + b, 0),
        byStatus,
        bids: s.bids,
        meanClearingPriceCentsPerKWh: cleared.length ? cents(cleared.reduce((a, b) => a + b, 0) / cleared.length) : null,
        minClearingPriceCentsPerKWh: cleared.length ? cents(Math.min(...cleared)) : null,
        maxClearingPriceCentsPerKWh: cleared.length ? cents(Math.max(...cleared)) : null,
      },
      payments: { settlements: settled.n, paidToHomesMc: settled.paid, penaltiesMc: settled.pen, deliveredWh: settled.del },
      settlementsPerInterval: settlementsPerInterval(p.node.state()),
      cpf: {
        epochs: rankItems.length,
        meanBestCpf: best.length ? best.reduce((a, b) => a + b.cpf, 0) / best.length : null,
        meanBestScoreWh: best.length ? best.reduce((a, b) => a + b.scoreWh, 0) / best.length : null,
        validatorsRanked: rankItems.reduce((m, r) => Math.max(m, r.size), 0),
      },
      chain: {
        height: producers.height,
        blocks: producers.totalBlocks,
        txs: producers.totalTxs,
        producers: producers.items.map((x) => ({ address: x.address, blocks: x.blocks, share: x.share, rewardMc: x.rewardMc })),
        verified: null,
      },
      readings: s.readings,
      aggregatorLedger: p.aggregator?.ledger().totals ?? null,
      timingsMs: c.timings,
    },
    series: {
      netLoad: { t, scheduledWh, actualWh },
      prices: { t: priceItems.map((x) => simHour(x.start)), priceCents: priceItems.map((x) => cents(x.meanPriceMcPerKWh)), volumeKWh: priceItems.map((x) => x.volumeWh / 1000) },
      ranking: { t: rankItems.map((r) => r.epoch / 4), bestScoreWh: rankItems.map((r) => r.items[0]?.scoreWh ?? null), validators: rankItems.map((r) => r.size) },
    },
    wallets: wallets.items.map((w) => ({ address: w.address, balanceMc: w.balanceMc, deliveredWh: w.deliveredWh, paymentMc: w.paymentMc, penaltyMc: w.penaltyMc })),
  };
}

const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);

export async function writeReport(dir: string, d: ReportData): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'summary.json'), JSON.stringify(d.summary, null, 2) + '\n');
  const require = createRequire(import.meta.url);
  const uplotDir = join(require.resolve('uplot'), '..');
  const [js, css] = await Promise.all([readFile(join(uplotDir, 'uPlot.iife.min.js'), 'utf8'), readFile(join(uplotDir, 'uPlot.min.css'), 'utf8')]);
  const s = d.summary;
  const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)} %`);
  const rows: [string, string][] = [
    ['homes × days', `${s.simulation.homes} × ${s.simulation.days} (${s.simulation.intervals} intervals of 15 min, ${s.simulation.wallMsPerInterval} ms each)`],
    ['energy traded', `${(s.energy.tradedWh / 1000).toFixed(2)} kWh`],
    ['auctions', `${s.auctions.total} (${Object.entries(s.auctions.byStatus).map(([k, v]) => `${k} ${v}`).join(', ')}), ${s.auctions.bids} bids`],
    ['clearing price', s.auctions.meanClearingPriceCentsPerKWh === null ? '–' : `mean ${s.auctions.meanClearingPriceCentsPerKWh} ¢/kWh (${s.auctions.minClearingPriceCentsPerKWh}–${s.auctions.maxClearingPriceCentsPerKWh})`],
    ['settlements', `${s.payments.settlements}: ${(s.payments.deliveredWh / 1000).toFixed(2)} kWh delivered, ${(s.payments.paidToHomesMc / 100_000).toFixed(2)} € paid, ${(s.payments.penaltiesMc / 100_000).toFixed(2)} € penalties`],
    ['self-consumption', pct(s.energy.selfConsumption)],
    ['market / allocative efficiency', `${pct(s.energy.marketEfficiency)} / ${pct(s.energy.allocativeEfficiency)}`],
    ['Proof of Energy', s.cpf.meanBestCpf === null ? '–' : `best CPF mean ${s.cpf.meanBestCpf.toFixed(3)} (|P−C| ${s.cpf.meanBestScoreWh?.toFixed(0)} Wh), up to ${s.cpf.validatorsRanked} validators ranked`],
    ['chain', `${s.chain.blocks} blocks, ${s.chain.txs} transactions, ${s.chain.producers.length} producers, verified: ${s.chain.verified === null ? 'pending' : s.chain.verified ? 'yes' : 'NO'}`],
    ['wall time', `${(s.timingsMs.totalMs ?? 0) / 1000} s`],
  ];
  const intervalRows = s.settlementsPerInterval.map((x) => `<tr><td>${esc(x.interval)}</td><td>${x.auctions}</td><td>${x.awards}</td><td>${x.homes}</td><td>${x.awardedWh}</td><td>${x.deliveredWh}</td><td>${(x.paymentMc / 1000).toFixed(1)}</td><td>${(x.penaltyMc / 1000).toFixed(1)}</td></tr>`).join('');
  const producerRows = s.chain.producers.slice(0, 20).map((x) => `<tr><td><code>${esc(x.address.slice(0, 16))}…</code></td><td>${x.blocks}</td><td>${(x.share * 100).toFixed(1)} %</td><td>${x.rewardMc}</td></tr>`).join('');
  const walletRows = [...d.wallets].sort((a, b) => b.paymentMc - a.paymentMc).slice(0, 20).map((w) => `<tr><td><code>${esc(w.address.slice(0, 16))}…</code></td><td>${(w.balanceMc / 1000).toFixed(1)}</td><td>${w.deliveredWh}</td><td>${(w.paymentMc / 1000).toFixed(1)}</td><td>${(w.penaltyMc / 1000).toFixed(1)}</td></tr>`).join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TMI simulation report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${css}
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1d2530;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px} .muted{color:#6b7785}
table{border-collapse:collapse;width:100%} td,th{padding:4px 8px;border-bottom:1px solid #e3e7ec;text-align:left}
th{font-weight:600;background:#f4f6f8} .chart{margin:8px 0 0} code{font-size:12px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:24px}
</style></head><body>
<h1>TMI — simulated day${s.simulation.days > 1 ? 's' : ''} of the local energy market</h1>
<div class="muted">generated ${esc(d.generatedAt)} · seed ${s.simulation.seed} · first day ${esc(s.simulation.firstDay)}</div>
<h2>Summary</h2><table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
<h2>Aggregated net load: day-ahead schedule vs metered</h2><div id="netload" class="chart"></div>
<h2>Auctions: clearing price and traded volume</h2><div id="prices" class="chart"></div>
<h2>Proof of Energy: best |P − C| per epoch and validators ranked</h2><div id="ranking" class="chart"></div>
<h2>Settlements per delivery interval (all auctions; one measurement paid once)</h2><table><tr><th>interval</th><th>auctions</th><th>awards</th><th>homes</th><th>awarded Wh</th><th>delivered Wh</th><th>paid (¢)</th><th>penalty (¢)</th></tr>${intervalRows}</table>
<div class="grid"><div><h2>Block producers</h2><table><tr><th>address</th><th>blocks</th><th>share</th><th>reward (mc)</th></tr>${producerRows}</table></div>
<div><h2>Wallets (top 20 by payments)</h2><table><tr><th>address</th><th>balance (¢)</th><th>delivered Wh</th><th>paid (¢)</th><th>penalty (¢)</th></tr>${walletRows}</table></div></div>
<script>${js}</script>
<script>
const D = ${JSON.stringify(d.series).replace(/</g, '\\u003c')};
const W = Math.min(1060, document.body.clientWidth - 8);
function chart(id, data, series, axes) {
  const hour = (v) => { const d = Math.floor(v / 24), h = v - 24 * d; return (d ? 'd' + (d + 1) + ' ' : '') + String(Math.floor(h)).padStart(2, '0') + ':' + String(Math.round((h % 1) * 60)).padStart(2, '0'); };
  new uPlot({ width: W, height: 260, series: [{ label: 'simulated time', value: (u, v) => v == null ? '–' : hour(v) }, ...series],
    axes: [{ label: 'simulated time of day', values: (u, vals) => vals.map(hour) }, ...axes], scales: { x: { time: false } } }, data, document.getElementById(id));
}
chart('netload', [D.netLoad.t, D.netLoad.scheduledWh, D.netLoad.actualWh],
  [{ label: 'schedule (Wh)', stroke: '#8a96a3', width: 2 }, { label: 'metered (Wh)', stroke: '#1f77b4', width: 2 }], [{ label: 'Wh' }]);
chart('prices', [D.prices.t, D.prices.priceCents, D.prices.volumeKWh],
  [{ label: 'clearing price (¢/kWh)', stroke: '#d62728', width: 2, points: { show: true } }, { label: 'volume (kWh)', stroke: '#2ca02c', width: 2, scale: 'kwh', points: { show: true } }],
  [{ label: '¢/kWh' }, { side: 1, scale: 'kwh', label: 'kWh', grid: { show: false } }]);
chart('ranking', [D.ranking.t, D.ranking.bestScoreWh, D.ranking.validators],
  [{ label: 'best |P−C| (Wh)', stroke: '#9467bd', width: 2 }, { label: 'validators ranked', stroke: '#ff7f0e', width: 2, scale: 'n' }],
  [{ label: 'Wh' }, { side: 1, scale: 'n', label: 'validators', grid: { show: false } }]);
</script></body></html>
`;
  await writeFile(join(dir, 'index.html'), html);
}
