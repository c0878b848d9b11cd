import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  commitmentTotals, createBatteryParams, createEvParams, createShiftableParams, createThermalParams, dispatchInterval,
  homeImportRange, roomLeft, shiftablePhase, stepBattery, stepEv, stepShiftable, stepThermal, TcrError,
  type Commitment, type HomeDevices, type IntervalForecast,
} from '../index.js';
import { intervalArb, socIn, tcrParamsArb } from './arbitraries.js';
import { ambientArb, evParamsArb, evStateArb, shiftableParamsArb, shiftableStateArb, tempArb, thermalParamsArb } from './deviceArbitraries.js';

const d = (min: number, max: number): fc.Arbitrary<number> => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const EPS = 1e-6;

const devicesArb: fc.Arbitrary<HomeDevices> = fc.record({
  battery: fc.option(tcrParamsArb.chain((p) => fc.record({ params: fc.constant(p.battery), state: socIn(p).map((soc) => ({ soc })) })), { nil: undefined }),
  ev: fc.option(evParamsArb(true).chain((p) => fc.record({ params: fc.constant(p), state: evStateArb(p) })), { nil: undefined }),
  thermal: fc.option(thermalParamsArb(true).chain((p) => fc.record({ params: fc.constant(p), state: tempArb(p).map((tempC) => ({ tempC })), ambientC: ambientArb })), { nil: undefined }),
  shiftable: fc.option(shiftableParamsArb(true).chain((p) => fc.record({ params: fc.constant(p), state: shiftableStateArb(p) })), { nil: undefined }),
});

const forecastArb: fc.Arbitrary<IntervalForecast> = fc.oneof(
  fc.record({ pvWh: d(0, 5_000), baseLoadWh: d(0, 5_000), share: d(0, 1) }).map((r) => ({ pvWh: r.pvWh, baseLoadWh: r.baseLoadWh, curtailableWh: r.baseLoadWh * r.share })),
  fc.record({ pvWh: d(0, 800), baseLoadWh: d(0, 800) }),
  fc.constant({ pvWh: 0, baseLoadWh: 0 }),
);

const commitmentArb: fc.Arbitrary<Commitment> = fc.record({
  market: fc.constantFrom('auction' as const, 'p2p' as const),
  side: fc.constantFrom('buy' as const, 'sell' as const),
  energyWh: fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 1_500 })),
});

/** Every device can do its part of the dispatch exactly and within its limits, and the home meets its commitments. */
function checkDispatch(h: HomeDevices, f: IntervalForecast, cs: readonly Commitment[], dt: number): void {
  const room = roomLeft(h, f, cs, dt);
  assert.equal(room.overCommittedWh, 0);
  assert.ok(Number.isInteger(room.sellWh) && Number.isInteger(room.buyWh) && room.sellWh >= 0 && room.buyWh >= 0);
  const plan = dispatchInterval(h, f, cs, dt);
  assert.ok(plan.feasible);
  const req = plan.battery;
  assert.ok(req.chargeWh === 0 || req.dischargeWh === 0);
  if (h.battery) {
    const r = stepBattery(h.battery.state, req, h.battery.params, dt);
    assert.equal(r.limitedBy, 'none', `battery ${JSON.stringify(req)} at ${h.battery.state.soc}`);
    assert.equal(r.chargedWh, req.chargeWh);
    assert.equal(r.dischargedWh, req.dischargeWh);
  } else {
    assert.deepEqual(req, { chargeWh: 0, dischargeWh: 0 });
  }
  if (h.ev) {
    const r = stepEv(h.ev.state, { chargeWh: plan.evWh }, h.ev.params, dt);
    assert.equal(r.limitedBy, 'none');
    assert.equal(r.chargedWh, plan.evWh);
    assert.ok(plan.evWh <= (h.ev.params.maxChargeW * dt) / 3600 + 1e-9 && plan.evWh <= h.ev.state.energyNeededWh);
  } else assert.equal(plan.evWh, 0);
  if (h.thermal) {
    const { params: p, state, ambientC } = h.thermal;
    const r = stepThermal(state, { electricWh: plan.thermalWh }, p, dt, ambientC);
    assert.equal(r.limitedBy, 'none');
    assert.ok(plan.thermalWh <= (p.maxElectricW * dt) / 3600 + 1e-9);
    if (plan.thermalWh > 0) assert.ok(r.state.tempC <= p.tMaxC);
    // the band's lower end holds whenever it can be held at all
    const most = stepThermal(state, { electricWh: room.range.thermal.maxWh }, p, dt, ambientC);
    if (most.state.tempC >= p.tMinC) assert.ok(r.state.tempC >= p.tMinC - 1e-9, `${r.state.tempC} < T_min ${p.tMinC}`);
  } else assert.equal(plan.thermalWh, 0);
  if (h.shiftable) {
    const { params: p, state } = h.shiftable;
    const phase = shiftablePhase(state, p);
    const r = stepShiftable(state, { start: plan.shiftableStart }, p);
    assert.equal(r.usedWh, plan.shiftableWh);
    if (plan.shiftableStart) assert.equal(phase, 'waiting');
  } else assert.equal(plan.shiftableWh, 0);
  assert.ok(plan.curtailedWh >= 0 && plan.curtailedWh <= (f.curtailableWh ?? 0) + EPS);
  // the import the set-points add up to, and the commitments it meets
  const i = f.baseLoadWh - f.pvWh - plan.curtailedWh + plan.evWh + plan.thermalWh + plan.shiftableWh + req.chargeWh - req.dischargeWh;
  assert.ok(Math.abs(i - plan.importWh) <= EPS);
  const n = room.totals.netImportWh;
  if (n > 0) assert.ok(plan.importWh >= n - EPS, `bought net ${n}, takes ${plan.importWh}`);
  if (n < 0) assert.ok(plan.importWh <= n + EPS, `sold net ${-n}, exports ${-plan.importWh}`);
  const gap = room.range.shiftable.maxWh > room.range.shiftable.minWh;
  if (!gap && n >= room.range.minWh && n <= room.range.maxWh) assert.ok(Math.abs(plan.importWh - n) <= EPS);
  // the room is the most: one Wh more either way is over-commitment
  assert.ok(roomLeft(h, f, [...cs, { market: 'p2p', side: 'sell', energyWh: room.sellWh + 1 }], dt).overCommittedWh > 0);
  assert.ok(roomLeft(h, f, [...cs, { market: 'p2p', side: 'buy', energyWh: room.buyWh + 1 }], dt).overCommittedWh > 0);
}

test('no over-commitment: commitments cut to the room over random homes, states and sequences never need a battery step outside (1)–(5) nor any device beyond its limits', () => {
  fc.assert(
    fc.property(devicesArb, forecastArb, intervalArb, fc.array(commitmentArb, { maxLength: 12 }), (h, f, dt, wanted) => {
      const accepted: Commitment[] = [];
      checkDispatch(h, f, accepted, dt);
      for (const c of wanted) {
        const room = roomLeft(h, f, accepted, dt);
        accepted.push({ ...c, energyWh: Math.min(c.energyWh, c.side === 'sell' ? room.sellWh : room.buyWh) });
        checkDispatch(h, f, accepted, dt);
      }
    }),
    { numRuns: 400 },
  );
});

test('commitments beyond the room are reported and dispatched best effort', () => {
  fc.assert(
    fc.property(devicesArb, forecastArb, intervalArb, fc.array(commitmentArb, { minLength: 1, maxLength: 6 }), (h, f, dt, cs) => {
      const room = roomLeft(h, f, cs, dt);
      const plan = dispatchInterval(h, f, cs, dt);
      assert.equal(plan.feasible, room.overCommittedWh === 0);
      if (h.battery) assert.equal(stepBattery(h.battery.state, plan.battery, h.battery.params, dt).limitedBy, 'none');
      assert.ok(plan.importWh >= room.range.minWh - EPS && plan.importWh <= room.range.maxWh + EPS);
    }),
    { numRuns: 200 },
  );
});

test('by hand: a home with PV only, an active user, a battery home', () => {
  const none: Commitment[] = [];
  // PV surplus of 400 Wh and nothing else: it can sell 400, buy nothing
  const pv = roomLeft({}, { pvWh: 600, baseLoadWh: 200 }, none, 900);
  assert.deepEqual([pv.sellWh, pv.buyWh, pv.range.minWh, pv.range.maxWh], [400, 0, -400, -400]);
  // an active user: 800 Wh of load, 300 Wh of it curtailable. It cannot export, so it sells
  // nothing before it has bought; once it bought 800 in the P2P market it may sell up to that.
  const au0 = roomLeft({}, { pvWh: 0, baseLoadWh: 800, curtailableWh: 300 }, none, 900);
  assert.deepEqual([au0.sellWh, au0.buyWh, au0.range.minWh, au0.range.maxWh], [0, 800, 500, 800]);
  const au = roomLeft({}, { pvWh: 0, baseLoadWh: 800, curtailableWh: 300 }, [{ market: 'p2p', side: 'buy', energyWh: 800 }], 900);
  assert.deepEqual([au.sellWh, au.buyWh], [800, 0]);
  // a sale alone, with no buy filled, is over-commitment by its size
  assert.equal(roomLeft({}, { pvWh: 0, baseLoadWh: 800, curtailableWh: 300 }, [{ market: 'p2p', side: 'sell', energyWh: 300 }], 900).overCommittedWh, 300);
  const shed = dispatchInterval({}, { pvWh: 0, baseLoadWh: 800, curtailableWh: 300 }, [
    { market: 'p2p', side: 'buy', energyWh: 800 }, { market: 'p2p', side: 'sell', energyWh: 300 },
  ], 900);
  assert.equal(shed.curtailedWh, 300);
  assert.equal(shed.importWh, 500);
  // a battery home at SOC 0.12 (190 Wh above SOC_min) with a 300 Wh deficit cannot sell
  const b = { battery: { params: createBatteryParams(), state: { soc: 0.12 } } };
  const low = roomLeft(b, { pvWh: 0, baseLoadWh: 300 }, none, 900);
  assert.equal(low.sellWh, 0);
  assert.equal(low.buyWh, 300 + 1_250);
  // a net buyer with a home that cannot take it all is over-committed by the difference
  assert.equal(roomLeft(b, { pvWh: 0, baseLoadWh: 300 }, [{ market: 'auction', side: 'buy', energyWh: 2_000 }], 900).overCommittedWh, 450);
});

test('a waiting appliance whose 0-or-e leaves a gap: a buyer starts it, a seller does not', () => {
  const sh = { params: createShiftableParams({ energyPerIntervalWh: 1_000 }), state: { now: 0, earliest: 0, latest: 4, startedAt: null } };
  const f = { pvWh: 0, baseLoadWh: 100 };
  assert.deepEqual(homeImportRange({ shiftable: sh }, f, 900).shiftable, { minWh: 0, maxWh: 1_000 });
  const buyer = dispatchInterval({ shiftable: sh }, f, [{ market: 'p2p', side: 'buy', energyWh: 600 }], 900);
  assert.deepEqual([buyer.shiftableStart, buyer.importWh], [true, 1_100]);
  const none = dispatchInterval({ shiftable: sh }, f, [], 900);
  assert.deepEqual([none.shiftableStart, none.importWh], [false, 100]);
  // with a PV surplus of 500 and a 200 Wh sale: no start, 500 exported
  const seller = dispatchInterval({ shiftable: sh }, { pvWh: 600, baseLoadWh: 100 }, [{ market: 'p2p', side: 'sell', energyWh: 200 }], 900);
  assert.deepEqual([seller.shiftableStart, seller.importWh], [false, -500]);
});

test('commitmentTotals and bad input', () => {
  assert.deepEqual(commitmentTotals([
    { market: 'auction', side: 'sell', energyWh: 400 }, { market: 'p2p', side: 'buy', energyWh: 1_200 },
    { market: 'p2p', side: 'sell', energyWh: 50 }, { market: 'auction', side: 'buy', energyWh: 7 },
  ]), { auctionSoldWh: 400, auctionBoughtWh: 7, p2pSoldWh: 50, p2pBoughtWh: 1_200, netImportWh: 757 });
  const code = (fn: () => unknown, c: string, field: string): void => {
    assert.throws(fn, (e: unknown) => e instanceof TcrError && e.code === c && e.context.field === field, String(c));
  };
  code(() => commitmentTotals([{ market: 'auction', side: 'sell', energyWh: 1.5 }]), 'BAD_COMMITMENT', 'energyWh');
  code(() => commitmentTotals([{ market: 'spot', side: 'sell', energyWh: 1 } as never]), 'BAD_COMMITMENT', 'market');
  code(() => commitmentTotals([{ market: 'p2p', side: 'give', energyWh: 1 } as never]), 'BAD_COMMITMENT', 'side');
  code(() => commitmentTotals([null as never]), 'BAD_COMMITMENT', '(commitment)');
  code(() => roomLeft({}, { pvWh: -1, baseLoadWh: 0 }, [], 900), 'BAD_FORECAST', 'pvWh');
  code(() => roomLeft({}, { pvWh: 0, baseLoadWh: 10, curtailableWh: 11 }, [], 900), 'BAD_FORECAST', 'curtailableWh');
  code(() => roomLeft({ ev: { params: createEvParams(), state: { energyNeededWh: -5, intervalsLeft: 1, plugged: true } } }, { pvWh: 0, baseLoadWh: 0 }, [], 900), 'BAD_EV_STATE', 'energyNeededWh');
  code(() => roomLeft({ thermal: { params: createThermalParams(), state: { tempC: 20 }, ambientC: NaN } }, { pvWh: 0, baseLoadWh: 0 }, [], 900), 'BAD_THERMAL_STATE', 'ambientC');
  assert.throws(() => roomLeft({ battery: { params: createBatteryParams(), state: { soc: 2 } } }, { pvWh: 0, baseLoadWh: 0 }, [], 900), (e: unknown) => e instanceof TcrError && e.code === 'BAD_STATE');
});
