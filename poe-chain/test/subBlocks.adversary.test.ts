/**
 * [SUB] Attacks on the run of blocks a producer may make at one slot (up to BLOCKS_PER_SLOT,
 * each the child of the one before, each with transactions). Who gains by bending the rule:
 *   - the producer, farming rewards by splitting a slot into five blocks;
 *   - the producer, outweighing another branch in fork choice by splitting its slot;
 *   - anyone, framing an honest producer with two blocks of its run as "equivocation";
 *   - the producer, forking its own run (two blocks at one place) unseen.
 * Each test has its control: the same act where the rule does bite, so the test can tell.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBlock } from '../core/buildBlock.js';
import { BlockError } from '../core/chainError.js';
import { compareTips } from '../core/forkChoice.js';
import { slotTime } from '../core/genesis.js';
import { validateAndApplyBlock } from '../core/validateAndApplyBlock.js';
import type { ChainState } from '../core/chainState.js';
import { EquivocationWatch } from '../node/equivocationWatch.js';
import { ChainFixture } from '../testkit/chainFixture.js';
import { forgeBlock } from '../testkit/forgeBlock.js';

/** A chain in epoch 2 whose ranking is [A, B] (A scores 0, B 500), the tip a block at slot p. */
function rankedChain() {
  const f = new ChainFixture();
  const A = f.key('sub-a');
  const B = f.key('sub-b');
  f.produce([f.certTx(A), f.certTx(B)]);
  const s1 = f.firstSlotOf(1) + 1;
  f.produce([f.readingTx(A, 0, { p: 1000, c: 1000 }, 1, f.at(s1)), f.readingTx(B, 0, { p: 1000, c: 1500 }, 1, f.at(s1))], s1);
  f.produce([], f.firstSlotOf(2) + 1); // whoever the wrap elects: the first block of epoch 2
  f.produce([f.transferTx(f.aggregator, B.address, 1, f.at(f.state.meta.tipSlot + 1))]); // p + 1 → A
  assert.equal(f.blocks.at(-1)!.block.parameters.header.producer, A.address, 'A is elected first in epoch 2');
  return { f, A, B };
}

const rewardsOf = (st: ChainState, address: string) => BigInt(st.sections.rewards.get(address) ?? '0');

test('[SUB] a producer that splits its slot into five blocks earns what one block of that slot earns', () => {
  const { f, A, B } = rankedChain();
  const before = rewardsOf(f.state, A.address);
  const s = f.state.meta.tipSlot + 1;
  for (let i = 0; i < 5; i++) f.produce([f.transferTx(f.aggregator, B.address, 10 + i, f.at(s))], s);
  const subs = f.blocks.slice(-5).map((b) => b.block.parameters.header.sub ?? 0);
  assert.deepEqual(subs, [0, 1, 2, 3, 4], 'five blocks at one slot, places 0 to 4');
  const perSlot = f.genesis.blockRewardMc / BigInt(f.genesis.patience); // s − p = 1
  assert.equal(rewardsOf(f.state, A.address) - before, perSlot, 'the run earned one slot\'s reward');
  assert.equal(f.state.meta.subBlocks, 4);
  // control: the next slot's block (A again, the first elected after its own block) earns another slot's reward
  f.produce([f.transferTx(f.aggregator, B.address, 99, f.at(s + 1))], s + 1);
  assert.equal(rewardsOf(f.state, A.address) - before, 2n * perSlot, 'control: a block at a new slot is paid');
  // and a sixth block at the slot is refused, with or without a place
  const full = f.blocks.at(-2)!.state;
  assert.throws(() => buildBlock(full, [f.transferTx(f.aggregator, B.address, 7, f.at(s))], A, s, slotTime(f.genesis, s)), (e: unknown) => e instanceof BlockError && e.code === 'BAD_SLOT');
});

test('[SUB] nobody can frame a producer with two blocks of its run: no evidence, no penalty', () => {
  const { f, A, B } = rankedChain();
  const s = f.state.meta.tipSlot + 1;
  const b0 = f.produce([f.transferTx(f.aggregator, B.address, 10, f.at(s))], s);
  const b1 = f.produce([f.transferTx(f.aggregator, B.address, 11, f.at(s))], s);
  const watch = new EquivocationWatch(f.genesis.hash);
  assert.equal(watch.observe(b0.block.parameters), undefined);
  assert.equal(watch.observe(b1.block.parameters), undefined, 'the node sees no conflict in a run');
  const frame = f.sign(B, 'evidence', { a: { header: b0.block.parameters.header, headerSignature: b0.block.parameters.headerSignature }, b: { header: b1.block.parameters.header, headerSignature: b1.block.parameters.headerSignature } }, f.at(s + 1));
  const earned = rewardsOf(f.state, A.address);
  assert.ok(earned > 0n);
  const built = buildBlock(f.state, [frame, f.transferTx(f.aggregator, B.address, 12, f.at(s + 1))], A, s + 1, slotTime(f.genesis, s + 1));
  assert.deepEqual(built.rejected.map((r) => r.code), ['BAD_EVIDENCE'], 'a producer leaves the framing evidence out');
  // a block that carries it anyway is refused by every node
  const withIt = forgeBlock(f.state, { slot: s + 1, producer: A, txs: [frame] });
  assert.throws(() => validateAndApplyBlock(f.state, withIt, { now: slotTime(f.genesis, s + 1) }), (e: unknown) => e instanceof BlockError && e.code === 'BAD_TX' && e.context.reason === 'BAD_EVIDENCE');
  assert.equal(f.state.sections.equivocators.has(A.address), false);
  assert.equal(rewardsOf(f.state, A.address), earned);
});

test('[SUB] two different blocks at one place of a run are equivocation: seen, proven, punished', () => {
  const { f, A, B } = rankedChain();
  const s = f.state.meta.tipSlot + 1;
  f.produce([f.transferTx(f.aggregator, B.address, 10, f.at(s))], s);
  const parent = f.state;
  // A makes place 1 twice, with different transactions: two branches from its own place 0
  const x = buildBlock(parent, [f.transferTx(f.aggregator, B.address, 11, f.at(s))], A, s, slotTime(f.genesis, s));
  const y = buildBlock(parent, [f.transferTx(f.aggregator, B.address, 12, f.at(s))], A, s, slotTime(f.genesis, s));
  assert.equal(x.block.parameters.header.sub, 1);
  assert.equal(y.block.parameters.header.sub, 1);
  const watch = new EquivocationWatch(f.genesis.hash);
  assert.equal(watch.observe(x.block.parameters), undefined);
  const evidence = watch.observe(y.block.parameters);
  assert.ok(evidence !== undefined, 'the node sees two blocks at one place');
  f.state = x.state;
  const earned = rewardsOf(f.state, A.address);
  assert.ok(earned > 0n);
  // the next block (A is still first in the order) carries the evidence: A is punished
  f.produce([f.sign(B, 'evidence', evidence, f.at(s + 1))], s + 1);
  assert.ok(f.state.sections.equivocators.has(A.address), 'A recorded as an equivocator');
  assert.equal(rewardsOf(f.state, A.address), 0n, 'its rewards taken back');
});

test('[SUB] fork choice weighs a run as one block: splitting a slot does not outweigh a branch with more slots', () => {
  const { f, A, B } = rankedChain();
  const fork = f.state;
  const s = fork.meta.tipSlot + 1;
  // branch X: A's run of five blocks at slot s
  let x = fork;
  for (let i = 0; i < 5; i++) x = buildBlock(x, [f.transferTx(f.aggregator, B.address, 20 + i, f.at(s))], A, s, slotTime(f.genesis, s)).state;
  // branch Y: one block at slot s and one at s + 1 (A both times: it is first after its own block)
  let y = fork;
  for (const t of [s, s + 1]) y = buildBlock(y, [f.transferTx(f.aggregator, B.address, 40 + t - s, f.at(t))], A, t, slotTime(f.genesis, t)).state;
  const tip = (st: ChainState) => ({ height: st.meta.height, slot: st.meta.tipSlot, hash: st.tipHash, subBlocks: st.meta.subBlocks ?? 0 });
  assert.equal(x.meta.height, fork.meta.height + 5);
  assert.equal(y.meta.height, fork.meta.height + 2);
  assert.ok(compareTips(tip(y), tip(x)) < 0, 'Y (two slots) is the better tip than X (one slot, five blocks)');
  // control: counted by height alone, X would win
  assert.ok(compareTips({ ...tip(x), subBlocks: 0 }, { ...tip(y), subBlocks: 0 }) < 0, 'control: by height, X would win');
});
