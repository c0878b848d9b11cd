/**
 * [SEALED] Attacks on sealed auctions, against the real state transition with real
 * signatures (blocks built and re-validated by the fixture):
 *   - the aggregator closes a sealed auction to void it or to open its bids: any close is
 *     refused (SEALED_CLOSED_BY_CHAIN), in a block it is built without it and a block
 *     holding it is rejected; the chain clears the auction at closesAt + revealWindowMs;
 *   - a bidder withholds its reveal (e.g. after seeing the others' reveals): only its own
 *     bid is affected: the clearing equals the one without that bidder, and it pays the fee.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChainFixture } from '../testkit/chainFixture.js';
import { balanceOf } from '../core/chainState.js';
import { validateAndApplyBlock } from '../core/validateAndApplyBlock.js';
import { BlockError } from '../core/chainError.js';
import { slotTime } from '../core/genesis.js';
import { forgeBlock } from '../testkit/forgeBlock.js';

const REVEAL_SLOTS = 240; // 60 s of 250 ms

function sealedAuction(f: ChainFixture, bidders: { name: string; wh: number; mc: number }[]) {
  const ks = bidders.map((b) => f.key(b.name));
  f.produce(ks.map((k) => f.certTx(k)));
  const closesAt = new Date(Date.parse(f.interval(1).start) + 10_000).toISOString();
  f.produce([f.auctionOpenTx('auc-s', { side: 'buy', energyWh: 5000, limitMc: 30_000, deliveryEpoch: 2, closesAt, sealed: true })]);
  const seals = bidders.map((b, i) => f.sealedBid(ks[i]!, 'auc-s', f.openBid('sell', b.wh, b.mc)));
  f.produce(seals.map((s, i) => f.bidTx(ks[i]!, 'auc-s', { sealed: s.sealed })));
  return { ks, seals, close: f.firstSlotOf(1) + 40 };
}

test('[SEALED] a misbehaving close cannot void a sealed auction nor open its bids', () => {
  const f = new ChainFixture();
  const { seals, close } = sealedAuction(f, [{ name: 's-a', wh: 2000, mc: 10_000 }, { name: 's-b', wh: 2500, mc: 12_000 }]);
  // closes at closesAt, later, and within the old void window (each block then empty: W slots apart): all refused
  for (const slot of [close, close + 10, close + 100]) {
    const built = f.produce([f.auctionCloseTx('auc-s', f.aggregator, f.at(slot))], slot, { allowRejects: true });
    assert.equal(built.block.parameters.txs.length, 0);
    assert.equal(built.rejected[0]?.code, 'SEALED_CLOSED_BY_CHAIN');
    assert.equal(f.state.sections.auctions.get('auc-s')!.status, 'open', 'still open, not void');
  }
  const s = f.state.meta.tipSlot + 1;
  const forged = forgeBlock(f.state, { slot: s, producer: f.node, txs: [f.auctionCloseTx('auc-s', f.aggregator, f.at(s))] });
  assert.throws(() => validateAndApplyBlock(f.state, forged, { now: slotTime(f.genesis, s) }), (e: unknown) => e instanceof BlockError && e.code === 'BAD_TX' && e.context.reason === 'SEALED_CLOSED_BY_CHAIN');
  // the bidders reveal; the chain clears at closesAt + revealWindowMs, with no close at all
  f.produce(seals.map((x) => x.reveal(f.at(s))), s);
  f.produce([], close + REVEAL_SLOTS);
  const a = f.state.sections.auctions.get('auc-s')!;
  assert.equal(a.status, 'closed');
  assert.equal(a.awardedWh, 4500);
  assert.deepEqual(a.awards!.map((w) => w.energyWh), [2000, 2500]);
});

test('[SEALED] a withheld reveal affects only its own bid: the clearing is the one without it, and the withholder pays the fee', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ wh: fc.integer({ min: 100, max: 3000 }), mc: fc.integer({ min: 1000, max: 40_000 }) }), { minLength: 2, maxLength: 5 }),
      fc.nat(),
      (bids, pick) => {
        const withheld = pick % bids.length;
        const named = bids.map((b, i) => ({ name: `w-${i}`, ...b }));
        // A: everybody bids, one withholds its reveal
        const fa = new ChainFixture();
        const A = sealedAuction(fa, named);
        const feeBefore = balanceOf(fa.state, A.ks[withheld]!.address);
        fa.produce(A.seals.filter((_, i) => i !== withheld).map((x) => x.reveal(fa.at(A.close))), A.close);
        fa.produce([], A.close + REVEAL_SLOTS);
        // B: the same auction without that bidder
        const fb = new ChainFixture();
        const B = sealedAuction(fb, named.filter((_, i) => i !== withheld));
        fb.produce(B.seals.map((x) => x.reveal(fb.at(B.close))), B.close);
        fb.produce([], B.close + REVEAL_SLOTS);
        const a = fa.state.sections.auctions.get('auc-s')!;
        const b = fb.state.sections.auctions.get('auc-s')!;
        const view = (x: typeof a) => (x.awards ?? []).map((w) => [w.address, w.energyWh, w.priceMcPerKWh]);
        assert.deepEqual(view(a), view(b));
        assert.equal(a.awardedWh, b.awardedWh);
        assert.equal(a.clearingPriceMcPerKWh, b.clearingPriceMcPerKWh);
        const mine = a.excluded!.find((e) => e.address === A.ks[withheld]!.address);
        assert.deepEqual([mine?.reason, mine?.penaltyMc], ['NOT_REVEALED', 10_000]);
        assert.equal(balanceOf(fa.state, A.ks[withheld]!.address) - feeBefore, -10_000n);
      },
    ),
    { numRuns: 15, seed: 16 },
  );
});
