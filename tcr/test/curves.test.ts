import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bidPriceMcPerKWh, bidQuantityWh, createTcrParams, degradationCostExactMcPerKWh, offerPriceMcPerKWh, offerQuantityWh,
  stepBattery,
} from '../index.js';
import { intervalArb, tcrParamsArb } from './arbitraries.js';

const pairIn = tcrParamsArb.chain((p) =>
  fc.tuple(
    fc.constant(p),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    intervalArb,
  ),
);

test('offer price ≥ degradation cost C_d at every SOC', () => {
  fc.assert(
    fc.property(tcrParamsArb, fc.double({ min: 0, max: 1, noNaN: true }), (p, soc) => {
      const price = offerPriceMcPerKWh(soc, p.battery, p.curves);
      assert.ok(Number.isInteger(price));
      assert.ok(price >= degradationCostExactMcPerKWh(p.battery), `${price} < C_d`);
    }),
    { numRuns: 500 },
  );
});

test('offer quantity rises with SOC, bid quantity falls with SOC; prices: offer and bid fall as SOC rises', () => {
  fc.assert(
    fc.property(pairIn, ([p, x, y, dt]) => {
      const [lo, hi] = x <= y ? [x, y] : [y, x];
      const { battery: b, curves: c } = p;
      assert.ok(offerQuantityWh(lo, b, c, dt) <= offerQuantityWh(hi, b, c, dt));
      assert.ok(bidQuantityWh(lo, b, c, dt) >= bidQuantityWh(hi, b, c, dt));
      assert.ok(offerPriceMcPerKWh(lo, b, c) >= offerPriceMcPerKWh(hi, b, c));
      assert.ok(bidPriceMcPerKWh(lo, b, c) >= bidPriceMcPerKWh(hi, b, c));
    }),
    { numRuns: 500 },
  );
});

test('curve end points: offer 0 at SOC_min and the most deliverable at SOC_max; bid the reverse', () => {
  fc.assert(
    fc.property(tcrParamsArb, intervalArb, (p, dt) => {
      const { battery: b, curves: c } = p;
      assert.equal(offerQuantityWh(b.socMin, b, c, dt), 0);
      assert.equal(bidQuantityWh(b.socMax, b, c, dt), 0);
      const maxOut = Math.min((b.maxDischargeW * dt) / 3600, (b.socMax - b.socMin) * b.capacityWh * b.etaDis);
      const maxIn = Math.min((b.maxChargeW * dt) / 3600, ((b.socMax - b.socMin) * b.capacityWh) / b.etaCh);
      assert.ok(Math.abs(offerQuantityWh(b.socMax, b, c, dt) - maxOut) <= 1e-9 * Math.max(1, maxOut));
      assert.ok(Math.abs(bidQuantityWh(b.socMin, b, c, dt) - maxIn) <= 1e-9 * Math.max(1, maxIn));
    }),
    { numRuns: 300 },
  );
});

test('a curve quantity is always deliverable within one interval without violating (1)–(5)', () => {
  fc.assert(
    fc.property(pairIn, ([p, x, , dt]) => {
      const { battery: b, curves: c } = p;
      const soc = b.socMin + x * (b.socMax - b.socMin);
      const off = offerQuantityWh(soc, b, c, dt);
      const r1 = stepBattery({ soc }, { chargeWh: 0, dischargeWh: off }, b, dt);
      assert.ok(off - r1.dischargedWh <= 1e-9 * Math.max(1, off), `offer ${off} cut to ${r1.dischargedWh}`);
      const bid = bidQuantityWh(soc, b, c, dt);
      const r2 = stepBattery({ soc }, { chargeWh: bid, dischargeWh: 0 }, b, dt);
      assert.ok(bid - r2.chargedWh <= 1e-9 * Math.max(1, bid), `bid ${bid} cut to ${r2.chargedWh}`);
    }),
    { numRuns: 300 },
  );
});

test('default curves, by hand: linear quantities, quadratic offer premium, linear bid price', () => {
  const { battery: b, curves: c } = createTcrParams();
  // s = 0.5 at SOC 0.5; 15 min at 5 kW = 1,250 Wh
  assert.equal(offerQuantityWh(0.5, b, c, 900), 625);
  assert.equal(bidQuantityWh(0.5, b, c, 900), 625);
  assert.equal(offerPriceMcPerKWh(0.5, b, c), 20_000 + 1_000 + 5_000); // C_d + m + k·0.25
  assert.equal(offerPriceMcPerKWh(0.1, b, c), 41_000); // C_d + m + k at SOC_min
  assert.equal(offerPriceMcPerKWh(0.9, b, c), 21_000); // C_d + m at SOC_max
  assert.equal(bidPriceMcPerKWh(0.5, b, c), 15_000); // 5,000 + 20,000 × 0.5
  assert.equal(bidPriceMcPerKWh(0.1, b, c), 25_000);
  assert.equal(bidPriceMcPerKWh(0.9, b, c), 5_000);
});
