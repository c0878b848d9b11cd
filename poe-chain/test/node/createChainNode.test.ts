import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signEnvelope } from '../../../wire/codec.js';
import { balanceOf } from '../../core/chainState.js';
import { testKey } from '../../testkit/chainFixture.js';
import type { NodeBlockEvent, PendingTxEvent } from '../../node/createChainNode.js';
import { NODE_TOPICS } from '../../node/nodeTopics.js';
import { connect, liveGenesisConfig, sleep, startAedes, startNode, waitFor } from './nodeFixtures.js';

test('two nodes: the aggregator node produces heartbeats and a submitted transfer; the follower reaches the same tip', async () => {
  const broker = await startAedes();
  const funded = testKey('funded');
  const config = liveGenesisConfig({ balances: [{ address: funded.address, millicents: 1_000_000 }] });
  const producer = await startNode(broker.url, config, testKey('aggregator-node'), 'agg-node', { produce: true, serveSync: true });
  const follower = await startNode(broker.url, config, testKey('follower'), 'follower', { serveSync: true });
  try {
    // heartbeats: with nothing pending, one block every W slots
    await waitFor('3 blocks on the follower', () => follower.node.head().height >= 3);
    const blocks: NodeBlockEvent[] = [];
    follower.node.on('block', (b) => blocks.push(b));
    const pending: PendingTxEvent[] = [];
    producer.node.on('pending', (e) => pending.push(e));
    producer.node.on('pending', () => {
      throw new Error('a listener bug'); // the producer still admits and includes the transfer
    });
    const to = testKey('payee').address;
    const tx = signEnvelope(funded, 'transfer', { to, amountMillicents: 1234 }, { chain: follower.node.genesis.hash });
    const forged = { ...signEnvelope(funded, 'transfer', { to, amountMillicents: 99 }, { chain: follower.node.genesis.hash }), signature: tx.signature };
    assert.equal((await follower.node.submit(forged)).code, 'BAD_SIGNATURE');
    const r = await follower.node.submit(tx);
    assert.equal(r.status, 'admitted');
    // the producer's mempool admits the gossiped transfer and says so, once; the forgery never
    await waitFor('the pending event on the producer', () => pending.length > 0);
    assert.deepEqual(pending.map((e) => e.txId), [r.txId]);
    assert.deepEqual(pending[0]!.envelope, tx);
    await waitFor('the transfer on the follower', () => balanceOf(follower.node.state(), to) === 1234n);
    const withTx = blocks.find((b) => b.txIds.includes(r.txId!));
    assert.ok(withTx, 'a block event carries the transaction');
    assert.equal(withTx.block.parameters.header.producer, testKey('aggregator-node').address);
    // the same tip on both
    await waitFor('same tip', () => follower.node.head().hash === producer.node.head().hash, 5000);
    assert.equal(producer.node.stats().mempool.count, 0);
    // where the producer's time went: at least the block with the transfer, built and stored
    const work = producer.node.stats().work;
    assert.ok(work.produce.blocks >= 1 && work.produce.txs >= 1, JSON.stringify(work));
    assert.ok(work.produce.buildMs > 0 && work.produce.storeMs > 0 && work.slotQueue.runs > 0, JSON.stringify(work));
    assert.equal(follower.node.stats().mempool.count, 0);
    // heartbeat spacing: consecutive empty blocks are W slots apart
    const empties = blocks.filter((b) => b.txIds.length === 0).map((b) => b.block.parameters.header.slot);
    for (let i = 1; i < empties.length; i++) assert.ok(empties[i]! - empties[i - 1]! <= config.patience! + 1);
    assert.deepEqual((await follower.node.tx(r.txId!))?.height, withTx.height);
  } finally {
    await follower.stop();
    await producer.stop();
    await broker.close();
  }
});

test('[NODE-idle] with nothing to do the slot timer sleeps until the next heartbeat; a transaction wakes it for the next slot', async () => {
  const broker = await startAedes();
  const funded = testKey('funded');
  const W = 20;
  const config = liveGenesisConfig({ patience: W, balances: [{ address: funded.address, millicents: 1_000_000 }] });
  const producer = await startNode(broker.url, config, testKey('aggregator-node'), 'agg-node', { produce: true, serveSync: true });
  const follower = await startNode(broker.url, config, testKey('follower'), 'follower', { serveSync: true });
  try {
    await waitFor('2 blocks on the follower', () => follower.node.head().height >= 2);
    const slotNow = () => Math.floor((Date.now() - Date.parse(config.genesisTime)) / config.slotMs!);
    const [s0, p0, f0] = [slotNow(), producer.node.stats().work.slotQueue.runs, follower.node.stats().work.slotQueue.runs];
    const h0 = producer.node.head().height;
    await waitFor('3 more heartbeats', () => producer.node.head().height >= h0 + 3, 10_000);
    const slots = slotNow() - s0;
    const runs = { producer: producer.node.stats().work.slotQueue.runs - p0, follower: follower.node.stats().work.slotQueue.runs - f0 };
    // a slot's work at each heartbeat (and each W slots on the follower), not at every slot
    assert.ok(runs.producer <= slots / 4 && runs.follower <= slots / 4, `slots=${slots} runs=${JSON.stringify(runs)}`);
    // a transfer after a heartbeat: in a block before the next heartbeat is due
    const blocks: NodeBlockEvent[] = [];
    follower.node.on('block', (b) => blocks.push(b));
    const h1 = producer.node.head().height;
    await waitFor('a heartbeat', () => producer.node.head().height > h1, 5000, 2);
    await sleep(5 * config.slotMs!); // its own block came back by gossip: nothing else wakes it
    const r = await producer.node.submit(signEnvelope(funded, 'transfer', { to: testKey('payee').address, amountMillicents: 1 }, { chain: producer.node.genesis.hash }));
    assert.equal(r.status, 'admitted');
    await waitFor('the transfer on the follower', () => blocks.some((b) => b.txIds.includes(r.txId!)), 5000);
    const b = blocks.find((x) => x.txIds.includes(r.txId!))!;
    const h = b.block.parameters.header;
    const parent = (await follower.store.blockByHash(h.parent))!.parameters.header.slot;
    assert.ok(h.slot - parent < W, `the transfer waited for the heartbeat: slot ${h.slot}, parent at ${parent}`);
  } finally {
    await follower.stop();
    await producer.stop();
    await broker.close();
  }
});

test('[NODE-idle] [SUB] under a steady stream of transactions the producer makes a block at every slot, and more at its later ticks', async () => {
  const broker = await startAedes();
  const funded = testKey('funded');
  const config = liveGenesisConfig({ patience: 20, balances: [{ address: funded.address, millicents: 1_000_000 }] });
  const producer = await startNode(broker.url, config, testKey('aggregator-node'), 'agg-node', { produce: true, serveSync: true });
  const follower = await startNode(broker.url, config, testKey('follower'), 'follower');
  try {
    await waitFor('a first block', () => producer.node.head().height >= 1);
    const slots: number[] = [];
    const all: { slot: number; sub: number }[] = [];
    producer.node.on('block', (b) => {
      all.push({ slot: b.block.parameters.header.slot, sub: b.block.parameters.header.sub ?? 0 });
      if (b.txIds.length > 0) slots.push(b.block.parameters.header.slot);
    });
    // from another client over MQTT, as HEMs send them: they arrive at any point of a slot
    const client = await connect(broker.url, 'sender');
    const to = testKey('payee').address;
    for (let i = 0; i < 300; i++) {
      const tx = signEnvelope(funded, 'transfer', { to, amountMillicents: 1 + i }, { chain: producer.node.genesis.hash });
      client.publish(NODE_TOPICS.txs, JSON.stringify(signEnvelope(testKey('sender'), 'tx', { tx })));
      await sleep(7);
    }
    await client.endAsync();
    await waitFor('an empty mempool', () => producer.node.stats().mempool.count === 0, 5000);
    // 300 transfers over ≥ 2.1 s of 100-ms slots: at least 10 loaded blocks, or nothing was tested
    const distinct = [...new Set(slots)];
    assert.ok(distinct.length >= 10, `loaded slots: ${distinct.length}`);
    const gaps = distinct.slice(1).map((s, i) => s - distinct[i]!);
    // a slot is skipped only when its work ran late (a busy machine), not because a
    // transaction admitted at the boundary moved the due timer on
    assert.ok(gaps.filter((d) => d === 1).length >= 0.75 * gaps.length, `gaps between loaded slots: ${gaps.join(' ')}`);
    // [SUB] and within a slot the run goes on at its later ticks: places 0, 1, 2 … in order, at most 5
    const places = all.map((b) => `${b.slot}.${b.sub}`).join(' ');
    all.forEach((b, i) => i > 0 && assert.equal(b.sub, all[i - 1]!.slot === b.slot ? all[i - 1]!.sub + 1 : 0, places));
    assert.ok(all.every((b) => b.sub <= 4), places);
    assert.ok(slots.length >= 1.5 * distinct.length, `blocks ${slots.length} in ${distinct.length} slots: the transactions waited for the next slot`);
    // a follower in another connection takes every block of the runs
    await waitFor('the follower at the producer\'s head', () => follower.node.head().hash === producer.node.head().hash, 5000);
    assert.deepEqual(follower.node.stats().rejectedBlocks, {});
    assert.equal(follower.node.state().meta.subBlocks, producer.node.state().meta.subBlocks);
  } finally {
    await follower.stop();
    await producer.stop();
    await broker.close();
  }
});
