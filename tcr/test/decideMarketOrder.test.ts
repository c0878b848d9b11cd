import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bidPriceMcPerKWh, createMarketOrderParams, createTcrParams, decideMarketOrder, DEFAULT_MARKET_ORDER_PARAMS, degradationCostExactMcPerKWh,
  fillBatteryWh, projectSoc, stepBattery, TcrError, type MarketOrderInput,
} from '../index.js';
import { forecastArb, intervalArb, socIn, tcrParamsArb } from './arbitraries.js';

const P = createTcrParams(); // 10 kWh, 10–90 %, 5 kW, η 0.95, C_d 20,000 mc/kWh
const M = DEFAULT_MARKET_ORDER_PARAMS;
const input = (soc: number, pvWh: number, loadWh: number, o: Partial<MarketOrderInput> = {}): MarketOrderInput => ({
  state: { soc }, params: P, hasBattery: true, intervalS: 900, forecast: { pvWh, loadWh }, awardWh: 0, market: M, ...o,
});

test('[P2P-PLAIN] a home without a battery sells its surplus at the floor price and buys its deficit at the buy price', () => {
  assert.deepEqual(decideMarketOrder(input(0.5, 800.7, 300, { hasBattery: false })).order, { side: 'sell', energyWh: 500, priceMcPerKWh: 4_000 });
  assert.deepEqual(decideMarketOrder(input(0.5, 0, 500.9, { hasBattery: false })).order, { side: 'buy', energyWh: 500, priceMcPerKWh: 25_000 });
  assert.equal(decideMarketOrder(input(0.5, 0, 0, { hasBattery: false })).reason, 'BALANCED');
  assert.equal(decideMarketOrder(input(0.5, 0, 9.9, { hasBattery: false })).reason, 'TOO_SMALL'); // under minOrderWh 10
  const own = createMarketOrderParams({ floorPriceMcPerKWh: 6_000, buyPriceMcPerKWh: 30_000 });
  assert.deepEqual(decideMarketOrder(input(0.5, 0, 200, { hasBattery: false, market: own })).order, { side: 'buy', energyWh: 200, priceMcPerKWh: 30_000 });
});

test('[P2P-SELL] a battery home with a PV surplus sells the surplus and half its offer curve at the curve price', () => {
  // S = 800; s = 0.5: Q_off = 0.5 × 1250 = 625 Wh; P_off = 20,000 + ⌊1,000 + 20,000 × 0.5²⌋ = 26,000
  const d = decideMarketOrder(input(0.5, 1000, 200));
  assert.deepEqual(d.order, { side: 'sell', energyWh: 1112, priceMcPerKWh: 26_000 }); // ⌊800 + 312.5⌋
  assert.deepEqual(d.trace.batteryRequest, { chargeWh: 0, dischargeWh: 312 });
});

test('[P2P-SELL] a battery home at a high SOC covers its deficit first and sells from what is left', () => {
  // D = 400 from SOC 0.9 → 0.9 − 400/9500 = 0.857895, s = 0.947368; Q_off = 0.947368 × (1250 − 400) = 805.26
  // P_off = 20,000 + ⌊1,000 + 20,000 × 0.052632²⌋ = 21,055; order ⌊0.5 × 805.26⌋ = 402
  const d = decideMarketOrder(input(0.9, 0, 400));
  assert.deepEqual(d.order, { side: 'sell', energyWh: 402, priceMcPerKWh: 21_055 });
  assert.deepEqual(d.trace.batteryRequest, { chargeWh: 0, dischargeWh: 802 }); // the home's 400 + the 402 sold
  // a deficit beyond what the battery can deliver in the interval (1,250 Wh): nothing to sell
  assert.equal(decideMarketOrder(input(0.9, 0, 6000)).reason, 'HOME_NEEDS_IT');
});

test('[P2P-BUY] a battery home at a low SOC buys its deficit and half its bid curve at the curve price', () => {
  // s = 0.25: Q_bid = 0.75 × 1250 = 937.5; P_bid = ⌊5,000 + 20,000 × 0.75⌋ = 20,000; order ⌊400 + 468.75⌋
  const d = decideMarketOrder(input(0.3, 0, 400));
  assert.deepEqual(d.order, { side: 'buy', energyWh: 868, priceMcPerKWh: 20_000 });
  assert.deepEqual(d.trace.batteryRequest, { chargeWh: 468, dischargeWh: 0 }); // the deficit is imported, the rest charges
  // all of the curve with batteryShare 1
  assert.equal(decideMarketOrder(input(0.3, 0, 400, { market: createMarketOrderParams({ batteryShare: 1 }) })).order?.energyWh, 1337);
});

test('[P2P-SIDE] awards come first: a discharge award makes it sell on top, a charge award buy on top', () => {
  // award −300 and D 400 from SOC 0.3: own 700 → SOC 0.226316, s = 0.157895; Q_off = 0.157895 × 550 = 86.84 → 43 Wh
  const sell = decideMarketOrder(input(0.3, 0, 400, { awardWh: -300 }));
  assert.deepEqual(sell.order, { side: 'sell', energyWh: 43, priceMcPerKWh: 35_182 });
  assert.deepEqual(sell.trace.batteryRequest, { chargeWh: 0, dischargeWh: 743 });
  // award +200 and D 400 from SOC 0.5: own 200 → SOC 0.519; Q_bid = 0.47625 × 1050 = 500.06 → ⌊400 + 250.03⌋
  const buy = decideMarketOrder(input(0.5, 0, 400, { awardWh: 200 }));
  assert.deepEqual(buy.order, { side: 'buy', energyWh: 650, priceMcPerKWh: bidPriceMcPerKWh(0.519, P.battery, P.curves) });
  assert.deepEqual(buy.trace.batteryRequest, { chargeWh: 450, dischargeWh: 0 });
  // a charge award the full battery cannot take: no order
  assert.equal(decideMarketOrder(input(0.9, 0, 0, { awardWh: 100 })).reason, 'BATTERY_FULL');
  // an empty battery without a surplus has nothing to sell when an award already discharges it
  assert.equal(decideMarketOrder(input(0.1, 0, 0, { awardWh: -1 })).reason, 'HOME_NEEDS_IT');
});

test('createMarketOrderParams: defaults, and BAD_MARKET_PARAM for unknown keys and bad values', () => {
  assert.deepEqual(createMarketOrderParams(), DEFAULT_MARKET_ORDER_PARAMS);
  for (const bad of [{ nope: 1 }, { floorPriceMcPerKWh: 1.5 }, { buyPriceMcPerKWh: -1 }, { sellAboveSoc: 2 }, { batteryShare: -0.1 }, { minOrderWh: 0 }, { minOrderWh: Number.NaN }]) {
    assert.throws(() => createMarketOrderParams(bad as never), (e: unknown) => e instanceof TcrError && e.code === 'BAD_MARKET_PARAM', JSON.stringify(bad));
  }
  assert.throws(() => decideMarketOrder(input(0.5, -1, 0)), /BAD_FORECAST/);
  assert.throws(() => decideMarketOrder(input(0.5, 0, 0, { intervalS: 0 })), /BAD_INTERVAL/);
});

test('[P2P-FILL] a fill becomes the battery energy that makes the net flow equal to it', () => {
  const f = { pvWh: 300, loadWh: 100 }; // surplus 200
  assert.equal(fillBatteryWh('sell', 200, f, 0), 0); // the surplus is the sale: battery idle
  assert.equal(fillBatteryWh('sell', 500, f, 0), -300); // 300 more from the battery
  assert.equal(fillBatteryWh('sell', 50, f, 0), 150); // the rest of the surplus is stored
  assert.equal(fillBatteryWh('sell', 50, f, -100), 0); // with a discharge award the battery never charges
  assert.equal(fillBatteryWh('buy', 400, { pvWh: 0, loadWh: 300 }, 0), 100); // deficit imported, 100 charged
  assert.equal(fillBatteryWh('buy', 100, { pvWh: 0, loadWh: 300 }, 0), -200); // the battery covers the rest
  assert.equal(fillBatteryWh('buy', 100, { pvWh: 0, loadWh: 300 }, 50), 0); // a charge award: never a discharge
});

test('projectSoc follows set points, else self-consumption', () => {
  const b = P.battery;
  const s = projectSoc({ soc: 0.5 }, b, [
    { intervalS: 900, forecast: { pvWh: 0, loadWh: 950 }, setpointWh: null }, // covers 950 Wh: −0.1
    { intervalS: 900, forecast: { pvWh: 0, loadWh: 950 }, setpointWh: 0 }, // idle
    { intervalS: 900, forecast: { pvWh: 0, loadWh: 0 }, setpointWh: 1000 / 0.95 }, // +0.1
  ]);
  assert.ok(Math.abs(s.soc - 0.5) < 1e-12, `${s.soc}`);
});

// ── properties ──────────────────────────────────────────────────────────────

const d = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const marketArb = fc.record({
  floorPriceMcPerKWh: fc.integer({ min: 0, max: 100_000 }),
  buyPriceMcPerKWh: fc.integer({ min: 0, max: 100_000 }),
  sellAboveSoc: d(0, 1),
  batteryShare: fc.oneof(fc.constant(1), fc.constant(0.5), d(0, 1)),
  minOrderWh: fc.integer({ min: 1, max: 50 }),
}).map((m) => createMarketOrderParams(m));
const scenario = tcrParamsArb.chain((p) =>
  fc.record({
    p: fc.constant(p),
    soc: socIn(p),
    dt: intervalArb,
    f: forecastArb,
    award: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: d(-3_000, 3_000), weight: 2 }),
    m: marketArb,
    hasBattery: fc.boolean(),
  }),
);

test('decideMarketOrder (property): integers, never below the minimum, never over-commits the battery, sells battery energy at ≥ C_d', () => {
  fc.assert(
    fc.property(scenario, ({ p, soc, dt, f, award, m, hasBattery }) => {
      const r = decideMarketOrder({ state: { soc }, params: p, hasBattery, intervalS: dt, forecast: f, awardWh: award, market: m });
      if (r.order === null) {
        assert.notEqual(r.reason, 'BATTERY_LIMIT', 'a curve quantity is always within the battery ([P2P-EXACT])');
        return;
      }
      const o = r.order;
      assert.ok(Number.isInteger(o.energyWh) && o.energyWh >= m.minOrderWh && o.energyWh >= 0, `energy ${o.energyWh}`);
      assert.ok(Number.isInteger(o.priceMcPerKWh) && o.priceMcPerKWh >= 0 && o.priceMcPerKWh <= 100_000_000, `price ${o.priceMcPerKWh}`);
      const S = Math.max(0, f.pvWh - f.loadWh);
      const D = Math.max(0, f.loadWh - f.pvWh);
      if (!hasBattery) {
        assert.ok(o.side === 'sell' ? o.energyWh <= S && o.priceMcPerKWh === m.floorPriceMcPerKWh : o.energyWh <= D && o.priceMcPerKWh === m.buyPriceMcPerKWh);
        return;
      }
      // the battery request recomputed from the order alone: awards and the home's own use first
      const Ca = Math.max(0, award), Da = Math.max(0, -award);
      const req = o.side === 'sell'
        ? { chargeWh: 0, dischargeWh: Math.max(0, D + Da + o.energyWh - S) }
        : { chargeWh: Math.max(0, S + Ca + o.energyWh - D), dischargeWh: 0 };
      if (o.side === 'sell') assert.equal(Ca, 0, 'never sells against a charge award');
      else assert.equal(Da, 0, 'never buys against a discharge award');
      const done = stepBattery({ soc }, req, p.battery, dt);
      assert.equal(done.limitedBy, 'none', `request ${JSON.stringify(req)} cut (${done.limitedBy})`);
      assert.deepEqual(r.trace.batteryRequest, req);
      if (o.side === 'sell') assert.ok(o.priceMcPerKWh >= degradationCostExactMcPerKWh(p.battery), `sell at ${o.priceMcPerKWh} < C_d`);
      // [P2P-FILL] a whole fill sets the battery to exactly that request (awards included)
      if (o.side === 'sell' ? o.energyWh >= S : o.energyWh >= D) {
        const total = award + fillBatteryWh(o.side, o.energyWh, f, award);
        assert.ok(Math.abs(total - (req.chargeWh - req.dischargeWh)) < 1e-6, `set point ${total} vs request ${JSON.stringify(req)}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test('decideMarketOrder (property): more battery share never orders less', () => {
  fc.assert(
    fc.property(scenario, d(0, 1), ({ p, soc, dt, f, award, m }, lo) => {
      const at = (batteryShare: number) => decideMarketOrder({
        state: { soc }, params: p, hasBattery: true, intervalS: dt, forecast: f, awardWh: award, market: { ...m, batteryShare },
      }).order?.energyWh ?? 0;
      const a = at(lo), b = at(Math.min(1, lo + 0.25));
      assert.ok(b >= a - 2, `share ${lo}: ${a} Wh, more share: ${b} Wh`); // up to 2 Wh of [P2P-EXACT] trimming
    }),
    { numRuns: 500 },
  );
});
