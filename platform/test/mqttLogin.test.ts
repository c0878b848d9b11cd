import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { keepAliveOnTraffic } from '../mqttLogin.js';

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
