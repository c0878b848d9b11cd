/**
 * End-to-end over real loopback sockets with the mqtt npm client: login, ACL, edge
 * validation with error replies, QoS 1 handshakes on rejected publishes, limits,
 * retained messages, metrics.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { signAndEncode, signEnvelope, encode } from '../../wire/codec.js';
import { generateKeyPair, verifyBytes, publicKeyObject } from '../../wire/keys.js';
import { canonicalBytes } from '../../wire/canonicalJson.js';
import { makeLoginToken } from '../../wire/loginToken.js';
import type { AuctionOpen } from '../../schemas/types.js';
import {
  enrollMeter, startBroker, login, refusedCode, signedBid, bidOffer, Inbox, sleep, type TestBroker, type TestMeter,
} from './brokerFixtures.js';

let tb: TestBroker;
let alice: TestMeter;
let bob: TestMeter;
let agg: TestMeter;
const clients: MqttClient[] = [];

before(async () => {
  tb = await startBroker({ metrics: { port: 0 }, maxPacketBytes: 64 * 1024, ratePerClient: { messagesPerSecond: 1000, burst: 1000 } });
  alice = enrollMeter(tb.dir, 'meter-alice');
  bob = enrollMeter(tb.dir, 'meter-bob');
  agg = enrollMeter(tb.dir, 'aggregator-1', 'aggregator');
});

after(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
  await tb.broker.close();
});

async function connect(m: TestMeter): Promise<MqttClient> {
  const c = await login(tb.url, m);
  clients.push(c);
  return c;
}

test('login: a valid token is accepted; bad credentials are refused with 4/5, a foreign client id with 2', async () => {
  const c = await connect(alice);
  assert.ok(c.connected);
  await c.endAsync();

  const other = generateKeyPair();
  assert.equal(await refusedCode(tb.url, { clientId: alice.meterId, username: alice.meterId, password: makeLoginToken(other, alice.meterId) }), 4, 'token signed by another key');
  assert.equal(await refusedCode(tb.url, { clientId: alice.meterId, username: alice.meterId, password: 'v1.garbage' }), 4, 'malformed token');
  assert.equal(await refusedCode(tb.url, { clientId: alice.meterId, username: alice.meterId, password: makeLoginToken(alice.key, alice.meterId, Date.now() - 10 * 60_000) }), 4, 'expired token');
  assert.equal(await refusedCode(tb.url, { clientId: 'meter-nobody', username: 'meter-nobody', password: makeLoginToken(other, 'meter-nobody') }), 5, 'unknown meter');
  assert.equal(await refusedCode(tb.url, { clientId: 'not-alice', username: alice.meterId, password: makeLoginToken(alice.key, alice.meterId) }), 2, 'client id != username');
  assert.equal(await refusedCode(tb.url, { clientId: alice.meterId }), 4, 'no credentials');
  assert.equal(await refusedCode(tb.url, { clientId: alice.meterId, username: alice.meterId, password: makeLoginToken(alice.key, alice.meterId), will: { topic: 'tmi/v1/readings', payload: Buffer.from('x'), qos: 0, retain: false } }), 5, 'will');

  const token = makeLoginToken(alice.key, alice.meterId);
  const first = await login(tb.url, alice, { password: token });
  await first.endAsync();
  assert.equal(await refusedCode(tb.url, { clientId: alice.meterId, username: alice.meterId, password: token }), 4, 'replayed token');
});

test('a correctly signed bid reaches a subscriber; bad ones are dropped and the sender gets the code', async () => {
  const sub = await connect(agg);
  const bids = await Inbox.subscribe(sub, 'tmi/v1/auctions/+/bids');
  const pub = await connect(alice);
  const mine = await Inbox.subscribe(pub, `tmi/v1/clients/${alice.meterId}/errors`);
  const topic = 'tmi/v1/auctions/A1/bids';

  const good = signedBid(alice.pseudonym, 'A1');
  await pub.publishAsync(topic, good, { qos: 1 });
  await bids.waitFor(() => bids.messages.length === 1, 5000, 'the good bid');
  assert.deepEqual(bids.messages[0]!.payload, good);

  const cases: { name: string; payload: Buffer; code: string; topic?: string; reqId?: string }[] = [];
  // forged: a signed bid whose price was changed afterwards
  const forged = signEnvelope(alice.pseudonym, 'bid-offer', bidOffer(alice.pseudonym, 'A1'));
  (forged.parameters.bid as { price: { value: number } }).price.value = 0.1;
  cases.push({ name: 'forged', payload: encode(forged), code: 'BAD_SIGNATURE', reqId: forged.reqId });
  // replayed: the good bid again
  cases.push({ name: 'replayed', payload: good, code: 'REPLAYED', reqId: (JSON.parse(good.toString()) as { reqId: string }).reqId });
  // schema-invalid: an extra field, signed
  const extra = signAndEncode(alice.pseudonym, 'bid-offer', { ...bidOffer(alice.pseudonym, 'A1'), bonus: 1 } as never);
  cases.push({ name: 'schema', payload: extra, code: 'SCHEMA_UNKNOWN_FIELD' });
  // oversized for a bid-offer (16 KiB) though under the broker's packet limit
  const big = signEnvelope(alice.pseudonym, 'bid-offer', bidOffer(alice.pseudonym, 'A1'));
  cases.push({ name: 'oversized', payload: Buffer.from(JSON.stringify({ ...big, pad: 'x'.repeat(20_000) })), code: 'MESSAGE_TOO_LARGE', reqId: big.reqId });
  // stale date
  const stale = signEnvelope(alice.pseudonym, 'bid-offer', bidOffer(alice.pseudonym, 'A1'), { date: new Date(Date.now() - 10 * 60_000) });
  cases.push({ name: 'stale', payload: encode(stale), code: 'STALE_DATE', reqId: stale.reqId });
  // bob's pseudonym, relayed through alice's login
  const bobs = signEnvelope(bob.pseudonym, 'bid-offer', bidOffer(bob.pseudonym, 'A1'));
  cases.push({ name: 'not-your-id (pseudonym)', payload: encode(bobs), code: 'NOT_YOUR_ID', reqId: bobs.reqId });
  // bob's meter id as clientId
  const asBob = signEnvelope(alice.key, 'bid-offer', bidOffer(alice.key, 'A1'), { clientId: bob.meterId });
  cases.push({ name: 'not-your-id (meter id)', payload: encode(asBob), code: 'NOT_YOUR_ID' });
  // an uncertified key of alice's own making
  const stranger = generateKeyPair();
  cases.push({ name: 'uncertified pseudonym', payload: signedBid(stranger, 'A1'), code: 'NOT_YOUR_ID' });
  // auctionId in topic != parameters
  cases.push({ name: 'auction mismatch', payload: signedBid(alice.pseudonym, 'A2'), code: 'TOPIC_MISMATCH' });
  // not JSON
  cases.push({ name: 'garbage', payload: Buffer.from('{"not json'), code: 'MALFORMED_JSON' });
  // a bid on the readings topic
  cases.push({ name: 'wrong operation', payload: signedBid(alice.pseudonym, 'A1'), code: 'TOPIC_MISMATCH', topic: 'tmi/v1/readings' });
  // a topic the hem role may not publish on
  cases.push({ name: 'acl', payload: Buffer.from('{}'), code: 'NOT_AUTHORIZED_TOPIC', topic: 'tmi/v1/schedule' });
  cases.push({ name: 'acl other meter state', payload: Buffer.from('{}'), code: 'NOT_AUTHORIZED_TOPIC', topic: `tmi/v1/meters/${bob.meterId}/state` });

  for (const [i, c] of cases.entries()) {
    // QoS 1: the handshake completes even though the message is dropped [MQTT-3.3.5-2]
    await pub.publishAsync(c.topic ?? topic, c.payload, { qos: 1 });
    await mine.waitFor(() => mine.errors().length === i + 1, 5000, `error for ${c.name}`);
    const e = mine.errors()[i]!;
    assert.equal(e.code, c.code, `${c.name}: ${e.reason}`);
    assert.equal(e.topic, c.topic ?? topic);
    if (c.reqId) assert.equal(e.reqId, c.reqId, c.name);
    assert.equal(e.clientId, tb.broker.address, 'error signed by the broker key');
  }
  // the broker's error messages verify under its key
  const env = JSON.parse(mine.messages[0]!.payload.toString()) as Record<string, unknown> & { signature: string };
  const { signature, ...unsigned } = env;
  assert.ok(verifyBytes(publicKeyObject(Buffer.from(tb.broker.address, 'hex')), canonicalBytes(unsigned), Buffer.from(signature, 'base64')));

  await sleep(200);
  assert.equal(bids.messages.length, 1, 'no rejected bid was forwarded');
  assert.ok(pub.connected, 'the sender stays connected');

  // a state message signed by the meter key under its meter id
  const st = await connect(bob);
  const state = await Inbox.subscribe(st, `tmi/v1/meters/${bob.meterId}/state`);
  const stMsg = signAndEncode(bob.key, 'state', { meterId: bob.meterId, socPermille: 500, pvW: 1000, loadW: 400, batteryW: 600 }, { clientId: bob.meterId });
  await st.publishAsync(`tmi/v1/meters/${bob.meterId}/state`, stMsg, { qos: 1 });
  await state.waitFor(() => state.messages.length === 1, 5000, 'state');
});

test('subscriptions follow the ACL (refused filters get SUBACK 0x80)', async () => {
  const c = await connect(alice);
  const granted = async (t: string): Promise<number> => {
    try {
      return (await c.subscribeAsync(t))[0]!.qos;
    } catch (err) {
      // mqtt.js rejects a SUBACK with 0x80; the packet says what was granted
      const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
      if (!granted) throw err;
      return granted[0]!;
    }
  };
  assert.equal(await granted('tmi/v1/auctions/+'), 0);
  assert.equal(await granted('tmi/v1/auctions/#'), 0);
  assert.equal(await granted(`tmi/v1/meters/${alice.meterId}/#`), 0);
  assert.equal(await granted(`tmi/v1/clients/${alice.meterId}/errors`), 0);
  assert.equal(await granted('tmi/v1/#'), 128);
  assert.equal(await granted('#'), 128);
  assert.equal(await granted(`tmi/v1/meters/${bob.meterId}/state`), 128);
  assert.equal(await granted('tmi/v1/meters/+/state'), 128);
  assert.equal(await granted(`tmi/v1/clients/${bob.meterId}/errors`), 128);
  assert.equal(await granted('$SYS/#'), 128);
});

test('retained messages: auction-open retained by the aggregator reaches a later subscriber; a hem may not retain', async () => {
  const a = await connect(agg);
  const now = Date.now();
  const open: AuctionOpen = {
    auctionId: 'R1', side: 'buy', energy: { unit: 'kWh', value: 5 }, limitPrice: { unit: 'cents/kWh', value: 10 },
    delivery: { start: new Date(now + 900_000).toISOString(), end: new Date(now + 1_800_000).toISOString() },
    closesAt: new Date(now + 600_000).toISOString(), pricing: 'pay-as-bid', sealed: false,
  };
  const payload = signAndEncode(agg.key, 'auction-open', open, { clientId: agg.meterId });
  await a.publishAsync('tmi/v1/auctions/R1', payload, { qos: 1, retain: true });

  const h = await connect(alice);
  const errs = await Inbox.subscribe(h, `tmi/v1/clients/${alice.meterId}/errors`);
  const auctions = await Inbox.subscribe(h, 'tmi/v1/auctions/+');
  await auctions.waitFor(() => auctions.messages.length === 1, 5000, 'retained auction-open');
  assert.deepEqual(auctions.messages[0]!.payload, payload);

  await h.publishAsync('tmi/v1/auctions/R1/bids', signedBid(alice.pseudonym, 'R1'), { qos: 1, retain: true });
  await errs.waitFor(() => errs.errors().length === 1, 5000, 'RETAIN_NOT_ALLOWED');
  assert.equal(errs.errors()[0]!.code, 'RETAIN_NOT_ALLOWED');
});

test('[EDGE-reqId] every error about a publish whose envelope parses carries its reqId, whichever step refused it', async () => {
  const c = await connect(alice);
  const errs = await Inbox.subscribe(c, `tmi/v1/clients/${alice.meterId}/errors`);
  const reqIdIn = (b: Buffer) => (JSON.parse(b.toString()) as { reqId: string }).reqId;
  const cases: { name: string; topic: string; payload: Buffer; retain?: boolean; code: string; reqId: string | undefined }[] = [];
  // [EDGE-1] a topic the hem role may not publish on (under tmi/v1/ and outside it)
  const onSchedule = signedBid(alice.pseudonym, 'A1');
  cases.push({ name: 'acl', topic: 'tmi/v1/schedule', payload: onSchedule, code: 'NOT_AUTHORIZED_TOPIC', reqId: reqIdIn(onSchedule) });
  const elsewhere = signedBid(alice.pseudonym, 'A1');
  cases.push({ name: 'acl outside tmi/v1', topic: 'home/battery', payload: elsewhere, code: 'NOT_AUTHORIZED_TOPIC', reqId: reqIdIn(elsewhere) });
  // [EDGE-2] a retained bid
  const retained = signedBid(alice.pseudonym, 'A1');
  cases.push({ name: 'retain', topic: 'tmi/v1/auctions/A1/bids', payload: retained, retain: true, code: 'RETAIN_NOT_ALLOWED', reqId: reqIdIn(retained) });
  // [EDGE-6] after the parse, as before
  const wrongOp = signedBid(alice.pseudonym, 'A1');
  cases.push({ name: 'wrong operation', topic: 'tmi/v1/readings', payload: wrongOp, code: 'TOPIC_MISMATCH', reqId: reqIdIn(wrongOp) });
  // an envelope that cannot be parsed: no reqId, whichever step refused it
  cases.push({ name: 'acl, not JSON', topic: 'tmi/v1/schedule', payload: Buffer.from('{"reqId":"abcdefghijklmnop"'), code: 'NOT_AUTHORIZED_TOPIC', reqId: undefined });
  cases.push({ name: 'not JSON', topic: 'tmi/v1/auctions/A1/bids', payload: Buffer.from('{"reqId":"abcdefghijklmnop"'), code: 'MALFORMED_JSON', reqId: undefined });

  for (const [i, k] of cases.entries()) {
    await c.publishAsync(k.topic, k.payload, { qos: 1, retain: k.retain ?? false });
    await errs.waitFor(() => errs.errors().length === i + 1, 5000, `error for ${k.name}`);
    const e = errs.errors()[i]!;
    assert.equal(e.code, k.code, `${k.name}: ${e.reason}`);
    assert.equal(e.topic, k.topic, k.name);
    assert.equal(e.reqId, k.reqId, `${k.name}: reqId`);
  }
});

test('rate limit: past the burst, publishes are dropped with RATE_LIMITED', async () => {
  const rl = await startBroker({ ratePerClient: { messagesPerSecond: 5, burst: 5 } });
  const m = enrollMeter(rl.dir, 'meter-rl');
  const s = enrollMeter(rl.dir, 'agg-rl', 'aggregator');
  const c = await login(rl.url, m);
  const sub = await login(rl.url, s);
  try {
    const bids = await Inbox.subscribe(sub, 'tmi/v1/auctions/+/bids');
    const errs = await Inbox.subscribe(c, `tmi/v1/clients/${m.meterId}/errors`);
    const sent = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const b = signedBid(m.pseudonym, 'X');
      sent.add((JSON.parse(b.toString()) as { reqId: string }).reqId);
      c.publish('tmi/v1/auctions/X/bids', b, { qos: 0 });
    }
    await errs.waitFor(() => errs.errors().some((e) => e.code === 'RATE_LIMITED'), 5000, 'RATE_LIMITED');
    const limited = errs.errors().find((e) => e.code === 'RATE_LIMITED')!;
    assert.ok(limited.reqId !== undefined && sent.has(limited.reqId), `RATE_LIMITED names the refused message's reqId (${limited.reqId})`);
    await bids.waitFor(() => bids.messages.length >= 5, 5000, 'the burst');
    await sleep(300);
    assert.ok(bids.messages.length >= 5 && bids.messages.length <= 7, `forwarded ${bids.messages.length}`);
    assert.equal(errs.errors().filter((e) => e.code === 'RATE_LIMITED').length, 1, 'one RATE_LIMITED message per second, not one per drop');
  } finally {
    await Promise.all([c.endAsync(true), sub.endAsync(true)]);
    await rl.broker.close();
  }
});

test('[RATE-NODE] the aggregator\'s chain node (role node) is not rate limited: its blocks, votes and sync answers come at the chain\'s pace', async () => {
  const rl = await startBroker({ ratePerClient: { messagesPerSecond: 5, burst: 5 } });
  const n = enrollMeter(rl.dir, 'agg-node-rl', 'node');
  const s = enrollMeter(rl.dir, 'agg-rl2', 'aggregator');
  const c = await login(rl.url, n);
  const sub = await login(rl.url, s);
  try {
    const got = await Inbox.subscribe(sub, 'tmi/v1/chain/sync/request');
    // the node role may not subscribe to its error topic (a refusal reaches it nowhere): the aggregator watches it
    const errs = await Inbox.subscribe(sub, `tmi/v1/clients/${n.meterId}/errors`);
    for (let i = 0; i < 20; i++) c.publish('tmi/v1/chain/sync/request', signAndEncode(n.key, 'sync-request', { nodeId: n.meterId, fromHeight: i + 1 }), { qos: 0 });
    await got.waitFor(() => got.messages.length === 20, 5000, 'all 20 forwarded');
    await sleep(300);
    assert.equal(got.messages.length, 20);
    assert.deepEqual(errs.errors().map((e) => e.code), [], 'no RATE_LIMITED');
  } finally {
    await Promise.all([c.endAsync(true), sub.endAsync(true)]);
    await rl.broker.close();
  }
});

test('a packet over maxPacketBytes closes the connection before it is buffered', async () => {
  const c = await connect(bob);
  const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
  c.publish(`tmi/v1/meters/${bob.meterId}/state`, Buffer.alloc(100 * 1024, 0x20), { qos: 0 });
  await closed;
  const text = await tb.broker.metrics.getSingleMetricAsString('tmi_broker_oversize_packets_total');
  assert.match(text, /tmi_broker_oversize_packets_total [1-9]/);
});

test('validate:false forwards unsigned payloads (ACL still applies)', async () => {
  const nv = await startBroker({ validate: false });
  const m = enrollMeter(nv.dir, 'meter-nv');
  const s = enrollMeter(nv.dir, 'agg-nv', 'aggregator');
  const c = await login(nv.url, m);
  const sub = await login(nv.url, s);
  try {
    const bids = await Inbox.subscribe(sub, 'tmi/v1/#');
    await c.publishAsync('tmi/v1/auctions/X/bids', Buffer.from('not even json'), { qos: 1 });
    await bids.waitFor(() => bids.messages.length === 1, 5000, 'unvalidated message');
    const errs = await Inbox.subscribe(c, `tmi/v1/clients/${m.meterId}/errors`);
    await c.publishAsync('tmi/v1/schedule', Buffer.from('x'), { qos: 1 });
    await errs.waitFor(() => errs.errors().length === 1, 5000, 'ACL error');
    assert.equal(errs.errors()[0]!.code, 'NOT_AUTHORIZED_TOPIC');
  } finally {
    await Promise.all([c.endAsync(true), sub.endAsync(true)]);
    await nv.broker.close();
  }
});

test('metrics over HTTP: connected clients, messages in/out, rejects by code, auth failures', async () => {
  const res = await fetch(`http://127.0.0.1:${tb.broker.ports.metrics}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /tmi_broker_connected_clients \d+/);
  assert.match(text, /tmi_broker_messages_in_total\{result="accepted"\} [1-9]/);
  assert.match(text, /tmi_broker_messages_in_total\{result="rejected"\} [1-9]/);
  assert.match(text, /tmi_broker_messages_out_total [1-9]/);
  assert.match(text, /tmi_broker_rejects_total\{code="BAD_SIGNATURE"\} 1/);
  assert.match(text, /tmi_broker_rejects_total\{code="NOT_YOUR_ID"\} 3/);
  assert.match(text, /tmi_broker_auth_failures_total\{reason="TOKEN_BAD_SIGNATURE"\} 1/);
  assert.match(text, /tmi_broker_auth_failures_total\{reason="UNKNOWN_METER"\} 1/);
  assert.equal((await fetch(`http://127.0.0.1:${tb.broker.ports.metrics}/other`)).status, 404);
});
