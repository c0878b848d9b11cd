/** fast-check arbitraries shared by the controller tests. */
import fc from 'fast-check';
import { createTcrParams, type TcrParams } from '../index.js';
import type { AuctionOpen } from '../../schemas/types.js';

const d = (min: number, max: number): fc.Arbitrary<number> => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });

/** Any valid controller parameters, from tiny to large batteries. */
export const tcrParamsArb: fc.Arbitrary<TcrParams> = fc
  .record({
    capacityWh: fc.oneof(d(100, 200_000), d(2_000, 30_000)),
    socMin: d(0, 0.5),
    span: d(0.05, 0.5),
    etaCh: d(0.5, 1),
    etaDis: d(0.5, 1),
    maxChargeW: fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: d(100, 50_000), weight: 1 }, { arbitrary: d(1_000, 10_000), weight: 6 }),
    maxDischargeW: fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: d(100, 50_000), weight: 1 }, { arbitrary: d(1_000, 10_000), weight: 6 }),
    batteryCostMillicents: fc.integer({ min: 0, max: 2_000_000_000 }),
    lifetimeThroughputWh: fc.integer({ min: 1_000_000, max: 200_000_000 }),
    a: d(0.2, 4),
    b: d(0.2, 4),
    c: d(0.2, 4),
    dd: d(0.2, 4),
    margin: fc.integer({ min: 0, max: 10_000 }),
    scarcity: fc.integer({ min: 0, max: 50_000 }),
    full: fc.integer({ min: 0, max: 20_000 }),
    extra: fc.integer({ min: 0, max: 40_000 }),
  })
  .map((r) =>
    createTcrParams({
      battery: {
        capacityWh: r.capacityWh,
        socMin: r.socMin,
        socMax: r.socMin + r.span,
        etaCh: r.etaCh,
        etaDis: r.etaDis,
        maxChargeW: r.maxChargeW,
        maxDischargeW: r.maxDischargeW,
        batteryCostMillicents: r.batteryCostMillicents,
        lifetimeThroughputWh: r.lifetimeThroughputWh,
      },
      curves: {
        offerQuantityExponent: r.a,
        bidQuantityExponent: r.b,
        offerPriceExponent: r.c,
        bidPriceExponent: r.dd,
        offerMarginMcPerKWh: r.margin,
        offerScarcityMcPerKWh: r.scarcity,
        bidPriceFullMcPerKWh: r.full,
        bidPriceEmptyMcPerKWh: r.full + r.extra,
      },
    }),
  );

/** A SOC inside the window of `p`. */
export function socIn(p: TcrParams): fc.Arbitrary<number> {
  const { socMin, socMax } = p.battery;
  return fc.oneof(
    { arbitrary: fc.constantFrom(socMin, socMax), weight: 1 },
    { arbitrary: d(socMin, socMax), weight: 2 },
    { arbitrary: fc.noBias(fc.integer({ min: 0, max: 1_000_000 })).map((i) => Math.min(socMax, socMin + ((socMax - socMin) * i) / 1_000_000)), weight: 5 },
  );
}

export const intervalArb = fc.constantFrom(60, 300, 900, 1800, 3600);

export const forecastArb = fc.oneof(
  fc.record({ pvWh: d(0, 5_000), loadWh: d(0, 5_000) }),
  fc.record({ pvWh: d(0, 600), loadWh: d(0, 600) }),
  fc.constant({ pvWh: 0, loadWh: 0 }),
);

export function auction(
  side: 'buy' | 'sell',
  energyWh: number,
  limitMcPerKWh: number,
  intervalS = 900,
): AuctionOpen {
  const start = Date.parse('2026-11-21T10:00:00.000Z');
  return {
    auctionId: 'a-1',
    side,
    energy: { unit: 'Wh', value: energyWh },
    limitPrice: { unit: 'millicents/kWh', value: limitMcPerKWh },
    delivery: { start: new Date(start).toISOString(), end: new Date(start + intervalS * 1000).toISOString() },
    closesAt: new Date(start - 300_000).toISOString(),
    pricing: 'pay-as-bid',
    sealed: false,
  };
}
