import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import fc from 'fast-check';
import { canonicalize } from '../../wire/canonicalJson.js';
import { generateKeyPair, keyPairFromSeed, publicKeyObject } from '../../wire/keys.js';
import type { Certificate, Revocation } from '../../schemas/types.js';
import {
  checkCertificate, checkRevocation, signCertificate, signRevocation, verifyCertificate, verifyRevocation,
} from '../certificate.js';
import { signCertificateRequest, verifyCertificateRequest } from '../certificateRequest.js';

const registry = keyPairFromSeed(new Uint8Array(32).fill(7));
const addr = (n: number): string => keyPairFromSeed(new Uint8Array(32).fill(n)).address;
const base = {
  address: addr(1),
  validFrom: '2026-03-01T12:00:00.000Z',
  validTo: '2026-03-02T12:00:00.000Z',
  feeder: 'F1',
  programme: 'RE+TE' as const,
};

test('a signed certificate verifies; the signature is Ed25519 over the canonical JSON without it', () => {
  const cert = signCertificate(base, registry);
  assert.ok(verifyCertificate(cert, registry.address));
  assert.equal(checkCertificate(cert, registry.address), undefined);
  const { registrySignature, ...rest } = cert;
  assert.ok(verify(null, Buffer.from(canonicalize(rest)), publicKeyObject(registry.publicKey), Buffer.from(registrySignature, 'base64')));
  // member order does not matter
  const reordered = { registrySignature, programme: cert.programme, feeder: cert.feeder, validTo: cert.validTo, validFrom: cert.validFrom, address: cert.address };
  assert.ok(verifyCertificate(reordered, registry.address));
  // signing is deterministic (Ed25519) and re-signing a signed certificate gives the same one
  assert.deepEqual(signCertificate(cert, registry), cert);
});

test('any change of any field breaks the certificate', () => {
  const cert = signCertificate(base, registry);
  const field = fc.constantFrom<keyof Certificate>('address', 'validFrom', 'validTo', 'feeder', 'programme', 'registrySignature');
  fc.assert(
    fc.property(field, fc.integer({ min: 1, max: 1_000_000 }), fc.nat(63), (f, n, byte) => {
      const changed: Record<string, unknown> = { ...cert };
      switch (f) {
        case 'address':
          changed.address = addr((n % 250) + 2);
          break;
        case 'validFrom':
        case 'validTo':
          changed[f] = new Date(Date.parse(cert[f]) + n).toISOString();
          break;
        case 'feeder':
          changed.feeder = `F${n + 1}`;
          break;
        case 'programme':
          changed.programme = ['TE', 'RE'][n % 2];
          break;
        case 'registrySignature': {
          const sig = Buffer.from(cert.registrySignature, 'base64');
          sig[byte] = sig[byte]! ^ (1 << (n % 8));
          changed.registrySignature = sig.toString('base64');
          break;
        }
      }
      assert.notDeepEqual(changed, cert);
      return !verifyCertificate(changed, registry.address);
    }),
    { numRuns: 300 },
  );
});

test('refusal reasons', () => {
  const cert = signCertificate(base, registry);
  assert.equal(checkCertificate({ ...cert, extra: 1 }, registry.address), 'SCHEMA');
  assert.equal(checkCertificate({ ...cert, programme: 'XX' }, registry.address), 'SCHEMA');
  assert.equal(checkCertificate(null, registry.address), 'SCHEMA');
  assert.equal(checkCertificate('cert', registry.address), 'SCHEMA');
  assert.equal(checkCertificate(cert, 'nothex'), 'BAD_KEY');
  assert.equal(checkCertificate(cert, generateKeyPair().address), 'BAD_SIGNATURE');
  const from = Date.parse(base.validFrom);
  const to = Date.parse(base.validTo);
  assert.equal(checkCertificate(cert, registry.address, from - 1), 'NOT_YET_VALID');
  assert.equal(checkCertificate(cert, registry.address, from), undefined);
  assert.equal(checkCertificate(cert, registry.address, to - 1), undefined);
  assert.equal(checkCertificate(cert, registry.address, to), 'EXPIRED');
});

test('revocations: sign, verify, any change breaks them', () => {
  const rev = signRevocation({ addresses: [addr(1), addr(2)], reason: 'stolen', revokedAt: '2026-03-01T12:00:00.000Z' }, registry);
  assert.ok(verifyRevocation(rev, registry.address));
  const { registrySignature, ...rest } = rev;
  assert.ok(verify(null, Buffer.from(canonicalize(rest)), publicKeyObject(registry.publicKey), Buffer.from(registrySignature, 'base64')));
  const changes: Array<Partial<Revocation> & Record<string, unknown>> = [
    { addresses: [addr(1)] },
    { addresses: [addr(2), addr(1)] },
    { addresses: [addr(1), addr(3)] },
    { reason: 'stolen!' },
    { revokedAt: '2026-03-01T12:00:00.001Z' },
    { extra: true },
  ];
  for (const c of changes) assert.ok(!verifyRevocation({ ...rev, ...c }, registry.address), JSON.stringify(c));
  assert.equal(checkRevocation({ ...rev, addresses: [] }, registry.address), 'SCHEMA');
  assert.equal(checkRevocation(rev, generateKeyPair().address), 'BAD_SIGNATURE');
  assert.equal(checkRevocation(rev, 'zz'), 'BAD_KEY');
});

test('certificate requests are signed by the meter key over canonical JSON without the signature', () => {
  const meter = generateKeyPair();
  const req = signCertificateRequest(meter, 'home-1', addr(9), { date: '2026-03-01T12:00:00.000Z', nonce: 'nonce-0123456789abcdef' });
  assert.deepEqual(Object.keys(req).sort(), ['address', 'date', 'meterId', 'nonce', 'signature']);
  const { signature, ...rest } = req;
  assert.ok(verify(null, Buffer.from(canonicalize(rest)), publicKeyObject(meter.publicKey), Buffer.from(signature, 'base64')));
  assert.ok(verifyCertificateRequest(req, publicKeyObject(meter.publicKey)));
  assert.ok(!verifyCertificateRequest({ ...req, meterId: 'home-2' }, publicKeyObject(meter.publicKey)));
  assert.ok(!verifyCertificateRequest(req, publicKeyObject(generateKeyPair().publicKey)));
  const fresh = signCertificateRequest(meter, 'home-1', addr(9));
  assert.notEqual(fresh.nonce, signCertificateRequest(meter, 'home-1', addr(9)).nonce);
  assert.match(fresh.nonce, /^[A-Za-z0-9_-]{22}$/);
});
