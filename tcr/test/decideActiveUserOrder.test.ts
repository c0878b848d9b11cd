import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createEvParams, decideActiveUserOrder, deviceWhForFill, evOrders, TcrError, type ActiveUserOrderInput } from '../index.js';

const CAP = 30_000;
const base = (o: Partial<ActiveUserOrderInput> = {}): ActiveUserOrderInput => ({
  forecast: { pvWh: 0, loadWh: 120 },
  deviceOrders: [],
  priceCapMcPerKWh: CAP,
  buyPriceMcPerKWh: 25_000,
  lastClearingMcPerKWh: null,
  minOrderWh: 10,
  ...o,
});

test('[P2P-ACTIVE] no device order: the base deficit at the retail-like price', () => {
  const d = decideActiveUserOrder(base());
  assert.deepEqual(d.order, { side: 'buy', energyWh: 120, priceMcPerKWh: 25_000 });
  assert.equal(d.trace.mode, 'must');
});

test('[P2P-ACTIVE] flexible part at or above the last clearing price: base + must + flex at P_flex', () => {
  const deviceOrders = [{ side: 'buy', energyWh: 300, priceMcPerKWh: CAP }, { side: 'buy', energyWh: 1_500, priceMcPerKWh: 12_000 }] as const;
  const d = decideActiveUserOrder(base({ deviceOrders: [...deviceOrders], lastClearingMcPerKWh: 11_000 }));
  assert.deepEqual(d.order, { side: 'buy', energyWh: 1_920, priceMcPerKWh: 12_000 });
  assert.deepEqual({ ...d.trace }, { baseDeficitWh: 120, mustWh: 300, flexWh: 1_500, flexPriceMcPerKWh: 12_000, lastClearingMcPerKWh: 11_000, mode: 'all' });
  // no price seen yet: the flexible part goes in too (the market finds its price)
  assert.equal(decideActiveUserOrder(base({ deviceOrders: [...deviceOrders] })).order?.energyWh, 1_920);
});

test('[P2P-ACTIVE] flexible part below the last clearing price: base + must at P_cap, the flex waits', () => {
  const deviceOrders = [{ side: 'buy' as const, energyWh: 300, priceMcPerKWh: CAP }, { side: 'buy' as const, energyWh: 1_500, priceMcPerKWh: 12_000 }];
  const d = decideActiveUserOrder(base({ deviceOrders, lastClearingMcPerKWh: 15_000 }));
  assert.deepEqual(d.order, { side: 'buy', energyWh: 420, priceMcPerKWh: CAP });
  assert.equal(d.trace.mode, 'must');
  // no must part: the base deficit alone at the retail-like price
  const e = decideActiveUserOrder(base({ deviceOrders: [deviceOrders[1]!], lastClearingMcPerKWh: 15_000 }));
  assert.deepEqual(e.order, { side: 'buy', energyWh: 120, priceMcPerKWh: 25_000 });
});

test('[P2P-ACTIVE] PV covers the base load, nothing to buy: BALANCED; a few Wh: TOO_SMALL', () => {
  assert.equal(decideActiveUserOrder(base({ forecast: { pvWh: 200, loadWh: 100 } })).reason, 'BALANCED');
  assert.equal(decideActiveUserOrder(base({ forecast: { pvWh: 0, loadWh: 5 } })).reason, 'TOO_SMALL');
  assert.throws(() => decideActiveUserOrder(base({ forecast: { pvWh: -1, loadWh: 5 } })), TcrError);
});

test('[P2P-ACTIVE] with an EV: never more than base + what the charger may draw, never above P_cap; [P2P-ACTIVE-FILL] the device gets f − B within M + F', () => {
  const p = createEvParams();
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 30_000 }), fc.integer({ min: 1, max: 40 }), fc.option(fc.integer({ min: 0, max: 40_000 }), { nil: null }), fc.integer({ min: 0, max: 5_000 }),
    (loadWh, need, n, last, filled) => {
      const deviceOrders = evOrders({ energyNeededWh: need, intervalsLeft: n, plugged: true }, p, 900);
      const d = decideActiveUserOrder(base({ forecast: { pvWh: 0, loadWh }, deviceOrders, lastClearingMcPerKWh: last }));
      const deviceMax = deviceOrders.reduce((s, o) => s + o.energyWh, 0);
      if (!d.order) return;
      assert.ok(d.order.energyWh <= loadWh + deviceMax);
      assert.ok(d.order.priceMcPerKWh <= CAP);
      const must = deviceOrders.filter((o) => o.priceMcPerKWh === CAP).reduce((s, o) => s + o.energyWh, 0);
      assert.ok(d.order.energyWh >= Math.min(loadWh + must, d.order.energyWh), 'base and must always ride');
      const dev = deviceWhForFill(Math.min(filled, d.order.energyWh), d.trace);
      assert.ok(dev >= 0 && dev <= d.trace.mustWh + d.trace.flexWh);
    },
  ));
});
