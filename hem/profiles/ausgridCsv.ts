/**
 * Loader for half-hourly metered data in the Ausgrid "Solar home electricity data" layout
 * as one CSV per customer:
 *
 *   ,GC,GG
 *   2011-07-01 00:00:00,0.392,0.0
 *
 * First column: local clock time of the start of the interval; `GC` = general consumption,
 * `GG` = gross PV generation, both AVERAGE POWER in kW over the interval (kWh in a half
 * hour = value × 0.5). Other columns (e.g. `CL`, controlled load) are ignored.
 * Output: the same `ProfileSeries` as the generator, integer Wh per interval, floored.
 */
import { readFile } from 'node:fs/promises';
import type { ProfileSeries } from './profileSeries.js';

/** Largest file accepted: 64 MiB (a year of half hours is ~0.6 MiB). */
export const MAX_CSV_BYTES = 64 * 1024 * 1024;

const TIME_RE = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/;

function fail(line: number, reason: string): never {
  throw new RangeError(`BAD_CSV line=${line} reason=${reason}`);
}

/** kW (average over the interval) → floored Wh, through integer milliwatts to drop float noise in the text. */
export function kwToIntervalWh(kw: number, intervalMinutes: number): number {
  const mW = Math.round(kw * 1e6);
  return Math.floor((mW * intervalMinutes) / 60_000);
}

function minuteOfDay(label: string): number {
  return Number(label.slice(11, 13)) * 60 + Number(label.slice(14, 16));
}

export function parseAusgridCsv(text: string): ProfileSeries {
  if (text.length > MAX_CSV_BYTES) fail(0, `larger than ${MAX_CSV_BYTES} bytes`);
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const gc = header.indexOf('GC');
  const gg = header.indexOf('GG');
  if (gc < 1 || gg < 1) fail(1, 'header needs the columns GC and GG after the timestamp');
  const times: string[] = [];
  const loadKw: number[] = [];
  const pvKw: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const cells = line.split(',');
    if (cells.length !== header.length) fail(i + 1, `expected ${header.length} cells, got ${cells.length}`);
    const m = TIME_RE.exec((cells[0] ?? '').trim());
    if (!m) fail(i + 1, 'timestamp not YYYY-MM-DD HH:MM[:SS]');
    const label = `${m[1]}T${m[2]}:${m[3]}`;
    const c = Number(cells[gc]);
    const g = Number(cells[gg]);
    if (!Number.isFinite(c) || c < 0 || c > 1000) fail(i + 1, 'GC not a number in 0..1000 kW');
    if (!Number.isFinite(g) || g < 0 || g > 1000) fail(i + 1, 'GG not a number in 0..1000 kW');
    times.push(label);
    loadKw.push(c);
    pvKw.push(g);
  }
  if (times.length < 2) fail(lines.length, 'fewer than two data rows');
  const first = times[0] as string;
  const second = times[1] as string;
  const step = (Date.parse(`${second}Z`) - Date.parse(`${first}Z`)) / 60_000;
  if (!Number.isInteger(step) || step < 1 || 1440 % step !== 0) fail(3, `interval of ${step} min does not divide a day`);
  for (let i = 1; i < times.length; i++) {
    const a = times[i - 1] as string;
    const b = times[i] as string;
    const dm = (minuteOfDay(b) - minuteOfDay(a) + 1440) % 1440;
    const sameOrNextDay = Date.parse(`${b.slice(0, 10)}Z`) - Date.parse(`${a.slice(0, 10)}Z`);
    if (dm !== step || !(sameOrNextDay === 0 || sameOrNextDay === 86_400_000)) {
      fail(i + 2, `rows not consecutive ${step}-min intervals (${a} → ${b})`);
    }
  }
  return {
    intervalMinutes: step,
    times,
    loadWh: loadKw.map((v) => kwToIntervalWh(v, step)),
    pvWh: pvKw.map((v) => kwToIntervalWh(v, step)),
  };
}

/** Reads and parses a CSV file (the only I/O in this folder). */
export async function loadAusgridCsv(path: string | URL): Promise<ProfileSeries> {
  return parseAusgridCsv(await readFile(path, 'utf8'));
}
