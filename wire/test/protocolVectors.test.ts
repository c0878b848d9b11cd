/**
 * PROTOCOL.md's test vectors (protocolVectors.json) against the code: (a) the code re-creates
 * every vector byte for byte, (b) the code's verifiers accept each one, and refuse it once
 * changed. A vector that drifts from the code fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { canonicalize } from '../canonicalJson.js';
import { createCodec } from '../codec.js';
import { keyPairFromSeed, publicKeyObject, verifyBytes } from '../keys.js';
import { checkLoginToken, LOGIN_TOKEN_PATTERN } from '../loginToken.js';
import { signature as signatureSchema, reqId as reqIdSchema, isoDate } from '../../schemas/common.js';
import { checkCertificate } from '../../csm-registry/certificate.js';
import { verifyCertificateRequest } from '../../csm-registry/certificateRequest.js';
import { validators } from '../../csm-registry/registryValidators.js';
import type { CertificateRequest } from '../../csm-registry/registrySchemas.js';
import { protocolVectorsPath, renderProtocolVectors } from './makeProtocolVectors.js';

const text = readFileSync(protocolVectorsPath(), 'utf8');

interface KeyVector { seedHex: string; publicKeyHex: string }
interface CertificateVector { registryClock: string; period: number; signingInput: string; certificate: Record<string, unknown> & { validFrom: string; validTo: string; tag: string; registrySignature: string } }
const v = JSON.parse(text) as {
  keys: Record<'meter' | 'pseudonym' | 'pseudonymNext' | 'registry', KeyVector>;
  canonicalJson: { input: string; canonical: string };
  bidOffer: { unsigned: Record<string, unknown> & { clientId: string; reqId: string; date: string }; signingInput: string; signature: string; envelope: string };
  meterReading: { unsigned: Record<string, unknown> & { date: string }; signingInput: string; signature: string; envelope: string };
  certificateTx: { innerSigningInput: string; signingInput: string; envelope: string };
  loginToken: { meterId: string; ts: string; nonce: string; signingInput: string; token: string };
  certificateRequest: { signingInput: string; body: CertificateRequest };
  certificate: CertificateVector;
  certificateNextPeriod: CertificateVector & { request: CertificateRequest };
};

const pub = (hex: string) => publicKeyObject(Buffer.from(hex, 'hex'));

test('(a) the code re-creates protocolVectors.json byte for byte (regenerate: node dist/wire/test/makeProtocolVectors.js --write)', async () => {
  const made = await renderProtocolVectors();
  if (made !== text) {
    // name the first vector that differs, then fail on the whole text
    const m = JSON.parse(made) as Record<string, unknown>;
    const f = JSON.parse(text) as Record<string, unknown>;
    const differing = Object.keys({ ...m, ...f }).filter((k) => JSON.stringify(m[k]) !== JSON.stringify(f[k]));
    assert.fail(`protocolVectors.json drifted from the code: ${differing.join(', ') || 'formatting'}`);
  }
  assert.equal(made, text);
});

test('(b) keys: each public key is the Ed25519 key of its seed', () => {
  for (const [name, k] of Object.entries(v.keys)) {
    assert.equal(keyPairFromSeed(Buffer.from(k.seedHex, 'hex')).address, k.publicKeyHex, name);
  }
});

test('(b) canonical JSON: RFC 8785 form of the input', () => {
  assert.equal(canonicalize(JSON.parse(v.canonicalJson.input)), v.canonicalJson.canonical);
});

test('(b) bid-offer: the envelope decodes with the codec (schema, address = signer, signature, date, replay) and fails once changed', () => {
  const b = v.bidOffer;
  const at = Date.parse(b.unsigned.date);
  const env = createCodec({ now: () => at }).decode(b.envelope);
  assert.equal(env.operation, 'bid-offer');
  assert.equal(env.clientId, v.keys.pseudonym.publicKeyHex, 'signed by the pseudonym');
  const { signature, ...unsigned } = env;
  assert.equal(signature, b.signature);
  assert.deepEqual(unsigned, b.unsigned);
  assert.equal(canonicalize(unsigned), b.signingInput, 'the signed text is the canonical JSON of the envelope without signature');
  assert.ok(verifyBytes(pub(env.clientId), Buffer.from(b.signingInput, 'utf8'), Buffer.from(b.signature, 'base64')));

  const changed = b.envelope.replace('"value":1500', '"value":1501');
  assert.notEqual(changed, b.envelope);
  assert.throws(() => createCodec({ now: () => at }).decode(changed), { code: 'BAD_SIGNATURE' });
  assert.throws(() => createCodec({ now: () => at + 120_001 }).decode(b.envelope), { code: 'STALE_DATE' });
  const codec = createCodec({ now: () => at });
  codec.decode(b.envelope);
  assert.throws(() => codec.decode(b.envelope), { code: 'REPLAYED' });
});

test('(b) meter-reading: decodes with the codec, signed by the pseudonym, and fails once changed', () => {
  const r = v.meterReading;
  const at = Date.parse(r.unsigned.date);
  const env = createCodec({ now: () => at }).decode(r.envelope);
  assert.equal(env.operation, 'meter-reading');
  assert.equal(env.clientId, v.keys.pseudonym.publicKeyHex);
  const { signature, ...unsigned } = env;
  assert.equal(signature, r.signature);
  assert.equal(canonicalize(unsigned), r.signingInput);
  assert.throws(() => createCodec({ now: () => at }).decode(r.envelope.replace('"seq":0', '"seq":1')), { code: 'BAD_SIGNATURE' });
});

test('(b) certificate tx: the outer tx and the inner certificate envelope decode, both by the pseudonym; the certificate is the registry\'s', () => {
  const t = v.certificateTx;
  const outer = createCodec({ now: () => Date.parse(JSON.parse(t.envelope).date as string) }).decode(t.envelope);
  assert.equal(outer.operation, 'tx');
  assert.equal(outer.clientId, v.keys.pseudonym.publicKeyHex);
  const { signature: _o, ...outerUnsigned } = outer;
  assert.equal(canonicalize(outerUnsigned), t.signingInput);
  const inner = createCodec().decodeValue((outer.parameters as { tx: unknown }).tx, { replayCheck: false });
  assert.equal(inner.operation, 'certificate');
  assert.equal(inner.clientId, v.keys.pseudonym.publicKeyHex);
  const { signature: _i, ...innerUnsigned } = inner;
  assert.equal(canonicalize(innerUnsigned), t.innerSigningInput);
  assert.deepEqual(inner.parameters, v.certificate.certificate);
  assert.equal(checkCertificate(inner.parameters, v.keys.registry.publicKeyHex), undefined);
});

test('(b) login token: the broker\'s check accepts it at its ts for its meter only', () => {
  const t = v.loginToken;
  const key = pub(v.keys.meter.publicKeyHex);
  assert.equal(t.token.split('.').slice(0, 3).join('.'), `v1.${t.ts}.${t.nonce}`);
  assert.equal(t.signingInput, `tmi-login:v1:${t.meterId}:${t.ts}:${t.nonce}`);
  assert.ok(verifyBytes(key, Buffer.from(t.signingInput, 'utf8'), Buffer.from(t.token.split('.')[3]!, 'base64url')));
  const ts = Number(t.ts);
  assert.equal(checkLoginToken(t.token, t.meterId, key, ts), undefined);
  assert.equal(checkLoginToken(t.token, t.meterId, key, ts + 60_000), undefined, 'still good at +60 s');
  assert.equal(checkLoginToken(t.token, t.meterId, key, ts + 60_001), 'TOKEN_EXPIRED');
  assert.equal(checkLoginToken(t.token, 'home-2', key, ts), 'TOKEN_BAD_SIGNATURE');
  assert.equal(checkLoginToken(t.token, t.meterId, pub(v.keys.pseudonym.publicKeyHex), ts), 'TOKEN_BAD_SIGNATURE');
});

test('(b) certificate request: schema-valid for POST /v1/certificates and signed by the meter key', () => {
  for (const [name, req, input] of [
    ['first', v.certificateRequest.body, v.certificateRequest.signingInput],
    ['next period', v.certificateNextPeriod.request, undefined],
  ] as const) {
    assert.ok(validators.certificateRequestBody(req), name);
    assert.ok(verifyCertificateRequest(req, pub(v.keys.meter.publicKeyHex)), name);
    assert.equal(verifyCertificateRequest(req, pub(v.keys.pseudonym.publicKeyHex)), false, `${name}: not by another key`);
    const { signature: _s, ...unsigned } = req;
    if (input !== undefined) assert.equal(canonicalize(unsigned), input);
    assert.equal(verifyCertificateRequest({ ...req, nonce: 'AAECAwQFBgcICQoLDA0OEA' }, pub(v.keys.meter.publicKeyHex)), false, `${name}: the nonce is signed`);
  }
  assert.equal(v.certificateRequest.body.address, v.keys.pseudonym.publicKeyHex);
});

test('(b) certificates: signed by the registry key, valid inside their window, one period each, one tag per period', () => {
  const registry = v.keys.registry.publicKeyHex;
  const day = 86_400_000;
  for (const [name, c] of [['first', v.certificate], ['next period', v.certificateNextPeriod]] as const) {
    const cert = c.certificate;
    const { registrySignature: _s, ...unsigned } = cert;
    assert.equal(canonicalize(unsigned), c.signingInput, name);
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    assert.equal(checkCertificate(cert, registry, from), undefined, name);
    assert.equal(checkCertificate(cert, registry, to - 1), undefined, name);
    assert.equal(checkCertificate(cert, registry, to), 'EXPIRED', name);
    assert.equal(checkCertificate(cert, registry, from - 1), 'NOT_YET_VALID', name);
    assert.equal(checkCertificate({ ...cert, feeder: 'F2' }, registry), 'BAD_SIGNATURE', `${name}: feeder is signed`);
    assert.equal(checkCertificate({ ...cert, tag: '0'.repeat(64) }, registry), 'BAD_SIGNATURE', `${name}: tag is signed`);
    // [SYBIL] within one period
    assert.equal(Math.floor(from / day), c.period, name);
    assert.equal(Math.floor((to - 1) / day), c.period, name);
  }
  // the first lasts from the request to the end of the UTC day; the one asked 2 h before the
  // end, while the first is live, covers the whole next day, with another tag
  assert.equal(v.certificate.certificate.validFrom, v.certificate.registryClock);
  assert.equal(v.certificate.certificate.validTo, '2026-11-22T00:00:00.000Z');
  assert.equal(v.certificateNextPeriod.certificate.validFrom, '2026-11-22T00:00:00.000Z');
  assert.equal(v.certificateNextPeriod.certificate.validTo, '2026-11-23T00:00:00.000Z');
  assert.equal(v.certificateNextPeriod.period, v.certificate.period + 1);
  assert.notEqual(v.certificateNextPeriod.certificate.tag, v.certificate.certificate.tag);
});

test('PROTOCOL.md quotes the code: token and signature patterns, date and reqId formats, the vectors\' fixed inputs', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../../PROTOCOL.md', import.meta.url)), 'utf8');
  const quoted = (what: string, s: string) => assert.ok(doc.includes(s), `PROTOCOL.md should quote ${what}: ${s}`);
  quoted('the login token pattern', LOGIN_TOKEN_PATTERN.source);
  quoted('the canonical signature pattern', signatureSchema.pattern);
  quoted('the reqId alphabet', reqIdSchema.pattern);
  assert.equal(reqIdSchema.minLength, 16);
  assert.equal(reqIdSchema.maxLength, 64);
  quoted('the date format', isoDate.pattern);
  quoted('the login signing input', 'tmi-login:v1:');
  quoted('the login ts', v.loginToken.ts);
  quoted('the login nonce', v.loginToken.nonce);
  quoted('the certificate request nonce', v.certificateRequest.body.nonce);
  quoted('the certificate period', `period ${v.certificate.period}`);
  quoted('the next certificate period', `period ${v.certificateNextPeriod.period}`);
});
