/**
 * [SEED] Attack: the producer that fixes an epoch's seed grinds its block to choose who
 * wins a tie. Six validators tie on energy for epoch 2 (equal scores, no earlier
 * intervals), so the seed decides. The seed of epoch 2 is made at the first block of
 * epoch 0; its producer (the aggregator node here) tries many block contents.
 *
 * Outcome checked: every variant gives the same seed, so the same winner (the VRF output
 * depends only on the key and the epoch). Control: under the old rule (seed = hash of
 * that block) the same grinding reaches several winners, so the test can tell.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBlock } from '../core/buildBlock.js';
import { createGenesisState } from '../core/chainState.js';
import { slotTime } from '../core/genesis.js';
import { rankValidators, seedForEpoch } from '../core/rankingForEpoch.js';
import { ChainFixture, testKey } from '../testkit/chainFixture.js';
import { verifySeed } from '../core/epochSeed.js';

const VARIANTS = 200;

test('[SEED] a producer grinding the block that fixes the seed cannot change the epoch\'s winner', () => {
  // the readings that make a six-way tie for epoch 2
  const f = new ChainFixture();
  const vs = ['t-1', 't-2', 't-3', 't-4', 't-5', 't-6'].map((n) => f.key(n));
  f.produce(vs.map((k) => f.certTx(k)));
  const s1 = f.firstSlotOf(1) + 1;
  f.produce(vs.map((k) => f.readingTx(k, 0, { p: 1000, c: 1000 }, 1, f.at(s1))), s1);
  const tied = (seed: string) => rankValidators(f.state.sections, 2, seed, f.genesis);
  assert.equal(new Set(tied(f.genesis.hash).map((v) => `${v.score}/${v.missing}/${v.windowWh}`)).size, 1, 'all six tie on energy');

  // the attacker: many contents for the first block of epoch 0 (the block that fixes the seed of epoch 2)
  const g0 = createGenesisState(f.genesis);
  const seeds = new Set<string>();
  const winners = new Set<string>();
  const oldRuleWinners = new Set<string>();
  for (let i = 0; i < VARIANTS; i++) {
    const tx = f.transferTx(f.aggregator, testKey(`grind/${i}`).address, 1 + i, f.at(1));
    const b = buildBlock(g0, [tx], f.node, 1, slotTime(f.genesis, 1));
    const seed = seedForEpoch(b.state.meta, 2);
    seeds.add(seed);
    winners.add(tied(seed)[0]!.address);
    oldRuleWinners.add(tied(b.hash)[0]!.address); // before [SEED]: seed = that block's hash
  }
  assert.equal(seeds.size, 1, `${VARIANTS} block contents, one seed`);
  assert.equal(winners.size, 1, 'one winner whatever the contents');
  assert.ok(oldRuleWinners.size >= 4, `control: with the block hash as seed, grinding reaches ${oldRuleWinners.size} of 6 winners`);
  console.log(JSON.stringify({ attack: 'seed grinding', variants: VARIANTS, seeds: seeds.size, winners: winners.size, oldRuleWinnersReachable: oldRuleWinners.size }));
});

test('[SEED] the first block of an epoch records the seed its proof gives, and a follower re-derives it', () => {
  const f = new ChainFixture();
  const b = f.produce([f.transferTx(f.aggregator, testKey('x').address, 1)], 1); // the fixture re-validates as a follower
  assert.deepEqual(f.state.meta.seeds.map(([e]) => e), [0]);
  const proof = b.block.parameters.header.seedProof!;
  assert.equal(verifySeed(f.node.address, proof, f.genesis.hash, 0, f.genesis.hash), f.state.meta.seeds[0]![1]);
  assert.equal(verifySeed(f.registry.address, proof, f.genesis.hash, 0, f.genesis.hash), undefined, 'not under another key');
});
