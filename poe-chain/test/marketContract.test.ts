/**
 * The P2P market in the state transition [MKT]: sealed orders, clearing at the gate,
 * credit caps, feeder room, multi-interval orders, settlement from readings and the
 * money flow — each through real blocks built and re-validated by the chain fixture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChainFixture } from '../testkit/chainFixture.js';
import { forgeBlock } from '../testkit/forgeBlock.js';
import { validateAndApplyBlock } from '../core/validateAndApplyBlock.js';
import { BlockError } from '../core/chainError.js';
import { balanceOf, type ChainState, type MarketEntry } from '../core/chainState.js';
import { slotTime } from '../core/genesis.js';
import type { GenesisConfig } from '../../schemas/types.js';

type Key = ReturnType<ChainFixture['key']>;

/** Five pseudonyms certified at block 1: A, B, C, D, F trade (RE+TE, F1), E is RE only. */
function setup(genesis: Partial<GenesisConfig> = {}) {
  const f = new ChainFixture({ genesis });
  const k = Object.fromEntries(['A', 'B', 'C', 'D', 'E', 'F'].map((n) => [n, f.key(`p2p-${n}`)])) as Record<'A' | 'B' | 'C' | 'D' | 'E' | 'F', Key>;
  f.produce([f.certTx(k.A), f.certTx(k.B), f.certTx(k.C), f.certTx(k.D), f.certTx(k.E, { programme: 'RE' }), f.certTx(k.F)]);
  return { f, ...k };
}

/** Slots of the market of epoch 2 with the test genesis (15-min interval, 250 ms slots, gate 5 min, reveal window 60 s). */
const ORDER_CLOSE = 7200 - 1440;
const GATE = 7200 - 1200;
const DELIVERY_END = 3 * 3600;

function rejects(state: ChainState, f: ChainFixture, slot: number, txs: unknown[], reason: string): void {
  assert.throws(
    () => validateAndApplyBlock(state, JSON.parse(JSON.stringify(forgeBlock(state, { slot, producer: f.node, txs }))), { now: slotTime(f.genesis, slot) }),
    (e: unknown) => e instanceof BlockError && e.code === 'BAD_TX' && e.context.reason === reason,
    reason,
  );
}

function market(state: ChainState, epoch: number): MarketEntry | undefined {
  return state.sections.markets.get(String(epoch));
}

function walletsTotal(state: ChainState): bigint {
  let t = 0n;
  for (const [, v] of state.sections.wallets.entries()) t += BigInt(v);
  return t;
}

function rewardsTotal(state: ChainState): bigint {
  let t = 0n;
  for (const [, v] of state.sections.rewards.entries()) t += BigInt(v);
  return t;
}

/** Christidis's Fig. 3.1 on chain: bids A 1 kWh @ 11, B 2 kWh @ 7; offers C 1 kWh @ 5, D 1 kWh @ 6 (cents/kWh). */
function christidis(genesis: Partial<GenesisConfig> = {}) {
  const s = setup(genesis);
  const { f, A, B, C, D, F } = s;
  const orders = {
    A: f.marketOrder(A, 'o-a', { side: 'buy', energyWh: 1000, priceMc: 11_000, firstEpoch: 2 }),
    B: f.marketOrder(B, 'o-b', { side: 'buy', energyWh: 2000, priceMc: 7_000, firstEpoch: 2 }),
    C: f.marketOrder(C, 'o-c', { side: 'sell', energyWh: 1000, priceMc: 5_000, firstEpoch: 2 }),
    D: f.marketOrder(D, 'o-d', { side: 'sell', energyWh: 1000, priceMc: 6_000, firstEpoch: 2 }),
    F: f.marketOrder(F, 'o-f', { side: 'sell', energyWh: 500, priceMc: 1_000, firstEpoch: 2 }),
  };
  const t = f.state.meta.tipSlot + 1;
  f.produce(Object.values(orders).map((o) => o.tx(f.at(t))), t);
  return { ...s, orders };
}

test('[MKT] orders are sealed on chain; reveals open them in [order close, gate); the gate clears at the middle of the volume-maximising range', () => {
  const { f, A, B, C, D, F, orders } = christidis();
  const o = f.state.sections.orders.get(`${A.address}|o-a`)!;
  assert.equal(o.energyWh, undefined, 'sealed: nothing but the commitment on chain');
  assert.equal(o.firstEpoch, 2);
  assert.deepEqual(f.state.meta.marketsActive, [2]);

  rejects(f.state, f, ORDER_CLOSE - 1, [orders.A.reveal(f.at(ORDER_CLOSE - 1))], 'REVEAL_NOT_DUE');
  rejects(f.state, f, ORDER_CLOSE, [orders.A.reveal(f.at(ORDER_CLOSE), 'ab'.repeat(32))], 'BAD_REVEAL');
  // F withholds its reveal
  f.produce([orders.A, orders.B, orders.C, orders.D].map((x) => x.reveal(f.at(ORDER_CLOSE))), ORDER_CLOSE);
  rejects(f.state, f, GATE, [orders.F.reveal(f.at(GATE))], 'REVEAL_TOO_LATE');
  const fBefore = balanceOf(f.state, F.address);
  f.produce([], GATE);
  const m = market(f.state, 2)!;
  assert.equal(m.status, 'cleared');
  assert.deepEqual(m.priceRange, { lowMcPerKWh: 6_000, highMcPerKWh: 7_000 });
  assert.equal(m.clearingPriceMcPerKWh, 6_500);
  assert.equal(m.volumeWh, 2000);
  const filled = Object.fromEntries(m.fills!.map((x) => [x.address, x.energyWh]));
  assert.deepEqual(filled, { [A.address]: 1000, [B.address]: 1000, [C.address]: 1000, [D.address]: 1000 });
  assert.ok(m.fills!.every((x) => x.priceMcPerKWh === 6_500), 'uniform price');
  // [MKT-SEAL] F's unrevealed order: out, and its fee paid to the aggregator
  assert.deepEqual(m.excluded!.find((x) => x.address === F.address), { orderId: 'o-f', address: F.address, reason: 'NOT_REVEALED', penaltyMc: 10_000 });
  assert.equal(balanceOf(f.state, F.address), fBefore - 10_000n);
  // [MKT-CREDIT] the buyers' purchases are held
  assert.equal(f.state.sections.reserved.get(A.address), '6500');
  assert.equal(f.state.sections.reserved.get(B.address), '6500');
  // [MKT-PRUNE] orders and slots of the interval are gone once it cleared
  assert.equal(f.state.sections.orders.size, 0);
  assert.equal(f.state.sections.orderSlots.size, 0);
});

test('[MKT-SETTLE] fills settle from readings: delivered = min(filled, net flow), imbalance paid at the imbalance price, money conserved', () => {
  const { f, A, B, C, D, orders } = christidis();
  f.produce([orders.A, orders.B, orders.C, orders.D].map((x) => x.reveal(f.at(ORDER_CLOSE))), ORDER_CLOSE);
  f.produce([], GATE);
  const before = Object.fromEntries([A, B, C, D].map((k) => [k.address, balanceOf(f.state, k.address)]));
  const aggBefore = balanceOf(f.state, f.aggregator.address);
  const total = walletsTotal(f.state) - rewardsTotal(f.state);
  const t = DELIVERY_END + 4;
  f.produce([
    f.readingTx(C, 2, { p: 1500, c: 300 }, 1, f.at(t)), // exports 1200 ≥ 1000
    f.readingTx(D, 2, { p: 600 }, 1, f.at(t)), // exports 600 of 1000
    f.readingTx(A, 2, { c: 1000 }, 1, f.at(t)), // imports 1000
    f.readingTx(B, 2, { c: 700, p: 200 }, 1, f.at(t)), // imports 500 of 1000
  ], t);
  const m = market(f.state, 2)!;
  assert.equal(m.status, 'settled');
  const s = Object.fromEntries(m.fills!.map((x) => [x.address, x.settlement!]));
  assert.deepEqual([s[C.address]!.deliveredWh, s[C.address]!.paymentMc, s[C.address]!.penaltyMc], [1000, 6500, 0]);
  assert.deepEqual([s[D.address]!.deliveredWh, s[D.address]!.paymentMc, s[D.address]!.penaltyMc], [600, 3900, 12_000]);
  assert.deepEqual([s[A.address]!.deliveredWh, s[A.address]!.paymentMc, s[A.address]!.penaltyMc], [1000, 6500, 0]);
  assert.deepEqual([s[B.address]!.deliveredWh, s[B.address]!.paymentMc, s[B.address]!.penaltyMc], [500, 3250, 15_000]);
  assert.equal(balanceOf(f.state, C.address) - before[C.address]!, 6500n);
  assert.equal(balanceOf(f.state, D.address) - before[D.address]!, 3900n - 12_000n);
  assert.equal(balanceOf(f.state, A.address) - before[A.address]!, -6500n);
  assert.equal(balanceOf(f.state, B.address) - before[B.address]!, -3250n - 15_000n);
  assert.equal(balanceOf(f.state, f.aggregator.address) - aggBefore, -6500n - 3900n + 12_000n + 6500n + 3250n + 15_000n);
  assert.equal(f.state.sections.reserved.size, 0, 'reservations released');
  assert.equal(walletsTotal(f.state) - rewardsTotal(f.state), total, 'Σ wallets changes only by block rewards');
  assert.deepEqual(f.state.meta.marketsActive, []);
  // [SETTLE-1] paid once: the meter's export is recorded
  assert.equal(f.state.sections.deliveries.get(`2|export|${f.state.sections.certs.get(D.address)!.tag}`)?.deliveredWh, 600);
});

test('[MKT-SETTLE] a fill without a reading settles with 0 Wh at delivery end + settleGraceMs', () => {
  const { f, C, orders } = christidis();
  f.produce([orders.A, orders.B, orders.C, orders.D].map((x) => x.reveal(f.at(ORDER_CLOSE))), ORDER_CLOSE);
  f.produce([], GATE);
  f.produce([], DELIVERY_END + 1);
  assert.equal(market(f.state, 2)!.status, 'cleared', 'waits for readings');
  f.produce([], DELIVERY_END + f.genesis.settleGraceMs / f.genesis.slotMs);
  const m = market(f.state, 2)!;
  assert.equal(m.status, 'settled');
  const c = m.fills!.find((x) => x.address === C.address)!.settlement!;
  assert.deepEqual([c.deliveredWh, c.paymentMc, c.penaltyMc], [0, 0, 30_000]);
});

test('[TX-O*] order rules: closed orders, one order per meter per interval, duplicates, programme, feeder, certificate range', () => {
  const { f, A, E } = setup();
  const t = f.state.meta.tipSlot + 1;
  const a = f.marketOrder(A, 'o-1', { side: 'sell', energyWh: 1000, priceMc: 5000, firstEpoch: 2 });
  rejects(f.state, f, ORDER_CLOSE, [f.marketOrder(A, 'late', { side: 'sell', energyWh: 1, priceMc: 1, firstEpoch: 2 }).tx(f.at(ORDER_CLOSE))], 'ORDERS_CLOSED');
  rejects(f.state, f, t, [f.marketOrder(E, 'o-e', { side: 'sell', energyWh: 1, priceMc: 1, firstEpoch: 2 }).tx(f.at(t))], 'PROGRAMME_NOT_TE');
  rejects(f.state, f, t, [f.marketOrder(A, 'o-x', { side: 'sell', energyWh: 1, priceMc: 1, firstEpoch: 2, feeder: 'F9' }).tx(f.at(t))], 'FEEDER_MISMATCH');
  rejects(f.state, f, t, [f.marketOrder(A, 'o-x', { side: 'sell', energyWh: 1, priceMc: 1, firstEpoch: 90, intervals: 10 }).tx(f.at(t))], 'CERT_NOT_COVERING_DELIVERY');
  const stranger = f.key('p2p-stranger');
  rejects(f.state, f, t, [f.marketOrder(stranger, 'o-s', { side: 'buy', energyWh: 1, priceMc: 1, firstEpoch: 2 }).tx(f.at(t))], 'NOT_CERTIFIED');
  f.produce([a.tx(f.at(t))], t);
  rejects(f.state, f, t + 1, [f.marketOrder(A, 'o-2', { side: 'buy', energyWh: 1, priceMc: 1, firstEpoch: 2 }).tx(f.at(t + 1))], 'METER_ALREADY_ORDERED');
  rejects(f.state, f, t + 1, [f.marketOrder(A, 'o-1', { side: 'sell', energyWh: 1, priceMc: 1, firstEpoch: 3 }).tx(f.at(t + 1))], 'DUPLICATE_ORDER');
  // a second pseudonym of the same meter (same tag) cannot order the same interval [SYBIL]
  const twin = f.key('p2p-A-twin');
  const tagA = f.state.sections.certs.get(A.address)!.tag;
  const t2 = t + 1;
  f.produce([f.certTx(twin, { tag: tagA })], t2);
  rejects(f.state, f, t2 + 1, [f.marketOrder(twin, 'o-t', { side: 'sell', energyWh: 1, priceMc: 1, firstEpoch: 2 }).tx(f.at(t2 + 1))], 'METER_ALREADY_ORDERED');
});

test('[MKT-CREDIT] a buy counts only up to wallet + credit limit; reserved money cannot be transferred away', () => {
  const { f, A, C } = setup({ creditLimitMc: 5000 });
  const a = f.marketOrder(A, 'o-a', { side: 'buy', energyWh: 1000, priceMc: 10_000, firstEpoch: 2 });
  const c = f.marketOrder(C, 'o-c', { side: 'sell', energyWh: 1000, priceMc: 2_000, firstEpoch: 2 });
  const t = f.state.meta.tipSlot + 1;
  f.produce([a.tx(f.at(t)), c.tx(f.at(t))], t);
  f.produce([a.reveal(f.at(ORDER_CLOSE)), c.reveal(f.at(ORDER_CLOSE))], ORDER_CLOSE);
  f.produce([], GATE);
  const m = market(f.state, 2)!;
  // A's wallet is 0: 5000 mc of credit at 10000 mc/kWh buys at most 500 Wh
  assert.equal(m.volumeWh, 500);
  assert.equal(m.clearingPriceMcPerKWh, 6_000);
  assert.equal(f.state.sections.reserved.get(A.address), '3000');
  // A receives 10000 mc, then may send away only what is not held
  f.produce([f.transferTx(f.aggregator, A.address, 10_000, f.at(GATE + 1))], GATE + 1);
  rejects(f.state, f, GATE + 2, [f.transferTx(A, C.address, 7001, f.at(GATE + 2))], 'INSUFFICIENT_FUNDS');
  f.produce([f.transferTx(A, C.address, 7000, f.at(GATE + 2))], GATE + 2);
  // a penalty never takes a wallet below −creditLimitMc: A takes nothing (no reading)
  f.produce([], DELIVERY_END + f.genesis.settleGraceMs / f.genesis.slotMs);
  const s = market(f.state, 2)!.fills!.find((x) => x.address === A.address)!.settlement!;
  assert.equal(s.deliveredWh, 0);
  assert.equal(s.penaltyMc + s.uncollectedMc, 15_000);
  assert.equal(balanceOf(f.state, A.address), -5000n, 'stopped at the credit limit');
  assert.equal(s.uncollectedMc, 7000);
});

test('[MKT] a multi-interval order stands in each interval of its range and clears at each gate; [MKT-FEEDER] the registry\'s limit on chain binds P2P sells, an auction-open\'s does not', () => {
  const { f, A, B, C } = setup();
  const t = f.state.meta.tipSlot + 1;
  // [FEEDER-1] the registry's limits of F1 on chain: 700 Wh export; the aggregator's auction for
  // epoch 5 carries a looser 7000 Wh, which sets nothing
  const closesAt = new Date(Date.parse(f.interval(4).start)).toISOString();
  const sell = f.marketOrder(C, 'o-c', { side: 'sell', energyWh: 1000, priceMc: 4_000, firstEpoch: 4, intervals: 2 });
  const buyA = f.marketOrder(A, 'o-a', { side: 'buy', energyWh: 600, priceMc: 9_000, firstEpoch: 4 });
  const buyB = f.marketOrder(B, 'o-b', { side: 'buy', energyWh: 2000, priceMc: 8_000, firstEpoch: 5 });
  f.produce([
    f.feederLimitTx(f.feederLimit('F1', 700, 10_000, { issuedAt: f.at(t) }), f.aggregator, f.at(t)),
    f.auctionOpenTx('auc-f', { deliveryEpoch: 5, closesAt, feederLimits: [{ feeder: 'F1', maxExportWh: 7000, maxImportWh: 10_000 }] }, f.aggregator, f.at(t)),
    sell.tx(f.at(t)), buyA.tx(f.at(t)), buyB.tx(f.at(t)),
  ], t);
  const close4 = 4 * 3600 - 1440;
  f.produce([sell.reveal(f.at(close4)), buyA.reveal(f.at(close4))], close4);
  f.produce([], 4 * 3600 - 1200);
  const m4 = market(f.state, 4)!;
  assert.equal(m4.volumeWh, 600);
  assert.ok(f.state.sections.orders.has(`${C.address}|o-c`), 'the order stands for its next interval');
  const close5 = 5 * 3600 - 1440;
  f.produce([buyB.reveal(f.at(close5))], close5);
  f.produce([], 5 * 3600 - 1200);
  const m5 = market(f.state, 5)!;
  assert.equal(m5.volumeWh, 700, 'F1 export room 700 Wh: C sells 700 of its 1000 in interval 5');
  assert.equal(f.state.sections.feederUse.get('5|export|F1')?.awardedWh, 700);
  assert.equal(f.state.sections.orders.has(`${C.address}|o-c`), false, 'dropped after its last interval');
});

test('[MKT-GATE] [REWARD] an empty block may clear a market at its gate without waiting W slots for a heartbeat; before the gate it is still refused', () => {
  const { f, orders } = christidis();
  // the reveals two slots before the gate, so that the gate falls before the next heartbeat
  f.produce([orders.A, orders.B, orders.C, orders.D].map((x) => x.reveal(f.at(GATE - 2))), GATE - 2);
  assert.ok(f.genesis.patience > 2);
  assert.throws(
    () => validateAndApplyBlock(f.state, JSON.parse(JSON.stringify(forgeBlock(f.state, { slot: GATE - 1, producer: f.node, txs: [] }))), { now: slotTime(f.genesis, GATE - 1) }),
    (e: unknown) => e instanceof BlockError && e.code === 'EARLY_EMPTY_BLOCK',
  );
  f.produce([], GATE);
  assert.equal(f.state.meta.tipSlot, GATE);
  assert.equal(market(f.state, 2)?.status, 'cleared');
  assert.equal(market(f.state, 2)?.volumeWh, 2000);
});
