/**
 * Property tests of clearAuction against an independent brute force: on thousands of
 * small random auctions (≤ 7 offers, ≤ 3 feeders, small integer energies and prices with
 * many ties), enumerate every integer-Wh allocation that respects the offers, the
 * feeder limits, the auction's energy and its limit price, and check that the clearing
 *   - awards the largest feasible quantity,
 *   - at the least cost (aggregator buy) / the most revenue (aggregator sell) among
 *     allocations of that quantity,
 *   - with the least-extreme marginal price (lowest highest price accepted for buy,
 *     highest lowest price for sell) among allocations of that quantity,
 * and never exceeds the energy, a feeder limit, an offer or the limit price.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clearAuction, type ClearingAuction, type ClearingOffer } from '../../core/auction/clearAuction.js';

interface Instance {
  auction: ClearingAuction;
  offers: ClearingOffer[];
}

const FEEDERS = ['F0', 'F1', 'F2'];

/** Small auctions with unique addresses; prices from a small range so ties are common. */
const instanceArb = (uniqueAddresses: boolean): fc.Arbitrary<Instance> =>
  fc
    .record({
      side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
      pricing: fc.constantFrom<'pay-as-bid' | 'uniform'>('pay-as-bid', 'uniform'),
      energyWh: fc.integer({ min: 0, max: 14 }),
      limit: fc.integer({ min: 0, max: 6 }),
      limits: fc.array(fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }), { minLength: 3, maxLength: 3 }),
      offers: fc.array(
        fc.record({
          feeder: fc.integer({ min: 0, max: 2 }),
          energyWh: fc.integer({ min: 0, max: 4 }),
          price: fc.integer({ min: 0, max: 6 }),
          inclusion: fc.integer({ min: 0, max: 4 }),
          reqId: fc.constantFrom('a', 'b', 'c'),
          who: fc.integer({ min: 0, max: 3 }),
        }),
        { maxLength: 7 },
      ),
    })
    .map((g) => ({
      auction: {
        auctionId: 'p',
        side: g.side,
        pricing: g.pricing,
        energyWh: g.energyWh,
        limitPriceMcPerKWh: g.limit,
        feederLimits: g.limits.flatMap((cap, f) =>
          cap === undefined ? [] : [{ feeder: FEEDERS[f]!, maxExportWh: g.side === 'buy' ? cap : 99, maxImportWh: g.side === 'sell' ? cap : 99 }]),
      },
      offers: g.offers.map((o, i) => ({
        address: uniqueAddresses ? `addr${i}` : `addr${o.who}`,
        feeder: FEEDERS[o.feeder]!,
        energyWh: o.energyWh,
        priceMcPerKWh: o.price,
        inclusion: o.inclusion,
        reqId: `${o.reqId}${i}`,
      })),
    }));

interface Optimum {
  quantity: number;
  /** buy: least Σ Wh×price; sell: most */
  value: number;
  /** buy: least highest price used; sell: most lowest price used; null when quantity is 0 */
  marginal: number | null;
}

/** Exhaustive search over integer allocations; written without any ordering of offers. */
function bruteForce({ auction: a, offers }: Instance): Optimum {
  const buy = a.side === 'buy';
  const capOf = (feeder: string): number => {
    const l = a.feederLimits.find((x) => x.feeder === feeder);
    return l === undefined ? Infinity : buy ? l.maxExportWh : l.maxImportWh;
  };
  const eligible = offers.filter((o) => (buy ? o.priceMcPerKWh <= a.limitPriceMcPerKWh : o.priceMcPerKWh >= a.limitPriceMcPerKWh));
  const use = new Map<string, number>();
  const x = new Array<number>(eligible.length).fill(0);
  let best: Optimum = { quantity: -1, value: 0, marginal: null };
  const better = (v: number, w: number) => (buy ? v < w : v > w);
  const visit = (i: number, total: number): void => {
    if (i === eligible.length) {
      let value = 0;
      let marginal: number | null = null;
      eligible.forEach((o, k) => {
        if (x[k]! === 0) return;
        value += x[k]! * o.priceMcPerKWh;
        if (marginal === null || better(marginal, o.priceMcPerKWh)) marginal = o.priceMcPerKWh;
      });
      if (total > best.quantity) best = { quantity: total, value, marginal };
      else if (total === best.quantity) {
        if (better(value, best.value)) best = { ...best, value };
        if (marginal !== null && best.marginal !== null && better(marginal, best.marginal)) best = { ...best, marginal };
      }
      return;
    }
    const o = eligible[i]!;
    const used = use.get(o.feeder) ?? 0;
    for (let v = 0; v <= o.energyWh && total + v <= a.energyWh && used + v <= capOf(o.feeder); v++) {
      x[i] = v;
      use.set(o.feeder, used + v);
      visit(i + 1, total + v);
    }
    x[i] = 0;
    use.set(o.feeder, used);
  };
  visit(0, 0);
  return best;
}

test('clearing is optimal: maximal quantity, then least cost (buy) / most revenue (sell), then least-extreme marginal price', () => {
  fc.assert(
    fc.property(instanceArb(true), (inst) => {
      const r = clearAuction(inst.auction, inst.offers);
      const opt = bruteForce(inst);
      assert.equal(r.awardedWh, opt.quantity, 'quantity');
      // value at the offers' own prices, whatever the pricing rule
      const priceOf = new Map(inst.offers.map((o) => [o.reqId, o.priceMcPerKWh]));
      const value = r.awards.reduce((s, aw) => s + aw.energyWh * priceOf.get(aw.reqId)!, 0);
      assert.equal(value, opt.value, inst.auction.side === 'buy' ? 'least cost' : 'most revenue');
      assert.equal(r.clearingPriceMcPerKWh, opt.marginal, 'marginal price');
    }),
    { numRuns: 3000 },
  );
});

test('clearing never exceeds the energy, a feeder limit, an offer or the limit price; each offer is awarded or excluded once', () => {
  fc.assert(
    fc.property(instanceArb(false), (inst) => {
      const { auction: a, offers } = inst;
      const r = clearAuction(a, offers);
      const buy = a.side === 'buy';
      const sum = r.awards.reduce((s, aw) => s + aw.energyWh, 0);
      assert.equal(sum, r.awardedWh);
      assert.ok(r.awardedWh <= a.energyWh);
      for (const fl of a.feederLimits) {
        const onFeeder = r.awards.filter((aw) => aw.feeder === fl.feeder).reduce((s, aw) => s + aw.energyWh, 0);
        assert.ok(onFeeder <= (buy ? fl.maxExportWh : fl.maxImportWh), `feeder ${fl.feeder}`);
      }
      const byReq = new Map(offers.map((o) => [o.reqId, o]));
      const seen = new Set<string>();
      for (const aw of r.awards) {
        const o = byReq.get(aw.reqId)!;
        assert.ok(aw.energyWh > 0 && aw.energyWh <= o.energyWh, 'award ≤ offered');
        assert.ok(buy ? o.priceMcPerKWh <= a.limitPriceMcPerKWh : o.priceMcPerKWh >= a.limitPriceMcPerKWh, 'limit price');
        assert.equal(aw.priceMcPerKWh, a.pricing === 'uniform' ? r.clearingPriceMcPerKWh : o.priceMcPerKWh);
        if (a.pricing === 'uniform') assert.ok(buy ? aw.priceMcPerKWh >= o.priceMcPerKWh : aw.priceMcPerKWh <= o.priceMcPerKWh, 'uniform pays at least the bid');
        seen.add(aw.reqId);
      }
      for (const e of r.excluded) {
        assert.ok(!seen.has(e.reqId), 'awarded and excluded');
        seen.add(e.reqId);
      }
      assert.equal(seen.size, offers.length, 'every offer accounted for once');
      // at most one award per address, and it is that address's first offer in chain order
      const first = new Map<string, ClearingOffer>();
      for (const o of [...offers].sort((x, y) => x.inclusion - y.inclusion || (x.reqId < y.reqId ? -1 : 1))) if (!first.has(o.address)) first.set(o.address, o);
      for (const aw of r.awards) assert.equal(first.get(aw.address)!.reqId, aw.reqId, 'first offer of its address');
      for (const e of r.excluded) assert.equal(e.reason === 'DUPLICATE_ADDRESS', first.get(e.address)!.reqId !== e.reqId);
    }),
    { numRuns: 3000 },
  );
});

test('the result depends only on the set of offers, not on their order', () => {
  fc.assert(
    fc.property(instanceArb(false), fc.func(fc.integer()), (inst, key) => {
      const shuffled = inst.offers.map((o, i) => ({ o, k: key(i) })).sort((x, y) => x.k - y.k).map((x) => x.o);
      assert.deepEqual(clearAuction(inst.auction, shuffled), clearAuction(inst.auction, inst.offers));
    }),
    { numRuns: 1000 },
  );
});

test('pay-as-bid and uniform award the same quantities to the same offers', () => {
  fc.assert(
    fc.property(instanceArb(true), (inst) => {
      const p = clearAuction({ ...inst.auction, pricing: 'pay-as-bid' }, inst.offers);
      const u = clearAuction({ ...inst.auction, pricing: 'uniform' }, inst.offers);
      assert.deepEqual(u.awards.map((a) => [a.reqId, a.energyWh]), p.awards.map((a) => [a.reqId, a.energyWh]));
      assert.equal(u.clearingPriceMcPerKWh, p.clearingPriceMcPerKWh);
      assert.deepEqual(u.excluded, p.excluded);
    }),
    { numRuns: 1000 },
  );
});
