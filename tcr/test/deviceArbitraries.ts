/** fast-check arbitraries for the flexible loads and the home of the commitment tests. */
import fc from 'fast-check';
import {
  createActiveUserParams, createEvParams, createShiftableParams, createThermalParams, stepShiftable,
  type ActiveUserParams, type EvParams, type EvState, type ShiftableParams, type ShiftableState, type ThermalParams,
} from '../index.js';

const d = (min: number, max: number): fc.Arbitrary<number> => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });

/** Shared pricing fields; minOrderWh 1 unless `anyMinOrder` (monotonicity is stated before small orders are left out). */
function pricingArb(anyMinOrder: boolean): fc.Arbitrary<{ priceCapMcPerKWh: number; priceLowMcPerKWh: number; priceExponent: number; minOrderWh: number }> {
  return fc.record({ cap: fc.integer({ min: 0, max: 200_000 }), low: d(0, 1), e: d(0.2, 4), min: anyMinOrder ? fc.integer({ min: 1, max: 50 }) : fc.constant(1) })
    .map((r) => ({ priceCapMcPerKWh: r.cap, priceLowMcPerKWh: Math.floor(r.cap * r.low), priceExponent: r.e, minOrderWh: r.min }));
}

export function evParamsArb(anyMinOrder = false): fc.Arbitrary<EvParams> {
  return fc.record({
    capacityWh: d(5_000, 120_000),
    maxChargeW: fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: d(1_000, 22_000), weight: 6 }, { arbitrary: d(10, 50_000), weight: 1 }),
    efficiency: d(0.5, 1),
    pricing: pricingArb(anyMinOrder),
  }).map((r) => createEvParams({ capacityWh: r.capacityWh, maxChargeW: r.maxChargeW, efficiency: r.efficiency, ...r.pricing }));
}

export function evStateArb(p: EvParams): fc.Arbitrary<EvState> {
  const top = p.capacityWh / p.efficiency;
  return fc.record({
    energyNeededWh: fc.oneof(d(0, top), fc.integer({ min: 0, max: Math.floor(top) }), fc.constant(0)),
    intervalsLeft: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 200 })),
    plugged: fc.oneof({ arbitrary: fc.constant(true), weight: 6 }, { arbitrary: fc.constant(false), weight: 1 }),
  });
}

/** Thermal parameters with UA ≤ C per hour, so any interval up to one hour is a valid step. */
export function thermalParamsArb(anyMinOrder = false): fc.Arbitrary<ThermalParams> {
  return fc.record({
    c: fc.oneof(d(100, 50_000), d(150, 400)),
    uaShare: d(0, 1),
    cop: d(0.8, 6),
    maxElectricW: fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: d(300, 12_000), weight: 6 }),
    tMinC: d(-10, 60),
    span: d(0.5, 20),
    pricing: pricingArb(anyMinOrder),
  }).map((r) => createThermalParams({
    heatCapacityWhPerK: r.c, uaWPerK: r.uaShare * r.c, cop: r.cop, maxElectricW: r.maxElectricW,
    tMinC: r.tMinC, tMaxC: r.tMinC + r.span, ...r.pricing,
  }));
}

/** A temperature around the band of `p` (from half a band below to half a band above). */
export function tempArb(p: ThermalParams): fc.Arbitrary<number> {
  const span = p.tMaxC - p.tMinC;
  return fc.oneof(
    d(p.tMinC - span / 2, p.tMaxC + span / 2),
    d(p.tMinC, p.tMinC + span / 20),
    fc.constantFrom(p.tMinC, p.tMaxC),
  );
}

export const ambientArb = d(-20, 40);

export function shiftableParamsArb(anyMinOrder = false): fc.Arbitrary<ShiftableParams> {
  return fc.record({ e: fc.integer({ min: 1, max: 5_000 }), k: fc.integer({ min: 1, max: 12 }), pricing: pricingArb(anyMinOrder) })
    .map((r) => createShiftableParams({ energyPerIntervalWh: r.e, runIntervals: r.k, ...r.pricing }));
}

/** Any reachable state: a window, then some intervals of stepping with random start requests. */
export function shiftableStateArb(p: ShiftableParams): fc.Arbitrary<ShiftableState> {
  return fc.record({
    earliest: fc.integer({ min: 0, max: 10_000 }),
    width: fc.integer({ min: 0, max: 30 }),
    lead: fc.integer({ min: 0, max: 5 }),
    starts: fc.array(fc.boolean(), { maxLength: 50 }),
  }).map((r) => {
    let s: ShiftableState = { now: r.earliest - r.lead, earliest: r.earliest, latest: r.earliest + r.width, startedAt: null };
    for (const start of r.starts) s = stepShiftable(s, { start }, p).state;
    return s;
  });
}

export const activeUserParamsArb: fc.Arbitrary<ActiveUserParams> = fc
  .record({ cap: fc.integer({ min: 0, max: 200_000 }), voll: fc.integer({ min: 0, max: 500_000 }), min: fc.integer({ min: 1, max: 50 }) })
  .map((r) => createActiveUserParams({ priceCapMcPerKWh: r.cap, valueOfLostLoadMcPerKWh: r.voll, minOrderWh: r.min }));
