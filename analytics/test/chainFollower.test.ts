/**
 * The chain-state adapter on a real chain: poe-chain's test fixture builds blocks (an
 * auction end to end, PoE ranking, block rewards); analytics' chain follower applies
 * them on its own ChainStore and the statistics must agree with the chain state.
 * Also: the message mapper on the same blocks, and sealed bids opened at the close.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLevel } from 'memory-level';
import { pino } from 'pino';
import { ChainFixture } from '../../poe-chain/testkit/chainFixture.js';
import { balanceOf } from '../../poe-chain/core/chainState.js';
import { openChainStore, type ChainDb } from '../../poe-chain/store/openChainStore.js';
import { sealBid } from '../../poe-chain/core/auction/sealedBid.js';
import { createCodec, signEnvelope } from '../../wire/codec.js';
import { keyPairFromSeed } from '../../wire/keys.js';
import { createChainFollower } from '../adapters/chainFollower.js';
import { createFactMapper } from '../adapters/messageFacts.js';
import type { BidFact, Fact } from '../facts.js';
import { startAnalytics } from './analyticsFixtures.js';

/** The chain of poe-chain's end-to-end auction scenario, plus the PoE election. */
function buildChain(): { f: ChainFixture; a: string; b: string } {
  const f = new ChainFixture();
  const a = f.key('hem-a');
  const b = f.key('hem-b');
  const c = f.key('hem-c');
  f.produce([f.certTx(a), f.certTx(b), f.certTx(c, { programme: 'TE' })]);
  const closesAt = new Date(Date.parse(f.interval(1).start) + 10_000).toISOString();
  f.produce([f.auctionOpenTx('auc-1', { side: 'buy', energyWh: 5000, limitMc: 20_000, deliveryEpoch: 2, closesAt })]);
  f.produce([
    f.bidTx(a, 'auc-1', { open: f.openBid('sell', 3000, 10_000) }),
    f.bidTx(b, 'auc-1', { open: f.openBid('sell', 3000, 12_000) }),
    f.bidTx(c, 'auc-1', { open: f.openBid('sell', 3000, 25_000) }),
  ]);
  // readings of interval 0: scores |P − C| a 100, b 0 → the ranking of epoch 2 is [b, a]
  const s1 = f.firstSlotOf(1) + 1;
  f.produce([f.readingTx(a, 0, { p: 1000, c: 900 }, 1, f.at(s1)), f.readingTx(b, 0, { p: 1000, c: 800, ch: 200, dis: 100 }, 1, f.at(s1))], s1);
  const closeSlot = f.firstSlotOf(1) + 40;
  f.produce([f.auctionCloseTx('auc-1', f.aggregator, f.at(closeSlot))], closeSlot);
  f.produce([], f.firstSlotOf(2)); // b, best-ranked, produces and earns the reward
  const after = f.firstSlotOf(3) + 4;
  f.produce([f.readingTx(a, 2, { p: 1000, c: 500, dis: 2500 }, 2, f.at(after))], after);
  f.produce([], f.firstSlotOf(5)); // settlement deadline: b delivered nothing
  return { f, a: a.address, b: b.address };
}

const silent = pino({ level: 'silent' });

async function memoryChainStore(genesis: unknown) {
  const db = new MemoryLevel<string, string>({ valueEncoding: 'utf8' });
  return openChainStore(db as unknown as ChainDb, { genesis });
}

describe('chain follower + chainStateFacts', () => {
  it('wallets, settlements, rewards, ranking and the auction agree with the chain state', async () => {
    const { f, a, b } = buildChain();
    const chain = await memoryChainStore(f.genesis.config);
    const { an, url } = await startAnalytics();
    try {
      const follower = createChainFollower({ chain, ingest: (facts: Fact[]) => an.ingest(facts), log: silent, now: () => Number.MAX_SAFE_INTEGER });
      // offered newest first: every block waits for its parent, then all apply in order
      const blocks = f.blocks.map((x) => JSON.parse(JSON.stringify(x.block)) as unknown);
      for (const blk of [...blocks].reverse()) await follower.offer(blk);
      await follower.offer(blocks[2]); // an old block again: ignored
      const st = follower.stats();
      assert.equal(st.applied, blocks.length);
      assert.equal(st.height, f.state.meta.height);
      assert.equal(st.ignoredOld, 1);
      assert.equal(st.pending, 0);
      assert.equal(st.badFacts, 0);

      const get = async <T>(p: string): Promise<T> => (await (await fetch(url + p)).json()) as T;
      // every wallet as the chain has it
      const w = await get<{ items: { address: string; balanceMc: number | null; settlements: number; deliveredWh: number; paymentMc: number; penaltyMc: number }[] }>('/api/wallets');
      for (const [address] of f.state.sections.wallets.entries()) {
        assert.equal(w.items.find((i) => i.address === address)?.balanceMc, Number(balanceOf(f.state, address)), address);
      }
      // a: delivered 2500 of 3000 at 10,000 mc/kWh: 25,000 paid, 500 Wh short × 5000 = 2500 penalty
      const wa = w.items.find((i) => i.address === a)!;
      assert.deepEqual([wa.settlements, wa.deliveredWh, wa.paymentMc, wa.penaltyMc], [1, 2500, 25_000, 2500]);
      const wb = w.items.find((i) => i.address === b)!;
      assert.deepEqual([wb.settlements, wb.deliveredWh, wb.paymentMc, wb.penaltyMc], [1, 0, 0, 10_000]);
      // b's wallet: −10,000 penalty + 1000 block reward
      assert.equal(wb.balanceMc, -9000);
      // [AN-WM] who paid whom explains every balance: genesis + received − paid (no transfer in
      // this chain); the aggregator's clearing account paid a 25,000 and received both penalties
      const flows = await get<{ items: { address: string; balanceMc: number | null; receivedMc: number | null; paidMc: number | null; clearingAccount: boolean }[] }>('/api/wallets');
      const genesisMc = new Map(f.genesis.config.balances.map((x) => [x.address, Number(x.millicents)]));
      const agg = flows.items.find((i) => i.clearingAccount)!;
      assert.equal(agg.address, f.aggregator.address);
      assert.deepEqual([agg.receivedMc, agg.paidMc], [2500 + 10_000, 25_000]);
      for (const i of flows.items) {
        if (i.receivedMc === null) continue;
        assert.equal((genesisMc.get(i.address) ?? 0) + i.receivedMc - i.paidMc!, i.balanceMc, `${i.address}: genesis + received − paid = balance`);
      }

      const p = await get<{ totalBlocks: number; items: { address: string; blocks: number; rewardMc: number }[] }>('/api/producers');
      assert.equal(p.totalBlocks, blocks.length);
      assert.deepEqual(p.items.find((i) => i.address === b), { address: b, blocks: 1, share: 1 / blocks.length, txs: 0, rewardMc: 1000, rewardShare: 1 });
      assert.equal(p.items.find((i) => i.address === f.node.address)?.rewardMc, 0);

      const h = await get<{ source: string; items: { epoch: number; items: { address: string; scoreWh: number }[] }[] }>('/api/ranking/history?limit=10');
      assert.equal(h.source, 'chain');
      const e2 = h.items.find((r) => r.epoch === 2);
      assert.deepEqual(e2?.items.map((e) => [e.address, e.scoreWh]), [[b, 0], [a, 100]]);

      const auc = await get<{ auction: { status: string; side: string; energyWh: number; deliveryStart: string; awardedWh: number; excludedCount: number }; awards: unknown[]; settlements: unknown[] }>('/api/auctions/auc-1');
      assert.equal(auc.auction.status, 'cleared');
      assert.equal(auc.auction.side, 'buy');
      assert.equal(auc.auction.energyWh, 5000);
      assert.equal(auc.auction.deliveryStart, f.interval(2).start);
      assert.equal(auc.auction.awardedWh, 5000);
      assert.equal(auc.auction.excludedCount, 1);
      assert.equal(auc.settlements.length, 2);
    } finally {
      await an.close();
      await chain.close();
    }
  });

  it('rejects a block that does not check out, and counts it', async () => {
    const { f } = buildChain();
    const chain = await memoryChainStore(f.genesis.config);
    const facts: Fact[] = [];
    const follower = createChainFollower({ chain, ingest: async (x: Fact[]) => void facts.push(...x), log: silent, now: () => Number.MAX_SAFE_INTEGER });
    const forged = JSON.parse(JSON.stringify(f.blocks[0]!.block)) as { parameters: { header: { stateRoot: string } } };
    forged.parameters.header.stateRoot = '0'.repeat(64);
    await follower.offer(forged);
    await follower.offer({ nonsense: true });
    const st = follower.stats();
    assert.equal(st.applied, 0);
    assert.equal(Object.values(st.rejected).reduce((s, n) => s + n, 0), 2);
    assert.equal(facts.length, 0);
    await chain.close();
  });
});

describe('message mapper', () => {
  const codec = createCodec({ replayCheck: false });
  const mapper = () => createFactMapper({ decodeValue: (v) => codec.decodeValue(v, { replayCheck: false }) });

  it("a block's transactions become facts with the block's height", () => {
    const { f } = buildChain();
    const m = mapper();
    const facts = f.blocks.flatMap((blk) => m.facts(codec.decodeValue(JSON.parse(JSON.stringify(blk.block)))));
    const kinds = facts.reduce<Record<string, number>>((acc, x) => ({ ...acc, [x.kind]: (acc[x.kind] ?? 0) + 1 }), {});
    assert.deepEqual(kinds, { block: f.blocks.length, 'auction-open': 1, bid: 3, reading: 3, 'auction-close': 1 });
    const bids = facts.filter((x): x is BidFact => x.kind === 'bid');
    assert.ok(bids.every((x) => x.height === 3 && x.type === 'sell' && x.energyWh === 3000));
    assert.deepEqual(m.stats.ignored, { certificate: 3 });
    const blockFact = facts.find((x) => x.kind === 'block' && x.height === 1);
    assert.equal(blockFact?.kind === 'block' ? blockFact.hash : undefined, f.blocks[0]!.hash, 'the block hash is poe-chain\'s');
  });

  it('[SEALED] sealed bids are counted sealed, then opened when their bidder reveals them', () => {
    const hem = keyPairFromSeed(new Uint8Array(32).fill(2));
    const date = '2026-11-21T10:00:00.000Z';
    const openBid = { type: 'buy' as const, energy: { unit: 'kWh' as const, value: 1.25 }, price: { unit: 'cents/kWh' as const, value: 7.5 } };
    const { sealed, salt } = sealBid('S1', hem.address, openBid);
    const bid = signEnvelope(hem, 'bid-offer', { auctionId: 'S1', address: hem.address, cpf: 0.3, feeder: 'F1', sealed }, { date });
    const badReveal = signEnvelope(hem, 'bid-reveal', { auctionId: 'S1', address: hem.address, bid: { ...openBid, price: { unit: 'cents/kWh', value: 1 } }, salt }, { date });
    const reveal = signEnvelope(hem, 'bid-reveal', { auctionId: 'S1', address: hem.address, bid: openBid, salt }, { date });
    const m = mapper();
    const first = m.facts(codec.decodeValue(bid));
    assert.deepEqual(first.map((x) => [x.kind, (x as BidFact).sealed, (x as BidFact).type]), [['bid', true, undefined]]);
    assert.equal(m.stats.sealedHeld, 1);
    // a reveal that does not open the commitment opens nothing
    assert.deepEqual(m.facts(codec.decodeValue(badReveal)), []);
    assert.equal(m.stats.sealedUnopenable, 1);
    const onReveal = m.facts(codec.decodeValue(reveal));
    assert.deepEqual(onReveal, [{ ...first[0], type: 'buy', energyWh: 1250, priceMcPerKWh: 7500 }]);
    assert.equal(m.stats.sealedOpened, 1);
    assert.equal(m.stats.sealedHeld, 0);
    // the same sealed bid seen later (e.g. in a block) is opened at once
    const later = m.facts(codec.decodeValue(bid), 9);
    assert.deepEqual(later, [{ ...first[0], type: 'buy', energyWh: 1250, priceMcPerKWh: 7500, height: 9 }]);
  });

  it('a transaction that does not decode is counted, not mapped', () => {
    const m = mapper();
    const { f } = buildChain();
    // block 3 holds three bids; the first one's signature is swapped for the second's
    const block = codec.decodeValue(JSON.parse(JSON.stringify(f.blocks[2]!.block)));
    const txs = (block.parameters as { txs: { signature: string }[] }).txs;
    txs[0]!.signature = txs[1]!.signature;
    const facts = m.facts(block);
    assert.equal(facts.filter((x) => x.kind === 'bid').length, 2);
    assert.deepEqual(m.stats.badTxs, { BAD_SIGNATURE: 1 });
  });
});

describe('chainStateFacts on a real P2P chain [MKT]', () => {
  it('a clearing becomes one market-clearing fact with the revealed book; each settlement one market-settlement fact', async () => {
    const { chainStateFacts } = await import('../adapters/chainStateFacts.js');
    const f = new ChainFixture();
    const [a, b, c] = [f.key('an-a'), f.key('an-b'), f.key('an-c')];
    f.produce([f.certTx(a), f.certTx(b), f.certTx(c)]);
    const oa = f.marketOrder(a, 'o-a', { side: 'buy', energyWh: 1000, priceMc: 11_000, firstEpoch: 2 });
    const ob = f.marketOrder(b, 'o-b', { side: 'buy', energyWh: 2000, priceMc: 7_000, firstEpoch: 2 });
    const oc = f.marketOrder(c, 'o-c', { side: 'sell', energyWh: 1500, priceMc: 5_000, firstEpoch: 2 });
    const t = f.state.meta.tipSlot + 1;
    f.produce([oa.tx(f.at(t)), ob.tx(f.at(t)), oc.tx(f.at(t))], t);
    const close = 2 * 3600 - 1440;
    f.produce([oa.reveal(f.at(close)), ob.reveal(f.at(close)), oc.reveal(f.at(close))], close);
    f.produce([], 2 * 3600 - 1200);
    const after = 3 * 3600 + 1;
    f.produce([f.readingTx(a, 2, { c: 1000 }, 1, f.at(after)), f.readingTx(b, 2, { c: 200 }, 1, f.at(after)), f.readingTx(c, 2, { p: 1500 }, 1, f.at(after))], after);
    const facts: Fact[] = [];
    let prev = new ChainFixture().state;
    for (const built of f.blocks) {
      facts.push(...chainStateFacts(prev, built));
      prev = built.state;
    }
    const clearings = facts.filter((x) => x.kind === 'market-clearing') as Extract<Fact, { kind: 'market-clearing' }>[];
    assert.equal(clearings.length, 1);
    const m = f.state.sections.markets.get('2')!;
    assert.equal(clearings[0]!.interval, 2);
    assert.equal(clearings[0]!.volumeWh, m.volumeWh);
    assert.equal(clearings[0]!.clearingPriceMcPerKWh, m.clearingPriceMcPerKWh);
    assert.deepEqual(clearings[0]!.fills.map((x) => [x.address, x.energyWh]), m.fills!.map((x) => [x.address, x.energyWh]));
    assert.deepEqual(
      (clearings[0]!.book ?? []).map((o) => [o.address, o.side, o.energyWh, o.priceMcPerKWh]).sort(),
      [[a.address, 'buy', 1000, 11_000], [b.address, 'buy', 2000, 7_000], [c.address, 'sell', 1500, 5_000]].sort(),
      'the book: every revealed order that stood in the interval',
    );
    const settlements = facts.filter((x) => x.kind === 'market-settlement') as Extract<Fact, { kind: 'market-settlement' }>[];
    assert.equal(settlements.length, m.fills!.length);
    for (const s of settlements) {
      const fill = f.state.sections.markets.get('2')!.fills!.find((x) => x.address === s.address)!;
      assert.equal(s.deliveredWh, fill.settlement!.deliveredWh, `${s.address} delivered`);
      assert.equal(s.paymentMc, fill.settlement!.paymentMc, `${s.address} paid`);
    }
  });
});
