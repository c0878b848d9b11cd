import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { createAggregator, type ChainView, type ChainAuction } from '../aggregator.js';
import { createAggregatorAdminApp } from '../adminApi.js';
import { createCodec, encode, signEnvelope } from '../../wire/codec.js';
import { generateKeyPair } from '../../wire/keys.js';
import type { AnyEnvelope, AuctionResult, Envelope, SignedFeederLimit } from '../../schemas/types.js';
import { signFeederLimit, verifyFeederLimit } from '../../csm-registry/feederLimitRecord.js';
import type { ChainFeederLimit } from '../../poe-chain/node/chainViews.js';

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
/** [DOMAIN-TX] the genesis hash the aggregator signs its auctions for */
const TEST_CHAIN = 'ab'.repeat(32);

async function until<T>(fn: () => T | undefined, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(20);
  }
}

test('aggregator: schedule, deviation auction with the right side/energy/limit, close, result from the chain', async (t) => {
  const broker = await plainBroker();
  const aggKey = generateKeyPair();
  const home = generateKeyPair();
  const aggMqtt = await mqtt.connectAsync(broker.url, { clientId: 'aggregator' });
  const watcher = await mqtt.connectAsync(broker.url, { clientId: 'watcher' });
  const homeMqtt = await mqtt.connectAsync(broker.url, { clientId: 'home' });
  const seen: AnyEnvelope[] = [];
  const codec = createCodec();
  watcher.on('message', (_topic, payload) => seen.push(codec.decode(payload)));
  await watcher.subscribeAsync('tmi/v1/#', { qos: 1 });

  const intervalMs = 600;
  const originMs = Math.floor(Date.now() / intervalMs) * intervalMs;
  const results = new Map<string, ChainAuction>();
  let finalizedHeight = 0;
  const chain: ChainView = { auction: async (id) => results.get(id), finalizedHeight: async () => finalizedHeight };
  const agg = await createAggregator({
    key: aggKey,
    genesisHash: TEST_CHAIN,
    mqtt: aggMqtt,
    chain,
    config: {
      originMs,
      intervalMs,
      slotsPerDay: 96,
      deviation: { thresholdWh: 500 },
      prices: () => ({ buyMcPerKWh: 30_000, sellMcPerKWh: 5_000 }),
      priorNetLoadWh: new Array(96).fill(1000),
      closeAfterFraction: 0.3,
    },
  });
  t.after(async () => {
    await agg.stop();
    await Promise.all([aggMqtt.endAsync(), watcher.endAsync(), homeMqtt.endAsync()]);
    await broker.close();
  });

  // the day-ahead schedule is published, signed by the aggregator, from the prior
  const sched = await until(() => seen.find((e) => e.operation === 'schedule'), 2000, 'schedule');
  assert.equal(sched.clientId, aggKey.address);
  assert.equal(sched.operation === 'schedule' && sched.parameters.netLoadWh[0], 1000);

  // the home reports 2,000 Wh net import for the current interval: 1,000 Wh over schedule → buy 1,000 Wh
  const i = Math.floor((Date.now() - originMs) / intervalMs);
  const start = new Date(originMs + i * intervalMs).toISOString();
  const end = new Date(originMs + (i + 1) * intervalMs).toISOString();
  const reading = signEnvelope(home, 'meter-reading', {
    address: home.address, interval: { start, end }, seq: 0,
    producedWh: 500, consumedWh: 2_300, chargedWh: 200, dischargedWh: 0, socPermille: 500,
  });
  await homeMqtt.publishAsync('tmi/v1/readings', encode(reading), { qos: 1 });

  const open = await until(() => seen.find((e) => e.operation === 'auction-open'), 3000, 'auction-open');
  assert.equal(open.operation, 'auction-open');
  if (open.operation !== 'auction-open') return;
  const p = open.parameters;
  assert.equal(open.clientId, aggKey.address);
  assert.equal(p.side, 'buy');
  assert.deepEqual(p.energy, { unit: 'Wh', value: 2_000 - 1_000 });
  assert.deepEqual(p.limitPrice, { unit: 'millicents/kWh', value: 30_000 });
  // delivery = measured interval + 2
  assert.equal(Date.parse(p.delivery.start), originMs + (i + 2) * intervalMs);
  assert.equal(agg.actualNetLoad(i), 2_000);

  const close = await until(() => seen.find((e) => e.operation === 'auction-close'), 3000, 'auction-close');
  assert.equal(close.operation === 'auction-close' && close.parameters.auctionId, p.auctionId);
  assert.ok(Date.parse(close.date) >= Date.parse(p.closesAt) - 5, 'closed on time, not before');

  // [AGG-FIN-1] the chain's result, cleared in block 5: not published while block 5 is not final
  const result: AuctionResult = {
    auctionId: p.auctionId, status: 'cleared', clearingPriceMillicentsPerKWh: 20_000, awardedWh: 1_000,
    awards: [{ address: home.address, energyWh: 1_000, priceMillicentsPerKWh: 20_000 }], height: 5,
  };
  finalizedHeight = 4;
  results.set(p.auctionId, { status: 'cleared', result });
  await wait(300);
  assert.equal(seen.find((e) => e.operation === 'auction-result'), undefined, 'no result published while its block is not final');
  assert.equal(agg.auctions()[0]?.status, 'closed');
  assert.equal(agg.ledger().entries[0]?.resultHeight, 5);
  // block 5 final: the result is republished verbatim
  finalizedHeight = 5;
  const res = await until(() => seen.find((e) => e.operation === 'auction-result'), 3000, 'auction-result');
  assert.deepEqual(res.parameters, result);
  const ledger = agg.ledger();
  assert.equal(ledger.entries[0]?.status, 'cleared');
  assert.equal(ledger.entries[0]?.awardedWh, 1_000);
  assert.equal(ledger.entries[0]?.imbalanceAvoidedMc, 30_000); // 1 kWh × 30,000 mc/kWh

  // [AGG-FIN-2] settled on chain in block 9, not final yet: the money is unconfirmed in the ledger
  results.set(p.auctionId, { status: 'settled', result, settlements: [{ address: home.address, deliveredWh: 800, paymentMc: 16_000, penaltyMc: 1_000, height: 9 }] });
  const unconfirmed = await until(() => (agg.ledger().entries[0]?.status === 'settled-unconfirmed' ? agg.ledger() : undefined), 3000, 'settled-unconfirmed');
  assert.deepEqual(
    [unconfirmed.entries[0]!.energyMc, unconfirmed.entries[0]!.penaltiesMc, unconfirmed.entries[0]!.unconfirmedEnergyMc, unconfirmed.entries[0]!.unconfirmedPenaltiesMc, unconfirmed.entries[0]!.settledHeight],
    [0, 0, 16_000, 1_000, 9],
  );
  assert.equal(unconfirmed.totals.paidMc, 0);
  assert.deepEqual(unconfirmed.totals.unconfirmed, { paidMc: 16_000, receivedMc: 0, penaltiesMc: 1_000 });
  // block 9 final: paid
  finalizedHeight = 9;
  const settled = await until(() => (agg.ledger().entries[0]?.status === 'settled' ? agg.ledger() : undefined), 3000, 'settled');
  assert.deepEqual([settled.entries[0]!.energyMc, settled.entries[0]!.penaltiesMc, settled.entries[0]!.deliveredWh, settled.entries[0]!.unconfirmedEnergyMc], [16_000, 1_000, 800, 0]);
  assert.equal(settled.totals.paidMc, 16_000);
  assert.deepEqual(settled.totals.unconfirmed, { paidMc: 0, receivedMc: 0, penaltiesMc: 0 });
  assert.equal(agg.auctions()[0]?.status, 'settled');
});

test('aggregator admin API: manual post publishes an auction-open; garbage changes nothing', async (t) => {
  const broker = await plainBroker();
  const aggMqtt = await mqtt.connectAsync(broker.url, { clientId: 'aggregator2' });
  const watcher: MqttClient = await mqtt.connectAsync(broker.url, { clientId: 'watcher2' });
  const seen: AnyEnvelope[] = [];
  const codec = createCodec();
  watcher.on('message', (_t, payload) => seen.push(codec.decode(payload)));
  await watcher.subscribeAsync('tmi/v1/auctions/#', { qos: 1 });
  const agg = await createAggregator({
    key: generateKeyPair(), genesisHash: TEST_CHAIN, mqtt: aggMqtt, chain: { auction: async () => undefined, finalizedHeight: async () => 0 },
    config: { originMs: 0, intervalMs: 60_000, slotsPerDay: 96, deviation: { thresholdWh: 500 }, prices: () => ({ buyMcPerKWh: 1, sellMcPerKWh: 1 }), priorNetLoadWh: new Array(96).fill(0), autoAuctions: false },
  });
  const app = createAggregatorAdminApp(agg, 'secret-token');
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.after(async () => {
    await agg.stop();
    server.close();
    await Promise.all([aggMqtt.endAsync(), watcher.endAsync()]);
    await broker.close();
  });
  const post = (body: unknown, token = 'secret-token') =>
    fetch(`${base}/admin/auctions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  const start = new Date(Date.now() + 120_000);
  const delivery = { start: start.toISOString(), end: new Date(start.getTime() + 900_000).toISOString() };
  const ok = await post({ side: 'buy', energyKWh: 20, priceCents: 25, delivery });
  assert.equal(ok.status, 201);
  const body = (await ok.json()) as { auctionId: string };
  const open = await until(() => seen.find((e) => e.operation === 'auction-open'), 2000, 'auction-open');
  assert.equal(open.operation === 'auction-open' && open.parameters.auctionId, body.auctionId);
  assert.deepEqual(open.operation === 'auction-open' && open.parameters.energy, { unit: 'Wh', value: 20_000 });
  assert.deepEqual(open.operation === 'auction-open' && open.parameters.limitPrice, { unit: 'millicents/kWh', value: 25_000 });

  const bad: [unknown, number, string][] = [
    [{ side: 'buy', energyKWh: -1, priceCents: 25, delivery }, 400, 'SCHEMA_OUT_OF_RANGE'],
    [{ side: 'hold', energyKWh: 1, priceCents: 25, delivery }, 400, 'SCHEMA_BAD_VALUE'],
    [{ side: 'buy', energyKWh: 1, priceCents: 25, delivery, extra: 1 }, 400, 'SCHEMA_UNKNOWN_FIELD'],
    [{ side: 'buy', energyKWh: 1, priceCents: 25, delivery: { start: delivery.end, end: delivery.start } }, 400, 'BAD_DELIVERY'],
    ['{"side":', 400, 'MALFORMED_JSON'],
    [{ side: 'buy', energyKWh: 1, priceCents: 25, delivery, pad: 'x'.repeat(20_000) }, 413, 'TOO_LARGE'],
  ];
  for (const [b, status, code] of bad) {
    const r = await post(b);
    assert.equal(r.status, status, code);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, code);
  }
  assert.equal((await post({ side: 'buy', energyKWh: 1, priceCents: 1, delivery }, 'wrong')).status, 401);
  assert.equal(agg.auctions().length, 1, 'rejected posts created no auction');
  const list = (await (await fetch(`${base}/admin/auctions`, { headers: { authorization: 'Bearer secret-token' } })).json()) as { items: { secretKey?: string }[] };
  assert.equal(list.items.length, 1);
});

test('aggregator: when the registry does not answer, an auction opens with the last known feeder limits; with none known it is not opened', async (t) => {
  const broker = await plainBroker();
  const aggMqtt = await mqtt.connectAsync(broker.url, { clientId: 'aggregator3' });
  let registryUp = true;
  let calls = 0;
  const registryKey = generateKeyPair();
  const signed = [signFeederLimit({ feeder: 'F1', maxExportWh: 5000, maxImportWh: 7000, issuedAt: new Date().toISOString() }, registryKey)];
  const limits = [{ feeder: 'F1', maxExportWh: 5000, maxImportWh: 7000 }];
  const make = (feederLimits: () => Promise<typeof signed>) =>
    createAggregator({
      key: generateKeyPair(), genesisHash: TEST_CHAIN, mqtt: aggMqtt, chain: { auction: async () => undefined, finalizedHeight: async () => 0 },
      config: { originMs: 0, intervalMs: 60_000, slotsPerDay: 96, deviation: { thresholdWh: 500 }, prices: () => ({ buyMcPerKWh: 1, sellMcPerKWh: 1 }), priorNetLoadWh: new Array(96).fill(0), autoAuctions: false, feederLimits },
    });
  const agg = await make(async () => {
    calls++;
    if (!registryUp) throw new Error('REGISTRY_TIMEOUT');
    return signed;
  });
  const cold = await make(async () => {
    throw new Error('REGISTRY_TIMEOUT');
  });
  t.after(async () => {
    await agg.stop();
    await cold.stop();
    await aggMqtt.endAsync();
    await broker.close();
  });
  const startMs = Date.now() + 120_000;
  const manual = { side: 'buy' as const, energyWh: 1000, limitPriceMcPerKWh: 1000, delivery: { startMs, endMs: startMs + 900_000 } };
  assert.equal(calls, 1, 'asked at start [FEEDER-1]');
  const first = await agg.openAuction(manual);
  // the auction-open carries the limits in its own shape: no issuedAt, no signature
  assert.deepEqual(first.open.feederLimits, limits);
  registryUp = false;
  const second = await agg.openAuction(manual);
  assert.equal(calls, 3, 'the registry was asked');
  assert.deepEqual(second.open.feederLimits, limits, 'last known limits');
  await assert.rejects(cold.openAuction(manual), /REGISTRY_TIMEOUT/);
  assert.equal(cold.auctions().length, 0);
});

test('[FEEDER-1] the aggregator posts each registry feeder limit the chain lacks as a feeder-limit tx on chain/txs: at start, when it fetches, not twice', async (t) => {
  const broker = await plainBroker();
  const aggKey = generateKeyPair();
  const registryKey = generateKeyPair();
  const aggMqtt = await mqtt.connectAsync(broker.url, { clientId: 'aggregator-fl' });
  const watcher = await mqtt.connectAsync(broker.url, { clientId: 'watcher-fl' });
  const codec = createCodec();
  const posted: Envelope<'feeder-limit'>[] = [];
  watcher.on('message', (topic, payload) => {
    const env = codec.decode(payload);
    assert.equal(topic, 'tmi/v1/chain/txs');
    assert.equal(env.operation, 'tx');
    assert.equal(env.clientId, aggKey.address, 'the wrapper is the aggregator\'s');
    const inner = codec.decodeValue((env as Envelope<'tx'>).parameters.tx, { replayCheck: false });
    assert.equal(inner.operation, 'feeder-limit');
    assert.equal(inner.chain, TEST_CHAIN, 'the feeder-limit names the chain [DOMAIN-TX]');
    posted.push(inner as Envelope<'feeder-limit'>);
  });
  await watcher.subscribeAsync('tmi/v1/chain/txs', { qos: 1 });
  const t0 = Date.parse('2026-11-21T10:00:00.000Z');
  const rec = (feeder: string, exp: number, dt: number): SignedFeederLimit =>
    signFeederLimit({ feeder, maxExportWh: exp, maxImportWh: exp, issuedAt: new Date(t0 + dt).toISOString() }, registryKey);
  let registry = [rec('F1', 1000, 0), rec('F2', 2000, 0)];
  // the chain already holds F2's record
  let onChain: ChainFeederLimit[] = [{ feeder: 'F2', maxExportWh: 2000, maxImportWh: 2000, issuedAt: registry[1]!.issuedAt }];
  const agg = await createAggregator({
    key: aggKey, mqtt: aggMqtt, genesisHash: TEST_CHAIN,
    chain: { auction: async () => undefined, finalizedHeight: async () => 0, feederLimits: async () => onChain },
    config: { originMs: 0, intervalMs: 60_000, slotsPerDay: 96, deviation: { thresholdWh: 500 }, prices: () => ({ buyMcPerKWh: 1, sellMcPerKWh: 1 }), priorNetLoadWh: new Array(96).fill(0), autoAuctions: false, feederLimits: async () => registry },
  });
  t.after(async () => {
    await agg.stop();
    await aggMqtt.endAsync();
    await watcher.endAsync();
    await broker.close();
  });
  // at start: F1 only (the chain has F2's record)
  await until(() => (posted.length >= 1 ? true : undefined), 5000, 'the start relay');
  await wait(100);
  assert.deepEqual(posted.map((e) => e.parameters), [registry[0]]);
  assert.equal(posted[0]!.clientId, aggKey.address);
  assert.ok(verifyFeederLimit(posted[0]!.parameters, registryKey.address), 'relayed as the registry signed it');
  // not yet on chain: not posted again within an interval
  assert.equal(await agg.syncFeederLimits(), 0);
  // on chain now; the registry tightens F2: the new record is posted, F1 is not
  onChain = [...onChain, { feeder: 'F1', maxExportWh: 1000, maxImportWh: 1000, issuedAt: registry[0]!.issuedAt }];
  registry = [registry[0]!, rec('F2', 500, 1)];
  const startMs = Date.now() + 120_000;
  const opened = await agg.openAuction({ side: 'buy', energyWh: 1000, limitPriceMcPerKWh: 1000, delivery: { startMs, endMs: startMs + 900_000 } });
  await until(() => (posted.length >= 2 ? true : undefined), 5000, 'the relay before the auction-open');
  await wait(100);
  assert.equal(posted.length, 2);
  assert.deepEqual(posted[1]!.parameters, registry[1]);
  assert.deepEqual(opened.open.feederLimits, [{ feeder: 'F1', maxExportWh: 1000, maxImportWh: 1000 }, { feeder: 'F2', maxExportWh: 500, maxImportWh: 500 }]);
  // a registry answer older than the chain's record is never posted (the chain would refuse it STALE_FEEDER_LIMIT)
  onChain = [onChain[1]!, { feeder: 'F2', maxExportWh: 500, maxImportWh: 500, issuedAt: registry[1]!.issuedAt }];
  registry = [registry[0]!, rec('F2', 2000, 0)];
  assert.equal(await agg.syncFeederLimits(), 0);
});

test('with a reading feed (its chain node in the same process), the aggregator counts the readings the node admits and does not take them over MQTT', async (t) => {
  const { EventEmitter } = await import('node:events');
  const { readingFeedOf } = await import('../../poe-chain/node/chainQueries.js');
  const broker = await plainBroker();
  const aggMqtt = await mqtt.connectAsync(broker.url, { clientId: 'aggregator-feed' });
  const homeMqtt = await mqtt.connectAsync(broker.url, { clientId: 'home-feed' });
  const node = new EventEmitter(); // stands for the node: emits 'pending' as its mempool admits
  const intervalMs = 60_000;
  const originMs = Math.floor(Date.now() / intervalMs) * intervalMs;
  const agg = await createAggregator({
    key: generateKeyPair(), genesisHash: TEST_CHAIN, mqtt: aggMqtt, chain: { auction: async () => undefined, finalizedHeight: async () => 0 }, readingFeed: readingFeedOf(node),
    config: {
      originMs, intervalMs, slotsPerDay: 96, deviation: { thresholdWh: 1e9 }, prices: () => ({ buyMcPerKWh: 1, sellMcPerKWh: 1 }),
      priorNetLoadWh: new Array(96).fill(0), autoAuctions: false,
    },
  });
  t.after(async () => {
    await agg.stop();
    await Promise.all([aggMqtt.endAsync(), homeMqtt.endAsync()]);
    await broker.close();
  });
  const home = generateKeyPair();
  const i = Math.floor((Date.now() - originMs) / intervalMs);
  const reading = (seq: number, consumedWh: number) => signEnvelope(home, 'meter-reading', {
    address: home.address, interval: { start: new Date(originMs + i * intervalMs).toISOString(), end: new Date(originMs + (i + 1) * intervalMs).toISOString() },
    seq, producedWh: 0, consumedWh, chargedWh: 0, dischargedWh: 0, socPermille: 500,
  });
  assert.equal(node.listenerCount('pending'), 1);
  node.emit('pending', { txId: 'a', envelope: reading(0, 700) });
  node.emit('pending', { txId: 'b', envelope: signEnvelope(home, 'transfer', { to: generateKeyPair().address, amountMillicents: 1 }) });
  assert.equal(agg.actualNetLoad(i), 700, 'the reading counted; the transfer ignored');
  // over MQTT: not subscribed, so not counted
  await homeMqtt.publishAsync('tmi/v1/readings', encode(reading(1, 5000)), { qos: 1 });
  await wait(200);
  assert.equal(agg.actualNetLoad(i), 700);
  await agg.stop();
  assert.equal(node.listenerCount('pending'), 0, 'stop() leaves the feed');
});
