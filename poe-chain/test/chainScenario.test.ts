import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChainFixture } from '../testkit/chainFixture.js';
import { balanceOf, stateRoot } from '../core/chainState.js';
import { producerForSlot } from '../core/electProducer.js';
import { rankingForEpoch, readingScore } from '../core/rankingForEpoch.js';

test('genesis: the aggregator node produces while no validator is eligible', () => {
  const f = new ChainFixture();
  assert.equal(producerForSlot(f.state, 1), f.node.address);
  const b = f.produce([]);
  assert.equal(b.block.parameters.header.producer, f.node.address);
  assert.equal(f.state.meta.height, 1);
  assert.equal(b.block.parameters.header.parent, f.genesis.hash);
  assert.equal(b.state.tipHash, b.hash);
});

test('an auction end to end: open, bids, close, clearing, readings, settlement, wallets', () => {
  const f = new ChainFixture();
  const [a, b, c] = ['hem-a', 'hem-b', 'hem-c'].map((n) => f.key(n)) as [ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>];
  f.produce([f.certTx(a), f.certTx(b), f.certTx(c, { programme: 'TE' })]);
  // auction for delivery in epoch 2, closing at the start of epoch 1 + 10 s
  const closesAt = new Date(Date.parse(f.interval(1).start) + 10_000).toISOString();
  f.produce([f.auctionOpenTx('auc-1', { side: 'buy', energyWh: 5000, limitMc: 20_000, deliveryEpoch: 2, closesAt })]);
  f.produce([
    f.bidTx(a, 'auc-1', { open: f.openBid('sell', 3000, 10_000) }),
    f.bidTx(b, 'auc-1', { open: f.openBid('sell', 3000, 12_000) }),
    f.bidTx(c, 'auc-1', { open: f.openBid('sell', 3000, 25_000) }), // above the limit
  ]);
  const closeSlot = f.firstSlotOf(1) + 40; // 10 s after epoch 1 starts
  f.produce([f.auctionCloseTx('auc-1', f.aggregator, f.at(closeSlot))], closeSlot);
  const auc = f.state.sections.auctions.get('auc-1')!;
  assert.equal(auc.status, 'closed');
  assert.deepEqual(auc.awards!.map((w) => [w.address, w.energyWh, w.priceMcPerKWh]), [[a.address, 3000, 10_000], [b.address, 2000, 12_000]]);
  assert.equal(auc.excluded!.length, 1);
  assert.equal(f.state.sections.bids.size, 0);
  // after delivery (epoch 2): a delivered 2500 Wh of 3000, b no reading until the deadline
  const after = f.firstSlotOf(3) + 4;
  const aggBefore = balanceOf(f.state, f.aggregator.address);
  f.produce([f.readingTx(a, 2, { p: 1000, c: 500, dis: 2500 }, 1, f.at(after))], after);
  // a: payment 2500 × 10000 / 1000 = 25000 mc; penalty 500 × 5000 / 1000 = 2500 mc
  assert.equal(balanceOf(f.state, a.address), 25_000n - 2_500n);
  assert.equal(f.state.sections.auctions.get('auc-1')!.status, 'closed');
  // deadline: delivery end + settleGrace (30 min = 2 intervals) → b settles with 0 measured
  const deadline = f.firstSlotOf(5);
  f.produce([], deadline);
  // b: penalty 2000 × 5000 / 1000 = 10000 mc
  assert.equal(balanceOf(f.state, b.address), -10_000n);
  assert.equal(f.state.sections.auctions.get('auc-1')!.status, 'settled');
  assert.equal(balanceOf(f.state, f.aggregator.address), aggBefore - 22_500n + 10_000n);
  assert.deepEqual(f.state.meta.active, []);
});

test('PoE election: readings of interval e−2 rank validators; the best produces; it earns the RE reward', () => {
  const f = new ChainFixture();
  const ks = ['v1', 'v2', 'v3'].map((n) => f.key(n));
  f.produce(ks.map((k) => f.certTx(k)));
  const s1 = f.firstSlotOf(1) + 1;
  // [CPF] interval 0 readings: scores |P − (C + ch)| = 100, 0, 50 (discharge is neither P nor C)
  f.produce(
    [
      f.readingTx(ks[0]!, 0, { p: 1000, c: 900 }, 1, f.at(s1)),
      f.readingTx(ks[1]!, 0, { p: 1000, c: 800, ch: 200, dis: 100 }, 1, f.at(s1)),
      f.readingTx(ks[2]!, 0, { p: 0, c: 50 }, 1, f.at(s1)),
    ],
    s1,
  );
  assert.equal(readingScore({ producedWh: 1000, consumedWh: 800, chargedWh: 200, dischargedWh: 100 }), 0);
  const r = rankingForEpoch(f.state, 2);
  assert.deepEqual(r.ranking, [ks[1]!.address, ks[2]!.address, ks[0]!.address]);
  const s2 = f.firstSlotOf(2);
  // [POE-7.3] the index counts windows of W slots since the parent: a heartbeat W slots before
  f.produce([], s2 - 8);
  assert.equal(f.state.meta.rankingEpoch, 1);
  // parent at p = s2 − 8: ⌊(s − p − 1)/8⌋ → s2: 0 → the best-ranked
  assert.equal(producerForSlot(f.state, s2), ks[1]!.address);
  // W = 8 silent slots later the second-ranked may produce, then the third, then [LIVE] the aggregator node, then round again
  assert.equal(producerForSlot(f.state, s2 + 1), ks[2]!.address);
  assert.equal(producerForSlot(f.state, s2 + 9), ks[0]!.address);
  assert.equal(producerForSlot(f.state, s2 + 17), f.node.address);
  assert.equal(producerForSlot(f.state, s2 + 25), ks[1]!.address);
  const b = f.produce([], s2);
  assert.equal(b.block.parameters.header.producer, ks[1]!.address);
  assert.ok(b.block.parameters.header.seedProof, '[SEED] the first block of an epoch carries a VRF proof');
  assert.equal(balanceOf(f.state, ks[1]!.address), 1000n, '[REWARD] W slots covered: the full reward');
  assert.equal(f.state.meta.rankingEpoch, 2);
  assert.ok(stateRoot(f.state).length === 64);
});
