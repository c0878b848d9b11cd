/**
 * [FEEDER-2] Attack: several auctions for one delivery interval (a VPP post, a deviation
 * auction, …), each carrying the feeder's full limit, so that together they award more on
 * a feeder than it can carry. The chain is the real state transition with real
 * signatures (blocks built and re-validated by the fixture).
 *
 * Outcome checked: across all auctions of one interval, the Wh awarded on a feeder never
 * exceed its limit; the later clearings get what is left (a property over random auctions,
 * bids and closing order), and a plain case with figures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChainFixture } from '../testkit/chainFixture.js';

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
