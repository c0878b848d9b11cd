/**
 * [ROLES] The registry's two credentials over real HTTP: the directory token (the broker's)
 * is FORBIDDEN on every admin route and changes nothing; garbage credentials and queries on
 * the new routes (/v1/whoami, /v1/broker-key) get a coded 4xx; bad configuration is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLevel } from 'memory-level';
import { createRegistry } from '../createRegistry.js';
import type { RegistryDb } from '../registryStore.js';
import { generateKeyPair } from '../../wire/keys.js';

const ADMIN = 'roles-test-admin-token-0123456789';
const DIRECTORY = 'roles-test-directory-token-0123456789';

test('[ROLES] the directory token is FORBIDDEN on every admin route and changes nothing', async () => {
  const db: RegistryDb = new MemoryLevel<string, string>();
  const broker = generateKeyPair();
  const reg = await createRegistry({ db, registryKey: generateKeyPair(), adminToken: ADMIN, directoryToken: DIRECTORY, brokerAddress: broker.address });
  const { url } = await reg.listen(0, '127.0.0.1');
  const call = async (method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as { error?: { code: string }; role?: string; address?: string } };
  };
  try {
    const key = generateKeyPair();
    const enrol = { meterId: 'home-1', serial: 'SN-1', meterType: 'x', publicKey: key.address, feeder: 'F1', programme: 'TE' };
    assert.equal((await call('POST', '/v1/meters', ADMIN, enrol)).status, 201);
    const auditBefore = await call('GET', '/v1/audit', ADMIN);
    const adminRoutes: [string, string, unknown?][] = [
      ['POST', '/v1/meters', { ...enrol, meterId: 'home-2', serial: 'SN-2', publicKey: generateKeyPair().address }],
      ['POST', '/v1/meters/home-1/revoke', { reason: 'x' }],
      ['PUT', '/v1/feeders/F1', { maxExportWh: 0, maxImportWh: 0 }],
      ['GET', '/v1/meters'],
      ['GET', '/v1/audit'],
    ];
    for (const [method, path, body] of adminRoutes) {
      const r = await call(method, path, DIRECTORY, body);
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.body.error?.code, 'FORBIDDEN');
    }
    assert.deepEqual(await call('GET', '/v1/audit', ADMIN), auditBefore, 'no audit entry, no change');
    assert.equal((await call('GET', '/v1/meters/home-1', ADMIN)).body.error, undefined);
    assert.equal(((await call('GET', '/v1/meters/home-1', DIRECTORY)).body as { status?: string }).status, 'active');
    assert.deepEqual((await call('GET', '/v1/feeders')).body, { items: [] });
    // the three look-ups of a login are open to it
    assert.equal((await call('GET', '/v1/revocations', DIRECTORY)).status, 200);
    assert.equal((await call('GET', `/v1/pseudonyms/${'ab'.repeat(32)}`, DIRECTORY)).status, 404);
    assert.equal((await call('GET', '/v1/whoami', DIRECTORY)).body.role, 'directory');
    assert.equal((await call('GET', '/v1/whoami', ADMIN)).body.role, 'admin');
    // garbage credentials and queries
    for (const auth of ['', 'Bearer', 'Bearer ' + 'x'.repeat(600), 'Basic abc', `Bearer ${DIRECTORY} x`, `Bearer ${DIRECTORY.slice(0, -1)}`]) {
      const r = await call('GET', '/v1/whoami', undefined, undefined, { authorization: auth });
      assert.equal(r.status, 401, JSON.stringify(auth.slice(0, 40)));
      assert.equal(r.body.error?.code, 'UNAUTHORIZED');
    }
    assert.equal((await call('GET', '/v1/whoami?x=1', DIRECTORY)).status, 400);
    assert.equal((await call('GET', '/v1/broker-key?x=1')).status, 400);
    assert.deepEqual((await call('GET', '/v1/broker-key')).body, { address: broker.address, algorithm: 'Ed25519' });
  } finally {
    await reg.close();
    await db.close();
  }
});

test('[ROLES][BROKER-ID] bad registry configuration is refused at start', async () => {
  const db: RegistryDb = new MemoryLevel<string, string>();
  const base = { db, registryKey: generateKeyPair(), adminToken: ADMIN };
  await assert.rejects(createRegistry({ ...base, directoryToken: ADMIN }), /BAD_OPTION directoryToken/);
  await assert.rejects(createRegistry({ ...base, directoryToken: 'short' }), /BAD_OPTION directoryToken/);
  await assert.rejects(createRegistry({ ...base, brokerAddress: 'AB'.repeat(32) }), /BAD_OPTION brokerAddress/);
  const reg = await createRegistry(base);
  const { url } = await reg.listen(0, '127.0.0.1');
  const r = await fetch(`${url}/v1/broker-key`);
  assert.equal(r.status, 404, 'no broker key configured: NOT_FOUND');
  await reg.close();
  await db.close();
});
