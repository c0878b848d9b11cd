/**
 * Long fuzz of the registry's HTTP API (npm run test:resilience): 12,000 requests drawn by
 * fast-check, one at a time over real HTTP, each of them invalid —
 *
 *   random bytes or random JSON as a body; one field of a valid body replaced, removed or
 *   joined by an extra one; a valid body with a missing, malformed or wrong admin token;
 *   certificate requests with a stale date, a foreign signature, an unknown meter or a
 *   mangled field; odd media types and encodings; random paths, methods and query strings
 *
 * — answered with a 4xx JSON error carrying a code (never 5xx, a page or a stack; a GET
 * whose garbage happens to name nothing may answer 200), and the database is byte for
 * byte what it was before. Then a valid enrolment still works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateKeyPair } from '../../wire/keys.js';
import { signCertificateRequest } from '../certificateRequest.js';
import { validators } from '../registryValidators.js';
import { ADMIN, T0, enrollBody, errCode, startTestRegistry, type HttpReply } from './harness.js';

const RUNS = 12_000;
const SEED = 20261123;

interface Req {
  method: string;
  path: string;
  raw?: string | Uint8Array;
  body?: unknown;
  token?: string | null;
  headers?: Record<string, string>;
  what: string;
}

function assert4xx(r: HttpReply, what: string): void {
  assert.ok(r.status >= 400 && r.status < 500, `${what}: status ${r.status} ${r.text.slice(0, 200)}`);
  assert.match(errCode(r) ?? '', /^[A-Z][A-Z0-9_]*$/, `${what}: ${r.text.slice(0, 200)}`);
  assert.doesNotMatch(r.text, /<html|at [A-Za-z]+ \(|node_modules/i, `${what}: leaks a page or a stack`);
}

test(`registry fuzz: ${RUNS} invalid requests → 4xx with a code, database unchanged`, { timeout: 900_000 }, async (t) => {
  const reg = await startTestRegistry();
  const meterKey = generateKeyPair();
  try {
    const victim = await reg.http('POST', '/v1/meters', { body: enrollBody({ meterId: 'victim' }, meterKey) });
    assert.equal(victim.status, 201);
    await reg.http('PUT', '/v1/feeders/F1', { body: { maxExportWh: 10, maxImportWh: 10 } });
    const revoked = await reg.http('POST', '/v1/meters', { body: enrollBody({ meterId: 'gone' }) });
    assert.equal(revoked.status, 201);
    await reg.http('POST', '/v1/meters/gone/revoke', { body: { reason: 'fuzz fixture' } });
    const before = await reg.snapshot();

    const now = () => new Date(T0).toISOString();
    const validCert = () => signCertificateRequest(meterKey, 'victim', generateKeyPair().address, { date: now() }) as unknown as Record<string, unknown>;
    const bodies: [string, string, () => Record<string, unknown>, ((v: unknown) => boolean) | undefined][] = [
      ['POST', '/v1/meters', () => enrollBody() as unknown as Record<string, unknown>, validators.enrollBody],
      ['POST', '/v1/meters/victim/revoke', () => ({ reason: 'fuzz' }), validators.revokeBody],
      ['POST', '/v1/certificates', validCert, undefined], // signed: any change breaks it
      ['PUT', '/v1/feeders/F1', () => ({ maxExportWh: 1, maxImportWh: 2 }), validators.feederLimitsBody],
    ];
    const endpoint = fc.nat(bodies.length - 1);
    const wrongValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 300 }), fc.integer(), fc.double(), fc.constant(null), fc.constant(''), fc.constant('x'.repeat(5000)), fc.constant(-1));
    const badToken = fc.oneof(
      fc.constant(null),
      fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x21-\x7e]/g, '')).filter((s) => s !== ADMIN),
      fc.constant(ADMIN.slice(0, -1)),
      fc.constant(ADMIN + 'x'),
      fc.constant(ADMIN.toUpperCase()),
    );
    const seg = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('%', '%zz', '%E0%A4%A', '..', '%2e%2e', '%00', '😀', 'victim', 'gone'));

    const req: fc.Arbitrary<Req> = fc.oneof(
      // random bytes as a JSON body
      fc.tuple(endpoint, fc.uint8Array({ minLength: 1, maxLength: 1024 })).map(([e, b]) => ({ method: bodies[e]![0], path: bodies[e]![1], raw: b, what: 'bytes' })),
      // random JSON as a body
      fc.tuple(endpoint, fc.jsonValue({ maxDepth: 4 })).map(([e, v]) => ({ method: bodies[e]![0], path: bodies[e]![1], raw: JSON.stringify(v) ?? 'null', what: `json ${JSON.stringify(v)?.slice(0, 60)}` })),
      // one field replaced, removed, or an extra field
      fc.tuple(endpoint, fc.nat(20), wrongValue, fc.constantFrom('replace', 'remove', 'extra')).map(([e, k, v, how]) => {
        const body = bodies[e]![2]();
        const keys = Object.keys(body);
        const key = keys[k % keys.length]!;
        if (how === 'replace') body[key] = v;
        else if (how === 'remove') delete body[key];
        else body[`extra${k}`] = v;
        return { method: bodies[e]![0], path: bodies[e]![1], body, what: `${how} ${key} ${JSON.stringify(v)?.slice(0, 60)}` };
      }),
      // a valid admin body with a wrong token
      fc.tuple(fc.constantFrom(0, 1, 3), badToken, fc.boolean()).map(([e, tok, asHeader]) => ({
        method: bodies[e]![0], path: bodies[e]![1], body: bodies[e]![2](), what: `token ${JSON.stringify(tok)?.slice(0, 40)}`,
        ...(asHeader && tok !== null ? { token: null, headers: { authorization: tok.replace(/[^\x20-\x7e]/g, '') } } : { token: tok }),
      })),
      // certificate requests that must fail before any state change
      fc.tuple(fc.constantFrom('stale', 'foreign', 'unknown', 'mangled', 'revoked-stale'), fc.integer({ min: 121, max: 100_000 }), fc.nat()).map(([k, s, at]) => {
        let body: Record<string, unknown>;
        if (k === 'stale') body = signCertificateRequest(meterKey, 'victim', generateKeyPair().address, { date: new Date(T0 + (at % 2 ? s : -s) * 1000).toISOString() }) as never;
        else if (k === 'foreign') body = signCertificateRequest(generateKeyPair(), 'victim', generateKeyPair().address, { date: now() }) as never;
        else if (k === 'unknown') body = signCertificateRequest(meterKey, `nobody-${at}`, generateKeyPair().address, { date: now() }) as never;
        else if (k === 'revoked-stale') body = signCertificateRequest(meterKey, 'gone', generateKeyPair().address, { date: new Date(T0 - s * 1000).toISOString() }) as never;
        else {
          body = validCert();
          const sig = Buffer.from(String(body.signature), 'base64');
          sig[at % sig.length] = (sig[at % sig.length]! + 1) & 0xff;
          body.signature = sig.toString('base64');
        }
        return { method: 'POST', path: '/v1/certificates', body, token: null, what: `certificate ${k}` };
      }),
      // odd media types and encodings on a valid body
      fc.tuple(fc.constantFrom(0, 1, 3), fc.constantFrom<Record<string, string>>(
        { 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': 'multipart/form-data; boundary=x' },
        { 'content-type': 'application/json; charset=latin1' }, { 'content-type': 'application/json', 'content-encoding': 'x-unknown' },
        { 'content-type': 'application/json', 'content-encoding': 'gzip' }, { 'content-type': 'application/json', 'content-encoding': 'deflate' },
      )).map(([e, headers]) => ({ method: bodies[e]![0], path: bodies[e]![1], raw: JSON.stringify(bodies[e]![2]()), headers, what: `media ${JSON.stringify(headers)}` })),
      // random paths, methods and query strings
      fc.tuple(
        fc.constantFrom('/v1/meters/', '/v1/pseudonyms/', '/v1/feeders/', '/v1/meters?after=', '/v1/meters?limit=', '/v1/revocations?since=', '/v1/audit?after=', '/v1/', '/', '/v1/meters/victim/', '/v1/health?x='),
        seg,
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
      ).map(([prefix, s, method]) => {
        let part: string;
        try {
          part = /^%|\.\.$/.test(s) ? s : encodeURIComponent(s);
        } catch {
          part = '%ED%A0%80'; // a lone surrogate: its UTF-8 bytes, percent-encoded
        }
        return { method, path: prefix + part, ...(method === 'POST' || method === 'PUT' || method === 'PATCH' ? { body: {} } : {}), what: `${method} ${prefix}${part}` };
      }),
    );

    const statuses = new Map<number, number>();
    const codes = new Map<string, number>();
    let ok200 = 0;
    let sent = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(req, async (q) => {
        // the rare mutation that leaves an unsigned body valid is not garbage
        if (q.body !== undefined && q.token === undefined && q.headers === undefined) {
          const b = bodies.find(([m, p]) => m === q.method && p === q.path);
          if (b?.[3]?.(q.body)) return;
        }
        const r = await reg.http(q.method, q.path, {
          ...(q.raw !== undefined ? { raw: q.raw } : {}),
          ...(q.body !== undefined ? { body: q.body } : {}),
          ...(q.token !== undefined ? { token: q.token } : {}),
          ...(q.headers ? { headers: q.headers } : {}),
        });
        sent++;
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status < 300 && (q.method === 'GET' || q.method === 'HEAD' || q.method === 'OPTIONS')) {
          ok200++; // a read that happens to be well-formed (e.g. a cursor naming no meter), or express's OPTIONS answer
          return;
        }
        if (q.method === 'HEAD') {
          assert.ok(r.status >= 400 && r.status < 500, `${q.what}: status ${r.status}`);
          return;
        }
        assert4xx(r, q.what);
        const c = errCode(r)!;
        codes.set(c, (codes.get(c) ?? 0) + 1);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    const after = await reg.snapshot();
    assert.ok(sent >= 10_000, `at least 10,000 requests sent (${sent})`);
    t.diagnostic(`${sent} requests sent (${RUNS - sent} generated bodies were still valid: skipped) in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; ${ok200} harmless reads answered 2xx`);
    t.diagnostic(`codes ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])))}`);
    assert.equal(after.length, before.length, 'no record added or removed');
    assert.deepEqual(after, before, 'the database is unchanged');

    // still serving: a valid enrolment works
    const fresh = await reg.http('POST', '/v1/meters', { body: enrollBody({ meterId: 'after-fuzz' }) });
    assert.equal(fresh.status, 201, fresh.text);
  } finally {
    await reg.close();
  }
});
