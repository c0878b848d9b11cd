/**
 * The broker's MeterDirectory over the real registry app (memory-level, loopback): which
 * pseudonyms count as certified to a meter, around a certificate period's end [SYBIL].
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../../wire/keys.js';
import { signCertificateRequest } from '../../csm-registry/certificateRequest.js';
import { startTestRegistry, enrollBody, ADMIN } from '../../csm-registry/test/harness.js';
import { createHttpDirectory } from '../httpDirectory.js';

test('[SYBIL] a next-period pseudonym, certified before its period starts, is the meter\'s at once; an expired one is not', async () => {
  const tr = await startTestRegistry();
  try {
    const meter = generateKeyPair();
    const body = enrollBody({ meterId: 'home-1' }, meter);
    assert.equal((await tr.http('POST', '/v1/meters', { body })).status, 201);
    const certify = async (at: string, address: string) => {
      tr.clock.set(Date.parse(at));
      const r = await tr.http('POST', '/v1/certificates', { body: signCertificateRequest(meter, 'home-1', address, { date: at }), token: null });
      assert.equal(r.status, 201, r.text);
      return r.json as { validFrom: string; validTo: string };
    };
    const today = generateKeyPair();
    const tomorrow = generateKeyPair();
    const c1 = await certify('2026-11-21T10:14:00.000Z', today.address);
    const c2 = await certify('2026-11-21T22:00:00.000Z', tomorrow.address);
    assert.equal(c2.validFrom, c1.validTo, 'the registry certified the next period ahead of it');

    let t = Date.parse('2026-11-21T22:00:05.000Z');
    const dir = createHttpDirectory({ url: tr.url, token: ADMIN, now: () => t });
    assert.equal(await dir.pseudonymOwner(today.address), 'home-1');
    // its certificate goes on chain and it bids for deliveries after midnight before midnight
    assert.equal(await dir.pseudonymOwner(tomorrow.address), 'home-1', 'a successor certificate (validFrom ahead) is certified to the meter');
    t = Date.parse('2026-11-22T00:02:00.001Z');
    assert.equal(await dir.pseudonymOwner(today.address), undefined, 'expired more than the skew ago');
    assert.equal(await dir.pseudonymOwner(tomorrow.address), 'home-1');
    assert.equal(await dir.pseudonymOwner(generateKeyPair().address), undefined, 'never certified');
  } finally {
    await tr.close();
  }
});
