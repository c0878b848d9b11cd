import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  cheaperStartLater, createShiftableParams, decideShiftable, DEFAULT_SHIFTABLE_PARAMS, shiftableEnergyRange, shiftableOrders,
  shiftablePhase, shiftablePriceMcPerKWh, stepShiftable, TcrError, type ShiftableState,
} from '../index.js';
import { shiftableParamsArb, shiftableStateArb } from './deviceArbitraries.js';

function code(f: () => unknown, c: string, field?: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof TcrError, String(e));
    assert.equal(e.code, c, e.message);
    if (field !== undefined) assert.ok(e.context.param === field || e.context.field === field, e.message);
    return true;
  });
}

const window = (now: number, startedAt: number | null = null): ShiftableState => ({ now, earliest: 40, latest: 48, startedAt });

test('a run, whatever is decided: exactly k intervals of e, started within [earliest, latest], never interrupted', () => {
  fc.assert(
    fc.property(
      shiftableParamsArb().chain((p) => fc.tuple(fc.constant(p), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 20 }), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 80 }))),
      ([p, earliest, width, awards]) => {
        let s: ShiftableState = { now: earliest - 3, earliest, latest: earliest + width, startedAt: null };
        const used: number[] = [];
        const steps = Math.max(awards.length, width + p.runIntervals + 4);
        for (let i = 0; i < steps; i++) {
          const orders = shiftableOrders(s, p);
          for (const o of orders) assert.ok(o.energyWh === p.energyPerIntervalWh && o.priceMcPerKWh <= p.priceCapMcPerKWh);
          const awarded = orders.length > 0 && (awards[i] ?? 0) === 0 ? p.energyPerIntervalWh : 0;
          const d = decideShiftable(s, p, awarded);
          const r = stepShiftable(s, { start: d.start }, p);
          assert.ok(r.usedWh === 0 || r.usedWh === p.energyPerIntervalWh);
          const range = shiftableEnergyRange(s, p);
          assert.ok(r.usedWh >= range.minWh && r.usedWh <= range.maxWh);
          used.push(r.usedWh);
          s = r.state;
        }
        assert.notEqual(s.startedAt, null);
        const start = s.startedAt ?? 0;
        assert.ok(start >= earliest && start <= earliest + width);
        const on = used.map((u, i) => (u > 0 ? i + earliest - 3 : null)).filter((x) => x !== null);
        assert.deepEqual(on, Array.from({ length: p.runIntervals }, (_, j) => start + j));
      },
    ),
    { numRuns: 500 },
  );
});

test('shiftableOrders: the price rises to P_cap as the latest start approaches; running bids at P_cap', () => {
  fc.assert(
    fc.property(shiftableParamsArb().chain((p) => fc.tuple(fc.constant(p), shiftableStateArb(p))), ([p, s]) => {
      const phase = shiftablePhase(s, p);
      const orders = shiftableOrders(s, p);
      if (phase === 'before' || phase === 'done') return assert.deepEqual(orders, []);
      assert.equal(orders.length, 1);
      const o = orders[0];
      assert.ok(o !== undefined && o.side === 'buy' && o.energyWh === p.energyPerIntervalWh);
      if (phase === 'running' || s.now === s.latest) return assert.equal(o.priceMcPerKWh, p.priceCapMcPerKWh);
      const later = { ...s, now: s.now + 1 };
      assert.ok(shiftablePriceMcPerKWh(later, p) >= o.priceMcPerKWh);
      if (s.now === s.earliest) assert.equal(o.priceMcPerKWh, p.priceLowMcPerKWh);
    }),
    { numRuns: 500 },
  );
});

test('by hand: phases, prices, the decision and the step', () => {
  const p = createShiftableParams(); // 300 Wh × 4 intervals
  assert.equal(shiftablePhase(window(38), p), 'before');
  assert.equal(shiftablePhase(window(44), p), 'waiting');
  assert.equal(shiftablePhase(window(46, 44), p), 'running');
  assert.equal(shiftablePhase(window(48, 44), p), 'done');
  assert.deepEqual(shiftableOrders(window(46, 44), p), [{ side: 'buy', energyWh: 300, priceMcPerKWh: 30_000 }]);
  assert.deepEqual(shiftableOrders(window(48, 44), p), []);
  assert.deepEqual(decideShiftable(window(44), p, 300), { start: true, reason: 'AWARDED' });
  assert.deepEqual(decideShiftable(window(44), p, 12), { start: true, reason: 'AWARDED' });
  assert.deepEqual(decideShiftable(window(44), p, 0), { start: false, reason: 'NOT_AWARDED' });
  assert.deepEqual(decideShiftable(window(48), p, 0), { start: true, reason: 'LATEST_START' });
  assert.deepEqual(decideShiftable(window(38), p, 0), { start: false, reason: 'NOT_YET' });
  assert.deepEqual(decideShiftable(window(45, 44), p, 300), { start: false, reason: 'RUNNING' });
  assert.deepEqual(decideShiftable(window(49, 44), p, 0), { start: false, reason: 'DONE' });
  // one interval at a time
  assert.deepEqual(stepShiftable(window(44), { start: true }, p), { state: window(45, 44), usedWh: 300, startedNow: true });
  assert.deepEqual(stepShiftable(window(44), { start: false }, p), { state: window(45), usedWh: 0, startedNow: false });
  assert.deepEqual(stepShiftable(window(48), { start: false }, p), { state: window(49, 48), usedWh: 300, startedNow: true });
  assert.deepEqual(stepShiftable(window(38), { start: true }, p), { state: window(39), usedWh: 0, startedNow: false });
  assert.deepEqual(stepShiftable(window(47, 44), { start: false }, p), { state: window(48, 44), usedWh: 300, startedNow: false });
  // window of one interval: P_cap at once
  assert.equal(shiftablePriceMcPerKWh({ now: 5, earliest: 5, latest: 5, startedAt: null }, p), 30_000);
  assert.deepEqual(shiftableEnergyRange(window(44), p), { minWh: 0, maxWh: 300 });
  assert.deepEqual(shiftableEnergyRange(window(48), p), { minWh: 300, maxWh: 300 });
  assert.deepEqual(shiftableEnergyRange(window(45, 44), p), { minWh: 300, maxWh: 300 });
  assert.deepEqual(shiftableEnergyRange(window(38), p), { minWh: 0, maxWh: 0 });
});

test('with a price forecast: wait for a cheaper whole run later in the window, never past latest', () => {
  const p = createShiftableParams();
  const dear = [20_000, 20_000, 20_000, 20_000, 8_000, 8_000, 8_000, 8_000, 8_000];
  assert.equal(cheaperStartLater(window(44), p, dear), 48);
  assert.deepEqual(shiftableOrders(window(44), p, dear), []);
  // the cheapest run among several, earliest on ties
  assert.equal(cheaperStartLater(window(44), p, [9, 9, 9, 9, 1, 1, 1, 1, 1]), 48);
  assert.equal(cheaperStartLater(window(44), p, [5, 5, 5, 5, 1, 5, 5, 5, 1]), 45); // 45..48 all cost 16 < 20
  // flat: no cheaper start, bid as usual
  assert.equal(cheaperStartLater(window(44), p, [5, 5, 5, 5, 5, 5, 5, 5]), null);
  assert.deepEqual(shiftableOrders(window(44), p, [5, 5, 5, 5, 5, 5, 5, 5]), [{ side: 'buy', energyWh: 300, priceMcPerKWh: 17_500 }]);
  // too short to price a run starting now: ignored
  assert.equal(cheaperStartLater(window(44), p, [9, 1]), null);
  // at latest the forecast does not matter
  assert.deepEqual(shiftableOrders(window(48), p, [9, 9, 9, 9, 1, 1, 1, 1]), [{ side: 'buy', energyWh: 300, priceMcPerKWh: 30_000 }]);
  code(() => cheaperStartLater(window(44), p, [1, -1]), 'BAD_FORECAST', 'pricesMcPerKWh[1]');
});

test('createShiftableParams and the state: defaults and clear errors', () => {
  assert.deepEqual(createShiftableParams(), DEFAULT_SHIFTABLE_PARAMS);
  code(() => createShiftableParams({ energyPerIntervalWh: 0.5 }), 'BAD_SHIFTABLE_PARAM', 'energyPerIntervalWh');
  code(() => createShiftableParams({ runIntervals: 0 }), 'BAD_SHIFTABLE_PARAM', 'runIntervals');
  code(() => createShiftableParams({ priceExponent: 11 }), 'BAD_SHIFTABLE_PARAM', 'priceExponent');
  code(() => createShiftableParams({ k: 1 } as never), 'BAD_SHIFTABLE_PARAM', 'k');
  const p = createShiftableParams();
  code(() => shiftableOrders({ now: 1.5, earliest: 0, latest: 4, startedAt: null }, p), 'BAD_SHIFTABLE_STATE', 'now');
  code(() => shiftableOrders({ now: 0, earliest: 5, latest: 4, startedAt: null }, p), 'BAD_SHIFTABLE_STATE', 'latest');
  code(() => shiftableOrders({ now: 6, earliest: 0, latest: 4, startedAt: null }, p), 'BAD_SHIFTABLE_STATE', 'now');
  code(() => shiftableOrders({ now: 6, earliest: 0, latest: 4, startedAt: 5 }, p), 'BAD_SHIFTABLE_STATE', 'startedAt');
  code(() => shiftableOrders({ now: 2, earliest: 0, latest: 4, startedAt: 3 }, p), 'BAD_SHIFTABLE_STATE', 'startedAt');
  code(() => stepShiftable(window(44), { start: 'yes' } as never, p), 'BAD_REQUEST');
  code(() => decideShiftable(window(44), p, -1), 'BAD_REQUEST');
});
