import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../../wire/keys.js';
import { createCodec, signEnvelope } from '../../wire/codec.js';
import type { AnyEnvelope } from '../../schemas/types.js';
import { HemStore, type OutboxEntry } from '../hemStore.js';
import { OutboxPump, type Transport } from '../outboxPump.js';
import { memoryDb, sleep, waitFor } from './hemFixtures.js';

const key = generateKeyPair();

function reading(seq: number, date: number): OutboxEntry {
  const env = signEnvelope(
    key,
    'meter-reading',
    {
      address: key.address, interval: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:15:00.000Z' }, seq,
      producedWh: 1, consumedWh: 2, chargedWh: 0, dischargedWh: 0, socPermille: 500,
    },
    { date: new Date(date) },
  );
  return { topic: 'tmi/v1/readings', operation: 'meter-reading', signer: key.address, envelope: env as AnyEnvelope };
}

/** A transport whose PUBACKs the test controls. */
class MockTransport implements Transport {
  connected = true;
  sent: { topic: string; env: AnyEnvelope; ack: () => void; fail: () => void }[] = [];
  publish(topic: string, payload: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sent.push({ topic, env: JSON.parse(payload.toString()) as AnyEnvelope, ack: resolve, fail: () => reject(new Error('lost')) });
    });
  }
}

const seqOf = (e: AnyEnvelope) => (e.parameters as { seq: number }).seq;

test('sends in order, removes an entry only after its PUBACK, resends after a lost connection', async () => {
  const store = await HemStore.open(memoryDb());
  const t = new MockTransport();
  const now = Date.now();
  const pump = new OutboxPump({ store, transport: t, signer: () => ({ key, clientId: key.address, ready: true }), maxInFlight: 3 });
  for (let i = 0; i < 5; i++) await store.commit([], [reading(i, now)]);
  pump.pump();
  assert.deepEqual(t.sent.map((s) => seqOf(s.env)), [0, 1, 2], 'window of 3, in order');
  t.sent[0]!.ack();
  await waitFor(() => store.queued === 4, 1000, 'removal after ack');
  assert.deepEqual(t.sent.map((s) => seqOf(s.env)), [0, 1, 2, 3]);
  // connection lost: 1, 2, 3 unacknowledged
  t.connected = false;
  for (const s of t.sent.slice(1)) s.fail();
  await sleep(5);
  assert.equal(store.queued, 4, 'nothing lost');
  pump.pump();
  assert.equal(t.sent.length, 4, 'nothing sent while offline');
  t.connected = true;
  t.sent = [];
  pump.pump();
  assert.deepEqual(t.sent.map((s) => seqOf(s.env)), [1, 2, 3], 'resent in order after reconnect');
  // young entries are resent as they were: same reqId
  for (const s of t.sent) s.ack();
  await waitFor(() => store.queued === 1, 1000);
  await waitFor(() => t.sent.length === 4, 1000);
  assert.equal(seqOf(t.sent[3]!.env), 4);
  t.sent[3]!.ack();
  await waitFor(() => store.queued === 0, 1000);
  await pump.settled();
});

test('an entry older than resignAfterMs is signed again with the same parameters', async () => {
  const store = await HemStore.open(memoryDb());
  const t = new MockTransport();
  const made = Date.now() - 600_000; // made 10 minutes ago (e.g. broker down)
  const pump = new OutboxPump({ store, transport: t, signer: () => ({ key, clientId: key.address, ready: true }), resignAfterMs: 90_000 });
  const e = reading(7, made);
  await store.commit([], [e]);
  pump.pump();
  const sent = t.sent[0]!.env;
  assert.notEqual(sent.reqId, e.envelope.reqId);
  assert.ok(Math.abs(Date.parse(sent.date) - Date.now()) < 5000);
  assert.deepEqual(sent.parameters, e.envelope.parameters, 'seq, interval and values unchanged');
  // the receiver's codec (±120 s) accepts the re-signed one and would reject the original
  const codec = createCodec();
  assert.equal(codec.decode(JSON.stringify(sent)).operation, 'meter-reading');
  assert.throws(() => createCodec().decode(JSON.stringify(e.envelope)), /STALE_DATE/);
  t.sent[0]!.ack();
  await waitFor(() => store.queued === 0, 1000);
});

test('expired bids are dropped; entries of a signer without certificate wait', async () => {
  const store = await HemStore.open(memoryDb());
  const t = new MockTransport();
  const other = generateKeyPair();
  let otherReady = false;
  const pump = new OutboxPump({
    store,
    transport: t,
    signer: (s) => (s === key.address ? { key, clientId: key.address, ready: true } : { key: other, clientId: other.address, ready: otherReady }),
  });
  const blocked = { ...reading(0, Date.now()), signer: other.address };
  const expired = { ...reading(1, Date.now()), expiresAtMs: Date.now() - 1 };
  await store.commit([], [blocked, expired, reading(2, Date.now())]);
  pump.pump();
  await pump.settled();
  assert.deepEqual(t.sent.map((s) => seqOf(s.env)), [2], 'blocked waits, expired dropped, the rest goes');
  assert.equal(pump.droppedCount, 1);
  t.sent[0]!.ack();
  await waitFor(() => store.queued === 1, 1000);
  otherReady = true;
  pump.pump();
  assert.deepEqual(t.sent.map((s) => seqOf(s.env)), [2, 0]);
});

test('[HEM-Q6] a message refused "for now" after its PUBACK goes back in the outbox and is sent again; other refusals do not', async () => {
  const store = await HemStore.open(memoryDb());
  const t = new MockTransport();
  const now = Date.now();
  const pump = new OutboxPump({ store, transport: t, signer: () => ({ key, clientId: key.address, ready: true }), retryAfterMs: 50 });
  for (let i = 0; i < 3; i++) await store.commit([], [reading(i, now)]);
  pump.pump();
  assert.equal(t.sent.length, 3);
  const [a, b, c] = t.sent;
  // a: refused after its PUBACK; b: refused before its PUBACK; c: refused for a reason that would fail again
  a!.ack();
  await waitFor(() => store.queued === 2, 1000);
  assert.equal(pump.refused(a!.env.reqId, 'DIRECTORY_UNAVAILABLE'), true);
  assert.equal(pump.refused(b!.env.reqId, 'RATE_LIMITED'), true);
  b!.ack();
  assert.equal(pump.refused(c!.env.reqId, 'BAD_SIGNATURE'), false);
  c!.ack();
  assert.equal(pump.refused('no-such-req', 'DIRECTORY_UNAVAILABLE'), false);
  await waitFor(() => t.sent.length === 5, 2000, 'a and b sent again');
  assert.deepEqual(t.sent.slice(3).map((s) => seqOf(s.env)).sort(), [0, 1]);
  assert.deepEqual(t.sent.slice(3).map((s) => s.env.reqId).sort(), [a!.env.reqId, b!.env.reqId].sort(), 'young: same signed message');
  assert.equal(store.queued, 2, 'held in the durable outbox until acknowledged again');
  for (const s of t.sent.slice(3)) s.ack();
  await waitFor(() => store.queued === 0, 1000);
  assert.equal(pump.retriedCount, 2);
  await pump.settled();
});

test('[HEM-Q6] a refused message waits retryAfterMs before it is sent again', async () => {
  const store = await HemStore.open(memoryDb());
  const t = new MockTransport();
  const pump = new OutboxPump({ store, transport: t, signer: () => ({ key, clientId: key.address, ready: true }), retryAfterMs: 400 });
  await store.commit([], [reading(0, Date.now())]);
  pump.pump();
  t.sent[0]!.ack();
  await waitFor(() => store.queued === 0, 1000);
  const t0 = Date.now();
  pump.refused(t.sent[0]!.env.reqId, 'DIRECTORY_UNAVAILABLE');
  await waitFor(() => store.queued === 1, 1000);
  pump.pump();
  assert.equal(t.sent.length, 1, 'held');
  await waitFor(() => t.sent.length === 2, 2000);
  assert.ok(Date.now() - t0 >= 380, `sent again after ${Date.now() - t0} ms`);
  t.sent[1]!.ack();
  await waitFor(() => store.queued === 0, 1000);
  await pump.settled();
});

test('[HEM-Q7] a message refused STALE_DATE is held, then sent as it was while its date is near our clock, and signed again once the clock has been set back', async () => {
  const store = await HemStore.open(memoryDb());
  const t = new MockTransport();
  let clock = Date.now() + 150_000; // our clock jumped 150 s ahead
  const pump = new OutboxPump({
    store, transport: t, now: () => clock, signer: () => ({ key, clientId: key.address, ready: true }),
    staleRetryAfterMs: 200, resignAfterMs: 90_000,
  });
  await store.commit([], [reading(0, clock), reading(1, clock)]);
  pump.pump();
  const [a, b] = t.sent;
  a!.ack();
  await waitFor(() => store.queued === 1, 1000);
  assert.equal(pump.refused(a!.env.reqId, 'STALE_DATE'), true, 'refused after its PUBACK');
  assert.equal(pump.refused(b!.env.reqId, 'STALE_DATE'), true, 'refused before its PUBACK');
  b!.ack();
  await waitFor(() => store.queued === 2, 1000);
  pump.pump();
  assert.equal(t.sent.length, 2, 'held');
  // still ahead, 0.3 s later: the same signed bytes go out again
  await sleep(250);
  clock += 300;
  pump.pump();
  await waitFor(() => t.sent.length === 4, 2000, 'sent again');
  assert.deepEqual(t.sent.slice(2).map((s) => s.env.reqId).sort(), [a!.env.reqId, b!.env.reqId].sort());
  assert.equal(pump.refused(t.sent[2]!.env.reqId, 'STALE_DATE'), true);
  assert.equal(pump.refused(t.sent[3]!.env.reqId, 'STALE_DATE'), true);
  t.sent[2]!.ack();
  t.sent[3]!.ack();
  await waitFor(() => store.queued === 2, 1000);
  // the clock is set right (150 s back): each is signed again with today's date, same reading
  clock -= 150_000;
  await sleep(250);
  pump.pump();
  await waitFor(() => t.sent.length === 6, 2000, 're-signed');
  for (const s of t.sent.slice(4)) {
    assert.ok(!([a!.env.reqId, b!.env.reqId] as string[]).includes(s.env.reqId), 'new reqId');
    assert.ok(Math.abs(Date.parse(s.env.date) - clock) < 5000, `dated by the corrected clock: ${s.env.date}`);
    s.ack();
  }
  assert.deepEqual(t.sent.slice(4).map((s) => seqOf(s.env)).sort(), [0, 1], 'same readings');
  await waitFor(() => store.queued === 0, 1000);
  assert.equal(pump.retriedCount, 4);
  await pump.settled();
});

test('[HEM-Q8] chain transactions wait while the chain is unknown, then go signed for it (a certificate inside its tx too)', async () => {
  const store = await HemStore.open(memoryDb());
  const t = new MockTransport();
  let chain: string | undefined;
  const pump = new OutboxPump({ store, transport: t, signer: () => ({ key, clientId: key.address, ready: true }), genesisHash: () => chain });
  const now = Date.now();
  const cert = { address: key.address, validFrom: '2026-01-01T00:00:00.000Z', validTo: '2026-01-02T00:00:00.000Z', feeder: 'F1', programme: 'TE' as const, tag: 'ab'.repeat(32), registrySignature: 'A'.repeat(86) + '==' };
  const inner = signEnvelope(key, 'certificate', cert, { date: new Date(now) });
  const tx = signEnvelope(key, 'tx', { tx: inner as never }, { date: new Date(now) });
  const state = signEnvelope(key, 'state', { meterId: 'm1', socPermille: 1, pvW: 0, loadW: 0, batteryW: 0 }, { date: new Date(now) });
  await store.commit([], [reading(0, now), { topic: 'tmi/v1/chain/txs', operation: 'tx', signer: key.address, envelope: tx as AnyEnvelope }, { topic: 'tmi/v1/meters/m1/state', operation: 'state', signer: key.address, envelope: state as AnyEnvelope }]);
  pump.pump();
  assert.deepEqual(t.sent.map((s) => s.env.operation), ['state'], 'only what is not for the chain goes while no chain is known');
  chain = 'cd'.repeat(32);
  pump.pump();
  assert.deepEqual(t.sent.map((s) => s.env.operation), ['state', 'meter-reading', 'tx']);
  const codec = createCodec({ replayCheck: false });
  const r = codec.decodeValue(t.sent[1]!.env);
  assert.equal(r.chain, chain, 'the reading is signed again for the chain');
  assert.equal(seqOf(r), 0, 'same parameters');
  const wrapped = codec.decodeValue(t.sent[2]!.env) as AnyEnvelope & { operation: 'tx' };
  const carried = codec.decodeValue(wrapped.parameters.tx);
  assert.equal(carried.chain, chain, 'the certificate inside is signed again for the chain');
  assert.deepEqual(carried.parameters, cert);
  assert.equal(wrapped.chain, undefined, 'the wrapper only carries it');
  for (const s of t.sent) s.ack();
  await waitFor(() => store.queued === 0, 1000);
  await pump.settled();
});
