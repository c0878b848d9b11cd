// TMI analytics dashboard: reads the JSON API, draws charts with uPlot, and refreshes
// when the server pushes a live update (server-sent events on /api/events).
import uPlot from '/vendor/uplot/uPlot.esm.js';

const $ = (id) => document.getElementById(id);

// ── formatting ─────────────────────────────────────────────────────────────────
const nf1 = new Intl.NumberFormat('en', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const nf2 = new Intl.NumberFormat('en', { maximumFractionDigits: 2, minimumFractionDigits: 2 });
const nf0 = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const kWh = (wh) => (wh == null ? null : wh / 1000);
const centsPerKWh = (mc) => (mc == null ? null : mc / 1000);
const euros = (mc) => (mc == null ? null : mc / 100_000);
const fmt = (f, v, dash = '–') => (v == null || Number.isNaN(v) ? dash : f.format(v));
const pct = (r) => (r == null ? '–' : `${nf1.format(r * 100)} %`);
const short = (a) => (a && a.length > 14 ? `${a.slice(0, 6)}…${a.slice(-4)}` : a ?? '');
// [AN-CLK] x axes: on a compressed simulation, the simulated time of day (hours since the
// schedule's midnight, from /api/net-load's clock); otherwise wall-clock time
let clock = null;
const secs = (iso) => (clock ? ((Date.parse(iso) - clock.startMs) / clock.stepMs) * (clock.intervalMinutes / 60) : Date.parse(iso) / 1000);
const hourLabel = (v) => {
  const d = Math.floor(v / 24), h = v - 24 * d, m = Math.round((h % 1) * 60);
  return `${d ? `d${d + 1} ` : ''}${String(Math.floor(h) + (m === 60 ? 1 : 0)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};
/** the x scale and axis of every time chart */
const timeX = () => (clock ? { scale: { time: false }, axis: { values: (u, vals) => vals.map(hourLabel), label: 'simulated time of day', labelSize: 18 } } : { scale: { time: true }, axis: {} });
const timeOf = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '–');

/** a stable colour per address */
function colourOf(address, light = 48) {
  let h = 2166136261;
  for (let i = 0; i < address.length; i++) h = Math.imul(h ^ address.charCodeAt(i), 16777619);
  h ^= h >>> 16; // final mix: addresses that differ in one character get unrelated hues
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return `hsl(${(h >>> 0) % 360}, 60%, ${light}%)`;
}
const PALETTE = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d', '#dc2626', '#4f46e5', '#ca8a04'];

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'style') Object.assign(e.style, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// ── state, exposed for tests and curious operators ─────────────────────────────
const charts = {};
const dash = {
  charts,
  updates: 0,
  refreshes: 0,
  lastEvent: null,
  ready: false,
  /** per chart: the number of non-null points of each data series */
  seriesPoints() {
    const out = {};
    for (const [name, u] of Object.entries(charts)) out[name] = u.data.slice(1).map((s) => s.filter((v) => v != null).length);
    return out;
  },
};
window.tmiDashboard = dash;

async function getJson(path) {
  const r = await fetch(path, { headers: { accept: 'application/json' } });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

// ── charts ─────────────────────────────────────────────────────────────────────
const AXIS = { stroke: '#5b6576', grid: { stroke: '#e8ebf0', width: 1 }, ticks: { stroke: '#d5dae2', width: 1 }, font: '12px system-ui, sans-serif' };
const chartHeight = (node) => (node.closest('.wide') ? 280 : 240);

/** Creates the chart, or updates its data; recreated when its series change. */
function draw(name, node, makeOpts, data, key = '') {
  const old = charts[name];
  if (old && old._key === key) {
    old.setData(data);
  } else {
    if (old) old.destroy();
    const u = new uPlot({ width: Math.max(node.clientWidth, 200), height: chartHeight(node), legend: { live: false }, ...makeOpts() }, data, node);
    u._key = key;
    charts[name] = u;
  }
  const points = data.slice(1).reduce((n, s) => n + s.filter((v) => v != null).length, 0);
  node.dataset.points = String(points);
  node.classList.toggle('empty', points === 0);
}

const resize = new ResizeObserver((entries) => {
  for (const e of entries) {
    const u = charts[e.target.dataset.chart];
    if (u) u.setSize({ width: Math.max(e.target.clientWidth, 200), height: chartHeight(e.target) });
  }
});
for (const node of document.querySelectorAll('.chart')) resize.observe(node);

const value = (digits) => (u, v) => (v == null ? '–' : v.toFixed(digits));

function drawNetLoad(n) {
  const xs = n.items.map((r) => secs(r.start));
  const actual = n.items.map((r) => kWh(r.actualWh));
  const sched = n.items.map((r) => kWh(r.scheduledWh));
  $('netload-meta').textContent = n.day
    ? `${clock ? 'simulated day' : `${n.day} UTC`} · ${n.source === 'schedule' ? `${n.intervalMinutes}-min schedule` : 'no schedule'} · ${n.totals.compared} intervals metered (readings on chain) · MAD ${fmt(nf2, kWh(n.totals.meanAbsDeviationWh))} kWh`
    : 'no data yet';
  draw('netLoad', $('chart-netload'), () => ({
    scales: { x: timeX().scale },
    axes: [{ ...AXIS, ...timeX().axis }, { ...AXIS, label: 'kWh per interval', labelSize: 18, size: 56 }],
    series: [
      {},
      { label: 'schedule', stroke: '#8a94a6', width: 2, dash: [6, 4], value: value(2), spanGaps: true },
      { label: 'metered (readings on chain)', stroke: '#2563eb', width: 2.5, fill: 'rgba(37, 99, 235, 0.08)', value: value(2), points: { show: true, size: 5 } },
    ],
  }), [xs, sched, actual], clock ? 'sim' : 'wall');
}

function drawPrices(items) {
  const xs = items.map((r) => secs(r.start));
  const vol = items.map((r) => kWh(r.volumeWh));
  const price = items.map((r) => centsPerKWh(r.meanPriceMcPerKWh));
  const total = items.reduce((s, r) => s + r.volumeWh, 0);
  $('prices-meta').textContent = items.length ? `${items.length} intervals · ${fmt(nf1, kWh(total))} kWh` : 'no auctions yet';
  draw('prices', $('chart-prices'), () => ({
    scales: { x: timeX().scale, kWh: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] }, c: { range: (u, min, max) => [0, Math.max(1, max * 1.2)] } },
    axes: [
      { ...AXIS, ...timeX().axis },
      { ...AXIS, scale: 'kWh', label: 'volume (kWh)', labelSize: 18, size: 52 },
      { ...AXIS, scale: 'c', side: 1, grid: { show: false }, label: 'price (¢/kWh)', labelSize: 18, size: 52 },
    ],
    series: [
      {},
      { label: 'volume', scale: 'kWh', stroke: '#0d9488', fill: 'rgba(13, 148, 136, 0.35)', width: 1, paths: uPlot.paths.bars({ size: [0.6, 40] }), points: { show: false }, value: value(2) },
      { label: 'volume-weighted price', scale: 'c', stroke: '#d97706', width: 2, points: { show: true, size: 6, fill: '#d97706' }, value: value(2) },
    ],
  }), [xs, vol, price], clock ? 'sim' : 'wall');
}

function drawEfficiency(e) {
  const items = e.items.filter((r) => r.marketEfficiency != null || r.allocativeEfficiency != null);
  const xs = items.map((r) => secs(r.start));
  // M is unbounded (little import, much trade); the axis stops at CAP so that the usual range stays readable
  const CAP = 2.5;
  const capped = items.some((r) => (r.marketEfficiency ?? 0) > CAP);
  $('eff-meta').textContent = items.length
    ? `overall M ${fmt(nf2, e.overall.marketEfficiency)} · A ${fmt(nf2, e.overall.allocativeEfficiency)}${capped ? ` · axis capped at ${CAP}` : ''}`
    : 'no slots with trades yet';
  draw('efficiency', $('chart-eff'), () => ({
    scales: { x: timeX().scale, y: { range: (u, min, max) => [0, Math.min(CAP, Math.max(1.1, (max ?? 1) * 1.1))] } },
    axes: [{ ...AXIS, ...timeX().axis }, { ...AXIS, label: 'ratio', labelSize: 18, size: 48 }],
    series: [
      {},
      { label: 'M = traded / imported', stroke: '#7c3aed', width: 2, points: { show: true, size: 5 }, value: value(2) },
      { label: 'A = traded / min(buy, sell)', stroke: '#db2777', width: 2, points: { show: true, size: 5 }, value: value(2) },
    ],
  }), [xs, items.map((r) => r.marketEfficiency), items.map((r) => r.allocativeEfficiency)], clock ? 'sim' : 'wall');
}

function drawSoc(s) {
  const xs = s.times.map(secs);
  const homes = s.homes;
  const key = homes.map((h) => h.address).join(',');
  const last = s.meanSocPermille[s.meanSocPermille.length - 1];
  // one series per pseudonym: a home has a new pseudonym every day, so this counts pseudonyms, not homes
  $('soc-meta').textContent = homes.length ? `${homes.length} pseudonyms shown · mean now ${last == null ? '–' : `${nf0.format(last / 10)} %`} · readings on chain` : 'no readings on chain yet';
  draw('soc', $('chart-soc'), () => ({
    scales: { x: timeX().scale, y: { range: [0, 100] } },
    axes: [{ ...AXIS, ...timeX().axis }, { ...AXIS, label: 'SOC (%)', labelSize: 18, size: 48 }],
    legend: { show: homes.length <= 6, live: false },
    series: [
      {},
      { label: 'mean', stroke: '#1f2937', width: 3, points: { show: false }, value: value(0) },
      ...homes.map((h, i) => ({ label: short(h.address), stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true, points: { show: false }, value: value(0) })),
    ],
  }), [xs, s.meanSocPermille.map((v) => (v == null ? null : v / 10)), ...homes.map((h) => h.socPermille.map((v) => (v == null ? null : v / 10)))], `${key}|${clock ? 'sim' : 'wall'}`);
}

/**
 * [AN-P2P] depth chart of one interval's book: cumulative supply (sells by ascending ask)
 * and cumulative demand (buys by descending bid) as steps over price, the clearing price
 * as a vertical line.
 */
function drawDepth(d) {
  const book = d ? d.book : { buys: [], sells: [] };
  const prices = [...new Set([...book.buys, ...book.sells].map((o) => o.priceMcPerKWh))].sort((a, b) => a - b);
  const xs = prices.map(centsPerKWh);
  // S(p) = energy offered at ask ≤ p; D(p) = energy bid at bid ≥ p
  const supply = prices.map((p) => kWh(book.sells.filter((o) => o.priceMcPerKWh <= p).reduce((n, o) => n + o.energyWh, 0)));
  const demand = prices.map((p) => kWh(book.buys.filter((o) => o.priceMcPerKWh >= p).reduce((n, o) => n + o.energyWh, 0)));
  const mcp = d?.market.clearingPriceMcPerKWh ?? null;
  $('p2p-meta').textContent = d
    ? `interval ${d.market.interval}${d.market.start ? ` · ${clock ? hourLabel(secs(d.market.start)) : timeOf(d.market.start)}` : ''} · ${book.buys.length} buys · ${book.sells.length} sells · clearing ${mcp == null ? 'none' : `${fmt(nf2, centsPerKWh(mcp))} ¢/kWh`} · ${fmt(nf2, kWh(d.market.p2pVolumeWh))} kWh`
    : 'no P2P market cleared yet';
  $('p2p').dataset.interval = d ? String(d.market.interval) : '';
  const markMcp = (u) => {
    if (mcp == null) return;
    const x = u.valToPos(centsPerKWh(mcp), 'x', true);
    const { ctx, bbox } = u;
    ctx.save();
    ctx.strokeStyle = '#d97706';
    ctx.lineWidth = 2 * devicePixelRatio;
    ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
    ctx.restore();
  };
  draw('depth', $('chart-depth'), () => ({
    scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(1, (max ?? 1) * 1.15)] } },
    axes: [{ ...AXIS, label: 'price (¢/kWh)', labelSize: 18 }, { ...AXIS, label: 'cumulative kWh', labelSize: 18, size: 52 }],
    series: [
      {},
      { label: 'supply (asks ≤ p)', stroke: '#059669', width: 2, paths: uPlot.paths.stepped({ align: 1 }), points: { show: true, size: 5 }, value: value(2) },
      { label: 'demand (bids ≥ p)', stroke: '#2563eb', width: 2, paths: uPlot.paths.stepped({ align: -1 }), points: { show: true, size: 5 }, value: value(2) },
    ],
    hooks: { draw: [(u) => markMcp(u)] },
  }), [xs, supply, demand], `depth|${d ? d.market.interval : ''}|${mcp}`);
}

function drawMarketIntervals(l) {
  const rows = l.items.slice(0, 12);
  $('p2p-intervals').tBodies[0].replaceChildren(...rows.map((r) => el('tr', {},
    el('td', {}, r.start ? (clock ? `${hourLabel(secs(r.start))}–${hourLabel(secs(r.end))}` : `${timeOf(r.start)}–${timeOf(r.end)}`) : `#${r.interval}`),
    el('td', {}, el('span', { class: `badge ${r.status}` }, r.status)),
    el('td', { class: 'num' }, fmt(nf2, centsPerKWh(r.clearingPriceMcPerKWh))),
    el('td', { class: 'num' }, fmt(nf2, kWh(r.p2pVolumeWh))),
    el('td', { class: 'num' }, nf0.format(r.fills)),
    el('td', { class: 'num' }, fmt(nf2, kWh(r.auctionAwardedWh))))));
  if (!rows.length) $('p2p-intervals').tBodies[0].replaceChildren(el('tr', {}, el('td', { colspan: '6', class: 'none' }, 'No P2P market cleared yet')));
  $('p2p-intervals').dataset.items = String(l.items.length);
  const t = l.totals;
  $('p2p-list-meta').textContent = t.intervals
    ? `${t.intervals} intervals · P2P ${fmt(nf1, kWh(t.p2pVolumeWh))} kWh vs auctions ${fmt(nf1, kWh(t.auctionAwardedWh))} kWh`
    : '';
}

// ── lists and tables ───────────────────────────────────────────────────────────
function barRow(label, fraction, right, colour, title) {
  const bar = el('span', { class: 'bar' }, el('span', { class: 'fill', style: { width: `${Math.max(0, Math.min(1, fraction)) * 100}%`, background: colour } }));
  return el('li', { title }, el('span', { class: 'who mono' }, label), bar, el('span', { class: 'val' }, right));
}

// [AN-POE] what decided an epoch's first place (poe-chain decidedBy)
const DECIDED = { single: 'a single validator', score: 'energy (|P − C|)', window: 'energy (earlier intervals)', seed: 'the seed (a tie on energy)', none: 'no validator' };

/** Per epoch of the history: validators tied on energy at the top, and what decided. */
function drawDecisions(h) {
  const items = (h.items || []).filter((r) => r.source === 'chain' && r.size > 0).reverse();
  const counts = { single: 0, score: 0, window: 0, seed: 0 };
  for (const r of items) if (r.decidedBy in counts) counts[r.decidedBy]++;
  const energy = counts.single + counts.score + counts.window;
  $('decisions-meta').textContent = items.length
    ? `${items.length} ranked epochs · energy decided ${energy} (${pct(energy / items.length)}) · the seed ${counts.seed}`
    : 'no ranked epoch yet';
  $('decisions').replaceChildren(...items.slice(-48).map((r) =>
    el('span', { class: `tick ${r.decidedBy}`, title: `epoch ${r.epoch}: ${DECIDED[r.decidedBy] ?? '?'}${r.tiedAtTop > 1 ? `, ${r.tiedAtTop} tied on energy` : ''}`, style: { height: `${Math.min(100, 12 + 12 * (r.tiedAtTop || 0))}%` } })));
}

function drawRanking(r) {
  const list = $('ranking');
  list.replaceChildren(...r.items.slice(0, 10).map((e) =>
    barRow(`${e.rank}. ${short(e.address)}`, e.cpf, `${nf2.format(e.cpf)} · ${nf0.format(e.scoreWh)} Wh`, colourOf(e.address), e.address)));
  list.dataset.items = String(r.items.length);
  const decided = r.decidedBy ? ` · decided by ${DECIDED[r.decidedBy] ?? r.decidedBy}${r.tiedAtTop > 1 ? ` (${r.tiedAtTop} tied on energy)` : ''}` : '';
  $('ranking-meta').textContent = r.source === 'chain' ? `epoch ${r.epoch} · ${r.size} validators${decided}${r.latestEpoch != null ? ` · the last ranked (epoch ${r.latestEpoch} ranked none)` : ''}`
    : r.source === 'readings' ? `from readings on chain of ${clock ? hourLabel(secs(r.intervalStart)) : timeOf(r.intervalStart)} · ${r.size} pseudonyms` : 'no ranking yet';
  if (!r.items.length) list.replaceChildren(el('li', { class: 'none' }, 'No readings yet'));
}

function drawProducers(p) {
  const list = $('producers');
  list.replaceChildren(...p.items.slice(0, 10).map((e) =>
    barRow(short(e.address), e.share ?? 0, `${pct(e.share)} · ${nf0.format(e.blocks)} blocks${e.rewardMc ? ` · received €${nf2.format(euros(e.rewardMc))}` : ''}`, colourOf(e.address), e.address)));
  list.dataset.items = String(p.items.length);
  $('producers-meta').textContent = p.totalBlocks ? `${nf0.format(p.totalBlocks)} blocks · ${p.items.length} producers` : 'no blocks yet';
  if (!p.items.length) list.replaceChildren(el('li', { class: 'none' }, 'No blocks yet'));
}

function drawWallets(w) {
  const rows = w.items.slice(0, 15);
  const maxAbs = Math.max(1, ...rows.map((r) => Math.abs(r.balanceMc ?? 0)));
  $('wallets').tBodies[0].replaceChildren(...rows.map((r) => {
    const bal = r.balanceMc ?? null;
    const neg = (bal ?? 0) < 0;
    return el('tr', r.clearingAccount ? { class: 'clearing' } : {},
      el('td', { class: 'mono', title: r.address }, short(r.address), ...(r.clearingAccount ? [el('span', { class: 'tag' }, 'aggregator')] : [])),
      el('td', { class: 'num' }, fmt(nf2, euros(r.receivedMc))),
      el('td', { class: 'num' }, fmt(nf2, euros(r.paidMc))),
      el('td', { class: `num ${neg ? 'neg' : ''}` }, fmt(nf2, euros(bal))),
      el('td', { class: 'num' }, nf0.format(r.awards)),
      el('td', { class: 'num' }, fmt(nf2, kWh(r.awardedWh))),
      el('td', { class: 'num' }, fmt(nf2, kWh(r.deliveredWh))),
      el('td', { class: 'bar-col' }, el('span', { class: 'bar' }, el('span', { class: `fill ${neg ? 'neg' : ''}`, style: { width: `${(Math.abs(bal ?? 0) / maxAbs) * 100}%` } }))));
  }));
  if (!rows.length) $('wallets').tBodies[0].replaceChildren(el('tr', {}, el('td', { colspan: '8', class: 'none' }, 'No wallets or awards yet')));
  $('wallets-meta').textContent = `${w.total} addresses`;
}

function drawAuctions(a) {
  $('auctions').tBodies[0].replaceChildren(...a.items.map((r) => el('tr', {},
    el('td', { class: 'mono', title: r.auctionId }, r.auctionId.length > 28 ? `${r.auctionId.slice(0, 27)}…` : r.auctionId),
    el('td', {}, el('span', { class: `badge ${r.status}` }, r.status)),
    el('td', {}, r.side ?? '–'),
    el('td', {}, r.deliveryStart ? (clock ? `${hourLabel(secs(r.deliveryStart))}–${hourLabel(secs(r.deliveryEnd))}` : `${timeOf(r.deliveryStart)}–${timeOf(r.deliveryEnd)}`) : '–'),
    el('td', { class: 'num' }, fmt(nf2, kWh(r.energyWh))),
    el('td', { class: 'num' }, fmt(nf2, centsPerKWh(r.limitPriceMcPerKWh))),
    el('td', { class: 'num', title: `${r.bids} seen, ${r.bidsOnChain ?? '?'} on chain (the chain refuses e.g. bids of RE-only homes)` }, `${nf0.format(r.bidsOnChain ?? 0)} / ${nf0.format(r.bids)}`),
    el('td', { class: 'num' }, fmt(nf2, kWh(r.awardedWh))),
    el('td', { class: 'num' }, fmt(nf2, centsPerKWh(r.clearingPriceMcPerKWh))))));
  if (!a.items.length) $('auctions').tBodies[0].replaceChildren(el('tr', {}, el('td', { colspan: '9', class: 'none' }, 'No auctions yet')));
}

function drawSummary(s) {
  $('kpi-height').textContent = s.height == null ? '–' : nf0.format(s.height);
  $('kpi-blocks').textContent = `${s.producers} producer${s.producers === 1 ? '' : 's'}`;
  // [AN-FIN] the final block, and settlement money in final blocks vs in blocks not final yet
  $('kpi-final').textContent = s.finalizedHeight == null ? '–' : nf0.format(s.finalizedHeight);
  $('kpi-final-note').textContent = s.finalizedHeight == null ? 'no final block seen yet'
    : `${s.height == null ? 0 : nf0.format(Math.max(0, s.height - s.finalizedHeight))} block(s) above it unconfirmed · from the ${s.finalizedHeightSource === 'node' ? "node's finality gadget" : "chain's proof"}`;
  const fin = s.settlementsInFinalBlocks, unc = s.settlementsInUnconfirmedBlocks;
  const settledCents = (m) => (m.auctionPaymentMc + m.auctionPenaltyMc + m.p2pPaymentMc + m.p2pImbalanceMc) / 1000;
  $('kpi-settled-final').textContent = fmt(nf2, settledCents(fin));
  $('kpi-settled-note').textContent = `cents in ${nf0.format(fin.auctionSettlements + fin.p2pSettlements)} settlements · unconfirmed: ${nf2.format(settledCents(unc))} cents in ${nf0.format(unc.auctionSettlements + unc.p2pSettlements)}`;
  $('kpi-auctions').textContent = `${nf0.format(s.auctionsByStatus.cleared)} / ${nf0.format(s.auctions)}`;
  $('kpi-auctions-note').textContent = `${s.auctionsByStatus.open} open · ${s.auctionsByStatus.void} void`;
  $('kpi-traded').textContent = fmt(nf1, kWh(s.tradedWh));
  $('kpi-p2p').textContent = fmt(nf1, kWh(s.p2pTradedWh));
  $('kpi-p2p-note').textContent = `kWh · ${nf0.format(s.p2pFills)} fills in ${nf0.format(s.p2pIntervalsCleared)} intervals`;
  $('kpi-price').textContent = fmt(nf2, centsPerKWh(s.meanPriceMcPerKWh));
  $('kpi-sc').textContent = pct(s.selfConsumption);
  $('kpi-homes').textContent = `${s.pseudonyms} pseudonyms · ${nf0.format(s.readingsOnChain)} readings on chain`;
  $('kpi-m').textContent = fmt(nf2, s.marketEfficiency);
  $('kpi-a').textContent = fmt(nf2, s.allocativeEfficiency);
}

// ── refresh ────────────────────────────────────────────────────────────────────
let refreshing = false;
let again = false;
let timer = null;

async function refresh() {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  try {
    const [s, n, p, e, soc, r, prod, w, a, hist, mk] = await Promise.all([
      getJson('/api/summary'), getJson('/api/net-load'), getJson('/api/prices?limit=96'), getJson('/api/efficiency?limit=96'),
      getJson('/api/soc?limit=96&homes=10'), getJson('/api/ranking?top=10'), getJson('/api/producers'),
      getJson('/api/wallets?limit=15'), getJson('/api/auctions?limit=12'), getJson('/api/ranking/history?limit=96&top=1'),
      getJson('/api/market?limit=24'),
    ]);
    // [AN-P2P] the book of the latest cleared interval
    const latest = mk.items[0];
    const depth = latest ? await getJson(`/api/market/${latest.interval}`) : null;
    clock = n.clock ?? null;
    drawSummary(s);
    drawNetLoad(n);
    drawPrices(p.items);
    drawEfficiency(e);
    drawSoc(soc);
    drawRanking(r);
    drawDecisions(hist);
    drawProducers(prod);
    drawWallets(w);
    drawAuctions(a);
    drawDepth(depth);
    drawMarketIntervals(mk);
    dash.refreshes++;
    dash.ready = true;
    document.body.dataset.version = String(s.version);
    $('status-line').textContent = `Updated ${new Date().toLocaleTimeString()} · data version ${s.version} · ${nf0.format(s.readingsOnChain)} readings on chain`;
  } catch (err) {
    $('status-line').textContent = `Could not load: ${err.message}`;
  } finally {
    refreshing = false;
    if (again) {
      again = false;
      scheduleRefresh();
    }
  }
}

/** at most one refresh per 600 ms, however fast facts arrive */
function scheduleRefresh() {
  if (timer !== null) return;
  timer = setTimeout(() => {
    timer = null;
    void refresh();
  }, 600);
}

// ── live updates ───────────────────────────────────────────────────────────────
function setLive(state, text) {
  $('live').dataset.state = state;
  $('live-text').textContent = text;
}

const events = new EventSource('/api/events');
events.addEventListener('hello', () => setLive('live', 'live'));
events.addEventListener('facts', (ev) => {
  dash.updates++;
  dash.lastEvent = JSON.parse(ev.data);
  setLive('live', `live · ${dash.updates} update${dash.updates === 1 ? '' : 's'}`);
  scheduleRefresh();
});
events.addEventListener('error', () => setLive('down', 'reconnecting…'));
window.addEventListener('pagehide', () => events.close());

void refresh();
