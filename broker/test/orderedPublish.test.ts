import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { orderPublishes } from '../orderedPublish.js';

type Publish = (packet: object, client: unknown, done: (err?: Error | null) => void) => void;

/**
 * A persistent QoS 1 subscriber to an auction topic and the readings; one retained message
 * and three plain ones published in the same turn of the event loop, then one more later.
 */
async function retainedAmongReadings(ordered: boolean): Promise<{ got: string[]; clientErrors: string[] }> {
  const aedes = await Aedes.createBroker();
  const a = aedes as unknown as { publish: Publish; mq: unknown };
  if (ordered) a.publish = orderPublishes(a.publish.bind(aedes), a.mq);
  const clientErrors: string[] = [];
  aedes.on('clientError', (_c, e) => void clientErrors.push(e.message));
  const server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sub = await mqtt.connectAsync(url, { clientId: 'node', clean: false, protocolVersion: 4, reconnectPeriod: 0 });
  const got: string[] = [];
  sub.on('message', (_t, p) => void got.push(p.toString()));
  await sub.subscribeAsync(['tmi/v1/auctions/+', 'tmi/v1/readings'], { qos: 1 });
  const pub = (topic: string, payload: string, retain = false) =>
    a.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain, dup: false }, null, () => undefined);
  pub('tmi/v1/auctions/A1', 'open', true);
  for (let i = 0; i < 3; i++) pub('tmi/v1/readings', `r${i}`);
  await new Promise((r) => setTimeout(r, 300));
  pub('tmi/v1/readings', 'later');
  await new Promise((r) => setTimeout(r, 300));
  sub.end(true);
  await new Promise<void>((r) => aedes.close(() => r()));
  server.close();
  return { got, clientErrors };
}

test('[BROKER-ORDER] a retained message published among plain ones reaches a subscriber of both, in order, without a disconnect', async () => {
  const { got, clientErrors } = await retainedAmongReadings(true);
  assert.deepEqual(got, ['open', 'r0', 'r1', 'r2', 'later']);
  assert.deepEqual(clientErrors, []);
});

test('[BROKER-ORDER] control: stock aedes 1.2 drops the retained message as a duplicate and disconnects the subscriber', async () => {
  const { got, clientErrors } = await retainedAmongReadings(false);
  assert.equal(got.includes('open'), false, `got ${JSON.stringify(got)}`);
  assert.ok(clientErrors.includes('no such packet'), `client errors ${JSON.stringify(clientErrors)}`);
});

test('[BROKER-ORDER] publishes are started one at a time, each after the previous one is emitted; callbacks and errors pass through', async () => {
  const emitted: string[] = [];
  const mq = { emit: (m: { id: string }, cb?: () => void) => void (emitted.push(m.id), cb?.()) };
  const started: string[] = [];
  const pending: Array<() => void> = [];
  // a publish that emits only when the test says so, and fails for id "bad" before any emit
  const raw = (p: { id: string }, _c: null, done: (err?: Error | null) => void) => {
    started.push(p.id);
    if (p.id === 'bad') return done(new Error('too many levels'));
    pending.push(() => mq.emit(p, () => done(null)));
  };
  const publish = orderPublishes(raw, mq);
  const results: string[] = [];
  for (const id of ['a', 'bad', 'b']) publish({ id }, null, (err) => void results.push(`${id}:${err ? err.message : 'ok'}`));
  assert.deepEqual(started, ['a'], 'b waits for a');
  pending.shift()!();
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(started, ['a', 'bad', 'b'], 'a failure before the emit releases the next one');
  pending.shift()!();
  assert.deepEqual(emitted, ['a', 'b']);
  assert.deepEqual(results, ['a:ok', 'bad:too many levels', 'b:ok']);
});
