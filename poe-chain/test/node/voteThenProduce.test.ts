/**
 * [FIN-V] The vote cast in round r is for round r − 1: its target is the last block of slot ≤
 * r − 1 on the voter's chain. A block made at slot r after the vote leaves the target the head
 * of its round, so a producer may vote and then produce in the same slot, and the chain takes
 * the justification. (Before, a node voted for round r's own head: a block of slot r made after
 * the vote broke it, so the producer had to skip the slot it voted in [FIN-1], and a round-r
 * block that reached voters after their vote cost the chain its proof — the simulator's bug 6.)
 * Driven by a fake clock: one producer, its own committee.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signEnvelope } from '../../../wire/codec.js';
import { parseGenesis, slotAt, slotTime } from '../../core/genesis.js';
import { testKey } from '../../testkit/chainFixture.js';
import { NODE_TOPICS } from '../../node/nodeTopics.js';
import { connect, liveGenesisConfig, startAedes, startNode, waitFor, type RunningNode } from './nodeFixtures.js';
import type { Genesis } from '../../core/genesis.js';
import type { KeyPair } from '../../../wire/keys.js';
import type { Envelope } from '../../../schemas/types.js';

/** A live chain with a funded wallet; `a`, 40 slots on, is the test's slot, and the fake clock starts 30 slots before it. */
function fundedChain() {
  const funded = testKey('funded');
  const config = liveGenesisConfig({ balances: [{ address: funded.address, millicents: 10_000_000 }] });
  const g = parseGenesis(config);
  const a = slotAt(g, Date.now()) + 40;
  return { funded, config, g, a, start: slotTime(g, a - 30) + 1 };
}

/** The node's votes as the broker carries them, and transfers from `funded` into its mempool, dated by the fake clock. */
async function votesAndTransfers(url: string, g: Genesis, funded: KeyPair, n: RunningNode, now: () => number) {
  const votes: { round: number; height: number; hash: string }[] = [];
  const watcher = await connect(url, 'watcher');
  await watcher.subscribeAsync(NODE_TOPICS.votes);
  watcher.on('message', (_t, m) => votes.push((JSON.parse(m.toString()) as Envelope<'vote'>).parameters.target));
  const sender = await connect(url, 'sender');
  let k = 0;
  const transfer = async () => {
    const tx = signEnvelope(funded, 'transfer', { to: testKey('payee').address, amountMillicents: 1 + k++ }, { chain: g.hash, date: new Date(now()) });
    const before = n.node.stats().mempool.count;
    await sender.publishAsync(NODE_TOPICS.txs, JSON.stringify(signEnvelope(testKey('sender'), 'tx', { tx }, { date: new Date(now()) })), { qos: 1 });
    await waitFor('the transfer in the mempool', () => n.node.stats().mempool.count > before);
  };
  return { votes, transfer, end: async () => { await watcher.endAsync(); await sender.endAsync(); } };
}

test('[FIN-V] a vote is for the round before; a block in the slot the node voted in is made, and the chain carries the proof', async () => {
  const broker = await startAedes();
  const { funded, config, g, a, start } = fundedChain();
  let clock = start;
  const n = await startNode(broker.url, config, testKey('aggregator-node'), 'agg-node', { produce: true, now: () => clock, slotTimer: false });
  // the initial sync (nobody answers) ends by its timeout on the fake clock
  for (let i = 0; i < 20 && n.node.stats().syncing; i++) {
    clock += g.slotMs;
    await n.node.tick();
  }
  assert.ok(!n.node.stats().syncing && clock < slotTime(g, a), 'initial sync done');
  const { votes, transfer, end } = await votesAndTransfers(broker.url, g, funded, n, () => clock);
  const step = async (t: number) => {
    clock = t;
    await n.node.tick();
    await n.node.idle();
  };
  try {
    // slot a: block B1 with the first transfer
    clock = slotTime(g, a) + 1;
    await transfer();
    await step(clock);
    const b1 = n.node.head();
    assert.equal(b1.slot, a);
    // slot a+1: the vote of round a+1 is for round a, target B1 (B1 justified: genesis → B1)
    await step(slotTime(g, a + 1) + 1);
    await waitFor('the vote for round a', () => votes.some((v) => v.round === a));
    assert.deepEqual(votes.filter((v) => v.round >= a), [{ round: a, height: b1.height, hash: b1.hash }]);
    // a transaction later in slot a+1: the node voted in slot a+1, and makes its block there
    clock = slotTime(g, a + 1) + Math.floor(g.slotMs / 2);
    await transfer();
    await step(clock);
    const b2 = n.node.head();
    assert.equal(b2.slot, a + 1, 'a block at the slot the node voted in');
    // slot a+2: the vote for round a+1 targets B2, the link a → a+1 is adjacent: B1 final
    await step(slotTime(g, a + 2) + 1);
    assert.equal(n.node.finality().final.hash, b1.hash);
    // the next block carries both justifications: the chain proves B1 final, as the node's votes did
    await transfer();
    await step(clock + 1);
    const b3 = n.node.head();
    assert.equal(b3.slot, a + 2);
    const m = n.node.state().meta;
    assert.equal(m.finalized.hash, b1.hash, `on-chain finalized ${JSON.stringify(m.finalized)}, justified ${JSON.stringify(m.justified)}`);
    assert.equal(m.justified.hash, b2.hash);
  } finally {
    await end();
    await n.stop();
    await broker.close();
  }
});

/**
 * [FIN-V] A vote task that waited in the work queue past its round votes for the round before
 * the one its timer was set for, not the clock's, and does not take the producer's slot. Seen
 * in producerKill under the old rule (a vote forbade a block in its round): a queue a slot
 * behind made V2, next in line with V1 dead, vote in the slot it was elected for and produce
 * one slot later (gap k·W + 2 > the rule's k·W + 1).
 * Driven by a fake clock and a scheduler whose timers the test fires, late on purpose.
 */
test('[FIN-V] a late vote task votes for its own round\'s predecessor and leaves the next slot to the producer', async () => {
  const broker = await startAedes();
  const { funded, config, g, a, start } = fundedChain();
  let clock = start;
  let seq = 0;
  const timers = new Map<number, { due: number; fn: () => void }>();
  const scheduler = {
    setTimeout: (fn: () => void, ms: number) => {
      const id = ++seq;
      timers.set(id, { due: clock + ms, fn });
      return id;
    },
    clearTimeout: (id: unknown) => void timers.delete(id as number),
    setImmediate: (fn: () => void) => void setImmediate(fn),
    monotonic: () => performance.now(),
  };
  const n = await startNode(broker.url, config, testKey('aggregator-node'), 'agg-node', { produce: true, now: () => clock, scheduler });
  /** fires every timer due at or before `t` in due order; on time (clock = due) unless `late` (clock = t first) */
  const runTo = async (t: number, late = false) => {
    if (late) clock = t;
    for (;;) {
      const next = [...timers.entries()].filter(([, x]) => x.due <= t).sort((x, y) => x[1].due - y[1].due || x[0] - y[0])[0];
      if (next === undefined) break;
      timers.delete(next[0]);
      clock = Math.max(clock, next[1].due);
      next[1].fn();
      await n.node.idle();
    }
    clock = t;
  };
  const { votes, transfer, end } = await votesAndTransfers(broker.url, g, funded, n, () => clock);
  try {
    for (let s = a - 29; s < a - 1 && n.node.stats().syncing; s++) await runTo(slotTime(g, s) + 1);
    assert.ok(!n.node.stats().syncing, 'initial sync done');
    // a transfer late in slot a−1, after its last tick [SUB]: block B at slot a, on time
    await runTo(slotTime(g, a - 1) + Math.floor(g.slotMs * 0.85));
    await transfer();
    await runTo(slotTime(g, a) + 5);
    const b = n.node.head();
    assert.equal(b.slot, a, 'block B at slot a');
    // slot a+1, on time: the vote of round a+1 (half a slot in) is for round a, target B
    await runTo(slotTime(g, a + 1) + Math.floor(g.slotMs * 0.7));
    await waitFor('the vote for round a', () => votes.some((v) => v.round >= a));
    // a second transfer in slot a+1
    await transfer();
    // the queue ran a slot behind: round a+2's vote timer (half a slot in) and slot a+3's timer both fire in slot a+3, in due order
    await runTo(slotTime(g, a + 2) + Math.floor(g.slotMs * 0.3));
    assert.equal(n.node.head().slot, a + 2, 'the second transfer in a block at slot a+2');
    const b2 = n.node.head();
    await transfer();
    await runTo(slotTime(g, a + 3) + 10, true);
    await waitFor('the vote for round a+1', () => votes.some((v) => v.round >= a + 1));
    assert.deepEqual(votes.filter((v) => v.round >= a).map((v) => [v.round, v.height]), [[a, b.height], [a + 1, b.height]],
      'votes since B: round a (cast in round a+1), round a+1 (cast late, in slot a+3, for the round before its timer\'s), both for B');
    const c = n.node.head();
    assert.equal(c.slot, a + 3, `the third transfer's block at slot a+3, where the late vote was cast (head at ${c.slot})`);
    assert.equal(c.height, b2.height + 1);
  } finally {
    await end();
    await n.stop();
    await broker.close();
  }
});
