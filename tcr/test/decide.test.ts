import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bidPriceMcPerKWh, createTcrParams, decide, degradationCostExactMcPerKWh, offerPriceMcPerKWh, stepBattery, TcrError,
} from '../index.js';
import { auction, forecastArb, intervalArb, socIn, tcrParamsArb } from './arbitraries.js';

const scenario = tcrParamsArb.chain((p) =>
  fc.record({
    p: fc.constant(p),
    soc: socIn(p),
    dt: intervalArb,
    f: forecastArb,
    askWh: fc.integer({ min: 0, max: 100_000 }),
    limit: fc.integer({ min: 0, max: 200_000 }),
  }),
);

test('decide: every bid is integer, within the auction, and deliverable with the home’s own use without violating (1)–(5)', () => {
  fc.assert(
    fc.property(scenario, fc.constantFrom('buy' as const, 'sell' as const), ({ p, soc, dt, f, askWh, limit }, side) => {
      const d = decide(auction(side, askWh, limit, dt), { soc }, p, f);
      if (d.bid === null) return;
      const b = p.battery;
      assert.ok(Number.isInteger(d.bid.energyWh) && d.bid.energyWh >= p.curves.minBidWh);
      assert.ok(Number.isInteger(d.bid.priceMcPerKWh));
      assert.ok(d.bid.energyWh <= askWh);
      if (side === 'buy') {
        assert.equal(d.bid.type, 'sell');
        assert.ok(d.bid.priceMcPerKWh <= limit);
        assert.ok(d.bid.priceMcPerKWh >= degradationCostExactMcPerKWh(b));
        const deficit = Math.max(0, f.loadWh - f.pvWh);
        const total = deficit + d.bid.energyWh; // the home's deficit and the offer, in the same interval
        const r = stepBattery({ soc }, { chargeWh: 0, dischargeWh: total }, b, dt);
        assert.ok(total - r.dischargedWh <= 1e-6, `home ${deficit} + offer ${d.bid.energyWh} cut to ${r.dischargedWh}`);
      } else {
        assert.equal(d.bid.type, 'buy');
        assert.ok(d.bid.priceMcPerKWh >= limit);
        const s1 = stepBattery({ soc }, { chargeWh: Math.max(0, f.pvWh - f.loadWh), dischargeWh: 0 }, b, dt);
        const total = s1.chargedWh + d.bid.energyWh;
        const r = stepBattery({ soc }, { chargeWh: total, dischargeWh: 0 }, b, dt);
        assert.ok(total - r.chargedWh <= 1e-6, `surplus ${s1.chargedWh} + bid ${d.bid.energyWh} cut to ${r.chargedWh}`);
      }
    }),
    { numRuns: 1000 },
  );
});

test('decide: no offer when the aggregator’s limit is below our lowest price, an offer when it is not', () => {
  fc.assert(
    fc.property(scenario, fc.integer({ min: 1, max: 50_000 }), ({ p, soc, dt, f }, below) => {
      const probe = decide(auction('buy', 1_000_000, 100_000_000, dt), { soc }, p, f);
      if (probe.bid === null) return; // nothing to offer at any price (empty, home needs it, too small)
      const ours = probe.bid.priceMcPerKWh;
      const low = decide(auction('buy', 1_000_000, Math.max(0, ours - below), dt), { soc }, p, f);
      if (ours - below >= 0) {
        assert.equal(low.bid, null);
        assert.equal(low.reason, 'PRICE_ABOVE_LIMIT');
      }
      const atLimit = decide(auction('buy', 1_000_000, ours, dt), { soc }, p, f);
      assert.deepEqual(atLimit.bid, probe.bid);
    }),
    { numRuns: 500 },
  );
});

test('decide: no bid when the aggregator sells above our willingness to pay', () => {
  fc.assert(
    fc.property(scenario, fc.integer({ min: 1, max: 50_000 }), ({ p, soc, dt, f }, above) => {
      const probe = decide(auction('sell', 1_000_000, 0, dt), { soc }, p, f);
      if (probe.bid === null) return;
      const ours = probe.bid.priceMcPerKWh;
      const high = decide(auction('sell', 1_000_000, ours + above, dt), { soc }, p, f);
      assert.equal(high.bid, null);
      assert.equal(high.reason, 'PRICE_BELOW_LIMIT');
      assert.deepEqual(decide(auction('sell', 1_000_000, ours, dt), { soc }, p, f).bid, probe.bid);
    }),
    { numRuns: 500 },
  );
});

test('decide: offered quantity never falls and bid quantity never rises as SOC rises (same forecast)', () => {
  fc.assert(
    fc.property(scenario, fc.double({ min: 0, max: 1, noNaN: true }), ({ p, soc, dt, f }, t) => {
      const b = p.battery;
      const soc2 = soc + t * (b.socMax - soc);
      const q = (side: 'buy' | 'sell', s: number): number =>
        decide(auction(side, 1_000_000, side === 'buy' ? 100_000_000 : 0, dt), { soc: s }, p, f).bid?.energyWh ?? 0;
      assert.ok(q('buy', soc) <= q('buy', soc2), `offer ${q('buy', soc)} at ${soc} > ${q('buy', soc2)} at ${soc2}`);
      assert.ok(q('sell', soc) >= q('sell', soc2), `bid ${q('sell', soc)} at ${soc} < ${q('sell', soc2)} at ${soc2}`);
    }),
    { numRuns: 500 },
  );
});

test('decide: the home’s deficit is served first; when the battery cannot cover it nothing is offered', () => {
  const p = createTcrParams();
  // SOC 0.12: 0.02 × 10 kWh × 0.95 = 190 Wh above SOC_min; the home needs 300 Wh
  const d = decide(auction('buy', 2_000, 100_000), { soc: 0.12 }, p, { pvWh: 0, loadWh: 300 });
  assert.equal(d.bid, null);
  assert.equal(d.reason, 'HOME_NEEDS_IT');
  // a deficit using the whole rate budget (1,250 Wh in 15 min) leaves nothing to offer
  const e = decide(auction('buy', 2_000, 100_000), { soc: 0.9 }, p, { pvWh: 0, loadWh: 1_250 });
  assert.equal(e.bid, null);
  assert.equal(e.reason, 'BATTERY_EMPTY');
  // same SOC, no deficit: an offer
  const g = decide(auction('buy', 2_000, 100_000), { soc: 0.9 }, p, { pvWh: 500, loadWh: 200 });
  assert.deepEqual(g.bid, { type: 'sell', energyWh: 1_250, priceMcPerKWh: 21_000 });
});

test('decide: other reasons for no bid', () => {
  const p = createTcrParams();
  const a = auction('buy', 2_000, 100_000);
  assert.equal(decide({ ...a, delivery: { start: a.delivery.end, end: a.delivery.start } }, { soc: 0.5 }, p, { pvWh: 0, loadWh: 0 }).reason, 'BAD_DELIVERY_INTERVAL');
  assert.equal(decide({ ...a, delivery: { start: 'x', end: a.delivery.end } }, { soc: 0.5 }, p, { pvWh: 0, loadWh: 0 }).reason, 'BAD_DELIVERY_INTERVAL');
  assert.equal(decide(auction('buy', 0, 100_000), { soc: 0.5 }, p, { pvWh: 0, loadWh: 0 }).reason, 'NOTHING_ASKED');
  assert.equal(decide(a, { soc: 0.1 }, p, { pvWh: 0, loadWh: 0 }).reason, 'BATTERY_EMPTY');
  assert.equal(decide(auction('sell', 2_000, 0), { soc: 0.9 }, p, { pvWh: 0, loadWh: 0 }).reason, 'BATTERY_FULL');
  // surplus fills the rate budget: nothing left to buy
  assert.equal(decide(auction('sell', 2_000, 0), { soc: 0.3 }, p, { pvWh: 2_000, loadWh: 0 }).reason, 'BATTERY_FULL');
  // 0.5 Wh of offer floors to 0 < minBidWh
  assert.equal(decide(auction('buy', 2_000, 100_000, 60), { soc: 0.10075 }, p, { pvWh: 0, loadWh: 0 }).reason, 'TOO_SMALL');
  // kWh / cents on the wire are converted with the one floor rule
  const w = decide(
    { ...a, energy: { unit: 'kWh', value: 0.3 }, limitPrice: { unit: 'cents/kWh', value: 26 } }, { soc: 0.5 }, p, { pvWh: 0, loadWh: 0 },
  );
  assert.deepEqual(w.bid, { type: 'sell', energyWh: 300, priceMcPerKWh: 26_000 });
  assert.equal(offerPriceMcPerKWh(0.5, p.battery, p.curves), 26_000);
  assert.equal(bidPriceMcPerKWh(0.5, p.battery, p.curves), 15_000);
});

test('decide: bad state or forecast throws a coded error', () => {
  const p = createTcrParams();
  const a = auction('buy', 2_000, 100_000);
  const code = (f: () => unknown, c: string): void => {
    assert.throws(f, (e: unknown) => e instanceof TcrError && e.code === c);
  };
  code(() => decide(a, { soc: -0.1 }, p, { pvWh: 0, loadWh: 0 }), 'BAD_STATE');
  code(() => decide(a, { soc: 0.5 }, p, { pvWh: -1, loadWh: 0 }), 'BAD_FORECAST');
  code(() => decide(a, { soc: 0.5 }, p, { pvWh: 0, loadWh: NaN }), 'BAD_FORECAST');
});
