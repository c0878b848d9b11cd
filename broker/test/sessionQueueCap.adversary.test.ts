/**
 * [SESSION-CAP] Attack: a home logs in with a persistent session, subscribes at QoS 1 to
 * every bid (its ACL allows tmi/v1/auctions/#), reads them, and never acknowledges one.
 * aedes keeps each QoS 1 message for the session until its PUBACK, so before the limit the
 * broker held every bid of every home for that one client, for ever; its socket never
 * backs up, so the slow-consumer close never comes. Here the broker keeps at most the
 * session's limit: the attacker still receives every message once, an honest home that is
 * offline gets the first messages up to the limit when it returns, and the aggregator (a
 * platform service, not limited) gets all of them. The control run without a limit shows
 * the growth the limit stops.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { enrollMeter, login, neverAck, signedBid, sleep, startBroker, type TestBroker, type TestMeter } from './brokerFixtures.js';

const N = 200;
const LIMIT = 50;
const TOPIC = 'tmi/v1/auctions/A1/bids';

const brokers: TestBroker[] = [];
after(async () => {
  for (const b of brokers) await b.broker.close();
});

async function gauge(tb: TestBroker, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = tb.broker.metrics.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  const v = values.find((x) => Object.entries(labels).every(([k, l]) => (x.labels as Record<string, string>)[k] === l));
  return v?.value ?? 0;
}

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** reqIds of the messages a persistent session gets when it comes back */
async function comeBack(tb: TestBroker, m: TestMeter, expect: number): Promise<string[]> {
  const got: string[] = [];
  const c = await login(tb.url, m, { clean: false });
  c.on('message', (_t, payload) => got.push((JSON.parse(payload.toString()) as { reqId: string }).reqId));
  await until(`${expect} replayed messages for ${m.meterId}`, () => got.length >= expect);
  await sleep(300); // and no more
  await c.endAsync();
  return got;
}

async function attack(sessionQueue: { messages: number; bytes?: number; totalBytes?: number }) {
  const tb = await startBroker({ sessionQueue });
  brokers.push(tb);
  const alice = enrollMeter(tb.dir, 'meter-alice');
  const mallory = enrollMeter(tb.dir, 'meter-mallory');
  const carol = enrollMeter(tb.dir, 'meter-carol');
  const agg = enrollMeter(tb.dir, 'aggregator-1', 'aggregator');

  // carol (a home) and the aggregator subscribe with persistent sessions and go away
  for (const m of [carol, agg]) {
    const c = await login(tb.url, m, { clean: false });
    await c.subscribeAsync('tmi/v1/auctions/#', { qos: 1 });
    await c.endAsync();
  }
  const attacker = await login(tb.url, mallory, { clean: false });
  neverAck(attacker);
  let received = 0;
  attacker.on('message', () => received++);
  await attacker.subscribeAsync('tmi/v1/auctions/#', { qos: 1 });

  const pub = await login(tb.url, alice);
  const sent: string[] = [];
  for (let i = 0; i < N; i++) {
    const payload = signedBid(alice.pseudonym, 'A1');
    sent.push((JSON.parse(payload.toString()) as { reqId: string }).reqId);
    await pub.publishAsync(TOPIC, payload, { qos: 1 });
  }
  await until('the attacker to receive every bid', () => received >= N);
  const held = await gauge(tb, 'tmi_broker_session_queue_messages');
  const drops = await gauge(tb, 'tmi_broker_session_queue_drops_total', { reason: 'session-messages' });
  const carolGot = await comeBack(tb, carol, Math.min(N, sessionQueue.messages));
  const aggGot = await comeBack(tb, agg, N);
  // a clean start discards the attacker's session and what it held
  await attacker.endAsync(true);
  const fresh = await login(tb.url, mallory, { clean: true });
  const afterClean = await gauge(tb, 'tmi_broker_session_queue_messages');
  await fresh.endAsync();
  await pub.endAsync();
  return { tb, sent, received, held, drops, carolGot, aggGot, afterClean };
}

test('[SESSION-CAP] a home that never acknowledges holds at most its limit in the broker; others lose nothing they are owed', async () => {
  const r = await attack({ messages: LIMIT });
  assert.equal(r.received, N, 'the attacker still receives every message once');
  // the attacker's session holds LIMIT; carol's (offline, acknowledged nothing yet) LIMIT too
  assert.equal(r.held, 2 * LIMIT, 'held for limited sessions: two sessions at their limit');
  assert.equal(r.drops, 2 * (N - LIMIT), 'every message past the limit counted as dropped for its session');
  assert.deepEqual(r.carolGot, r.sent.slice(0, LIMIT), 'the honest offline home gets the first messages, up to its limit, in order');
  assert.deepEqual(r.aggGot, r.sent, 'the aggregator (a platform service) is not limited: every message');
  assert.equal(r.afterClean, 0, 'a clean start discards the session queue');
});

test('[SESSION-CAP] control: without a limit the same attack makes the broker hold every message for the attacker', async () => {
  const r = await attack({ messages: Number.MAX_SAFE_INTEGER, bytes: Number.MAX_SAFE_INTEGER, totalBytes: Number.MAX_SAFE_INTEGER });
  assert.equal(r.received, N);
  assert.equal(r.held, 2 * N, 'held: all of them, for the attacker and for carol');
  assert.equal(r.drops, 0);
  assert.deepEqual(r.carolGot, r.sent);
});

test('[SESSION-CAP] the shared byte limit: a second attacker cannot take more than what is left of it', async () => {
  const tb = await startBroker({ sessionQueue: { messages: 1_000, totalBytes: 30 * 1024 } });
  brokers.push(tb);
  const alice = enrollMeter(tb.dir, 'meter-alice');
  const attackers = [enrollMeter(tb.dir, 'meter-m1'), enrollMeter(tb.dir, 'meter-m2')];
  let received = 0;
  for (const m of attackers) {
    const c = await login(tb.url, m, { clean: false });
    neverAck(c);
    c.on('message', () => received++);
    await c.subscribeAsync('tmi/v1/auctions/#', { qos: 1 });
  }
  const pub = await login(tb.url, alice);
  let size = 0;
  for (let i = 0; i < N; i++) {
    const payload = signedBid(alice.pseudonym, 'A1');
    size = payload.length;
    await pub.publishAsync(TOPIC, payload, { qos: 1 });
  }
  await until('both attackers to receive every bid', () => received >= 2 * N);
  const bytes = await gauge(tb, 'tmi_broker_session_queue_bytes');
  assert.ok(bytes <= 30 * 1024 && bytes > 30 * 1024 - size, `the two sessions hold ${bytes} bytes: the shared limit, to within one message`);
  assert.ok((await gauge(tb, 'tmi_broker_session_queue_drops_total', { reason: 'total-bytes' })) > 0);
  assert.equal(await gauge(tb, 'tmi_broker_session_queue_drops_total', { reason: 'session-messages' }), 0);
  await pub.endAsync();
});
