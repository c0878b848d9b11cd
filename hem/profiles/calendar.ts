/**
 * Local calendar helpers for profiles: dates as 'YYYY-MM-DD', interval labels as
 * 'YYYY-MM-DDTHH:MM' (local clock time, start of the interval), day of year, weekday,
 * and daylight saving. Every day has 24 h of labels, as in metered data sets that
 * record a fixed number of intervals per day; on a DST change day the clock labels are
 * kept and only the solar time shifts.
 */

export type DstRule = 'none' | 'au-se';

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export interface YMD {
  y: number;
  m: number;
  d: number;
}

export function parseDate(s: string): YMD {
  const m = DATE_RE.exec(s);
  if (!m) throw new RangeError(`BAD_DATE date=${s} need=YYYY-MM-DD`);
  const ymd = { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) };
  const t = new Date(Date.UTC(ymd.y, ymd.m - 1, ymd.d));
  if (t.getUTCFullYear() !== ymd.y || t.getUTCMonth() !== ymd.m - 1 || t.getUTCDate() !== ymd.d) {
    throw new RangeError(`BAD_DATE date=${s} need=a real calendar date`);
  }
  return ymd;
}

/** Days since 1970-01-01 of a calendar date (no time zone involved). */
export function epochDay(ymd: YMD): number {
  return Math.floor(Date.UTC(ymd.y, ymd.m - 1, ymd.d) / 86_400_000);
}

export function fromEpochDay(day: number): YMD {
  const t = new Date(day * 86_400_000);
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

export function formatDate(ymd: YMD): string {
  return `${ymd.y}-${String(ymd.m).padStart(2, '0')}-${String(ymd.d).padStart(2, '0')}`;
}

/** 'YYYY-MM-DDTHH:MM' for a date and a minute of the day. */
export function formatLabel(ymd: YMD, minute: number): string {
  return `${formatDate(ymd)}T${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

/** 1 … 366 */
export function dayOfYear(ymd: YMD): number {
  return epochDay(ymd) - epochDay({ y: ymd.y, m: 1, d: 1 }) + 1;
}

/** 0 = Sunday … 6 = Saturday */
export function weekday(ymd: YMD): number {
  return (epochDay(ymd) + 4) % 7; // 1970-01-01 was a Thursday
}

export function isWeekend(ymd: YMD): boolean {
  const w = weekday(ymd);
  return w === 0 || w === 6;
}

function firstSunday(y: number, m: number): number {
  const first = { y, m, d: 1 };
  return 1 + ((7 - weekday(first)) % 7);
}

/**
 * Whether daylight saving is in force at a local clock minute.
 * 'au-se' (NSW, VIC, ACT, TAS, SA since 2008): from 02:00 standard time on the first
 * Sunday of October to 03:00 daylight time (02:00 standard) on the first Sunday of April.
 */
export function isDst(rule: DstRule, ymd: YMD, minute: number): boolean {
  if (rule === 'none') return false;
  const { y, m, d } = ymd;
  if (m > 4 && m < 10) return false;
  if (m < 4 || m > 10) return true;
  if (m === 10) {
    const s = firstSunday(y, 10);
    return d > s || (d === s && minute >= 120);
  }
  const s = firstSunday(y, 4); // April
  return d < s || (d === s && minute < 180);
}
