import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  createEvParams, DEFAULT_EV_PARAMS, evBidParts, evEnergyNeededWh, evEnergyRange, evIntervalsLeft, evMaxIntervalWh, evOrders,
  stepEv, TcrError, type EvState, type MarketOrder,
} from '../index.js';
import { intervalArb } from './arbitraries.js';
import { evParamsArb, evStateArb } from './deviceArbitraries.js';

/** Energy bought at a clearing price p: every buy order priced at or above p. */
function demandAt(orders: readonly MarketOrder[], p: number): number {
  return orders.filter((o) => o.side === 'buy' && o.priceMcPerKWh >= p).reduce((s, o) => s + o.energyWh, 0);
}

function code(f: () => unknown, c: string, field?: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof TcrError, String(e));
    assert.equal(e.code, c, e.message);
    if (field !== undefined) assert.ok(e.context.param === field || e.context.field === field, e.message);
    assert.ok(e.message.startsWith(c));
    return true;
  });
}

test('evOrders: integers, must at P_cap first, never more than the power M or the need E; stepEv takes them whole', () => {
  fc.assert(
    fc.property(evParamsArb(true).chain((p) => fc.tuple(fc.constant(p), evStateArb(p), intervalArb)), ([p, s, dt]) => {
      const orders = evOrders(s, p, dt);
      assert.ok(orders.length <= 2);
      let total = 0;
      for (const o of orders) {
        assert.equal(o.side, 'buy');
        assert.ok(Number.isInteger(o.energyWh) && o.energyWh >= p.minOrderWh);
        assert.ok(Number.isInteger(o.priceMcPerKWh) && o.priceMcPerKWh >= p.priceLowMcPerKWh && o.priceMcPerKWh <= p.priceCapMcPerKWh);
        total += o.energyWh;
      }
      assert.ok(total <= (p.maxChargeW * dt) / 3600 + 1e-9, `total ${total} > power`);
      assert.ok(total <= s.energyNeededWh, `total ${total} > need ${s.energyNeededWh}`);
      const b = evBidParts(s, p, dt);
      if (b.mustWh >= p.minOrderWh) assert.deepEqual(orders[0], { side: 'buy', energyWh: b.mustWh, priceMcPerKWh: p.priceCapMcPerKWh });
      const r = stepEv(s, { chargeWh: total }, p, dt);
      assert.equal(r.chargedWh, total);
      assert.ok(r.limitedBy === 'none' || total === 0);
      if (!s.plugged || s.intervalsLeft === 0) assert.deepEqual(orders, []);
    }),
    { numRuns: 1000 },
  );
});

test('evOrders: urgency (fewer intervals left, more energy needed) never lowers what is bought at any price, nor P_flex', () => {
  fc.assert(
    fc.property(
      evParamsArb().chain((p) => fc.tuple(fc.constant(p), evStateArb(p), intervalArb, fc.integer({ min: 1, max: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 200_000 }))),
      ([p, s, dt, fewer, more, price]) => {
        const calm: EvState = { ...s, plugged: true, intervalsLeft: Math.max(1, s.intervalsLeft) };
        const top = p.capacityWh / p.efficiency;
        const pressed = [
          { ...calm, intervalsLeft: Math.max(1, calm.intervalsLeft - fewer) },
          { ...calm, energyNeededWh: Math.min(top, calm.energyNeededWh + more * (top - calm.energyNeededWh)) },
        ];
        const a = evOrders(calm, p, dt);
        const pa = evBidParts(calm, p, dt);
        for (const u of pressed) {
          const b = evOrders(u, p, dt);
          const pb = evBidParts(u, p, dt);
          assert.ok(demandAt(b, price) >= demandAt(a, price), `at ${price}: ${JSON.stringify(b)} < ${JSON.stringify(a)}`);
          assert.ok(pb.mustWh >= pa.mustWh);
          assert.ok(pb.mustWh + pb.flexWh >= pa.mustWh + pa.flexWh);
          assert.ok(pb.slack <= pa.slack);
          assert.ok(pb.flexPriceMcPerKWh >= pa.flexPriceMcPerKWh);
        }
      },
    ),
    { numRuns: 1000 },
  );
});

test('buying only the must part every interval leaves on time (within the < 1 Wh floored away) whenever ⌊E⌋ ≤ n·M', () => {
  fc.assert(
    fc.property(evParamsArb().chain((p) => fc.tuple(fc.constant(p), evStateArb(p), intervalArb)), ([p, s0, dt]) => {
      let s: EvState = { ...s0, plugged: true, intervalsLeft: Math.min(s0.intervalsLeft, 60) };
      const m = evMaxIntervalWh(p, dt);
      if (Math.floor(s.energyNeededWh) > s.intervalsLeft * m) return;
      while (s.intervalsLeft > 0) {
        const must = evBidParts(s, p, dt).mustWh;
        const r = stepEv(s, { chargeWh: must }, p, dt);
        assert.equal(r.chargedWh, must);
        s = r.state;
      }
      assert.ok(s.energyNeededWh < 1, `left ${s.energyNeededWh} Wh at departure`);
    }),
    { numRuns: 500 },
  );
});

test('stepEv: limits over random request sequences — power, need, and nothing unplugged or after departure', () => {
  fc.assert(
    fc.property(
      evParamsArb().chain((p) => fc.tuple(fc.constant(p), evStateArb(p), intervalArb, fc.array(fc.double({ min: 0, max: 30_000, noNaN: true }), { maxLength: 40 }))),
      ([p, s0, dt, asks]) => {
        let s = s0;
        for (const ask of asks) {
          const r = stepEv(s, { chargeWh: ask }, p, dt);
          assert.ok(r.chargedWh <= ask && r.chargedWh <= (p.maxChargeW * dt) / 3600 + 1e-9 && r.chargedWh <= s.energyNeededWh);
          assert.ok(r.state.energyNeededWh >= 0 && r.state.energyNeededWh <= s.energyNeededWh);
          assert.ok(Math.abs(s.energyNeededWh - r.chargedWh - r.state.energyNeededWh) <= 1e-9 * Math.max(1, s.energyNeededWh));
          assert.ok(Math.abs(r.storedWh - r.chargedWh * p.efficiency) <= 1e-9 * Math.max(1, r.chargedWh));
          assert.equal(r.state.intervalsLeft, Math.max(0, s.intervalsLeft - 1));
          if (!s.plugged || s.intervalsLeft === 0) assert.equal(r.chargedWh, 0);
          s = r.state;
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('stepEv by hand: cut to power, to need, unplugged; does not mutate its input', () => {
  const p = createEvParams(); // 7.2 kW: 1,800 Wh in 15 min
  const s = Object.freeze({ energyNeededWh: 6_000, intervalsLeft: 4, plugged: true });
  const power = stepEv(s, { chargeWh: 5_000 }, p, 900);
  assert.deepEqual(power, {
    state: { energyNeededWh: 4_200, intervalsLeft: 3, plugged: true }, chargedWh: 1_800, storedWh: 1_620, chargeRateW: 7_200, limitedBy: 'power',
  });
  const need = stepEv({ energyNeededWh: 500, intervalsLeft: 2, plugged: true }, { chargeWh: 1_000 }, p, 900);
  assert.equal(need.chargedWh, 500);
  assert.equal(need.state.energyNeededWh, 0);
  assert.equal(need.limitedBy, 'need');
  const away = stepEv({ energyNeededWh: 500, intervalsLeft: 2, plugged: false }, { chargeWh: 100 }, p, 900);
  assert.equal(away.chargedWh, 0);
  assert.equal(away.limitedBy, 'unplugged');
  assert.equal(stepEv({ energyNeededWh: 500, intervalsLeft: 0, plugged: true }, { chargeWh: 100 }, p, 900).limitedBy, 'unplugged');
  assert.equal(s.energyNeededWh, 6_000);
});

test('evBidParts by hand: the last interval, more need than the time allows, no charger power', () => {
  const p = createEvParams();
  assert.deepEqual(evOrders({ energyNeededWh: 700.9, intervalsLeft: 1, plugged: true }, p, 900), [{ side: 'buy', energyWh: 700, priceMcPerKWh: 30_000 }]);
  // 10 kWh in two intervals of 1,800 Wh: all it can, at the cap
  assert.deepEqual(evOrders({ energyNeededWh: 10_000, intervalsLeft: 2, plugged: true }, p, 900), [{ side: 'buy', energyWh: 1_800, priceMcPerKWh: 30_000 }]);
  // plenty of time: no must part, all flexible near P_low
  assert.deepEqual(evOrders({ energyNeededWh: 1_800, intervalsLeft: 40, plugged: true }, p, 900), [{ side: 'buy', energyWh: 1_800, priceMcPerKWh: 5_625 }]);
  assert.deepEqual(evEnergyRange({ energyNeededWh: 6_000, intervalsLeft: 4, plugged: true }, p, 900), { minWh: 600, maxWh: 1_800 });
  assert.deepEqual(evOrders({ energyNeededWh: 6_000, intervalsLeft: 4, plugged: true }, createEvParams({ maxChargeW: 0 }), 900), []);
  assert.deepEqual(evOrders({ energyNeededWh: 0, intervalsLeft: 4, plugged: true }, p, 900), []);
});

test('evIntervalsLeft and evEnergyNeededWh', () => {
  const now = Date.parse('2026-11-21T18:00:00Z');
  assert.equal(evIntervalsLeft(now, now + 65 * 60_000, 900), 4);
  assert.equal(evIntervalsLeft(now, now + 14 * 60_000, 900), 0);
  assert.equal(evIntervalsLeft(now, now - 60_000, 900), 0);
  const p = createEvParams();
  assert.ok(Math.abs(evEnergyNeededWh(0.2, 0.8, p) - 40_000) < 1e-9);
  assert.equal(evEnergyNeededWh(0.9, 0.8, p), 0);
  code(() => evEnergyNeededWh(0.2, 1.2, p), 'BAD_EV_STATE', 'targetSoc');
  code(() => evIntervalsLeft(now, NaN, 900), 'BAD_EV_STATE', 'departureMs');
  code(() => evIntervalsLeft(now, now, 0), 'BAD_INTERVAL');
});

test('createEvParams: defaults and clear errors; bad state and request', () => {
  assert.deepEqual(createEvParams(), DEFAULT_EV_PARAMS);
  assert.ok(Object.isFrozen(createEvParams()));
  code(() => createEvParams({ capacityWh: 0 }), 'BAD_EV_PARAM', 'capacityWh');
  code(() => createEvParams({ maxChargeW: -1 }), 'BAD_EV_PARAM', 'maxChargeW');
  code(() => createEvParams({ efficiency: 1.2 }), 'BAD_EV_PARAM', 'efficiency');
  code(() => createEvParams({ priceCapMcPerKWh: 1.5 }), 'BAD_EV_PARAM', 'priceCapMcPerKWh');
  code(() => createEvParams({ priceLowMcPerKWh: 40_000 }), 'BAD_EV_PARAM', 'priceLowMcPerKWh');
  code(() => createEvParams({ priceExponent: 0 }), 'BAD_EV_PARAM', 'priceExponent');
  code(() => createEvParams({ minOrderWh: 0 }), 'BAD_EV_PARAM', 'minOrderWh');
  code(() => createEvParams({ capacityWh: 'big' }), 'BAD_EV_PARAM', 'capacityWh');
  code(() => createEvParams({ departure: 1 } as never), 'BAD_EV_PARAM', 'departure');
  code(() => createEvParams(null as never), 'BAD_EV_PARAM', '(input)');
  assert.match(String((() => { try { createEvParams({ efficiency: 0 }); } catch (e) { return (e as Error).message; } })()), /^BAD_EV_PARAM param=efficiency value=0 need=0 < efficiency <= 1$/);
  const p = createEvParams();
  code(() => evOrders({ energyNeededWh: -1, intervalsLeft: 1, plugged: true }, p, 900), 'BAD_EV_STATE', 'energyNeededWh');
  code(() => evOrders({ energyNeededWh: 70_000, intervalsLeft: 1, plugged: true }, p, 900), 'BAD_EV_STATE', 'energyNeededWh');
  code(() => evOrders({ energyNeededWh: 1, intervalsLeft: 1.5, plugged: true }, p, 900), 'BAD_EV_STATE', 'intervalsLeft');
  code(() => evOrders({ energyNeededWh: 1, intervalsLeft: 1, plugged: 'yes' } as never, p, 900), 'BAD_EV_STATE', 'plugged');
  code(() => stepEv({ energyNeededWh: 1, intervalsLeft: 1, plugged: true }, { chargeWh: NaN }, p, 900), 'BAD_REQUEST');
  code(() => stepEv({ energyNeededWh: 1, intervalsLeft: 1, plugged: true }, { chargeWh: 1 }, p, 90_000), 'BAD_INTERVAL');
});
