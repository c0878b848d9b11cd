import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createTcrParams, stepBattery, TcrError, degradationCostMc } from '../index.js';
import { intervalArb, socIn, tcrParamsArb } from './arbitraries.js';

const REL = 1e-9;

test('stepBattery: SOC (1) and rate (2)–(5) limits hold over random request sequences', () => {
  fc.assert(
    fc.property(
      tcrParamsArb.chain((p) =>
        fc.tuple(
          fc.constant(p),
          socIn(p),
          intervalArb,
          fc.array(fc.tuple(fc.boolean(), fc.double({ min: 0, max: 100_000, noNaN: true })), { minLength: 1, maxLength: 60 }),
        ),
      ),
      ([p, soc0, dt, reqs]) => {
        const b = p.battery;
        let state = { soc: soc0 };
        for (const [charge, wh] of reqs) {
          const r = stepBattery(state, charge ? { chargeWh: wh, dischargeWh: 0 } : { chargeWh: 0, dischargeWh: wh }, b, dt);
          const s0 = state.soc;
          const s1 = r.state.soc;
          // (1)
          assert.ok(s1 >= b.socMin && s1 <= b.socMax, `soc ${s1} outside [${b.socMin}, ${b.socMax}]`);
          // γ·χ = 0
          assert.ok(r.chargedWh === 0 || r.dischargedWh === 0);
          // never more than asked
          assert.ok(r.chargedWh <= (charge ? wh : 0) && r.dischargedWh <= (charge ? 0 : wh));
          // (4), (5) on what was done
          assert.ok(r.chargedWh <= (b.maxChargeW * dt) / 3600);
          assert.ok(r.dischargedWh <= (b.maxDischargeW * dt) / 3600);
          // (2), (3): rates recomputed from the SOC change
          const rCh = Math.max(0, ((s1 - s0) * b.capacityWh) / b.etaCh) / (dt / 3600);
          const rDis = Math.max(0, (s0 - s1) * b.capacityWh * b.etaDis) / (dt / 3600);
          assert.ok(rCh <= b.maxChargeW * (1 + REL) + 1e-9, `r_ch ${rCh} > ${b.maxChargeW}`);
          assert.ok(rDis <= b.maxDischargeW * (1 + REL) + 1e-9, `r_dis ${rDis} > ${b.maxDischargeW}`);
          // (6) matches the energies reported (up to the clamp's rounding)
          const expected = s0 + (b.etaCh * r.chargedWh) / b.capacityWh - r.dischargedWh / (b.etaDis * b.capacityWh);
          assert.ok(Math.abs(expected - s1) <= 1e-12, `(6) ${expected} vs ${s1}`);
          state = r.state;
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('stepBattery: a request within the limits is done exactly; (6) and (7) by hand', () => {
  const p = createTcrParams().battery; // 10 kWh, 10–90 %, η 0.95, 5 kW, C_d 20,000 mc/kWh
  const c = stepBattery({ soc: 0.5 }, { chargeWh: 950, dischargeWh: 0 }, p, 900);
  assert.equal(c.chargedWh, 950);
  assert.ok(Math.abs(c.state.soc - (0.5 + (0.95 * 950) / 10_000)) < 1e-15);
  assert.equal(c.chargeRateW, 3800);
  assert.equal(c.limitedBy, 'none');
  const d = stepBattery({ soc: 0.5 }, { chargeWh: 0, dischargeWh: 950 }, p, 900);
  assert.ok(Math.abs(d.state.soc - 0.4) < 1e-15);
  assert.equal(d.degradationCostMc, 19_000); // 0.95 kWh × 20,000 mc/kWh
  assert.equal(degradationCostMc(950, p), 19_000);
});

test('stepBattery: cuts at the rate limit and at the SOC limits, and says which', () => {
  const p = createTcrParams().battery;
  const rate = stepBattery({ soc: 0.5 }, { chargeWh: 5_000, dischargeWh: 0 }, p, 900);
  assert.equal(rate.chargedWh, 1250);
  assert.equal(rate.limitedBy, 'rate');
  const full = stepBattery({ soc: 0.85 }, { chargeWh: 5_000, dischargeWh: 0 }, p, 3600);
  assert.equal(full.state.soc, 0.9);
  assert.ok(Math.abs(full.chargedWh - 500 / 0.95) < 1e-9);
  assert.equal(full.limitedBy, 'soc');
  const empty = stepBattery({ soc: 0.15 }, { chargeWh: 0, dischargeWh: 5_000 }, p, 3600);
  assert.equal(empty.state.soc, 0.1);
  assert.ok(Math.abs(empty.dischargedWh - 500 * 0.95) < 1e-9);
  assert.equal(empty.limitedBy, 'soc');
  // below SOC_min (e.g. limits changed): may charge, never discharge
  const low = stepBattery({ soc: 0.05 }, { chargeWh: 0, dischargeWh: 100 }, p, 900);
  assert.equal(low.dischargedWh, 0);
  assert.equal(low.state.soc, 0.05);
});

test('stepBattery: rejects both directions, negative or non-finite requests, bad state and interval', () => {
  const p = createTcrParams().battery;
  const code = (f: () => unknown, c: string): void => {
    assert.throws(f, (e: unknown) => e instanceof TcrError && e.code === c && e.message.startsWith(c));
  };
  code(() => stepBattery({ soc: 0.5 }, { chargeWh: 1, dischargeWh: 1 }, p, 900), 'BOTH_DIRECTIONS');
  code(() => stepBattery({ soc: 0.5 }, { chargeWh: -1, dischargeWh: 0 }, p, 900), 'BAD_REQUEST');
  code(() => stepBattery({ soc: 0.5 }, { chargeWh: NaN, dischargeWh: 0 }, p, 900), 'BAD_REQUEST');
  code(() => stepBattery({ soc: 0.5 }, { chargeWh: 0, dischargeWh: Infinity }, p, 900), 'BAD_REQUEST');
  code(() => stepBattery({ soc: 1.2 }, { chargeWh: 0, dischargeWh: 0 }, p, 900), 'BAD_STATE');
  code(() => stepBattery({ soc: NaN }, { chargeWh: 0, dischargeWh: 0 }, p, 900), 'BAD_STATE');
  code(() => stepBattery({ soc: 0.5 }, { chargeWh: 0, dischargeWh: 0 }, p, 0), 'BAD_INTERVAL');
  code(() => stepBattery({ soc: 0.5 }, { chargeWh: 0, dischargeWh: 0 }, p, 90_000), 'BAD_INTERVAL');
});

test('stepBattery: does not mutate its input', () => {
  const p = createTcrParams().battery;
  const s = Object.freeze({ soc: 0.5 });
  const r = stepBattery(s, { chargeWh: 100, dischargeWh: 0 }, p, 900);
  assert.equal(s.soc, 0.5);
  assert.notEqual(r.state, s);
});
