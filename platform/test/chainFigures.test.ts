/**
 * The report's figures (chainFigures.ts, fed block by block with each block's parent state)
 * against the tests' own recomputation from the raw blocks (recomputeFromBlocks.ts), on a
 * chain built with poe-chain's fixture that holds every kind of event a day can: a buy
 * auction with a full delivery, a shortfall and a winner with no reading (penalty at the
 * deadline), a bid above the limit, a sell auction, a void auction, a transfer, block
 * rewards to RE+TE producers and none to the aggregator node. The money figures are also
 * worked out by hand here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChainFixture } from '../../poe-chain/testkit/chainFixture.js';
import { createGenesisState, balanceOf, type ChainState } from '../../poe-chain/core/chainState.js';
import type { KeyPair } from '../../wire/keys.js';
import { createChainTally } from '../chainFigures.js';
import { recomputeElections, recomputeFromBlocks, type RawBlock, type RawGenesis } from './recomputeFromBlocks.js';

function day() {
  const f = new ChainFixture();
  const [a, b, c] = ['hem-a', 'hem-b', 'hem-c'].map((n) => f.key(n)) as [KeyPair, KeyPair, KeyPair];
  f.produce([f.certTx(a), f.certTx(b), f.certTx(c, { programme: 'TE' })]);
  const s1 = f.firstSlotOf(1) + 1;
  f.produce([f.readingTx(a, 0, { p: 1000, c: 900 }, 1, f.at(s1)), f.readingTx(b, 0, { p: 500, c: 500 }, 1, f.at(s1))], s1);
  // buy auction for epoch 3, sell auction for epoch 3, an auction nobody closes and nobody bids in
  const closesAt = new Date(Date.parse(f.interval(2).start) + 10_000).toISOString();
  f.produce([
    f.auctionOpenTx('auc-buy', { side: 'buy', energyWh: 5000, limitMc: 20_000, deliveryEpoch: 3, closesAt }),
    f.auctionOpenTx('auc-sell', { side: 'sell', energyWh: 1000, limitMc: 8_000, deliveryEpoch: 3, closesAt }),
    f.auctionOpenTx('auc-void', { side: 'buy', energyWh: 1000, limitMc: 20_000, deliveryEpoch: 3, closesAt }),
  ]);
  f.produce([
    f.bidTx(a, 'auc-buy', { open: f.openBid('sell', 3000, 10_000) }),
    f.bidTx(b, 'auc-buy', { open: f.openBid('sell', 3000, 12_000) }),
    f.bidTx(c, 'auc-buy', { open: f.openBid('sell', 3000, 25_000) }), // above the limit
    f.bidTx(c, 'auc-sell', { open: f.openBid('buy', 800, 9_000) }),
    f.transferTx(f.aggregator, c.address, 12_345),
  ]);
  const closeSlot = f.firstSlotOf(2) + 40;
  f.produce([f.auctionCloseTx('auc-buy', f.aggregator, f.at(closeSlot)), f.auctionCloseTx('auc-sell', f.aggregator, f.at(closeSlot))], closeSlot);
  // after delivery (epoch 3): a delivers 2500 of 3000; c charged 800; b sends no reading
  const after = f.firstSlotOf(4) + 4;
  f.produce([f.readingTx(a, 3, { p: 1000, c: 500, dis: 2500 }, 2, f.at(after)), f.readingTx(c, 3, { c: 100, ch: 800 }, 1, f.at(after))], after);
  f.produce([], f.firstSlotOf(6)); // b's deadline: delivery end + settleGrace
  return { f, a, b, c };
}

test('the figures of a day: the tally on verified blocks = the recomputation from raw blocks = worked out by hand', () => {
  const { f, a, b, c } = day();
  const tally = createChainTally(f.genesis);
  let parent: ChainState = createGenesisState(f.genesis);
  for (const built of f.blocks) {
    tally.add(built, parent);
    parent = built.state;
  }
  const got = tally.figures();
  const raw = JSON.parse(JSON.stringify(f.blocks.map((x) => x.block))) as RawBlock[];
  const re = recomputeFromBlocks(f.genesis.config as unknown as RawGenesis, raw);

  assert.deepEqual(got.chain, re.chain);
  assert.deepEqual(got.readings, re.readings);
  const { voidReasons, ...auctions } = got.auctions;
  assert.deepEqual(auctions, re.auctions);
  assert.deepEqual(got.energy, re.energy);
  assert.deepEqual(got.payments, re.payments);
  assert.deepEqual(got.cpf, re.cpf);
  assert.deepEqual(got.wallets.items.map((w) => ({ address: w.address, balanceMc: w.balanceMc })), re.wallets.balances);
  assert.deepEqual(got.wallets.items, re.walletItems, 'every wallet: genesis, received, paid, delivered, settlements, rewards, kind');
  assert.deepEqual(got.settlementsPerInterval, re.settlementsPerInterval);
  assert.deepEqual(got.poe, recomputeElections(f.genesis.config as unknown as RawGenesis, raw));

  // by hand
  // [CLOSE] the auction nobody closed is cleared by the chain's clock (no bid: settled, nothing to pay), not void
  assert.deepEqual(got.auctions.byStatus, { open: 0, closed: 0, settled: 3, void: 0 });
  assert.deepEqual(voidReasons, {});
  assert.equal(got.auctions.bidsOnChain, 4);
  assert.deepEqual(got.auctions.bidsExcludedAtClearing, { PRICE_ABOVE_LIMIT: 1 });
  // awards: a 3000 @ 10000, b 2000 @ 12000 (buy); c 800 @ 9000 (sell)
  assert.equal(got.auctions.awardedWh, 5800);
  assert.equal(got.auctions.volumeWeightedAwardPriceMcPerKWh, Math.floor((3000 * 10_000 + 2000 * 12_000 + 800 * 9_000) / 5800));
  assert.equal(got.auctions.minMarginalClearingPriceMcPerKWh, 9_000);
  assert.equal(got.auctions.maxMarginalClearingPriceMcPerKWh, 12_000);
  // a: paid 2500 × 10000 / 1000 = 25000, penalty 500 × 5000 / 1000 = 2500; b: penalty 2000 × 5 = 10000; c pays 800 × 9 = 7200
  assert.equal(got.payments.paidByAggregatorToHomesMc, '25000');
  assert.equal(got.payments.paidByHomesToAggregatorMc, '7200');
  assert.equal(got.payments.penaltiesPaidByHomesMc, '12500');
  assert.equal(got.payments.settlements, 3);
  // [SETTLE-1] one delivery interval (epoch 3): the money in the direction it went
  assert.deepEqual(got.settlementsPerInterval, [{
    interval: f.interval(3).start, deliveryEpoch: 3, auctions: 2, awards: 3, homes: 3, awardedWh: 5800, deliveredWh: 2500 + 0 + 800,
    paidByAggregatorToHomesMc: 25_000, paidByHomesToAggregatorMc: 7200, penaltiesPaidByHomesMc: 12_500,
  }]);
  assert.equal(got.payments.shortfallWh, 2500);
  const wa = got.wallets.items.find((w) => w.address === a.address)!;
  const wc = got.wallets.items.find((w) => w.address === c.address)!;
  const wagg = got.wallets.items.find((w) => w.address === f.aggregator.address)!;
  assert.equal(BigInt(wa.receivedMc), 25_000n + BigInt(wa.rewardMc));
  assert.equal(wa.paidMc, '2500');
  assert.deepEqual([wc.receivedMc, wc.paidMc, wc.balanceMc, wc.kind], ['12345', '7200', '5145', 'home']);
  assert.deepEqual([wagg.receivedMc, wagg.paidMc, wagg.kind], [String(7200 + 12_500), String(25_000 + 12_345), 'aggregator']);
  for (const w of got.wallets.items) assert.equal(w.balanceMc, String(balanceOf(f.state, w.address)), `${w.address} = the chain's balance`);
  assert.equal(got.wallets.conserved, true);
  assert.deepEqual(got.wallets.unexplained, []);
  assert.equal(BigInt(got.wallets.totalMc), BigInt(got.wallets.genesisTotalMc) + BigInt(got.payments.blockRewardsMintedMc));
  // rewards only to RE+TE producers; the aggregator node produced while nobody was ranked
  const nodeRow = got.chain.producers.find((p) => p.address === f.node.address)!;
  assert.equal(nodeRow.rewardMc, '0');
  assert.ok(BigInt(got.payments.blockRewardsMintedMc) > 0n);
  assert.equal(got.chain.pseudonymsCertified, 3);
  assert.equal(got.chain.validatorPseudonymsCertified, 2);
  assert.equal(got.readings.onChain, 4);
  assert.equal(got.readings.pseudonyms, 3);
  // [CF-7] epoch 2 ranks a (|1000 − 900| = 100 Wh) and b (0 Wh) by their readings of interval 0: the score decides
  assert.deepEqual([got.poe.epochsWithValidators, got.poe.decidedByEnergy, got.poe.decidedBySeed, got.poe.decidedBy], [1, 1, 0, { single: 0, score: 1, window: 0, seed: 0 }]);
  void b;
});

/**
 * A P2P day [MKT]: two intervals' markets — interval 2 is Christidis's Fig. 3.1 (a 1 kWh @ 11, b
 * 2 kWh @ 7 buy; c 1 kWh @ 5, d 1 kWh @ 6 sell) with e's order never revealed; interval 3 has a
 * registry feeder limit put on chain by a feeder-limit transaction (F1 export 300 Wh; an
 * auction-open in the same block carries a looser 5000 Wh, which the P2P market ignores
 * [FEEDER-1]), the aggregator buying, and a buyer capped by its credit; readings settle both,
 * one fill waits for the deadline.
 */
function p2pDay() {
  const f = new ChainFixture({ genesis: { creditLimitMc: 20_000 } });
  const [a, b, c, d, e] = ['p-a', 'p-b', 'p-c', 'p-d', 'p-e'].map((n) => f.key(n)) as [KeyPair, KeyPair, KeyPair, KeyPair, KeyPair];
  f.produce([f.certTx(a), f.certTx(b), f.certTx(c, { feeder: 'F2' }), f.certTx(d), f.certTx(e)]);
  const t = f.state.meta.tipSlot + 1;
  const limitsAt = new Date(Date.parse(f.interval(3).start)).toISOString();
  const o = {
    a: f.marketOrder(a, 'o-a', { side: 'buy', energyWh: 1000, priceMc: 11_000, firstEpoch: 2 }),
    b: f.marketOrder(b, 'o-b', { side: 'buy', energyWh: 2000, priceMc: 7_000, firstEpoch: 2, intervals: 2 }),
    c: f.marketOrder(c, 'o-c', { side: 'sell', energyWh: 1000, priceMc: 5_000, firstEpoch: 2, feeder: 'F2' }),
    d: f.marketOrder(d, 'o-d', { side: 'sell', energyWh: 1000, priceMc: 6_000, firstEpoch: 2, intervals: 2 }),
    e: f.marketOrder(e, 'o-e', { side: 'sell', energyWh: 500, priceMc: 1_000, firstEpoch: 2 }),
    agg: f.marketOrder(f.aggregator, 'o-agg', { side: 'buy', energyWh: 400, priceMc: 9_000, firstEpoch: 3, feeder: 'VPP' }),
  };
  f.produce(Object.values(o).map((x) => x.tx(f.at(t))), t);
  const close2 = 2 * 3600 - 1440;
  f.produce([o.a, o.b, o.c, o.d].map((x) => x.reveal(f.at(close2))), close2);
  f.produce([], 2 * 3600 - 1200); // interval 2 clears
  const close3 = 3 * 3600 - 1440;
  f.produce([
    o.agg.reveal(f.at(close3)),
    f.feederLimitTx(f.feederLimit('F1', 300, 100_000, { issuedAt: f.at(close3) }), f.aggregator, f.at(close3)),
    f.auctionOpenTx('auc-lim', { deliveryEpoch: 4, closesAt: limitsAt, feederLimits: [{ feeder: 'F1', maxExportWh: 5000, maxImportWh: 100_000 }] }, f.aggregator, f.at(close3)),
  ], close3);
  f.produce([], 3 * 3600 - 1200); // interval 3: d sells at most 300 (F1 export), b and the aggregator buy
  const after2 = 3 * 3600 + 4;
  f.produce([f.readingTx(c, 2, { p: 1500, c: 300 }, 1, f.at(after2)), f.readingTx(d, 2, { p: 600 }, 1, f.at(after2)), f.readingTx(a, 2, { c: 1000 }, 1, f.at(after2)), f.readingTx(b, 2, { c: 700, p: 200 }, 1, f.at(after2))], after2);
  const after3 = 4 * 3600 + 4;
  f.produce([f.readingTx(d, 3, { p: 900, c: 100 }, 2, f.at(after3))], after3); // b sends no reading for 3
  f.produce([], 4 * 3600 + f.genesis.settleGraceMs / f.genesis.slotMs);
  return { f, a, b, c, d, e };
}

test('[CF-8] the P2P figures: the tally on verified blocks = the recomputation from raw blocks; money explained and conserved', () => {
  const { f, e } = p2pDay();
  const tally = createChainTally(f.genesis);
  let parent: ChainState = createGenesisState(f.genesis);
  for (const built of f.blocks) {
    tally.add(built, parent);
    parent = built.state;
  }
  const got = tally.figures();
  const raw = JSON.parse(JSON.stringify(f.blocks.map((x) => x.block))) as RawBlock[];
  const re = recomputeFromBlocks(f.genesis.config as unknown as RawGenesis, raw);
  assert.deepEqual(got.p2p, re.p2p);
  assert.deepEqual(got.wallets.items.map((w) => ({ address: w.address, balanceMc: w.balanceMc })), re.wallets.balances);
  assert.deepEqual(got.wallets.items, re.walletItems, 'every wallet: received and paid with the P2P flows');
  for (const w of got.wallets.items) assert.equal(w.balanceMc, String(balanceOf(f.state, w.address)), `${w.address} = the chain's balance`);
  assert.deepEqual(got.wallets.unexplained, []);
  assert.equal(got.wallets.conserved, true);
  // by hand: interval 2 trades 2000 Wh at 6500; interval 3: d's 1000 Wh standing offer is cut to F1's 300 Wh,
  // b (2000 Wh @ 7000, credit room 20000 − 6500 reserved + its balance) and the aggregator (400 @ 9000) buy
  const m3 = f.state.sections.markets.get('3')!;
  assert.equal(m3.volumeWh, 300);
  assert.equal(got.p2p.intervalsCleared, 2);
  assert.equal(got.p2p.intervalsTraded, 2);
  assert.equal(got.p2p.tradedWh, 2300);
  assert.equal(got.p2p.orders, 6);
  assert.equal(got.p2p.reveals, 5);
  assert.equal(got.p2p.unrevealedFeesMc, '10000');
  assert.equal(got.p2p.homesTrading, 4);
  assert.ok(got.p2p.aggregatorTradedWh > 0, 'the aggregator bought in interval 3');
  assert.ok(BigInt(got.p2p.imbalancePaidMc) > 0n, 'shortfalls paid');
  assert.ok(got.p2p.communitySelfSufficiency !== null);
  void e;
});

/**
 * [CF-9] Final versus unconfirmed: for every final height F of both days, the figures split the
 * money by the block that moved it, and each wallet's final balance is its balance in the
 * chain's own state at height F (the states the fixture kept), whatever F is.
 */
test('[CF-9] final and unconfirmed money: at every final height, final balances = the chain state at that height, the split adds up', () => {
  for (const { f } of [day(), p2pDay()]) {
    const tally = createChainTally(f.genesis);
    let parent: ChainState = createGenesisState(f.genesis);
    for (const built of f.blocks) {
      tally.add(built, parent);
      parent = built.state;
    }
    const head = f.blocks.length;
    const all = tally.figures({ localFinalizedHeight: head });
    for (let F = 0; F <= head; F++) {
      const got = tally.figures({ localFinalizedHeight: F });
      const x = got.finality;
      assert.equal(x.finalizedHeight, F);
      assert.equal(x.headHeight, head);
      assert.equal(x.blocksNotFinal, head - F);
      // the fixture carries no justification: the chain proves only genesis, the node's record is higher
      assert.equal(x.finalizedProvenOnChainHeight, 0);
      assert.equal(x.finalizedHeightSource, F > 0 ? 'node' : 'chain');
      const atF = F === 0 ? createGenesisState(f.genesis) : f.blocks[F - 1]!.state;
      const changed = new Map(x.wallets.withUnconfirmedChange.map((w) => [w.address, w]));
      for (const w of got.wallets.items) {
        const finalMc = changed.get(w.address)?.finalBalanceMc ?? w.balanceMc;
        assert.equal(finalMc, String(balanceOf(atF, w.address)), `F=${F} ${w.address}: final balance = the state at height F`);
      }
      assert.equal(BigInt(x.wallets.finalTotalMc) + BigInt(x.wallets.unconfirmedChangeTotalMc), BigInt(got.wallets.totalMc));
      // each settlement counted once, in the final or the unconfirmed blocks, by the block that settled it
      const a = x.auctionSettlements;
      assert.equal(a.inFinalBlocks.settlements + a.inUnconfirmedBlocks.settlements, got.payments.settlements);
      for (const k of ['paidByAggregatorToHomesMc', 'paidByHomesToAggregatorMc', 'penaltiesPaidByHomesMc'] as const) {
        assert.equal(BigInt(a.inFinalBlocks[k]) + BigInt(a.inUnconfirmedBlocks[k]), BigInt(got.payments[k]), `F=${F} ${k}`);
      }
      const p = x.p2pSettlements;
      assert.equal(BigInt(p.inFinalBlocks.paidToSellersMc) + BigInt(p.inUnconfirmedBlocks.paidToSellersMc), BigInt(got.p2p.paidToSellersMc));
      assert.equal(BigInt(p.inFinalBlocks.paidByBuyersMc) + BigInt(p.inUnconfirmedBlocks.paidByBuyersMc), BigInt(got.p2p.paidByBuyersMc));
      assert.equal(BigInt(x.blockRewardsMinted.inFinalBlocksMc) + BigInt(x.blockRewardsMinted.inUnconfirmedBlocksMc), BigInt(got.payments.blockRewardsMintedMc));
      // nothing else changes with F
      assert.deepEqual({ ...got, finality: undefined }, { ...all, finality: undefined });
    }
    // all final: nothing unconfirmed
    assert.deepEqual(all.finality.wallets.withUnconfirmedChange, []);
    assert.equal(all.finality.auctionSettlements.inUnconfirmedBlocks.settlements, 0);
  }
  // the day's last block settles b's penalty at the deadline: with the block before it final, that penalty is unconfirmed
  const { f, b } = day();
  const tally = createChainTally(f.genesis);
  let parent: ChainState = createGenesisState(f.genesis);
  for (const built of f.blocks) {
    tally.add(built, parent);
    parent = built.state;
  }
  const x = tally.figures({ localFinalizedHeight: f.blocks.length - 1 }).finality;
  assert.deepEqual(x.auctionSettlements.inUnconfirmedBlocks, { settlements: 1, deliveredWh: 0, paidByAggregatorToHomesMc: '0', paidByHomesToAggregatorMc: '0', penaltiesPaidByHomesMc: '10000' });
  const wb = x.wallets.withUnconfirmedChange.find((w) => w.address === b.address)!;
  assert.equal(wb.unconfirmedChangeMc, '-10000');
  // without the node's record, the chain's proof decides (the fixture proves only genesis)
  assert.deepEqual([tally.figures().finality.finalizedHeight, tally.figures().finality.finalizedHeightSource], [0, 'chain']);
});
