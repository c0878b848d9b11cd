/**
 * Household load at one-minute resolution:
 *
 *   L(t) = season(n) · f_d · ( base + w(t) + Σ_bumps A_j·g(t; h_j, σ_j) ) + Σ_appliance events
 *
 *  - base: always-on load (fridge, freezer, standby), W; w(t) a slow AR(1) wander
 *    (sd `baseWanderW`, correlation time 60 min).
 *  - bumps: Gaussian bumps on the clock (wrapping at midnight), one set for weekdays and one
 *    for weekends (morning and evening peaks; a late, broad morning at weekends).
 *  - season(n) = 1 + A·cos(2π(n − n_peak)/365): seasonal scaling (Sydney: summer cooling).
 *  - f_d: the day's activity, log-normal with log-sd `dayFactorSigma` (mean 1).
 *  - appliance events (kettle, oven, washing machine, …): each a rectangular pulse of
 *    `powerW` for `durationMin`; the number per day is Poisson with mean
 *    eventsPerDay × (weekendFactor at weekends) × max(0, 1 + seasonality·cos(2π(n − n_peak)/365));
 *    start times drawn from the appliance's time windows (Gaussian around a clock hour).
 */
import { createRng, type Rng } from './rng.js';
import { dayOfYear, epochDay, fromEpochDay, isWeekend, parseDate } from './calendar.js';
import { checkPeriod, type PeriodParams } from './profileSeries.js';

/** A Gaussian bump of mean power `watts` at its peak around clock hour `hour`. */
export interface Bump {
  readonly hour: number;
  readonly widthH: number;
  readonly watts: number;
}

/** A time-of-day window where an appliance tends to start. */
export interface TimeWindow {
  readonly hour: number;
  readonly widthH: number;
  readonly weight: number;
}

export interface Appliance {
  readonly name: string;
  readonly powerW: number;
  readonly durationMin: number;
  readonly eventsPerDay: number;
  readonly windows: readonly TimeWindow[];
  /** multiplier of eventsPerDay on Saturdays and Sundays */
  readonly weekendFactor: number;
  /** −1..1: +1 used most around the seasonal peak (cooling), −1 around the opposite season (heating) */
  readonly seasonality: number;
}

export interface LoadParams {
  readonly baseW: number;
  readonly baseWanderW: number;
  readonly weekday: readonly Bump[];
  readonly weekend: readonly Bump[];
  /** A: seasonal amplitude of the smooth load, fraction */
  readonly seasonalAmplitude: number;
  /** n_peak: day of year of the highest load (and of `seasonality` +1) */
  readonly seasonalPeakDoy: number;
  readonly dayFactorSigma: number;
  readonly appliances: readonly Appliance[];
}

function checkLoad(p: LoadParams): void {
  const bad = (name: string, v: unknown, need: string): never => {
    throw new RangeError(`BAD_LOAD_PARAM param=${name} value=${String(v)} need=${need}`);
  };
  const nonneg = (name: string, v: number): void => {
    if (!Number.isFinite(v) || v < 0) bad(name, v, 'finite, >= 0');
  };
  nonneg('baseW', p.baseW);
  nonneg('baseWanderW', p.baseWanderW);
  nonneg('dayFactorSigma', p.dayFactorSigma);
  if (!Number.isFinite(p.seasonalAmplitude) || Math.abs(p.seasonalAmplitude) >= 1) bad('seasonalAmplitude', p.seasonalAmplitude, '|A| < 1');
  if (!Number.isFinite(p.seasonalPeakDoy)) bad('seasonalPeakDoy', p.seasonalPeakDoy, 'finite');
  for (const [set, bumps] of [['weekday', p.weekday], ['weekend', p.weekend]] as const) {
    bumps.forEach((b, i) => {
      if (!Number.isFinite(b.hour) || !(b.widthH > 0) || !Number.isFinite(b.watts)) bad(`${set}[${i}]`, JSON.stringify(b), 'finite hour, widthH > 0, finite watts');
    });
  }
  p.appliances.forEach((a, i) => {
    const ok =
      a.powerW >= 0 && Number.isFinite(a.powerW) && Number.isInteger(a.durationMin) && a.durationMin >= 1 && a.durationMin <= 1440 &&
      a.eventsPerDay >= 0 && a.eventsPerDay <= 30 && a.weekendFactor >= 0 && Math.abs(a.seasonality) <= 1 && a.windows.length > 0 &&
      a.windows.every((w) => Number.isFinite(w.hour) && w.widthH > 0 && w.weight > 0);
    if (!ok) bad(`appliances[${i}]`, a.name, 'powerW >= 0, integer durationMin 1..1440, eventsPerDay 0..30, windows non-empty');
  });
}

/** Sum of wrapped Gaussian bumps at clock hour h. */
export function bumpsAt(bumps: readonly Bump[], h: number): number {
  let s = 0;
  for (const b of bumps) {
    let d = Math.abs(h - b.hour) % 24;
    if (d > 12) d = 24 - d;
    s += b.watts * Math.exp(-(d * d) / (2 * b.widthH * b.widthH));
  }
  return s;
}

function pickStartMinute(windows: readonly TimeWindow[], rng: Rng): number {
  const total = windows.reduce((s, w) => s + w.weight, 0);
  let r = rng.uniform() * total;
  let w = windows[windows.length - 1] as TimeWindow;
  for (const c of windows) {
    if (r < c.weight) {
      w = c;
      break;
    }
    r -= c.weight;
  }
  const h = (((w.hour + w.widthH * rng.normal()) % 24) + 24) % 24;
  return Math.floor(h * 60);
}

/** Load power per minute (W) over the period; length days × 1440. */
export function loadMinutes(period: PeriodParams, p: LoadParams, seed: number): Float64Array {
  checkPeriod(period);
  checkLoad(p);
  const rng = createRng(seed);
  const smoothRng = rng.fork('smooth');
  const dayRng = rng.fork('days');
  const eventRng = rng.fork('appliances');
  const day0 = epochDay(parseDate(period.startDate));
  const n = period.days * 1440;
  const out = new Float64Array(n);
  const a = Math.exp(-1 / 60);
  const b = Math.sqrt(1 - a * a);
  let wander = smoothRng.normal();
  const sigma = p.dayFactorSigma;
  // precomputed bump shapes per minute
  const shape = (bumps: readonly Bump[]): Float64Array => {
    const s = new Float64Array(1440);
    for (let m = 0; m < 1440; m++) s[m] = bumpsAt(bumps, (m + 0.5) / 60);
    return s;
  };
  const weekdayShape = shape(p.weekday);
  const weekendShape = shape(p.weekend);
  for (let i = 0; i < period.days; i++) {
    const ymd = fromEpochDay(day0 + i);
    const doy = dayOfYear(ymd);
    const weekend = isWeekend(ymd);
    const seasonCos = Math.cos((2 * Math.PI * (doy - p.seasonalPeakDoy)) / 365);
    const season = 1 + p.seasonalAmplitude * seasonCos;
    const f = Math.exp(sigma * dayRng.normal() - (sigma * sigma) / 2);
    const s = weekend ? weekendShape : weekdayShape;
    for (let m = 0; m < 1440; m++) {
      wander = a * wander + b * smoothRng.normal();
      const w = season * f * (p.baseW + p.baseWanderW * wander + (s[m] ?? 0));
      out[i * 1440 + m] = Math.max(0, w);
    }
    for (const ap of p.appliances) {
      const rate = ap.eventsPerDay * (weekend ? ap.weekendFactor : 1) * Math.max(0, 1 + ap.seasonality * seasonCos);
      const count = eventRng.poisson(rate);
      for (let e = 0; e < count; e++) {
        const start = i * 1440 + pickStartMinute(ap.windows, eventRng);
        const end = Math.min(n, start + ap.durationMin);
        for (let t = start; t < end; t++) out[t] = (out[t] ?? 0) + ap.powerW;
      }
    }
  }
  return out;
}
