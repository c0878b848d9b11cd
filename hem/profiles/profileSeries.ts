/**
 * A home's PV and load per interval, the common output of the generator and the CSV
 * loader. Energies are integer Wh per interval (floored); `times` are local clock labels
 * of the interval starts, 'YYYY-MM-DDTHH:MM'.
 */
export interface ProfileSeries {
  readonly intervalMinutes: number;
  readonly times: readonly string[];
  readonly pvWh: readonly number[];
  readonly loadWh: readonly number[];
}

/** Where a home is and how its clock runs. */
export interface SiteParams {
  readonly latitudeDeg: number;
  readonly longitudeDeg: number;
  /** standard-time offset from UTC, hours (Sydney: 10) */
  readonly utcOffsetHours: number;
  readonly dst: 'none' | 'au-se';
}

/** The period to generate: whole local days from `startDate`. */
export interface PeriodParams {
  readonly startDate: string;
  readonly days: number;
  /** 1 … 1440, dividing 1440 (e.g. 15, 30, 60) */
  readonly intervalMinutes: number;
}

export const SYDNEY: SiteParams = Object.freeze({ latitudeDeg: -33.9, longitudeDeg: 151.2, utcOffsetHours: 10, dst: 'au-se' });

export function checkPeriod(p: PeriodParams): void {
  if (!Number.isInteger(p.days) || p.days < 1 || p.days > 3660) throw new RangeError(`BAD_PERIOD days=${p.days} need=1..3660`);
  if (!Number.isInteger(p.intervalMinutes) || p.intervalMinutes < 1 || 1440 % p.intervalMinutes !== 0) {
    throw new RangeError(`BAD_PERIOD intervalMinutes=${p.intervalMinutes} need=a divisor of 1440`);
  }
}

export function checkSite(s: SiteParams): void {
  const ok =
    Number.isFinite(s.latitudeDeg) && Math.abs(s.latitudeDeg) <= 66 && Number.isFinite(s.longitudeDeg) &&
    Math.abs(s.longitudeDeg) <= 180 && Number.isFinite(s.utcOffsetHours) && Math.abs(s.utcOffsetHours) <= 14 &&
    (s.dst === 'none' || s.dst === 'au-se');
  if (!ok) {
    throw new RangeError(`BAD_SITE latitudeDeg=${s.latitudeDeg} longitudeDeg=${s.longitudeDeg} utcOffsetHours=${s.utcOffsetHours} dst=${s.dst} need=|lat|<=66 |lon|<=180 |utc|<=14 dst=none|au-se`);
  }
}

/** Sums minute-resolution power (W) into floored Wh per interval. */
export function minutesToIntervalWh(wattsPerMinute: Float64Array, intervalMinutes: number): number[] {
  const n = Math.floor(wattsPerMinute.length / intervalMinutes);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * intervalMinutes; j < (i + 1) * intervalMinutes; j++) s += wattsPerMinute[j] ?? 0;
    out[i] = Math.floor(s / 60);
  }
  return out;
}
