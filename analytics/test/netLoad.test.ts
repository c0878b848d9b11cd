/**
 * [AN-CLK] the net-load query on a simulated clock, with plain values: a schedule published on
 * compressed time (interval k of the simulated day starts at startMs + k × stepMs of wall time)
 * gives the intervals that grid and a `clock` the dashboard draws its time axes with; on real
 * time there is no clock.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Fact } from '../facts.js';
import { netLoad } from '../stats/netLoad.js';
import { createStatsStore } from '../stats/statsStore.js';
import { A, B, memoryDb } from './analyticsFixtures.js';

const iso = (ms: number): string => new Date(ms).toISOString();
// a simulated day run at 2 s of wall time per 15-minute interval, from 2026-03-02T12:00:00Z
const START = Date.parse('2026-03-02T12:00:00.000Z');
const STEP = 2000;

function reading(address: string, k: number, p: number, c: number, height: number | null): Fact {
  return {
    kind: 'reading', address, intervalStart: START + k * STEP, intervalEnd: START + (k + 1) * STEP,
    producedWh: p, consumedWh: c, chargedWh: 0, dischargedWh: 0, socPermille: 500, ...(height !== null ? { height } : {}),
  };
}

async function storeWith(facts: Fact[]) {
  const store = await createStatsStore(memoryDb());
  await store.apply(facts);
  return store;
}

describe('[AN-CLK] net load on the simulated clock', () => {
  it('a compressed schedule: its grid, the metered net load of the readings on chain in each interval, and the clock', async () => {
    const store = await storeWith([
      { kind: 'schedule', day: '2026-03-02', intervalMinutes: 15, netLoadWh: [100, 200, 300, 400], time: START - 1000, startMs: START, stepMs: STEP },
      // interval 0 (00:00–00:15 simulated): A 300 − 100, B 50 − 0 → 250
      reading(A, 0, 100, 300, 1), reading(B, 0, 0, 50, 1),
      // interval 1: A 0 − 400 → −400; B's reading is not on chain (seen on MQTT only)
      reading(A, 1, 400, 0, 2), reading(B, 1, 0, 999, null),
      // interval 3: B 700 − 0
      reading(B, 3, 0, 700, 3),
    ]);
    const n = netLoad(store, {});
    assert.equal(n.day, '2026-03-02');
    assert.equal(n.source, 'schedule');
    assert.deepEqual(n.clock, { startMs: START, stepMs: STEP, intervalMinutes: 15 });
    assert.deepEqual(n.items.map((r) => [r.start, r.end, r.scheduledWh, r.actualWh, r.deviationWh, r.readings]), [
      [iso(START), iso(START + STEP), 100, 250, 150, 2],
      [iso(START + STEP), iso(START + 2 * STEP), 200, -400, -600, 1],
      [iso(START + 2 * STEP), iso(START + 3 * STEP), 300, null, null, 0],
      [iso(START + 3 * STEP), iso(START + 4 * STEP), 400, 700, 300, 1],
    ]);
    // the dashboard's x of interval k: (start − startMs) / stepMs × intervalMinutes / 60 simulated hours = 00:00, 00:15, 00:30, 00:45
    const c = n.clock!;
    assert.deepEqual(n.items.map((r) => ((Date.parse(r.start) - c.startMs) / c.stepMs) * (c.intervalMinutes / 60)), [0, 0.25, 0.5, 0.75]);
    assert.deepEqual(n.totals, { scheduledWh: 1000, actualWh: 550, intervals: 4, compared: 3, meanAbsDeviationWh: (150 + 600 + 300) / 3 });
  });

  it('two simulated days on one wall-clock date: the readings are drawn against their own day\'s schedule, not the next day\'s published as the day ends', async () => {
    const next = START + 4 * STEP; // simulated day 2 starts where day 1's four intervals end
    const day1 = { kind: 'schedule' as const, day: '2026-03-02', intervalMinutes: 15, netLoadWh: [100, 200, 300, 400], time: START - 1000, startMs: START, stepMs: STEP };
    const day2 = { ...day1, netLoadWh: [1, 2, 3, 4], time: next - 500, startMs: next };
    const store = await storeWith([day1, reading(A, 0, 100, 300, 1), reading(A, 3, 0, 700, 2), day2]);
    const n = netLoad(store, {});
    assert.equal(n.clock?.startMs, START, 'day 1 is the day of the readings');
    assert.deepEqual(n.items.map((r) => [r.scheduledWh, r.actualWh]), [[100, 200], [200, null], [300, null], [400, 700]]);
    // the interval that ends as day 1 ends is metered in day 2's grid: day 1 still holds the most
    await store.apply([reading(A, 4, 0, 5, 3)]);
    assert.equal(netLoad(store, {}).clock?.startMs, START, 'one reading of day 2 does not move the chart');
    // once day 2 holds more metered intervals, day 2 is drawn
    await store.apply([reading(A, 5, 0, 6, 4), reading(A, 6, 0, 7, 5)]);
    const m = netLoad(store, {});
    assert.equal(m.clock?.startMs, next);
    assert.deepEqual(m.items.map((r) => [r.scheduledWh, r.actualWh]), [[1, 5], [2, 6], [3, 7], [4, null]]);
    assert.deepEqual(m.scheduleDays, ['2026-03-02'], 'one day listed once');
  });

  it('real time: a schedule of the calendar day (or one whose step is its interval) has no clock', async () => {
    const day = Date.parse('2026-03-02T00:00:00.000Z');
    const plain = await storeWith([
      { kind: 'schedule', day: '2026-03-02', intervalMinutes: 15, netLoadWh: new Array<number>(96).fill(0), time: day },
      { kind: 'reading', address: A, intervalStart: day + 40 * 900_000, intervalEnd: day + 41 * 900_000, producedWh: 0, consumedWh: 120, chargedWh: 0, dischargedWh: 0, socPermille: 500, height: 1 },
    ]);
    const n = netLoad(plain, {});
    assert.equal(n.clock, null);
    assert.deepEqual([n.items[40]?.start, n.items[40]?.actualWh], [iso(day + 40 * 900_000), 120]);
    const sameStep = await storeWith([{ kind: 'schedule', day: '2026-03-02', intervalMinutes: 15, netLoadWh: [0], time: day, startMs: day, stepMs: 900_000 }]);
    assert.equal(netLoad(sameStep, { day: '2026-03-02' }).clock, null);
  });
});
