/**
 * Attacks on the P2P market [MKT] through the real state transition and signatures:
 * a copied commitment, one delivery paid by both markets, wash trading with one meter's
 * pseudonyms, a withheld reveal, spending money held for a purchase, and squatting an
 * order id. Each block is built by the fixture and re-validated as a follower would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChainFixture } from '../testkit/chainFixture.js';
import { forgeBlock } from '../testkit/forgeBlock.js';
import { validateAndApplyBlock } from '../core/validateAndApplyBlock.js';
import { BlockError } from '../core/chainError.js';
import { balanceOf, type ChainState } from '../core/chainState.js';
import { slotTime } from '../core/genesis.js';
import { clearMarket, type MarketOrderIn } from '../core/market/clearMarket.js';

const CLOSE2 = 2 * 3600 - 1440;
const GATE2 = 2 * 3600 - 1200;
const END2 = 3 * 3600;

function refused(f: ChainFixture, state: ChainState, slot: number, txs: unknown[]): string {
  try {
    validateAndApplyBlock(state, JSON.parse(JSON.stringify(forgeBlock(state, { slot, producer: f.node, txs }))), { now: slotTime(f.genesis, slot) });
  } catch (err) {
    if (err instanceof BlockError && err.code === 'BAD_TX') return String(err.context.reason);
    throw err;
  }
  return 'ACCEPTED';
}

test('[MKT-SEAL] a trader who copies a rival\'s commitment cannot open it: its order is out and it pays the fee', () => {
  const f = new ChainFixture();
  const [victim, copier, buyer] = [f.key('victim'), f.key('copier'), f.key('buyer')];
  f.produce([f.certTx(victim), f.certTx(copier), f.certTx(buyer)]);
  const v = f.marketOrder(victim, 'o-1', { side: 'sell', energyWh: 1000, priceMc: 5_000, firstEpoch: 2 });
  const b = f.marketOrder(buyer, 'o-b', { side: 'buy', energyWh: 1000, priceMc: 9_000, firstEpoch: 2 });
  const t = f.state.meta.tipSlot + 1;
  const vTx = v.tx(f.at(t));
  // the copier sees the victim's order in the mempool and posts the same commitment (and id) as its own
  const copy = f.sign(copier, 'market-order', { ...vTx.parameters, address: copier.address }, f.at(t));
  f.produce([vTx, copy, b.tx(f.at(t))], t);
  assert.ok(f.state.sections.orders.has(`${victim.address}|o-1`), 'the victim\'s order stands: ids are per address, not squatted');
  // once the victim reveals, the copier replays the revealed values under its own address
  const reveal = v.reveal(f.at(CLOSE2));
  f.produce([reveal, b.reveal(f.at(CLOSE2))], CLOSE2);
  const replay = f.sign(copier, 'market-reveal', { ...reveal.parameters, address: copier.address }, f.at(CLOSE2 + 1));
  assert.equal(refused(f, f.state, CLOSE2 + 1, [replay]), 'BAD_REVEAL', 'the commitment binds the address');
  const before = balanceOf(f.state, copier.address);
  f.produce([], GATE2);
  const m = f.state.sections.markets.get('2')!;
  assert.deepEqual(m.fills!.map((x) => x.address).sort(), [victim.address, buyer.address].sort());
  assert.equal(m.excluded!.find((x) => x.address === copier.address)?.reason, 'NOT_REVEALED');
  assert.equal(balanceOf(f.state, copier.address), before - 10_000n, 'the copier paid the unrevealed fee');
});

test('[MKT-SETTLE] one discharge is paid once: an aggregator award and a P2P sale of the same interval share the meter\'s measured flow', () => {
  const f = new ChainFixture();
  const [home, buyer] = [f.key('double'), f.key('buyer')];
  f.produce([f.certTx(home), f.certTx(buyer)]);
  const closesAt = new Date(Date.parse(f.interval(1).start) + 10_000).toISOString();
  const sell = f.marketOrder(home, 'o-s', { side: 'sell', energyWh: 1000, priceMc: 5_000, firstEpoch: 2 });
  const buy = f.marketOrder(buyer, 'o-b', { side: 'buy', energyWh: 1000, priceMc: 9_000, firstEpoch: 2 });
  const t = f.state.meta.tipSlot + 1;
  f.produce([f.auctionOpenTx('auc-x', { side: 'buy', energyWh: 1000, limitMc: 20_000, deliveryEpoch: 2, closesAt }, f.aggregator, f.at(t)), sell.tx(f.at(t)), buy.tx(f.at(t))], t);
  f.produce([f.bidTx(home, 'auc-x', { open: f.openBid('sell', 1000, 10_000) }, 'F1', f.at(t + 1))], t + 1);
  f.produce([sell.reveal(f.at(CLOSE2)), buy.reveal(f.at(CLOSE2))], CLOSE2);
  f.produce([], GATE2);
  assert.equal(f.state.sections.auctions.get('auc-x')!.awards![0]!.energyWh, 1000);
  assert.equal(f.state.sections.markets.get('2')!.volumeWh, 1000);
  // the home discharges 1000 Wh once (no PV, no load): exported 1000 Wh in all, not 2000
  const before = balanceOf(f.state, home.address);
  f.produce([f.readingTx(home, 2, { dis: 1000 }, 1, f.at(END2 + 1)), f.readingTx(buyer, 2, { c: 1000 }, 1, f.at(END2 + 1))], END2 + 1);
  const award = f.state.sections.auctions.get('auc-x')!.awards![0]!.settlement!;
  const fill = f.state.sections.markets.get('2')!.fills!.find((x) => x.address === home.address)!.settlement!;
  assert.equal(award.deliveredWh, 1000, 'the award (settled first) is paid the discharge');
  assert.deepEqual([fill.deliveredWh, fill.priorWh], [0, 1000], 'the P2P sale finds the flow already paid');
  assert.equal(award.deliveredWh + fill.deliveredWh, 1000, 'paid for 1000 Wh, never 2000');
  // 1000 × 10000 / 1000 from the auction; the P2P shortfall 1000 Wh pays the imbalance price
  assert.equal(balanceOf(f.state, home.address) - before, 10_000n - 30_000n);
});

test('[MKT-ONE] a meter cannot trade with itself: its second pseudonym is refused an order in the same interval', () => {
  const f = new ChainFixture();
  const a = f.key('wash-a');
  f.produce([f.certTx(a)]);
  const twin = f.key('wash-b');
  f.produce([f.certTx(twin, { tag: f.state.sections.certs.get(a.address)!.tag })]);
  const t = f.state.meta.tipSlot + 1;
  f.produce([f.marketOrder(a, 'o-s', { side: 'sell', energyWh: 1000, priceMc: 1_000, firstEpoch: 2 }).tx(f.at(t))], t);
  const reason = refused(f, f.state, t + 1, [f.marketOrder(twin, 'o-b', { side: 'buy', energyWh: 1000, priceMc: 90_000, firstEpoch: 2 }).tx(f.at(t + 1))]);
  assert.equal(reason, 'METER_ALREADY_ORDERED');
});

test('[MKT-SEAL] a withheld reveal changes nothing but the withholder: the clearing equals the book without it (20 random books)', () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 20; round++) {
    const f = new ChainFixture();
    const keys = Array.from({ length: 4 + rnd(3) }, (_, i) => f.key(`w-${round}-${i}`));
    f.produce(keys.map((k) => f.certTx(k)));
    const orders = keys.map((k, i) => f.marketOrder(k, `o-${i}`, { side: i % 2 === 0 ? 'sell' : 'buy', energyWh: 100 + rnd(2000), priceMc: 1000 + rnd(20_000), firstEpoch: 2 }));
    const t = f.state.meta.tipSlot + 1;
    f.produce(orders.map((o) => o.tx(f.at(t))), t);
    const withheld = rnd(keys.length);
    f.produce(orders.filter((_, i) => i !== withheld).map((o) => o.reveal(f.at(CLOSE2))), CLOSE2);
    f.produce([], GATE2);
    const m = f.state.sections.markets.get('2')!;
    // the reference: the chain's clearing of the book without the withholder
    const book: MarketOrderIn[] = orders.flatMap((o, i) => {
      if (i === withheld) return [];
      const p = o.reveal().parameters;
      return [{ orderId: `${keys[i]!.address}|${p.orderId}`, address: keys[i]!.address, feeder: 'F1', side: i % 2 === 0 ? 'sell' as const : 'buy' as const, energyWh: p.energyWh, priceMcPerKWh: p.priceMcPerKWh, inclusion: 0 }];
    });
    // inclusion: the orders are in one block in key order
    book.forEach((x) => (x.inclusion = keys.findIndex((k) => k.address === x.address)));
    const ref = clearMarket({ epoch: 2, pricing: 'uniform', orders: book, feederRoom: [] });
    assert.equal(m.volumeWh, ref.volumeWh, `round ${round}: volume`);
    assert.equal(m.clearingPriceMcPerKWh, ref.clearingPriceMcPerKWh, `round ${round}: price`);
    assert.equal(m.excluded!.find((x) => x.reason === 'NOT_REVEALED')?.address, keys[withheld]!.address);
  }
});
