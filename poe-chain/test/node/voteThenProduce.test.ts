/**
 * [FIN-1] A producing node that voted in round r makes no block at slot r: its vote's target
 * must stay its chain's head in that round. Before this rule the aggregator's node, woken by a
 * transaction after its vote, built a block at the slot it had voted in: the justification of
 * that vote was refused on chain (BAD_ROUND, then NOT_HEAD_AT_ROUND), every later one lacked a
 * justified source there (UNJUSTIFIED_SOURCE), so the chain's own finality stopped for good,
 * and followers that saw the block before the vote dropped the vote and stopped finalising
 * (and pruning). Driven by a fake clock: vote in round a+1, then a transaction in the same slot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signEnvelope } from '../../../wire/codec.js';
import { parseGenesis, slotAt, slotTime } from '../../core/genesis.js';
import { testKey } from '../../testkit/chainFixture.js';
import { NODE_TOPICS } from '../../node/nodeTopics.js';
import { connect, liveGenesisConfig, startAedes, startNode, waitFor } from './nodeFixtures.js';

test('[FIN-1] no block at a slot the producer already voted in; the chain carries both justifications and finalises', async () => {
  const broker = await startAedes();
  const funded = testKey('funded');
  const config = liveGenesisConfig({ balances: [{ address: funded.address, millicents: 10_000_000 }] });
  const g = parseGenesis(config);
  const a = slotAt(g, Date.now()) + 40;
  let clock = slotTime(g, a - 30) + 1;
  const n = await startNode(broker.url, config, testKey('aggregator-node'), 'agg-node', { produce: true, now: () => clock, slotTimer: false });
  // the initial sync (nobody answers) ends by its timeout on the fake clock
  for (let i = 0; i < 20 && n.node.stats().syncing; i++) {
    clock += g.slotMs;
    await n.node.tick();
  }
  assert.ok(!n.node.stats().syncing && clock < slotTime(g, a), 'initial sync done');
  const sender = await connect(broker.url, 'sender');
  let k = 0;
  const transfer = async () => {
    const tx = signEnvelope(funded, 'transfer', { to: testKey('payee').address, amountMillicents: 1 + k++ }, { chain: g.hash, date: new Date(clock) });
    const before = n.node.stats().mempool.count;
    await sender.publishAsync(NODE_TOPICS.txs, JSON.stringify(signEnvelope(testKey('sender'), 'tx', { tx }, { date: new Date(clock) })), { qos: 1 });
    await waitFor('the transfer in the mempool', () => n.node.stats().mempool.count > before);
  };
  try {
    // slot a: a block with the first transfer; the vote of round a justifies it (genesis → B1)
    clock = slotTime(g, a) + 1;
    await transfer();
    await n.node.tick();
    await n.node.idle();
    const b1 = n.node.head();
    assert.equal(b1.slot, a);
    // slot a+1, nothing pending but the justification: no block; the vote of round a+1 makes B1 final here
    clock = slotTime(g, a + 1) + 1;
    await n.node.tick();
    await n.node.idle();
    assert.equal(n.node.finality().final.hash, b1.hash);
    // a transaction arrives later in slot a+1: the node voted in round a+1, so it waits for slot a+2
    clock = slotTime(g, a + 1) + Math.floor(g.slotMs / 2);
    await transfer();
    await n.node.tick();
    await n.node.idle();
    assert.equal(n.node.head().hash, b1.hash, 'no block at the slot it voted in');
    clock = slotTime(g, a + 2) + 1;
    await n.node.tick();
    await n.node.idle();
    const b2 = n.node.head();
    assert.equal(b2.slot, a + 2);
    // the block carries both justifications: the chain proves B1 final, as the node's votes did
    const m = n.node.state().meta;
    assert.equal(m.finalized.hash, b1.hash, `on-chain finalized ${JSON.stringify(m.finalized)}, justified ${JSON.stringify(m.justified)}`);
  } finally {
    await sender.endAsync();
    await n.stop();
    await broker.close();
  }
});

/**
 * [FIN-1] A vote task that waited in the work queue past its round's end votes in the round
 * its timer was set for, not in the clock's: else it forbids this node's block in the clock's
 * round. Seen in producerKill: a queue a slot behind made V2, next in line with V1 dead, vote in
 * the slot it was elected for and produce one slot later (gap k·W + 2 > the rule's k·W + 1).
 * Driven by a fake clock and a scheduler whose timers the test fires, late on purpose.
 */
test('[FIN-1] a late vote task votes in its own round and leaves the next slot to the producer', async () => {
  const broker = await startAedes();
  const funded = testKey('funded');
  const config = liveGenesisConfig({ balances: [{ address: funded.address, millicents: 10_000_000 }] });
  const g = parseGenesis(config);
  const a = slotAt(g, Date.now()) + 40;
  let clock = slotTime(g, a - 30) + 1;
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
  const votes: { round: number; height: number }[] = [];
  const watcher = await connect(broker.url, 'watcher');
  await watcher.subscribeAsync(NODE_TOPICS.votes);
  watcher.on('message', (_t, m) => {
    const v = JSON.parse(m.toString()) as { parameters: { target: { round: number; height: number } } };
    votes.push(v.parameters.target);
  });
  const sender = await connect(broker.url, 'sender');
  let k = 0;
  const transfer = async () => {
    const tx = signEnvelope(funded, 'transfer', { to: testKey('payee').address, amountMillicents: 1 + k++ }, { chain: g.hash, date: new Date(clock) });
    const before = n.node.stats().mempool.count;
    await sender.publishAsync(NODE_TOPICS.txs, JSON.stringify(signEnvelope(testKey('sender'), 'tx', { tx }, { date: new Date(clock) })), { qos: 1 });
    await waitFor('the transfer in the mempool', () => n.node.stats().mempool.count > before);
  };
  try {
    for (let s = a - 29; s < a - 1 && n.node.stats().syncing; s++) await runTo(slotTime(g, s) + 1);
    assert.ok(!n.node.stats().syncing, 'initial sync done');
    // a transfer late in slot a−1: block B at slot a, on time
    await runTo(slotTime(g, a - 1) + Math.floor(g.slotMs * 0.6));
    await transfer();
    await runTo(slotTime(g, a) + 5);
    const b = n.node.head();
    assert.equal(b.slot, a, 'block B at slot a');
    // a second transfer in slot a, before the vote of round a is due (half a slot in)
    await runTo(slotTime(g, a) + Math.floor(g.slotMs * 0.3));
    await transfer();
    // the queue ran a slot behind: round a's vote timer and slot a+1's timer both fire in slot a+1, in due order
    await runTo(slotTime(g, a + 1) + 10, true);
    await waitFor('the vote on the broker', () => votes.some((v) => v.round >= a));
    assert.deepEqual(votes.filter((v) => v.round >= a).map((v) => [v.round, v.height]), [[a, b.height]], 'one vote since B, in round a (the round its timer was set for), for B');
    const c = n.node.head();
    assert.equal(c.slot, a + 1, `the second transfer's block at slot a+1, the slot after the late vote's round (head at ${c.slot})`);
    assert.equal(c.height, b.height + 1);
  } finally {
    await watcher.endAsync();
    await sender.endAsync();
    await n.stop();
    await broker.close();
  }
});
