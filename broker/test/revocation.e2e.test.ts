/**
 * Revocation: a revoked meter is disconnected within 5 s and cannot log in again —
 * with the in-memory directory, and over HTTP against the real registry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLevel } from 'memory-level';
import { createRegistry } from '../../csm-registry/createRegistry.js';
import { RegistryClient } from '../../csm-registry/client.js';
import type { RegistryDb } from '../../csm-registry/registryStore.js';
import { generateKeyPair } from '../../wire/keys.js';
import { makeLoginToken } from '../../wire/loginToken.js';
import { createTmiBroker } from '../createTmiBroker.js';
import { createHttpDirectory } from '../httpDirectory.js';
import { createMemoryDirectory } from '../meterDirectory.js';
import { enrollMeter, Inbox, login, refusedCode, signedBid, type TestMeter } from './brokerFixtures.js';

test('in-memory directory: a revoked meter is kicked within 5 s and refused afterwards', async () => {
  const dir = createMemoryDirectory();
  const broker = await createTmiBroker({ directory: dir, listeners: { mqtt: { port: 0 } }, revocationPollMs: 500 });
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const m = enrollMeter(dir, 'meter-rev');
  const other = enrollMeter(dir, 'meter-stays');
  try {
    const c = await login(url, m);
    const o = await login(url, other);
    const closed = new Promise<number>((resolve) => c.once('close', () => resolve(Date.now())));
    const t0 = Date.now();
    dir.revoke(m.meterId);
    const t1 = await closed;
    assert.ok(t1 - t0 < 5000, `kicked after ${t1 - t0} ms`);
    assert.equal(await refusedCode(url, { clientId: m.meterId, username: m.meterId, password: makeLoginToken(m.key, m.meterId) }), 5);
    assert.ok(o.connected, 'other meters stay connected');
    await o.endAsync();
  } finally {
    await broker.close();
  }
});

const ADMIN = 'broker-test-admin-token-0123456789';

test('HTTP directory against the real registry: login, pseudonym certificate, revocation', async () => {
  const db: RegistryDb = new MemoryLevel<string, string>();
  const reg = await createRegistry({ db, registryKey: generateKeyPair(), adminToken: ADMIN });
  const { url: regUrl } = await reg.listen(0, '127.0.0.1');
  const admin = new RegistryClient({ url: regUrl, adminToken: ADMIN });
  const enroll = async (meterId: string, role: 'hem' | 'aggregator'): Promise<TestMeter> => {
    const key = generateKeyPair();
    const pseudonym = generateKeyPair();
    await admin.enroll({ meterId, serial: `SN-${meterId}`, meterType: 'smart-meter', publicKey: key.address, feeder: 'F1', programme: 'RE+TE', role });
    await admin.requestCertificate(key, meterId, pseudonym.address);
    return { meterId, key, pseudonym };
  };
  const broker = await createTmiBroker({
    directory: createHttpDirectory({ url: regUrl, token: ADMIN }),
    listeners: { mqtt: { port: 0 } },
    revocationPollMs: 500,
  });
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  try {
    const hem = await enroll('meter-http', 'hem');
    const agg = await enroll('agg-http', 'aggregator');
    const sub = await login(url, agg);
    const pub = await login(url, hem);
    const bids = await Inbox.subscribe(sub, 'tmi/v1/auctions/+/bids');
    const errs = await Inbox.subscribe(pub, `tmi/v1/clients/${hem.meterId}/errors`);

    // a bid signed with the pseudonym the registry certified to this meter is forwarded
    await pub.publishAsync('tmi/v1/auctions/H1/bids', signedBid(hem.pseudonym, 'H1'), { qos: 1 });
    await bids.waitFor(() => bids.messages.length === 1, 5000, 'bid');
    // one certified to the aggregator is not this meter's
    await pub.publishAsync('tmi/v1/auctions/H1/bids', signedBid(agg.pseudonym, 'H1'), { qos: 1 });
    await errs.waitFor(() => errs.errors().length === 1, 5000, 'NOT_YOUR_ID');
    assert.equal(errs.errors()[0]!.code, 'NOT_YOUR_ID');

    const unknown = generateKeyPair();
    assert.equal(await refusedCode(url, { clientId: 'meter-unknown', username: 'meter-unknown', password: makeLoginToken(unknown, 'meter-unknown') }), 5);

    const closed = new Promise<number>((resolve) => pub.once('close', () => resolve(Date.now())));
    const t0 = Date.now();
    await admin.revoke(hem.meterId, 'test revocation');
    const t1 = await closed;
    assert.ok(t1 - t0 < 5000, `kicked after ${t1 - t0} ms`);
    assert.equal(await refusedCode(url, { clientId: hem.meterId, username: hem.meterId, password: makeLoginToken(hem.key, hem.meterId) }), 5);
    await sub.endAsync();
  } finally {
    await broker.close();
    await reg.close();
    await db.close();
  }
});
