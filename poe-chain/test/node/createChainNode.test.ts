import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signEnvelope } from '../../../wire/codec.js';
import { balanceOf } from '../../core/chainState.js';
import { testKey } from '../../testkit/chainFixture.js';
import type { NodeBlockEvent, PendingTxEvent } from '../../node/createChainNode.js';
import { liveGenesisConfig, startAedes, startNode, waitFor } from './nodeFixtures.js';

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
