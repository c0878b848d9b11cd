/**
 * Renders the offer and bid curves as a self-contained SVG (no dependencies): left panel
 * quantity (Wh per interval) against SOC, right panel price (cents/kWh) against SOC with
 * the degradation cost C_d. Pure: returns the SVG text.
 */
import { degradationCostExactMcPerKWh } from './batteryParams.js';
import { bidPriceMcPerKWh, bidQuantityWh, offerPriceMcPerKWh, offerQuantityWh } from './curves.js';
import type { TcrParams } from './tcrParams.js';

export interface CurvesSvgOptions {
  /** delivery interval the quantities are drawn for, seconds (default 900). */
  intervalS?: number;
  /** samples along the SOC axis (default 201). */
  samples?: number;
  title?: string;
}

interface Series {
  label: string;
  color: string;
  dash?: string;
  points: [number, number][];
}

const W = 900;
const H = 450;
const PANEL_W = 360;
const PANEL_H = 260;
const TOP = 60;

function fmt(n: number): string {
  return (Math.round(n * 100) / 100).toString();
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function panel(x0: number, title: string, yLabel: string, yMax: number, series: Series[], window: [number, number]): string {
  const sx = (soc: number): number => x0 + soc * PANEL_W;
  const sy = (y: number): number => TOP + PANEL_H - (y / yMax) * PANEL_H;
  const out: string[] = [];
  // SOC outside [SOC_min, SOC_max] shaded: the battery never goes there (1).
  out.push(`<rect x="${x0}" y="${TOP}" width="${fmt(sx(window[0]) - x0)}" height="${PANEL_H}" fill="#f2f2f2"/>`);
  out.push(`<rect x="${fmt(sx(window[1]))}" y="${TOP}" width="${fmt(x0 + PANEL_W - sx(window[1]))}" height="${PANEL_H}" fill="#f2f2f2"/>`);
  out.push(`<text x="${x0 + PANEL_W / 2}" y="${TOP - 12}" text-anchor="middle" font-weight="bold">${title}</text>`);
  for (let i = 0; i <= 5; i++) {
    const y = (yMax * i) / 5;
    out.push(`<line x1="${x0}" y1="${fmt(sy(y))}" x2="${x0 + PANEL_W}" y2="${fmt(sy(y))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x0 - 6}" y="${fmt(sy(y) + 4)}" text-anchor="end">${fmt(y)}</text>`);
  }
  for (let i = 0; i <= 10; i++) {
    const soc = i / 10;
    out.push(`<line x1="${fmt(sx(soc))}" y1="${TOP + PANEL_H}" x2="${fmt(sx(soc))}" y2="${TOP + PANEL_H + 4}" stroke="#333"/>`);
    out.push(`<text x="${fmt(sx(soc))}" y="${TOP + PANEL_H + 18}" text-anchor="middle">${i * 10}</text>`);
  }
  out.push(`<rect x="${x0}" y="${TOP}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${x0 + PANEL_W / 2}" y="${TOP + PANEL_H + 36}" text-anchor="middle">SOC (%)</text>`);
  out.push(
    `<text x="${x0 - 46}" y="${TOP + PANEL_H / 2}" text-anchor="middle" transform="rotate(-90 ${x0 - 46} ${TOP + PANEL_H / 2})">${yLabel}</text>`,
  );
  series.forEach((s, i) => {
    const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${fmt(sx(x))},${fmt(sy(y))}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    const ly = TOP + PANEL_H + 58 + i * 18;
    out.push(`<line x1="${x0}" y1="${ly - 4}" x2="${x0 + 24}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<text x="${x0 + 30}" y="${ly}">${s.label}</text>`);
  });
  return out.join('\n');
}

export function curvesSvg(params: TcrParams, opts: CurvesSvgOptions = {}): string {
  const { battery: b, curves: c } = params;
  const intervalS = opts.intervalS ?? 900;
  const n = Math.max(2, opts.samples ?? 201);
  const socs = Array.from({ length: n }, (_, i) => i / (n - 1));
  const offerQ = socs.map((s): [number, number] => [s, offerQuantityWh(s, b, c, intervalS)]);
  const bidQ = socs.map((s): [number, number] => [s, bidQuantityWh(s, b, c, intervalS)]);
  const offerP = socs.map((s): [number, number] => [s, offerPriceMcPerKWh(s, b, c) / 1000]);
  const bidP = socs.map((s): [number, number] => [s, bidPriceMcPerKWh(s, b, c) / 1000]);
  const cd = degradationCostExactMcPerKWh(b) / 1000;
  const qMax = niceMax(Math.max(...offerQ.map((p) => p[1]), ...bidQ.map((p) => p[1])));
  const pMax = niceMax(Math.max(...offerP.map((p) => p[1]), ...bidP.map((p) => p[1]), cd));
  const minutes = fmt(intervalS / 60);
  const title =
    opts.title ??
    `TCR curves: ${fmt(b.capacityWh / 1000)} kWh, SOC ${fmt(b.socMin * 100)}–${fmt(b.socMax * 100)} %, ` +
      `η ${fmt(b.etaCh)}/${fmt(b.etaDis)}, ${fmt(b.maxChargeW / 1000)}/${fmt(b.maxDischargeW / 1000)} kW, ` +
      `C_d ${fmt(cd)} c/kWh, ${minutes}-min interval`;
  const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    panel(80, `Quantity per ${minutes} min`, 'Wh', qMax, [
      { label: 'offer (discharge) Q_off', color: '#c0392b', points: offerQ },
      { label: 'bid (charge) Q_bid', color: '#2471a3', points: bidQ },
    ], [b.socMin, b.socMax]),
    panel(520, 'Price', 'cents/kWh', pMax, [
      { label: 'offer price P_off (min to sell)', color: '#c0392b', points: offerP },
      { label: 'bid price P_bid (max to pay)', color: '#2471a3', points: bidP },
      { label: 'degradation cost C_d', color: '#555', dash: '6 4', points: [[0, cd], [1, cd]] },
    ], [b.socMin, b.socMax]),
    '</svg>',
    '',
  ].join('\n');
}
