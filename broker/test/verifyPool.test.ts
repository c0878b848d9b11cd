import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signAndEncode, signEnvelope, encode } from '../../wire/codec.js';
import { generateKeyPair } from '../../wire/keys.js';
import { createVerifyPool } from '../verifyPool.js';
import { bidOffer, signedBid } from './brokerFixtures.js';

test('verify pool: decodes in worker threads, same results and order as the codec', async () => {
  const pool = createVerifyPool({ threads: 2, maxBytes: 1 << 20, maxBatch: 16 });
  try {
    const p = generateKeyPair();
    const meter = generateKeyPair();
    const good = Array.from({ length: 100 }, () => signedBid(p, 'A1'));
    const forged = signEnvelope(p, 'bid-offer', bidOffer(p, 'A1'));
    forged.parameters.cpf = 0.1;
    const byMeterId = signAndEncode(meter, 'state', { meterId: 'm1', socPermille: 5, pvW: 0, loadW: 0, batteryW: 0 }, { clientId: 'm1' });

    const results = await Promise.all(good.map((payload) => pool.verify('shard-a', { payload })));
    assert.ok(results.every((r) => r.ok));
    // order across batches: every 7th payload broken; verdicts must line up with the inputs
    const mixed = good.map((g, i) => (i % 7 === 3 ? Buffer.from(g.toString().replace('"cpf":', '"cpf":0.5,"x":')) : g));
    const verdicts = await Promise.all(mixed.map((payload) => pool.verify('shard-a', { payload })));
    assert.deepEqual(verdicts.map((r) => r.ok), mixed.map((_, i) => i % 7 !== 3), 'in order');

    const bad = await pool.verify('shard-b', { payload: encode(forged) });
    assert.deepEqual(bad.ok ? 'ok' : bad.code, 'BAD_SIGNATURE');
    const junk = await pool.verify('shard-b', { payload: Buffer.from('{') });
    assert.deepEqual(junk.ok ? 'ok' : junk.code, 'MALFORMED_JSON');
    const withKey = await pool.verify('shard-c', { payload: byMeterId, key: meter.address });
    assert.ok(withKey.ok, JSON.stringify(withKey));
    const noKey = await pool.verify('shard-c', { payload: byMeterId });
    assert.deepEqual(noKey.ok ? 'ok' : noKey.code, 'UNKNOWN_SIGNER');
    const wrongKey = await pool.verify('shard-c', { payload: byMeterId, key: p.address });
    assert.deepEqual(wrongKey.ok ? 'ok' : wrongKey.code, 'BAD_SIGNATURE');
  } finally {
    await pool.close();
  }
});
