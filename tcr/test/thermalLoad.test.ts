import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  createThermalParams, DEFAULT_THERMAL_PARAMS, stepThermal, TcrError, thermalEnergyRange, thermalOrders, thermalPriceMcPerKWh,
  type MarketOrder,
} from '../index.js';
import { intervalArb } from './arbitraries.js';
import { ambientArb, tempArb, thermalParamsArb } from './deviceArbitraries.js';

function demandAt(orders: readonly MarketOrder[], p: number): number {
  return orders.filter((o) => o.side === 'buy' && o.priceMcPerKWh >= p).reduce((s, o) => s + o.energyWh, 0);
}

function code(f: () => unknown, c: string, field?: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof TcrError, String(e));
    assert.equal(e.code, c, e.message);
    if (field !== undefined) assert.ok(e.context.param === field || e.context.field === field, e.message);
    return true;
  });
}

const scene = (anyMinOrder: boolean) => thermalParamsArb(anyMinOrder).chain((p) => fc.tuple(fc.constant(p), tempArb(p), intervalArb, ambientArb));

test('stepThermal: follows the model, never beyond P_el,max, never heats past T_max, over random request sequences', () => {
  fc.assert(
    fc.property(scene(false), fc.array(fc.double({ min: 0, max: 20_000, noNaN: true }), { maxLength: 40 }), ([p, t0, dt, amb], asks) => {
      let t = t0;
      const h = dt / 3600;
      for (const ask of asks) {
        const r = stepThermal({ tempC: t }, { electricWh: ask }, p, dt, amb);
        assert.ok(r.usedWh <= ask && r.usedWh <= p.maxElectricW * h + 1e-9);
        assert.ok(r.powerW <= p.maxElectricW * (1 + 1e-12) + 1e-9);
        const model = t + (p.cop * r.usedWh - p.uaWPerK * (t - amb) * h) / p.heatCapacityWhPerK;
        assert.ok(Math.abs(model - r.state.tempC) <= 1e-9 * Math.max(1, Math.abs(model)), `model ${model} vs ${r.state.tempC}`);
        if (r.usedWh > 0) assert.ok(r.state.tempC <= p.tMaxC, `heated to ${r.state.tempC} > ${p.tMaxC}`);
        t = Math.max(-100, Math.min(200, r.state.tempC));
      }
    }),
    { numRuns: 300 },
  );
});

test('thermalOrders: integers within P_el,max; the must part keeps T ≥ T_min when M allows; the whole keeps T ≤ T_max', () => {
  fc.assert(
    fc.property(scene(true), ([p, t, dt, amb]) => {
      const orders = thermalOrders({ tempC: t }, p, dt, amb);
      const r = thermalEnergyRange({ tempC: t }, p, dt, amb);
      const total = orders.reduce((s, o) => s + o.energyWh, 0);
      for (const o of orders) {
        assert.equal(o.side, 'buy');
        assert.ok(Number.isInteger(o.energyWh) && o.energyWh >= p.minOrderWh && Number.isInteger(o.priceMcPerKWh));
      }
      assert.ok(Number.isInteger(r.minWh) && Number.isInteger(r.maxWh) && r.minWh <= r.maxWh);
      assert.ok(total <= r.maxWh && r.maxWh <= (p.maxElectricW * dt) / 3600 + 1e-9);
      if (t >= p.tMaxC) assert.deepEqual(orders, []);
      const top = stepThermal({ tempC: t }, { electricWh: r.maxWh }, p, dt, amb);
      assert.equal(top.limitedBy, 'none');
      if (r.maxWh > 0) assert.ok(top.state.tempC <= p.tMaxC);
      const low = stepThermal({ tempC: t }, { electricWh: r.minWh }, p, dt, amb);
      assert.equal(low.limitedBy, 'none');
      // whenever some whole-Wh amount within P_el,max and T_max reaches T_min, the must part does
      if (top.state.tempC >= p.tMinC) assert.ok(low.state.tempC >= p.tMinC - 1e-9, `${low.state.tempC} < ${p.tMinC}`);
      if (r.minWh > 0 && r.minWh < r.maxWh) assert.ok(low.state.tempC >= p.tMinC - 1e-9);
    }),
    { numRuns: 1000 },
  );
});

test('thermalOrders: as T rises the price falls and the energy bought at any price never grows', () => {
  fc.assert(
    fc.property(scene(false), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 200_000 }), ([p, t, dt, amb], up, price) => {
      const t2 = t + up * (p.tMaxC - p.tMinC);
      assert.ok(thermalPriceMcPerKWh(t2, p) <= thermalPriceMcPerKWh(t, p));
      const a = thermalOrders({ tempC: t }, p, dt, amb);
      const b = thermalOrders({ tempC: t2 }, p, dt, amb);
      assert.ok(demandAt(b, price) <= demandAt(a, price), `at ${price}: ${JSON.stringify(b)} at ${t2} > ${JSON.stringify(a)} at ${t}`);
      const ra = thermalEnergyRange({ tempC: t }, p, dt, amb);
      const rb = thermalEnergyRange({ tempC: t2 }, p, dt, amb);
      assert.ok(rb.minWh <= ra.minWh && rb.maxWh <= ra.maxWh);
    }),
    { numRuns: 1000 },
  );
});

test('stepThermal by hand: cut at the power and at the band', () => {
  const p = createThermalParams(); // C 10 kWh/K, UA 200 W/K, COP 3, 3 kW, 19–23 °C
  const power = stepThermal({ tempC: 20 }, { electricWh: 2_000 }, p, 900, 4);
  assert.equal(power.usedWh, 750);
  assert.equal(power.limitedBy, 'power');
  assert.ok(Math.abs(power.state.tempC - (20 + (2_250 - 800) / 10_000)) < 1e-12);
  // 22.95 °C: top = (10,000 × 0.05 + 200 × 18.95 × 0.25)/3 = 482.5 Wh
  const band = stepThermal({ tempC: 22.95 }, { electricWh: 700 }, p, 900, 4);
  assert.ok(Math.abs(band.usedWh - 482.5) < 1e-9);
  assert.equal(band.limitedBy, 'band');
  assert.ok(Math.abs(band.state.tempC - 23) < 1e-12 && band.state.tempC <= 23);
  // above T_max: no heat, only the loss
  const hot = stepThermal({ tempC: 24 }, { electricWh: 100 }, p, 900, 4);
  assert.equal(hot.usedWh, 0);
  assert.equal(hot.limitedBy, 'band');
  assert.ok(Math.abs(hot.state.tempC - (24 - 1_000 / 10_000)) < 1e-12);
  // a resistive water heater: C 232 Wh/K, UA 2 W/K, COP 1, 2 kW, 50–60 °C, one hour
  const tank = createThermalParams({ heatCapacityWhPerK: 232, uaWPerK: 2, cop: 1, maxElectricW: 2_000, tMinC: 50, tMaxC: 60 });
  const w = stepThermal({ tempC: 50 }, { electricWh: 2_000 }, tank, 3600, 20);
  assert.ok(Math.abs(w.state.tempC - (50 + (2_000 - 60) / 232)) < 1e-12);
});

test('createThermalParams: defaults and clear errors; bad state, ambient, request and interval', () => {
  assert.deepEqual(createThermalParams(), DEFAULT_THERMAL_PARAMS);
  code(() => createThermalParams({ heatCapacityWhPerK: 0 }), 'BAD_THERMAL_PARAM', 'heatCapacityWhPerK');
  code(() => createThermalParams({ uaWPerK: -1 }), 'BAD_THERMAL_PARAM', 'uaWPerK');
  code(() => createThermalParams({ cop: 0 }), 'BAD_THERMAL_PARAM', 'cop');
  code(() => createThermalParams({ maxElectricW: NaN }), 'BAD_THERMAL_PARAM', 'maxElectricW');
  code(() => createThermalParams({ tMinC: -300 }), 'BAD_THERMAL_PARAM', 'tMinC');
  code(() => createThermalParams({ tMaxC: 19 }), 'BAD_THERMAL_PARAM', 'tMaxC');
  code(() => createThermalParams({ priceLowMcPerKWh: -1 }), 'BAD_THERMAL_PARAM', 'priceLowMcPerKWh');
  code(() => createThermalParams({ t: 1 } as never), 'BAD_THERMAL_PARAM', 't');
  const p = createThermalParams();
  code(() => thermalOrders({ tempC: NaN }, p, 900, 4), 'BAD_THERMAL_STATE', 'tempC');
  code(() => thermalOrders({ tempC: 20 }, p, 900, 400), 'BAD_THERMAL_STATE', 'ambientC');
  code(() => stepThermal({ tempC: 20 }, { electricWh: -1 }, p, 900, 4), 'BAD_REQUEST');
  code(() => stepThermal({ tempC: 20 }, { electricWh: 1 }, p, 0, 4), 'BAD_INTERVAL');
  // UA·Δt > C: 200 W/K × 24 h > 1,000 Wh/K
  code(() => thermalOrders({ tempC: 20 }, createThermalParams({ heatCapacityWhPerK: 1_000 }), 86_400, 4), 'BAD_INTERVAL');
});
