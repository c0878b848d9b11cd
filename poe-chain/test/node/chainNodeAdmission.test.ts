import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochAt, parseGenesis } from '../../core/genesis.js';
import { ChainFixture, testKey } from '../../testkit/chainFixture.js';
import { connect, pastGenesisConfig, startAedes, startNode, waitFor } from './nodeFixtures.js';

test('[NODE-admit] through a real broker: a bid sent after a burst of readings is admitted before the readings ahead of it', async () => {
  const broker = await startAedes();
  const config = pastGenesisConfig();
  const g = parseGenesis(config);
  const n = await startNode(broker.url, config, testKey('follower'), 'follower');
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
    const sent = readings.map((r) => pub.publishAsync('tmi/v1/readings', r, { qos: 1 }));
    sent.push(pub.publishAsync('tmi/v1/auctions/auc-late/bids', JSON.stringify(bid), { qos: 1 }));
    await Promise.all(sent);
    await waitFor('every message admitted', () => order.length === readings.length + 1, 60_000);
    const at = order.indexOf('bid-offer');
    assert.ok(at >= 0, 'the bid was admitted');
    assert.ok(at < readings.length, `the bid went ahead of readings that arrived before it (admitted ${at + 1}th of ${order.length})`);
    const s = n.node.stats();
    assert.equal(s.admission.handled, readings.length + 1);
    assert.ok(s.admission.maxQueued > 1, 'readings waited in the queue');
    assert.equal(s.admission.refused, 0);
    assert.equal(s.mempool.count, readings.length + 1);
  } finally {
    await pub.endAsync();
    await n.stop();
    await broker.close();
  }
});
