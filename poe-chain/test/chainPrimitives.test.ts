import { test } from 'node:test';
import assert from 'node:assert/strict';
import { merkleRoot } from '../core/merkleRoot.js';
import { sha256 } from '../core/hashing.js';
import { electProducer, nextSlotFor, producerForSlot, productionOrder } from '../core/electProducer.js';
import { compareTips, bestTip, shouldSwitch } from '../core/forkChoice.js';
import { parseGenesis, epochOfInterval, epochOfSlot, GENESIS_DEFAULTS } from '../core/genesis.js';
import { GenesisError } from '../core/chainError.js';
import { blockHash, equivocationProblem, signHeader } from '../core/blockHash.js';
import { readingScore, tieBreak } from '../core/rankingForEpoch.js';
import { testGenesisConfig, testKey, ChainFixture } from '../testkit/chainFixture.js';

const id = (n: number) => sha256(`tx${n}`).toString('hex');

test('Merkle root: by hand for 0, 1, 2 and 3 leaves; order and count matter', () => {
  const leaf = (x: string) => sha256(Buffer.from([0]), Buffer.from(x, 'hex'));
  const node = (l: Buffer, r: Buffer) => sha256(Buffer.from([1]), l, r);
  const root = (n: number, top: Buffer) => {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(n);
    return sha256(Buffer.from([2]), c, top).toString('hex');
  };
  assert.equal(merkleRoot([]), root(0, Buffer.alloc(32)));
  assert.equal(merkleRoot([id(1)]), root(1, leaf(id(1))));
  assert.equal(merkleRoot([id(1), id(2)]), root(2, node(leaf(id(1)), leaf(id(2)))));
  const l3 = leaf(id(3));
  assert.equal(merkleRoot([id(1), id(2), id(3)]), root(3, node(node(leaf(id(1)), leaf(id(2))), node(l3, l3))));
  assert.notEqual(merkleRoot([id(1), id(2)]), merkleRoot([id(2), id(1)]));
  assert.notEqual(merkleRoot([id(1), id(2), id(3)]), merkleRoot([id(1), id(2), id(3), id(3)]));
});

test('[POE-7.3] [LIVE] electProducer = order[⌊(s − p − 1)/W⌋ mod n], the aggregator node last in the order', () => {
  const order = productionOrder(['a', 'b', 'c'], 'X', true);
  assert.deepEqual(order, ['a', 'b', 'c', 'X']);
  assert.equal(electProducer(order, 10, 11, 8), 'a');
  assert.equal(electProducer(order, 10, 18, 8), 'a');
  assert.equal(electProducer(order, 10, 19, 8), 'b');
  assert.equal(electProducer(order, 10, 27, 8), 'c');
  assert.equal(electProducer(order, 10, 35, 8), 'X', 'after every ranked validator had its patience');
  assert.equal(electProducer(order, 10, 43, 8), 'a');
  assert.deepEqual(productionOrder([], 'X', true), ['X']);
  // an equivocating aggregator node loses its place, unless nobody else can produce
  assert.deepEqual(productionOrder(['a', 'b'], 'X', false), ['a', 'b']);
  assert.deepEqual(productionOrder([], 'X', false), ['X']);
  // the aggregator node is never in the order twice
  assert.deepEqual(productionOrder(['a', 'X'], 'X', true), ['a', 'X']);
  assert.throws(() => electProducer(order, 10, 10, 8), /BAD_SLOT/);
});

test('nextSlotFor finds the first slot each ranked address may produce', () => {
  const f = new ChainFixture();
  assert.equal(nextSlotFor(f.state, f.node.address, 0), 1);
  assert.equal(nextSlotFor(f.state, testKey('nobody').address, 0), undefined);
  // a chain with a ranking of 3
  const ks = ['n-a', 'n-b', 'n-c'].map((n) => f.key(n));
  f.produce(ks.map((k) => f.certTx(k)));
  const s1 = f.firstSlotOf(1) + 1;
  f.produce(ks.map((k, i) => f.readingTx(k, 0, { p: 100 * i }, 1, f.at(s1))), s1);
  const p = f.firstSlotOf(2) - 1;
  f.produce([], p);
  for (const k of ks) {
    const s = nextSlotFor(f.state, k.address, p)!;
    assert.equal(producerForSlot(f.state, s), k.address);
    for (let x = p + 1; x < s; x++) assert.notEqual(producerForSlot(f.state, x), k.address);
  }
});

test('[FC-J] [FC-1] [FC-2] fork choice: the later justification, then height, then earlier slot, then smaller hash; never below the final block', () => {
  const t = (height: number, slot: number, hash: string, justifiedRound?: number) => ({ height, slot, hash, ...(justifiedRound !== undefined ? { justifiedRound } : {}) });
  assert.ok(compareTips(t(5, 50, 'b'), t(4, 10, 'a')) < 0);
  assert.ok(compareTips(t(5, 40, 'b'), t(5, 50, 'a')) < 0);
  assert.ok(compareTips(t(5, 50, 'a'), t(5, 50, 'b')) < 0);
  assert.equal(bestTip([t(3, 9, 'c'), t(4, 20, 'z'), t(4, 12, 'y')])!.hash, 'y');
  // [FC-J] a shorter chain that justified a later round wins over a longer one
  assert.ok(compareTips(t(4, 40, 'a', 38), t(9, 90, 'b', 30)) < 0);
  assert.equal(bestTip([t(9, 90, 'b', 30), t(4, 40, 'a', 38), t(5, 50, 'c')])!.hash, 'a');
  // [FC-2] the final block's height, not a depth
  assert.equal(shouldSwitch(t(40, 400, 'a'), t(41, 410, 'b'), 7, 8), false, 'fork below the final height 8');
  assert.equal(shouldSwitch(t(40, 400, 'a'), t(41, 410, 'b'), 8, 8), true);
  assert.equal(shouldSwitch(t(40, 400, 'a'), t(40, 401, 'b'), 30, 8), false);
  assert.equal(shouldSwitch(t(40, 400, 'a', 390), t(39, 399, 'b', 395), 30, 8), true, 'the later justification');
});

test('genesis: defaults are written out and hashed; bad files are GENESIS_INVALID with the reason', () => {
  const { slotMs: _s, patience: _w, auctionRetentionIntervals: _r, ...omitted } = testGenesisConfig();
  const d = parseGenesis(omitted);
  assert.equal(d.auctionRetentionIntervals, 96, 'settled auctions and markets kept one day of 15-min intervals (a home\'s disk at 10,000 homes)');
  assert.deepEqual([d.slotMs, d.patience, d.inclusionSlots], [250, 8, 8], 'S = 250 ms, W = 8, the inclusion window W slots');
  assert.equal(d.slotMs * d.patience, 2000, 'the heartbeat W·S stays 2 s (blocks per idle day unchanged)');
  assert.deepEqual([d.config.slotMs, d.config.patience], [GENESIS_DEFAULTS.slotMs, GENESIS_DEFAULTS.patience]);
  assert.equal(parseGenesis({ ...omitted, ...GENESIS_DEFAULTS }).hash, d.hash, 'explicit defaults = omitted defaults');
  const g = parseGenesis(testGenesisConfig());
  assert.deepEqual([g.slotMs, g.patience, g.inclusionSlots], [250, 8, 8], 'the test chain (and the spec vectors) keep S = 250 ms, W = 8');
  const bad = (over: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => parseGenesis({ ...testGenesisConfig(), ...over }), (e: unknown) => e instanceof GenesisError && re.test(e.message));
  bad({ genesisTime: '2026-11-21T00:00:01.000Z' }, /multiple of intervalMs/);
  bad({ slotMs: 7 }, /must be >= 10/);
  bad({ intervalMs: 1000, slotMs: 300 }, /multiple of slotMs/);
  bad({ unknown: 1 }, /additional/);
  bad({ registryKey: 'xyz' }, /registryKey/);
  bad({ settleGraceMs: 16 * 900_000 }, /outlive/);
  assert.throws(() => parseGenesis('nope'), GenesisError);
  assert.equal(epochOfSlot(g, 3599), 0);
  assert.equal(epochOfSlot(g, 3600), 1);
  assert.equal(epochOfInterval(g, { start: '2026-11-21T00:15:00.000Z', end: '2026-11-21T00:30:00.000Z' }), 1);
  assert.equal(epochOfInterval(g, { start: '2026-11-21T00:15:00Z', end: '2026-11-21T00:30:00Z' }), 1);
  assert.equal(epochOfInterval(g, { start: '2026-11-21T00:14:00.000Z', end: '2026-11-21T00:29:00.000Z' }), undefined);
  assert.equal(epochOfInterval(g, { start: '2026-11-21T00:15:00.000Z', end: '2026-11-21T00:45:00.000Z' }), undefined);
  assert.equal(epochOfInterval(g, { start: '2026-11-20T23:45:00.000Z', end: '2026-11-21T00:00:00.000Z' }), undefined);
});

test('[CPF] the paper\'s score counts charging as consumption and discharge as neither; net-exchange stays selectable; tie-break is SHA-256(seed ‖ address)', () => {
  // paper (default): C = loads + charged
  assert.equal(readingScore({ producedWh: 2000, consumedWh: 1500, chargedWh: 700, dischargedWh: 0 }), 200);
  assert.equal(readingScore({ producedWh: 0, consumedWh: 1500, chargedWh: 0, dischargedWh: 1500 }), 1500, 'a battery covering the evening load is not RES production');
  assert.equal(readingScore({ producedWh: 0, consumedWh: 1500, chargedWh: 0, dischargedWh: 1500 }, 'paper'), 1500);
  // net-exchange: C = loads + charged − discharged
  assert.equal(readingScore({ producedWh: 0, consumedWh: 1500, chargedWh: 0, dischargedWh: 1500 }, 'net-exchange'), 0);
  assert.equal(readingScore({ producedWh: 2000, consumedWh: 1500, chargedWh: 700, dischargedWh: 0 }, 'net-exchange'), 200);
  const seed = 'ab'.repeat(32);
  const a = testKey('x').address;
  assert.equal(tieBreak(seed, a), sha256(Buffer.from(seed + a, 'hex')).toString('hex'));
});

test('[POE-7.equivocation] evidence = two signed headers, one producer, one slot, different hashes', () => {
  const k = testKey('eq');
  const h = { height: 4, slot: 9, epoch: 0, parent: '00'.repeat(32), producer: k.address, txRoot: '00'.repeat(32), stateRoot: '00'.repeat(32) };
  const chain = 'cd'.repeat(32);
  const s = (x: typeof h, key = k) => ({ header: x, headerSignature: signHeader(key, x, chain) });
  const h2 = { ...h, txRoot: '11'.repeat(32) };
  assert.equal(equivocationProblem(s(h), s(h2), chain), undefined);
  assert.equal(equivocationProblem(s(h), s(h), chain), 'same block');
  assert.equal(equivocationProblem(s(h), s({ ...h2, slot: 10 }), chain), 'different slots');
  assert.equal(equivocationProblem(s(h), s(h2, testKey('other')), chain), 'bad signature b');
  assert.equal(equivocationProblem(s(h), s({ ...h2, producer: testKey('other').address }, testKey('other')), chain), 'different producers');
  assert.notEqual(blockHash(h), blockHash(h2));
  // [DOMAIN] the same two headers signed for another chain are no evidence here
  assert.equal(equivocationProblem(s(h), s(h2), 'ef'.repeat(32)), 'bad signature a');
});
