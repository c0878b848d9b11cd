/** From wire messages to clearing and back [AUC-15] [AUC-16] [AUC-17]. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  auctionResultParams, clearingAuctionFromOpen, clearingOfferFromBid, clearWireAuction, voidAuctionResultParams, type WireBid,
} from '../../core/auction/wireAuction.js';
import { sealBid } from '../../core/auction/sealedBid.js';
import { compileSchema } from '../../../schemas/validators.js';
import { auctionResultParams as auctionResultSchema } from '../../../schemas/operations.js';
import type { AuctionOpen, BidReveal, OpenBid } from '../../../schemas/types.js';

const addr = (name: string) => createHash('sha256').update(name).digest('hex');
const reqId = (name: string) => createHash('sha256').update(`req ${name}`).digest('base64url').slice(0, 22);
const validResult = compileSchema(auctionResultSchema);

const openBuy: AuctionOpen = {
  auctionId: 'auc-buy',
  side: 'buy',
  energy: { unit: 'kWh', value: 5 },
  limitPrice: { unit: 'cents/kWh', value: 9.5 },
  delivery: { start: '2026-11-21T10:15:00.000Z', end: '2026-11-21T10:30:00.000Z' },
  closesAt: '2026-11-21T10:05:00.000Z',
  pricing: 'pay-as-bid',
  sealed: false,
  feederLimits: [{ feeder: 'F1', maxExportWh: 3_000, maxImportWh: 0 }],
};

const sellBid = (kWh: number, cents: number): OpenBid => ({ type: 'sell', energy: { unit: 'kWh', value: kWh }, price: { unit: 'cents/kWh', value: cents } });
const buyBid = (kWh: number, cents: number): OpenBid => ({ type: 'buy', energy: { unit: 'kWh', value: kWh }, price: { unit: 'cents/kWh', value: cents } });

function wireBid(name: string, inclusion: number, feeder: string, b: OpenBid, auctionId = 'auc-buy'): WireBid {
  return { reqId: reqId(name), inclusion, params: { auctionId, address: addr(name), cpf: 0.5, feeder, bid: b } };
}

test('auction-open converts to chain integers with the one rounding rule (floor)', () => {
  assert.deepEqual(clearingAuctionFromOpen(openBuy), {
    auctionId: 'auc-buy', side: 'buy', energyWh: 5_000, limitPriceMcPerKWh: 9_500, pricing: 'pay-as-bid',
    feederLimits: [{ feeder: 'F1', maxExportWh: 3_000, maxImportWh: 0 }],
  });
  // [AUC-17] the registry's limits, tightened by the auction's own (min), as the chain clears [FEEDER-2]
  assert.deepEqual(clearingAuctionFromOpen(openBuy, []).feederLimits, [{ feeder: 'F1', maxExportWh: 3_000, maxImportWh: 0 }]);
  assert.deepEqual(clearingAuctionFromOpen(openBuy, [{ feeder: 'F1', maxExportWh: 30_000, maxImportWh: 30_000 }]).feederLimits, [{ feeder: 'F1', maxExportWh: 3_000, maxImportWh: 0 }], 'a larger registry limit: the auction\'s own binds');
  assert.deepEqual(clearingAuctionFromOpen(openBuy, [{ feeder: 'F1', maxExportWh: 1_000, maxImportWh: 5 }, { feeder: 'F2', maxExportWh: 7, maxImportWh: 8 }]).feederLimits, [
    { feeder: 'F1', maxExportWh: 1_000, maxImportWh: 0 },
    { feeder: 'F2', maxExportWh: 7, maxImportWh: 8 },
  ]);
  const { feederLimits: _omit, ...noLimits } = openBuy;
  assert.deepEqual(clearingAuctionFromOpen({ ...noLimits, energy: { unit: 'Wh', value: 1500.9 }, limitPrice: { unit: 'millicents/kWh', value: 7.99 } }), {
    auctionId: 'auc-buy', side: 'buy', energyWh: 1_500, limitPriceMcPerKWh: 7, pricing: 'pay-as-bid', feederLimits: [],
  });
});

test('bid-offers become offers; wrong auction, wrong side and sealed-in-open are excluded first', () => {
  const sealedInOpen: WireBid = {
    reqId: reqId('s'), inclusion: 3,
    params: { auctionId: 'auc-buy', address: addr('s'), cpf: 0.5, feeder: 'F1', sealed: sealBid('auc-buy', addr('s'), sellBid(1, 1)).sealed },
  };
  const bids = [
    wireBid('a', 1, 'F1', sellBid(2, 8.2)),
    wireBid('b', 2, 'F1', sellBid(2, 7.25)),
    sealedInOpen,
    wireBid('c', 4, 'F2', sellBid(3, 9.0)),
    wireBid('d', 5, 'F2', buyBid(1, 20)), // a charge bid in a buy auction
    wireBid('e', 6, 'F2', sellBid(1, 1), 'auc-other'),
    wireBid('f', 7, 'F1', sellBid(1, 9.4)),
  ];
  assert.deepEqual(clearingOfferFromBid(openBuy, bids[0]!), {
    ok: true, offer: { address: addr('a'), feeder: 'F1', energyWh: 2_000, priceMcPerKWh: 8_200, inclusion: 1, reqId: reqId('a') },
  });
  const r = clearWireAuction(openBuy, bids);
  // merit: b 7250 → 2000 (F1 1000 left); a 8200 → min(2000, 3000, 1000) = 1000 (F1 full);
  //        c 9000 → min(3000, 2000) = 2000 on F2 (total 5000); f 9400 → quantity reached
  assert.deepEqual(r.awards.map((x) => [x.address, x.energyWh, x.priceMcPerKWh]), [
    [addr('b'), 2_000, 7_250],
    [addr('a'), 1_000, 8_200],
    [addr('c'), 2_000, 9_000],
  ]);
  assert.equal(r.awardedWh, 5_000);
  assert.deepEqual(r.excluded.map((x) => [x.address, x.reason]), [
    [addr('s'), 'SEALED_BID_IN_OPEN_AUCTION'],
    [addr('d'), 'WRONG_SIDE'],
    [addr('e'), 'WRONG_AUCTION'],
    [addr('f'), 'QUANTITY_FILLED'],
  ]);
  const wire = auctionResultParams('auc-buy', r, 42);
  assert.ok(validResult(wire), JSON.stringify(validResult.errors));
  assert.equal(wire.clearingPriceMillicentsPerKWh, 9_000);
  assert.deepEqual(wire.awards[0], { address: addr('b'), feeder: 'F1', energyWh: 2_000, priceMillicentsPerKWh: 7_250, bidReqId: reqId('b') });
  const v = voidAuctionResultParams('auc-buy', 'NOT_CLOSED_IN_TIME');
  assert.ok(validResult(v), JSON.stringify(validResult.errors));
});

test('[SEALED] sealed auction: bids opened by their bidders\' reveals; unrevealed, badly revealed and open bids excluded with their reason', () => {
  const open: AuctionOpen = {
    ...openBuy, auctionId: 'auc-sealed', side: 'sell', pricing: 'uniform', sealed: true,
    energy: { unit: 'kWh', value: 10 }, limitPrice: { unit: 'cents/kWh', value: 6 }, feederLimits: [],
  };
  const reveals: BidReveal[] = [];
  const sealed = (name: string, inclusion: number, b: OpenBid, o: { reveal?: 'no' | 'other-bid' | 'other-salt' } = {}): WireBid => {
    const s = sealBid('auc-sealed', addr(name), b);
    if (o.reveal !== 'no') {
      reveals.push({
        auctionId: 'auc-sealed', address: addr(name),
        bid: o.reveal === 'other-bid' ? { ...b, price: { unit: 'cents/kWh', value: 99 } } : b,
        salt: o.reveal === 'other-salt' ? '00'.repeat(32) : s.salt,
      });
    }
    return { reqId: reqId(name), inclusion, params: { auctionId: 'auc-sealed', address: addr(name), cpf: 0.5, feeder: 'F1', sealed: s.sealed } };
  };
  const bids: WireBid[] = [
    sealed('x', 1, buyBid(4, 7.0)),
    sealed('y', 2, buyBid(5, 6.5)),
    sealed('z', 3, buyBid(4, 8.0)),
    sealed('w', 4, buyBid(3, 5.0)), // below the limit
    sealed('v', 5, buyBid(2, 9.0), { reveal: 'no' }), // withheld
    sealed('u', 6, buyBid(1, 9.0), { reveal: 'other-bid' }), // revealed as another bid than committed
    sealed('r', 7, buyBid(1, 9.0), { reveal: 'other-salt' }),
    wireBid('t', 8, 'F1', buyBid(1, 50), 'auc-sealed'), // open bid: would reveal its price
    sealed('s', 9, sellBid(1, 9.0)), // a discharge offer in a sell auction
  ];
  const r = clearWireAuction(open, bids, { reveals });
  // descending: z 8000 → 4000; x 7000 → 4000 (8000); y 6500 → 2000 of 5000 (10000); w below limit
  // uniform: all at y's 6500; the withheld and bad reveals change nothing else
  assert.deepEqual(r.awards.map((a) => [a.address, a.energyWh, a.priceMcPerKWh]), [
    [addr('z'), 4_000, 6_500],
    [addr('x'), 4_000, 6_500],
    [addr('y'), 2_000, 6_500],
  ]);
  assert.equal(r.clearingPriceMcPerKWh, 6_500);
  assert.deepEqual(r.excluded.map((e) => [e.address, e.reason]), [
    [addr('v'), 'NOT_REVEALED'],
    [addr('u'), 'BAD_REVEAL'],
    [addr('r'), 'BAD_REVEAL'],
    [addr('t'), 'OPEN_BID_IN_SEALED_AUCTION'],
    [addr('s'), 'WRONG_SIDE'],
    [addr('w'), 'PRICE_BELOW_LIMIT'],
  ]);
  // without the reveals no sealed bid can be opened
  const hidden = clearWireAuction(open, bids);
  assert.equal(hidden.awards.length, 0);
  assert.equal(hidden.excluded.filter((e) => e.reason === 'NOT_REVEALED').length, 8);
});
