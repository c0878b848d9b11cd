/**
 * [BROKER-HOLD] A platform service (a chain node) that stops acknowledging, as the real node
 * does while its admission queue is full (its mqtt.js handleMessage waits), holds the homes'
 * QoS 1 publishes back at the high mark instead of letting its backlog grow in the broker;
 * when it catches up, every held publish is forwarded and acknowledged, in order, nothing
 * lost. An offline service session holds nobody back.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../../wire/keys.js';
import { signAndEncode } from '../../wire/codec.js';
import { enrollMeter, login, signedBid, sleep, startBroker, type TestBroker, type TestMeter } from './brokerFixtures.js';

const brokers: TestBroker[] = [];
after(async () => {
  for (const b of brokers) await b.broker.close();
});

async function metric(tb: TestBroker, name: string): Promise<number> {
  const m = tb.broker.metrics.getSingleMetric(name);
  return m ? ((await m.get()).values[0]?.value ?? 0) : 0;
}

async function until(what: string, f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A node-role subscriber to the bids that lags: its mqtt.js handleMessage waits, so its
 * acknowledgement (and its reading of the next message) waits, as the chain node's does
 * while its admission queue is full; `catchUp` lets it go on.
 */
async function laggingNode(tb: TestBroker, meter: TestMeter) {
  const node = await login(tb.url, meter, { clean: false });
  const got: string[] = [];
  node.on('message', (_t, payload) => got.push((JSON.parse(payload.toString()) as { reqId: string }).reqId));
  let paused = true;
  const heldAcks: (() => void)[] = [];
  node.handleMessage = (_packet, cb) => (paused ? heldAcks.push(() => cb()) : cb());
  await node.subscribeAsync('tmi/v1/auctions/#', { qos: 1 });
  const catchUp = () => {
    paused = false;
    for (const f of heldAcks.splice(0)) f();
  };
  return { node, got, catchUp };
}

test('[BROKER-HOLD] a lagging service holds the homes at the mark; nothing lost when it catches up; an offline one holds nobody', async () => {
  // the marks are payload bytes: 20.5 bids' worth, so that the 21st goes and the 22nd waits
  const home = { pseudonym: generateKeyPair() };
  const size = signedBid(home.pseudonym, 'A1').length;
  const tb = await startBroker({ holdPublishers: { holdAbove: Math.floor(20.5 * size), resumeBelow: 10 * size } });
  brokers.push(tb);
  Object.assign(home, enrollMeter(tb.dir, 'meter-home'));
  const nodeMeter = enrollMeter(tb.dir, 'node-1', 'node');

  const { node, got, catchUp } = await laggingNode(tb, nodeMeter);

  const pub = await login(tb.url, home as TestMeter);
  const sent: string[] = [];
  let acked = 0;
  const publishing = (async () => {
    for (let i = 0; i < 60; i++) {
      const payload = signedBid(home.pseudonym, 'A1');
      sent.push((JSON.parse(payload.toString()) as { reqId: string }).reqId);
      await pub.publishAsync('tmi/v1/auctions/A1/bids', payload, { qos: 1 });
      acked++;
    }
  })();
  await until('the home to be held', () => acked >= 21);
  await sleep(500);
  assert.equal(acked, 21, 'held at the mark: 21 forwarded (the queue passed 20), the 22nd waits');
  assert.equal(await metric(tb, 'tmi_broker_held_publishes'), 1, 'one publish waiting');
  assert.equal(await metric(tb, 'tmi_broker_service_queue_messages'), 21, 'the node\'s queue stopped at the mark');
  assert.equal(await metric(tb, 'tmi_broker_hold_episodes_total'), 1);

  // the node catches up
  catchUp();
  await publishing;
  await until('the node to receive every bid', () => got.length >= 60);
  assert.deepEqual(got, sent, 'every bid once, in order');
  assert.equal(await metric(tb, 'tmi_broker_held_publishes'), 0);
  assert.ok((await metric(tb, 'tmi_broker_held_publishes_total')) >= 1);

  // offline, the service's queue grows past the mark and holds nobody
  await node.endAsync();
  const t0 = Date.now();
  const sent2: string[] = [];
  for (let i = 0; i < 60; i++) {
    const payload = signedBid(home.pseudonym, 'A1');
    sent2.push((JSON.parse(payload.toString()) as { reqId: string }).reqId);
    await pub.publishAsync('tmi/v1/auctions/A1/bids', payload, { qos: 1 });
  }
  const offlineMs = Date.now() - t0;
  assert.equal(await metric(tb, 'tmi_broker_hold_episodes_total'), 1, 'no new hold for an offline service');
  // and it gets them all when it comes back (a service session is not limited)
  const back = await login(tb.url, nodeMeter, { clean: false });
  const got2: string[] = [];
  back.on('message', (_t, payload) => got2.push((JSON.parse(payload.toString()) as { reqId: string }).reqId));
  await until('the replay', () => got2.length >= 60);
  assert.deepEqual(got2, sent2);
  await back.endAsync();
  await pub.endAsync();
  assert.ok(offlineMs < 5_000, `60 publishes with the service offline took ${offlineMs} ms`);
});

test('[HOLD-PAUSE] a home that keeps publishing during a hold is not read from: its publishes wait in its socket, not in the broker; all arrive in order', async () => {
  const home = { pseudonym: generateKeyPair() };
  const size = signedBid(home.pseudonym, 'A1').length;
  const tb = await startBroker({ holdPublishers: { holdAbove: Math.floor(5.5 * size), resumeBelow: 2 * size } });
  brokers.push(tb);
  Object.assign(home, enrollMeter(tb.dir, 'meter-home'));
  const { node, got, catchUp } = await laggingNode(tb, enrollMeter(tb.dir, 'node-1', 'node'));

  const pub = await login(tb.url, home as TestMeter);
  const sent: string[] = [];
  const acks: Promise<unknown>[] = [];
  // ten bursts of six, 100 ms apart, none waiting for its PUBACK (a HEM's outbox with a backlog)
  for (let burst = 0; burst < 10; burst++) {
    for (let i = 0; i < 6; i++) {
      const payload = signedBid(home.pseudonym, 'A1');
      sent.push((JSON.parse(payload.toString()) as { reqId: string }).reqId);
      acks.push(pub.publishAsync('tmi/v1/auctions/A1/bids', payload, { qos: 1 }));
    }
    await sleep(100);
  }
  await sleep(300);
  const waiting = await metric(tb, 'tmi_broker_held_publishes');
  // the hold began within the first bursts; the chunk being read then is all the broker keeps
  assert.ok(waiting >= 1 && waiting <= 6, `publishes held in the broker: ${waiting} (at most the chunk read when the hold began, of ${sent.length - 6} sent after the mark)`);
  assert.ok(got.length <= 6, `the node got ${got.length} before it caught up`);

  catchUp();
  await Promise.all(acks);
  await until('the node to receive every bid', () => got.length >= sent.length);
  assert.deepEqual(got, sent, 'every bid once, in order');
  assert.equal(await metric(tb, 'tmi_broker_held_publishes'), 0);
  await pub.endAsync();
  await node.endAsync();
});

test('[BROKER-HOLD] control: with the hold off, the same lagging service lets its backlog grow with every publish', async () => {
  const tb = await startBroker({ holdPublishers: false });
  brokers.push(tb);
  const home = enrollMeter(tb.dir, 'meter-home');
  const nodeMeter = enrollMeter(tb.dir, 'node-1', 'node');
  const node = await login(tb.url, nodeMeter, { clean: false });
  const heldAcks: (() => void)[] = [];
  node.handleMessage = (_packet, cb) => heldAcks.push(() => cb());
  await node.subscribeAsync('tmi/v1/auctions/#', { qos: 1 });
  const pub = await login(tb.url, home);
  for (let i = 0; i < 60; i++) await pub.publishAsync('tmi/v1/auctions/A1/bids', signedBid(home.pseudonym, 'A1'), { qos: 1 });
  assert.equal(await metric(tb, 'tmi_broker_held_publishes_total'), 0);
  assert.equal(await metric(tb, 'tmi_broker_service_queue_messages'), 60, 'the node\'s queue holds every publish');
  await pub.endAsync();
  await node.endAsync(true);
});

test('[NO-ECHO] a chain node does not get its own chain messages back; another node does', async () => {
  const tb = await startBroker();
  brokers.push(tb);
  const n1 = enrollMeter(tb.dir, 'node-1', 'node');
  const n2 = enrollMeter(tb.dir, 'node-2', 'node');
  const got = new Map<string, number>([['node-1', 0], ['node-2', 0]]);
  const clients = [];
  for (const m of [n1, n2]) {
    const c = await login(tb.url, m, { clean: false });
    c.on('message', () => got.set(m.meterId, got.get(m.meterId)! + 1));
    await c.subscribeAsync('tmi/v1/chain/#', { qos: 1 });
    clients.push(c);
  }
  for (let i = 0; i < 5; i++) {
    await clients[0]!.publishAsync('tmi/v1/chain/sync/request', signAndEncode(n1.key, 'sync-request', { nodeId: 'node-1', fromHeight: i + 1 }), { qos: 1 });
    await clients[0]!.publishAsync('tmi/v1/chain/sync/request', signAndEncode(n1.key, 'sync-request', { nodeId: 'node-1', fromHeight: i + 1 }), { qos: 0 });
  }
  await until('node-2 to get all ten', () => got.get('node-2')! >= 10);
  await sleep(300);
  assert.equal(got.get('node-1'), 0, 'no echo, QoS 1 or 0');
  assert.equal(got.get('node-2'), 10);
  assert.equal(await metric(tb, 'tmi_broker_service_queue_messages'), 0, 'nothing left queued for the publisher');
  for (const c of clients) await c.endAsync();
});

test('[BROKER-HOLD] attack: a service login that acknowledges nothing cannot stop the homes; it is closed SERVICE_STUCK and its session keeps every message', async () => {
  const home = { pseudonym: generateKeyPair() };
  const size = signedBid(home.pseudonym, 'A1').length;
  const tb = await startBroker({ holdPublishers: { holdAbove: 10 * size, resumeBelow: 5 * size, stuckAfterMs: 500 } });
  brokers.push(tb);
  Object.assign(home, enrollMeter(tb.dir, 'meter-home'));
  const rogue = enrollMeter(tb.dir, 'analytics-1', 'analytics');
  const stuck = await login(tb.url, rogue, { clean: false });
  stuck.handleMessage = () => undefined; // never acknowledges, never reads on
  let closed = false;
  stuck.on('close', () => (closed = true));
  await stuck.subscribeAsync('tmi/v1/auctions/#', { qos: 1 });
  const pub = await login(tb.url, home as TestMeter);
  const sent: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < 40; i++) {
    const payload = signedBid(home.pseudonym, 'A1');
    sent.push((JSON.parse(payload.toString()) as { reqId: string }).reqId);
    await pub.publishAsync('tmi/v1/auctions/A1/bids', payload, { qos: 1 });
  }
  const ms = Date.now() - t0;
  assert.ok(closed, 'the stuck service was closed');
  assert.equal(await metric(tb, 'tmi_broker_service_stuck_disconnects_total'), 1);
  assert.ok((await metric(tb, 'tmi_broker_held_publishes_total')) >= 1, 'the home was held first');
  assert.ok(ms < 5_000, `all 40 acknowledged in ${ms} ms`);
  stuck.end(true);
  // its session kept everything: it gets all 40 when it comes back and acknowledges
  const back = await login(tb.url, rogue, { clean: false });
  const got: string[] = [];
  back.on('message', (_t, payload) => got.push((JSON.parse(payload.toString()) as { reqId: string }).reqId));
  await until('the replay', () => got.length >= 40);
  assert.deepEqual([...new Set(got)], sent);
  await back.endAsync();
  await pub.endAsync();
});
