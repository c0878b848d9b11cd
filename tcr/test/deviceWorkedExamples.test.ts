/** The worked examples of the flexible loads and of the commitments in tcr/README.md, reproduced exactly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  activeUserOrders, cheaperStartLater, createActiveUserParams, createBatteryParams, createEvParams, createShiftableParams,
  createThermalParams, dispatchInterval, evBidParts, evOrders, roomLeft, shiftableOrders, stepEv, stepThermal, thermalEnergyRange,
  thermalOrders, type Commitment, type HomeDevices,
} from '../index.js';

const readme = readFileSync(new URL('../../../tcr/README.md', import.meta.url), 'utf8');
const flat = readme.replace(/\s+/g, ' ');
const says = (text: string): void => assert.ok(flat.includes(text), `README does not say: ${text}`);
const buy = (energyWh: number, priceMcPerKWh: number) => ({ side: 'buy' as const, energyWh, priceMcPerKWh });

test('worked example: EV — 600 Wh at 30,000 and 1,200 Wh at 25,833; then all must, or less urgent', () => {
  const p = createEvParams();
  const s = { energyNeededWh: 6_000, intervalsLeft: 4, plugged: true };
  const b = evBidParts(s, p, 900);
  assert.equal(b.intervalWh, 1_800);
  assert.equal(b.slack, 1 / 6);
  assert.deepEqual(evOrders(s, p, 900), [buy(600, 30_000), buy(1_200, 25_833)]);
  says('→ **buy 600 Wh at 30,000 and 1,200 Wh at 25,833 millicents/kWh**');
  const mustOnly = stepEv(s, { chargeWh: 600 }, p, 900).state;
  assert.deepEqual(mustOnly, { energyNeededWh: 5_400, intervalsLeft: 3, plugged: true });
  assert.deepEqual(evOrders(mustOnly, p, 900), [buy(1_800, 30_000)]);
  says('= 1,800 = total → **buy 1,800 Wh at 30,000**');
  const both = stepEv(s, { chargeWh: 1_800 }, p, 900).state;
  assert.equal(both.energyNeededWh, 4_200);
  assert.deepEqual(evOrders(both, p, 900), [buy(600, 30_000), buy(1_200, 24_444)]);
  says('→ **buy 600 Wh at 30,000 and 1,200 Wh at 24,444**');
});

test('worked example: heat pump — 184 Wh at 30,000 and 566 Wh at 29,875 near T_min; 750 at 17,500 mid-band; none at T_max', () => {
  const p = createThermalParams();
  assert.deepEqual(thermalEnergyRange({ tempC: 19.02 }, p, 900, 4), { minWh: 184, maxWh: 750 });
  assert.deepEqual(thermalOrders({ tempC: 19.02 }, p, 900, 4), [buy(184, 30_000), buy(566, 29_875)]);
  says('→ **buy 184 Wh at 30,000 and 566 Wh at 29,875 millicents/kWh**');
  const kept = stepThermal({ tempC: 19.02 }, { electricWh: 184 }, p, 900, 4).state.tempC;
  assert.ok(Math.abs(kept - 19.0001) < 1e-9 && kept >= 19);
  assert.ok(Math.abs(stepThermal({ tempC: 19.02 }, { electricWh: 0 }, p, 900, 4).state.tempC - 18.9449) < 1e-9);
  says('the house ends at 19.02 + (3 × 184 − 751)/10,000 = **19.0001 °C**; with nothing, 18.9449 °C');
  assert.deepEqual(thermalOrders({ tempC: 21 }, p, 900, 4), [buy(750, 17_500)]);
  says('→ **buy 750 Wh at 17,500 millicents/kWh**');
  assert.deepEqual(thermalOrders({ tempC: 23 }, p, 900, 4), []);
  assert.deepEqual(thermalOrders({ tempC: 18.5 }, p, 900, 4), [buy(750, 30_000)]);
  says('T = 23 °C: **no order**. T = 18.5 °C: must = 1,908 Wh > M → **buy 750 Wh at 30,000**');
});

test('worked example: washing machine — 300 Wh at 17,500 mid-window; waits for a cheaper run', () => {
  const p = createShiftableParams();
  const at = (now: number) => ({ now, earliest: 40, latest: 48, startedAt: null });
  assert.deepEqual(shiftableOrders(at(44), p), [buy(300, 17_500)]);
  assert.deepEqual(shiftableOrders(at(40), p), [buy(300, 5_000)]);
  assert.deepEqual(shiftableOrders(at(48), p), [buy(300, 30_000)]);
  assert.deepEqual(shiftableOrders(at(38), p), []);
  says('At now = 44, σ = 0.5 → **buy 300 Wh at 17,500 millicents/kWh**; at 40 → 5,000; at 48 → 30,000; at 38 nothing.');
  const forecast = [20_000, 20_000, 20_000, 20_000, 8_000, 8_000, 8_000, 8_000, 8_000];
  assert.equal(cheaperStartLater(at(44), p, forecast), 48);
  assert.deepEqual(shiftableOrders(at(44), p, forecast), []);
  says('`cheaperStartLater` → 48 and at 44 **no order**');
});

test('worked example: active user — buy 800 at 30,000, sell 300 at 60,000', () => {
  assert.deepEqual(activeUserOrders({ loadWh: 800, curtailableWh: 300 }, createActiveUserParams()), [
    buy(800, 30_000), { side: 'sell', energyWh: 300, priceMcPerKWh: 60_000 },
  ]);
  says('**buy 800 Wh at 30,000, sell 300 Wh at 60,000 millicents/kWh**');
  const p = createActiveUserParams();
  const f = { pvWh: 0, baseLoadWh: 800, curtailableWh: 300 };
  const before = roomLeft({}, f, [], 900);
  assert.deepEqual(activeUserOrders({ loadWh: 800, curtailableWh: 300 }, p, before), [buy(800, 30_000)]);
  says('before anything is bought (sell room 0, buy room 800) → **buy 800 Wh at 30,000** only');
  const after = roomLeft({}, f, [{ market: 'p2p', side: 'buy', energyWh: 800 }], 900);
  assert.deepEqual([after.sellWh, after.buyWh], [800, 0]);
  assert.deepEqual(activeUserOrders({ loadWh: 800, curtailableWh: 300 }, p, after), [{ side: 'sell', energyWh: 300, priceMcPerKWh: 60_000 }]);
  says('after the 800 Wh filled (sell room 800, buy room 0) → **sell 300 Wh at 60,000** only');
});

test('worked example: commitments — sell room 950 Wh, buy room 3,800 Wh', () => {
  const home: HomeDevices = {
    battery: { params: createBatteryParams(), state: { soc: 0.5 } },
    ev: { params: createEvParams(), state: { energyNeededWh: 6_000, intervalsLeft: 4, plugged: true } },
    thermal: { params: createThermalParams(), state: { tempC: 21 }, ambientC: 4 },
    shiftable: { params: createShiftableParams(), state: { now: 44, earliest: 40, latest: 48, startedAt: null } },
  };
  const f = { pvWh: 200, baseLoadWh: 700 };
  const cs: Commitment[] = [{ market: 'auction', side: 'sell', energyWh: 400 }, { market: 'p2p', side: 'buy', energyWh: 1_200 }];
  const room = roomLeft(home, f, cs, 900);
  assert.deepEqual([room.range.minWh, room.range.maxWh, room.totals.netImportWh], [-150, 4_600, 800]);
  assert.deepEqual([room.sellWh, room.buyWh], [950, 3_800]);
  says('N = 800 → **sell room 950 Wh, buy room 3,800 Wh**');
  const plan = dispatchInterval(home, f, cs, 900);
  assert.deepEqual([plan.battery, plan.evWh, plan.thermalWh, plan.shiftableWh, plan.importWh], [{ chargeWh: 0, dischargeWh: 300 }, 600, 0, 0, 800]);
  says('Dispatch: battery discharges 300 Wh, EV 600 Wh, nothing else.');
  const all = [...cs, { market: 'p2p' as const, side: 'sell' as const, energyWh: 950 }];
  const after = dispatchInterval(home, f, all, 900);
  assert.deepEqual([after.battery.dischargeWh, after.importWh], [1_250, -150]);
  assert.equal(roomLeft(home, f, all, 900).sellWh, 0);
  says('N = −150 = I_min: the battery discharges 1,250 Wh (its (5) limit) and the sell room is 0.');
});
