/**
 * Seeded PV and load profile of one home: `generateProfile({site, period, pv, load, seed})`.
 * Pure and deterministic: the same options and seed give the same series. PV and load use
 * independent sub-streams of the seed, so changing the load parameters leaves the PV alone.
 *
 * Defaults: a Sydney home with a 1.04 kWp rooftop system, calibrated against a year of
 * metered data of a real Sydney-area home (see README.md, "Calibration").
 */
import { createRng } from './rng.js';
import { loadMinutes, type Appliance, type LoadParams } from './loadModel.js';
import { pvMinutes, type PvParams } from './pvModel.js';
import { epochDay, formatLabel, fromEpochDay, parseDate } from './calendar.js';
import { minutesToIntervalWh, SYDNEY, type PeriodParams, type ProfileSeries, type SiteParams } from './profileSeries.js';

export const DEFAULT_PV_PARAMS: PvParams = Object.freeze({
  peakPowerW: 1040,
  tiltDeg: 20,
  azimuthDeg: 320,
  albedo: 0.2,
  performanceRatio: 0.84,
  inverterMaxW: 1000,
  tempCoeffPerK: -0.004,
  noctC: 45,
  ambientMeanC: 18,
  ambientSeasonalAmpC: 5,
  ambientWarmestDoy: 30,
  ambientDiurnalAmpC: 4,
  clearnessMax: 1,
  clearnessMin: 0.15,
  clearnessShape: 1.8,
  clearnessPersistence: 0.5,
  clearnessSeasonalShift: 0.15,
  cloudiestDoy: 165,
  intradayVariability: 0.6,
  intradayCorrelationMin: 15,
});

const ap = (
  name: string, powerW: number, durationMin: number, eventsPerDay: number,
  windows: [number, number, number][], weekendFactor = 1, seasonality = 0,
): Appliance => ({
  name, powerW, durationMin, eventsPerDay, weekendFactor, seasonality,
  windows: windows.map(([hour, widthH, weight]) => ({ hour, widthH, weight })),
});

export const DEFAULT_APPLIANCES: readonly Appliance[] = Object.freeze([
  ap('kettle', 2000, 3, 2, [[6.5, 0.5, 2], [12.5, 1.5, 1], [18, 1.5, 1]], 1.2, -0.2),
  ap('toaster', 900, 4, 0.4, [[7, 0.7, 1]], 1.2),
  ap('microwave', 900, 5, 1, [[12.5, 1, 1], [18.5, 1, 2]]),
  ap('cooktop', 1200, 20, 0.4, [[18.3, 0.8, 1]], 1.2),
  ap('oven', 1400, 40, 0.25, [[18, 1, 1]], 1.5, -0.3),
  ap('washing machine', 1200, 20, 0.35, [[9, 2, 1], [17, 2, 0.5]], 2),
  ap('clothes dryer', 2000, 45, 0.1, [[11, 3, 1]], 1.5, -0.6),
  ap('dishwasher', 1200, 25, 0.5, [[20.5, 1, 1]]),
  ap('air conditioner', 600, 120, 0.2, [[16, 2, 1]], 1.2, 1),
  ap('heater', 1000, 90, 0.1, [[19, 2, 1]], 1.2, -1),
]);

export const DEFAULT_LOAD_PARAMS: LoadParams = Object.freeze({
  baseW: 385,
  baseWanderW: 70,
  weekday: [
    { hour: 6.3, widthH: 0.4, watts: 220 },
    { hour: 8, widthH: 1.5, watts: 110 },
    { hour: 13.5, widthH: 2.5, watts: 300 },
    { hour: 19.5, widthH: 2.6, watts: 400 },
  ],
  weekend: [
    { hour: 10, widthH: 2.5, watts: 260 },
    { hour: 14.5, widthH: 3, watts: 300 },
    { hour: 19.5, widthH: 2.6, watts: 320 },
  ],
  seasonalAmplitude: 0.12,
  seasonalPeakDoy: 45,
  dayFactorSigma: 0.1,
  appliances: DEFAULT_APPLIANCES,
});

export interface ProfileOptions {
  readonly period: PeriodParams;
  readonly seed: number;
  readonly site?: SiteParams;
  readonly pv?: PvParams;
  readonly load?: LoadParams;
}

/** Local clock labels of the interval starts. */
export function intervalLabels(period: PeriodParams): string[] {
  const day0 = epochDay(parseDate(period.startDate));
  const out: string[] = [];
  for (let i = 0; i < period.days; i++) {
    const ymd = fromEpochDay(day0 + i);
    for (let m = 0; m < 1440; m += period.intervalMinutes) out.push(formatLabel(ymd, m));
  }
  return out;
}

export function generateProfile(opts: ProfileOptions): ProfileSeries {
  const site = opts.site ?? SYDNEY;
  const rng = createRng(opts.seed);
  const pvSeed = Math.floor(rng.fork('pv').uniform() * 2 ** 32);
  const loadSeed = Math.floor(rng.fork('load').uniform() * 2 ** 32);
  const pv = pvMinutes(site, opts.period, opts.pv ?? DEFAULT_PV_PARAMS, pvSeed);
  const load = loadMinutes(opts.period, opts.load ?? DEFAULT_LOAD_PARAMS, loadSeed);
  return {
    intervalMinutes: opts.period.intervalMinutes,
    times: intervalLabels(opts.period),
    pvWh: minutesToIntervalWh(pv, opts.period.intervalMinutes),
    loadWh: minutesToIntervalWh(load, opts.period.intervalMinutes),
  };
}
