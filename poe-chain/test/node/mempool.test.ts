import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signEnvelope } from '../../../wire/codec.js';
import { ChainFixture } from '../../testkit/chainFixture.js';
import { slotTime } from '../../core/genesis.js';
import { Mempool } from '../../node/mempool.js';

function setup(over: ConstructorParameters<typeof Mempool>[1] extends infer O ? Partial<O> : never = {}) {
  const f = new ChainFixture(); // the aggregator holds a genesis balance
  const payer = f.aggregator;
  const clock = { t: slotTime(f.genesis, 10) };
  const pool = new Mempool(f.state, { now: () => clock.t, ...over });
  let n = 0;
  const transfer = (amount = 1, kp = payer, date = new Date(clock.t)) =>
    signEnvelope(kp, 'transfer', { to: f.key(`payee-${n++}`).address, amountMillicents: amount }, { date, chain: f.genesis.hash });
  return { f, pool, clock, transfer, payer };
}

test('[MP-1..6] admission: valid, known, bad signature, not a transaction, garbage, expired, future, permanent and transient failures', () => {
  const { f, pool, clock, transfer, payer } = setup();
  const t = transfer();
  const r = pool.admit(t);
  assert.equal(r.status, 'admitted');
  assert.match(r.txId!, /^[0-9a-f]{64}$/);
  assert.equal(pool.admit(t).status, 'known');
  assert.equal(pool.admit({ ...transfer(), signature: t.signature }).code, 'BAD_SIGNATURE');
  const sync = signEnvelope(payer, 'sync-request', { nodeId: 'n1', fromHeight: 1 });
  assert.equal(pool.admit(sync).code, 'NOT_A_TX_OPERATION');
  for (const junk of [null, 42, 'x', [], {}, { operation: 'transfer' }]) assert.equal(pool.admit(junk).status, 'rejected');
  assert.equal(pool.admit(transfer(1, payer, new Date(clock.t - f.genesis.txWindowMs - 1))).code, 'TX_EXPIRED');
  assert.equal(pool.admit(transfer(1, payer, new Date(clock.t + f.genesis.txFutureMs + 1))).code, 'TX_FUTURE');
  // permanent: a transfer to oneself
  const self = signEnvelope(payer, 'transfer', { to: payer.address, amountMillicents: 1 }, { date: new Date(clock.t), chain: f.genesis.hash });
  assert.equal(pool.admit(self).code, 'SELF_TRANSFER');
  // transient: no funds yet (someone may pay it first); a bid for an auction not yet on chain
  const poor = f.key('poor');
  assert.equal(pool.admit(transfer(1, poor)).status, 'admitted');
  const hem = f.key('hem');
  const bid = signEnvelope(hem, 'bid-offer', { auctionId: 'a-1', address: hem.address, cpf: 0.5, feeder: 'F1', bid: f.openBid('sell', 1000, 5000) }, { date: new Date(clock.t), chain: f.genesis.hash });
  assert.equal(pool.admit(bid).status, 'admitted', 'NOT_CERTIFIED is transient');
  assert.equal(pool.size, 3);
  assert.equal(pool.admit(Buffer.alloc(1)).status, 'rejected');
  const big = { ...transfer(), parameters: { to: payer.address, amountMillicents: 1, memo: 'x'.repeat(20_000) } };
  assert.equal(pool.admit(big).code, 'MESSAGE_TOO_LARGE');
  assert.ok((pool.stats().rejected.BAD_SIGNATURE ?? 0) >= 1);
});

test('[MP-4] a transaction already on chain is not admitted again', () => {
  const { f, pool, transfer } = setup();
  const t = transfer();
  f.produce([t]);
  pool.setHead(f.state);
  assert.equal(pool.admit(t).status, 'on-chain');
});

test('[MP-7] [MP-8] bounds: count, bytes, per signer; eviction takes the most-failed first, never a fresh one', () => {
  const { pool, transfer, f } = setup({ maxCount: 3, maxPerSigner: 10 });
  const a = pool.admit(transfer());
  const b = pool.admit(transfer());
  const c = pool.admit(transfer());
  assert.deepEqual([a.status, b.status, c.status], ['admitted', 'admitted', 'admitted']);
  assert.equal(pool.admit(transfer()).code, 'MEMPOOL_FULL', 'nothing failed yet: the newcomer is refused');
  const cands = pool.candidates(f.state.tipHash, 10, 1 << 20);
  assert.deepEqual(cands.map((e) => e.id), [a.txId, b.txId, c.txId], 'pool order');
  pool.recordBuild(f.state.tipHash, cands, [{ index: 1, txId: b.txId!, code: 'INSUFFICIENT_FUNDS', message: '' }]);
  assert.deepEqual(pool.candidates(f.state.tipHash, 10, 1 << 20).map((e) => e.id), [a.txId, c.txId], '[MP-9] deferred until the head changes');
  assert.equal(pool.candidates('other-head', 10, 1 << 20).length, 3);
  const d = pool.admit(transfer());
  assert.equal(d.status, 'admitted');
  assert.equal(pool.has(b.txId!), false, 'b (one failed attempt) was evicted');
  assert.equal(pool.stats().evicted, 1);

  const q = setup({ maxPerSigner: 2 });
  q.pool.admit(q.transfer());
  q.pool.admit(q.transfer());
  assert.equal(q.pool.admit(q.transfer()).code, 'SIGNER_QUOTA');

  const one = setup();
  const size = Buffer.byteLength(JSON.stringify(one.transfer()));
  const small = setup({ maxBytes: size * 2 + size / 2 });
  small.pool.admit(small.transfer());
  small.pool.admit(small.transfer());
  assert.equal(small.pool.admit(small.transfer()).code, 'MEMPOOL_FULL');
  assert.ok(small.pool.bytes <= size * 2 + size / 2);
  assert.deepEqual(small.pool.candidates('h', 10, size).length, 1, 'candidates respect the byte budget');
});

test('[MP-9] permanent build failures drop at once; transient ones after maxAttempts', () => {
  const { pool, transfer } = setup({ maxAttempts: 2 });
  const a = pool.admit(transfer());
  const b = pool.admit(transfer());
  const c = () => pool.candidates('h', 10, 1 << 20);
  let cands = c();
  pool.recordBuild('h1', cands, [
    { index: 0, txId: a.txId!, code: 'SELF_TRANSFER', message: '' },
    { index: 1, txId: b.txId!, code: 'INSUFFICIENT_FUNDS', message: '' },
  ]);
  assert.equal(pool.has(a.txId!), false);
  assert.equal(pool.has(b.txId!), true);
  cands = c();
  pool.recordBuild('h2', cands, [{ index: 0, txId: b.txId!, code: 'INSUFFICIENT_FUNDS', message: '' }]);
  assert.equal(pool.size, 0);
  assert.equal(pool.stats().dropped, 2);
});

test('[MP-9] a failure only time cures (AUCTION_NOT_DUE) is retried at the next slot on the same head, without using up attempts', () => {
  const { pool, transfer } = setup({ maxAttempts: 2 });
  const a = pool.admit(transfer());
  const notDue = (slot: number) => {
    const cands = pool.candidates('h', 10, 1 << 20, slot);
    pool.recordBuild('h', cands, [{ index: 0, txId: a.txId!, code: 'AUCTION_NOT_DUE', message: '' }], slot);
  };
  notDue(10);
  assert.equal(pool.candidates('h', 10, 1 << 20, 10).length, 0, 'not again in the same slot');
  assert.equal(pool.candidates('h', 10, 1 << 20, 11).length, 1, 'back at the next slot, same head');
  for (let s = 11; s < 20; s++) notDue(s);
  assert.equal(pool.has(a.txId!), true, 'time-cured retries do not count toward maxAttempts');
  // a state-dependent failure still waits for a new head
  const cands = pool.candidates('h', 10, 1 << 20, 30);
  pool.recordBuild('h', cands, [{ index: 0, txId: a.txId!, code: 'INSUFFICIENT_FUNDS', message: '' }], 30);
  assert.equal(pool.candidates('h', 10, 1 << 20, 31).length, 0, 'INSUFFICIENT_FUNDS waits for the head to change');
  assert.equal(pool.candidates('h2', 10, 1 << 20, 31).length, 1);
});

test('[MP-10] included transactions leave; orphaned ones come back ahead, in chain order; expired ones are pruned', () => {
  const { pool, transfer, clock, f } = setup();
  const x = transfer();
  const y = transfer();
  const z = transfer();
  const rx = pool.admit(x);
  pool.admit(y);
  assert.equal(pool.removeIncluded([rx.txId!, 'unknown']), 1);
  pool.admit(z);
  assert.equal(pool.readd([x, y]), 1, 'y is still pending: only x comes back');
  assert.deepEqual(pool.list().map((e) => e.env.signature), [x.signature, y.signature, z.signature]);
  clock.t += f.genesis.txWindowMs + 1;
  assert.equal(pool.pruneExpired(), 3);
  assert.equal(pool.size, 0);
  assert.equal(pool.bytes, 0);
});

test('[MP-11] a home\'s readings go into a block in seq order, whatever order they arrived in', () => {
  const { f, pool, clock, transfer } = setup();
  const home = f.key('home-mp11');
  const other = f.key('other-mp11');
  f.produce([f.certTx(home), f.certTx(other)]);
  pool.setHead(f.state);
  clock.t = slotTime(f.genesis, f.firstSlotOf(5));
  const date = new Date(clock.t).toISOString();
  // a reconnecting node: the live (newer) reading arrives before the queued (older) one
  const newer = pool.admit(f.readingTx(home, 3, { p: 1 }, 2, date));
  const t = pool.admit(transfer());
  const o = pool.admit(f.readingTx(other, 2, { p: 1 }, 1, date));
  const older = pool.admit(f.readingTx(home, 2, { p: 1 }, 1, date));
  for (const r of [newer, t, o, older]) assert.equal(r.status, 'admitted');
  const cands = pool.candidates(f.state.tipHash, 10, 1 << 20);
  // [MP-12] the transfer goes first; among the readings the home's two swap places, the other keeps its place
  assert.deepEqual(cands.map((e) => e.id), [t.txId, older.txId, o.txId, newer.txId]);
  // both apply in one block (in arrival order the older one would be READING_OUT_OF_ORDER)
  f.produce(cands.map((e) => e.env), f.firstSlotOf(5));
  assert.deepEqual(f.state.sections.readingHeads.get(home.address), { interval: 3, seq: 2 });
  assert.ok(f.state.sections.readings.has(`${home.address}|2`));
});

test('[MP-12] bids (and every other transaction) go into a block before readings that queued ahead of them', () => {
  const { f, pool, clock } = setup();
  const homes = [0, 1, 2, 3].map((i) => f.key(`home-mp12-${i}`));
  const closesAt = slotTime(f.genesis, f.firstSlotOf(6));
  f.produce([...homes.map((h) => f.certTx(h)), f.auctionOpenTx('a-mp12', { side: 'buy', deliveryEpoch: 8, closesAt: new Date(closesAt).toISOString() })]);
  pool.setHead(f.state);
  clock.t = slotTime(f.genesis, f.firstSlotOf(5));
  const date = new Date(clock.t).toISOString();
  // a backlog of readings, then the homes' bids
  const readings = homes.map((h) => pool.admit(f.readingTx(h, 4, { p: 1 }, 1, date)));
  const bids = homes.slice(0, 2).map((h) => pool.admit(f.bidTx(h, 'a-mp12', { open: f.openBid('sell', 1000, 10_000) }, 'F1', date)));
  for (const r of [...readings, ...bids]) assert.equal(r.status, 'admitted', r.message);
  // room for three: both bids, then the oldest reading
  const cands = pool.candidates(f.state.tipHash, 3, 1 << 20);
  assert.deepEqual(cands.map((e) => e.id), [bids[0]!.txId, bids[1]!.txId, readings[0]!.txId]);
  const built = f.produce(cands.map((e) => e.env), f.firstSlotOf(5));
  assert.equal(built.txIds.length, 3);
  assert.equal(f.state.sections.auctions.get('a-mp12')!.bidCount, 2);
  // no room limit: every bid, then every reading, each group in arrival order
  assert.deepEqual(pool.candidates('other-head', 10, 1 << 20).map((e) => e.id), [...bids, ...readings].map((r) => r.txId));
});

test('[MP-13] re-gossip: what still waits afterMs after it was last sent is due, oldest first, a few at a time, justifications never', () => {
  const { pool, clock, transfer } = setup();
  const t0 = clock.t;
  const ids = [transfer(), transfer(), transfer()].map((t) => pool.admit(t).txId!);
  assert.deepEqual(pool.dueForGossip(t0 + 999, 1000, 8), [], 'nothing before afterMs');
  clock.t = t0 + 500;
  const late = pool.admit(transfer()).txId!;
  const due = pool.dueForGossip(t0 + 1000, 1000, 2);
  assert.deepEqual(due.map((e) => e.id), ids.slice(0, 2), 'the oldest first, at most max');
  assert.deepEqual(pool.dueForGossip(t0 + 1000, 1000, 8).map((e) => e.id), [ids[2]], 'each once per afterMs');
  assert.deepEqual(pool.dueForGossip(t0 + 1500, 1000, 8).map((e) => e.id), [late]);
  assert.deepEqual(pool.dueForGossip(t0 + 1999, 1000, 8), []);
  assert.deepEqual(pool.dueForGossip(t0 + 2000, 1000, 8).map((e) => e.id), ids, 'due again afterMs after it was sent');
  assert.deepEqual(pool.dueForGossip(t0 + 5000, 1000, 0), [], 'max 0: none, none marked');
  assert.equal(pool.dueForGossip(t0 + 5000, 1000, 8).length, 4);
});
