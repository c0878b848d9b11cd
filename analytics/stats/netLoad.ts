/**
 * Schedule vs actual net load of the homes (consumption − production).
 *
 * [AN-NL] actual net load of an interval = Σ over the readings whose interval starts in it
 * of (C + charged − P − discharged), in Wh; the schedule is the aggregator's day-ahead
 * `netLoadWh[k]` for interval k of its (UTC) day, k = 0 at 00:00Z.
 */
import { ids, type ScheduleRecord } from './records.js';
import { iso, type ReadStore } from './readStore.js';

const DAY_MS = 86_400_000;

export interface NetLoadRow {
  start: string;
  end: string;
  scheduledWh: number | null;
  actualWh: number | null;
  deviationWh: number | null;
  readings: number;
}

export interface NetLoad {
  day: string | null;
  intervalMinutes: number | null;
  /** schedule: the grid is the schedule's; readings: no schedule for the day, one row per slot */
  source: 'schedule' | 'readings' | 'none';
  items: NetLoadRow[];
  totals: { scheduledWh: number; actualWh: number; intervals: number; compared: number; meanAbsDeviationWh: number | null };
  /** days that have a schedule, newest first (at most 31) */
  scheduleDays: string[];
  /**
   * [AN-CLK] the simulated clock, when the schedule runs on compressed time: interval k of
   * the day (simulated time k × intervalMinutes after midnight) starts at startMs + k × stepMs
   * of wall time. null on real time (stepMs = intervalMinutes) or without a schedule.
   */
  clock: { startMs: number; stepMs: number; intervalMinutes: number } | null;
}

/** The day shown by default: that of the latest readings, else the latest schedule's. */
export function defaultNetLoadDay(store: ReadStore): string | null {
  const lastSlot = store.range('slot', { reverse: true }).find((s) => s.readings > 0);
  if (lastSlot !== undefined) return (iso(lastSlot.start) as string).slice(0, 10);
  const lastSchedule = store.range('schedule', { reverse: true, limit: 1 })[0];
  return lastSchedule?.day ?? null;
}

/**
 * [AN-CLK] The schedule of a day: the calendar day's, or on compressed time (several simulated
 * days on one wall-clock date, each its own record) the one whose grid holds the most metered
 * intervals (ties: the later), so that a day's readings are drawn against their own schedule
 * and not the next day's, published as the day ends.
 */
function scheduleOfDay(store: ReadStore, day: string, metered: readonly { start: number }[]): ScheduleRecord | undefined {
  const all = store.range('schedule', { gte: day, lt: `${day}~` });
  const compressed = all.filter((s) => s.startMs !== undefined && s.stepMs !== undefined);
  if (compressed.length === 0) return all.at(-1);
  let best = compressed.at(-1)!;
  let bestCount = -1;
  for (const s of compressed) {
    const end = s.startMs! + s.netLoadWh.length * s.stepMs!;
    const count = metered.filter((m) => m.start >= s.startMs! && m.start < end).length;
    if (count >= bestCount) [best, bestCount] = [s, count];
  }
  return best;
}

export function netLoad(store: ReadStore, q: { day?: string }): NetLoad {
  const scheduleDays = [...new Set(store.range('schedule', { reverse: true, limit: 31 * 8 }).map((s) => s.day))].slice(0, 31);
  const day = q.day ?? defaultNetLoadDay(store);
  const empty = { scheduledWh: 0, actualWh: 0, intervals: 0, compared: 0, meanAbsDeviationWh: null };
  if (day === null) return { day: null, intervalMinutes: null, source: 'none', items: [], totals: empty, scheduleDays, clock: null };
  const dayStart = Date.parse(`${day}T00:00:00.000Z`);
  const slots = store.range('slot', { gte: ids.slot(dayStart), lt: ids.slot(dayStart + DAY_MS) }).filter((s) => s.readings > 0);
  const schedule = scheduleOfDay(store, day, slots);

  let items: NetLoadRow[];
  if (schedule === undefined) {
    items = slots.map((s) => ({ start: iso(s.start) as string, end: iso(s.end) as string, scheduledWh: null, actualWh: s.netLoadWh, deviationWh: null, readings: s.readings }));
  } else {
    const step = schedule.stepMs ?? schedule.intervalMinutes * 60_000;
    const first = schedule.startMs ?? dayStart;
    items = schedule.netLoadWh.map((scheduledWh, k) => {
      const t0 = first + k * step;
      let actual = 0;
      let readings = 0;
      for (const s of slots) {
        if (s.start >= t0 && s.start < t0 + step) {
          actual += s.netLoadWh;
          readings += s.readings;
        }
      }
      const actualWh = readings > 0 ? actual : null;
      return {
        start: iso(t0) as string, end: iso(t0 + step) as string, scheduledWh, actualWh,
        deviationWh: actualWh === null ? null : actualWh - scheduledWh, readings,
      };
    });
  }
  let scheduledWh = 0;
  let actualWh = 0;
  let compared = 0;
  let absDev = 0;
  for (const r of items) {
    scheduledWh += r.scheduledWh ?? 0;
    actualWh += r.actualWh ?? 0;
    if (r.deviationWh !== null) {
      compared++;
      absDev += Math.abs(r.deviationWh);
    }
  }
  const intervalMinutes = schedule?.intervalMinutes ?? (slots[0] !== undefined ? Math.round((slots[0].end - slots[0].start) / 60_000) : null);
  return {
    day,
    intervalMinutes,
    source: schedule !== undefined ? 'schedule' : 'readings',
    items,
    totals: { scheduledWh, actualWh, intervals: items.length, compared, meanAbsDeviationWh: compared === 0 ? null : absDev / compared },
    scheduleDays,
    clock: schedule?.startMs !== undefined && schedule.stepMs !== undefined && schedule.stepMs !== schedule.intervalMinutes * 60_000
      ? { startMs: schedule.startMs, stepMs: schedule.stepMs, intervalMinutes: schedule.intervalMinutes }
      : null,
  };
}
