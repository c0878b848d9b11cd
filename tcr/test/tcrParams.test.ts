import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createBatteryParams, createCurveParams, createTcrParams, degradationCostExactMcPerKWh, degradationCostMcPerKWh,
  DEFAULT_BATTERY_PARAMS, TcrError,
} from '../index.js';

function rejects(f: () => unknown, code: string, param: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof TcrError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.context.param, param, e.message);
    assert.match(e.message, new RegExp(`^${code} param=${param.replace(/[()]/g, '\\$&')}`));
    return true;
  });
}

test('createBatteryParams: defaults and C_d (8)', () => {
  const p = createBatteryParams();
  assert.deepEqual(p, DEFAULT_BATTERY_PARAMS);
  assert.ok(Object.isFrozen(p));
  assert.equal(degradationCostExactMcPerKWh(p), 20_000);
  assert.equal(degradationCostMcPerKWh(p), 20_000);
  // rounded up when not exact: 1,000 mc over 3,000 Wh = 333.33… mc/kWh → 334
  const q = createBatteryParams({ batteryCostMillicents: 1_000, lifetimeThroughputWh: 3_000 });
  assert.equal(degradationCostMcPerKWh(q), 334);
});

test('createBatteryParams: clear errors for each bad field', () => {
  rejects(() => createBatteryParams({ capacityWh: 0 }), 'BAD_BATTERY_PARAM', 'capacityWh');
  rejects(() => createBatteryParams({ capacityWh: 'big' }), 'BAD_BATTERY_PARAM', 'capacityWh');
  rejects(() => createBatteryParams({ socMin: -0.1 }), 'BAD_BATTERY_PARAM', 'socMin');
  rejects(() => createBatteryParams({ socMin: 0.5, socMax: 0.5 }), 'BAD_BATTERY_PARAM', 'socMax');
  rejects(() => createBatteryParams({ socMax: 1.01 }), 'BAD_BATTERY_PARAM', 'socMax');
  rejects(() => createBatteryParams({ etaCh: 0 }), 'BAD_BATTERY_PARAM', 'etaCh');
  rejects(() => createBatteryParams({ etaDis: 1.1 }), 'BAD_BATTERY_PARAM', 'etaDis');
  rejects(() => createBatteryParams({ maxChargeW: -1 }), 'BAD_BATTERY_PARAM', 'maxChargeW');
  rejects(() => createBatteryParams({ maxDischargeW: Infinity }), 'BAD_BATTERY_PARAM', 'maxDischargeW');
  rejects(() => createBatteryParams({ batteryCostMillicents: 1.5 }), 'BAD_BATTERY_PARAM', 'batteryCostMillicents');
  rejects(() => createBatteryParams({ lifetimeThroughputWh: 0 }), 'BAD_BATTERY_PARAM', 'lifetimeThroughputWh');
  rejects(() => createBatteryParams({ capacity: 5 } as never), 'BAD_BATTERY_PARAM', 'capacity');
  rejects(() => createBatteryParams(null as never), 'BAD_BATTERY_PARAM', '(input)');
});

test('createCurveParams / createTcrParams: clear errors', () => {
  rejects(() => createCurveParams({ offerQuantityExponent: 0 }), 'BAD_CURVE_PARAM', 'offerQuantityExponent');
  rejects(() => createCurveParams({ offerMarginMcPerKWh: -1 }), 'BAD_CURVE_PARAM', 'offerMarginMcPerKWh');
  rejects(() => createCurveParams({ bidPriceEmptyMcPerKWh: 1, bidPriceFullMcPerKWh: 2 }), 'BAD_CURVE_PARAM', 'bidPriceEmptyMcPerKWh');
  rejects(() => createCurveParams({ minBidWh: 0.5 }), 'BAD_CURVE_PARAM', 'minBidWh');
  rejects(() => createCurveParams({ bogus: 1 } as never), 'BAD_CURVE_PARAM', 'bogus');
  rejects(
    () => createTcrParams({ curves: { offerScarcityMcPerKWh: 100_000_000 } }),
    'BAD_CURVE_PARAM', 'offerScarcityMcPerKWh',
  );
  rejects(() => createTcrParams({ other: {} } as never), 'BAD_CURVE_PARAM', 'other');
});
