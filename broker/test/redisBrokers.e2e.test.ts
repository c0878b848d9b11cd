/**
 * Two `tmi broker --redis` processes against one registry and one Redis act as one
 * broker: a HEM on broker A and the aggregator on broker B trade (auction-open published
 * on B reaches the HEM on A, its bid reaches B's subscriber); a HEM with a persistent
 * session (clean: false, QoS 1) whose broker is killed (SIGKILL) fails over to the other
 * broker, finds its session there and receives the QoS 1 messages queued while it was
 * away. Skipped when redis-server is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { connectAsync, type MqttClient } from 'mqtt';
import { MemoryLevel } from 'memory-level';
import { createRegistry } from '../../csm-registry/createRegistry.js';
import { RegistryClient } from '../../csm-registry/client.js';
import type { RegistryDb } from '../../csm-registry/registryStore.js';
import { generateKeyPair } from '../../wire/keys.js';
import { writeKeyFile } from '../../wire/keyFile.js';
import { createCodec, signAndEncode } from '../../wire/codec.js';
import type { AuctionOpen } from '../../schemas/types.js';
import { createMemoryDirectory } from '../meterDirectory.js';
import { createTmiBroker } from '../createTmiBroker.js';
import { RedisBackendError, redisOptionsFromUrl } from '../redisBackend.js';
import { Inbox, loginOptions, signedBid, type TestMeter } from './brokerFixtures.js';
import { freePort, spawnBroker, startRedisServer, type BrokerProcess } from './redisFixtures.js';
import { requireComponent, skipWithout } from '../../testkit/osComponents.js';

const ADMIN = 'redis-test-admin-token-0123456789ab';
const DIRECTORY = 'redis-test-directory-token-0123456789';

function auctionOpen(auctionId: string): AuctionOpen {
  const start = Math.ceil(Date.now() / 900_000) * 900_000 + 900_000;
  return {
    auctionId, side: 'buy', energy: { unit: 'Wh', value: 2000 }, limitPrice: { unit: 'millicents/kWh', value: 25_000 },
    delivery: { start: new Date(start).toISOString(), end: new Date(start + 900_000).toISOString() },
    closesAt: new Date(Date.now() + 60_000).toISOString(), pricing: 'pay-as-bid', sealed: false,
  };
}

test('two tmi broker processes on one Redis: trade across brokers; a persistent session fails over with its queued QoS 1 messages', { timeout: 90_000, skip: skipWithout('redis-server') }, async () => {
  requireComponent('redis-server');
  const redis = await startRedisServer();
  const db: RegistryDb = new MemoryLevel<string, string>();
  const reg = await createRegistry({ db, registryKey: generateKeyPair(), adminToken: ADMIN, directoryToken: DIRECTORY });
  const { url: regUrl } = await reg.listen(0, '127.0.0.1');
  const admin = new RegistryClient({ url: regUrl, adminToken: ADMIN });
  const dir = mkdtempSync(join(tmpdir(), 'tmi-redis-brokers-'));
  const tokenFile = join(dir, 'directory-token');
  writeFileSync(tokenFile, DIRECTORY + '\n', { mode: 0o600 });
  const keyFile = join(dir, 'broker-key.json');
  const brokerKey = generateKeyPair();
  await writeKeyFile(keyFile, brokerKey, 'tmi broker'); // both brokers sign errors with one key
  const args = ['--registry', regUrl, '--directory-token', tokenFile, '--data', join(dir, 'broker'), '--port', '0', '--key', keyFile, '--redis', redis.url, '--log-level', 'warn'];
  const brokers: BrokerProcess[] = [];
  const clients: MqttClient[] = [];
  try {
    const [a, b] = await Promise.all([spawnBroker(args), spawnBroker(args)]);
    brokers.push(a!, b!);
    assert.equal(a!.address, brokerKey.address);
    assert.equal(b!.address, brokerKey.address);

    const enroll = async (meterId: string, role: 'hem' | 'aggregator'): Promise<TestMeter> => {
      const key = generateKeyPair();
      const pseudonym = generateKeyPair();
      await admin.enroll({ meterId, serial: `SN-${meterId}`, meterType: 'smart-meter', publicKey: key.address, feeder: 'F1', programme: 'RE+TE', role });
      await admin.requestCertificate(key, meterId, pseudonym.address);
      return { meterId, key, pseudonym };
    };
    const agg = await enroll('agg-redis', 'aggregator');
    const hem1 = await enroll('meter-redis-1', 'hem');
    const hem2 = await enroll('meter-redis-2', 'hem');
    const codec = createCodec({ replayCheck: false });
    const connect = async (url: string, m: TestMeter, clean: boolean) => {
      const c = await connectAsync(url, loginOptions(m, { clean, connectTimeout: 20_000 })); // generous: the suite runs files in parallel on 2 cores
      clients.push(c);
      return c;
    };

    // ── trade: aggregator on B, HEM on A ──
    const aggClient = await connect(b!.url, agg, true);
    const aggBids = await Inbox.subscribe(aggClient, 'tmi/v1/auctions/+/bids', 1);
    const hemClient = await connect(a!.url, hem1, false);
    const hemInbox = await Inbox.subscribe(hemClient, ['tmi/v1/auctions/+', `tmi/v1/clients/${hem1.meterId}/errors`], 1);
    const t0 = Date.now();
    await aggClient.publishAsync('tmi/v1/auctions/R-1', signAndEncode(agg.key, 'auction-open', auctionOpen('R-1')), { qos: 1, retain: true });
    await hemInbox.waitFor(() => hemInbox.on('tmi/v1/auctions/R-1').length === 1, 15_000, 'auction-open from B at the HEM on A');
    const openMs = Date.now() - t0;
    const opened = codec.decode(hemInbox.on('tmi/v1/auctions/R-1')[0]!.payload);
    assert.equal(opened.operation, 'auction-open');
    const t1 = Date.now();
    await hemClient.publishAsync('tmi/v1/auctions/R-1/bids', signedBid(hem1.pseudonym, 'R-1'), { qos: 1 });
    await aggBids.waitFor(() => aggBids.messages.length === 1, 15_000, 'bid from A at the aggregator on B');
    const bidMs = Date.now() - t1;
    const bid = codec.decode(aggBids.messages[0]!.payload);
    assert.equal(bid.operation, 'bid-offer');
    assert.equal(bid.clientId, hem1.pseudonym.address);
    // edge validation still runs on each broker: a bid signed by a pseudonym of someone else is refused on A
    await hemClient.publishAsync('tmi/v1/auctions/R-1/bids', signedBid(hem2.pseudonym, 'R-1'), { qos: 1 });
    await hemInbox.waitFor(() => hemInbox.errors().length === 1, 15_000, 'NOT_YOUR_ID from A');
    assert.equal(hemInbox.errors()[0]!.code, 'NOT_YOUR_ID');
    assert.equal(hemInbox.errors()[0]!.clientId, brokerKey.address);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(aggBids.messages.length, 1, 'the refused bid was not forwarded by either broker');

    // ── failover: HEM 2 on A with a persistent session; A is killed; messages queue; HEM 2 moves to B ──
    const c2 = await connect(a!.url, hem2, false);
    const granted = await c2.subscribeAsync('tmi/v1/auctions/+', { qos: 1 });
    assert.equal(granted[0]!.qos, 1);
    await new Promise((r) => setTimeout(r, 500)); // the subscription reaches B's matcher through Redis
    const killedAt = Date.now();
    await a!.kill9();
    await new Promise<void>((r) => (c2.connected ? c2.once('close', () => r()) : r()));
    c2.end(true);
    const queued = ['R-2', 'R-3', 'R-4', 'R-5', 'R-6'];
    for (const id of queued) {
      await aggClient.publishAsync(`tmi/v1/auctions/${id}`, signAndEncode(agg.key, 'auction-open', auctionOpen(id)), { qos: 1 });
    }
    const reconnectAt = Date.now();
    const again = mqtt.connect(b!.url, loginOptions(hem2, { clean: false, reconnectPeriod: 0, connectTimeout: 20_000 }));
    clients.push(again);
    const got: string[] = [];
    const qos: number[] = [];
    again.on('message', (topic, _payload, packet) => {
      got.push(topic);
      qos.push(packet.qos);
    });
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      again.once('connect', (p) => resolve(p));
      again.once('error', reject);
    });
    assert.equal(connack.sessionPresent, true, 'B knows the session made on A');
    const until = Date.now() + 15_000;
    while (queued.some((id) => !got.includes(`tmi/v1/auctions/${id}`)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const failoverMs = Date.now() - reconnectAt;
    for (const id of queued) assert.ok(got.includes(`tmi/v1/auctions/${id}`), `queued ${id} delivered after the failover (got ${got.join(', ')})`);
    assert.ok(qos.every((q) => q === 1), 'delivered at QoS 1');
    // and it trades from B
    await again.publishAsync('tmi/v1/auctions/R-2/bids', signedBid(hem2.pseudonym, 'R-2'), { qos: 1 });
    await aggBids.waitFor(() => aggBids.messages.length === 2, 15_000, 'bid from HEM 2 on B');
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    assert.equal(await b!.stop(), 0, `broker B stops cleanly on SIGTERM: ${b!.stderr().slice(-1000)}`);
    process.stdout.write(`# redis brokers: auction-open B→A ${openMs} ms, bid A→B ${bidMs} ms; failover: ${queued.length}/${queued.length} queued QoS 1 messages delivered ${failoverMs} ms after reconnecting to B (${reconnectAt - killedAt} ms after kill -9 of A)\n`);
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    for (const br of brokers) await br.stop();
    await redis.stop();
    await reg.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('redis backend: a bad URL and an unreachable Redis fail at start with a clear code', async () => {
  assert.throws(() => redisOptionsFromUrl('http://127.0.0.1:6379'), (e: unknown) => e instanceof RedisBackendError && e.code === 'BAD_REDIS_URL');
  assert.throws(() => redisOptionsFromUrl('not a url'), /BAD_REDIS_URL/);
  assert.throws(() => redisOptionsFromUrl('redis://127.0.0.1:6379/x'), /BAD_REDIS_URL/);
  assert.deepEqual(redisOptionsFromUrl('redis://u:p%40ss@10.0.0.1:6380/2'), { host: '10.0.0.1', port: 6380, db: 2, username: 'u', password: 'p@ss' });
  const port = await freePort(); // nothing listens there
  const t0 = Date.now();
  await assert.rejects(
    createTmiBroker({ directory: createMemoryDirectory(), listeners: { mqtt: { port: 0 } }, redis: { url: `redis://:secret@127.0.0.1:${port}`, connectTimeoutMs: 600 }, verifyThreads: 0 }),
    (e: unknown) => e instanceof RedisBackendError && e.code === 'REDIS_UNAVAILABLE' && !e.message.includes('secret') && e.message.includes(String(port)),
  );
  assert.ok(Date.now() - t0 < 5000, 'fails within the timeout');
});
