import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flexibleLoadWh, homeKinds, kindCounts, planSimulation } from '../simulationPlan.js';
import { DEFAULT_EV_LOAD, DEFAULT_HEAT_PUMP_LOAD } from '../../hem/adapters/simFlexibleLoad.js';

const count = (xs: readonly string[]) => xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});

test('[PLAN-KIND] the default 24 homes: 12 pv-battery, 4 pv-only, 4 active users (2 EV, 2 heat pump), 4 consumers', () => {
  const plan = planSimulation({ homes: 24, seed: 42, date: '2025-01-15' });
  assert.deepEqual(count(plan.homes.map((h) => h.kind)), { 'pv-battery': 12, 'pv-only': 4, 'active-user': 4, consumer: 4 });
  assert.deepEqual(count(plan.homes.filter((h) => h.flexibleLoad).map((h) => h.flexibleLoad!.type)), { ev: 2, 'heat-pump': 2 });
  for (const h of plan.homes) {
    const pv = h.kind === 'pv-battery' || h.kind === 'pv-only';
    assert.equal(h.pvPeakW > 0, pv, `${h.meterId} ${h.kind}: PV`);
    assert.equal(h.battery.maxChargeW > 0 && h.battery.maxDischargeW > 0, h.kind === 'pv-battery', `${h.meterId} ${h.kind}: battery`);
    if (h.kind !== 'pv-battery') assert.equal(h.battery.maxChargeW + h.battery.maxDischargeW, 0);
    if (h.kind !== 'pv-battery') assert.equal(h.programme, 'TE', `${h.meterId}: homes without a battery trade`);
    assert.equal(h.flexibleLoad !== undefined, h.kind === 'active-user');
  }
  const batteries = plan.homes.filter((h) => h.kind === 'pv-battery');
  assert.deepEqual(count(batteries.map((h) => h.programme)), { 'RE+TE': 3, TE: 6, RE: 3 });
  assert.equal(plan.homes[0]!.kind, 'pv-battery');
  assert.equal(plan.homes.filter((h) => h.underDeliverFactor < 1).length, 1);
  assert.equal(plan.homes.find((h) => h.underDeliverFactor < 1)!.kind, 'pv-battery');
  assert.equal(plan.priorNetLoadWh.length, 96);
  assert.ok(plan.priorNetLoadWh.every((v) => Number.isInteger(v)));
});

test('[PLAN-KIND] every kind from 4 homes on; fewer homes are all pv-battery', () => {
  for (let n = 4; n <= 40; n++) {
    const c = kindCounts(n);
    assert.equal(Object.values(c).reduce((a, b) => a + b, 0), n);
    for (const [k, v] of Object.entries(c)) assert.ok(v >= 1, `${n} homes: ${k}`);
    assert.deepEqual(count(homeKinds(n, 7)), Object.fromEntries(Object.entries(c).filter(([, v]) => v > 0)));
  }
  assert.deepEqual(kindCounts(8), { 'pv-battery': 5, 'pv-only': 1, 'active-user': 1, consumer: 1 });
  assert.deepEqual(homeKinds(3, 1), ['pv-battery', 'pv-battery', 'pv-battery']);
  // the 8-home plan keeps validators (RE, RE+TE) and a trading battery home
  const p8 = planSimulation({ homes: 8, seed: 42, date: '2025-01-15' });
  assert.ok(p8.homes.filter((h) => h.programme !== 'TE').length >= 2);
  assert.ok(p8.homes.some((h) => h.kind === 'pv-battery' && h.programme !== 'RE'));
});

test('[PLAN-KIND] deterministic: same options, same plan; another seed, another mix', () => {
  const o = { homes: 24, seed: 42, date: '2025-01-15' };
  assert.deepEqual(planSimulation(o), planSimulation(o));
  assert.notDeepEqual(homeKinds(24, 42), homeKinds(24, 43));
});

test("the prior counts the active users' devices (must-only): the EV before departure, the heat pump after the draws", () => {
  const ev = flexibleLoadWh(DEFAULT_EV_LOAD, '2025-01-15');
  assert.equal(Math.round(ev.reduce((a, b) => a + b, 0)), 12_000, 'the night session: its whole need');
  assert.ok(ev.slice(0, 20).every((v) => v === 0) && ev.slice(21, 28).some((v) => v > 0), 'drawn just before 07:00');
  const hp = flexibleLoadWh(DEFAULT_HEAT_PUMP_LOAD, '2025-01-15');
  assert.ok(hp.reduce((a, b) => a + b, 0) > 0);
  assert.ok(hp.slice(28, 36).some((v) => v > 0), 'reheats after the 07:00 draw');
});
