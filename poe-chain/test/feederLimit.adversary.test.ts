/**
 * [FEEDER-2] Attack: several auctions for one delivery interval (a VPP post, a deviation
 * auction, …), each carrying the feeder's full limit, so that together they award more on
 * a feeder than it can carry.
 * [FEEDER-1] Attack: the aggregator raises a feeder's limit: it writes limits 10× the
 * registry's into its auction-opens, replays an older (looser) record the registry signed
 * before tightening the feeder, forges a record with another key, or reuses the registry's
 * signature on a pseudonym certificate as a feeder limit.
 * The chain is the real state transition with real signatures (blocks built and
 * re-validated by the fixture); the registry records come from the real registry over HTTP.
 *
 * Outcome checked: across all auctions of one interval, the Wh awarded on a feeder never
 * exceed its registry limit (a property over random auctions, bids, closing order and
 * auction-open limits, and a plain case with figures); a stale, forged or reused record is
 * refused with its code and changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChainFixture, TEST_GENESIS_TIME, testKey } from '../testkit/chainFixture.js';
import { generateKeyPair } from '../../wire/keys.js';
import type { Certificate, SignedFeederLimit } from '../../schemas/types.js';
import { signCertificateRequest } from '../../csm-registry/certificateRequest.js';
import { verifyFeederLimit } from '../../csm-registry/feederLimitRecord.js';
import { enrollBody, startTestRegistry } from '../../csm-registry/test/harness.js';
import { buildBlock, EarlyEmptyBlockError } from '../core/buildBlock.js';
import { BlockError } from '../core/chainError.js';
import { slotTime } from '../core/genesis.js';
import { validateAndApplyBlock } from '../core/validateAndApplyBlock.js';
import { forgeBlock } from '../testkit/forgeBlock.js';
import type { ChainState } from '../core/chainState.js';

test('[FEEDER-2] three auctions for one interval, each with F2 limited to 1500 Wh: 1500 Wh awarded on F2 in all', () => {
  const f = new ChainFixture();
  const homes = ['f2-a', 'f2-b', 'f2-c'].map((n) => f.key(n));
  f.produce(homes.map((h) => f.certTx(h, { feeder: 'F2' })));
  const start = Date.parse(f.interval(1).start);
  const ids = ['vpp', 'deviation', 'manual'];
  f.produce(ids.map((id, k) => f.auctionOpenTx(id, { side: 'buy', energyWh: 5000, limitMc: 20_000, deliveryEpoch: 2, closesAt: new Date(start + 10_000 * (k + 1)).toISOString(), feederLimits: [{ feeder: 'F2', maxExportWh: 1500, maxImportWh: 0 }] })));
  f.produce(ids.flatMap((id) => homes.map((h) => f.bidTx(h, id, { open: f.openBid('sell', 1000, 10_000) }, 'F2'))));
  for (let k = 0; k < ids.length; k++) f.produce([], f.firstSlotOf(1) + 40 * (k + 1));
  const perAuction = ids.map((id) => (f.state.sections.auctions.get(id)!.awards ?? []).reduce((s, w) => s + w.energyWh, 0));
  // before [FEEDER-2] each auction awarded 1500 Wh on F2 (4500 in all)
  assert.deepEqual(perAuction, [1500, 0, 0]);
  assert.deepEqual(f.state.sections.feederUse.get('2|export|F2'), { awardedWh: 1500 });
  const excluded = f.state.sections.auctions.get('deviation')!.excluded!.map((x) => x.reason);
  assert.deepEqual(excluded, ['FEEDER_LIMIT', 'FEEDER_LIMIT', 'FEEDER_LIMIT']);
});

test('[FEEDER-2] random auctions of one interval never award more on a feeder than its limit', () => {
  fc.assert(
    fc.property(
      fc.record({
        limit: fc.integer({ min: 0, max: 4000 }),
        auctions: fc.array(fc.record({ energyWh: fc.integer({ min: 1, max: 5000 }), closeSlot: fc.integer({ min: 1, max: 3 }), bids: fc.array(fc.integer({ min: 1, max: 2500 }), { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 4 }),
      }),
      ({ limit, auctions }) => {
        const f = new ChainFixture();
        const homes = [0, 1, 2].map((i) => f.key(`home-${i}`));
        f.produce(homes.map((h) => f.certTx(h, { feeder: 'F2' })));
        const start = Date.parse(f.interval(1).start);
        f.produce(auctions.map((a, k) => f.auctionOpenTx(`auc-${k}`, { side: 'buy', energyWh: a.energyWh, limitMc: 20_000, deliveryEpoch: 2, closesAt: new Date(start + 10_000 * a.closeSlot).toISOString(), feederLimits: [{ feeder: 'F2', maxExportWh: limit, maxImportWh: 0 }] })));
        f.produce(auctions.flatMap((a, k) => a.bids.map((wh, i) => f.bidTx(homes[i]!, `auc-${k}`, { open: f.openBid('sell', wh, 10_000 + i) }, 'F2'))));
        for (const slot of [1, 2, 3]) f.produce([], f.firstSlotOf(1) + 40 * slot);
        // reference: clearings in chain order (block, then auction id in one block), each gets
        // min(its energy, its bids, what is left of the limit)
        const order = auctions.map((a, k) => ({ ...a, k })).sort((x, y) => x.closeSlot - y.closeSlot || x.k - y.k);
        const want = new Map<number, number>();
        let used = 0;
        for (const a of order) {
          const w = Math.min(a.energyWh, a.bids.reduce((x, y) => x + y, 0), Math.max(0, limit - used));
          want.set(a.k, w);
          used += w;
        }
        let total = 0;
        for (let k = 0; k < auctions.length; k++) {
          const a = f.state.sections.auctions.get(`auc-${k}`)!;
          assert.notEqual(a.status, 'open');
          const got = (a.awards ?? []).reduce((s, w) => s + w.energyWh, 0);
          assert.equal(got, want.get(k), `auc-${k}`);
          total += got;
        }
        assert.ok(total <= limit, `awarded ${total} Wh on F2, limit ${limit}`);
        assert.equal(f.state.sections.feederUse.get('2|export|F2')?.awardedWh ?? 0, total);
      },
    ),
    { numRuns: 25, seed: 16 },
  );
});

/** The registry's records as `GET /v1/feeders` serves them, after PUTs at the given offsets from genesis (ms). */
async function registryRecords(puts: { feeder: string; maxExportWh: number; maxImportWh: number; atMs: number }[]) {
  const reg = await startTestRegistry({ registryKey: testKey('registry') });
  try {
    const replies: SignedFeederLimit[] = [];
    for (const p of puts) {
      reg.clock.set(Date.parse(TEST_GENESIS_TIME) + p.atMs);
      const r = await reg.http('PUT', `/v1/feeders/${p.feeder}`, { body: { maxExportWh: p.maxExportWh, maxImportWh: p.maxImportWh } });
      assert.equal(r.status, 200, r.text);
      replies.push(r.json as SignedFeederLimit);
    }
    const list = await reg.http('GET', '/v1/feeders', { token: null });
    return { replies, served: (list.json as { items: SignedFeederLimit[] }).items, reg };
  } finally {
    await reg.close();
  }
}

/** The chain's verdict on one transaction at the next slot: buildBlock leaves it out, a block holding it is rejected. */
function refusal(f: ChainFixture, tx: unknown): { built: string | undefined; imported: string | undefined } {
  const s = f.state.meta.tipSlot + 1;
  const now = slotTime(f.genesis, s);
  let built: string | undefined;
  try {
    built = buildBlock(f.state, [tx], f.node, s, now).rejected[0]?.code;
  } catch (err) {
    // the only transaction left out: the producer would make no block
    if (!(err instanceof EarlyEmptyBlockError)) throw err;
    built = err.rejected[0]?.code;
  }
  let imported: string | undefined;
  try {
    validateAndApplyBlock(f.state, JSON.parse(JSON.stringify(forgeBlock(f.state, { slot: s, producer: f.node, txs: [tx] }))), { now });
  } catch (err) {
    if (!(err instanceof BlockError)) throw err;
    imported = `${err.code} ${String(err.context.reason ?? '')}`.trim();
  }
  return { built, imported };
}

const limitsOf = (st: ChainState) => st.sections.feederLimits.sortedEntries();

test('[FEEDER-1] the aggregator opens three auctions with F2 limited to 10× the registry\'s 1500 Wh: 1500 Wh awarded on F2 in all', async () => {
  const { served } = await registryRecords([{ feeder: 'F2', maxExportWh: 1500, maxImportWh: 0, atMs: 1000 }]);
  assert.equal(served.length, 1);
  assert.ok(verifyFeederLimit(served[0], testKey('registry').address));
  const f = new ChainFixture();
  const homes = ['f2-a', 'f2-b', 'f2-c'].map((n) => f.key(n));
  // the aggregator relays the registry's record, as it does at start
  f.produce([...homes.map((h) => f.certTx(h, { feeder: 'F2' })), f.feederLimitTx(served[0]!)]);
  assert.deepEqual(f.state.sections.feederLimits.get('F2'), { maxExportWh: 1500, maxImportWh: 0, issuedAt: Date.parse(served[0]!.issuedAt) });
  const start = Date.parse(f.interval(1).start);
  const ids = ['vpp', 'deviation', 'manual'];
  f.produce(ids.map((id, k) => f.auctionOpenTx(id, { side: 'buy', energyWh: 5000, limitMc: 20_000, deliveryEpoch: 2, closesAt: new Date(start + 10_000 * (k + 1)).toISOString(), feederLimits: [{ feeder: 'F2', maxExportWh: 15_000, maxImportWh: 15_000 }] })));
  // the auction-opens did not touch the registry's limit
  assert.deepEqual(f.state.sections.feederLimits.get('F2')?.maxExportWh, 1500);
  f.produce(ids.flatMap((id) => homes.map((h) => f.bidTx(h, id, { open: f.openBid('sell', 1000, 10_000) }, 'F2'))));
  for (let k = 0; k < ids.length; k++) f.produce([], f.firstSlotOf(1) + 40 * (k + 1));
  const perAuction = ids.map((id) => (f.state.sections.auctions.get(id)!.awards ?? []).reduce((s, w) => s + w.energyWh, 0));
  // with the auction-opens' limits the first auction alone would award 3000 Wh (all 3 offers), 9000 in all
  assert.deepEqual(perAuction, [1500, 0, 0]);
  assert.deepEqual(f.state.sections.feederUse.get('2|export|F2'), { awardedWh: 1500 });
  assert.deepEqual(f.state.sections.auctions.get('vpp')!.excluded!.map((x) => x.reason), ['FEEDER_LIMIT']);
});

test('[FEEDER-1] random auctions with random auction-open limits (often above the registry\'s) never award more on a feeder than the registry\'s limit', () => {
  fc.assert(
    fc.property(
      fc.record({
        limit: fc.integer({ min: 0, max: 4000 }),
        auctions: fc.array(fc.record({
          energyWh: fc.integer({ min: 1, max: 5000 }),
          closeSlot: fc.integer({ min: 1, max: 3 }),
          // none, 10× the registry's, or any
          own: fc.oneof(fc.constant<'none' | 'ten'>('none'), fc.constant<'none' | 'ten'>('ten'), fc.integer({ min: 0, max: 40_000 })),
          bids: fc.array(fc.integer({ min: 1, max: 2500 }), { minLength: 1, maxLength: 3 }),
        }), { minLength: 1, maxLength: 4 }),
      }),
      ({ limit, auctions }) => {
        const f = new ChainFixture();
        const homes = [0, 1, 2].map((i) => f.key(`home-${i}`));
        f.produce([...homes.map((h) => f.certTx(h, { feeder: 'F2' })), f.feederLimitTx(f.feederLimit('F2', limit, 0))]);
        const start = Date.parse(f.interval(1).start);
        const ownOf = (a: (typeof auctions)[number]) => (a.own === 'none' ? undefined : a.own === 'ten' ? 10 * limit : a.own);
        f.produce(auctions.map((a, k) => {
          const own = ownOf(a);
          return f.auctionOpenTx(`auc-${k}`, { side: 'buy', energyWh: a.energyWh, limitMc: 20_000, deliveryEpoch: 2, closesAt: new Date(start + 10_000 * a.closeSlot).toISOString(), ...(own !== undefined ? { feederLimits: [{ feeder: 'F2', maxExportWh: own, maxImportWh: 0 }] } : {}) });
        }));
        f.produce(auctions.flatMap((a, k) => a.bids.map((wh, i) => f.bidTx(homes[i]!, `auc-${k}`, { open: f.openBid('sell', wh, 10_000 + i) }, 'F2'))));
        for (const slot of [1, 2, 3]) f.produce([], f.firstSlotOf(1) + 40 * slot);
        // reference: clearings in chain order; each gets min(its energy, its bids, min(registry, own) − used)
        const order = auctions.map((a, k) => ({ ...a, k })).sort((x, y) => x.closeSlot - y.closeSlot || x.k - y.k);
        let used = 0;
        let total = 0;
        for (const a of order) {
          const own = ownOf(a);
          const cap = Math.min(limit, own ?? Infinity);
          const want = Math.min(a.energyWh, a.bids.reduce((x, y) => x + y, 0), Math.max(0, cap - used));
          used += want;
          const got = (f.state.sections.auctions.get(`auc-${a.k}`)!.awards ?? []).reduce((s, w) => s + w.energyWh, 0);
          assert.equal(got, want, `auc-${a.k}`);
          total += got;
        }
        assert.ok(total <= limit, `awarded ${total} Wh on F2, registry limit ${limit}`);
      },
    ),
    { numRuns: 25, seed: 17 },
  );
});

test('[FEEDER-1] an older, looser registry record replayed over a tightened one is refused STALE_FEEDER_LIMIT', async () => {
  // the registry set F2 to 15000 Wh, then tightened it to 1500 Wh a minute later
  const { replies, served } = await registryRecords([
    { feeder: 'F2', maxExportWh: 15_000, maxImportWh: 15_000, atMs: 1000 },
    { feeder: 'F2', maxExportWh: 1500, maxImportWh: 1500, atMs: 61_000 },
  ]);
  const [loose, tight] = replies as [SignedFeederLimit, SignedFeederLimit];
  assert.deepEqual(served, [tight], 'GET /v1/feeders serves the latest record');
  assert.ok(Date.parse(tight.issuedAt) > Date.parse(loose.issuedAt));
  const f = new ChainFixture();
  f.produce([], f.firstSlotOf(0) + 70_000 / f.genesis.slotMs); // block time past both issuedAt
  f.produce([f.feederLimitTx(loose)]);
  f.produce([f.feederLimitTx(tight)]);
  const before = limitsOf(f.state);
  assert.deepEqual(f.state.sections.feederLimits.get('F2'), { maxExportWh: 1500, maxImportWh: 1500, issuedAt: Date.parse(tight.issuedAt) });
  // replayed (a new envelope, so not a duplicate transaction) by the aggregator, and by the registry key itself
  for (const signer of [f.aggregator, f.registry, f.node]) {
    const r = refusal(f, f.feederLimitTx(loose, signer));
    assert.deepEqual(r, { built: 'STALE_FEEDER_LIMIT', imported: 'BAD_TX STALE_FEEDER_LIMIT' });
  }
  // the same record again is not newer either
  assert.deepEqual(refusal(f, f.feederLimitTx(tight)), { built: 'STALE_FEEDER_LIMIT', imported: 'BAD_TX STALE_FEEDER_LIMIT' });
  assert.deepEqual(limitsOf(f.state), before);
});

test('[FEEDER-1] a feeder limit signed by another key, or altered after signing, is refused BAD_REGISTRY_SIGNATURE', () => {
  const f = new ChainFixture();
  f.produce([f.feederLimitTx(f.feederLimit('F2', 1500, 1500))]);
  const before = limitsOf(f.state);
  const later = f.at(f.state.meta.tipSlot + 1);
  for (const signer of [f.aggregator, f.node, generateKeyPair()]) {
    const forged = f.feederLimit('F2', 15_000, 15_000, { issuedAt: later, signer });
    assert.deepEqual(refusal(f, f.feederLimitTx(forged)), { built: 'BAD_REGISTRY_SIGNATURE', imported: 'BAD_TX BAD_REGISTRY_SIGNATURE' });
  }
  const genuine = f.feederLimit('F2', 1400, 1400, { issuedAt: later });
  assert.deepEqual(refusal(f, f.feederLimitTx({ ...genuine, maxExportWh: 14_000 })), { built: 'BAD_REGISTRY_SIGNATURE', imported: 'BAD_TX BAD_REGISTRY_SIGNATURE' });
  assert.deepEqual(refusal(f, f.feederLimitTx({ ...genuine, feeder: 'F1' })), { built: 'BAD_REGISTRY_SIGNATURE', imported: 'BAD_TX BAD_REGISTRY_SIGNATURE' });
  assert.deepEqual(limitsOf(f.state), before);
  // the genuine one is taken
  f.produce([f.feederLimitTx(genuine)]);
  assert.equal(f.state.sections.feederLimits.get('F2')?.maxExportWh, 1400);
});

test('[FEEDER-1] the registry\'s signature on a pseudonym certificate reused as a feeder limit (and the other way round) is refused', async () => {
  const reg = await startTestRegistry({ registryKey: testKey('registry') });
  let cert: Certificate;
  let limit: SignedFeederLimit;
  try {
    reg.clock.set(Date.parse(TEST_GENESIS_TIME) + 1000);
    const meterKey = generateKeyPair();
    assert.equal((await reg.http('POST', '/v1/meters', { body: enrollBody({ meterId: 'home-1', programme: 'RE+TE', feeder: 'F2' }, meterKey) })).status, 201);
    const pseudonym = generateKeyPair();
    const body = signCertificateRequest(meterKey, 'home-1', pseudonym.address, { date: new Date(reg.clock.now()).toISOString() });
    const r = await reg.http('POST', '/v1/certificates', { body, token: null });
    assert.equal(r.status, 201, r.text);
    cert = r.json as Certificate;
    limit = (await reg.http('PUT', '/v1/feeders/F2', { body: { maxExportWh: 1500, maxImportWh: 1500 } })).json as SignedFeederLimit;
  } finally {
    await reg.close();
  }
  const f = new ChainFixture();
  const issuedAt = f.at(f.state.meta.tipSlot + 1);
  // the certificate's registry signature under feeder limits of the attacker's choosing
  for (const l of [{ feeder: 'F2', maxExportWh: 15_000, maxImportWh: 15_000, issuedAt }, { feeder: cert.feeder, maxExportWh: 0, maxImportWh: 0, issuedAt: cert.validFrom }]) {
    assert.deepEqual(refusal(f, f.feederLimitTx({ ...l, registrySignature: cert.registrySignature })), { built: 'BAD_REGISTRY_SIGNATURE', imported: 'BAD_TX BAD_REGISTRY_SIGNATURE' });
  }
  // and a feeder limit's signature under a certificate
  const certTx = f.sign(f.registry, 'certificate', { ...cert, registrySignature: limit.registrySignature });
  assert.deepEqual(refusal(f, certTx), { built: 'BAD_REGISTRY_SIGNATURE', imported: 'BAD_TX BAD_REGISTRY_SIGNATURE' });
  assert.equal(f.state.sections.feederLimits.size, 0);
});
