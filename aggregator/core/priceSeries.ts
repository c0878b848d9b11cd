/**
 * Imbalance / ancillary price series: the limit price of an auction for a delivery
 * interval. Pure parsing and lookup; the file is read by the caller.
 *
 * CSV format (header required):
 *   start,buy_cents_per_kwh,sell_cents_per_kwh
 *   2026-11-21T00:00:00.000Z,24.5,6.1
 * `buy` is the most the aggregator pays when it buys (its limit for buy auctions);
 * `sell` is the least it accepts when it sells. Rows apply from `start` until the next
 * row. Prices become integer millicents/kWh by the one rounding rule (floor).
 */
import { scaleFloor } from '../../wire/quantities.js';

export interface PricePoint {
  startMs: number;
  buyMcPerKWh: number;
  sellMcPerKWh: number;
}

export class PriceSeriesError extends Error {
  constructor(readonly code: string, readonly line: number, detail: string) {
    super(`${code} line=${line} ${detail}`);
  }
}

const MAX_ROWS = 1_000_000;

export function parsePriceCsv(text: string): PricePoint[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(',').map((s) => s.trim());
  if (!header || header.join(',') !== 'start,buy_cents_per_kwh,sell_cents_per_kwh') {
    throw new PriceSeriesError('BAD_HEADER', 1, 'expected start,buy_cents_per_kwh,sell_cents_per_kwh');
  }
  if (lines.length - 1 > MAX_ROWS) throw new PriceSeriesError('TOO_MANY_ROWS', MAX_ROWS + 1, `limit=${MAX_ROWS}`);
  const out: PricePoint[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cols = lines[i]!.split(',').map((s) => s.trim());
    if (cols.length !== 3) throw new PriceSeriesError('BAD_ROW', i + 1, `columns=${cols.length}`);
    const startMs = Date.parse(cols[0]!);
    const buy = Number(cols[1]);
    const sell = Number(cols[2]);
    if (!Number.isFinite(startMs)) throw new PriceSeriesError('BAD_DATE', i + 1, `value=${cols[0]}`);
    for (const [name, v] of [['buy', buy], ['sell', sell]] as const) {
      if (!Number.isFinite(v) || v < 0 || v > 100_000) throw new PriceSeriesError('BAD_PRICE', i + 1, `${name}=${String(v)}`);
    }
    if (out.length && startMs <= out[out.length - 1]!.startMs) throw new PriceSeriesError('NOT_ASCENDING', i + 1, `start=${cols[0]}`);
    out.push({ startMs, buyMcPerKWh: scaleFloor(buy, 3), sellMcPerKWh: scaleFloor(sell, 3) });
  }
  if (out.length === 0) throw new PriceSeriesError('EMPTY', 2, 'no rows');
  return out;
}

/** The point in force at time t (the last with start ≤ t; the first if t precedes all). */
export function priceAt(series: readonly PricePoint[], t: number): PricePoint {
  let lo = 0;
  let hi = series.length - 1;
  if (t < series[0]!.startMs) return series[0]!;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (series[mid]!.startMs <= t) lo = mid;
    else hi = mid - 1;
  }
  return series[lo]!;
}

/**
 * A default daily shape when no CSV is given: imbalance prices high in the evening peak
 * and low around solar noon (cents/kWh), repeated every day, in the local time of the
 * simulated day (`minuteOfDay`).
 */
export function defaultPriceAt(minuteOfDay: number): { buyMcPerKWh: number; sellMcPerKWh: number } {
  const h = minuteOfDay / 60;
  const evening = Math.exp(-((h - 19) ** 2) / 4); // peak at 19:00
  const morning = 0.5 * Math.exp(-((h - 7.5) ** 2) / 2);
  const solar = Math.exp(-((h - 13) ** 2) / 6); // midday surplus
  const buyCents = 18 + 22 * evening + 8 * morning - 6 * solar;
  const sellCents = 6 + 8 * evening + 3 * morning - 4 * solar;
  return { buyMcPerKWh: Math.floor(buyCents * 1000), sellMcPerKWh: Math.floor(Math.max(1, sellCents) * 1000) };
}
