/**
 * Rooftop PV from solar geometry × a cloudiness process, at one-minute resolution.
 *
 *   P(t) = min( inverterMaxW, peakPowerW · POA(t)/1000 · PR · (1 + tempCoeff·(T_cell − 25)) )
 *   POA(t) from GHI(t) = GHI_clear,Haurwitz(t) · k(t)   (see solarGeometry.ts)
 *   T_cell = T_amb + POA·(NOCT − 20)/800
 *
 * Cloudiness k(t), the clear-sky index:
 *  - day level: a latent z_d = ρ z_{d−1} + √(1−ρ²) ε (day-to-day persistence), shifted by
 *    the season, u = Φ(z_d + S·cos(2π(n − n_cloudiest)/365)), and the day's clearness
 *    K_d = K_max − (K_max − K_min)·u^γ (γ > 1: more clear days than overcast ones);
 *  - intra-day: k(t) = K_d · exp(σ_d x(t) − σ_d²/2), x an AR(1) with correlation time τ
 *    minutes, σ_d = v · 4K_d(1 − K_d) (broken cloud varies most, clear and overcast days
 *    least), k clipped to [0.02, 1.3].
 */
import { createRng, type Rng } from './rng.js';
import { dayOfYear, epochDay, fromEpochDay, isDst, parseDate } from './calendar.js';
import {
  equationOfTimeMin, extraterrestrialWm2, haurwitzGhi, planeOfArrayWm2, sunVector,
} from './solarGeometry.js';
import { checkPeriod, checkSite, type PeriodParams, type SiteParams } from './profileSeries.js';

export interface PvParams {
  /** array rating, W peak (DC, STC) */
  readonly peakPowerW: number;
  readonly tiltDeg: number;
  /** degrees clockwise from north the panels face (southern hemisphere: 0 = north, the sunny side) */
  readonly azimuthDeg: number;
  readonly albedo: number;
  /** DC+AC losses other than temperature (soiling, wiring, mismatch, inverter), 0..1 */
  readonly performanceRatio: number;
  /** AC limit of the inverter, W */
  readonly inverterMaxW: number;
  /** power temperature coefficient, 1/K (crystalline Si ≈ −0.004) */
  readonly tempCoeffPerK: number;
  /** nominal operating cell temperature, °C */
  readonly noctC: number;
  /** ambient temperature: yearly mean, seasonal amplitude, warmest day of year, diurnal amplitude (°C) */
  readonly ambientMeanC: number;
  readonly ambientSeasonalAmpC: number;
  readonly ambientWarmestDoy: number;
  readonly ambientDiurnalAmpC: number;
  /** K_max, K_min: day clearness of the clearest and the most overcast days */
  readonly clearnessMax: number;
  readonly clearnessMin: number;
  /** γ: skew of day clearness towards clear days (> 1) */
  readonly clearnessShape: number;
  /** ρ: day-to-day persistence of the weather, 0..1 */
  readonly clearnessPersistence: number;
  /** S: seasonal shift of the latent weather (> 0: cloudier around cloudiestDoy) */
  readonly clearnessSeasonalShift: number;
  readonly cloudiestDoy: number;
  /** v: intra-day variability at K_d = 0.5 (log-sd of the clear-sky index) */
  readonly intradayVariability: number;
  /** τ: correlation time of intra-day variation, minutes */
  readonly intradayCorrelationMin: number;
}

/** Φ, the standard normal CDF (Abramowitz & Stegun 7.1.26 through erf, |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

function checkPv(p: PvParams): void {
  const bad = (name: string, v: number, need: string): never => {
    throw new RangeError(`BAD_PV_PARAM param=${name} value=${v} need=${need}`);
  };
  for (const [k, v] of Object.entries(p)) if (typeof v !== 'number' || !Number.isFinite(v)) bad(k, Number(v), 'finite number');
  if (p.peakPowerW < 0) bad('peakPowerW', p.peakPowerW, '>= 0');
  if (p.tiltDeg < 0 || p.tiltDeg > 90) bad('tiltDeg', p.tiltDeg, '0..90');
  if (p.performanceRatio <= 0 || p.performanceRatio > 1) bad('performanceRatio', p.performanceRatio, '(0, 1]');
  if (p.inverterMaxW < 0) bad('inverterMaxW', p.inverterMaxW, '>= 0');
  if (!(p.clearnessMin >= 0 && p.clearnessMin < p.clearnessMax && p.clearnessMax <= 1.3)) {
    bad('clearnessMin', p.clearnessMin, '0 <= clearnessMin < clearnessMax <= 1.3');
  }
  if (p.clearnessShape <= 0) bad('clearnessShape', p.clearnessShape, '> 0');
  if (p.clearnessPersistence < 0 || p.clearnessPersistence >= 1) bad('clearnessPersistence', p.clearnessPersistence, '[0, 1)');
  if (p.intradayVariability < 0) bad('intradayVariability', p.intradayVariability, '>= 0');
  if (p.intradayCorrelationMin <= 0) bad('intradayCorrelationMin', p.intradayCorrelationMin, '> 0');
}

/** Day clearness sequence K_d (one value per day). */
export function dayClearness(p: PvParams, firstDoy: (i: number) => number, days: number, rng: Rng): number[] {
  const out: number[] = [];
  const rho = p.clearnessPersistence;
  let z = rng.normal();
  for (let i = 0; i < days; i++) {
    if (i > 0) z = rho * z + Math.sqrt(1 - rho * rho) * rng.normal();
    const shift = p.clearnessSeasonalShift * Math.cos((2 * Math.PI * (firstDoy(i) - p.cloudiestDoy)) / 365);
    const u = normalCdf(z + shift);
    out.push(p.clearnessMax - (p.clearnessMax - p.clearnessMin) * u ** p.clearnessShape);
  }
  return out;
}

/** PV power per minute (W) over the period; length days × 1440. */
export function pvMinutes(site: SiteParams, period: PeriodParams, p: PvParams, seed: number): Float64Array {
  checkSite(site);
  checkPeriod(period);
  checkPv(p);
  const rng = createRng(seed);
  const day0 = epochDay(parseDate(period.startDate));
  const doyOf = (i: number): number => dayOfYear(fromEpochDay(day0 + i));
  const kd = dayClearness(p, doyOf, period.days, rng.fork('days'));
  const intra = rng.fork('intraday');
  const a = Math.exp(-1 / p.intradayCorrelationMin);
  const b = Math.sqrt(1 - a * a);
  const panel = { tiltDeg: p.tiltDeg, azimuthDeg: p.azimuthDeg, albedo: p.albedo };
  const out = new Float64Array(period.days * 1440);
  let x = intra.normal();
  for (let i = 0; i < period.days; i++) {
    const ymd = fromEpochDay(day0 + i);
    const doy = dayOfYear(ymd);
    const k = kd[i] ?? 1;
    const sigma = p.intradayVariability * 4 * k * (1 - Math.min(k, 1));
    const tSeason = p.ambientMeanC + p.ambientSeasonalAmpC * Math.cos((2 * Math.PI * (doy - p.ambientWarmestDoy)) / 365);
    // per-day solar constants (EoT and I0 change little within a day)
    const eotMin = equationOfTimeMin(doy);
    const i0 = extraterrestrialWm2(doy);
    for (let m = 0; m < 1440; m++) {
      x = a * x + b * intra.normal();
      const standardMin = m + 0.5 - (isDst(site.dst, ymd, m) ? 60 : 0);
      const solarH = (standardMin + 4 * (site.longitudeDeg - 15 * site.utcOffsetHours) + eotMin) / 60;
      const sun = sunVector(site.latitudeDeg, doy, solarH);
      if (sun.up <= 0) continue;
      const kt = Math.min(1.3, Math.max(0.02, k * Math.exp(sigma * x - (sigma * sigma) / 2)));
      const ghi = Math.min(haurwitzGhi(sun.up) * kt, i0 * sun.up);
      const poa = planeOfArrayWm2(ghi, sun, doy, panel);
      const tAmb = tSeason + p.ambientDiurnalAmpC * Math.cos((2 * Math.PI * (solarH - 15)) / 24);
      const tCell = tAmb + (poa * (p.noctC - 20)) / 800;
      const w = p.peakPowerW * (poa / 1000) * p.performanceRatio * (1 + p.tempCoeffPerK * (tCell - 25));
      out[i * 1440 + m] = Math.max(0, Math.min(p.inverterMaxW, w));
    }
  }
  return out;
}
