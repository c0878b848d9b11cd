/**
 * Contract tests of clearAuction with hand-computed answers (DESIGN §8).
 * Units: energy in Wh, prices in millicents/kWh (8.2 cents/kWh = 8200), payments in
 * millicents = floor(Wh × price ÷ 1000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clearAuction, type ClearingAuction, type ClearingOffer, type ClearingResult } from '../../core/auction/clearAuction.js';
import { AuctionError } from '../../core/auction/auctionError.js';
import { paymentMillicents } from '../../../wire/quantities.js';

function offer(address: string, feeder: string, energyWh: number, priceMcPerKWh: number, inclusion: number, reqId = `req-${address}`): ClearingOffer {
  return { address, feeder, energyWh, priceMcPerKWh, inclusion, reqId };
}

function auction(over: Partial<ClearingAuction> = {}): ClearingAuction {
  return { auctionId: 'auc-1', side: 'buy', energyWh: 0, limitPriceMcPerKWh: 0, pricing: 'pay-as-bid', feederLimits: [], ...over };
}

/** [address, energyWh, priceMcPerKWh] per award, in merit order */
const awarded = (r: ClearingResult) => r.awards.map((a) => [a.address, a.energyWh, a.priceMcPerKWh]);
const excludedBy = (r: ClearingResult) => r.excluded.map((e) => [e.address, e.reason]);
const totalPayment = (r: ClearingResult) => r.awards.reduce((s, a) => s + paymentMillicents(a.energyWh, a.priceMcPerKWh), 0);

function assertCode(fn: () => unknown, code: string, includes?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AuctionError, `expected AuctionError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (includes !== undefined) assert.ok(e.message.includes(includes), `${e.message} should include ${includes}`);
    return true;
  });
}

// The paper's procedure: the VPP aggregator bids to buy 25 kWh at up to 10 cents/kWh;
// HEM offers (the DESIGN's shape: 10 kWh at 8.2 cents/kWh, …) are taken in increasing
// price until the quantity is reached.
const paperOffers = [
  offer('hem-a', 'F1', 10_000, 8_200, 1), //  10 kWh at  8.2 c/kWh
  offer('hem-b', 'F1', 8_000, 7_500, 2), //    8 kWh at  7.5 c/kWh
  offer('hem-c', 'F2', 12_000, 9_000, 3), //  12 kWh at  9.0 c/kWh
  offer('hem-d', 'F2', 5_000, 11_000, 4), //   5 kWh at 11.0 c/kWh: above the limit
  offer('hem-e', 'F2', 6_000, 9_500, 5), //    6 kWh at  9.5 c/kWh: not needed
];

test("paper's example: aggregator buy, offers in increasing price until the quantity is reached", () => {
  const r = clearAuction(auction({ energyWh: 25_000, limitPriceMcPerKWh: 10_000 }), paperOffers);
  // ascending price: b 7500 → 8000 Wh (total 8000); a 8200 → 10000 Wh (total 18000);
  // c 9000 → 25000 − 18000 = 7000 of its 12000 Wh (marginal, partly filled); e 9500 → nothing left
  assert.deepEqual(awarded(r), [
    ['hem-b', 8_000, 7_500],
    ['hem-a', 10_000, 8_200],
    ['hem-c', 7_000, 9_000],
  ]);
  assert.equal(r.awardedWh, 25_000);
  assert.equal(r.clearingPriceMcPerKWh, 9_000);
  // excluded in chain order: d (inclusion 4) above the limit, e (5) quantity reached
  assert.deepEqual(excludedBy(r), [
    ['hem-d', 'PRICE_ABOVE_LIMIT'],
    ['hem-e', 'QUANTITY_FILLED'],
  ]);
  // pay-as-bid: 8000×7500/1000 = 60000; 10000×8200/1000 = 82000; 7000×9000/1000 = 63000 → 205000 mc (€2.05)
  assert.deepEqual(r.awards.map((a) => paymentMillicents(a.energyWh, a.priceMcPerKWh)), [60_000, 82_000, 63_000]);
  assert.equal(totalPayment(r), 205_000);
});

test('uniform pricing pays every award the marginal price; pay-as-bid pays each its own', () => {
  const r = clearAuction(auction({ energyWh: 25_000, limitPriceMcPerKWh: 10_000, pricing: 'uniform' }), paperOffers);
  // same quantities as pay-as-bid; marginal = hem-c's 9000
  assert.deepEqual(awarded(r), [
    ['hem-b', 8_000, 9_000],
    ['hem-a', 10_000, 9_000],
    ['hem-c', 7_000, 9_000],
  ]);
  assert.equal(r.clearingPriceMcPerKWh, 9_000);
  // 8000×9000/1000 = 72000; 10000×9000/1000 = 90000; 7000×9000/1000 = 63000 → 225000 mc
  assert.equal(totalPayment(r), 225_000);
});

test('aggregator sell: bids at or above the limit in decreasing price; uniform = lowest accepted', () => {
  const bids = [
    offer('q1', 'F1', 3_000, 7_000, 10),
    offer('q2', 'F1', 2_000, 6_500, 11),
    offer('q3', 'F1', 4_000, 6_000, 12), // exactly at the limit: acceptable
    offer('q4', 'F1', 1_000, 5_999, 13), // 1 mc/kWh below the limit
  ];
  const a = auction({ side: 'sell', energyWh: 6_000, limitPriceMcPerKWh: 6_000 });
  const pab = clearAuction(a, bids);
  // descending: q1 3000 (total 3000); q2 2000 (5000); q3 1000 of 4000 (6000)
  assert.deepEqual(awarded(pab), [
    ['q1', 3_000, 7_000],
    ['q2', 2_000, 6_500],
    ['q3', 1_000, 6_000],
  ]);
  assert.deepEqual(excludedBy(pab), [['q4', 'PRICE_BELOW_LIMIT']]);
  // 3000×7000/1000 = 21000; 2000×6500/1000 = 13000; 1000×6000/1000 = 6000 → 40000
  assert.equal(totalPayment(pab), 40_000);
  const uni = clearAuction({ ...a, pricing: 'uniform' }, bids);
  assert.equal(uni.clearingPriceMcPerKWh, 6_000);
  // 6000 Wh × 6000 / 1000 = 36000
  assert.equal(totalPayment(uni), 36_000);
});

test('ties on price are broken by earlier inclusion, then by reqId; input order does not matter', () => {
  const tied = [
    offer('x', 'F1', 1_000, 8_000, 5, 'reqid-b'),
    offer('y', 'F1', 1_000, 8_000, 3, 'reqid-z'),
    offer('z', 'F1', 1_000, 8_000, 5, 'reqid-a'),
  ];
  const a = auction({ energyWh: 2_500, limitPriceMcPerKWh: 8_000 });
  const r = clearAuction(a, tied);
  // y first (inclusion 3); then z before x (same inclusion 5, 'reqid-a' < 'reqid-b');
  // 1000 + 1000 + 500 (x partly filled) = 2500
  assert.deepEqual(awarded(r), [
    ['y', 1_000, 8_000],
    ['z', 1_000, 8_000],
    ['x', 500, 8_000],
  ]);
  assert.deepEqual(clearAuction(a, [...tied].reverse()), r);
  assert.deepEqual(clearAuction(a, [tied[1]!, tied[0]!, tied[2]!]), r);
});

test('the marginal offer is partly filled', () => {
  const r = clearAuction(auction({ energyWh: 1_234, limitPriceMcPerKWh: 5_000 }), [offer('big', 'F1', 10_000, 4_321, 0)]);
  // 1234 of 10000 Wh; payment floor(1234 × 4321 / 1000) = floor(5332.114) = 5332
  assert.deepEqual(awarded(r), [['big', 1_234, 4_321]]);
  assert.equal(totalPayment(r), 5_332);
  assert.deepEqual(r.excluded, []);
});

test('a binding feeder export limit: partial fill up to the feeder, clearing goes on with later offers', () => {
  const a = auction({
    energyWh: 10_000,
    limitPriceMcPerKWh: 9_000,
    feederLimits: [
      { feeder: 'F1', maxExportWh: 5_000, maxImportWh: 0 },
      { feeder: 'F2', maxExportWh: 100_000, maxImportWh: 0 },
    ],
  });
  const offers = [
    offer('p1', 'F1', 3_000, 5_000, 1),
    offer('p2', 'F1', 4_000, 6_000, 2),
    offer('p3', 'F2', 4_000, 7_000, 3),
    offer('p4', 'F1', 3_000, 5_500, 4),
    offer('p5', 'F3', 2_500, 8_000, 5), // F3 has no limit entry: unlimited
  ];
  const r = clearAuction(a, offers);
  // merit: p1 5000 → 3000 (F1 left 2000, total 3000)
  //        p4 5500 → min(3000, 7000, 2000) = 2000, partly filled by F1 (F1 left 0, total 5000)
  //        p2 6000 → F1 full: nothing, FEEDER_LIMIT
  //        p3 7000 → 4000 on F2 (total 9000)
  //        p5 8000 → min(2500, 1000) = 1000 (total 10000)
  assert.deepEqual(awarded(r), [
    ['p1', 3_000, 5_000],
    ['p4', 2_000, 5_500],
    ['p3', 4_000, 7_000],
    ['p5', 1_000, 8_000],
  ]);
  assert.deepEqual(excludedBy(r), [['p2', 'FEEDER_LIMIT']]);
  assert.equal(r.awardedWh, 10_000);
  const onF1 = r.awards.filter((x) => x.feeder === 'F1').reduce((s, x) => s + x.energyWh, 0);
  assert.equal(onF1, 5_000);
});

test('feeder limits bind below the wanted energy; a sell auction uses maxImportWh', () => {
  const limits = [{ feeder: 'F1', maxExportWh: 1_000, maxImportWh: 2_500 }];
  const offers = [offer('a', 'F1', 2_000, 7_000, 1), offer('b', 'F1', 2_000, 6_000, 2)];
  const buy = clearAuction(auction({ energyWh: 10_000, limitPriceMcPerKWh: 10_000, feederLimits: limits }), offers);
  // buy: ascending b (6000) → min(2000, 1000 export) = 1000; a → F1 full
  assert.deepEqual(awarded(buy), [['b', 1_000, 6_000]]);
  assert.deepEqual(excludedBy(buy), [['a', 'FEEDER_LIMIT']]);
  assert.equal(buy.awardedWh, 1_000);
  const sell = clearAuction(auction({ side: 'sell', energyWh: 10_000, limitPriceMcPerKWh: 0, feederLimits: limits }), offers);
  // sell: descending a (7000) → 2000; b → min(2000, 2500 − 2000) = 500
  assert.deepEqual(awarded(sell), [['a', 2_000, 7_000], ['b', 500, 6_000]]);
  assert.equal(sell.awardedWh, 2_500);
});

test('only the first offer of an address counts, even when a later one is cheaper', () => {
  const r = clearAuction(auction({ energyWh: 5_000, limitPriceMcPerKWh: 10_000 }), [
    offer('same', 'F1', 1_000, 9_000, 1, 'first-req'),
    offer('other', 'F1', 1_000, 8_000, 2),
    offer('same', 'F1', 4_000, 5_000, 3, 'second-req'),
  ]);
  // 'same' counts with its first offer (1000 at 9000); the second is excluded
  assert.deepEqual(awarded(r), [['other', 1_000, 8_000], ['same', 1_000, 9_000]]);
  assert.deepEqual(r.excluded, [{ address: 'same', reqId: 'second-req', reason: 'DUPLICATE_ADDRESS' }]);
});

test('zero-energy offers, an empty auction, no offers', () => {
  const z = clearAuction(auction({ energyWh: 1_000, limitPriceMcPerKWh: 10_000 }), [offer('zero', 'F1', 0, 1, 1)]);
  assert.deepEqual(z, { awards: [], awardedWh: 0, clearingPriceMcPerKWh: null, excluded: [{ address: 'zero', reqId: 'req-zero', reason: 'ZERO_ENERGY' }] });
  const e = clearAuction(auction({ energyWh: 0, limitPriceMcPerKWh: 10_000 }), [offer('o', 'F1', 10, 1, 1)]);
  assert.deepEqual(excludedBy(e), [['o', 'QUANTITY_FILLED']]);
  assert.equal(e.clearingPriceMcPerKWh, null);
  assert.deepEqual(clearAuction(auction({ energyWh: 10 }), []), { awards: [], awardedWh: 0, clearingPriceMcPerKWh: null, excluded: [] });
});

test('prices too large for packed sort keys still clear in merit order with chain-order ties', () => {
  const big = Number.MAX_SAFE_INTEGER;
  const offers = [
    offer('late-cheap', 'F1', 10, big - 2, 9),
    offer('dear', 'F1', 10, big, 1),
    offer('early-cheap', 'F1', 10, big - 2, 2),
  ];
  const r = clearAuction(auction({ energyWh: 25, limitPriceMcPerKWh: big }), offers);
  assert.deepEqual(awarded(r), [['early-cheap', 10, big - 2], ['late-cheap', 10, big - 2], ['dear', 5, big]]);
  const s = clearAuction(auction({ side: 'sell', energyWh: 15, limitPriceMcPerKWh: 0 }), offers);
  assert.deepEqual(awarded(s), [['dear', 10, big], ['early-cheap', 5, big - 2]]);
});

test('does not modify its inputs', () => {
  const offers = paperOffers.map((o) => ({ ...o }));
  const a = auction({ energyWh: 25_000, limitPriceMcPerKWh: 10_000, pricing: 'uniform', feederLimits: [{ feeder: 'F1', maxExportWh: 9_000, maxImportWh: 0 }] });
  const before = JSON.stringify([a, offers]);
  clearAuction(a, offers);
  assert.equal(JSON.stringify([a, offers]), before);
});

test('rejects invalid input with coded errors', () => {
  const ok = auction({ energyWh: 100, limitPriceMcPerKWh: 100 });
  assertCode(() => clearAuction({ ...ok, energyWh: -1 }, []), 'INVALID_AUCTION', 'field=energyWh');
  assertCode(() => clearAuction({ ...ok, energyWh: 1.5 }, []), 'INVALID_AUCTION', 'field=energyWh');
  assertCode(() => clearAuction({ ...ok, limitPriceMcPerKWh: Number.NaN }, []), 'INVALID_AUCTION', 'field=limitPriceMcPerKWh');
  assertCode(() => clearAuction({ ...ok, side: 'both' as 'buy' }, []), 'INVALID_AUCTION', 'field=side');
  assertCode(() => clearAuction({ ...ok, pricing: 'vickrey' as 'uniform' }, []), 'INVALID_AUCTION', 'field=pricing');
  assertCode(() => clearAuction({ ...ok, feederLimits: [{ feeder: 'F1', maxExportWh: -5, maxImportWh: 0 }] }, []), 'INVALID_AUCTION', 'maxExportWh');
  assertCode(() => clearAuction(null as unknown as ClearingAuction, []), 'INVALID_AUCTION');
  assertCode(
    () => clearAuction({ ...ok, feederLimits: [{ feeder: 'F1', maxExportWh: 1, maxImportWh: 1 }, { feeder: 'F1', maxExportWh: 2, maxImportWh: 2 }] }, []),
    'DUPLICATE_FEEDER_LIMIT',
    'feeder=F1',
  );
  const good = offer('a', 'F1', 10, 10, 0);
  assertCode(() => clearAuction(ok, [good, { ...good, energyWh: -1 }]), 'INVALID_OFFER', 'index=1 field=energyWh');
  assertCode(() => clearAuction(ok, [{ ...good, priceMcPerKWh: 2 ** 53 }]), 'INVALID_OFFER', 'field=priceMcPerKWh');
  assertCode(() => clearAuction(ok, [{ ...good, priceMcPerKWh: Infinity }]), 'INVALID_OFFER', 'field=priceMcPerKWh');
  assertCode(() => clearAuction(ok, [{ ...good, inclusion: -1 }]), 'INVALID_OFFER', 'field=inclusion');
  assertCode(() => clearAuction(ok, [{ ...good, energyWh: '10' as unknown as number }]), 'INVALID_OFFER', 'field=energyWh');
  assertCode(() => clearAuction(ok, [{ ...good, address: 7 as unknown as string }]), 'INVALID_OFFER', 'field=address');
  assertCode(() => clearAuction(ok, [null as unknown as ClearingOffer]), 'INVALID_OFFER', 'field=offer');
});
