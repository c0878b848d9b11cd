/** The reducer alone: records and aggregates from facts, in memory. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Fact } from '../facts.js';
import { checkFact } from '../facts.js';
import { reduceFact, uncountOffChainReadings } from '../stats/reduceFact.js';
import { ids, type RecordKind, type RecordTypes, type RecordView } from '../stats/records.js';
import { A, B, C, M1, M2, P1, P2, S1, S2, handBuiltFacts, handBuiltMarketFacts, hashOf, simulatedFeed } from './analyticsFixtures.js';

/** Applies facts one by one to a Map, as the store does; returns the records sorted by key. */
function run(facts: readonly Fact[]): Map<string, unknown> {
  const m = new Map<string, RecordTypes[RecordKind]>();
  const view: RecordView = { get: <K extends RecordKind>(kind: K, id: string) => m.get(`${kind}!${id}`) as RecordTypes[K] | undefined };
  for (const f of facts) {
    for (const c of reduceFact(view, f)) {
      if (c.value === null) m.delete(`${c.kind}!${c.id}`);
      else m.set(`${c.kind}!${c.id}`, c.value);
    }
  }
  return new Map([...m.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)));
}
const rec = <K extends RecordKind>(m: Map<string, unknown>, kind: K, id: string): RecordTypes[K] | undefined => m.get(`${kind}!${id}`) as RecordTypes[K] | undefined;

/** a reading on chain (in block 1) */
const reading = (address: string, start: number, p: number, c: number, ch = 0, dis = 0, soc = 500): Fact => ({
  kind: 'reading', address, intervalStart: start, intervalEnd: start + 900_000, producedWh: p, consumedWh: c, chargedWh: ch, dischargedWh: dis, socPermille: soc, height: 1,
});
/** the same reading seen on MQTT only */
const offChain = (f: Fact): Fact => {
  const { height: _, ...r } = f as Extract<Fact, { kind: 'reading' }>;
  return r;
};

describe('reduceFact', () => {
  it('a reading adds to its slot and its home: self-consumed, imported, exported, net load', () => {
    const m = run([reading(A, S1, 2000, 800, 700, 0), reading(B, S1, 500, 1200, 0, 300)]);
    const slot = rec(m, 'slot', ids.slot(S1))!;
    assert.deepEqual(
      [slot.readings, slot.producedWh, slot.selfConsumedWh, slot.importedWh, slot.exportedWh, slot.netLoadWh],
      [2, 2500, 1500 + 500, 400, 500, -500 + 400],
    );
    assert.equal(rec(m, 'home', A)?.selfConsumedWh, 1500);
    assert.equal(rec(m, 'home', B)?.importedWh, 400);
  });

  it('[AN-ONCHAIN] a reading counts in no aggregate until it is seen in a block; seen there, it counts once', () => {
    const r = reading(A, S1, 2000, 800, 700, 0);
    const seen = run([offChain(r)]);
    assert.equal(rec(seen, 'reading', ids.reading(S1, A))?.height, null, 'the record is kept');
    assert.equal(rec(seen, 'slot', ids.slot(S1)), undefined, 'no slot figure');
    assert.equal(rec(seen, 'home', A), undefined, 'no home figure');
    // the block after the MQTT message, or before it, or both twice: the same records
    const onChain = run([r]);
    assert.deepEqual(run([offChain(r), r]), onChain);
    assert.deepEqual(run([r, offChain(r)]), onChain);
    assert.deepEqual(run([offChain(r), r, offChain(r), r]), onChain);
    assert.deepEqual([rec(onChain, 'slot', ids.slot(S1))?.readings, rec(onChain, 'home', A)?.producedWh], [1, 2000]);
  });

  it('[AN-ONCHAIN] a store written before: the readings not on chain are taken out of its aggregates', () => {
    // the aggregates as the earlier rule made them: every reading counted
    const on = rec(run([reading(A, S1, 2000, 800, 700, 0)]), 'reading', ids.reading(S1, A))!;
    const off = { ...rec(run([reading(B, S1, 500, 1200, 0, 300)]), 'reading', ids.reading(S1, B))!, height: null };
    const before = run([reading(A, S1, 2000, 800, 700, 0), reading(B, S1, 500, 1200, 0, 300), offChain(reading(B, S1, 500, 1200, 0, 300))]);
    // B's record as if it had never been seen in a block, its contributions still in the sums
    before.set(`reading!${ids.reading(S1, B)}`, off);
    const view: RecordView = { get: <K extends RecordKind>(kind: K, id: string) => before.get(`${kind}!${id}`) as RecordTypes[K] | undefined };
    const m = new Map(before);
    for (const c of uncountOffChainReadings(view, [on, off])) {
      if (c.value === null) m.delete(`${c.kind}!${c.id}`);
      else m.set(`${c.kind}!${c.id}`, c.value);
    }
    const expected = run([reading(A, S1, 2000, 800, 700, 0), offChain(reading(B, S1, 500, 1200, 0, 300))]);
    assert.deepEqual(new Map([...m].sort((x, y) => (x[0] < y[0] ? -1 : 1))), expected);
  });

  it('a reading seen again with other values replaces the old one exactly', () => {
    const replaced = run([reading(A, S1, 2000, 800), reading(B, S1, 100, 100), reading(A, S1, 300, 900, 0, 100)]);
    const direct = run([reading(B, S1, 100, 100), reading(A, S1, 300, 900, 0, 100)]);
    assert.deepEqual(replaced, direct);
  });

  it('a block replaced at its height (reorg) moves the producer counts; an emptied aggregate is deleted', () => {
    const block = (producer: string, seed: number): Fact => ({ kind: 'block', height: 7, slot: 28, epoch: 1, hash: hashOf(seed), producer, txCount: 3, time: 1, rewardMc: 10 });
    const m = run([block(P1, 1), block(P2, 2)]);
    assert.equal(rec(m, 'producer', P1), undefined);
    assert.deepEqual(rec(m, 'producer', P2), { address: P2, blocks: 1, txs: 3, rewardMc: 10 });
    // the same block again without a reward keeps the reward it had
    const again = run([block(P2, 2), { kind: 'block', height: 7, slot: 28, epoch: 1, hash: hashOf(2), producer: P2, txCount: 3, time: 5 }]);
    assert.equal(rec(again, 'block', ids.block(7))?.rewardMc, 10);
    assert.equal(rec(again, 'block', ids.block(7))?.time, 1);
  });

  it('a sealed bid counts as unopened until it is seen opened', () => {
    const base = { kind: 'bid', auctionId: 'S', address: A, reqId: 'sealed-bid-0000001', feeder: 'F1', cpf: 0.4, time: 10 } as const;
    const sealed = run([{ ...base, sealed: true }]);
    const a1 = rec(sealed, 'auction', 'S')!;
    assert.deepEqual([a1.bids, a1.sealedUnopened, a1.bidSellWh, a1.status], [1, 1, 0, 'unknown']);
    const opened = run([{ ...base, sealed: true }, { ...base, sealed: true, type: 'sell', energyWh: 700, priceMcPerKWh: 5000, time: 20 }]);
    const a2 = rec(opened, 'auction', 'S')!;
    assert.deepEqual([a2.bids, a2.sealedUnopened, a2.bidSellWh], [1, 0, 700]);
    assert.equal(rec(opened, 'bid', ids.bid('S', A, base.reqId))?.time, 10);
    // and a sealed copy seen after the opened one does not close it again
    const later = run([{ ...base, sealed: true, type: 'sell', energyWh: 700, priceMcPerKWh: 5000 }, { ...base, sealed: true }]);
    assert.equal(rec(later, 'auction', 'S')?.bidSellWh, 700);
  });

  it('bids seen before their auction-open count in the slot once the open arrives', () => {
    const bid: Fact = { kind: 'bid', auctionId: 'Z', address: A, reqId: 'early-bid-00000001', sealed: false, type: 'sell', energyWh: 400, priceMcPerKWh: 1, time: 1 };
    const open: Fact = { kind: 'auction-open', auctionId: 'Z', side: 'buy', energyWh: 1000, limitPriceMcPerKWh: 9, deliveryStart: S2, deliveryEnd: S2 + 900_000, closesAt: S1, pricing: 'uniform', sealed: false, time: 0 };
    const m = run([bid, open]);
    assert.deepEqual(m, run([open, bid]));
    const slot = rec(m, 'slot', ids.slot(S2))!;
    assert.deepEqual([slot.auctions, slot.buyWh, slot.sellWh], [1, 1000, 400]);
  });

  it('a void result takes back the awards it replaces', () => {
    const cleared: Fact = { kind: 'auction-result', auctionId: 'V', status: 'cleared', awards: [{ address: C, energyWh: 300, priceMcPerKWh: 6000 }], time: 1 };
    const m = run([cleared]);
    assert.deepEqual(rec(m, 'account', C), { address: C, awards: 1, awardedWh: 300, awardValueMc: 1800, settlements: 0, deliveredWh: 0, paymentMc: 0, penaltyMc: 0 });
    const v = run([cleared, { kind: 'auction-result', auctionId: 'V', status: 'void', awards: [], time: 2 }]);
    assert.equal(rec(v, 'account', C), undefined);
    assert.equal(rec(v, 'auction', 'V')?.status, 'void');
  });

  it('an older wallet balance never overwrites a newer one', () => {
    const m = run([{ kind: 'wallet', address: A, balanceMc: 50, height: 9 }, { kind: 'wallet', address: A, balanceMc: 10, height: 3 }]);
    assert.equal(rec(m, 'wallet', A)?.balanceMc, 50);
  });

  it('close before open, result before close: the status follows the strongest fact', () => {
    const m = run([
      { kind: 'auction-close', auctionId: 'O', time: 5 },
      { kind: 'auction-result', auctionId: 'O', status: 'cleared', awards: [], time: 6 },
      { kind: 'auction-open', auctionId: 'O', side: 'sell', energyWh: 1, limitPriceMcPerKWh: 1, deliveryStart: S1, deliveryEnd: S2, closesAt: S1, pricing: 'pay-as-bid', sealed: false, time: 1 },
    ]);
    assert.equal(rec(m, 'auction', 'O')?.status, 'cleared');
    assert.equal(rec(m, 'auction', 'O')?.closedAt, 5);
  });

  it('every fixture fact passes its schema', () => {
    for (const f of [...handBuiltFacts(), ...handBuiltMarketFacts(), ...simulatedFeed({ slots: 8 }).flat()]) checkFact(f);
  });

  it('[AN-P2P] a P2P clearing keeps its book and fills; settlements move the market to settled and per-address sums follow', () => {
    const [clear1, clear2, settleA, settleB] = handBuiltMarketFacts() as [Fact, Fact, Fact, Fact];
    let m = run([clear1, clear2]);
    const m1 = rec(m, 'market', ids.market(M1))!;
    assert.equal(m1.status, 'cleared');
    assert.deepEqual([m1.clearingPriceMcPerKWh, m1.priceRange, m1.volumeWh, m1.fills.length, m1.book.length], [6500, { lowMcPerKWh: 6000, highMcPerKWh: 7000 }, 2000, 4, 4]);
    // nothing traded in M2: no fills, so nothing to settle
    assert.equal(rec(m, 'market', ids.market(M2))?.status, 'settled');
    // C sold 1 kWh in M1, and had a 1 kWh sell and a 0.3 kWh buy in the books
    assert.deepEqual(rec(m, 'trader', ids.trader(C)), { address: C, fills: 1, boughtWh: 0, soldWh: 1000, buyOrders: 1, sellOrders: 1, revealedBuyWh: 300, revealedSellWh: 1000 });
    // P1's order stood in both intervals
    assert.deepEqual([rec(m, 'trader', ids.trader(P1))?.sellOrders, rec(m, 'trader', ids.trader(P1))?.revealedSellWh], [2, 1500]);

    m = run([clear1, clear2, settleA]);
    assert.deepEqual([rec(m, 'market', ids.market(M1))?.status, rec(m, 'market', ids.market(M1))?.settledFills], ['cleared', 1]);
    m = run([settleB, clear1, settleA, clear2, settleB]);
    const done = rec(m, 'market', ids.market(M1))!;
    // 2 of 4 fills settled: the sells (C, P1) are not in the fixture
    assert.deepEqual([done.status, done.settledFills, done.deliveredWh, done.paymentMc, done.penaltyMc], ['cleared', 2, 1600, 10_400, 12_000]);
    assert.equal(rec(m, 'marketSettlement', ids.marketSettlement(M1, B, 'b2'))?.deliveredWh, 600);
  });

  it('[AN-P2P] a settlement before its clearing leaves the market unknown; a clearing seen again without a book keeps the book', () => {
    const [clear1, , settleA] = handBuiltMarketFacts() as [Fact, Fact, Fact];
    assert.equal(rec(run([settleA]), 'market', ids.market(M1))?.status, 'unknown');
    const { book: _, ...noBook } = clear1 as Extract<Fact, { kind: 'market-clearing' }>;
    const m = run([clear1, noBook]);
    assert.equal(rec(m, 'market', ids.market(M1))?.book.length, 4);
  });

  it('[AN-P2P] market facts are checked: a price range upside down, delivered above filled', () => {
    const [clear1, , settleA] = handBuiltMarketFacts() as [Fact, Fact, Fact];
    assert.throws(() => checkFact({ ...clear1, priceRange: { lowMcPerKWh: 8000, highMcPerKWh: 7000 } }), /BAD_FACT/);
    assert.throws(() => checkFact({ ...settleA, deliveredWh: 1001 }), /BAD_FACT/);
    assert.throws(() => checkFact({ ...clear1, book: [{ orderId: 'x', address: A, side: 'hold', energyWh: 1, priceMcPerKWh: 1 }] }), /BAD_FACT/);
  });
});

describe('reduceFact properties', () => {
  // facts with one value per key (the hand-built blocks, with their reorg, share heights with
  // the simulated ones and are left out): the final records depend on neither order nor repeats
  const facts = [...handBuiltFacts().filter((f) => f.kind !== 'block'), ...handBuiltMarketFacts(), ...simulatedFeed({ homes: 3, slots: 6, seed: 3 }).flat()];
  const expected = run(facts);
  /** keys whose records differ (short failure messages) */
  const differing = (m: Map<string, unknown>): string[] =>
    [...new Set([...m.keys(), ...expected.keys()])].filter((k) => JSON.stringify(m.get(k)) !== JSON.stringify(expected.get(k)));

  it('any order gives the same records', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(facts, { minLength: facts.length, maxLength: facts.length }), (shuffled) => {
        assert.deepEqual(differing(run(shuffled)), []);
      }),
      { numRuns: 60 },
    );
  });

  it('repeating any facts changes nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: facts.length - 1 }), { maxLength: 40 }), (repeats) => {
        assert.deepEqual(differing(run([...facts, ...repeats.map((i) => facts[i]!)])), []);
      }),
      { numRuns: 60 },
    );
  });

  it('aggregates equal the sums over their records', () => {
    const homes = new Map<string, number>();
    let produced = 0;
    for (const [k, v] of expected) {
      if (!k.startsWith('reading!')) continue;
      const r = v as RecordTypes['reading'];
      if (r.height === null) continue; // [AN-ONCHAIN]
      produced += r.producedWh;
      homes.set(r.address, (homes.get(r.address) ?? 0) + r.producedWh);
    }
    let slotProduced = 0;
    for (const [k, v] of expected) if (k.startsWith('slot!')) slotProduced += (v as RecordTypes['slot']).producedWh;
    assert.equal(slotProduced, produced);
    for (const [address, p] of homes) assert.equal(rec(expected, 'home', address)?.producedWh, p);
  });
});
