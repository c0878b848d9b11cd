/**
 * Garbage in → a 4xx JSON error and nothing changed: random bytes, random JSON, deep
 * nesting, huge strings, wrong types, odd encodings, random paths and query strings.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { generateKeyPair } from '../../wire/keys.js';
import { signCertificateRequest } from '../certificateRequest.js';
import type { MeterRecord } from '../registrySchemas.js';
import { validators } from '../registryValidators.js';
import { T0, enrollBody, errCode, startTestRegistry, type HttpReply, type TestRegistry } from './harness.js';

let t: TestRegistry;
let meter: MeterRecord;
const meterKey = generateKeyPair();

before(async () => {
  t = await startTestRegistry();
  const r = await t.http('POST', '/v1/meters', { body: enrollBody({ meterId: 'victim' }, meterKey) });
  meter = (r.json as { meter: MeterRecord }).meter;
  await t.http('PUT', '/v1/feeders/F1', { body: { maxExportWh: 10, maxImportWh: 10 } });
});
after(() => t.close());

function validBodies(): Array<[string, string, Record<string, unknown>]> {
  return [
    ['POST', '/v1/meters', enrollBody() as unknown as Record<string, unknown>],
    ['POST', `/v1/meters/${meter.meterId}/revoke`, { reason: 'garbage test' }],
    ['POST', '/v1/certificates', signCertificateRequest(meterKey, meter.meterId, generateKeyPair().address, { date: new Date(T0).toISOString() }) as unknown as Record<string, unknown>],
    ['PUT', '/v1/feeders/F1', { maxExportWh: 1, maxImportWh: 2 }],
  ];
}
const BODY_VALIDATORS = [validators.enrollBody, validators.revokeBody, validators.certificateRequestBody, validators.feederLimitsBody];
const ENDPOINTS = [
  ['POST', '/v1/meters'],
  ['POST', '/v1/meters/victim/revoke'],
  ['POST', '/v1/certificates'],
  ['PUT', '/v1/feeders/F1'],
] as const;

function assert4xx(r: HttpReply, what: string): void {
  assert.ok(r.status >= 400 && r.status < 500, `${what}: status ${r.status} ${r.text.slice(0, 200)}`);
  assert.match(errCode(r) ?? '', /^[A-Z][A-Z0-9_]*$/, `${what}: ${r.text.slice(0, 200)}`);
  assert.doesNotMatch(r.text, /<html|at [A-Za-z]+ \(|node_modules/i, `${what}: leaks a page or a stack`);
}

test('random bytes as a JSON body → 4xx, nothing changed', async () => {
  const before = await t.snapshot();
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ENDPOINTS), fc.uint8Array({ minLength: 1, maxLength: 2048 }), async ([m, p], bytes) => {
      const r = await t.http(m, p, { raw: bytes });
      assert4xx(r, `${m} ${p}`);
    }),
    { numRuns: 150 },
  );
  assert.deepEqual(await t.snapshot(), before);
});

test('random JSON values → 4xx, nothing changed', async () => {
  const before = await t.snapshot();
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ENDPOINTS), fc.jsonValue({ maxDepth: 4 }), async ([m, p], v) => {
      const r = await t.http(m, p, { raw: JSON.stringify(v) ?? 'null' });
      assert4xx(r, `${m} ${p} ${JSON.stringify(v)?.slice(0, 100)}`);
    }),
    { numRuns: 200 },
  );
  assert.deepEqual(await t.snapshot(), before);
});

test('one field replaced by a wrong value or an extra field added → 4xx, nothing changed', async () => {
  const before = await t.snapshot();
  const wrong = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.string({ maxLength: 300 }),
    fc.integer(),
    fc.double(),
    fc.constant(null),
    fc.constant(''),
    fc.constant('x'.repeat(5000)),
  );
  await fc.assert(
    fc.asyncProperty(fc.nat(3), fc.nat(20), wrong, fc.boolean(), async (which, fieldIx, value, addExtra) => {
      const [m, p, body] = validBodies()[which]!;
      const keys = Object.keys(body);
      const mutated: Record<string, unknown> = { ...body };
      if (addExtra) mutated[`extra${fieldIx}`] = value;
      else {
        const k = keys[fieldIx % keys.length]!;
        mutated[k] = value;
        // a value that happens to be valid is not garbage (a signed request is broken by any change)
        if (which !== 2 && BODY_VALIDATORS[which]!(mutated)) return;
      }
      const r = await t.http(m, p, { body: mutated });
      assert4xx(r, `${m} ${p} ${JSON.stringify(mutated).slice(0, 200)}`);
    }),
    { numRuns: 300 },
  );
  assert.deepEqual(await t.snapshot(), before);
});

test('deep nesting, huge strings, non-finite numbers, __proto__ → 4xx, nothing changed', async () => {
  const before = await t.snapshot();
  const deepArray = '['.repeat(8000) + ']'.repeat(8000);
  const deepObject = '{"a":'.repeat(2000) + '1' + '}'.repeat(2000);
  const big = JSON.stringify({ ...enrollBody(), serial: 'x'.repeat(15_000) });
  const tooBig = JSON.stringify({ ...enrollBody(), serial: 'x'.repeat(20_000) });
  const cases: Array<[string, string, string, number, string]> = [
    ['POST', '/v1/meters', deepArray, 400, 'SCHEMA_WRONG_TYPE'],
    ['POST', '/v1/meters', deepObject, 400, 'SCHEMA_MISSING_FIELD'],
    ['POST', '/v1/meters', big, 400, 'SCHEMA_BAD_LENGTH'],
    ['POST', '/v1/meters', tooBig, 413, 'PAYLOAD_TOO_LARGE'],
    ['POST', '/v1/certificates', tooBig, 413, 'PAYLOAD_TOO_LARGE'],
    ['PUT', '/v1/feeders/F1', '{"maxExportWh":1e400,"maxImportWh":1}', 400, 'SCHEMA_NOT_FINITE'],
    ['PUT', '/v1/feeders/F1', '{"maxExportWh":NaN,"maxImportWh":1}', 400, 'MALFORMED_JSON'],
    ['PUT', '/v1/feeders/F1', '{"maxExportWh":1,"maxImportWh":1,"__proto__":{"admin":true}}', 400, 'SCHEMA_UNKNOWN_FIELD'],
    ['POST', `/v1/meters/${meter.meterId}/revoke`, '{"reason":"x","constructor":{"prototype":{}}}', 400, 'SCHEMA_UNKNOWN_FIELD'],
    ['POST', '/v1/meters', '', 400, 'SCHEMA_MISSING_FIELD'],
    ['POST', '/v1/meters', '{', 400, 'MALFORMED_JSON'],
    ['POST', '/v1/meters', '\u0000\u0001', 400, 'MALFORMED_JSON'],
  ];
  for (const [m, p, raw, status, code] of cases) {
    const r = await t.http(m, p, { raw });
    assert.equal(r.status, status, `${raw.slice(0, 40)}: ${r.text.slice(0, 200)}`);
    assert.equal(errCode(r), code, raw.slice(0, 40));
    assert4xx(r, raw.slice(0, 40));
  }
  assert.deepEqual(await t.snapshot(), before);
});

test('a certificate request whose date matches the pattern but is not a date → 401 STALE_DATE', async () => {
  const req = signCertificateRequest(meterKey, meter.meterId, generateKeyPair().address, { date: '2026-13-45T99:99:99.000Z' });
  const r = await t.http('POST', '/v1/certificates', { body: req, token: null });
  assert.equal(r.status, 401);
  assert.equal(errCode(r), 'STALE_DATE');
});

test('wrong media types and encodings → 415 / 4xx, nothing changed', async () => {
  const before = await t.snapshot();
  const body = JSON.stringify(enrollBody());
  const cases: Array<[Record<string, string>, string | Uint8Array, number, string]> = [
    [{ 'content-type': 'text/plain' }, body, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [{ 'content-type': 'application/x-www-form-urlencoded' }, 'a=1&b=2', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [{ 'content-type': 'multipart/form-data; boundary=x' }, '--x--', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [{ 'content-type': 'application/json; charset=latin1' }, body, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [{ 'content-type': 'application/json', 'content-encoding': 'x-unknown' }, body, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [{ 'content-type': 'application/json', 'content-encoding': 'gzip' }, 'not gzip at all', 400, 'BAD_REQUEST'],
    // a small gzip that inflates past the limit
    [{ 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync(Buffer.from(`{"serial":"${'x'.repeat(1_000_000)}"}`)), 413, 'PAYLOAD_TOO_LARGE'],
  ];
  for (const [headers, raw, status, code] of cases) {
    const r = await t.http('POST', '/v1/meters', { headers, raw });
    assert.equal(r.status, status, `${JSON.stringify(headers)}: ${r.text.slice(0, 200)}`);
    assert.equal(errCode(r), code);
  }
  assert.deepEqual(await t.snapshot(), before);
});

test('random paths and query strings → 4xx JSON, never 5xx', async () => {
  const before = await t.snapshot();
  const seg = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('%', '%zz', '%E0%A4%A', '..', '%2e%2e', '%00', '😀'));
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('/v1/meters/', '/v1/pseudonyms/', '/v1/feeders/', '/v1/meters?after=', '/v1/revocations?since=', '/v1/audit?after=', '/v1/'),
      seg,
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
      async (prefix, s, method) => {
        const part = /^%|\.\.$/.test(s) ? s : encodeURIComponent(s);
        const r = await t.http(method, prefix + part, method === 'POST' || method === 'PUT' ? { body: {} } : {});
        if (r.status === 200) {
          // a GET whose garbage happens to be a valid id or cursor: nothing found, nothing changed
          assert.equal(method, 'GET', `${method} ${prefix}${part}`);
          return;
        }
        assert4xx(r, `${method} ${prefix}${part}`);
      },
    ),
    { numRuns: 300 },
  );
  assert.deepEqual(await t.snapshot(), before);
});
