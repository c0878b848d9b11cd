/**
 * Property tests of clearMarket against a brute force written here from the rules alone:
 * on thousands of small random books (≤ 12 orders, 4 feeders, some with a room, many
 * ties), evaluate V(p) = min(S(p), D(p)) at every order price, every midpoint between two
 * and beyond both ends, and check that the clearing
 *   - trades V* = the largest V(p), on the range [lo, hi] of the rule, at floor((lo+hi)/2),
 *   - fills each side to exactly V*, within every feeder's room and every order's energy,
 *   - fills only orders whose price meets the MCP, at the MCP (uniform) or their own price,
 *   - respects priority: no order is left partly filled while a later one on its side got
 *     energy, unless its feeder is full,
 *   - accounts for every order exactly once, with the reason the rules give,
 * and that it depends only on the set of orders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clearMarket, type MarketBook, type MarketOrderIn } from '../../core/market/clearMarket.js';
import { bookArb } from './arbitraries.js';

type Side = 'buy' | 'sell';

interface Reference {
  /** the first order of each address in chain order, energy > 0 */
  counted: MarketOrderIn[];
  /** the first order of each address */
  first: Set<string>;
  /** orderIds in chain order */
  chain: string[];
  room(feeder: string, side: Side): number;
  V(p: number): number;
  points: number[];
  vStar: number;
  lo: number | null;
  hi: number | null;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function reference(b: MarketBook): Reference {
  const sorted = [...b.orders].sort((x, y) => x.inclusion - y.inclusion || cmp(x.orderId, y.orderId) || cmp(x.address, y.address));
  const firstOf = new Map<string, MarketOrderIn>();
  for (const o of sorted) if (!firstOf.has(o.address)) firstOf.set(o.address, o);
  const counted = [...firstOf.values()].filter((o) => o.energyWh > 0);
  const room = (feeder: string, side: Side): number => {
    const r = b.feederRoom.find((x) => x.feeder === feeder);
    return r === undefined ? Infinity : side === 'sell' ? r.exportWh : r.importWh;
  };
  const feeders = [...new Set(counted.map((o) => o.feeder))];
  const capped = (side: Side, meets: (price: number) => boolean) =>
    feeders.reduce((sum, f) => sum + Math.min(room(f, side), counted.filter((o) => o.feeder === f && o.side === side && meets(o.priceMcPerKWh)).reduce((s, o) => s + o.energyWh, 0)), 0);
  const S = (p: number) => capped('sell', (ask) => ask <= p);
  const D = (p: number) => capped('buy', (bid) => bid >= p);
  const V = (p: number) => Math.min(S(p), D(p));
  const prices = [...new Set(counted.map((o) => o.priceMcPerKWh))].sort((x, y) => x - y);
  const points = prices.length === 0 ? [0] : [prices[0]! - 1, prices[prices.length - 1]! + 1];
  prices.forEach((p, k) => {
    points.push(p);
    if (k > 0) points.push((prices[k - 1]! + p) / 2);
  });
  const vStar = Math.max(...points.map(V));
  const asks = counted.filter((o) => o.side === 'sell' && S(o.priceMcPerKWh) >= vStar).map((o) => o.priceMcPerKWh);
  const bids = counted.filter((o) => o.side === 'buy' && D(o.priceMcPerKWh) >= vStar).map((o) => o.priceMcPerKWh);
  return {
    counted,
    first: new Set([...firstOf.values()].map((o) => o.orderId)),
    chain: sorted.map((o) => o.orderId),
    room,
    V,
    points,
    vStar,
    lo: vStar > 0 ? Math.min(...asks) : null,
    hi: vStar > 0 ? Math.max(...bids) : null,
  };
}

test('volume, price range and MCP are those of the rule, from V(p) evaluated everywhere it can change', () => {
  fc.assert(
    fc.property(bookArb(true), (b) => {
      const r = clearMarket(b);
      const ref = reference(b);
      assert.equal(r.epoch, b.epoch);
      assert.equal(r.volumeWh, ref.vStar, 'V*');
      if (ref.vStar === 0) {
        assert.equal(r.clearingPriceMcPerKWh, null);
        assert.equal(r.priceRange, null);
        assert.deepEqual(r.fills, []);
        return;
      }
      const lo = ref.lo!;
      const hi = ref.hi!;
      assert.deepEqual(r.priceRange, { lowMcPerKWh: lo, highMcPerKWh: hi });
      assert.equal(r.clearingPriceMcPerKWh, Math.floor((lo + hi) / 2));
      // [lo, hi] is exactly where V reaches V*
      for (const p of ref.points) assert.equal(ref.V(p) === ref.vStar, p >= lo && p <= hi, `V(${p}) = ${ref.V(p)}, V* = ${ref.vStar}, range [${lo}, ${hi}]`);
      assert.equal(ref.V(r.clearingPriceMcPerKWh!), ref.vStar);
    }),
    { numRuns: 2000 },
  );
});

test('fills: each side to V*, within rooms and energies, priced out orders excluded, priority respected, every order once', () => {
  fc.assert(
    fc.property(bookArb(true), (b) => {
      const r = clearMarket(b);
      const ref = reference(b);
      const mcp = r.clearingPriceMcPerKWh;
      const byId = new Map(b.orders.map((o) => [o.orderId, o]));
      const got = new Map<string, number>();
      for (const f of r.fills) {
        const o = byId.get(f.orderId)!;
        assert.ok(!got.has(f.orderId), 'one fill per order');
        got.set(f.orderId, f.energyWh);
        assert.deepEqual([f.address, f.feeder, f.side], [o.address, o.feeder, o.side]);
        assert.ok(f.energyWh > 0 && f.energyWh <= o.energyWh, 'fill within the order');
        assert.ok(ref.first.has(o.orderId), 'first order of its address');
        assert.ok(mcp !== null && (o.side === 'sell' ? o.priceMcPerKWh <= mcp : o.priceMcPerKWh >= mcp), 'price meets the MCP');
        assert.equal(f.priceMcPerKWh, b.pricing === 'uniform' ? mcp : o.priceMcPerKWh);
      }
      // output order: sells then buys
      const sides = r.fills.map((f) => f.side);
      assert.deepEqual(sides, [...sides].sort((x, y) => (x === y ? 0 : x === 'sell' ? -1 : 1)));
      const filledOn = (feeder: string, side: Side) => r.fills.filter((f) => f.feeder === feeder && f.side === side).reduce((s, f) => s + f.energyWh, 0);
      for (const side of ['sell', 'buy'] as const) {
        assert.equal(r.fills.filter((f) => f.side === side).reduce((s, f) => s + f.energyWh, 0), r.volumeWh, `${side}s sum to V*`);
        for (const f of new Set(b.orders.map((o) => o.feeder))) assert.ok(filledOn(f, side) <= ref.room(f, side), `room of ${f} (${side})`);
      }
      // exclusions: every order once, in chain order, for the rule's reason
      const reasons = new Map(r.excluded.map((e) => [e.orderId, e.reason]));
      assert.equal(reasons.size, r.excluded.length);
      assert.equal(reasons.size + got.size, b.orders.length, 'every order filled or excluded');
      assert.deepEqual(r.excluded.map((e) => e.orderId), ref.chain.filter((id) => reasons.has(id)), 'excluded in chain order');
      for (const e of r.excluded) {
        const o = byId.get(e.orderId)!;
        assert.equal(e.address, o.address);
        const feederFull = filledOn(o.feeder, o.side) === ref.room(o.feeder, o.side);
        if (!ref.first.has(o.orderId)) assert.equal(e.reason, 'DUPLICATE_ADDRESS');
        else if (o.energyWh === 0) assert.equal(e.reason, 'ZERO_ENERGY');
        else if (mcp === null) assert.equal(e.reason, ref.room(o.feeder, o.side) === 0 ? 'FEEDER_LIMIT' : 'PRICE_NOT_MET');
        else if (o.side === 'sell' ? o.priceMcPerKWh > mcp : o.priceMcPerKWh < mcp) assert.equal(e.reason, 'PRICE_NOT_MET');
        else assert.ok(e.reason === 'QUANTITY_FILLED' || (e.reason === 'FEEDER_LIMIT' && feederFull), `${e.reason}: an eligible order left out`);
      }
      // priority: sells by ascending ask, buys by descending bid, ties in chain order
      if (mcp === null) return;
      const rank = new Map(ref.chain.map((id, k) => [id, k]));
      for (const side of ['sell', 'buy'] as const) {
        const eligible: MarketOrderIn[] = ref.counted
          .filter((o) => o.side === side && (side === 'sell' ? o.priceMcPerKWh <= mcp : o.priceMcPerKWh >= mcp))
          .sort((x, y) => (side === 'sell' ? x.priceMcPerKWh - y.priceMcPerKWh : y.priceMcPerKWh - x.priceMcPerKWh) || rank.get(x.orderId)! - rank.get(y.orderId)!);
        assert.deepEqual(r.fills.filter((f) => f.side === side).map((f) => f.orderId), eligible.filter((o) => got.has(o.orderId)).map((o) => o.orderId), `${side} fills in priority order`);
        let before = 0;
        eligible.forEach((a, k) => {
          const ga = got.get(a.orderId) ?? 0;
          if (reasons.get(a.orderId) === 'QUANTITY_FILLED') assert.equal(before, r.volumeWh, 'QUANTITY_FILLED only once V* is reached');
          before += ga;
          if (ga === a.energyWh) return;
          const later = eligible.slice(k + 1).some((o) => (got.get(o.orderId) ?? 0) > 0);
          if (later) assert.equal(filledOn(a.feeder, side), ref.room(a.feeder, side), `${a.orderId} partly filled while a later ${side} got energy: only when its feeder is full`);
        });
      }
    }),
    { numRuns: 2000 },
  );
});

test('the result depends only on the set of orders and rooms, not on their order', () => {
  fc.assert(
    fc.property(bookArb(true), fc.func(fc.integer()), (b, key) => {
      const shuffle = <T>(xs: T[]) => xs.map((x, i) => ({ x, k: key(i) })).sort((p, q) => p.k - q.k).map((p) => p.x);
      assert.deepEqual(clearMarket({ ...b, orders: shuffle(b.orders), feederRoom: shuffle(b.feederRoom) }), clearMarket(b));
    }),
    { numRuns: 1000 },
  );
});

test('uniform and pay-as-bid trade the same energy between the same orders', () => {
  fc.assert(
    fc.property(bookArb(false), (b) => {
      const u = clearMarket({ ...b, pricing: 'uniform' });
      const p = clearMarket({ ...b, pricing: 'pay-as-bid' });
      assert.deepEqual(u.fills.map((f) => [f.orderId, f.energyWh]), p.fills.map((f) => [f.orderId, f.energyWh]));
      assert.deepEqual([u.volumeWh, u.clearingPriceMcPerKWh, u.priceRange, u.excluded], [p.volumeWh, p.clearingPriceMcPerKWh, p.priceRange, p.excluded]);
    }),
    { numRuns: 1000 },
  );
});
