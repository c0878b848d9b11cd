import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair } from '../../wire/keys.js';
import { verifyCertificate, verifyRevocation } from '../certificate.js';
import { verifyFeederLimit } from '../feederLimitRecord.js';
import { RegistryClient, RegistryClientError, createRegistryClient } from '../client.js';
import { ADMIN, T0, enrollBody, startTestRegistry, type TestRegistry } from './harness.js';

let t: TestRegistry;
let admin: RegistryClient;
let anon: RegistryClient;

before(async () => {
  t = await startTestRegistry({ certRateLimit: { max: 2, windowMs: 3600_000 } });
  admin = createRegistryClient({ url: t.url + '/', adminToken: ADMIN, operator: 'dave' });
  anon = new RegistryClient({ url: t.url, registryPublicKey: t.registryKey.address });
});
after(() => t.close());

async function rejectsWith(p: Promise<unknown>, code: string, status: number): Promise<RegistryClientError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RegistryClientError, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.status, status, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

test('health, registry key, enroll, get, find, list, iterate', async () => {
  assert.deepEqual(await anon.health(), { status: 'ok', meters: 0, revocations: 0 });
  assert.deepEqual(await anon.registryKey(), { address: t.registryKey.address, algorithm: 'Ed25519' });
  const body = enrollBody({ meterId: 'c-000' });
  const m = await admin.enroll(body);
  assert.equal(m.meterId, 'c-000');
  assert.deepEqual(await admin.getMeter('c-000'), m);
  assert.deepEqual(await admin.findMeter('c-000'), m);
  assert.equal(await admin.findMeter('c-nobody'), undefined);
  await rejectsWith(admin.getMeter('c-nobody'), 'NOT_FOUND', 404);
  await rejectsWith(admin.enroll(body), 'ALREADY_ENROLLED', 409);
  await rejectsWith(anon.getMeter('c-000'), 'UNAUTHORIZED', 401);
  await rejectsWith(admin.getMeter('bad id'), 'SCHEMA_BAD_FORMAT', 400);
  for (let i = 1; i < 7; i++) await admin.enroll(enrollBody({ meterId: `c-00${i}` }));
  const page = await admin.listMeters({ limit: 3 });
  assert.deepEqual(page.items.map((x) => x.meterId), ['c-000', 'c-001', 'c-002']);
  assert.equal(page.next, 'c-002');
  const all: string[] = [];
  for await (const x of admin.meters(2)) all.push(x.meterId);
  assert.deepEqual(all, ['c-000', 'c-001', 'c-002', 'c-003', 'c-004', 'c-005', 'c-006']);
  const audit = await admin.audit({ limit: 1 });
  assert.equal(audit.items[0]!.actor, 'dave');
});

test('certificates: issued, verified, rate limited with retryAfterS; pseudonym link; revocation feed', async () => {
  const key = generateKeyPair();
  const m = await admin.enroll(enrollBody({ meterId: 'c-cert', feeder: 'F2', programme: 'TE' }, key));
  const pseudo = generateKeyPair().address;
  const cert = await anon.requestCertificate(key, m.meterId, pseudo, { date: new Date(T0) });
  assert.ok(verifyCertificate(cert, t.registryKey.address));
  assert.equal(cert.feeder, 'F2');
  const link = await admin.pseudonym(pseudo);
  assert.equal(link.meterId, 'c-cert');
  assert.equal((await admin.findPseudonym(pseudo))?.meterId, 'c-cert');
  assert.equal(await admin.findPseudonym(generateKeyPair().address), undefined);
  await anon.requestCertificate(key, m.meterId, generateKeyPair().address, { date: new Date(T0) });
  const limited = await rejectsWith(anon.requestCertificate(key, m.meterId, generateKeyPair().address, { date: new Date(T0) }), 'RATE_LIMITED', 429);
  assert.equal(limited.retryAfterS, 3600);
  await rejectsWith(anon.requestCertificate(generateKeyPair(), m.meterId, pseudo, { date: new Date(T0) }), 'BAD_SIGNATURE', 401);

  // a client that expects another registry key refuses the certificate
  const other = new RegistryClient({ url: t.url, registryPublicKey: generateKeyPair().address });
  const k2 = generateKeyPair();
  await admin.enroll(enrollBody({ meterId: 'c-cert2' }, k2));
  await rejectsWith(other.requestCertificate(k2, 'c-cert2', generateKeyPair().address, { date: new Date(T0) }), 'BAD_CERTIFICATE', 201);

  const revoked = await admin.revoke('c-cert', 'client test');
  assert.equal(revoked.status, 'revoked');
  await rejectsWith(admin.revoke('c-cert', 'again'), 'ALREADY_REVOKED', 409);
  const feed = await admin.revocationsSince(0);
  assert.equal(feed.items.length, 1);
  assert.equal(feed.items[0]!.pseudonyms.length, 2);
  assert.ok(verifyRevocation(feed.items[0]!.chainRevocations[0], t.registryKey.address));
  assert.equal((await admin.revocationsSince(feed.last)).items.length, 0);
  await rejectsWith(anon.requestCertificate(key, m.meterId, generateKeyPair().address, { date: new Date(T0) }), 'REVOKED', 403);
});

test('feeders: signed records [FEEDER-1]; a client that knows the registry key refuses a record it did not sign', async () => {
  const set = await admin.setFeeder('F2', { maxExportWh: 100, maxImportWh: 200 });
  assert.deepEqual({ ...set, registrySignature: undefined }, { feeder: 'F2', maxExportWh: 100, maxImportWh: 200, issuedAt: new Date(T0).toISOString(), registrySignature: undefined });
  assert.ok(verifyFeederLimit(set, t.registryKey.address));
  assert.deepEqual(await anon.feeders(), [set]);
  await rejectsWith(anon.setFeeder('F2', { maxExportWh: 1, maxImportWh: 1 }), 'UNAUTHORIZED', 401);
  // the same records checked against another registry key
  const wrongKey = new RegistryClient({ url: t.url, registryPublicKey: generateKeyPair().address });
  await rejectsWith(wrongKey.feeders(), 'BAD_FEEDER_LIMIT', 200);
});

test('transport failures: unreachable, timeout, bad response, too large, non-JSON error', async () => {
  // a port that was just free
  const s0 = createServer();
  await new Promise<void>((r) => s0.listen(0, '127.0.0.1', r));
  const freePort = (s0.address() as AddressInfo).port;
  await new Promise<void>((r) => s0.close(() => r()));
  await rejectsWith(new RegistryClient({ url: `http://127.0.0.1:${freePort}` }).health(), 'REGISTRY_UNREACHABLE', 0);

  const server = createServer((req, res) => {
    if (req.url === '/v1/health') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'ok', meters: -1 }));
    } else if (req.url === '/v1/registry-key') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ address: 'a'.repeat(64), algorithm: 'Ed25519', pad: 'x'.repeat(5000) }));
    } else if (req.url === '/v1/feeders') {
      setTimeout(() => res.end('{}'), 2000).unref();
    } else {
      res.statusCode = 502;
      res.end('<html>bad gateway</html>');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const c = new RegistryClient({ url, timeoutMs: 200, maxResponseBytes: 1024 });
    await rejectsWith(c.health(), 'BAD_RESPONSE', 200);
    await rejectsWith(c.registryKey(), 'RESPONSE_TOO_LARGE', 200);
    await rejectsWith(c.feeders(), 'REGISTRY_TIMEOUT', 0);
    await rejectsWith(c.getMeter('x'), 'HTTP_502', 502);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
