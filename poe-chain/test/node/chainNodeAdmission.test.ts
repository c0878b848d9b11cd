import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochAt, parseGenesis } from '../../core/genesis.js';
import { ChainFixture, testKey } from '../../testkit/chainFixture.js';
import { signEnvelope } from '../../../wire/codec.js';
import { connect, pastGenesisConfig, startAedes, startNode, waitFor } from './nodeFixtures.js';

/** 3,000 readings, then one bid, published at once to a node; resolves with the order the node admitted them in */
async function burst(admissionLimit?: { highWater: number }, o: { verifyThreads?: number; bad?: boolean } = {}) {
  const broker = await startAedes();
  const config = pastGenesisConfig();
  const g = parseGenesis(config);
  const n = await startNode(broker.url, config, testKey('follower'), 'follower', { ...(admissionLimit ? { admissionLimit } : {}), ...(o.verifyThreads ? { verifyThreads: o.verifyThreads } : {}) });
  const pub = await connect(broker.url, 'homes');
  try {
    const f = new ChainFixture({ genesis: config });
    const epoch = epochAt(g, Date.now()) - 1;
    const date = new Date().toISOString();
    // well signed readings of uncertified meters: transient, so each is admitted
    const readings: string[] = [];
    for (let k = 0; k < 30; k++) {
      const kp = testKey(`burst-${k}`);
      for (let seq = 1; seq <= 100; seq++) readings.push(JSON.stringify(f.readingTx(kp, epoch, { p: seq }, seq, date)));
    }
    // a bid in an auction the node does not know yet: transient too, admitted
    const bid = f.bidTx(testKey('bidder'), 'auc-late', { open: f.openBid('sell', 1000, 20_000) }, 'F1', date);
    const order: string[] = [];
    n.node.on('pending', (e) => order.push(e.envelope.operation));
    // with o.bad, among the readings: one with a changed value under its signature, and one not JSON
    const tampered = JSON.stringify({ ...JSON.parse(readings[2_500]!), reqId: 'changed-after-signing' });
    const bad = o.bad ? [tampered, '{"operation":'] : [];
    const sent = [...readings.slice(0, 2_000), ...bad, ...readings.slice(2_000)].map((r) => pub.publishAsync('tmi/v1/readings', r, { qos: 1 }));
    sent.push(pub.publishAsync('tmi/v1/auctions/auc-late/bids', JSON.stringify(bid), { qos: 1 }));
    await Promise.all(sent);
    await waitFor('every message admitted', () => order.length === readings.length + 1, 60_000);
    if (o.bad) await waitFor('both bad ones handled', () => n.node.stats().admission.handled === readings.length + 3);
    return { order, readings: readings.length, stats: n.node.stats() };
  } finally {
    await pub.endAsync();
    await n.stop();
    await broker.close();
  }
}

test('[NODE-admit] through a real broker: a bid sent after a burst of readings is admitted before the readings ahead of it', async () => {
  const { order, readings, stats: s } = await burst();
  {
    const at = order.indexOf('bid-offer');
    assert.ok(at >= 0, 'the bid was admitted');
    assert.ok(at < readings, `the bid went ahead of readings that arrived before it (admitted ${at + 1}th of ${order.length})`);
    assert.equal(s.admission.handled, readings + 1);
    assert.ok(s.admission.maxQueued > 1, 'readings waited in the queue');
    assert.equal(s.mempool.count, readings + 1);
  }
});

test('[NODE-admit] backpressure: at its high-water mark the node stops reading; the rest waits at the broker and nothing is lost', async () => {
  const { order, readings, stats: s } = await burst({ highWater: 50 });
  assert.equal(order.length, readings + 1, 'every message admitted');
  assert.equal(s.mempool.count, readings + 1);
  assert.ok(s.admission.full > 0, 'the queue reached its mark');
  assert.ok(s.admission.maxQueued <= 51, `never more than the mark (+ the message in hand) waited: ${s.admission.maxQueued}`);
  assert.ok(s.admission.maxQueued >= 50, `the mark was reached: ${s.admission.maxQueued}`);
});

test('[NODE-verify] admission with the verify pool: the messages behind each slice are verified by a worker meanwhile; the outcomes are those without it', async () => {
  const { order, readings, stats: s } = await burst(undefined, { verifyThreads: 1, bad: true });
  assert.equal(order.length, readings + 1, 'every valid message admitted');
  assert.equal(s.mempool.count, readings + 1);
  assert.ok(s.admission.maxQueued > 64, `a backlog behind the first slice (${s.admission.maxQueued})`);
  assert.ok(s.admission.verifiedAhead > 0, `the worker verified some ahead of their turn (${s.admission.verifiedAhead})`);
  assert.equal(s.droppedMessages.TX_BAD_SIGNATURE, 1, `the tampered reading refused with its rule's code: ${JSON.stringify(s.droppedMessages)}`);
  assert.equal(s.droppedMessages.MALFORMED_JSON, 1);
});

test('[NODE-admit] a reading re-gossiped by another node waits in the readings lane: it cannot pass the same home\'s earlier reading', async () => {
  const broker = await startAedes();
  const config = pastGenesisConfig();
  const g = parseGenesis(config);
  const n = await startNode(broker.url, config, testKey('follower'), 'follower');
  const pub = await connect(broker.url, 'homes');
  try {
    const f = new ChainFixture({ genesis: config });
    const epoch = epochAt(g, Date.now()) - 1;
    const date = new Date().toISOString();
    const home = testKey('home-x');
    const readings: string[] = [];
    for (let k = 0; k < 20; k++) {
      const kp = testKey(`lane-${k}`);
      for (let seq = 1; seq <= 100; seq++) readings.push(JSON.stringify(f.readingTx(kp, epoch, { p: seq }, seq, date)));
    }
    // the home's seq 1 is last in the burst; its seq 2 then comes gossiped by another node
    readings.push(JSON.stringify(f.readingTx(home, epoch, { p: 1 }, 1, date)));
    const gossiped = signEnvelope(testKey('other-node'), 'tx', { tx: f.readingTx(home, epoch, { p: 2 }, 2, date) as never });
    const order: string[] = [];
    n.node.on('pending', (e) => {
      const p = e.envelope.parameters as { address?: string; seq?: number };
      if (p.address === home.address) order.push(`seq ${p.seq}`);
    });
    const sent = readings.map((r) => pub.publishAsync('tmi/v1/readings', r, { qos: 1 }));
    sent.push(pub.publishAsync('tmi/v1/chain/txs', JSON.stringify(gossiped), { qos: 1 }));
    await Promise.all(sent);
    await waitFor('both of the home\'s readings admitted', () => order.length === 2, 60_000);
    assert.deepEqual(order, ['seq 1', 'seq 2'], 'the earlier reading first');
    assert.ok(n.node.stats().admission.maxQueued > 1, 'readings waited in the queue');
  } finally {
    await pub.endAsync();
    await n.stop();
    await broker.close();
  }
});
