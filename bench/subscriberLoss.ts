/**
 * Check (not a benchmark): every message acknowledged to its publisher reaches a persistent
 * QoS 1 subscriber that reconnects while messages flow.
 *
 *   node dist/bench/subscriberLoss.js [takeover|drop] [--plain]
 *
 * One publisher (role hem) sends 50 QoS 1 messages every 5 ms on tmi/v1/readings; one
 * subscriber (role analytics, clean: false, QoS 1) reconnects 20 times, every 150 ms:
 * `takeover` opens a second connection with the same clientId, `drop` destroys the socket
 * and logs in again. Then it waits 3 s and prints how many acknowledged messages never
 * arrived, and the broker's client errors. `--plain` runs the same against plain aedes
 * (no logins, no edge validation) for comparison. Exit code 1 if any was lost.
 *
 * Each new connection has its 'message' listener before it connects: the session's queued
 * messages arrive right after CONNACK, and mqtt.js acknowledges a message even when nobody
 * listens (see [LOGIN-Q] in platform/mqttLogin.ts). An earlier version of this script
 * attached it after `connectAsync` resolved and counted those as lost by the broker.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createTmiBroker } from '../broker/createTmiBroker.js';
import { createMemoryDirectory } from '../broker/meterDirectory.js';
import { generateKeyPair, type KeyPair } from '../wire/keys.js';
import { makeLoginToken } from '../wire/loginToken.js';

const MODE = process.argv[2] === 'drop' ? 'drop' : 'takeover';
const PLAIN = process.argv.includes('--plain');
const TOPIC = 'tmi/v1/readings';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const errors = new Map<string, number>();
  const count = (e: Error) => errors.set(e.message, (errors.get(e.message) ?? 0) + 1);
  let url: string;
  let close: () => Promise<void>;
  const kSub = generateKeyPair();
  const kPub = generateKeyPair();
  if (PLAIN) {
    const aedes = await Aedes.createBroker();
    aedes.on('clientError', (_c, e) => count(e));
    const server = createServer(aedes.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      server.close();
    };
  } else {
    const dir = createMemoryDirectory();
    dir.enroll({ meterId: 'sub', publicKey: kSub.address, role: 'analytics' });
    dir.enroll({ meterId: 'pub', publicKey: kPub.address, role: 'hem' });
    const broker = await createTmiBroker({ directory: dir, listeners: { mqtt: { port: 0, host: '127.0.0.1' } }, validate: false });
    broker.aedes.on('clientError', (_c, e) => count(e));
    url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
    close = () => broker.close();
  }
  const login = (id: string, k: KeyPair, clean = false): IClientOptions => ({
    clientId: id, username: id, password: makeLoginToken(k, id), clean, reconnectPeriod: 0, protocolVersion: 4,
  });
  const seen = new Set<string>();
  const onMessage = (_t: string, p: Buffer) => void seen.add(p.toString());
  const listening = (o: IClientOptions) =>
    new Promise<MqttClient>((resolve, reject) => {
      const c = mqtt.connect(url, o);
      c.on('message', onMessage);
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  let sub = await listening(login('sub', kSub));
  await sub.subscribeAsync(TOPIC, { qos: 1 });
  const pub = await mqtt.connectAsync(url, login('pub', kPub, true));
  let sent = 0;
  const acked = new Set<string>();
  const timer = setInterval(() => {
    for (let k = 0; k < 50; k++) {
      const id = String(sent++);
      pub.publish(TOPIC, id, { qos: 1 }, (err) => void (err ? undefined : acked.add(id)));
    }
  }, 5);
  for (let i = 0; i < 20; i++) {
    await sleep(150);
    if (MODE === 'takeover') {
      const next = await listening(login('sub', kSub));
      sub.removeAllListeners('message');
      sub.end(true);
      sub = next;
    } else {
      sub.stream.destroy();
      await sleep(20);
      sub = await listening(login('sub', kSub));
    }
  }
  clearInterval(timer);
  await sleep(3000);
  const lost = [...acked].filter((id) => !seen.has(id));
  process.stdout.write(JSON.stringify({
    broker: PLAIN ? 'plain aedes' : 'TMI broker (validation off)', mode: MODE,
    sent, acked: acked.size, delivered: seen.size, lost: lost.length, lostExamples: lost.slice(0, 10),
    clientErrors: Object.fromEntries(errors),
  }, null, 2) + '\n');
  sub.end(true);
  pub.end(true);
  await close();
  process.exit(lost.length === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`subscriberLoss failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
