/**
 * [CLOSE] A restarted aggregator picks up its open auctions from the chain: started on a
 * chain (real state transition, real signed transactions) that holds an open auction it
 * has no record of, it lists the auction, the chain clears it by its own clock (no
 * auction-close), and the aggregator republishes the chain's result on MQTT once the
 * clearing block is final [AGG-FIN-1].
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { createAggregator } from '../aggregator.js';
import { createCodec } from '../../wire/codec.js';
import type { AnyEnvelope } from '../../schemas/types.js';
import { ChainFixture } from '../../poe-chain/testkit/chainFixture.js';
import { slotTime } from '../../poe-chain/core/genesis.js';
import { activeAuctionsView, auctionResultOf, chainViewOf } from '../../poe-chain/node/chainQueries.js';

async function plainBroker(): Promise<{ url: string; close: () => Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => aedes.close(() => r()));
    },
  };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('[CLOSE] a restarted aggregator picks up an open auction from the chain and publishes the result the chain cleared by its clock', async (t) => {
  const f = new ChainFixture();
  const a = f.key('hem-a');
  const b = f.key('hem-b');
  f.produce([f.certTx(a), f.certTx(b)]);
  const closesAtMs = Date.parse(f.interval(1).start) + 10_000;
  f.produce([f.auctionOpenTx('auc-r', { side: 'buy', energyWh: 4000, limitMc: 20_000, deliveryEpoch: 2, closesAt: new Date(closesAtMs).toISOString() })]);
  f.produce([f.bidTx(a, 'auc-r', { open: f.openBid('sell', 3000, 12_000) }), f.bidTx(b, 'auc-r', { open: f.openBid('sell', 2000, 15_000) })]);
  assert.deepEqual(activeAuctionsView(f.state).map((x) => [x.auctionId, x.open.energy.value, x.open.closesAt]), [['auc-r', 4000, new Date(closesAtMs).toISOString()]]);

  const broker = await plainBroker();
  const aggMqtt = await mqtt.connectAsync(broker.url, { clientId: 'aggregator' });
  const watcher = await mqtt.connectAsync(broker.url, { clientId: 'watcher' });
  const seen: AnyEnvelope[] = [];
  const codec = createCodec({ replayCheck: false });
  watcher.on('message', (_topic, payload) => seen.push(codec.decode(payload)));
  await watcher.subscribeAsync('tmi/v1/auctions/#', { qos: 1 });
  // the aggregator's clock: 300 ms before the auction's close, running at wall speed
  const wall0 = Date.now();
  let finalizedHeight = f.state.meta.height;
  const now = () => closesAtMs - 300 + (Date.now() - wall0);
  const agg = await createAggregator({
    key: f.aggregator,
    genesisHash: f.genesis.hash,
    mqtt: aggMqtt,
    // [AGG-FIN-1] the node's final height, moved by the test
    chain: chainViewOf({ state: () => f.state, head: () => ({ finalizedHeight }) }),
    now,
    codec: createCodec({ now }),
    config: {
      originMs: Date.parse(f.interval(0).start), intervalMs: f.genesis.intervalMs, slotsPerDay: 96,
      deviation: { thresholdWh: 500 }, prices: () => ({ buyMcPerKWh: 30_000, sellMcPerKWh: 5_000 }), priorNetLoadWh: new Array(96).fill(1000), autoAuctions: false,
    },
  });
  t.after(async () => {
    await agg.stop();
    await Promise.all([aggMqtt.endAsync(), watcher.endAsync()]);
    await broker.close();
  });
  const rec = agg.auctions().find((x) => x.auctionId === 'auc-r');
  assert.ok(rec, 'the auction is known to the restarted aggregator');
  assert.equal(rec.origin, 'chain');
  assert.equal(rec.status, 'open');

  // the chain's first block at or after closesAt clears it; nobody sends an auction-close
  const closeSlot = (closesAtMs - slotTime(f.genesis, 0)) / f.genesis.slotMs;
  f.produce([], closeSlot);
  const entry = f.state.sections.auctions.get('auc-r')!;
  assert.equal(entry.status, 'closed');
  assert.deepEqual(entry.awards!.map((w) => [w.address, w.energyWh]), [[a.address, 3000], [b.address, 1000]]);

  // [AGG-FIN-1] cleared in a block that is not final yet: nothing published
  await wait(800);
  assert.equal(seen.find((e) => e.operation === 'auction-result'), undefined, 'no result while the clearing block is not final');
  assert.equal(agg.auctions().find((x) => x.auctionId === 'auc-r')!.status, 'open');
  finalizedHeight = f.state.meta.height;
  const end = Date.now() + 4000;
  let result: AnyEnvelope | undefined;
  while (!result && Date.now() < end) {
    result = seen.find((e) => e.operation === 'auction-result');
    await wait(20);
  }
  assert.ok(result, 'the aggregator published the result');
  assert.equal(result.clientId, f.aggregator.address);
  assert.deepEqual(result.parameters, auctionResultOf('auc-r', entry));
  assert.equal(seen.filter((e) => e.operation === 'auction-close').length, 0, 'no auction-close was needed');
  assert.equal(agg.auctions().find((x) => x.auctionId === 'auc-r')!.status, 'cleared');
});
