/**
 * Contract tests of clearMarket with hand-computed answers ([MKT-1]…[MKT-6]).
 * Units: energy in Wh, prices in millicents/kWh (6.5 cents/kWh = 6500).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clearMarket, type MarketBook, type MarketOrderIn, type MarketResult } from '../../core/market/clearMarket.js';
import { MarketError } from '../../core/market/marketError.js';
import { marketWelfare } from '../../core/market/marketWelfare.js';

function order(address: string, side: 'buy' | 'sell', feeder: string, energyWh: number, priceMcPerKWh: number, inclusion: number, orderId = `order-${address}`): MarketOrderIn {
  return { orderId, address, feeder, side, energyWh, priceMcPerKWh, inclusion };
}

function book(orders: MarketOrderIn[], over: Partial<MarketBook> = {}): MarketBook {
  return { epoch: 1, pricing: 'uniform', orders, feederRoom: [], ...over };
}

/** [address, side, energyWh, priceMcPerKWh] per fill, in output order */
const filled = (r: MarketResult) => r.fills.map((f) => [f.address, f.side, f.energyWh, f.priceMcPerKWh]);
const excludedBy = (r: MarketResult) => r.excluded.map((e) => [e.address, e.reason]);

function assertCode(fn: () => unknown, code: string, includes?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MarketError, `expected MarketError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (includes !== undefined) assert.ok(e.message.includes(includes), `${e.message} should include ${includes}`);
    return true;
  });
}

// Christidis's example in cents/kWh: bids A 1 kWh at 11, B 2 kWh at 7; offers C 1 kWh at
// 5, D 1 kWh at 6.
//   S(p) = 0 below 5, 1 kWh on [5, 6), 2 kWh from 6;  D(p) = 3 kWh up to 7, 1 kWh on (7, 11], 0 above
//   V(p) = 1 on [5, 6), 2 on [6, 7], 1 on (7, 11]  →  V* = 2 kWh on [6, 7], MCP = 6.5 cents/kWh
const christidis = [
  order('A', 'buy', 'F1', 1_000, 11_000, 0),
  order('B', 'buy', 'F1', 2_000, 7_000, 1),
  order('C', 'sell', 'F2', 1_000, 5_000, 2),
  order('D', 'sell', 'F2', 1_000, 6_000, 3),
];

test("Christidis's example: range [6, 7] cents/kWh, MCP 6.5, 2 kWh traded; C and D sell 1 kWh each, A and B buy 1 kWh each", () => {
  const r = clearMarket(book(christidis));
  assert.equal(r.epoch, 1);
  assert.equal(r.volumeWh, 2_000);
  assert.deepEqual(r.priceRange, { lowMcPerKWh: 6_000, highMcPerKWh: 7_000 });
  assert.equal(r.clearingPriceMcPerKWh, 6_500);
  // sells by ascending ask, then buys by descending bid; uniform: all at the MCP
  assert.deepEqual(filled(r), [
    ['C', 'sell', 1_000, 6_500],
    ['D', 'sell', 1_000, 6_500],
    ['A', 'buy', 1_000, 6_500],
    ['B', 'buy', 1_000, 6_500],
  ]);
  assert.deepEqual(r.excluded, []);
  // welfare at the orders' own prices: 11·1 + 7·1 − 5·1 − 6·1 = 7 cents = 7000 mc = 7,000,000 mc·Wh/kWh
  assert.equal(marketWelfare(book(christidis), r), 7_000_000);
});

test("Christidis's example with 1.5 kWh of export room on the sellers' feeder (README): 1.5 kWh at 6.5", () => {
  const r = clearMarket(book(christidis, { feederRoom: [{ feeder: 'F2', exportWh: 1_500, importWh: 0 }] }));
  assert.equal(r.volumeWh, 1_500);
  assert.deepEqual(r.priceRange, { lowMcPerKWh: 6_000, highMcPerKWh: 7_000 });
  assert.deepEqual(filled(r), [
    ['C', 'sell', 1_000, 6_500],
    ['D', 'sell', 500, 6_500],
    ['A', 'buy', 1_000, 6_500],
    ['B', 'buy', 500, 6_500],
  ]);
});

test('pay-as-bid: each fill at its own price, the spread to the clearing account; same volume, allocation and MCP', () => {
  const u = clearMarket(book(christidis));
  const p = clearMarket(book(christidis, { pricing: 'pay-as-bid' }));
  assert.deepEqual(filled(p), [
    ['C', 'sell', 1_000, 5_000],
    ['D', 'sell', 1_000, 6_000],
    ['A', 'buy', 1_000, 11_000],
    ['B', 'buy', 1_000, 7_000],
  ]);
  assert.equal(p.clearingPriceMcPerKWh, 6_500);
  assert.deepEqual(p.priceRange, u.priceRange);
  assert.deepEqual(p.fills.map((f) => [f.orderId, f.energyWh]), u.fills.map((f) => [f.orderId, f.energyWh]));
  // buyers pay 11 + 7 = 18 cents, sellers receive 5 + 6 = 11 cents: 7 cents to the clearing account
  const mc = (side: 'buy' | 'sell') => p.fills.filter((f) => f.side === side).reduce((s, f) => s + (f.energyWh * f.priceMcPerKWh) / 1000, 0);
  assert.equal(mc('buy') - mc('sell'), 7_000);
});

test('ties at the MCP are broken by chain order: earlier inclusion, then orderId', () => {
  // one buy of 3 kWh at 5 c; three sells at 5 c of 2 kWh each → V* = 3 kWh at exactly 5 c
  const orders = [
    order('late', 'sell', 'F1', 2_000, 5_000, 9),
    order('early', 'sell', 'F1', 2_000, 5_000, 1),
    order('same-inclusion-b', 'sell', 'F1', 2_000, 5_000, 4, 'id-b'),
    order('buyer', 'buy', 'F2', 3_000, 5_000, 0),
  ];
  const r = clearMarket(book(orders));
  assert.deepEqual(r.priceRange, { lowMcPerKWh: 5_000, highMcPerKWh: 5_000 });
  assert.equal(r.clearingPriceMcPerKWh, 5_000);
  assert.deepEqual(filled(r), [
    ['early', 'sell', 2_000, 5_000],
    ['same-inclusion-b', 'sell', 1_000, 5_000],
    ['buyer', 'buy', 3_000, 5_000],
  ]);
  assert.deepEqual(excludedBy(r), [['late', 'QUANTITY_FILLED']]);
  // at equal inclusion, the smaller orderId comes first
  const r2 = clearMarket(book([...orders, order('same-inclusion-a', 'sell', 'F1', 2_000, 5_000, 4, 'id-a')]));
  assert.deepEqual(filled(r2).slice(0, 2), [['early', 'sell', 2_000, 5_000], ['same-inclusion-a', 'sell', 1_000, 5_000]]);
  assert.deepEqual(excludedBy(r2), [['same-inclusion-b', 'QUANTITY_FILLED'], ['late', 'QUANTITY_FILLED']]);
});

test('a binding export room: cheap sells on a full feeder give way to dearer ones elsewhere; the range moves up', () => {
  // F1 can export 1.5 kWh. S(p): 1 kWh from 4 c, 1.5 kWh from 4.5 c (F1 full), 2.5 kWh from 6 c.
  // D(p) = 3 kWh up to 8 c → V* = 2.5 kWh on [6, 8] c, MCP 7 c.
  const orders = [
    order('s1', 'sell', 'F1', 1_000, 4_000, 0),
    order('s2', 'sell', 'F1', 1_000, 4_500, 1),
    order('s4', 'sell', 'F1', 1_000, 4_800, 2),
    order('s3', 'sell', 'F2', 1_000, 6_000, 3),
    order('b1', 'buy', 'F3', 3_000, 8_000, 4),
  ];
  const r = clearMarket(book(orders, { feederRoom: [{ feeder: 'F1', exportWh: 1_500, importWh: 0 }] }));
  assert.equal(r.volumeWh, 2_500);
  assert.deepEqual(r.priceRange, { lowMcPerKWh: 6_000, highMcPerKWh: 8_000 });
  assert.equal(r.clearingPriceMcPerKWh, 7_000);
  assert.deepEqual(filled(r), [
    ['s1', 'sell', 1_000, 7_000],
    ['s2', 'sell', 500, 7_000], // F1's room left
    ['s3', 'sell', 1_000, 7_000],
    ['b1', 'buy', 2_500, 7_000],
  ]);
  assert.deepEqual(excludedBy(r), [['s4', 'FEEDER_LIMIT']]);
  // without the room, 3 kWh trade on [4.8, 8] c
  const free = clearMarket(book(orders));
  assert.equal(free.volumeWh, 3_000);
  assert.deepEqual(free.priceRange, { lowMcPerKWh: 4_800, highMcPerKWh: 8_000 });
});

test('a binding import room: a buy on a full feeder is FEEDER_LIMIT, the next bid fills; the range moves down', () => {
  // F1 imports 1 kWh, F2 1.2 kWh. D(p): 2.2 kWh up to 8 c, 1 kWh on (8, 9] c. S = 5 kWh from 3 c.
  // V* = 2.2 kWh on [3, 8] c, MCP 5.5 c.
  const orders = [
    order('b1', 'buy', 'F1', 2_000, 9_000, 0),
    order('b3', 'buy', 'F1', 1_000, 8_500, 1),
    order('b2', 'buy', 'F2', 2_000, 8_000, 2),
    order('b4', 'buy', 'F3', 1_000, 2_000, 3),
    order('s1', 'sell', 'F4', 5_000, 3_000, 4),
  ];
  const feederRoom = [{ feeder: 'F1', exportWh: 0, importWh: 1_000 }, { feeder: 'F2', exportWh: 0, importWh: 1_200 }];
  const r = clearMarket(book(orders, { feederRoom }));
  assert.equal(r.volumeWh, 2_200);
  assert.deepEqual(r.priceRange, { lowMcPerKWh: 3_000, highMcPerKWh: 8_000 });
  assert.equal(r.clearingPriceMcPerKWh, 5_500);
  assert.deepEqual(filled(r), [
    ['s1', 'sell', 2_200, 5_500],
    ['b1', 'buy', 1_000, 5_500],
    ['b2', 'buy', 1_200, 5_500],
  ]);
  assert.deepEqual(excludedBy(r), [['b3', 'FEEDER_LIMIT'], ['b4', 'PRICE_NOT_MET']]);
});

test('a trade within one feeder counts against both its export and its import room', () => {
  const orders = [order('s', 'sell', 'F1', 2_000, 1_000, 0), order('b', 'buy', 'F1', 2_000, 9_000, 1)];
  const r = clearMarket(book(orders, { feederRoom: [{ feeder: 'F1', exportWh: 2_000, importWh: 500 }] }));
  assert.equal(r.volumeWh, 500);
  assert.deepEqual(filled(r), [['s', 'sell', 500, 5_000], ['b', 'buy', 500, 5_000]]);
});

test('V* = 0: nothing trades, no price; PRICE_NOT_MET, or FEEDER_LIMIT where the feeder has no room on that side', () => {
  const none = (r: MarketResult) => {
    assert.equal(r.volumeWh, 0);
    assert.equal(r.clearingPriceMcPerKWh, null);
    assert.equal(r.priceRange, null);
    assert.deepEqual(r.fills, []);
  };
  // bids below asks
  const apart = clearMarket(book([order('b', 'buy', 'F1', 1_000, 4_000, 0), order('s', 'sell', 'F1', 1_000, 5_000, 1)]));
  none(apart);
  assert.deepEqual(excludedBy(apart), [['b', 'PRICE_NOT_MET'], ['s', 'PRICE_NOT_MET']]);
  // only one side
  const sellsOnly = clearMarket(book([order('s', 'sell', 'F1', 1_000, 0, 0)]));
  none(sellsOnly);
  assert.deepEqual(excludedBy(sellsOnly), [['s', 'PRICE_NOT_MET']]);
  // the only seller's feeder has no export room: the seller is FEEDER_LIMIT, the buyer PRICE_NOT_MET
  const full = clearMarket(book([order('s', 'sell', 'F1', 1_000, 1_000, 0), order('b', 'buy', 'F2', 1_000, 9_000, 1)], { feederRoom: [{ feeder: 'F1', exportWh: 0, importWh: 5_000 }] }));
  none(full);
  assert.deepEqual(excludedBy(full), [['s', 'FEEDER_LIMIT'], ['b', 'PRICE_NOT_MET']]);
  // an empty book
  none(clearMarket(book([])));
  assert.deepEqual(clearMarket(book([])).excluded, []);
});

test('one order per address: only the first in chain order counts, whatever its side or size', () => {
  const r = clearMarket(book([
    order('x', 'sell', 'F1', 1_000, 9_000, 5, 'x-later'), // better for the market, but later
    order('x', 'buy', 'F1', 1_000, 5_000, 2, 'x-first'),
    order('y', 'sell', 'F1', 1_000, 1_000, 3),
    order('z', 'sell', 'F1', 0, 1_000, 0, 'z-empty'),
    order('z', 'sell', 'F1', 1_000, 1_000, 1, 'z-full'),
  ]));
  // z's first order is empty: it is ZERO_ENERGY and z's later order is a duplicate
  assert.deepEqual(r.excluded.map((e) => [e.orderId, e.reason]), [['z-empty', 'ZERO_ENERGY'], ['z-full', 'DUPLICATE_ADDRESS'], ['x-later', 'DUPLICATE_ADDRESS']]);
  assert.deepEqual(r.fills.map((f) => f.orderId), ['order-y', 'x-first']);
  assert.deepEqual(r.priceRange, { lowMcPerKWh: 1_000, highMcPerKWh: 5_000 });
  assert.equal(r.clearingPriceMcPerKWh, 3_000);
});

test('the result does not depend on the order of the orders or of the feeder rooms', () => {
  const orders = [
    ...christidis,
    order('E', 'sell', 'F1', 700, 6_000, 3, 'order-E'), // same inclusion as D
    order('F', 'buy', 'F2', 400, 6_500, 7),
    order('A', 'sell', 'F2', 400, 1, 8, 'A-again'),
  ];
  const feederRoom = [{ feeder: 'F1', exportWh: 500, importWh: 9_000 }, { feeder: 'F2', exportWh: 1_800, importWh: 300 }];
  const expected = clearMarket(book(orders, { feederRoom }));
  const permutations = [
    [...orders].reverse(),
    [orders[3]!, orders[6]!, orders[0]!, orders[5]!, orders[1]!, orders[4]!, orders[2]!],
  ];
  for (const p of permutations) assert.deepEqual(clearMarket(book(p, { feederRoom: [...feederRoom].reverse() })), expected);
  assert.ok(expected.volumeWh > 0);
});

test('prices too large for packed sort keys: still priority order with chain-order ties; MCP without overflow', () => {
  const big = Number.MAX_SAFE_INTEGER;
  const r = clearMarket(book([
    order('s1', 'sell', 'F1', 1_000, big - 10, 1),
    order('s0', 'sell', 'F1', 1_000, big - 10, 0),
    order('b', 'buy', 'F2', 1_500, big, 2),
  ]));
  assert.deepEqual(r.priceRange, { lowMcPerKWh: big - 10, highMcPerKWh: big });
  assert.equal(r.clearingPriceMcPerKWh, big - 5);
  assert.deepEqual(filled(r), [['s0', 'sell', 1_000, big - 5], ['s1', 'sell', 500, big - 5], ['b', 'buy', 1_500, big - 5]]);
});

test('does not modify its input', () => {
  const b = book(christidis.map((o) => ({ ...o })), { feederRoom: [{ feeder: 'F1', exportWh: 1, importWh: 1 }] });
  const copy = structuredClone(b);
  clearMarket(b);
  assert.deepEqual(b, copy);
});

test('rejects garbage with coded errors naming the field', () => {
  const ok = christidis[0]!;
  const withOrder = (o: Record<string, unknown>) => book([o as unknown as MarketOrderIn]);
  assertCode(() => clearMarket(withOrder({ ...ok, energyWh: 1.5 })), 'INVALID_ORDER', 'index=0 field=energyWh value=1.5');
  assertCode(() => clearMarket(withOrder({ ...ok, energyWh: -1 })), 'INVALID_ORDER', 'field=energyWh value=-1');
  assertCode(() => clearMarket(withOrder({ ...ok, priceMcPerKWh: -5 })), 'INVALID_ORDER', 'field=priceMcPerKWh');
  assertCode(() => clearMarket(withOrder({ ...ok, priceMcPerKWh: '5' })), 'INVALID_ORDER', 'field=priceMcPerKWh');
  assertCode(() => clearMarket(withOrder({ ...ok, energyWh: 2 ** 53 })), 'INVALID_ORDER', 'field=energyWh');
  assertCode(() => clearMarket(withOrder({ ...ok, side: 'both' })), 'INVALID_ORDER', 'field=side value=both');
  assertCode(() => clearMarket(withOrder({ ...ok, inclusion: 0.5 })), 'INVALID_ORDER', 'field=inclusion');
  assertCode(() => clearMarket(withOrder({ ...ok, orderId: 7 })), 'INVALID_ORDER', 'field=orderId');
  assertCode(() => clearMarket(withOrder({ ...ok, address: null })), 'INVALID_ORDER', 'field=address');
  assertCode(() => clearMarket(withOrder({ ...ok, feeder: undefined })), 'INVALID_ORDER', 'field=feeder');
  assertCode(() => clearMarket(book([ok, null as unknown as MarketOrderIn])), 'INVALID_ORDER', 'index=1 field=order');
  assertCode(() => clearMarket(book([ok, { ...christidis[1]!, orderId: ok.orderId }])), 'DUPLICATE_ORDER_ID', `index=1 orderId=${ok.orderId}`);
  assertCode(() => clearMarket(book([], { pricing: 'second-price' as 'uniform' })), 'INVALID_BOOK', 'field=pricing value=second-price');
  assertCode(() => clearMarket(book([], { epoch: -1 })), 'INVALID_BOOK', 'field=epoch');
  assertCode(() => clearMarket(book([], { orders: {} as MarketOrderIn[] })), 'INVALID_BOOK', 'field=orders');
  assertCode(() => clearMarket(book([], { feederRoom: [{ feeder: 'F1', exportWh: 1, importWh: -1 }] })), 'INVALID_BOOK', 'field=feederRoom/0/importWh value=-1');
  assertCode(() => clearMarket(book([], { feederRoom: [{ feeder: 'F1', exportWh: 1, importWh: 1 }, { feeder: 'F1', exportWh: 2, importWh: 2 }] })), 'DUPLICATE_FEEDER_ROOM', 'feeder=F1');
  assertCode(() => clearMarket(null as unknown as MarketBook), 'INVALID_BOOK', 'field=book');
  // every sum must stay an exact integer
  const huge = Number.MAX_SAFE_INTEGER;
  assertCode(() => clearMarket(book([{ ...ok, energyWh: huge }, { ...christidis[2]!, energyWh: huge }])), 'INVALID_BOOK', 'field=orders');
});
