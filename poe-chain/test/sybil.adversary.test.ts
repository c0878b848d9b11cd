/**
 * [SYBIL] Attack: a modified HEM asks the real registry (HTTP) for as many pseudonym
 * certificates as it will give, puts them all on chain and tries to take several places
 * in the ranking and several bids in one auction. The chain is the real state transition
 * (buildBlock + re-validation as a follower) with the registry's key in its genesis.
 *
 * Outcome checked: every certificate of one meter in one period carries the same tag; the
 * ranking holds the meter once; one bid per meter and auction is accepted, the others are
 * refused METER_ALREADY_BID. Normal rotation still works: near the end of the period the
 * HEM gets a certificate for the next period, with a tag nobody can link to today's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../../wire/keys.js';
import type { Certificate } from '../../schemas/types.js';
import { signCertificateRequest } from '../../csm-registry/certificateRequest.js';
import { enrollBody, startTestRegistry } from '../../csm-registry/test/harness.js';
import { buildBlock, EarlyEmptyBlockError } from '../core/buildBlock.js';
import { producerForSlot } from '../core/electProducer.js';
import { slotTime } from '../core/genesis.js';
import { rankingForEpoch } from '../core/rankingForEpoch.js';
import { ChainFixture, TEST_GENESIS_TIME, testKey } from '../testkit/chainFixture.js';

test('[SYBIL] a HEM with many certificates takes one place in the ranking and one bid per auction; rotation still works', async () => {
  const reg = await startTestRegistry({ registryKey: testKey('registry') });
  try {
    const f = new ChainFixture();
    reg.clock.set(Date.parse(TEST_GENESIS_TIME) + 1000);
    const meterKey = generateKeyPair();
    const enrol = await reg.http('POST', '/v1/meters', { body: enrollBody({ meterId: 'greedy-home', programme: 'RE+TE' }, meterKey) });
    assert.equal(enrol.status, 201, enrol.text);
    const ask = async (address: string): Promise<{ status: number; cert?: Certificate }> => {
      const body = signCertificateRequest(meterKey, 'greedy-home', address, { date: new Date(reg.clock.now()).toISOString() });
      const r = await reg.http('POST', '/v1/certificates', { body, token: null });
      return r.status === 201 ? { status: r.status, cert: r.json as Certificate } : { status: r.status };
    };
    // as many as the registry gives (its rate limit: 10 per hour)
    const keys: ReturnType<typeof generateKeyPair>[] = [];
    const certs: Certificate[] = [];
    for (let i = 0; i < 15; i++) {
      const k = generateKeyPair();
      const r = await ask(k.address);
      if (r.cert === undefined) break;
      keys.push(k);
      certs.push(r.cert);
      reg.clock.advance(1000);
    }
    assert.equal(certs.length, 10, 'the registry gave 10 certificates in the hour');
    assert.equal(new Set(certs.map((c) => c.tag)).size, 1, 'one tag for one meter in one period');
    for (const k of keys) f.addKey(k);

    // all of them on chain, each with a reading for interval 1 (the first their certificates cover); an honest home too
    const honest = f.key('honest-home');
    f.produce([...keys.map((k, i) => f.sign(k, 'certificate', certs[i]!)), f.certTx(honest)]);
    const s2 = f.firstSlotOf(2) + 1;
    f.produce([...keys.map((k) => f.readingTx(k, 1, { p: 1000, c: 1000 }, 1, f.at(s2))), f.readingTx(honest, 1, { p: 1000, c: 1100 }, 1, f.at(s2))], s2);
    const ranking = rankingForEpoch(f.state, 3).ranking;
    const mine = ranking.filter((a) => keys.some((k) => k.address === a));
    assert.equal(mine.length, 1, `one place for the meter in a ranking of ${ranking.length}`);
    assert.equal(ranking.length, 2);

    // an auction: every pseudonym bids; one is counted
    const closesAt = new Date(Date.parse(f.interval(2).start) + 60_000).toISOString();
    f.produce([f.auctionOpenTx('sybil-auction', { deliveryEpoch: 3, closesAt })]);
    const slot = f.state.meta.tipSlot + 1;
    const bids = keys.map((k, i) => f.bidTx(k, 'sybil-auction', { open: f.openBid('sell', 500, 9000 + i) }, 'F1', f.at(slot)));
    const built = buildBlock(f.state, bids, f.keyOf(producerForSlot(f.state, slot))!, slot, slotTime(f.genesis, slot));
    assert.equal(built.txIds.length, 1, 'one bid on chain');
    assert.deepEqual([...new Set(built.rejected.map((r) => r.code))], ['METER_ALREADY_BID']);
    assert.equal(built.rejected.length, keys.length - 1);
    // and in a later block too
    f.produce(bids.slice(0, 1));
    const later = f.state.meta.tipSlot + 1;
    try {
      const b2 = buildBlock(f.state, bids.slice(1, 2), f.keyOf(producerForSlot(f.state, later))!, later, slotTime(f.genesis, later));
      assert.equal(b2.txIds.length, 0);
    } catch (err) {
      assert.ok(err instanceof EarlyEmptyBlockError);
      assert.equal(err.rejected[0]?.code, 'METER_ALREADY_BID');
    }

    // normal rotation: an hour before the end of the period, the next period's certificate
    const periodEnd = Date.parse(TEST_GENESIS_TIME) + 86_400_000;
    reg.clock.set(periodEnd - 3_600_000);
    const next = await ask(generateKeyPair().address);
    assert.equal(next.status, 201);
    assert.equal(next.cert!.validFrom, new Date(periodEnd).toISOString(), 'valid from the next period');
    assert.notEqual(next.cert!.tag, certs[0]!.tag, 'a new tag for the new period');
    console.log(JSON.stringify({ attack: 'many certificates for one meter', certificates: certs.length, tags: 1, placesInRanking: mine.length, bidsCounted: built.txIds.length, bidsRefused: built.rejected.length }));
  } finally {
    await reg.close();
  }
});
