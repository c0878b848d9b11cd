/**
 * The simulation report: `summary.json` (figures) and `index.html` (charts). The page is
 * self-contained — uPlot and the data are inlined — so it opens from disk with no server.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { HOME_KINDS, type HomeKind, type Plan } from './simulationPlan.js';
import type { ChainFigures, WalletFigures } from './chainFigures.js';

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

/** What the report shows that is not on the chain: the aggregator's own plan and books. */
export interface OffChainFacts {
  /** the aggregator's day-ahead schedule per interval (Wh), null where it has none */
  scheduleWh: (number | null)[];
  /** the aggregator's ledger (its own accounting, not chain state) */
  aggregatorLedger: unknown;
}

export interface ChainVerification {
  ok: boolean;
  height: number;
  error?: string;
}

export const REPORT_SOURCE =
  'Every figure except simulation, timingsMs and aggregatorLedgerOffChain is computed from the blocks of the chain, re-verified block by block from disk (chain.verified).';

export const WALLET_SIGN_CONVENTION =
  'received = paid to this wallet (by the aggregator for energy delivered in buy auctions and for energy sold in the P2P market; block rewards minted; transfers in); ' +
  'paid = paid by this wallet (to the aggregator for energy bought in sell auctions and in the P2P market, penalties for shortfall and P2P imbalance, fees for orders not revealed; transfers out; forfeited rewards); ' +
  'balance = genesis + received − paid. The aggregator wallet is the market\'s clearing account, the other side of each of these payments: it receives what the homes pay and pays what they receive. ' +
  'Money in summary.json is in millicents (1 ¢ = 1,000 mc).';

export const FINALITY_NOTE =
  'A block at or below finalizedHeight is final: no reorg can undo it. Money moved by a block above it is unconfirmed. ' +
  'payments, p2p and wallets count every block to the head; finality splits the same money into inFinalBlocks and inUnconfirmedBlocks ' +
  '(settlements by the block that settled them) and gives each wallet that blocks above the final one changed its balance at the final block.';

export const SETTLEMENT_SIGN_CONVENTION =
  'Each amount is positive and paid in the direction its column names: aggregator → homes = payments for energy the homes delivered where the aggregator buys; ' +
  'homes → aggregator = payments for energy the homes took where the aggregator sells; penalties = paid by the homes for shortfall, on either side. ' +
  'The aggregator\'s clearing account pays and receives on the market\'s behalf.';

export interface ReportData {
  generatedAt: string;
  summary: {
    simulation: {
      homesSimulated: number; days: number; seed: number; intervals: number; wallMsPerInterval: number; firstDay: string;
      /** [PLAN-KIND] homes of each kind in the plan */
      homesByKind: Record<HomeKind, number>;
      /** [PLAN-KIND] each planned home's meter, kind, flexible device (active users) and programme (configuration, not on chain) */
      plannedHomes: { meterId: string; kind: HomeKind; device: string | null; programme: string }[];
    };
    source: string;
    /** [CF-9] the final block, and the money in blocks above it (unconfirmed: a reorg could still undo it) */
    finality: ChainFigures['finality'] & { note: string };
    chain: ChainFigures['chain'] & { verified: boolean; verifyError?: string };
    readings: ChainFigures['readings'];
    auctions: ChainFigures['auctions'];
    energy: ChainFigures['energy'];
    payments: ChainFigures['payments'];
    cpf: ChainFigures['cpf'];
    /** [CF-7] what decided each epoch's election, and the longest gap between blocks */
    poe: ChainFigures['poe'];
    /** [SETTLE-1] per delivery interval across all auctions, from the verified chain's last state */
    settlementsPerInterval: ChainFigures['settlementsPerInterval'];
    /** [CF-8] the P2P market */
    p2p: ChainFigures['p2p'];
    wallets: Omit<ChainFigures['wallets'], 'items'> & { signConvention: string; items: WalletFigures[] };
    aggregatorLedgerOffChain: unknown;
    timingsMs: Record<string, number>;
  };
  series: {
    netLoad: { t: number[]; scheduledWh: (number | null)[]; meteredOnChainWh: (number | null)[] };
    prices: { t: number[]; volumeWeightedPriceCents: number[]; awardedKWh: number[] };
    ranking: { t: number[]; bestScoreWh: (number | null)[]; validators: number[] };
  };
}

/** The report of a simulated run: figures from the chain, the aggregator's schedule beside them. */
export function buildReportData(c: ReportContext, f: ChainFigures, verified: ChainVerification, off: OffChainFacts): ReportData {
  const t: number[] = [];
  const metered = new Map(f.series.meteredNetLoad.map((x) => [x.epoch, x.netLoadWh]));
  const meteredOnChainWh: (number | null)[] = [];
  const scheduledWh: (number | null)[] = [];
  for (let i = 0; i < c.intervals; i++) {
    t.push(i / 4); // interval i = epoch i starts at i/4 simulated hours
    scheduledWh.push(off.scheduleWh[i] ?? null);
    meteredOnChainWh.push(metered.get(i) ?? null);
  }
  const { items, ...walletTotals } = f.wallets;
  return {
    generatedAt: new Date().toISOString(),
    summary: {
      simulation: {
        homesSimulated: c.homes, days: c.days, seed: c.seed, intervals: c.intervals, wallMsPerInterval: c.intervalMs, firstDay: c.date,
        homesByKind: Object.fromEntries(HOME_KINDS.map((k) => [k, c.plan.homes.filter((h) => h.kind === k).length])) as Record<HomeKind, number>,
        plannedHomes: c.plan.homes.map((h) => ({ meterId: h.meterId, kind: h.kind, device: h.flexibleLoad?.type ?? null, programme: h.programme })),
      },
      source: REPORT_SOURCE,
      finality: { note: FINALITY_NOTE, ...f.finality },
      chain: { ...f.chain, verified: verified.ok, ...(verified.error !== undefined ? { verifyError: verified.error } : {}) },
      readings: f.readings,
      auctions: f.auctions,
      energy: f.energy,
      payments: f.payments,
      cpf: f.cpf,
      poe: f.poe,
      settlementsPerInterval: f.settlementsPerInterval,
      p2p: f.p2p,
      wallets: { ...walletTotals, signConvention: WALLET_SIGN_CONVENTION, items },
      aggregatorLedgerOffChain: off.aggregatorLedger,
      timingsMs: c.timings,
    },
    series: {
      netLoad: { t, scheduledWh, meteredOnChainWh },
      prices: {
        t: f.series.prices.map((x) => x.epoch / 4),
        volumeWeightedPriceCents: f.series.prices.map((x) => x.volumeWeightedAwardPriceMcPerKWh / 1000),
        awardedKWh: f.series.prices.map((x) => x.awardedWh / 1000),
      },
      ranking: { t: f.series.ranking.map((r) => r.epoch / 4), bestScoreWh: f.series.ranking.map((r) => r.bestScoreWh), validators: f.series.ranking.map((r) => r.validators) },
    },
  };
}

/** millicents (exact decimal string) → "1,234.567 ¢" */
export function formatCents(mc: string): string {
  const v = BigInt(mc);
  const neg = v < 0n;
  const a = neg ? -v : v;
  const whole = (a / 1000n).toLocaleString('en');
  const frac = String(a % 1000n).padStart(3, '0');
  return `${neg ? '−' : ''}${whole}.${frac} ¢`;
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
  const kwh = (wh: number) => `${(wh / 1000).toFixed(2)} kWh`;
  const price = (mc: number | null) => (mc === null ? '–' : `${(mc / 1000).toFixed(3)} ¢/kWh`);
  const statuses = Object.entries(s.auctions.byStatus).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const excluded = Object.entries(s.auctions.bidsExcludedAtClearing).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const rows: [string, string][] = [
    ['simulated', `${s.simulation.homesSimulated} homes × ${s.simulation.days} day(s) (${s.simulation.intervals} intervals of 15 min, ${s.simulation.wallMsPerInterval} ms each)`],
    ['kinds of home', Object.entries(s.simulation.homesByKind).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ')],
    ['chain', `${s.chain.blocks} blocks, ${s.chain.txs} transactions, ${s.chain.producers.length} producers; re-verified from disk: ${s.chain.verified ? 'yes' : `NO (${s.chain.verifyError ?? ''})`}`],
    ['pseudonyms on chain', `${s.chain.pseudonymsCertified} certified (${s.chain.validatorPseudonymsCertified} RE or RE+TE), ${s.readings.pseudonyms} with readings`],
    ['meter readings on chain', `${s.readings.onChain} over ${s.readings.intervals} intervals`],
    ['auctions', `${s.auctions.total} (${statuses})${Object.keys(s.auctions.voidReasons).length ? `; void: ${Object.entries(s.auctions.voidReasons).map(([k, n]) => `${k} ${n}`).join(', ')}` : ''}`],
    ['bids on chain', `${s.auctions.bidsOnChain}: ${s.auctions.bidsAwarded} awarded; excluded at clearing: ${excluded} (bids the chain refused are not on chain and not counted)`],
    ['energy awarded', kwh(s.auctions.awardedWh)],
    ['award price, volume-weighted', `${price(s.auctions.volumeWeightedAwardPriceMcPerKWh)} (Σ energy × price / Σ energy over all awards); marginal clearing prices ${price(s.auctions.minMarginalClearingPriceMcPerKWh)} – ${price(s.auctions.maxMarginalClearingPriceMcPerKWh)}`],
    ['final block', `${s.finality.finalizedHeight} of ${s.finality.headHeight} (${s.finality.blocksNotFinal} block(s) above it not final; from the ${s.finality.finalizedHeightSource === 'node' ? "aggregator node's own final checkpoint" : "chain's proof"}, proven on chain up to ${s.finality.finalizedProvenOnChainHeight})`],
    ['settlements', `${s.payments.settlements}: ${kwh(s.payments.deliveredWh)} delivered, ${kwh(s.payments.shortfallWh)} short`],
    ['settlements in final / unconfirmed blocks', (() => {
      const a = s.finality.auctionSettlements, p = s.finality.p2pSettlements;
      const money = (m: typeof a.inFinalBlocks) => `aggregator → homes ${formatCents(m.paidByAggregatorToHomesMc)}, homes → aggregator ${formatCents(m.paidByHomesToAggregatorMc)}, penalties ${formatCents(m.penaltiesPaidByHomesMc)}`;
      return `auctions: final ${a.inFinalBlocks.settlements} (${money(a.inFinalBlocks)}); unconfirmed ${a.inUnconfirmedBlocks.settlements} (${money(a.inUnconfirmedBlocks)}) · ` +
        `P2P: final ${p.inFinalBlocks.settlements} (to sellers ${formatCents(p.inFinalBlocks.paidToSellersMc)}, by buyers ${formatCents(p.inFinalBlocks.paidByBuyersMc)}); unconfirmed ${p.inUnconfirmedBlocks.settlements} (to sellers ${formatCents(p.inUnconfirmedBlocks.paidToSellersMc)}, by buyers ${formatCents(p.inUnconfirmedBlocks.paidByBuyersMc)}) · ` +
        `wallets: ${formatCents(s.finality.wallets.finalTotalMc)} final, ${formatCents(s.finality.wallets.unconfirmedChangeTotalMc)} unconfirmed change in ${s.finality.wallets.withUnconfirmedChange.length} wallet(s)`;
    })()],
    ['money', `aggregator → homes ${formatCents(s.payments.paidByAggregatorToHomesMc)} for energy; homes → aggregator ${formatCents(s.payments.paidByHomesToAggregatorMc)} for energy and ${formatCents(s.payments.penaltiesPaidByHomesMc)} penalties; block rewards minted ${formatCents(s.payments.blockRewardsMintedMc)}`],
    ['wallets', `${s.wallets.count}, total ${formatCents(s.wallets.totalMc)} = genesis ${formatCents(s.wallets.genesisTotalMc)} + rewards minted − forfeited: ${s.wallets.conserved ? 'conserved' : 'NOT conserved'}`],
    ['self-consumption', pct(s.energy.selfConsumption)],
    ['market / allocative efficiency', `${pct(s.energy.marketEfficiency)} / ${pct(s.energy.allocativeEfficiency)}`],
    ['Proof of Energy', s.cpf.meanBestCpf === null ? 'no epoch ranked' : `${s.cpf.epochsRanked} epochs ranked (last ${s.cpf.lastRankedEpoch}), best CPF mean ${s.cpf.meanBestCpf.toFixed(3)} (|P−C| ${s.cpf.meanBestScoreWh?.toFixed(0)} Wh), up to ${s.cpf.maxValidatorsRanked} validators`],
    ['P2P market', s.p2p.intervalsCleared === 0 ? 'no P2P order on chain' : `${s.p2p.orders} orders, ${s.p2p.intervalsCleared} intervals cleared (${s.p2p.intervalsTraded} traded): ${(s.p2p.tradedWh / 1000).toFixed(2)} kWh in ${s.p2p.trades} fills by ${s.p2p.homesTrading} homes${s.p2p.aggregatorTradedWh ? ` and the aggregator (${(s.p2p.aggregatorTradedWh / 1000).toFixed(2)} kWh)` : ''}, volume-weighted price ${s.p2p.volumeWeightedPriceMcPerKWh === null ? '–' : (s.p2p.volumeWeightedPriceMcPerKWh / 1000).toFixed(3) + ' ¢/kWh'}; delivered ${(s.p2p.deliveredWh / 1000).toFixed(2)} kWh, shortfall ${(s.p2p.shortfallWh / 1000).toFixed(2)} kWh; traders' surplus ${formatCents(s.p2p.surplusMc)}`],
    ['Community self-sufficiency', s.p2p.communitySelfSufficiency === null ? '–' : `${(s.p2p.communitySelfSufficiency * 100).toFixed(1)} % (1 − energy imported by the community as a whole / energy its homes used, per interval)`],
    ['PoE elections', s.poe.epochsWithValidators === 0 ? 'no epoch with validators' : `${s.poe.epochsWithValidators} epochs with validators: energy decided ${s.poe.decidedByEnergy} (${pct(s.poe.decidedByEnergy / s.poe.epochsWithValidators)}: ${s.poe.decidedBy.score} by the interval's |P−C|, ${s.poe.decidedBy.window} by earlier intervals, ${s.poe.decidedBy.single} with one validator), the seed ${s.poe.decidedBySeed}; longest gap between blocks ${s.poe.longestBlockGapSlots} slots`],
    ['wall time', `${(s.timingsMs.totalMs ?? 0) / 1000} s`],
  ];
  // the delivery interval on simulated time (interval k starts k × 15 min after the first day's midnight), its wall-clock start as a title
  const simTime = (k: number) => { const d = Math.floor(k / 96), m = (k % 96) * 15; return `${d ? `d${d + 1} ` : ''}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`; };
  const intervalRows = s.settlementsPerInterval.map((x) => `<tr><td title="${esc(x.interval)}">${simTime(x.deliveryEpoch)}–${simTime(x.deliveryEpoch + 1)}</td><td>${x.auctions}</td><td>${x.awards}</td><td>${x.homes}</td><td>${x.awardedWh}</td><td>${x.deliveredWh}</td><td class="n">${formatCents(String(x.paidByAggregatorToHomesMc))}</td><td class="n">${formatCents(String(x.paidByHomesToAggregatorMc))}</td><td class="n">${formatCents(String(x.penaltiesPaidByHomesMc))}</td></tr>`).join('');
  const producerRows = s.chain.producers.slice(0, 20).map((x) => `<tr><td><code>${esc(x.address.slice(0, 16))}…</code></td><td>${x.blocks}</td><td>${(x.share * 100).toFixed(1)} %</td><td>${formatCents(x.rewardMc)}</td></tr>`).join('');
  const homes = s.wallets.items.filter((w) => w.kind !== 'aggregator');
  // [CF-9] each wallet's balance at the final block and what blocks above it changed
  const unconfirmedOf = new Map(s.finality.wallets.withUnconfirmedChange.map((w) => [w.address, w]));
  const walletRow = (w: WalletFigures) => {
    const u = unconfirmedOf.get(w.address);
    return `<tr><td><code>${esc(w.address.slice(0, 16))}…</code>${w.kind === 'aggregator' ? ' (aggregator)' : ''}</td><td>${w.deliveredWh}</td><td class="n">${formatCents(w.receivedMc)}</td><td class="n">${formatCents(w.paidMc)}</td><td class="n">${formatCents(u?.finalBalanceMc ?? w.balanceMc)}</td><td class="n">${formatCents(u?.unconfirmedChangeMc ?? '0')}</td><td class="n">${formatCents(w.balanceMc)}</td></tr>`;
  };
  const walletRows = [...s.wallets.items.filter((w) => w.kind === 'aggregator'), ...[...homes].sort((a, b) => (BigInt(b.receivedMc) + BigInt(b.paidMc) > BigInt(a.receivedMc) + BigInt(a.paidMc) ? 1 : -1)).slice(0, 20)].map(walletRow).join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TMI simulation report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${css}
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1d2530;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px} .muted{color:#6b7785}
table{border-collapse:collapse;width:100%} td,th{padding:4px 8px;border-bottom:1px solid #e3e7ec;text-align:left}
th{font-weight:600;background:#f4f6f8} .chart{margin:8px 0 0} code{font-size:12px} td.n{text-align:right;white-space:nowrap}
.grid{display:grid;grid-template-columns:1fr 1.4fr;gap:24px} .note{font-size:12px;color:#6b7785;margin:4px 0 8px}
</style></head><body>
<h1>TMI — simulated day${s.simulation.days > 1 ? 's' : ''} of the local energy market</h1>
<div class="muted">generated ${esc(d.generatedAt)} · seed ${s.simulation.seed} · first day ${esc(s.simulation.firstDay)}</div>
<h2>Summary</h2><div class="note">${esc(s.source)}</div><table id="summary">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
<h2>Aggregated net load: the aggregator's day-ahead schedule vs metered (readings on chain)</h2><div id="netload" class="chart"></div>
<h2>Auctions: volume-weighted award price and energy awarded per delivery interval</h2><div id="prices" class="chart"></div>
<h2>Proof of Energy: best |P − C| per epoch and validators ranked</h2><div id="ranking" class="chart"></div>
<h2>Settlements per delivery interval (all auctions; one measurement paid once)</h2><div class="note" id="settlements-convention">${esc(SETTLEMENT_SIGN_CONVENTION)}</div>
<table id="settlements"><tr><th>delivery (simulated time)</th><th>auctions</th><th>awards</th><th>homes</th><th>awarded Wh</th><th>delivered Wh</th><th>aggregator → homes</th><th>homes → aggregator</th><th>penalties, homes → aggregator</th></tr>${intervalRows}</table>
<div class="grid"><div><h2>Block producers</h2><table id="producers"><tr><th>address</th><th>blocks</th><th>share</th><th>rewards received</th></tr>${producerRows}</table></div>
<div><h2>Wallets (the aggregator, then the 20 homes with most money moved)</h2><div class="note" id="wallet-convention">${esc(s.wallets.signConvention)}</div>
<div class="note" id="finality-note">${esc(s.finality.note)} Final block: ${s.finality.finalizedHeight} of ${s.finality.headHeight}.</div>
<table id="wallets"><tr><th>address</th><th>delivered Wh</th><th>received</th><th>paid</th><th>balance, final (block ${s.finality.finalizedHeight})</th><th>unconfirmed change</th><th>balance at the head (block ${s.finality.headHeight})</th></tr>${walletRows}</table></div></div>
<script>${js}</script>
<script>
const D = ${JSON.stringify(d.series).replace(/</g, '\\u003c')};
const W = Math.min(1060, document.body.clientWidth - 8);
function chart(id, data, series, axes) {
  const hour = (v) => { const d = Math.floor(v / 24), h = v - 24 * d; return (d ? 'd' + (d + 1) + ' ' : '') + String(Math.floor(h)).padStart(2, '0') + ':' + String(Math.round((h % 1) * 60)).padStart(2, '0'); };
  new uPlot({ width: W, height: 260, series: [{ label: 'simulated time', value: (u, v) => v == null ? '–' : hour(v) }, ...series],
    axes: [{ label: 'simulated time of day', values: (u, vals) => vals.map(hour) }, ...axes], scales: { x: { time: false } } }, data, document.getElementById(id));
}
chart('netload', [D.netLoad.t, D.netLoad.scheduledWh, D.netLoad.meteredOnChainWh],
  [{ label: 'schedule (Wh)', stroke: '#8a96a3', width: 2 }, { label: 'metered, on chain (Wh)', stroke: '#1f77b4', width: 2 }], [{ label: 'Wh' }]);
chart('prices', [D.prices.t, D.prices.volumeWeightedPriceCents, D.prices.awardedKWh],
  [{ label: 'volume-weighted award price (¢/kWh)', stroke: '#d62728', width: 2, points: { show: true } }, { label: 'awarded (kWh)', stroke: '#2ca02c', width: 2, scale: 'kwh', points: { show: true } }],
  [{ label: '¢/kWh' }, { side: 1, scale: 'kwh', label: 'kWh', grid: { show: false } }]);
chart('ranking', [D.ranking.t, D.ranking.bestScoreWh, D.ranking.validators],
  [{ label: 'best |P−C| (Wh)', stroke: '#9467bd', width: 2 }, { label: 'validators ranked', stroke: '#ff7f0e', width: 2, scale: 'n' }],
  [{ label: 'Wh' }, { side: 1, scale: 'n', label: 'validators', grid: { show: false } }]);
</script></body></html>
`;
  await writeFile(join(dir, 'index.html'), html);
}
