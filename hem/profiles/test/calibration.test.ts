/**
 * Calibration against a year of real metered data of a Sydney-area home with a 1.04 kWp
 * system (half-hourly, 2011-07-01 … 2012-06-30). Skips when the data file is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compareProfiles, generateProfile, loadAusgridCsv } from '../index.js';

// project root = four levels up from dist/hem/profiles/test/; the data sits beside the project
const DATA = fileURLToPath(new URL('../../../../../shared/data/ausgrid-solar-home-customer12-2011-2012.csv', import.meta.url));

/** Tolerances (generated ÷ real) and thresholds the generator must meet for every seed tried. */
const TOL = {
  energy: 0.1, // yearly load and PV energy within ±10 %
  medianDaily: 0.15, // median daily energy within ±15 %
  peakLoad: 0.3, // highest half-hour load within ±30 % (a single extreme value)
  p99Load: 0.2, // 99th percentile of half-hour load within ±20 %
  peakPv: 0.15, // highest half-hour PV within ±15 %
  pvShape: 0.95, // correlation of the average daily PV shape ≥ 0.95
  loadShape: 0.9, // correlation of the average daily load shape ≥ 0.9
};

const within = (name: string, ratio: number, tol: number): void => {
  assert.ok(Math.abs(ratio - 1) <= tol, `${name}: generated/real = ${ratio.toFixed(3)}, allowed ±${tol * 100} %`);
};

test('profile generator matches a real Sydney home (1.04 kWp) over a year', { skip: !existsSync(DATA) && `data file absent: ${DATA}` }, async (t) => {
  const real = await loadAusgridCsv(DATA);
  assert.equal(real.intervalMinutes, 30);
  assert.equal(real.loadWh.length, 366 * 48);
  for (const seed of [1, 2, 3]) {
    const gen = generateProfile({ period: { startDate: '2011-07-01', days: 366, intervalMinutes: 30 }, seed });
    assert.deepEqual(gen.times, real.times, 'same interval labels as the data');
    const c = compareProfiles(gen, real);
    t.diagnostic(
      `seed ${seed}: load ${c.generated.totalLoadKWh.toFixed(0)} vs ${c.reference.totalLoadKWh.toFixed(0)} kWh, ` +
        `PV ${c.generated.totalPvKWh.toFixed(0)} vs ${c.reference.totalPvKWh.toFixed(0)} kWh, ` +
        `median day load ×${c.medianDailyLoadRatio.toFixed(3)} PV ×${c.medianDailyPvRatio.toFixed(3)}, ` +
        `peak load ${c.generated.peakLoadKw.toFixed(2)} vs ${c.reference.peakLoadKw.toFixed(2)} kW, ` +
        `p99 load ${c.generated.p99LoadKw.toFixed(2)} vs ${c.reference.p99LoadKw.toFixed(2)} kW, ` +
        `peak PV ${c.generated.peakPvKw.toFixed(3)} vs ${c.reference.peakPvKw.toFixed(3)} kW, ` +
        `shape r PV ${c.pvShapeCorrelation.toFixed(3)} load ${c.loadShapeCorrelation.toFixed(3)}`,
    );
    within('yearly load energy', c.loadEnergyRatio, TOL.energy);
    within('yearly PV energy', c.pvEnergyRatio, TOL.energy);
    within('median daily load', c.medianDailyLoadRatio, TOL.medianDaily);
    within('median daily PV', c.medianDailyPvRatio, TOL.medianDaily);
    within('peak load', c.peakLoadRatio, TOL.peakLoad);
    within('p99 load', c.p99LoadRatio, TOL.p99Load);
    within('peak PV', c.peakPvRatio, TOL.peakPv);
    assert.ok(c.pvShapeCorrelation >= TOL.pvShape, `PV shape r = ${c.pvShapeCorrelation}`);
    assert.ok(c.loadShapeCorrelation >= TOL.loadShape, `load shape r = ${c.loadShapeCorrelation}`);
  }
});
