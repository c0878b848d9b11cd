import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { connectWithLogin, holdMessagesUntilListened, keepAliveOnTraffic } from '../mqttLogin.js';
import { createChainNode } from '../../poe-chain/node/createChainNode.js';
import { parseGenesis } from '../../poe-chain/core/genesis.js';
import { testKey } from '../../poe-chain/testkit/chainFixture.js';
import { memoryStore, pastGenesisConfig, startAedes } from '../../poe-chain/test/node/nodeFixtures.js';
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

test('[LOGIN-Q] a chain node on a holding client stops while messages are still arriving: it unsubscribes before it stops listening', async () => {
  // Without a 'message' listener the client holds every incoming packet, the UNSUBACK
  // included; a node that stopped listening first waited for ever for its unsubscribe
  // (`tmi up` stops under load: 9 in 20 before the order was changed)
  const broker = await startAedes();
  const config = pastGenesisConfig();
  const client = await mqtt.connectAsync(broker.url, { clientId: 'holding-node', reconnectPeriod: 0 });
  holdMessagesUntilListened(client);
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  const node = await createChainNode({ genesis: parseGenesis(config), key: testKey('holding-node'), store: await memoryStore(config), mqtt: client, nodeId: 'holding-node', log });
  const pub = await mqtt.connectAsync(broker.url, { clientId: 'burst', reconnectPeriod: 0 });
  try {
    // messages keep arriving while the node closes (garbage: each is dropped, after its PUBACK)
    let i = 0;
    const stream = setInterval(() => {
      for (let k = 0; k < 5; k++) void pub.publishAsync('tmi/v1/chain/votes', `{"garbage":${i++}}`, { qos: 1 }).catch(() => undefined);
    }, 1);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await node.close().finally(() => clearInterval(stream));
    const closeMs = performance.now() - t0;
    assert.ok(closeMs < 1500, `closed in ${Math.round(closeMs)} ms`);
    assert.deepEqual(warnings.filter((w) => w.includes('UNSUBACK')), [], 'the broker acknowledged the unsubscribe');
    // and the client ends cleanly: nothing of its own is held behind a message
    await client.endAsync();
  } finally {
    await pub.endAsync();
    if (!client.disconnected) client.end(true);
    await broker.close();
  }
});
