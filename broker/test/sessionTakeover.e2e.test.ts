/**
 * A persistent QoS 1 subscriber that takes over its own session again and again while
 * messages flow (as a service does when it reconnects under load) receives every message
 * acknowledged to the publisher, and the broker does not close its new connections
 * ([BROKER-REPLAY], sessionQueueRace.ts). The longer run is `node dist/bench/subscriberLoss.js`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { enrollMeter, loginOptions, startBroker } from './brokerFixtures.js';

const TOPIC = 'tmi/v1/readings';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('session takeover under load: nothing acknowledged is lost and the new connection stays open', async () => {
  const tb = await startBroker({ validate: false });
  const subM = enrollMeter(tb.dir, 'takeover-sub', 'analytics');
  const pubM = enrollMeter(tb.dir, 'takeover-pub');
  const seen = new Set<string>();
  let closedByBroker = 0;
  let current: MqttClient | undefined;
  // the listener is attached before CONNECT: queued messages come right after CONNACK
  const connect = () =>
    new Promise<MqttClient>((resolve, reject) => {
      const c = mqtt.connect(tb.url, loginOptions(subM, { clean: false, protocolVersion: 4 }));
      c.on('message', (_t, b) => void seen.add(b.toString()));
      c.on('close', () => void (c === current && closedByBroker++));
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  try {
    current = await connect();
    await current.subscribeAsync(TOPIC, { qos: 1 });
    const pub = await mqtt.connectAsync(tb.url, loginOptions(pubM, { protocolVersion: 4 }));
    const acked = new Set<string>();
    let sent = 0;
    const timer = setInterval(() => {
      for (let k = 0; k < 25; k++) {
        const id = String(sent++);
        pub.publish(TOPIC, id, { qos: 1 }, (err) => void (err ? undefined : acked.add(id)));
      }
    }, 5);
    for (let i = 0; i < 10; i++) {
      await sleep(150);
      const old = current;
      current = await connect();
      old.end(true);
    }
    clearInterval(timer);
    await sleep(2000);
    const lost = [...acked].filter((id) => !seen.has(id));
    assert.ok(acked.size > 5000, `acknowledged ${acked.size}`);
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${acked.size} acknowledged messages never delivered`);
    assert.equal(closedByBroker, 0, 'the broker closed a fresh connection of the session');
    await pub.endAsync();
    const last = current;
    current = undefined;
    await last.endAsync();
  } finally {
    await tb.broker.close();
  }
});
