import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_LOAD_PARAMS, DEFAULT_PV_PARAMS, generateProfile, loadMinutes, pvMinutes, SYDNEY, type ProfileSeries,
} from '../index.js';

const YEAR = { startDate: '2011-07-01', days: 366, intervalMinutes: 30 };
const year = generateProfile({ period: YEAR, seed: 42 });
const perDay = 48;

function dailyKWh(s: ProfileSeries, key: 'pvWh' | 'loadWh', day: number): number {
  let sum = 0;
  for (let i = day * perDay; i < (day + 1) * perDay; i++) sum += s[key][i] ?? 0;
  return sum / 1000;
}

test('generateProfile: deterministic in the seed, integer non-negative Wh, labelled intervals', () => {
  const again = generateProfile({ period: YEAR, seed: 42 });
  assert.deepEqual(again, year);
  const other = generateProfile({ period: YEAR, seed: 43 });
  assert.notDeepEqual(other.loadWh, year.loadWh);
  assert.notDeepEqual(other.pvWh, year.pvWh);
  assert.equal(year.times.length, 366 * 48);
  assert.equal(year.times[0], '2011-07-01T00:00');
  assert.equal(year.times[47], '2011-07-01T23:30');
  assert.equal(year.times.at(-1), '2012-06-30T23:30');
  for (const xs of [year.pvWh, year.loadWh]) {
    assert.equal(xs.length, year.times.length);
    assert.ok(xs.every((x) => Number.isInteger(x) && x >= 0));
  }
});

test('generateProfile: PV is zero at night, follows the seasons, and stays under the inverter limit', () => {
  for (let i = 0; i < year.pvWh.length; i++) {
    const hh = Number((year.times[i] as string).slice(11, 13));
    if (hh < 4 || hh >= 21) assert.equal(year.pvWh[i], 0, `PV at ${year.times[i]}`);
    assert.ok((year.pvWh[i] ?? 0) <= DEFAULT_PV_PARAMS.inverterMaxW / 2);
  }
  // December–January vs June–July (days 153–214 and 335–365+: index by date)
  const mean = (from: string, to: string): number => {
    let s = 0;
    let n = 0;
    year.times.forEach((t, i) => {
      if (t >= from && t < to) {
        s += year.pvWh[i] ?? 0;
        n++;
      }
    });
    return (s / n) * perDay;
  };
  assert.ok(mean('2011-12-01', '2012-02-01') > 1.4 * mean('2012-06-01', '2012-07-01'));
});

test('generateProfile: day-level cloudiness — clear and overcast days both occur', () => {
  const days = Array.from({ length: 366 }, (_, d) => dailyKWh(year, 'pvWh', d)).sort((a, b) => a - b);
  const p10 = days[36] ?? 0;
  const p90 = days[329] ?? 0;
  assert.ok(p90 > 2.5 * p10, `p10 ${p10} p90 ${p90}`);
});

test('generateProfile: load has morning and evening peaks on weekdays, differs at weekends, and has appliance spikes', () => {
  // 2011-07-04 is a Monday; 2011-07-02 a Saturday
  const shape = (weekend: boolean): number[] => {
    const out = new Array<number>(48).fill(0);
    year.times.forEach((t, i) => {
      const dow = new Date(`${t.slice(0, 10)}T00:00Z`).getUTCDay();
      if ((dow === 0 || dow === 6) === weekend) out[i % 48] = (out[i % 48] ?? 0) + (year.loadWh[i] ?? 0);
    });
    return out;
  };
  const wd = shape(false);
  const we = shape(true);
  const norm = (xs: number[]): number[] => {
    const s = xs.reduce((a, b) => a + b, 0);
    return xs.map((x) => x / s);
  };
  const w = norm(wd);
  const e = norm(we);
  const at = (xs: number[], hh: number): number => ((xs[hh * 2] ?? 0) + (xs[hh * 2 + 1] ?? 0)) / 2;
  assert.ok(at(w, 6) > 1.4 * at(w, 3), 'weekday morning peak at 06:00 over the night');
  assert.ok(at(w, 18) > 2 * at(w, 3), 'evening peak');
  assert.ok(at(w, 18) > at(w, 10), 'evening above mid-morning');
  assert.ok(at(w, 6) > 1.2 * at(e, 6), 'weekday mornings start earlier than weekends');
  assert.ok(at(e, 10) > at(w, 10), 'weekend late mornings busier');
  const sorted = [...year.loadWh].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1] ?? 0;
  assert.ok((sorted.at(-1) ?? 0) > 5 * median, 'appliance spikes well above the median half hour');
});

test('generateProfile: seasonal scaling of the load (Sydney: summer above winter)', () => {
  const meanDaily = (m: string): number => {
    let s = 0;
    let n = 0;
    year.times.forEach((t, i) => {
      if (t.slice(5, 7) === m) {
        s += year.loadWh[i] ?? 0;
        n++;
      }
    });
    return (s / n) * perDay;
  };
  assert.ok(meanDaily('02') > 1.1 * meanDaily('08'));
});

test('generateProfile: the same minutes underlie every interval length (15-min pairs sum to the 30-min value within flooring)', () => {
  const p30 = { startDate: '2012-01-10', days: 5, intervalMinutes: 30 };
  const a = generateProfile({ period: p30, seed: 7 });
  const b = generateProfile({ period: { ...p30, intervalMinutes: 15 }, seed: 7 });
  assert.equal(b.times.length, 2 * a.times.length);
  for (let i = 0; i < a.loadWh.length; i++) {
    for (const k of ['loadWh', 'pvWh'] as const) {
      const sum = (b[k][2 * i] ?? 0) + (b[k][2 * i + 1] ?? 0);
      const d = (a[k][i] ?? 0) - sum;
      assert.ok(d === 0 || d === 1, `${k} ${i}: ${a[k][i]} vs ${sum}`);
    }
  }
});

test('generators reject bad periods, sites and parameters with a coded message', () => {
  const bad = (f: () => unknown, re: RegExp): void => assert.throws(f, (e: unknown) => e instanceof RangeError && re.test(e.message));
  bad(() => generateProfile({ period: { ...YEAR, intervalMinutes: 7 }, seed: 1 }), /^BAD_PERIOD intervalMinutes=7/);
  bad(() => generateProfile({ period: { ...YEAR, days: 0 }, seed: 1 }), /^BAD_PERIOD days=0/);
  bad(() => generateProfile({ period: { ...YEAR, startDate: '2011-02-30' }, seed: 1 }), /^BAD_DATE/);
  bad(() => generateProfile({ period: YEAR, seed: 1.5 }), /^BAD_SEED/);
  bad(() => pvMinutes({ ...SYDNEY, latitudeDeg: 95 }, YEAR, DEFAULT_PV_PARAMS, 1), /^BAD_SITE/);
  bad(() => pvMinutes(SYDNEY, YEAR, { ...DEFAULT_PV_PARAMS, tiltDeg: 120 }, 1), /^BAD_PV_PARAM param=tiltDeg/);
  bad(() => pvMinutes(SYDNEY, YEAR, { ...DEFAULT_PV_PARAMS, clearnessMin: 2 }, 1), /^BAD_PV_PARAM param=clearnessMin/);
  bad(() => loadMinutes(YEAR, { ...DEFAULT_LOAD_PARAMS, baseW: -1 }, 1), /^BAD_LOAD_PARAM param=baseW/);
  bad(
    () => loadMinutes(YEAR, { ...DEFAULT_LOAD_PARAMS, appliances: [{ ...DEFAULT_LOAD_PARAMS.appliances[0]!, durationMin: 0 }] }, 1),
    /^BAD_LOAD_PARAM param=appliances\[0\]/,
  );
});
