import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { activeUserOrders, createActiveUserParams, DEFAULT_ACTIVE_USER_PARAMS, roomLeft, TcrError, type Commitment } from '../index.js';
import { activeUserParamsArb } from './deviceArbitraries.js';

test('activeUserOrders: buy the load at P_cap, sell no more than it at VOLL, whole Wh', () => {
  fc.assert(
    fc.property(activeUserParamsArb, fc.double({ min: 0, max: 20_000, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (p, load, share) => {
      const f = { loadWh: load, curtailableWh: load * share };
      const orders = activeUserOrders(f, p);
      const buy = orders.find((o) => o.side === 'buy');
      const sell = orders.find((o) => o.side === 'sell');
      for (const o of orders) assert.ok(Number.isInteger(o.energyWh) && o.energyWh >= p.minOrderWh);
      assert.equal(buy?.energyWh ?? 0, Math.floor(load) >= p.minOrderWh ? Math.floor(load) : 0);
      if (buy) assert.equal(buy.priceMcPerKWh, p.priceCapMcPerKWh);
      if (sell) {
        assert.ok(sell.priceMcPerKWh >= p.valueOfLostLoadMcPerKWh);
        assert.ok(sell.energyWh <= Math.floor(load));
      }
    }),
    { numRuns: 500 },
  );
});

test('activeUserOrders with the room left: never sells what it has not bought, never buys beyond its load', () => {
  fc.assert(
    fc.property(
      activeUserParamsArb, fc.integer({ min: 0, max: 5_000 }), fc.double({ min: 0, max: 1, noNaN: true }),
      fc.array(fc.record({ side: fc.constantFrom('buy' as const, 'sell' as const), energyWh: fc.integer({ min: 0, max: 3_000 }) }), { maxLength: 6 }),
      (p, load, share, fills) => {
        const forecast = { loadWh: load, curtailableWh: Math.floor(load * share) };
        const home = { pvWh: 0, baseLoadWh: forecast.loadWh, curtailableWh: forecast.curtailableWh };
        const done: Commitment[] = [];
        for (const fill of fills) {
          const room = roomLeft({}, home, done, 900);
          const orders = activeUserOrders(forecast, p, room);
          const mine = orders.find((o) => o.side === fill.side);
          // the market fills part of the order on that side
          done.push({ market: 'p2p', side: fill.side, energyWh: Math.min(fill.energyWh, mine?.energyWh ?? 0) });
          assert.equal(roomLeft({}, home, done, 900).overCommittedWh, 0);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('activeUserOrders by hand; clear errors', () => {
  const p = createActiveUserParams();
  assert.deepEqual(p, DEFAULT_ACTIVE_USER_PARAMS);
  assert.deepEqual(activeUserOrders({ loadWh: 0, curtailableWh: 0 }, p), []);
  assert.deepEqual(activeUserOrders({ loadWh: 500.7, curtailableWh: 0.4 }, p), [{ side: 'buy', energyWh: 500, priceMcPerKWh: 30_000 }]);
  const code = (f: () => unknown, c: string, field: string): void => {
    assert.throws(f, (e: unknown) => e instanceof TcrError && e.code === c && (e.context.param === field || e.context.field === field));
  };
  code(() => createActiveUserParams({ valueOfLostLoadMcPerKWh: -1 }), 'BAD_ACTIVE_USER_PARAM', 'valueOfLostLoadMcPerKWh');
  code(() => createActiveUserParams({ priceCapMcPerKWh: 0.5 }), 'BAD_ACTIVE_USER_PARAM', 'priceCapMcPerKWh');
  code(() => createActiveUserParams({ minOrderWh: 0 }), 'BAD_ACTIVE_USER_PARAM', 'minOrderWh');
  code(() => createActiveUserParams({ voll: 1 } as never), 'BAD_ACTIVE_USER_PARAM', 'voll');
  code(() => activeUserOrders({ loadWh: 100, curtailableWh: 101 }, p), 'BAD_FORECAST', 'curtailableWh');
  code(() => activeUserOrders({ loadWh: -1, curtailableWh: 0 }, p), 'BAD_FORECAST', 'loadWh');
  code(() => activeUserOrders({ loadWh: 1, curtailableWh: NaN }, p), 'BAD_FORECAST', 'curtailableWh');
  code(() => activeUserOrders({ loadWh: 1, curtailableWh: 0 }, p, { sellWh: -1, buyWh: 0 }), 'BAD_COMMITMENT', 'sellWh');
});
