import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSchema } from '../../../schemas/validators.js';
import { auctionResultParams } from '../../../schemas/operations.js';
import { ChainFixture } from '../../testkit/chainFixture.js';
import { auctionResultOf, auctionView, chainViewOf, walletView } from '../../node/chainQueries.js';
import type { AuctionEntry } from '../../core/chainState.js';

const validResult = compileSchema(auctionResultParams);

test('auctionView: open → cleared (result with awards, excluded, height) → settled (settlements); schema-valid result', async () => {
  const f = new ChainFixture();
  const [a, b, c] = ['hem-a', 'hem-b', 'hem-c'].map((n) => f.key(n)) as [ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>];
  f.produce([f.certTx(a), f.certTx(b), f.certTx(c, { programme: 'TE' })]);
  const closesAt = new Date(Date.parse(f.interval(1).start) + 10_000).toISOString();
  f.produce([f.auctionOpenTx('auc-1', { side: 'buy', energyWh: 5000, limitMc: 20_000, deliveryEpoch: 2, closesAt })]);
  assert.deepEqual(auctionView(f.state, 'auc-1'), { status: 'open' });
  assert.equal(auctionView(f.state, 'nope'), undefined);
  f.produce([
    f.bidTx(a, 'auc-1', { open: f.openBid('sell', 3000, 10_000) }),
    f.bidTx(b, 'auc-1', { open: f.openBid('sell', 3000, 12_000) }),
    f.bidTx(c, 'auc-1', { open: f.openBid('sell', 3000, 25_000) }),
  ]);
  const closeSlot = f.firstSlotOf(1) + 40;
  const close = f.produce([f.auctionCloseTx('auc-1', f.aggregator, f.at(closeSlot))], closeSlot);
  const cleared = auctionView(f.state, 'auc-1')!;
  assert.equal(cleared.status, 'cleared');
  assert.ok(validResult(cleared.result), JSON.stringify(validResult.errors));
  assert.equal(cleared.result!.status, 'cleared');
  assert.equal(cleared.result!.height, close.block.parameters.header.height);
  assert.equal(cleared.result!.awardedWh, 5000);
  assert.deepEqual(cleared.result!.awards.map((w) => [w.address, w.energyWh, w.priceMillicentsPerKWh]), [[a.address, 3000, 10_000], [b.address, 2000, 12_000]]);
  assert.equal(cleared.result!.excluded!.length, 1);
  assert.equal(cleared.settlements, undefined);
  // a delivers, b never does: settled at the deadline
  const after = f.firstSlotOf(3) + 4;
  f.produce([f.readingTx(a, 2, { p: 1000, c: 500, dis: 2500 }, 1, f.at(after))], after);
  const partly = auctionView(f.state, 'auc-1')!;
  assert.equal(partly.status, 'cleared');
  // each settlement names the block that settled it (final once at or below the final height)
  assert.deepEqual(partly.settlements, [{ address: a.address, deliveredWh: 2500, paymentMc: 25_000, penaltyMc: 2500, height: f.state.meta.height }]);
  f.produce([], f.firstSlotOf(5));
  const view = chainViewOf({ state: () => f.state });
  const settled = await view.auction('auc-1');
  assert.equal(settled!.status, 'settled');
  assert.equal(settled!.settlements!.length, 2);
  assert.deepEqual(settled!.settlements![1], { address: b.address, deliveredWh: 0, paymentMc: 0, penaltyMc: 10_000, height: f.state.meta.height });
  // [FIN] a bare state's view: the final height is its on-chain proof
  assert.equal(await view.finalizedHeight(), f.state.meta.finalized.height);
  assert.equal(await chainViewOf({ state: () => f.state, head: () => ({ finalizedHeight: 7 }) }).finalizedHeight(), 7);
  assert.ok(validResult(settled!.result));
  const w = walletView(f.state, a.address);
  assert.deepEqual({ ...w, certificate: undefined }, { address: a.address, millicents: '22500', rewardsMillicents: '0', known: true, certificate: undefined, revoked: false, equivocator: false, height: f.state.meta.height });
  assert.equal(w.certificate!.programme, 'RE+TE');
  assert.equal(walletView(f.state, f.key('nobody').address).known, false);
});

test('auctionResultOf: a void auction (states from before [CLOSE]/[SEALED]) has a void result with its reason', () => {
  const entry: AuctionEntry = {
    side: 'buy', energyWh: 1000, limitPriceMcPerKWh: 1000, pricing: 'pay-as-bid', sealed: true, feederLimits: [],
    deliveryEpoch: 2, closesAt: 0, openedHeight: 1, status: 'void', bidCount: 0, voidReason: 'NOT_CLOSED_IN_TIME',
  };
  const v = auctionResultOf('auc-v', entry)!;
  assert.equal(v.status, 'void');
  assert.equal(v.reason, 'NOT_CLOSED_IN_TIME');
  assert.deepEqual(v.awards, []);
  assert.ok(validResult(v));
});
