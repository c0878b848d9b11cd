import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBatteryParams } from '../../tcr/batteryParams.js';
import { createSimHome } from '../adapters/simHome.js';
import { DEFAULT_EV_LOAD, DEFAULT_HEAT_PUMP_LOAD, evSession, type FlexibleLoadConfig } from '../adapters/simFlexibleLoad.js';

const I = 900_000;
const DAY0 = Date.parse('2025-01-15T00:00:00.000Z');
const noBattery = createBatteryParams({ capacityWh: 5_000, maxChargeW: 0, maxDischargeW: 0 });
const iv = (k: number) => ({ startMs: k * I, endMs: (k + 1) * I });

function home(flexibleLoad: FlexibleLoadConfig, pvWh = 0) {
  return createSimHome({
    profile: { energyWh: (a, b) => ({ pvWh: (pvWh * (b - a)) / I, loadWh: (100 * (b - a)) / I }) },
    battery: noBattery, speed: 1, origin: { wallMs: 0, homeMs: DAY0 }, initialSoc: 0.5, flexibleLoad,
  });
}

test('[SIM-EV] sessions: plugged 18:00–07:00, departure the next morning', () => {
  const c = DEFAULT_EV_LOAD as Extract<FlexibleLoadConfig, { type: 'ev' }>;
  assert.equal(evSession(c, DAY0), DAY0 + 7 * 3_600_000);
  assert.equal(evSession(c, DAY0 + 12 * 3_600_000), null);
  assert.equal(evSession(c, DAY0 + 18 * 3_600_000), DAY0 + 31 * 3_600_000);
});

test('[SIM-4] no PV and a zero-power battery: the measured load is the base load plus the EV, the battery idle', async () => {
  const h = home(DEFAULT_EV_LOAD);
  // 00:00, 28 intervals to departure, 12 kWh to draw: all of it can wait (no must part)
  const orders = h.flexibleLoad!.orders(iv(0));
  assert.equal(orders.length, 1);
  assert.equal(orders[0]!.energyWh, 1_800);
  assert.ok(orders[0]!.priceMcPerKWh < h.flexibleLoad!.priceCapMcPerKWh);
  let m = (await h.measure(iv(0)))!;
  assert.deepEqual({ pv: m.pvWh, load: m.loadWh, ch: m.chargedWh, dis: m.dischargedWh }, { pv: 0, load: 100, ch: 0, dis: 0 }, 'nothing bought, nothing urgent: only the base load');
  // [SIM-FLEX] bought 1,000 Wh for interval 1: the car draws it
  h.flexibleLoad!.plan(iv(1), 1_000);
  m = (await h.measure(iv(1)))!;
  assert.equal(m.loadWh, 1_100);
  assert.equal(m.chargedWh, 0);
  // a plan above the charger's power is cut to it (1,800 Wh per 15 minutes)
  h.flexibleLoad!.plan(iv(2), 5_000);
  assert.equal((await h.measure(iv(2)))!.loadWh, 1_900);
  // the orders for interval 4, seen at the end of interval 2, carry interval 3's plan forward
  h.flexibleLoad!.plan(iv(3), 1_800);
  const before = h.flexibleLoad!.orders(iv(4))[0]!;
  assert.ok(before.priceMcPerKWh > orders[0]!.priceMcPerKWh || before.energyWh <= 1_800);
  assert.deepEqual((h.snapshot() as { flexible: unknown }).flexible, { type: 'ev', departMs: DAY0 + 7 * 3_600_000, drawnWh: 2_800 });
});

test('[SIM-FLEX] nothing bought: the EV still draws its must part and leaves with its need', async () => {
  const h = home(DEFAULT_EV_LOAD);
  let drawn = 0;
  for (let k = 0; k < 28; k++) drawn += (await h.measure(iv(k)))!.loadWh - 100;
  assert.equal(Math.round(drawn), 12_000);
  // away during the day: no orders, no draw
  for (let k = 28; k < 40; k++) assert.equal((await h.measure(iv(k)))!.loadWh, 100);
  assert.deepEqual(h.flexibleLoad!.orders(iv(40)), []);
});

test('[SIM-HP] the tank: bought energy heats it within the band; the 07:00 draw makes a must part', async () => {
  const h = home(DEFAULT_HEAT_PUMP_LOAD);
  const o = h.flexibleLoad!.orders(iv(0));
  assert.ok(o.length >= 1 && o.every((x) => x.side === 'buy'));
  h.flexibleLoad!.plan(iv(0), 10_000);
  const m = (await h.measure(iv(0)))!;
  assert.equal(m.loadWh, 100 + 375, 'cut to 1.5 kW over 15 minutes');
  let t = (h.snapshot() as { flexible: { tempC: number } }).flexible.tempC;
  assert.ok(t > 52 && t <= 60);
  for (let k = 1; k < 28; k++) {
    h.flexibleLoad!.plan(iv(k), 10_000);
    await h.measure(iv(k));
  }
  t = (h.snapshot() as { flexible: { tempC: number } }).flexible.tempC;
  assert.ok(t <= 60 + 1e-9 && t > 59, `full before the draw: ${t}`);
  // 07:00: 3 kWh of heat out of 232 Wh/K → about 47 °C, below the band: the must part is at P_cap
  const after = h.flexibleLoad!.orders(iv(28));
  assert.equal(after[0]!.priceMcPerKWh, h.flexibleLoad!.priceCapMcPerKWh);
  assert.ok((await h.measure(iv(28)))!.loadWh > 100, 'the must part runs with nothing bought');
});
