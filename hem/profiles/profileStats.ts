/** Summary statistics of a profile series, for calibration and reports. Pure. */
import type { ProfileSeries } from './profileSeries.js';

export interface ProfileStats {
  days: number;
  totalLoadKWh: number;
  totalPvKWh: number;
  meanDailyLoadKWh: number;
  meanDailyPvKWh: number;
  /** highest interval average power, kW */
  peakLoadKw: number;
  peakPvKw: number;
  /** 99th percentile of interval average load power, kW */
  p99LoadKw: number;
  /** average power per interval of the day, kW (length = intervals per day) */
  loadShapeKw: number[];
  pvShapeKw: number[];
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

export function profileStats(s: ProfileSeries): ProfileStats {
  const perDay = 1440 / s.intervalMinutes;
  const days = s.loadWh.length / perDay;
  const kw = (wh: number): number => (wh * 60) / s.intervalMinutes / 1000;
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
  const shape = (xs: readonly number[]): number[] => {
    const out = new Array<number>(perDay).fill(0);
    xs.forEach((v, i) => {
      out[i % perDay] = (out[i % perDay] ?? 0) + kw(v) / days;
    });
    return out;
  };
  const max = (xs: readonly number[]): number => xs.reduce((m, x) => (x > m ? x : m), 0);
  const totalLoadKWh = sum(s.loadWh) / 1000;
  const totalPvKWh = sum(s.pvWh) / 1000;
  return {
    days,
    totalLoadKWh,
    totalPvKWh,
    meanDailyLoadKWh: totalLoadKWh / days,
    meanDailyPvKWh: totalPvKWh / days,
    peakLoadKw: kw(max(s.loadWh)),
    peakPvKw: kw(max(s.pvWh)),
    p99LoadKw: kw(percentile([...s.loadWh].sort((a, b) => a - b), 0.99)),
    loadShapeKw: shape(s.loadWh),
    pvShapeKw: shape(s.pvWh),
  };
}

/** Pearson correlation of two equal-length series. */
export function correlation(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length < 2) throw new RangeError(`BAD_SERIES lengths=${a.length},${b.length}`);
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = (a[i] ?? 0) - ma;
    const db = (b[i] ?? 0) - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? 0 : sab / Math.sqrt(saa * sbb);
}

export interface ProfileComparison {
  /** generated ÷ reference */
  loadEnergyRatio: number;
  pvEnergyRatio: number;
  medianDailyLoadRatio: number;
  medianDailyPvRatio: number;
  peakLoadRatio: number;
  p99LoadRatio: number;
  peakPvRatio: number;
  /** Pearson correlation of the average daily shapes */
  pvShapeCorrelation: number;
  loadShapeCorrelation: number;
  generated: Omit<ProfileStats, 'loadShapeKw' | 'pvShapeKw'>;
  reference: Omit<ProfileStats, 'loadShapeKw' | 'pvShapeKw'>;
}

function dailyMedianKWh(whs: readonly number[], perDay: number): number {
  const days: number[] = [];
  for (let i = 0; i + perDay <= whs.length; i += perDay) {
    let s = 0;
    for (let j = i; j < i + perDay; j++) s += whs[j] ?? 0;
    days.push(s / 1000);
  }
  days.sort((a, b) => a - b);
  return days[Math.floor(days.length / 2)] ?? 0;
}

/** Compares a generated series with a reference (e.g. metered) one of the same interval length. */
export function compareProfiles(generated: ProfileSeries, reference: ProfileSeries): ProfileComparison {
  if (generated.intervalMinutes !== reference.intervalMinutes) {
    throw new RangeError(`BAD_SERIES intervalMinutes=${generated.intervalMinutes},${reference.intervalMinutes} need=equal`);
  }
  const g = profileStats(generated);
  const r = profileStats(reference);
  const perDay = 1440 / generated.intervalMinutes;
  const strip = ({ loadShapeKw: _l, pvShapeKw: _p, ...rest }: ProfileStats): Omit<ProfileStats, 'loadShapeKw' | 'pvShapeKw'> => rest;
  return {
    loadEnergyRatio: g.meanDailyLoadKWh / r.meanDailyLoadKWh,
    pvEnergyRatio: g.meanDailyPvKWh / r.meanDailyPvKWh,
    medianDailyLoadRatio: dailyMedianKWh(generated.loadWh, perDay) / dailyMedianKWh(reference.loadWh, perDay),
    medianDailyPvRatio: dailyMedianKWh(generated.pvWh, perDay) / dailyMedianKWh(reference.pvWh, perDay),
    peakLoadRatio: g.peakLoadKw / r.peakLoadKw,
    p99LoadRatio: g.p99LoadKw / r.p99LoadKw,
    peakPvRatio: g.peakPvKw / r.peakPvKw,
    pvShapeCorrelation: correlation(g.pvShapeKw, r.pvShapeKw),
    loadShapeCorrelation: correlation(g.loadShapeKw, r.loadShapeKw),
    generated: strip(g),
    reference: strip(r),
  };
}
