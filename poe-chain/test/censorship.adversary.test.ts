/**
 * [CENSOR] Attack: the top-ranked validator leaves a rival's reading out of every block it
 * makes, so that the rival, whose energy would rank it first in the next epoch, is not
 * ranked at all. With [LIVE] the top validator produces every block while it is live, so
 * no other ranked validator ever gets a turn to include the reading.
 *
 * Outcome checked: the inclusion window (the last slots of every epoch belong to the
 * aggregator's node, which includes every valid reading it holds) puts the reading on
 * chain in time, and the rival ranks first. Control: the same censorship on a chain whose
 * genesis has no inclusion window keeps the rival out of the ranking.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inclusionWindowStart } from '../core/genesis.js';
import { producerForSlot } from '../core/electProducer.js';
import { rankingForEpoch } from '../core/rankingForEpoch.js';
import { ChainFixture } from '../testkit/chainFixture.js';

function censoredDay(inclusionSlots: number) {
  const f = new ChainFixture({ genesis: { inclusionSlots } });
  const [V1, V2] = ['censor', 'rival'].map((n) => f.key(n)) as [ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>];
  f.produce([f.certTx(V1), f.certTx(V2)]);
  const s1 = f.firstSlotOf(1) + 1;
  // interval 0: V1 scores 0, V2 100 → V1 tops epoch 2 and produces its blocks
  f.produce([f.readingTx(V1, 0, { p: 1000, c: 1000 }, 1, f.at(s1)), f.readingTx(V2, 0, { p: 1000, c: 1100 }, 1, f.at(s1))], s1);
  const W = f.genesis.patience;
  const s2 = f.firstSlotOf(2);
  f.produce([], s2 - W);
  assert.equal(producerForSlot(f.state, s2), V1.address);
  // interval 1: V2 scores 0, V1 50 → V2 should top epoch 3. V1 includes its own reading only.
  const rivalReading = f.readingTx(V2, 1, { p: 1000, c: 1000 }, 2, f.at(s2));
  f.produce([f.readingTx(V1, 1, { p: 1000, c: 1050 }, 2, f.at(s2))], s2);
  // V1 stays live: a heartbeat every W slots, never the rival's reading; whenever another
  // producer's turn comes, that producer includes what it holds (the rival's reading)
  const s3 = f.firstSlotOf(3);
  let slot = s2 + W;
  let censoredBlocks = 1;
  let includedAt: number | undefined;
  while (slot < s3) {
    const producer = producerForSlot(f.state, slot);
    if (producer === V1.address) {
      f.produce([], slot);
      censoredBlocks++;
      slot += W;
    } else {
      f.produce(includedAt === undefined ? [rivalReading] : [], slot);
      includedAt ??= slot;
      slot = Math.max(slot + 1, f.state.meta.tipSlot + W);
    }
  }
  return { f, V1, V2, ranking: rankingForEpoch(f.state, 3).ranking, censoredBlocks, includedAt, s3 };
}

test('[CENSOR] a top producer leaving a rival\'s reading out: the inclusion window puts it on chain and the rival ranks first', () => {
  const { f, V1, V2, ranking, censoredBlocks, includedAt, s3 } = censoredDay(8);
  assert.ok(includedAt !== undefined, 'included');
  assert.equal(includedAt, inclusionWindowStart(f.genesis, s3 - 1), 'by the aggregator node at the start of the inclusion window');
  assert.deepEqual(ranking, [V2.address, V1.address], 'the rival ranks where its energy puts it');
  console.log(JSON.stringify({ attack: 'censoring a rival reading', censoredBlocks, includedAtSlotOfEpoch: includedAt! % (f.genesis.intervalMs / f.genesis.slotMs), rankingOfRival: ranking.indexOf(V2.address) + 1 }));
});

test('[CENSOR] control: without an inclusion window the same censorship keeps the rival out', () => {
  const { V1, V2, ranking, includedAt } = censoredDay(0);
  assert.equal(includedAt, undefined, 'no other producer ever had a turn');
  assert.deepEqual(ranking, [V1.address], 'the rival is not ranked');
  assert.ok(!ranking.includes(V2.address));
});
