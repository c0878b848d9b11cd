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
import { recomputeFromBlocks, type RawBlock, type RawGenesis } from './recomputeFromBlocks.js';

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
  const { meanBestCpf, ...cpf } = got.cpf;
  assert.deepEqual(cpf, re.cpf);
  assert.deepEqual(got.wallets.items.map((w) => ({ address: w.address, balanceMc: w.balanceMc })), re.wallets.balances);

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
  void b;
});
