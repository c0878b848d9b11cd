/**
 * Each invariant check of the simulator (poe-chain/sim/simInvariants.ts) fails when it
 * should: fed a crafted, inconsistent view, it reports the violation; fed a consistent one,
 * nothing. So no invariant of `npm run sim:chain` is one that cannot fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGenesisState, StateDraft, type ChainState } from '../../core/chainState.js';
import { parseGenesis } from '../../core/genesis.js';
import { FinalityCheck, headsAgree, lostTxVerdict, moneyViolation, type Holding } from '../../sim/simInvariants.js';
import { simGenesisConfig } from '../../sim/simulate.js';
import { testKey } from '../../testkit/chainFixture.js';

const chainOf = (prefix: string) => (h: number) => Promise.resolve(h === 0 ? 'genesis' : `${prefix}${h}`);

test('[SIM-FINAL] two nodes with different final blocks at one height: final-conflict', async () => {
  const f = new FinalityCheck();
  assert.equal(await f.observe('a', { height: 5, hash: 'x5' }, 37, chainOf('x')), undefined);
  assert.equal(await f.observe('b', { height: 3, hash: 'x3' }, 35, chainOf('x')), undefined, 'a prefix of the same chain agrees');
  const v = await f.observe('b', { height: 7, hash: 'y7' }, 39, (h) => Promise.resolve(h <= 3 ? `x${h}` : `y${h}`));
  assert.equal(v?.invariant, 'final-conflict');
  assert.match(v!.detail, /height=4 a=x4 b=y4/);
});

test('[SIM-FINAL] a node whose final block changes: final-changed (also after a restart below it)', async () => {
  const f = new FinalityCheck();
  assert.equal(await f.observe('a', { height: 6, hash: 'x6' }, 38, chainOf('x')), undefined);
  const v = await f.observe('a', { height: 8, hash: 'z8' }, 40, chainOf('z'));
  assert.equal(v?.invariant, 'final-changed');
  const g = new FinalityCheck();
  await g.observe('a', { height: 6, hash: 'x6' }, 38, chainOf('x'));
  // restarted at a lower final height, then its chain at 6 is another block
  assert.equal(await g.observe('a', { height: 2, hash: 'x2' }, 20, chainOf('x')), undefined);
  assert.equal((await g.observe('a', { height: 4, hash: 'x4' }, 36, (h) => Promise.resolve(h === 6 ? 'w6' : `x${h}`)))?.invariant, 'final-changed');
});

test('[SIM-FINAL] a final block that is not on the node\'s own chain: final-off-chain', async () => {
  const f = new FinalityCheck();
  const v = await f.observe('a', { height: 5, hash: 'y5' }, 9, chainOf('x'));
  assert.equal(v?.invariant, 'final-off-chain');
  assert.equal(await new FinalityCheck().observe('a', { height: 5, hash: 'x5' }, 9, chainOf('x')), undefined);
});

function credited(state: ChainState, address: string, mc: bigint, reward = 0n): ChainState {
  const d = new StateDraft(state);
  d.credit(address, mc);
  if (reward > 0n) d.s.rewards.set(address, reward.toString());
  return d.finish(state.tipHash);
}

test('[SIM-MONEY] money from nowhere: money; rewards beyond blockRewardMc per W slots: mint-bound', () => {
  const g = parseGenesis(simGenesisConfig());
  const s0 = createGenesisState(g);
  assert.equal(moneyViolation(s0), undefined);
  const who = testKey('sim/user-0').address;
  assert.equal(moneyViolation(credited(s0, who, 5n))?.invariant, 'money');
  // a reward recorded but not paid out is as wrong as one paid and not recorded
  assert.equal(moneyViolation(credited(s0, who, 0n, 1000n))?.invariant, 'money');
  // minted and recorded alike, but at tip slot 0 nothing may have been minted yet
  assert.equal(moneyViolation(credited(s0, who, 1000n, 1000n))?.invariant, 'mint-bound');
  // a transfer moves money and changes nothing
  const d = new StateDraft(s0);
  d.credit(who, -700n);
  d.credit(testKey('sim/user-1').address, 700n);
  assert.equal(moneyViolation(d.finish(s0.tipHash)), undefined);
});

test('[SIM-CONVERGE] heads agree only when they are one block', () => {
  assert.ok(headsAgree([{ node: 'a', hash: 'h' }, { node: 'b', hash: 'h' }]));
  assert.ok(!headsAgree([{ node: 'a', hash: 'h' }, { node: 'b', hash: 'k' }]));
  assert.ok(!headsAgree([]));
});

test('[SIM-NO-LOSS] only the documented cases excuse a lost transaction; a stranded one is told apart; anything else fails', () => {
  const h = (o: Partial<Holding>): Holding => ({ node: 'v1', journal: false, via: 'submit', at: 1, crashedAfter: false, ...o });
  assert.deepEqual(lostTxVerdict('t', true, [h({})]), { lost: false });
  // every holder crashed without a journal [NODE-J]
  assert.equal((lostTxVerdict('t', false, [h({ crashedAfter: true }), h({ node: 'v2', via: 'gossip', crashedAfter: true })]) as { excused?: string }).excused, 'NODE-J journal off');
  // the journaled node held it only as a transaction back from an orphaned block [MP-10]
  assert.equal((lostTxVerdict('t', false, [h({ node: 'agg', journal: true, via: 'readd', crashedAfter: true })]) as { excused?: string }).excused, 'NODE-J MP-10 readd');
  // the journaled node received it and crashed: its journal should have brought it back
  const j = lostTxVerdict('t', false, [h({ node: 'agg', journal: true, via: 'gossip', crashedAfter: true })]);
  assert.ok(j.lost && !('excused' in j) && !('known' in j), JSON.stringify(j));
  // a live holder still has it waiting: stranded (a known issue, counted)
  assert.equal((lostTxVerdict('t', false, [h({ probe: 'known' }), h({ node: 'v2', crashedAfter: true })]) as { known?: string }).known, 'stranded');
  // a live holder no longer has it (it would admit it afresh): lost
  const gone = lostTxVerdict('t', false, [h({ probe: 'admitted' })]);
  assert.ok(gone.lost && !('excused' in gone) && !('known' in gone));
  // nobody held it
  const none = lostTxVerdict('t', false, []);
  assert.ok(none.lost && !('excused' in none) && !('known' in none));
});
