import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLevel } from 'memory-level';
import { generateKeyPair, type KeyPair } from '../../wire/keys.js';
import type { Certificate, SignedFeederLimit } from '../../schemas/types.js';
import { verifyCertificate, verifyRevocation } from '../certificate.js';
import { verifyFeederLimit } from '../feederLimitRecord.js';
import { signCertificateRequest } from '../certificateRequest.js';
import { createRegistry } from '../createRegistry.js';
import type { AuditPage, MeterPage, MeterRecord, PseudonymRecord, RevocationPage } from '../registrySchemas.js';
import type { RegistryDb } from '../registryStore.js';
import { ADMIN, T0, enrollBody, errCode, startTestRegistry, type TestRegistry } from './harness.js';

const DAY = 24 * 3600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

async function enrolled(t: TestRegistry, over: Parameters<typeof enrollBody>[0] = {}): Promise<{ meter: MeterRecord; key: KeyPair }> {
  const key = generateKeyPair();
  const r = await t.http('POST', '/v1/meters', { body: enrollBody(over, key) });
  assert.equal(r.status, 201, r.text);
  return { meter: (r.json as { meter: MeterRecord }).meter, key };
}

function certRequest(t: TestRegistry, key: KeyPair, meterId: string, address = generateKeyPair().address, date = iso(t.clock.now())) {
  return signCertificateRequest(key, meterId, address, { date });
}

describe('public endpoints', () => {
  let t: TestRegistry;
  before(async () => (t = await startTestRegistry()));
  after(() => t.close());

  test('health counts meters and needs no token', async () => {
    const r = await t.http('GET', '/v1/health', { token: null });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok', meters: 0, revocations: 0 });
    await enrolled(t);
    assert.equal(((await t.http('GET', '/v1/health', { token: null })).json as { meters: number }).meters, 1);
  });

  test('registry key is the registry public key', async () => {
    const r = await t.http('GET', '/v1/registry-key', { token: null });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { address: t.registryKey.address, algorithm: 'Ed25519' });
  });

  test('unknown query parameters are refused', async () => {
    const r = await t.http('GET', '/v1/health?x=1', { token: null });
    assert.equal(r.status, 400);
    assert.equal(errCode(r), 'SCHEMA_UNKNOWN_FIELD');
  });

  test('unknown routes and methods → 404 JSON', async () => {
    for (const [m, p] of [['GET', '/'], ['GET', '/v1/nothing'], ['DELETE', '/v1/meters'], ['PATCH', '/v1/health'], ['GET', '/v2/health']] as const) {
      const r = await t.http(m, p);
      assert.equal(r.status, 404, `${m} ${p}`);
      assert.equal(errCode(r), 'NOT_FOUND');
      assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    }
  });
});

describe('admin authentication', () => {
  let t: TestRegistry;
  before(async () => (t = await startTestRegistry()));
  after(() => t.close());

  const adminRoutes: Array<[string, string, unknown?]> = [
    ['GET', '/v1/meters'],
    ['GET', '/v1/meters/m1'],
    ['POST', '/v1/meters', enrollBody()],
    ['POST', '/v1/meters/m1/revoke', { reason: 'x' }],
    ['GET', '/v1/revocations'],
    ['GET', `/v1/pseudonyms/${'a'.repeat(64)}`],
    ['PUT', '/v1/feeders/F1', { maxExportWh: 1, maxImportWh: 1 }],
    ['GET', '/v1/audit'],
  ];

  test('missing, wrong, short, long and malformed tokens → 401, nothing stored', async () => {
    const before = await t.snapshot();
    const bad: Array<Record<string, string> | null> = [
      null,
      { authorization: `Bearer ${ADMIN}x` },
      { authorization: `Bearer ${ADMIN.slice(0, -1)}` },
      { authorization: `Bearer x` },
      { authorization: `Basic ${Buffer.from('admin:' + ADMIN).toString('base64')}` },
      { authorization: `Bearer  ${ADMIN}` },
      { authorization: `bearer${ADMIN}` },
      { authorization: 'Bearer ' + 'A'.repeat(600) },
    ];
    for (const [m, p, body] of adminRoutes) {
      for (const h of bad) {
        const r = await t.http(m, p, { token: null, ...(h ? { headers: h } : {}), ...(body !== undefined ? { body } : {}) });
        assert.equal(r.status, 401, `${m} ${p} ${JSON.stringify(h)}`);
        assert.equal(errCode(r), 'UNAUTHORIZED');
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
    }
    assert.deepEqual(await t.snapshot(), before);
  });

  test('the right token passes', async () => {
    const r = await t.http('GET', '/v1/meters');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { items: [] });
  });

  test('an admin token shorter than 16 characters is refused at start', async () => {
    await assert.rejects(
      createRegistry({ db: new MemoryLevel<string, string>(), registryKey: generateKeyPair(), adminToken: 'short' }),
      /BAD_OPTION adminToken/,
    );
  });
});

describe('enrolment, get, list', () => {
  let t: TestRegistry;
  before(async () => (t = await startTestRegistry()));
  after(() => t.close());

  test('enroll → 201 record, role hem by default, audit entry', async () => {
    const key = generateKeyPair();
    const body = enrollBody({ meterId: 'home-1', feeder: 'F7', programme: 'TE' }, key);
    const r = await t.http('POST', '/v1/meters', { body, headers: { 'x-tmi-operator': 'alice' } });
    assert.equal(r.status, 201, r.text);
    const meter = (r.json as { meter: MeterRecord }).meter;
    assert.deepEqual(meter, { ...body, role: 'hem', status: 'active', enrolledAt: iso(T0) });
    const g = await t.http('GET', '/v1/meters/home-1');
    assert.equal(g.status, 200);
    assert.deepEqual(g.json, meter);
    const a = (await t.http('GET', '/v1/audit')).json as AuditPage;
    const last = a.items.at(-1)!;
    assert.equal(last.action, 'enroll');
    assert.equal(last.target, 'home-1');
    assert.equal(last.actor, 'alice');
    assert.equal(last.at, iso(T0));
    assert.equal(last.details?.publicKey, key.address);
  });

  test('role is kept', async () => {
    const { meter } = await enrolled(t, { role: 'aggregator' });
    assert.equal(meter.role, 'aggregator');
  });

  test('same meter id → 409 ALREADY_ENROLLED; same key → 409 DUPLICATE_PUBLIC_KEY; nothing changed', async () => {
    const key = generateKeyPair();
    const body = enrollBody({}, key);
    assert.equal((await t.http('POST', '/v1/meters', { body })).status, 201);
    const before = await t.snapshot();
    const again = await t.http('POST', '/v1/meters', { body: { ...body, publicKey: generateKeyPair().address } });
    assert.equal(again.status, 409);
    assert.equal(errCode(again), 'ALREADY_ENROLLED');
    const dupKey = await t.http('POST', '/v1/meters', { body: enrollBody({}, key) });
    assert.equal(dupKey.status, 409);
    assert.equal(errCode(dupKey), 'DUPLICATE_PUBLIC_KEY');
    const regKey = await t.http('POST', '/v1/meters', { body: enrollBody({}, t.registryKey) });
    assert.equal(errCode(regKey), 'DUPLICATE_PUBLIC_KEY');
    assert.deepEqual(await t.snapshot(), before);
  });

  test('a pseudonym address cannot be enrolled as a meter key', async () => {
    const { meter, key } = await enrolled(t);
    const pseudo = generateKeyPair();
    const c = await t.http('POST', '/v1/certificates', { token: null, body: certRequest(t, key, meter.meterId, pseudo.address) });
    assert.equal(c.status, 201, c.text);
    const r = await t.http('POST', '/v1/meters', { body: enrollBody({}, pseudo) });
    assert.equal(r.status, 409);
    assert.equal(errCode(r), 'DUPLICATE_PUBLIC_KEY');
  });

  test('schema failures → 400 with the specific code', async () => {
    const base = enrollBody();
    const { meterId: _omit, ...noId } = base;
    const cases: Array<[unknown, string]> = [
      [noId, 'SCHEMA_MISSING_FIELD'],
      [{ ...base, extra: 1 }, 'SCHEMA_UNKNOWN_FIELD'],
      [{ ...base, programme: 'XX' }, 'SCHEMA_BAD_VALUE'],
      [{ ...base, role: 'root' }, 'SCHEMA_BAD_VALUE'],
      [{ ...base, publicKey: 'ABCD' }, 'SCHEMA_BAD_LENGTH'],
      [{ ...base, publicKey: 'Z'.repeat(64) }, 'SCHEMA_BAD_FORMAT'],
      [{ ...base, publicKey: base.publicKey.toUpperCase() }, 'SCHEMA_BAD_FORMAT'],
      [{ ...base, meterId: 'a/b' }, 'SCHEMA_BAD_FORMAT'],
      [{ ...base, meterId: 'tmi/#' }, 'SCHEMA_BAD_FORMAT'],
      [{ ...base, meterId: 'x'.repeat(129) }, 'SCHEMA_BAD_LENGTH'],
      [{ ...base, serial: 7 }, 'SCHEMA_WRONG_TYPE'],
      [{ ...base, serial: 'has space' }, 'SCHEMA_BAD_FORMAT'],
      [{ ...base, meterType: ' lead' }, 'SCHEMA_BAD_FORMAT'],
      [{ ...base, feeder: '' }, 'SCHEMA_BAD_LENGTH'],
      [[base], 'SCHEMA_WRONG_TYPE'],
      ['text', 'SCHEMA_WRONG_TYPE'],
      [null, 'SCHEMA_WRONG_TYPE'],
    ];
    const before = await t.snapshot();
    for (const [body, code] of cases) {
      const r = await t.http('POST', '/v1/meters', { raw: JSON.stringify(body) });
      assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)} → ${r.text}`);
      assert.equal(errCode(r), code, JSON.stringify(body).slice(0, 80));
      assert.match((r.json as { error: { message: string } }).error.message, new RegExp(`^${code}`));
    }
    assert.deepEqual(await t.snapshot(), before);
  });

  test('get: unknown → 404, bad id → 400', async () => {
    const r = await t.http('GET', '/v1/meters/nobody');
    assert.equal(r.status, 404);
    assert.equal(errCode(r), 'NOT_FOUND');
    const bad = await t.http('GET', '/v1/meters/bad%20id');
    assert.equal(bad.status, 400);
    assert.equal(errCode(bad), 'SCHEMA_BAD_FORMAT');
    const enc = await t.http('GET', '/v1/meters/%E0%A4%A');
    assert.equal(enc.status, 400);
    assert.ok(errCode(enc));
  });

  test('list pages with the after cursor, in meter id order', async () => {
    const t2 = await startTestRegistry();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        const id = `m${String(i).padStart(3, '0')}`;
        ids.push(id);
        await enrolled(t2, { meterId: id });
      }
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const r = await t2.http('GET', `/v1/meters?limit=10${after ? `&after=${after}` : ''}`);
        assert.equal(r.status, 200, r.text);
        const page = r.json as MeterPage;
        assert.ok(page.items.length <= 10);
        seen.push(...page.items.map((m) => m.meterId));
        after = page.next;
        pages++;
      } while (after !== undefined);
      assert.equal(pages, 3);
      assert.deepEqual(seen, ids);
      const exact = (await t2.http('GET', '/v1/meters?limit=25')).json as MeterPage;
      assert.equal(exact.items.length, 25);
      assert.equal(exact.next, undefined);
      const tail = (await t2.http('GET', '/v1/meters?after=m020')).json as MeterPage;
      assert.deepEqual(tail.items.map((m) => m.meterId), ['m021', 'm022', 'm023', 'm024']);
      for (const q of ['limit=0', 'limit=-1', 'limit=abc', 'limit=1&limit=2', 'after=a/b', 'page=2', 'limit=10000']) {
        const r = await t2.http('GET', `/v1/meters?${q}`);
        assert.equal(r.status, 400, q);
        assert.match(errCode(r) ?? '', /^SCHEMA_/, q);
      }
      const big = (await t2.http('GET', '/v1/meters?limit=9999')).json as MeterPage;
      assert.equal(big.items.length, 25);
    } finally {
      await t2.close();
    }
  });

  test('concurrent enrolments of one meter id: exactly one wins', async () => {
    const body = enrollBody();
    const rs = await Promise.all(
      Array.from({ length: 8 }, () => t.http('POST', '/v1/meters', { body: { ...body, publicKey: generateKeyPair().address } })),
    );
    assert.deepEqual(rs.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409, 409, 409]);
  });
});

describe('pseudonym certificates', () => {
  let t: TestRegistry;
  before(async () => (t = await startTestRegistry()));
  after(() => t.close());

  test('a meter-signed request → 201 certificate that verifies; audit link recorded', async () => {
    const { meter, key } = await enrolled(t, { feeder: 'F9', programme: 'RE' });
    const pseudo = generateKeyPair();
    const r = await t.http('POST', '/v1/certificates', { token: null, body: certRequest(t, key, meter.meterId, pseudo.address) });
    assert.equal(r.status, 201, r.text);
    const cert = r.json as Certificate;
    assert.deepEqual(Object.keys(cert).sort(), ['address', 'feeder', 'programme', 'registrySignature', 'tag', 'validFrom', 'validTo']);
    assert.equal(cert.address, pseudo.address);
    assert.equal(cert.feeder, 'F9');
    assert.equal(cert.programme, 'RE');
    assert.equal(cert.validFrom, iso(T0));
    // [SYBIL] within its certificate period (the UTC day): T0 is noon, so midnight
    assert.equal(cert.validTo, iso(T0 + DAY / 2));
    assert.match(cert.tag!, /^[0-9a-f]{64}$/);
    assert.ok(verifyCertificate(cert, t.registryKey.address));
    assert.ok(verifyCertificate(cert, t.registryKey.address, T0));
    assert.ok(!verifyCertificate(cert, t.registryKey.address, T0 + DAY));
    assert.ok(!verifyCertificate(cert, generateKeyPair().address));

    const link = await t.http('GET', `/v1/pseudonyms/${pseudo.address}`);
    assert.equal(link.status, 200);
    assert.deepEqual(link.json as PseudonymRecord, {
      address: pseudo.address,
      meterId: meter.meterId,
      validFrom: cert.validFrom,
      validTo: cert.validTo,
      feeder: 'F9',
      programme: 'RE',
      issuedAt: iso(T0),
      status: 'active',
    });
    const noAdmin = await t.http('GET', `/v1/pseudonyms/${pseudo.address}`, { token: null });
    assert.equal(noAdmin.status, 401);
    const unknown = await t.http('GET', `/v1/pseudonyms/${generateKeyPair().address}`);
    assert.equal(unknown.status, 404);
    assert.equal(errCode(unknown), 'NOT_FOUND');
    const bad = await t.http('GET', `/v1/pseudonyms/${'x'.repeat(64)}`);
    assert.equal(bad.status, 400);
    assert.equal(errCode(bad), 'SCHEMA_BAD_FORMAT');
    assert.equal(errCode(await t.http('GET', '/v1/pseudonyms/abc')), 'SCHEMA_BAD_LENGTH');
  });

  test('refusals: bad signature, other key, stale or future date, replayed nonce, unknown meter — nothing issued', async () => {
    const { meter, key } = await enrolled(t);
    const before = await t.snapshot();
    const good = certRequest(t, key, meter.meterId);

    const flipped = Buffer.from(good.signature, 'base64');
    flipped[5] = flipped[5]! ^ 1;
    const cases: Array<[unknown, number, string]> = [
      [{ ...good, signature: flipped.toString('base64') }, 401, 'BAD_SIGNATURE'],
      [{ ...good, address: generateKeyPair().address }, 401, 'BAD_SIGNATURE'],
      [{ ...good, nonce: 'another-nonce-0123456' }, 401, 'BAD_SIGNATURE'],
      [certRequest(t, generateKeyPair(), meter.meterId), 401, 'BAD_SIGNATURE'],
      [certRequest(t, key, meter.meterId, undefined, iso(T0 - 121_000)), 401, 'STALE_DATE'],
      [certRequest(t, key, meter.meterId, undefined, iso(T0 + 121_000)), 401, 'STALE_DATE'],
      [certRequest(t, key, 'no-such-meter'), 404, 'UNKNOWN_METER'],
      [certRequest(t, key, meter.meterId, key.address), 400, 'ADDRESS_IS_METER_KEY'],
      [certRequest(t, key, meter.meterId, t.registryKey.address), 400, 'ADDRESS_IS_METER_KEY'],
    ];
    for (const [body, status, code] of cases) {
      const r = await t.http('POST', '/v1/certificates', { token: null, body });
      assert.equal(r.status, status, `${code}: ${r.text}`);
      assert.equal(errCode(r), code);
    }
    // ADDRESS_IS_METER_KEY consumed its nonces (signed, valid requests); nothing else was stored
    const after = (await t.snapshot()).filter(([k]) => !k.startsWith('!nonces!'));
    assert.deepEqual(after, before.filter(([k]) => !k.startsWith('!nonces!')));

    // within ±120 s is fine
    const edge = await t.http('POST', '/v1/certificates', { token: null, body: certRequest(t, key, meter.meterId, undefined, iso(T0 - 119_000)) });
    assert.equal(edge.status, 201, edge.text);

    const first = await t.http('POST', '/v1/certificates', { token: null, body: good });
    assert.equal(first.status, 201, first.text);
    const replay = await t.http('POST', '/v1/certificates', { token: null, body: good });
    assert.equal(replay.status, 409);
    assert.equal(errCode(replay), 'NONCE_REUSED');
    // the same nonce with a new date and address is still a reuse
    const reuse = signCertificateRequest(key, meter.meterId, generateKeyPair().address, { date: iso(T0 + 1000), nonce: good.nonce });
    assert.equal(errCode(await t.http('POST', '/v1/certificates', { token: null, body: reuse })), 'NONCE_REUSED');
  });

  test('an address certified to one meter cannot be certified to another; the same meter may renew it', async () => {
    const a = await enrolled(t);
    const b = await enrolled(t);
    const pseudo = generateKeyPair().address;
    assert.equal((await t.http('POST', '/v1/certificates', { token: null, body: certRequest(t, a.key, a.meter.meterId, pseudo) })).status, 201);
    const taken = await t.http('POST', '/v1/certificates', { token: null, body: certRequest(t, b.key, b.meter.meterId, pseudo) });
    assert.equal(taken.status, 409);
    assert.equal(errCode(taken), 'ADDRESS_TAKEN');
    t.clock.advance(60_000);
    const renew = await t.http('POST', '/v1/certificates', { token: null, body: certRequest(t, a.key, a.meter.meterId, pseudo) });
    assert.equal(renew.status, 201);
    assert.equal((renew.json as Certificate).validFrom, iso(t.clock.now()));
    t.clock.set(T0);
  });

  test('a revoked meter gets 403 REVOKED', async () => {
    const { meter, key } = await enrolled(t);
    assert.equal((await t.http('POST', `/v1/meters/${meter.meterId}/revoke`, { body: { reason: 'stolen' } })).status, 200);
    const r = await t.http('POST', '/v1/certificates', { token: null, body: certRequest(t, key, meter.meterId) });
    assert.equal(r.status, 403);
    assert.equal(errCode(r), 'REVOKED');
  });

  test('schema failures of the request → 400', async () => {
    const { meter, key } = await enrolled(t);
    const good = certRequest(t, key, meter.meterId);
    const cases: Array<[unknown, string]> = [
      [{ ...good, signature: undefined }, 'SCHEMA_MISSING_FIELD'],
      [{ ...good, extra: true }, 'SCHEMA_UNKNOWN_FIELD'],
      [{ ...good, date: '2026-03-01' }, 'SCHEMA_BAD_LENGTH'],
      [{ ...good, date: 'not a date at all!!' }, 'SCHEMA_BAD_LENGTH'],
      [{ ...good, date: '2026-03-01T12:00:00+0100' }, 'SCHEMA_BAD_FORMAT'],
      [{ ...good, nonce: 'short' }, 'SCHEMA_BAD_LENGTH'],
      [{ ...good, nonce: 12345678901234567890 }, 'SCHEMA_WRONG_TYPE'],
      [{ ...good, signature: 'AAAA' }, 'SCHEMA_BAD_LENGTH'],
      [{ ...good, address: 'g'.repeat(64) }, 'SCHEMA_BAD_FORMAT'],
    ];
    for (const [body, code] of cases) {
      const r = await t.http('POST', '/v1/certificates', { token: null, body });
      assert.equal(r.status, 400, r.text);
      assert.equal(errCode(r), code, JSON.stringify(body));
    }
  });

  test('rate limit: 10 per meter per hour, then 429 with Retry-After; other meters unaffected', async () => {
    const t2 = await startTestRegistry();
    try {
      const { meter, key } = await enrolled(t2);
      const other = await enrolled(t2);
      for (let i = 0; i < 10; i++) {
        const r = await t2.http('POST', '/v1/certificates', { token: null, body: certRequest(t2, key, meter.meterId) });
        assert.equal(r.status, 201, `#${i} ${r.text}`);
        t2.clock.advance(60_000);
      }
      const limited = await t2.http('POST', '/v1/certificates', { token: null, body: certRequest(t2, key, meter.meterId) });
      assert.equal(limited.status, 429);
      assert.equal(errCode(limited), 'RATE_LIMITED');
      // the first certificate was issued at T0; now is T0 + 10 min: retry in 50 min
      assert.equal(limited.headers.get('retry-after'), String(50 * 60));
      const o = await t2.http('POST', '/v1/certificates', { token: null, body: certRequest(t2, other.key, other.meter.meterId) });
      assert.equal(o.status, 201);
      t2.clock.set(T0 + 3600_000);
      const later = await t2.http('POST', '/v1/certificates', { token: null, body: certRequest(t2, key, meter.meterId) });
      assert.equal(later.status, 201, later.text);
    } finally {
      await t2.close();
    }
  });

  test('concurrent requests never exceed the rate limit', async () => {
    const t2 = await startTestRegistry({ certRateLimit: { max: 3, windowMs: 3600_000 } });
    try {
      const { meter, key } = await enrolled(t2);
      const rs = await Promise.all(
        Array.from({ length: 8 }, () => t2.http('POST', '/v1/certificates', { token: null, body: certRequest(t2, key, meter.meterId) })),
      );
      assert.deepEqual(rs.map((r) => r.status).sort(), [201, 201, 201, 429, 429, 429, 429, 429]);
    } finally {
      await t2.close();
    }
  });

  test('validity is configurable', async () => {
    const t2 = await startTestRegistry({ certValidityMs: 6 * 3600_000 });
    try {
      const { meter, key } = await enrolled(t2);
      const r = await t2.http('POST', '/v1/certificates', { token: null, body: certRequest(t2, key, meter.meterId) });
      assert.equal((r.json as Certificate).validTo, iso(T0 + 6 * 3600_000));
      await assert.rejects(
        createRegistry({ db: new MemoryLevel<string, string>(), registryKey: generateKeyPair(), adminToken: ADMIN, certValidityMs: 0 }),
        /BAD_OPTION certValidityMs/,
      );
    } finally {
      await t2.close();
    }
  });
});

describe('revocation and the revocations feed', () => {
  let t: TestRegistry;
  before(async () => (t = await startTestRegistry()));
  after(() => t.close());

  test('revoke records the certified pseudonyms; the feed has a monotonic seq and signed chain revocations', async () => {
    const { meter, key } = await enrolled(t);
    const addresses: string[] = [];
    for (let i = 0; i < 3; i++) {
      const a = generateKeyPair().address;
      addresses.push(a);
      assert.equal((await t.http('POST', '/v1/certificates', { token: null, body: certRequest(t, key, meter.meterId, a) })).status, 201);
      // the first in one UTC day (its certificate ends at midnight), the others the next day
      t.clock.set(i === 0 ? T0 + DAY / 2 + 3_600_000 : t.clock.now() + 1000);
    }
    // the first pseudonym expires before the revocation: listed, but not put on chain
    t.clock.set(T0 + DAY + 500);
    const r = await t.http('POST', `/v1/meters/${meter.meterId}/revoke`, { body: { reason: 'tampering detected' }, headers: { 'x-tmi-operator': 'bob' } });
    assert.equal(r.status, 200, r.text);
    const revoked = (r.json as { meter: MeterRecord }).meter;
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.revokedAt, iso(T0 + DAY + 500));
    assert.equal(revoked.revokedReason, 'tampering detected');
    assert.deepEqual((await t.http('GET', `/v1/meters/${meter.meterId}`)).json, revoked);
    const link = (await t.http('GET', `/v1/pseudonyms/${addresses[1]}`)).json as PseudonymRecord;
    assert.equal(link.status, 'revoked');

    const feed = (await t.http('GET', '/v1/revocations?since=0')).json as RevocationPage;
    assert.equal(feed.items.length, 1);
    const item = feed.items[0]!;
    assert.equal(item.seq, 1);
    assert.equal(feed.last, 1);
    assert.equal(item.meterId, meter.meterId);
    assert.equal(item.reason, 'tampering detected');
    assert.deepEqual(item.pseudonyms, addresses);
    assert.equal(item.chainRevocations.length, 1);
    const chain = item.chainRevocations[0]!;
    assert.deepEqual(chain.addresses, addresses.slice(1));
    assert.equal(chain.revokedAt, revoked.revokedAt);
    assert.ok(verifyRevocation(chain, t.registryKey.address));
    assert.ok(!verifyRevocation({ ...chain, addresses: addresses }, t.registryKey.address));

    const again = await t.http('POST', `/v1/meters/${meter.meterId}/revoke`, { body: { reason: 'again' } });
    assert.equal(again.status, 409);
    assert.equal(errCode(again), 'ALREADY_REVOKED');

    const audit = (await t.http('GET', '/v1/audit')).json as AuditPage;
    const entry = audit.items.at(-1)!;
    assert.deepEqual([entry.action, entry.target, entry.actor, entry.details?.reason, entry.details?.pseudonyms], [
      'revoke', meter.meterId, 'bob', 'tampering detected', 3,
    ]);
    assert.equal(((await t.http('GET', '/v1/health', { token: null })).json as { revocations: number }).revocations, 1);
    t.clock.set(T0);
  });

  test('a meter with no pseudonyms: empty lists; seq keeps rising; since and limit page the feed', async () => {
    for (let i = 0; i < 4; i++) {
      const { meter } = await enrolled(t);
      assert.equal((await t.http('POST', `/v1/meters/${meter.meterId}/revoke`, { body: { reason: `r${i}` } })).status, 200);
    }
    const all = (await t.http('GET', '/v1/revocations')).json as RevocationPage;
    assert.deepEqual(all.items.map((i) => i.seq), [1, 2, 3, 4, 5]);
    assert.deepEqual(all.items[1]!.pseudonyms, []);
    assert.deepEqual(all.items[1]!.chainRevocations, []);
    const p1 = (await t.http('GET', '/v1/revocations?since=1&limit=2')).json as RevocationPage;
    assert.deepEqual([p1.items.map((i) => i.seq), p1.last, p1.more], [[2, 3], 3, true]);
    const p2 = (await t.http('GET', `/v1/revocations?since=${p1.last}&limit=2`)).json as RevocationPage;
    assert.deepEqual([p2.items.map((i) => i.seq), p2.last, p2.more], [[4, 5], 5, false]);
    const p3 = (await t.http('GET', `/v1/revocations?since=${p2.last}`)).json as RevocationPage;
    assert.deepEqual([p3.items, p3.last, p3.more], [[], 5, false]);
    for (const q of ['since=-1', 'since=x', 'since=1e3', 'limit=0', 'from=1']) {
      assert.equal((await t.http('GET', `/v1/revocations?${q}`)).status, 400, q);
    }
  });

  test('revoke failures: unknown meter 404, bad reason 400, nothing changed', async () => {
    const { meter } = await enrolled(t);
    const before = await t.snapshot();
    const cases: Array<[string, unknown, number, string]> = [
      ['nobody', { reason: 'x' }, 404, 'NOT_FOUND'],
      [meter.meterId, {}, 400, 'SCHEMA_MISSING_FIELD'],
      [meter.meterId, { reason: '' }, 400, 'SCHEMA_BAD_LENGTH'],
      [meter.meterId, { reason: 'a\nb' }, 400, 'SCHEMA_BAD_FORMAT'],
      [meter.meterId, { reason: 'x'.repeat(257) }, 400, 'SCHEMA_BAD_LENGTH'],
      [meter.meterId, { reason: 'x', force: true }, 400, 'SCHEMA_UNKNOWN_FIELD'],
      [meter.meterId, { reason: 5 }, 400, 'SCHEMA_WRONG_TYPE'],
    ];
    for (const [id, body, status, code] of cases) {
      const r = await t.http('POST', `/v1/meters/${id}/revoke`, { body });
      assert.equal(r.status, status, r.text);
      assert.equal(errCode(r), code);
    }
    const nobody = await t.http('POST', `/v1/meters/${meter.meterId}/revoke`);
    assert.equal(nobody.status, 400);
    assert.equal(errCode(nobody), 'SCHEMA_WRONG_TYPE');
    assert.deepEqual(await t.snapshot(), before);
  });
});

describe('[FEEDER-1] signed feeder limits', () => {
  let t: TestRegistry;
  before(async () => (t = await startTestRegistry()));
  after(() => t.close());

  test('[FEEDER-1] issuedAt strictly increases per feeder, also when the registry clock stands still or goes back', async () => {
    t.clock.set(T0 + 5000);
    const a = (await t.http('PUT', '/v1/feeders/H1', { body: { maxExportWh: 1, maxImportWh: 1 } })).json as SignedFeederLimit;
    const b = (await t.http('PUT', '/v1/feeders/H1', { body: { maxExportWh: 2, maxImportWh: 2 } })).json as SignedFeederLimit;
    t.clock.set(T0 + 2000);
    const c = (await t.http('PUT', '/v1/feeders/H1', { body: { maxExportWh: 3, maxImportWh: 3 } })).json as SignedFeederLimit;
    assert.deepEqual([a.issuedAt, b.issuedAt, c.issuedAt], [iso(T0 + 5000), iso(T0 + 5001), iso(T0 + 5002)]);
    // another feeder has its own sequence
    const other = (await t.http('PUT', '/v1/feeders/H2', { body: { maxExportWh: 1, maxImportWh: 1 } })).json as SignedFeederLimit;
    assert.equal(other.issuedAt, iso(T0 + 2000));
    for (const l of [a, b, c, other]) assert.ok(verifyFeederLimit(l, t.registryKey.address));
    });


  test('limits stored before they were signed are signed when the registry opens', async () => {
    const db: RegistryDb = new MemoryLevel<string, string>();
    await db.open();
    await db.sublevel<string, object>('feeders', { valueEncoding: 'json' }).put('F7', { feeder: 'F7', maxExportWh: 70, maxImportWh: 71 });
    const registryKey = generateKeyPair();
    const reg = await createRegistry({ db, registryKey, adminToken: ADMIN, now: () => T0 + 7 });
    try {
      const { url } = await reg.listen(0, '127.0.0.1');
      const items = ((await (await fetch(`${url}/v1/feeders`)).json()) as { items: SignedFeederLimit[] }).items;
      assert.equal(items.length, 1);
      assert.deepEqual({ ...items[0], registrySignature: undefined }, { feeder: 'F7', maxExportWh: 70, maxImportWh: 71, issuedAt: iso(T0 + 7), registrySignature: undefined });
      assert.ok(verifyFeederLimit(items[0], registryKey.address));
    } finally {
      await reg.close();
      await db.close();
    }
  });
});

describe('feeders and the audit log', () => {
  let t: TestRegistry;
  before(async () => (t = await startTestRegistry()));
  after(() => t.close());

  test('PUT (admin) sets limits, GET (public) lists them, changes are audited with the previous value', async () => {
    assert.deepEqual((await t.http('GET', '/v1/feeders', { token: null })).json, { items: [] });
    const put = await t.http('PUT', '/v1/feeders/F1', { body: { maxExportWh: 5000, maxImportWh: 7000 } });
    assert.equal(put.status, 200, put.text);
    const unsigned = ({ registrySignature: _s, ...rest }: SignedFeederLimit) => rest;
    assert.deepEqual(unsigned(put.json as SignedFeederLimit), { feeder: 'F1', maxExportWh: 5000, maxImportWh: 7000, issuedAt: iso(T0) });
    await t.http('PUT', '/v1/feeders/F0', { body: { maxExportWh: 0, maxImportWh: 1 } });
    t.clock.advance(1000);
    await t.http('PUT', '/v1/feeders/F1', { body: { maxExportWh: 6000, maxImportWh: 7000 }, headers: { 'x-tmi-operator': 'carol' } });
    const list = (await t.http('GET', '/v1/feeders', { token: null })).json as { items: SignedFeederLimit[] };
    assert.deepEqual(list.items.map(unsigned), [
      { feeder: 'F0', maxExportWh: 0, maxImportWh: 1, issuedAt: iso(T0) },
      { feeder: 'F1', maxExportWh: 6000, maxImportWh: 7000, issuedAt: iso(T0 + 1000) },
    ]);
    // [FEEDER-1] each record is signed by the registry key, domain-separated from certificates
    for (const l of list.items) assert.ok(verifyFeederLimit(l, t.registryKey.address), l.feeder);
    assert.equal(verifyCertificate({ address: '00'.repeat(32), validFrom: iso(T0), validTo: iso(T0 + 1), feeder: 'F1', programme: 'TE', registrySignature: list.items[1]!.registrySignature }, t.registryKey.address), false);
    const audit = (await t.http('GET', '/v1/audit')).json as AuditPage;
    assert.deepEqual(
      audit.items.map((e) => [e.seq, e.action, e.target, e.actor]),
      [[1, 'feeder-set', 'F1', 'admin'], [2, 'feeder-set', 'F0', 'admin'], [3, 'feeder-set', 'F1', 'carol']],
    );
    assert.deepEqual(audit.items[2]!.details, { maxExportWh: 6000, maxImportWh: 7000, previousExportWh: 5000, previousImportWh: 7000 });
    assert.equal(audit.items[2]!.at, iso(T0 + 1000));
    t.clock.set(T0);
  });

  test('feeder failures → 400/401, nothing changed', async () => {
    const before = await t.snapshot();
    const cases: Array<[string, unknown, string]> = [
      ['F1', { maxExportWh: -1, maxImportWh: 0 }, 'SCHEMA_OUT_OF_RANGE'],
      ['F1', { maxExportWh: 1.5, maxImportWh: 0 }, 'SCHEMA_WRONG_TYPE'],
      ['F1', { maxExportWh: 2_000_000_000, maxImportWh: 0 }, 'SCHEMA_OUT_OF_RANGE'],
      ['F1', { maxExportWh: '5', maxImportWh: 0 }, 'SCHEMA_WRONG_TYPE'],
      ['F1', { maxExportWh: 5 }, 'SCHEMA_MISSING_FIELD'],
      ['F1', { maxExportWh: 5, maxImportWh: 5, feeder: 'F2' }, 'SCHEMA_UNKNOWN_FIELD'],
      ['-bad', { maxExportWh: 5, maxImportWh: 5 }, 'SCHEMA_BAD_FORMAT'],
    ];
    for (const [f, body, code] of cases) {
      const r = await t.http('PUT', `/v1/feeders/${f}`, { body });
      assert.equal(r.status, 400, r.text);
      assert.equal(errCode(r), code);
    }
    assert.equal((await t.http('PUT', '/v1/feeders/F1', { token: null, body: { maxExportWh: 5, maxImportWh: 5 } })).status, 401);
    assert.deepEqual(await t.snapshot(), before);
  });

  test('audit pages with after; bad operator names are recorded as admin', async () => {
    for (let i = 0; i < 5; i++) await t.http('PUT', `/v1/feeders/G${i}`, { body: { maxExportWh: i, maxImportWh: i }, headers: { 'x-tmi-operator': 'bad name!' } });
    const p1 = (await t.http('GET', '/v1/audit?limit=3')).json as AuditPage;
    assert.deepEqual(p1.items.map((e) => e.seq), [1, 2, 3]);
    assert.equal(p1.next, 3);
    const p2 = (await t.http('GET', `/v1/audit?after=${p1.next}&limit=3`)).json as AuditPage;
    assert.deepEqual(p2.items.map((e) => e.seq), [4, 5, 6]);
    const rest = (await t.http('GET', `/v1/audit?after=${p2.next}`)).json as AuditPage;
    assert.deepEqual(rest.items.map((e) => e.seq), [7, 8]);
    assert.equal(rest.next, undefined);
    assert.equal(rest.items[1]!.actor, 'admin');
    assert.equal((await t.http('GET', '/v1/audit?after=x')).status, 400);
    assert.equal((await t.http('GET', '/v1/audit', { token: null })).status, 401);
  });
});

describe('state survives a new registry over the same database', () => {
  test('meters, counters, seqs and the audit log continue', async () => {
    const db: RegistryDb = new MemoryLevel<string, string>();
    const registryKey = generateKeyPair();
    const clock = { now: () => T0 };
    const r1 = await createRegistry({ db, registryKey, adminToken: ADMIN, ...clock });
    const a = await r1.store.enroll(enrollBody(), { actor: 'x' });
    await r1.store.enroll(enrollBody(), { actor: 'x' });
    await r1.store.revoke(a.meterId, 'gone', { actor: 'x' });
    await r1.close();
    const r2 = await createRegistry({ db, registryKey, adminToken: ADMIN, ...clock });
    assert.equal(r2.store.meterCount(), 2);
    assert.equal(r2.store.lastRevocationSeq(), 1);
    const b = await r2.store.enroll(enrollBody(), { actor: 'y' });
    await r2.store.revoke(b.meterId, 'gone too', { actor: 'y' });
    assert.deepEqual((await r2.store.revocationsSince(0)).items.map((i) => [i.seq, i.meterId]), [[1, a.meterId], [2, b.meterId]]);
    assert.deepEqual((await r2.store.audit()).items.map((e) => [e.seq, e.action, e.actor]), [
      [1, 'enroll', 'x'], [2, 'enroll', 'x'], [3, 'revoke', 'x'], [4, 'enroll', 'y'], [5, 'revoke', 'y'],
    ]);
    await r2.close();
    await db.close();
  });
});
