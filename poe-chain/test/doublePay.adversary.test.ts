/**
 * [SETTLE-1] Attack: a home wins two auctions for one delivery interval (e.g. a manual
 * VPP post and a deviation auction) and discharges once; a greedier one also holds two
 * pseudonyms of its meter (same [SYBIL] tag), wins one auction with each and posts the
 * same reading under both. Under the rule before [SETTLE-1] each award was settled as
 * min(awarded, measured) against the same reading, so one discharge was paid twice.
 *
 * The chain is the real state transition with real signatures: blocks built by the
 * fixture (buildBlock) and imported again by a follower (validateAndApplyBlock) from
 * the genesis, which must reach the same state root.
 *
 * Outcome checked: the Wh paid to the meter equal what it measured, never the sum of
 * the awards; the money the home receives is exactly the payment for the measured Wh
 * (in bid inclusion order) less the penalty for the rest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChainFixture } from '../testkit/chainFixture.js';
import { balanceOf, createGenesisState, stateRoot } from '../core/chainState.js';
import { validateAndApplyBlock } from '../core/validateAndApplyBlock.js';
import { slotTime } from '../core/genesis.js';

function follow(f: ChainFixture): string {
  let s = createGenesisState(f.genesis);
  for (const b of f.blocks) s = validateAndApplyBlock(s, JSON.parse(JSON.stringify(b.block)), { now: slotTime(f.genesis, b.block.parameters.header.slot) }).state;
  return stateRoot(s);
}

function twoAuctions(f: ChainFixture) {
  const closesAt = new Date(Date.parse(f.interval(1).start) + 10_000).toISOString();
  f.produce([
    f.auctionOpenTx('vpp', { side: 'buy', energyWh: 4000, limitMc: 20_000, deliveryEpoch: 2, closesAt }),
    f.auctionOpenTx('deviation', { side: 'buy', energyWh: 4000, limitMc: 20_000, deliveryEpoch: 2, closesAt }),
  ]);
  return f.firstSlotOf(1) + 40;
}

test('[SETTLE-1] one pseudonym wins two auctions for one interval: paid once for what it measured', () => {
  const f = new ChainFixture();
  const home = f.key('home');
  f.produce([f.certTx(home)]);
  const close = twoAuctions(f);
  f.produce([f.bidTx(home, 'vpp', { open: f.openBid('sell', 3000, 12_000) }), f.bidTx(home, 'deviation', { open: f.openBid('sell', 3000, 15_000) })]);
  f.produce([f.auctionCloseTx('vpp', f.aggregator, f.at(close)), f.auctionCloseTx('deviation', f.aggregator, f.at(close))], close);
  const before = balanceOf(f.state, home.address);
  const after = f.firstSlotOf(3) + 1;
  f.produce([f.readingTx(home, 2, { c: 200, dis: 3500 }, 1, f.at(after))], after);
  const got = balanceOf(f.state, home.address) - before;
  const vpp = f.state.sections.auctions.get('vpp')!.awards![0]!.settlement!;
  const dev = f.state.sections.auctions.get('deviation')!.awards![0]!.settlement!;
  // vpp's bid came first: 3000 Wh at 12000; deviation gets the 500 Wh left at 15000 and a 2500 Wh shortfall
  assert.deepEqual([vpp.deliveredWh, dev.deliveredWh, dev.priorWh], [3000, 500, 3000]);
  assert.equal(got, 36_000n + 7_500n - 12_500n, 'payments for 3500 Wh less the penalty for 2500 Wh');
  // the old rule would have paid 3000 Wh twice: 36000 + 45000 mc
  assert.ok(got < 81_000n);
  assert.equal(follow(f), stateRoot(f.state), 'a follower importing the blocks reaches the same state');
});

test('[SETTLE-1] two pseudonyms of one meter, one award each, the same reading posted twice: paid once', () => {
  const f = new ChainFixture();
  const p1 = f.key('home-p1');
  const p2 = f.key('home-p2');
  const tag = 'ab'.repeat(32);
  f.produce([f.certTx(p1, { tag }), f.certTx(p2, { tag })]);
  const close = twoAuctions(f);
  f.produce([f.bidTx(p1, 'vpp', { open: f.openBid('sell', 3000, 12_000) }), f.bidTx(p2, 'deviation', { open: f.openBid('sell', 3000, 12_000) })]);
  f.produce([f.auctionCloseTx('vpp', f.aggregator, f.at(close)), f.auctionCloseTx('deviation', f.aggregator, f.at(close))], close);
  const b1 = balanceOf(f.state, p1.address);
  const b2 = balanceOf(f.state, p2.address);
  const after = f.firstSlotOf(3) + 1;
  f.produce([f.readingTx(p1, 2, { dis: 3000 }, 1, f.at(after)), f.readingTx(p2, 2, { dis: 3000 }, 1, f.at(after))], after);
  const s1 = f.state.sections.auctions.get('vpp')!.awards![0]!.settlement!;
  const s2 = f.state.sections.auctions.get('deviation')!.awards![0]!.settlement!;
  assert.equal(s1.deliveredWh + s2.deliveredWh, 3000, 'one meter, one measurement of 3000 Wh');
  assert.deepEqual([s1.deliveredWh, s2.deliveredWh], [3000, 0]);
  assert.equal(balanceOf(f.state, p1.address) - b1 + balanceOf(f.state, p2.address) - b2, 36_000n - 15_000n);
  assert.equal(follow(f), stateRoot(f.state));
});
