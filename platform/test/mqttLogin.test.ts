import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { connectWithLogin, keepAliveOnTraffic } from '../mqttLogin.js';
import { enrollMeter, login, startBroker } from '../../broker/test/brokerFixtures.js';

const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const PUBLISH_T_X = Buffer.from([0x30, 0x04, 0x00, 0x01, 0x74, 0x78]); // QoS 0, topic "t", payload "x"

/** A broker stand-in that streams publishes and never answers PINGREQ (its PINGRESP stuck behind a backlog). */
async function streamingServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    let timer: NodeJS.Timeout | undefined;
    s.once('data', () => {
      s.write(CONNACK);
      timer = setInterval(() => s.write(PUBLISH_T_X), 100);
    });
    s.on('close', () => clearInterval(timer));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('[LOGIN-KA] a client that keeps receiving stays connected when PINGRESP is late; plain mqtt.js drops the connection', async () => {
  const srv = await streamingServer();
  const opts = { keepalive: 1, reconnectPeriod: 0, protocolVersion: 4 as const };
  const plain = await mqtt.connectAsync(srv.url, { ...opts, clientId: 'plain' });
  const kept = await mqtt.connectAsync(srv.url, { ...opts, clientId: 'kept' });
  keepAliveOnTraffic(kept);
  let plainClosed = false;
  let keptClosed = false;
  let keptMessages = 0;
  plain.on('close', () => void (plainClosed = true));
  plain.on('error', () => undefined);
  kept.on('close', () => void (keptClosed = true));
  kept.on('message', () => void keptMessages++);
  try {
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(plainClosed, true, 'control: mqtt.js alone closes after 1.5 keepalives without PINGRESP');
    assert.equal(keptClosed, false, 'traffic from the broker keeps the connection');
    assert.ok(keptMessages >= 25, `messages received: ${keptMessages}`);
  } finally {
    plain.end(true);
    kept.end(true);
    await srv.close();
  }
});

test('[LOGIN-Q] a persistent session\'s queued messages wait for the first listener; plain mqtt.js acknowledges and drops them', async () => {
  const tb = await startBroker({ validate: false });
  const pub = enrollMeter(tb.dir, 'pub-q');
  const viaPlain = enrollMeter(tb.dir, 'plain-q', 'analytics');
  const viaLogin = enrollMeter(tb.dir, 'login-q', 'analytics');
  const topic = 'tmi/v1/readings';
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    // both subscribers make a persistent session, subscribe, and go away
    for (const m of [viaPlain, viaLogin]) {
      const c = await login(tb.url, m, { clean: false, protocolVersion: 4 });
      await c.subscribeAsync(topic, { qos: 1 });
      await c.endAsync();
    }
    const p = await login(tb.url, pub, { protocolVersion: 4 });
    for (let i = 0; i < 20; i++) await p.publishAsync(topic, `m${i}`, { qos: 1 });
    await p.endAsync();

    // each comes back and, like a service starting up, attaches its handler a little later
    const plain = await login(tb.url, viaPlain, { clean: false, protocolVersion: 4 });
    const held = await connectWithLogin({ url: tb.url, meterId: viaLogin.meterId, key: viaLogin.key, extra: { reconnectPeriod: 0 } });
    await sleep(300);
    const gotPlain: string[] = [];
    const gotHeld: string[] = [];
    plain.on('message', (_t, b) => void gotPlain.push(b.toString()));
    held.on('message', (_t, b) => void gotHeld.push(b.toString()));
    await sleep(500);
    assert.deepEqual(gotHeld, Array.from({ length: 20 }, (_, i) => `m${i}`), 'all queued messages, in order');
    assert.ok(gotPlain.length < 20, `control: plain mqtt.js loses queued messages emitted before its listener (got ${gotPlain.length})`);
    await plain.endAsync();
    await held.endAsync();
    // and none is queued again: the broker had PUBACKs only for what the handler saw
    const again = await connectWithLogin({ url: tb.url, meterId: viaLogin.meterId, key: viaLogin.key, extra: { reconnectPeriod: 0 } });
    const redelivered: string[] = [];
    again.on('message', (_t, b) => void redelivered.push(b.toString()));
    await sleep(300);
    assert.deepEqual(redelivered, []);
    await again.endAsync();
  } finally {
    await tb.broker.close();
  }
});
