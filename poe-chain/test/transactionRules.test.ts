import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChainFixture } from '../testkit/chainFixture.js';
import { buildBlock, EarlyEmptyBlockError } from '../core/buildBlock.js';
import { producerForSlot } from '../core/electProducer.js';
import { slotTime } from '../core/genesis.js';
import { balanceOf, stateRoot } from '../core/chainState.js';
import { BlockError } from '../core/chainError.js';
import { validateAndApplyBlock } from '../core/validateAndApplyBlock.js';
import { signHeader } from '../core/blockHash.js';
import { rankingForEpoch } from '../core/rankingForEpoch.js';

type Key = ReturnType<ChainFixture['key']>;

/** The code a lone transaction is refused with (it must not be included, and no block is made). */
function refusal(f: ChainFixture, tx: unknown, slot = f.state.meta.tipSlot + 1): string {
  const kp = f.keyOf(producerForSlot(f.state, slot))!;
  let rejected: { code: string }[];
  try {
    const built = buildBlock(f.state, [tx], kp, slot, slotTime(f.genesis, slot));
    assert.equal(built.block.parameters.txs.length, 0, 'refused transaction left out');
    rejected = built.rejected;
  } catch (err) {
    if (!(err instanceof EarlyEmptyBlockError)) throw err; // [REWARD] an empty block only as a heartbeat
    rejected = err.rejected;
  }
  assert.equal(rejected.length, 1);
  return rejected[0]!.code;
}

function setup() {
  const f = new ChainFixture();
  const a = f.key('r-a');
  const re = f.key('r-re');
  const te = f.key('r-te');
  f.produce([f.certTx(a), f.certTx(re, { programme: 'RE' }), f.certTx(te, { programme: 'TE', feeder: 'F2' })]);
  return { f, a, re, te };
}

test('buildBlock leaves refused transactions out and the result equals a block of the valid ones only', () => {
  const { f, a } = setup();
  const good1 = f.transferTx(f.aggregator, a.address, 10);
  const bad = f.transferTx(a, f.aggregator.address, 1_000_000);
  const good2 = f.transferTx(f.aggregator, a.address, 20);
  const slot = f.state.meta.tipSlot + 1;
  const kp = f.keyOf(producerForSlot(f.state, slot))!;
  const mixed = buildBlock(f.state, [good1, bad, good1, 'garbage', good2], kp, slot, slotTime(f.genesis, slot));
  const clean = buildBlock(f.state, [good1, good2], kp, slot, slotTime(f.genesis, slot));
  assert.deepEqual(mixed.rejected.map((r) => [r.index, r.code]), [[1, 'INSUFFICIENT_FUNDS'], [2, 'DUPLICATE_TX'], [3, 'NOT_AN_OBJECT']]);
  assert.equal(mixed.hash, clean.hash);
  assert.equal(stateRoot(mixed.state), stateRoot(clean.state));
  assert.throws(() => buildBlock(f.state, [], f.registry, slot, slotTime(f.genesis, slot)), (e: unknown) => e instanceof BlockError && e.code === 'BAD_PRODUCER');
  assert.throws(() => buildBlock(f.state, [], kp, slot + 100, slotTime(f.genesis, slot)), (e: unknown) => e instanceof BlockError && e.code === 'SLOT_IN_FUTURE');
});

test('garbage in place of a block is refused with a coded BlockError and changes nothing', () => {
  const { f } = setup();
  const root = stateRoot(f.state);
  const now = slotTime(f.genesis, 10);
  const refuse = (v: unknown) => {
    try {
      validateAndApplyBlock(f.state, v, { now });
    } catch (err) {
      assert.ok(err instanceof BlockError, `${String(err)} for ${JSON.stringify(v)?.slice(0, 80)}`);
      return;
    }
    assert.fail('accepted garbage');
  };
  for (const v of [null, 0, 'block', [], {}, { operation: 'block' }, { ...f.blocks[0]!.block, parameters: null }, { ...f.blocks[0]!.block, extra: 1 }]) refuse(v);
  fc.assert(fc.property(fc.jsonValue(), (v) => refuse(v)), { numRuns: 300 });
  const b = f.blocks[0]!.block as unknown as Record<string, unknown>;
  fc.assert(
    fc.property(fc.constantFrom(...Object.keys(b)), fc.jsonValue(), (k, v) => refuse({ ...b, [k]: v })),
    { numRuns: 200 },
  );
  assert.equal(stateRoot(f.state), root);
});

test('meter-reading rules [TX-R1..R6]', () => {
  const { f, a, re } = setup();
  const s = f.firstSlotOf(2) + 5;
  f.produce([], s - 8);
  const at = f.at(s);
  assert.equal(refusal(f, f.sign(a, 'meter-reading', { address: a.address, interval: { start: '2026-11-21T00:05:00.000Z', end: '2026-11-21T00:20:00.000Z' }, seq: 1, producedWh: 0, consumedWh: 0, chargedWh: 0, dischargedWh: 0, socPermille: 0 }, at), s), 'BAD_INTERVAL');
  assert.equal(refusal(f, f.readingTx(a, 2, {}, 1, at), s), 'READING_NOT_ENDED');
  assert.equal(refusal(f, f.readingTx(f.key('r-nobody'), 1, {}, 1, at), s), 'NOT_CERTIFIED');
  const late = f.key('r-late');
  f.produce([f.certTx(late, { validFrom: f.interval(1).end })], s);
  assert.equal(refusal(f, f.readingTx(late, 0, {}, 1, f.at(s + 1))), 'CERT_NOT_VALID');
  f.produce([f.readingTx(a, 1, { p: 5 }, 7, f.at(s + 1))]);
  assert.equal(refusal(f, f.readingTx(a, 0, {}, 8, f.at(s + 2))), 'READING_OUT_OF_ORDER', 'older interval');
  f.produce([], f.firstSlotOf(3));
  assert.equal(refusal(f, f.readingTx(a, 2, {}, 7, f.at(f.firstSlotOf(3) + 1))), 'READING_OUT_OF_ORDER', 'seq not increasing');
  f.produce([f.readingTx(a, 2, {}, 9, f.at(f.firstSlotOf(3) + 1))]);
  // retention: 16 intervals
  const far = f.firstSlotOf(20);
  f.produce([], far);
  assert.equal(refusal(f, f.readingTx(re, 3, {}, 1, f.at(far + 1))), 'READING_TOO_OLD');
  assert.equal(f.state.sections.readings.has(`${a.address}|1`), false, 'pruned after the retention');
  assert.equal(f.state.sections.readingHeads.has(a.address), false);
  assert.equal(f.state.sections.certs.has(a.address), true, 'certificate still valid, kept');
});

test('feeder-limit rules [TX-F1..F4]: only feeder-limit writes the feederLimits section [FEEDER-1]', () => {
  const { f, a } = setup();
  const t1 = f.at(f.state.meta.tipSlot + 1);
  const l1 = f.feederLimit('F1', 1000, 2000, { issuedAt: t1 });
  // [TX-F1] registry, aggregator and aggregator node may post it; nobody else
  assert.equal(refusal(f, f.feederLimitTx(l1, a)), 'UNAUTHORISED_SIGNER');
  assert.equal(refusal(f, f.feederLimitTx(l1, f.key('stranger'))), 'UNAUTHORISED_SIGNER');
  // [TX-F2]
  assert.equal(refusal(f, f.feederLimitTx({ ...l1, maxImportWh: 2001 })), 'BAD_REGISTRY_SIGNATURE');
  assert.equal(refusal(f, f.feederLimitTx(f.feederLimit('F1', 1000, 2000, { issuedAt: t1, signer: f.node }))), 'BAD_REGISTRY_SIGNATURE');
  // [TX-F3] at most txFutureMs after the block time
  const blockTime = slotTime(f.genesis, f.state.meta.tipSlot + 1);
  assert.equal(refusal(f, f.feederLimitTx(f.feederLimit('F1', 1, 1, { issuedAt: new Date(blockTime + f.genesis.txFutureMs + 1).toISOString() }))), 'FEEDER_LIMIT_IN_FUTURE');
  f.produce([f.feederLimitTx(f.feederLimit('F9', 1, 1, { issuedAt: new Date(blockTime + f.genesis.txFutureMs).toISOString() }), f.node)]);
  f.produce([f.feederLimitTx(l1, f.registry)]);
  assert.deepEqual(f.state.sections.feederLimits.get('F1'), { maxExportWh: 1000, maxImportWh: 2000, issuedAt: Date.parse(t1) });
  // [TX-F4] not newer: refused, even tighter; newer: taken, even looser
  assert.equal(refusal(f, f.feederLimitTx(f.feederLimit('F1', 500, 500, { issuedAt: t1 }))), 'STALE_FEEDER_LIMIT');
  assert.equal(refusal(f, f.feederLimitTx(f.feederLimit('F1', 500, 500, { issuedAt: new Date(Date.parse(t1) - 1).toISOString() }))), 'STALE_FEEDER_LIMIT');
  const t2 = new Date(Date.parse(t1) + 1).toISOString();
  f.produce([f.feederLimitTx(f.feederLimit('F1', 3000, 3000, { issuedAt: t2 }))]);
  assert.deepEqual(f.state.sections.feederLimits.get('F1'), { maxExportWh: 3000, maxImportWh: 3000, issuedAt: Date.parse(t2) });
  // an auction-open's own limits never reach the section
  const closesAt = new Date(Date.parse(f.interval(1).start) + 10_000).toISOString();
  f.produce([f.auctionOpenTx('fl-1', { deliveryEpoch: 2, closesAt, feederLimits: [{ feeder: 'F1', maxExportWh: 1, maxImportWh: 1 }, { feeder: 'F5', maxExportWh: 5, maxImportWh: 5 }] })]);
  assert.deepEqual(f.state.sections.feederLimits.sortedEntries().map(([k, v]) => [k, v.maxExportWh]), [['F1', 3000], ['F9', 1]]);
});

test('bid rules [TX-B1..B7] and auction-open rules [TX-A2..A3]', () => {
  const { f, a, re, te } = setup();
  const closesAt = new Date(Date.parse(f.interval(1).start) + 10_000).toISOString();
  f.produce([f.auctionOpenTx('b-1', { side: 'buy', deliveryEpoch: 2, closesAt }), f.auctionOpenTx('b-sealed', { side: 'buy', deliveryEpoch: 2, closesAt, sealed: true })]);
  const sell = f.openBid('sell', 100, 100);
  assert.equal(refusal(f, f.bidTx(re, 'b-1', { open: sell })), 'PROGRAMME_NOT_TE');
  assert.equal(refusal(f, f.bidTx(te, 'b-1', { open: sell }, 'F1')), 'FEEDER_MISMATCH');
  assert.equal(refusal(f, f.bidTx(a, 'nope', { open: sell })), 'UNKNOWN_AUCTION');
  assert.equal(refusal(f, f.bidTx(a, 'b-1', { open: f.openBid('buy', 100, 100) })), 'BID_WRONG_SIDE');
  assert.equal(refusal(f, f.bidTx(a, 'b-sealed', { open: sell })), 'BID_SEALING_MISMATCH');
  assert.equal(refusal(f, f.bidTx(a, 'b-1', { open: { type: 'sell', energy: { unit: 'kWh', value: 2_000_000 }, price: { unit: 'cents/kWh', value: 1 } } })), 'BID_OUT_OF_RANGE');
  f.produce([f.bidTx(a, 'b-1', { open: sell })]);
  assert.equal(refusal(f, f.bidTx(a, 'b-1', { open: f.openBid('sell', 50, 50) })), 'DUPLICATE_BID');
  assert.equal(refusal(f, f.auctionOpenTx('b-1', { deliveryEpoch: 2, closesAt })), 'AUCTION_EXISTS');
  assert.equal(refusal(f, f.auctionOpenTx('b-2', { deliveryEpoch: 0, closesAt })), 'BAD_AUCTION', 'closes after delivery start');
  assert.equal(refusal(f, f.auctionOpenTx('b-2', { deliveryEpoch: 2, closesAt: f.at(0) })), 'BAD_AUCTION', 'closes in the past');
  assert.equal(refusal(f, f.auctionOpenTx('b-2', { deliveryEpoch: 2, closesAt, energyWh: 0 })), 'BAD_AUCTION');
  // [SEALED] the reveal window (60 s) must end by the delivery start
  assert.equal(refusal(f, f.auctionOpenTx('b-2', { deliveryEpoch: 2, closesAt: new Date(Date.parse(f.interval(2).start) - 30_000).toISOString(), sealed: true })), 'BAD_AUCTION', 'reveal window past the delivery start');
  assert.equal(refusal(f, f.auctionOpenTx('b-2', { deliveryEpoch: 2, closesAt, feederLimits: [{ feeder: 'F1', maxExportWh: 1, maxImportWh: 1 }, { feeder: 'F1', maxExportWh: 2, maxImportWh: 2 }] })), 'BAD_AUCTION');
  assert.equal(refusal(f, f.auctionCloseTx('b-1', a)), 'UNAUTHORISED_SIGNER');
  assert.equal(refusal(f, f.auctionCloseTx('nope')), 'UNKNOWN_AUCTION');
  f.produce([f.revocationTx([a.address])]);
  assert.equal(refusal(f, f.transferTx(a, re.address, 1)), 'ADDRESS_REVOKED');
  assert.equal(refusal(f, f.revocationTx([a.address])), 'NOTHING_TO_REVOKE');
  assert.equal(refusal(f, f.certTx(a)), 'ADDRESS_REVOKED');
  assert.equal(refusal(f, f.certTx(re)), 'CERT_EXISTS');
  assert.equal(refusal(f, f.certTx(f.key('r-old'), { validTo: f.at(1) })), 'CERT_EXPIRED');
  assert.equal(refusal(f, f.certTx(f.key('r-odd'), { validFrom: f.at(100), validTo: f.at(50) })), 'BAD_CERT');
  assert.equal(refusal(f, f.transferTx(re, re.address, 1)), 'SELF_TRANSFER');
  // [CLOSE] nobody closes the open-bid auction: the first block after closesAt (here past
  // closesAt + grace) clears it all the same; a close then: AUCTION_NOT_OPEN
  const afterGrace = f.firstSlotOf(1) + 40 + 481;
  f.produce([], afterGrace);
  assert.ok(['closed', 'settled'].includes(f.state.sections.auctions.get('b-1')!.status), 'cleared by the chain, not void');
  assert.equal(f.state.sections.auctions.get('b-1')!.closedHeight, f.state.meta.height);
  assert.equal(f.state.sections.bids.size, 0);
  assert.equal(refusal(f, f.auctionCloseTx('b-1', f.aggregator, f.at(afterGrace + 1))), 'AUCTION_NOT_OPEN');
});

test('revocation and equivocation evidence take the address out of the current ranking; evidence claws back rewards', () => {
  const f = new ChainFixture();
  const ks = ['q-a', 'q-b', 'q-c'].map((n) => f.key(n)) as Key[];
  f.produce(ks.map((k) => f.certTx(k)));
  const s1 = f.firstSlotOf(1) + 1;
  f.produce(ks.map((k, i) => f.readingTx(k, 0, { p: 10 * i }, 1, f.at(s1))), s1);
  const s2 = f.firstSlotOf(2);
  f.produce([], s2 - 8);
  assert.deepEqual(rankingForEpoch(f.state, 2).ranking, ks.map((k) => k.address));
  // computed once per state and epoch: a caller that changes its copy changes nothing else
  rankingForEpoch(f.state, 2).ranking.reverse();
  assert.deepEqual(rankingForEpoch(f.state, 2).ranking, ks.map((k) => k.address));
  f.produce([], s2); // produced by q-a: reward
  f.produce([], s2 + 8);
  assert.equal(balanceOf(f.state, ks[0]!.address), 2000n);
  const [A, B] = ks as [Key, Key];
  const h = { height: 9, slot: 9, epoch: 0, parent: '00'.repeat(32), producer: A.address, txRoot: '00'.repeat(32), stateRoot: '00'.repeat(32) };
  const h2 = { ...h, txRoot: '22'.repeat(32) };
  const evidence = f.sign(B, 'evidence', { a: { header: h, headerSignature: signHeader(A, h, f.genesis.hash) }, b: { header: h2, headerSignature: signHeader(A, h2, f.genesis.hash) } });
  f.produce([evidence]);
  assert.equal(balanceOf(f.state, A.address), 0n, 'rewards forfeited');
  assert.deepEqual(f.state.meta.ranking, [ks[1]!.address, ks[2]!.address]);
  assert.equal(refusal(f, f.sign(B, 'evidence', { a: { header: h, headerSignature: signHeader(A, h, f.genesis.hash) }, b: { header: h2, headerSignature: signHeader(A, h2, f.genesis.hash) } })), 'ALREADY_EQUIVOCATOR');
  f.produce([f.revocationTx([ks[2]!.address])]);
  assert.deepEqual(f.state.meta.ranking, [ks[1]!.address]);
  const before = balanceOf(f.state, B.address);
  f.produce([]);
  assert.equal(balanceOf(f.state, B.address), before + 1000n, 'the remaining validator produces and earns');
  // a new epoch never ranks the equivocator or the revoked address again
  const s3 = f.firstSlotOf(3);
  f.produce(ks.map((k, i) => f.readingTx(k, 1, { p: 10 * i }, 2, f.at(s3 - 8))).filter((_, i) => i !== 2), s3 - 8);
  f.produce([], s3);
  assert.deepEqual(f.state.meta.ranking, [ks[1]!.address], 'only B: A equivocated, C is revoked');
});

test('replay protection: a transaction id is remembered for its window, then pruned', () => {
  const { f, a } = setup();
  const tx = f.transferTx(f.aggregator, a.address, 5);
  f.produce([tx]);
  assert.equal(refusal(f, tx), 'DUPLICATE_TX');
  assert.equal(f.state.sections.seen.size, 4, '3 certificates + 1 transfer');
  const later = f.state.meta.tipSlot + (f.genesis.txWindowMs + 120_000) / f.genesis.slotMs;
  f.produce([], later);
  assert.equal(f.state.sections.seen.size, 0);
  assert.equal(refusal(f, tx, later + 1), 'DATE_OUT_OF_WINDOW');
});
