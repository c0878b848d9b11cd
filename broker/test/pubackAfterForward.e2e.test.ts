/**
 * [BROKER-ACK] A QoS 1 publish is acknowledged only after it has been forwarded: aedes
 * itself writes the PUBACK first and forwards afterwards, so a broker killed in between
 * loses a message whose sender has already forgotten it (found by
 * platform/test/brokerKill.resilience.test.ts). Here the forward to a persistent
 * subscriber is slowed down (its session store takes 300 ms): the sender's PUBACK must
 * come after the subscriber has the message, not before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Inbox, enrollMeter, login, signedBid, startBroker } from './brokerFixtures.js';

test('QoS 1: the PUBACK comes after the message has been forwarded to the subscribers', async () => {
  const { broker, dir, url } = await startBroker({ verifyThreads: 0 });
  try {
    const agg = enrollMeter(dir, 'agg-ack', 'aggregator');
    const hem = enrollMeter(dir, 'meter-ack');
    const sub = await login(url, agg, { clean: false });
    const inbox = await Inbox.subscribe(sub, 'tmi/v1/auctions/+/bids', 1);
    let receivedAt = 0;
    sub.on('message', () => (receivedAt ||= Date.now()));
    const persistence = (broker.aedes as unknown as { persistence: { outgoingUpdate(c: unknown, p: unknown): Promise<unknown> } }).persistence;
    const slow = persistence.outgoingUpdate.bind(persistence);
    persistence.outgoingUpdate = async (c, p) => {
      await new Promise((r) => setTimeout(r, 300));
      return slow(c, p);
    };
    const pub = await login(url, hem);
    const t0 = Date.now();
    await pub.publishAsync('tmi/v1/auctions/ACK-1/bids', signedBid(hem.pseudonym, 'ACK-1'), { qos: 1 });
    const pubackAt = Date.now();
    await inbox.waitFor(() => inbox.messages.length === 1, 5000, 'the bid');
    assert.ok(receivedAt > 0 && receivedAt <= pubackAt, `forwarded (${receivedAt - t0} ms) before the PUBACK (${pubackAt - t0} ms)`);
    assert.ok(pubackAt - t0 >= 290, 'the PUBACK waited for the forward');
    // a rejected publish is still acknowledged at once and not forwarded
    const t1 = Date.now();
    await pub.publishAsync('tmi/v1/auctions/ACK-1/bids', Buffer.from('{"not":"signed"}'), { qos: 1 });
    assert.ok(Date.now() - t1 < 250, 'a rejection does not wait');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(inbox.messages.length, 1, 'the rejected publish was not forwarded');
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  } finally {
    await broker.close();
  }
});
