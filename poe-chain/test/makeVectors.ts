/**
 * Generates the spec vectors in poe-chain/test/vectors/<case>/ (README "Spec vectors"):
 *   pre.json    {description, now, state}: the state before the block and the node's clock
 *   block.json  the block envelope
 *   post.json   the serialised state after the block            (valid blocks)
 *   expect.json {code, reason?}: the BlockError it must raise    (blocks that must be rejected)
 * Keys come from fixed seeds, request ids and sealed-bid randomness are deterministic, so
 * the output is the same on every run; vectors.test.ts checks the files against it.
 *
 *   node dist/poe-chain/test/makeVectors.js --write    rewrite poe-chain/test/vectors/
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signEnvelope } from '../../wire/codec.js';
import { ChainFixture, TEST_GENESIS_TIME } from '../testkit/chainFixture.js';
import { signBytes } from '../../wire/keys.js';
import { canonicalBytes } from '../../wire/canonicalJson.js';
import type { Certificate } from '../../schemas/types.js';
import { forgeBlock } from '../testkit/forgeBlock.js';
import { deserializeState, serializeState, stateRoot, type ChainState } from '../core/chainState.js';
import { BlockError } from '../core/chainError.js';
import { validateAndApplyBlock } from '../core/validateAndApplyBlock.js';
import { buildBlock } from '../core/buildBlock.js';
import { inclusionWindowStart, slotTime } from '../core/genesis.js';
import { sha256 } from '../core/hashing.js';
import { signHeader } from '../core/blockHash.js';
import { rankValidators, seedForEpoch, tieBreak } from '../core/rankingForEpoch.js';
import { electProducer, producerForSlot, productionOrder } from '../core/electProducer.js';
import { previousSeed, proveSeed } from '../core/epochSeed.js';
import { committeeInForce, genesisCheckpoint, sameCheckpoint } from '../core/finality.js';

export interface Vector {
  name: string;
  files: Map<string, string>;
}

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

function pre(description: string, state: ChainState, now: number): string {
  return json({ description, now: new Date(now).toISOString(), state: serializeState(state) });
}

class Vectors {
  readonly out: Vector[] = [];

  /** A valid block: builds it with the fixture (producer elected) and records pre/block/post. */
  valid(name: string, description: string, f: ChainFixture, txs: readonly unknown[], slot = f.state.meta.tipSlot + (txs.length === 0 ? f.genesis.patience : 1)): void {
    const before = f.state;
    const now = slotTime(f.genesis, slot);
    const b = f.produce(txs, slot);
    const files = new Map<string, string>();
    files.set('pre.json', pre(description, before, now));
    files.set('block.json', json(b.block));
    files.set('post.json', json(serializeState(b.state)));
    this.out.push({ name, files });
  }

  /** A block that must be rejected with `code` (and `reason`, for BAD_TX). Checked here. */
  reject(name: string, description: string, state: ChainState, block: unknown, now: number, code: string, reason?: string): void {
    try {
      validateAndApplyBlock(state, JSON.parse(JSON.stringify(block)), { now });
    } catch (err) {
      if (!(err instanceof BlockError)) throw err;
      if (err.code !== code || (reason !== undefined && err.context.reason !== reason)) {
        throw new Error(`vector ${name}: expected ${code} ${reason ?? ''}, got ${err.message}`);
      }
      const files = new Map<string, string>();
      files.set('pre.json', pre(description, state, now));
      files.set('block.json', json(block));
      files.set('expect.json', json({ code, ...(reason !== undefined ? { reason } : {}) }));
      this.out.push({ name, files });
      return;
    }
    throw new Error(`vector ${name}: the block was accepted`);
  }
}

/** Three pseudonyms certified at block 1: a, b (RE+TE, feeder F1) and c (TE, feeder F2). */
function base(): { f: ChainFixture; a: ReturnType<ChainFixture['key']>; b: ReturnType<ChainFixture['key']>; c: ReturnType<ChainFixture['key']> } {
  const f = new ChainFixture();
  const a = f.key('hem-a');
  const b = f.key('hem-b');
  const c = f.key('hem-c');
  f.produce([f.certTx(a), f.certTx(b), f.certTx(c, { programme: 'TE', feeder: 'F2' })]);
  return { f, a, b, c };
}

const closesAtOf = (f: ChainFixture) => new Date(Date.parse(f.interval(1).start) + 10_000).toISOString(); // epoch 1 + 10 s
const closeSlotOf = (f: ChainFixture) => f.firstSlotOf(1) + 40; // = closesAt

/** base + an open auction (buy 5000 Wh, limit 20000 mc/kWh, delivery epoch 2) with bids of a and c. */
function withAuction(pricing: 'pay-as-bid' | 'uniform' = 'pay-as-bid') {
  const x = base();
  const { f, a, b, c } = x;
  f.produce([
    f.auctionOpenTx('auc-1', { side: 'buy', energyWh: 5000, limitMc: 20_000, deliveryEpoch: 2, closesAt: closesAtOf(f), pricing, feederLimits: [{ feeder: 'F2', maxExportWh: 1500, maxImportWh: 0 }] }),
  ]);
  f.produce([
    f.bidTx(a, 'auc-1', { open: f.openBid('sell', 3000, 12_000) }),
    f.bidTx(b, 'auc-1', { open: f.openBid('sell', 2500, 15_000) }),
    f.bidTx(c, 'auc-1', { open: f.openBid('sell', 2000, 9_000) }, 'F2'),
  ]);
  return x;
}

/** Evidence that `who` signed two headers for one slot, submitted by `by` [POE-7.equivocation]. */
function equivocationOf(f: ChainFixture, who: ReturnType<ChainFixture['key']>, by: ReturnType<ChainFixture['key']>) {
  const h = { height: 1, slot: 1, epoch: 0, parent: '00'.repeat(32), producer: who.address, txRoot: '00'.repeat(32), stateRoot: '00'.repeat(32) };
  const h2 = { ...h, stateRoot: '33'.repeat(32) };
  return f.sign(by, 'evidence', { a: { header: h, headerSignature: signHeader(who, h, f.genesis.hash) }, b: { header: h2, headerSignature: signHeader(who, h2, f.genesis.hash) } });
}

export function makeVectors(): Vector[] {
  const v = new Vectors();

  // ── valid blocks ───────────────────────────────────────────────────────────
  {
    const f = new ChainFixture();
    v.valid('genesis-first-block', 'Block 1 on the genesis state: no validator is ranked, so the aggregator node produces it [POE-7.3]; no transactions.', f, []);
  }
  {
    const f = new ChainFixture();
    const a = f.key('hem-a');
    const b = f.key('hem-b');
    v.valid('certificates', 'Two pseudonym certificates, one posted by the pseudonym itself, one by the registry key [TX-K1]; registry signatures checked [TX-K2].', f, [
      f.certTx(a),
      f.sign(f.registry, 'certificate', f.certificate(b.address, { programme: 'RE' })),
    ]);
  }
  {
    const { f, a, b, c } = base();
    f.produce([f.auctionOpenTx('auc-1', { side: 'buy', energyWh: 5000, limitMc: 20_000, deliveryEpoch: 2, closesAt: closesAtOf(f) })]);
    v.valid('auction-bids', 'Bids of a (RE+TE) and c (TE) in an open auction, recorded with their inclusion order [TX-B1..B7].', f, [
      f.bidTx(a, 'auc-1', { open: f.openBid('sell', 3000, 12_000) }),
      f.bidTx(c, 'auc-1', { open: f.openBid('sell', 2000, 9_000) }, 'F2'),
    ]);
    void b;
  }
  {
    const { f } = withAuction();
    const s = closeSlotOf(f);
    v.valid(
      'auction-close-pay-as-bid',
      'auction-close at closesAt clears: c (9000 mc/kWh, feeder F2 limited to 1500 Wh) gets 1500, a (12000) 3000, b (15000) the remaining 500 (marginal, partly filled); pay-as-bid [AC-1][AUC-6].',
      f,
      [f.auctionCloseTx('auc-1', f.aggregator, f.at(s))],
      s,
    );
  }
  {
    const { f } = withAuction('uniform');
    const s = closeSlotOf(f);
    v.valid('auction-close-uniform', 'Same bids with uniform pricing: every award is paid the marginal price 15000 mc/kWh [AUC-7].', f, [f.auctionCloseTx('auc-1', f.aggregator, f.at(s))], s);
  }
  {
    // [SEALED] commit–reveal: a sealed aggregator-sell auction, reveal window 60 s = 240 slots
    const { f, a, b, c } = base();
    f.produce([f.auctionOpenTx('auc-s', { side: 'sell', energyWh: 4000, limitMc: 10_000, deliveryEpoch: 2, closesAt: closesAtOf(f), sealed: true })]);
    const sa = f.sealedBid(a, 'auc-s', f.openBid('buy', 3000, 14_000));
    const sb = f.sealedBid(b, 'auc-s', f.openBid('buy', 3000, 11_000));
    const sc = f.sealedBid(c, 'auc-s', f.openBid('buy', 2000, 20_000));
    v.valid('sealed-bids', 'Sealed bids of a, b and c: only their commitments (SHA-256 over auction, address, bid and salt) go on chain [SEALED][AUC-11][TX-B5].', f, [
      f.bidTx(a, 'auc-s', { sealed: sa.sealed }),
      f.bidTx(b, 'auc-s', { sealed: sb.sealed }),
      f.bidTx(c, 'auc-s', { sealed: sc.sealed }, 'F2'),
    ]);
    const s = closeSlotOf(f);
    const before = f.state;
    v.reject('reject-reveal-before-close', 'A reveal in a block before closesAt [REV-3].', before, forgeBlock(before, { slot: s - 1, producer: f.node, txs: [sa.reveal(f.at(s - 1))] }), slotTime(f.genesis, s - 1), 'BAD_TX', 'REVEAL_NOT_DUE');
    v.reject('reject-bad-reveal', 'A reveal with another salt than the committed one [REV-5].', before, forgeBlock(before, { slot: s, producer: f.node, txs: [sa.reveal(f.at(s), 'ab'.repeat(32))] }), slotTime(f.genesis, s), 'BAD_TX', 'BAD_REVEAL');
    v.reject('reject-close-sealed-auction', 'The aggregator\'s auction-close of a sealed auction: it takes no close, so a close can neither open its bids nor void it [TX-C4][SEALED].', before, forgeBlock(before, { slot: s, producer: f.node, txs: [f.auctionCloseTx('auc-s', f.aggregator, f.at(s))] }), slotTime(f.genesis, s), 'BAD_TX', 'SEALED_CLOSED_BY_CHAIN');
    v.valid('sealed-reveals', 'After closesAt a and b reveal (bid and salt match their commitments); c withholds its reveal [SEALED][REV-1..5].', f, [sa.reveal(f.at(s)), sb.reveal(f.at(s))], s);
    const end = s + 240;
    v.reject('reject-reveal-too-late', 'c\'s reveal at closesAt + revealWindowMs [REV-3].', f.state, forgeBlock(f.state, { slot: end, producer: f.node, txs: [sc.reveal(f.at(end))] }), slotTime(f.genesis, end), 'BAD_TX', 'REVEAL_TOO_LATE');
    v.valid(
      'sealed-auction-cleared-by-chain',
      'The first block at or after closesAt + revealWindowMs clears the sealed auction with no auction-close: a 3000 Wh at 14000, b 1000 Wh at 11000 (descending price); c\'s unrevealed bid is excluded NOT_REVEALED and c pays the 10000 mc fee to the aggregator; the clearing is the one without c [SEALED][AC-1].',
      f,
      [],
      end,
    );
  }
  {
    const { f } = withAuction();
    v.valid(
      'auction-closed-by-chain',
      'No auction-close: the first block at or after closesAt (an empty heartbeat at closesAt) clears the open-bid auction by the chain\'s clock, with the same awards as an auction-close would give (c 1500, a 3000, b 500) [CLOSE][EB-0].',
      f,
      [],
      closeSlotOf(f),
    );
    const late = f.state.meta.tipSlot + 1;
    v.reject(
      'reject-close-after-chain-cleared',
      'The aggregator\'s auction-close in a block after the chain cleared the auction [CLOSE][TX-C2].',
      f.state,
      forgeBlock(f.state, { slot: late, producer: f.node, txs: [f.auctionCloseTx('auc-1', f.aggregator, f.at(late))] }),
      slotTime(f.genesis, late),
      'BAD_TX',
      'AUCTION_NOT_OPEN',
    );
  }
  {
    const { f } = withAuction();
    // the chain stalls past closesAt + voidGraceMs (epoch 1 + 130 s = slot 3600 + 520): an open-bid auction is still cleared, never void
    v.valid('auction-closed-by-chain-after-stall', 'The first block after closesAt comes only after closesAt + voidGraceMs: the open-bid auction is cleared all the same, not void [CLOSE][AC-2].', f, [], f.firstSlotOf(1) + 521);
  }
  {
    const { f, a, b, c } = withAuction();
    const s = closeSlotOf(f);
    f.produce([f.auctionCloseTx('auc-1', f.aggregator, f.at(s))], s);
    const after = f.firstSlotOf(3) + 1;
    v.valid(
      'settlement-by-readings',
      'After delivery (epoch 2) readings arrive: a discharged 2800 of 3000 Wh (payment 2800×12000/1000 = 33600 mc, penalty 200×5000/1000 = 1000 mc), c discharged 1500 of 1500 (payment 13500 mc); b has no reading yet and stays unsettled [AC-3][AC-4].',
      f,
      [f.readingTx(a, 2, { p: 500, c: 300, dis: 2800 }, 1, f.at(after)), f.readingTx(c, 2, { dis: 1600 }, 1, f.at(after))],
      after,
    );
    v.valid('settlement-deadline', 'At delivery end + settleGraceMs (2 intervals) b still has no reading: it settles with 0 Wh measured, penalty 500×5000/1000 = 2500 mc; the auction is settled [AC-3][AC-5].', f, [], f.firstSlotOf(5));
    void b;
  }
  {
    // [SETTLE-1] two auctions for one delivery interval, won by the same home
    const { f, a, b } = base();
    f.produce([
      f.auctionOpenTx('auc-1', { side: 'buy', energyWh: 5000, limitMc: 20_000, deliveryEpoch: 2, closesAt: closesAtOf(f) }),
      f.auctionOpenTx('auc-2', { side: 'buy', energyWh: 3000, limitMc: 20_000, deliveryEpoch: 2, closesAt: closesAtOf(f) }),
    ]);
    f.produce([
      f.bidTx(a, 'auc-2', { open: f.openBid('sell', 2000, 10_000) }),
      f.bidTx(a, 'auc-1', { open: f.openBid('sell', 3000, 12_000) }),
      f.bidTx(b, 'auc-2', { open: f.openBid('sell', 1000, 15_000) }),
    ]);
    const s = closeSlotOf(f);
    f.produce([f.auctionCloseTx('auc-1', f.aggregator, f.at(s)), f.auctionCloseTx('auc-2', f.aggregator, f.at(s))], s);
    const after = f.firstSlotOf(3) + 1;
    const pre = f.state;
    const reading = f.readingTx(a, 2, { c: 300, dis: 4000 }, 1, f.at(after));
    v.valid(
      'settlement-shared-measurement',
      'a won 2000 Wh in auc-2 (its earlier bid) and 3000 Wh in auc-1 for the same delivery interval and discharged 4000 Wh: auc-2 is served first, 2000 Wh (payment 2000×10000/1000 = 20000 mc); auc-1 gets the 2000 Wh left (payment 2000×12000/1000 = 24000 mc, penalty 1000×5000/1000 = 5000 mc); paid 4000 Wh in all, never 7000; deliveries records 4000 Wh for a\'s meter [SETTLE-1][AC-3].',
      f,
      [reading],
      after,
    );
    // the same block under the old rule (each award against the whole reading): auc-1 paid 3000 Wh in full
    const post = serializeState(f.state) as unknown as { stateRoot?: string; sections: Record<string, [string, unknown][]> };
    const auc1 = post.sections.auctions!.find(([k]) => k === 'auc-1')![1] as { awards: { settlement: { deliveredWh: number; priorWh: number; paymentMc: number; penaltyMc: number } }[] };
    auc1.awards[0]!.settlement = { ...auc1.awards[0]!.settlement, deliveredWh: 3000, priorWh: 0, paymentMc: 36_000, penaltyMc: 0 };
    const wallets = post.sections.wallets!;
    const adjust = (addr: string, mc: bigint) => {
      const e = wallets.find(([k]) => k === addr)!;
      e[1] = (BigInt(e[1] as string) + mc).toString();
    };
    adjust(a.address, 36_000n - 24_000n + 5_000n);
    adjust(f.aggregator.address, -(36_000n - 24_000n + 5_000n));
    post.sections.deliveries = post.sections.deliveries!.map(([k]) => [k, { deliveredWh: 7000 }]);
    delete post.stateRoot;
    const doubleRoot = stateRoot(deserializeState(post));
    v.reject(
      'reject-settlement-paid-twice',
      'The same block whose state root pays auc-1\'s award its full 3000 Wh against the reading already used for auc-2 (7000 Wh paid for 4000 measured) [SETTLE-1].',
      pre,
      forgeBlock(pre, { slot: after, producer: f.node, txs: [reading], header: { stateRoot: doubleRoot } }),
      slotTime(f.genesis, after),
      'BAD_STATE_ROOT',
    );
  }
  {
    // [FEEDER-2] two auctions for one delivery interval share feeder F2's export limit (1500 Wh)
    const { f, a, c } = base();
    const closes2 = new Date(Date.parse(f.interval(1).start) + 20_000).toISOString(); // slot 3600 + 80
    const limits = [{ feeder: 'F2', maxExportWh: 1500, maxImportWh: 0 }];
    f.produce([
      f.auctionOpenTx('auc-1', { side: 'buy', energyWh: 1000, limitMc: 20_000, deliveryEpoch: 2, closesAt: closesAtOf(f), feederLimits: limits }),
      f.auctionOpenTx('auc-2', { side: 'buy', energyWh: 3000, limitMc: 20_000, deliveryEpoch: 2, closesAt: closes2, feederLimits: limits }),
    ]);
    f.produce([
      f.bidTx(c, 'auc-1', { open: f.openBid('sell', 1000, 9_000) }, 'F2'),
      f.bidTx(c, 'auc-2', { open: f.openBid('sell', 1200, 9_000) }, 'F2'),
      f.bidTx(a, 'auc-2', { open: f.openBid('sell', 2000, 12_000) }),
    ]);
    f.produce([], closeSlotOf(f)); // auc-1 cleared by the chain: c 1000 Wh on F2
    const s2 = f.firstSlotOf(1) + 80;
    const pre = f.state;
    v.valid(
      'feeder-limit-shared-across-auctions',
      'auc-1 (cleared earlier) awarded 1000 Wh on feeder F2 for delivery interval 2; auc-2 for the same interval gets what is left of F2\'s 1500 Wh export limit: c 500 of its 1200 Wh, a (F1) 2000 Wh; feederUse F2 = 1500 [FEEDER-2][CLOSE].',
      f,
      [],
      s2,
    );
    // the same block as a producer would make it that let auc-2 use the full limit again (F2: 1000 + 1200 Wh)
    const forgotten = serializeState(pre) as unknown as { stateRoot?: string; sections: Record<string, [string, unknown][]> };
    forgotten.sections.feederUse = [];
    delete forgotten.stateRoot;
    const full = buildBlock(deserializeState(forgotten), [], f.node, s2, slotTime(f.genesis, s2));
    v.reject(
      'reject-feeder-limit-used-twice',
      'The same block with the state root of a clearing that gives auc-2 the full F2 limit (c 1200 Wh), ignoring the 1000 Wh auc-1 awarded on F2 for that interval [FEEDER-2].',
      pre,
      forgeBlock(pre, { slot: s2, producer: f.node, header: { stateRoot: stateRoot(full.state) } }),
      slotTime(f.genesis, s2),
      'BAD_STATE_ROOT',
    );
  }
  {
    // [FEEDER-1] the registry's signed feeder limits as chain state
    const { f, a, c } = base();
    const t = f.state.meta.tipSlot + 1;
    const f2 = f.feederLimit('F2', 1500, 4000, { issuedAt: f.at(t) });
    v.valid(
      'feeder-limit',
      'The aggregator relays the registry\'s signed limits of F2 (export 1500 Wh, import 4000 Wh, issuedAt = the block time) and the registry posts F1\'s itself: the registry signature (over "TMI/v1/feeder-limit" ‖ 0x00 ‖ canonical JSON of {feeder, maxExportWh, maxImportWh, issuedAt}) verifies with the genesis registry key; feederLimits holds each feeder\'s record with its issuedAt [FEEDER-1][TX-F1..F4].',
      f,
      [f.feederLimitTx(f2, f.aggregator, f.at(t)), f.feederLimitTx(f.feederLimit('F1', 8000, 8000, { issuedAt: f.at(t) }), f.registry, f.at(t))],
      t,
    );
    const s = f.state.meta.tipSlot + 1;
    const now = slotTime(f.genesis, s);
    // an older record of F2, looser (10× the export), replayed over the one on chain
    const older = f.feederLimit('F2', 15_000, 4000, { issuedAt: new Date(Date.parse(f2.issuedAt) - 1).toISOString() });
    v.reject('reject-feeder-limit-stale', 'A registry-signed record of F2 issued 1 ms before the one on chain, with a 10× looser export limit: an old record cannot be replayed over a tightened one [TX-F4].', f.state, forgeBlock(f.state, { slot: s, producer: f.node, txs: [f.feederLimitTx(older, f.aggregator, f.at(s))] }), now, 'BAD_TX', 'STALE_FEEDER_LIMIT');
    const forged = f.feederLimit('F2', 15_000, 4000, { issuedAt: f.at(s), signer: f.aggregator });
    v.reject('reject-feeder-limit-bad-registry-signature', 'A newer F2 limit signed by the aggregator key instead of the registry key [TX-F2].', f.state, forgeBlock(f.state, { slot: s, producer: f.node, txs: [f.feederLimitTx(forged, f.aggregator, f.at(s))] }), now, 'BAD_TX', 'BAD_REGISTRY_SIGNATURE');
    const genuine = f.feederLimit('F2', 1000, 4000, { issuedAt: f.at(s) });
    v.reject('reject-feeder-limit-unauthorised-signer', 'A genuine registry-signed F2 record posted by a pseudonym (neither the registry, the aggregator nor the aggregator node) [TX-F1].', f.state, forgeBlock(f.state, { slot: s, producer: f.node, txs: [f.feederLimitTx(genuine, a, f.at(s))] }), now, 'BAD_TX', 'UNAUTHORISED_SIGNER');
    const future = f.feederLimit('F2', 1000, 4000, { issuedAt: new Date(now + f.genesis.txFutureMs + 1).toISOString() });
    v.reject('reject-feeder-limit-in-future', 'An F2 record issued txFutureMs + 1 ms after the block time [TX-F3].', f.state, forgeBlock(f.state, { slot: s, producer: f.node, txs: [f.feederLimitTx(future, f.aggregator, f.at(s))] }), now, 'BAD_TX', 'FEEDER_LIMIT_IN_FUTURE');
    void c;
  }
  {
    // [FEEDER-2] an auction-open may only tighten the registry's limit, never raise it
    const { f, a, b, c } = base();
    f.produce([f.feederLimitTx(f.feederLimit('F2', 1500, 0))]);
    f.produce([
      f.auctionOpenTx('auc-1', { side: 'buy', energyWh: 5000, limitMc: 20_000, deliveryEpoch: 2, closesAt: closesAtOf(f), feederLimits: [{ feeder: 'F2', maxExportWh: 15_000, maxImportWh: 0 }] }),
    ]);
    f.produce([
      f.bidTx(a, 'auc-1', { open: f.openBid('sell', 3000, 12_000) }),
      f.bidTx(b, 'auc-1', { open: f.openBid('sell', 2500, 15_000) }),
      f.bidTx(c, 'auc-1', { open: f.openBid('sell', 2000, 9_000) }, 'F2'),
    ]);
    v.valid(
      'auction-open-cannot-raise-feeder-limit',
      'The registry limits F2\'s export to 1500 Wh on chain; the aggregator\'s auction-open carries 15000 Wh for F2. The chain clears with min(1500, 15000) = 1500: c (9000 mc/kWh, F2) gets 1500 of its 2000 Wh, a 3000, b the remaining 500; feederUse F2 = 1500 [FEEDER-2][FEEDER-1][CLOSE].',
      f,
      [],
      closeSlotOf(f),
    );
  }
  {
    // [MKT] the P2P market of delivery interval 2: Christidis's Fig. 3.1 (bids a 1 kWh @ 11, b 2 kWh @ 7;
    // offers c 1 kWh @ 5, d 1 kWh @ 6 cents/kWh) plus e's sell offer it never reveals.
    // Test genesis: gate = start(2) − 5 min (slot 6000), orders close 60 s earlier (slot 5760).
    const { f, a, b, c } = base();
    const d = f.key('hem-d');
    const e = f.key('hem-e');
    f.produce([f.certTx(d), f.certTx(e)]);
    const orders = [
      f.marketOrder(a, 'o-a', { side: 'buy', energyWh: 1000, priceMc: 11_000, firstEpoch: 2 }),
      f.marketOrder(b, 'o-b', { side: 'buy', energyWh: 2000, priceMc: 7_000, firstEpoch: 2 }),
      f.marketOrder(c, 'o-c', { side: 'sell', energyWh: 1000, priceMc: 5_000, firstEpoch: 2, feeder: 'F2' }),
      f.marketOrder(d, 'o-d', { side: 'sell', energyWh: 1000, priceMc: 6_000, firstEpoch: 2 }),
    ];
    const eo = f.marketOrder(e, 'o-e', { side: 'sell', energyWh: 800, priceMc: 1_000, firstEpoch: 2 });
    const t = f.state.meta.tipSlot + 1;
    v.valid('market-orders', 'Sealed P2P orders of a, b (buy), c, d, e (sell) for delivery interval 2: only their commitments go on chain; one order slot per meter per interval [MKT][TX-O1..O5][MKT-ONE].', f, [...orders, eo].map((o) => o.tx(f.at(t))), t);
    const close = f.firstSlotOf(2) - 1440;
    const gate = f.firstSlotOf(2) - 1200;
    v.reject('reject-order-after-close', 'An order for interval 2 in a block at its order close (gate − revealWindowMs) [TX-O3].', f.state, forgeBlock(f.state, { slot: close, producer: f.node, txs: [f.marketOrder(a, 'o-late', { side: 'sell', energyWh: 1, priceMc: 1, firstEpoch: 3 }).tx(f.at(close)), f.marketOrder(b, 'o-late', { side: 'sell', energyWh: 1, priceMc: 1, firstEpoch: 2 }).tx(f.at(close))] }), slotTime(f.genesis, close), 'BAD_TX', 'ORDERS_CLOSED');
    v.reject('reject-second-order-same-meter', 'a\'s second order for interval 2 [MKT-ONE].', f.state, forgeBlock(f.state, { slot: t + 1, producer: f.node, txs: [f.marketOrder(a, 'o-a2', { side: 'sell', energyWh: 1, priceMc: 1, firstEpoch: 2 }).tx(f.at(t + 1))] }), slotTime(f.genesis, t + 1), 'BAD_TX', 'METER_ALREADY_ORDERED');
    v.reject('reject-market-reveal-before-close', 'a\'s reveal before the order close [TX-MR4].', f.state, forgeBlock(f.state, { slot: close - 1, producer: f.node, txs: [orders[0]!.reveal(f.at(close - 1))] }), slotTime(f.genesis, close - 1), 'BAD_TX', 'REVEAL_NOT_DUE');
    v.reject('reject-market-bad-reveal', 'a\'s reveal with another salt [TX-MR5].', f.state, forgeBlock(f.state, { slot: close, producer: f.node, txs: [orders[0]!.reveal(f.at(close), 'cd'.repeat(32))] }), slotTime(f.genesis, close), 'BAD_TX', 'BAD_REVEAL');
    v.valid('market-reveals', 'a, b, c and d reveal in [order close, gate); e withholds [MKT-SEAL][TX-MR1..MR5].', f, orders.map((o) => o.reveal(f.at(close))), close);
    v.reject('reject-market-reveal-too-late', 'e\'s reveal at the gate [TX-MR4].', f.state, forgeBlock(f.state, { slot: gate, producer: f.node, txs: [eo.reveal(f.at(gate))] }), slotTime(f.genesis, gate), 'BAD_TX', 'REVEAL_TOO_LATE');
    v.valid(
      'market-cleared-at-gate',
      'The first block at the gate clears interval 2: volume is largest (2000 Wh) for prices in [6000, 7000] mc/kWh, so the clearing price is the middle, 6500; c and d sell 1000 Wh each, a and b buy 1000 Wh each, every trade at 6500; a and b have ⌈1000 × 6500 / 1000⌉ = 6500 mc reserved; e\'s unrevealed order is out (NOT_REVEALED) and e pays the 10000 mc fee [MKT-GATE][MKT-SEAL][MKT-CREDIT].',
      f,
      [],
      gate,
    );
    const after = f.firstSlotOf(3) + 1;
    v.valid(
      'market-settlement-by-readings',
      'Readings of interval 2: c exports 1200 (paid 1000 × 6500 / 1000 = 6500 mc), d exports 600 of 1000 (paid 3900, imbalance 400 × 30000 / 1000 = 12000 mc), a imports 1000 (pays 6500), b imports 500 of 1000 (pays 3250, imbalance 15000); reservations released; the aggregator is the clearing house [MKT-SETTLE].',
      f,
      [
        f.readingTx(c, 2, { p: 1500, c: 300 }, 1, f.at(after)),
        f.readingTx(d, 2, { p: 600 }, 1, f.at(after)),
        f.readingTx(a, 2, { c: 1000 }, 1, f.at(after)),
        f.readingTx(b, 2, { c: 700, p: 200 }, 1, f.at(after)),
      ],
      after,
    );
  }
  {
    const { f, a, b } = base();
    f.produce([f.transferTx(f.aggregator, a.address, 50_000)]);
    v.valid('transfer', 'a transfers 20000 mc to b [TX-T1..T3].', f, [f.transferTx(a, b.address, 20_000)]);
  }
  {
    const { f, a, b } = base();
    v.valid('revocation', 'The registry revokes a (and a not-yet-certified address); a is marked revoked [TX-V1][TX-V2].', f, [f.revocationTx([a.address, f.key('hem-z').address], f.node)]);
    void b;
  }

  // ── election (README "Election", vectors/README.md has the arithmetic) ──────
  const election = (opts: ConstructorParameters<typeof ChainFixture>[0] = {}) => {
    const f = new ChainFixture(opts);
    const names = ['v-a', 'v-b', 'v-c', 'v-d', 'v-e', 'v-f', 'v-g'];
    const [A, B, C, D, E, F, G] = names.map((n) => f.key(n)) as [ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>];
    f.produce([A, B, C, D, F, G].map((k) => f.certTx(k)).concat([f.certTx(E, { programme: 'TE' })]));
    const s1 = f.firstSlotOf(1) + 1;
    const at = f.at(s1);
    // G signs two different headers for one slot: evidence of equivocation
    const h = { height: 1, slot: 1, epoch: 0, parent: '00'.repeat(32), producer: G.address, txRoot: '00'.repeat(32), stateRoot: '00'.repeat(32) };
    const h2 = { ...h, stateRoot: '11'.repeat(32) };
    const evidence = f.sign(f.node, 'evidence', { a: { header: h, headerSignature: signHeader(G, h, f.genesis.hash) }, b: { header: h2, headerSignature: signHeader(G, h2, f.genesis.hash) } }, at);
    f.produce(
      [
        f.readingTx(A, 0, { p: 1200, c: 1000, ch: 200 }, 1, at), // paper: |1200 − (1000 + 200)| = 0
        f.readingTx(B, 0, { p: 500, c: 600, dis: 100 }, 1, at), // paper: |500 − 600| = 100 (discharge is neither P nor C); net-exchange: |500 − 500| = 0
        f.readingTx(C, 0, { p: 500, c: 400 }, 1, at), // |500 − 400| = 100, and the same production as B
        f.readingTx(D, 0, { p: 3000, c: 1000, ch: 1500 }, 1, at), // |3000 − 2500| = 500
        f.readingTx(E, 0, { p: 1000, c: 1000 }, 1, at), // 0, but TE only: not a validator
        f.readingTx(F, 0, { p: 1000, c: 1000 }, 1, at), // 0, but revoked below
        f.readingTx(G, 0, { p: 1000, c: 1000 }, 1, at), // 0, but an equivocator
        f.revocationTx([F.address], f.registry, at, at),
        evidence,
      ],
      s1,
    );
    const s2 = f.firstSlotOf(2);
    const p = s2 - f.genesis.patience;
    f.produce([], p); // a heartbeat of epoch 1 (aggregator node: epoch 1 has no ranking), W slots before epoch 2
    return { f, A, B, C, D, s2, p };
  };
  {
    const { f, s2 } = election();
    v.valid('election-ranking-ties', 'First block of epoch 2 (a heartbeat, W slots after its parent): ranking from interval-0 readings = [A (0), then B and C (100, tie: no earlier intervals and equal production, so SHA-256(seed ‖ address) with the epoch\'s seed), D (500)]; E (TE), F (revoked), G (equivocator) excluded; order = ranking + aggregator node; ⌊(W − 1)/W⌋ mod 5 = 0: A produces, carries the epoch\'s VRF seed proof and earns the full reward (W slots) [CPF][POE-7.rank][SEED][LIVE][REWARD].', f, [], s2);
  }
  {
    const { f, p } = election();
    // ⌊(s − p − 1)/W⌋ = ⌊8/8⌋ = 1 → order[1]
    v.valid('election-patience-second', 'Epoch 2, parent at p = s2 − W, block at slot p + 9: ⌊(9 − 1)/8⌋ mod 5 = 1, so the second-ranked produces after W = 8 silent slots [POE-7.3].', f, [], p + 9);
  }
  {
    const { f, p } = election();
    v.valid('election-aggregator-last', 'Block at slot p + 1 + 4W: ⌊32/8⌋ mod 5 = 4: after the 4 ranked validators have had their patience, the aggregator node produces; it holds no RE certificate and earns nothing [LIVE].', f, [], p + 1 + 32);
  }
  {
    const { f, p } = election();
    // ⌊(6·8)/8⌋ mod 5 = 6 mod 5 = 1
    v.valid('election-patience-wraparound', 'Block at slot p + 1 + 6W: ⌊48/8⌋ mod 5 = 1, the turn wraps round the order of 5 (4 ranked + the aggregator node) [POE-7.3][LIVE].', f, [], p + 1 + 48);
  }
  {
    const { f, s2, A } = election();
    f.produce([], s2); // A, first block of epoch 2
    const tx = f.transferTx(A, f.key('v-b').address, 10, f.at(s2 + 1));
    v.valid('reward-per-slot', 'A block one slot after its parent earns ⌊1000 × min(1, W)/W⌋ = 125 mc: the reward pays the slots a block covers, so making a block at every slot earns no more than one per W slots [REWARD].', f, [tx], s2 + 1);
  }
  {
    const { f, s2 } = election({ genesis: { cpfRule: 'net-exchange' } });
    v.valid('election-net-exchange-rule', 'The same readings under genesis cpfRule "net-exchange" (C = consumed + charged − discharged): A and B both score 0 and tie; the seed orders them [CPF].', f, [], s2);
  }
  {
    // [CPF-window]: X and Y tie on interval 1 and differ on interval 0
    const f = new ChainFixture();
    const [X, Y] = ['w-x', 'w-y'].map((n) => f.key(n)) as [ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>];
    f.produce([f.certTx(X), f.certTx(Y)]);
    const s1 = f.firstSlotOf(1) + 1;
    f.produce([f.readingTx(X, 0, { p: 1000, c: 1300 }, 1, f.at(s1)), f.readingTx(Y, 0, { p: 1000, c: 1050 }, 1, f.at(s1))], s1); // X 300, Y 50
    const s2 = f.firstSlotOf(2) + 1;
    f.produce([f.readingTx(X, 1, { p: 400, c: 500 }, 2, f.at(s2)), f.readingTx(Y, 1, { p: 600, c: 700 }, 2, f.at(s2))], s2); // both 100
    const s3 = f.firstSlotOf(3);
    f.produce([], s3 - f.genesis.patience);
    v.valid('election-window-tiebreak', 'Epoch 3 ranks by interval 1: X and Y both score 100; the window (interval 0: X 300, Y 50; neither missing) puts Y first, not the seed [CPF-window].', f, [], s3);
  }
  {
    const f = new ChainFixture();
    const ks = ['w-a', 'w-b'].map((n) => f.key(n));
    f.produce(ks.map((k) => f.certTx(k)));
    f.produce([], f.firstSlotOf(2) - f.genesis.patience);
    v.valid('election-empty-fallback', 'Validators are certified but none has a reading for interval 0: the ranking of epoch 2 is empty and the aggregator node, alone in the order, produces [POE-7.3][LIVE].', f, [], f.firstSlotOf(2));
  }

  {
    // [SYBIL-3] one meter, two live pseudonyms (same registry tag): one place in the ranking
    const f = new ChainFixture();
    const [M1, M2, O] = ['m-1', 'm-2', 'o-1'].map((n) => f.key(n)) as [ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>];
    const tag = 'a1'.repeat(32);
    f.produce([f.certTx(M1, { tag }), f.certTx(M2, { tag }), f.certTx(O)]);
    const s1 = f.firstSlotOf(1) + 1;
    f.produce([f.readingTx(M1, 0, { p: 500, c: 500 }, 1, f.at(s1)), f.readingTx(M2, 0, { p: 500, c: 510 }, 1, f.at(s1)), f.readingTx(O, 0, { p: 500, c: 600 }, 1, f.at(s1))], s1);
    f.produce([], f.firstSlotOf(2) - f.genesis.patience);
    v.valid('sybil-one-place-per-meter', 'M1 and M2 are two pseudonyms of one meter (same certificate tag), both with readings for interval 0 (scores 0 and 10); O scores 100. The ranking of epoch 2 holds the meter once, by its newest certificate (equal validFrom here, so the smaller address), never both [SYBIL-3].', f, [], f.firstSlotOf(2));
  }

  {
    const { f, s2 } = election();
    f.produce([], s2); // A, first block of epoch 2
    const w = inclusionWindowStart(f.genesis, s2);
    v.valid('inclusion-window-aggregator-block', 'The first slot of epoch 2\'s inclusion window (its last inclusionSlots = 8 slots): the aggregator node produces (here a heartbeat), although A is live and top-ranked [CENSOR].', f, [], w);
  }

  {
    // [LIVE] the aggregator node's equivocation evidence goes on chain in epoch 1 (where it still
    // produces: the ranking is empty); from then on it is not last in the order of epoch 2
    const { f, A } = election();
    f.produce([equivocationOf(f, f.node, A)]);
    const s = f.state.meta.tipSlot + 1 + 4 * f.genesis.patience;
    if (producerForSlot(f.state, s) !== A.address) throw new Error('vector election-aggregator-equivocated: A is not elected');
    v.valid('election-aggregator-equivocated', 'The aggregator node N is recorded as an equivocator (evidence in the parent block): the order of epoch 2 is the ranking alone [A, C, B, D] (n = 4), so at slot p + 1 + 4W, ⌊32/8⌋ mod 4 = 0 gives A (with N last, n = 5, it would be N) [LIVE][POE-7.equivocation].', f, [], s);
  }

  // ── blocks that must be rejected ───────────────────────────────────────────
  {
    const { f, s2, B } = election();
    const now = slotTime(f.genesis, s2);
    v.reject('reject-bad-producer', 'Epoch 2, first slot: A is elected, B signs the block [POE-7.3].', f.state, forgeBlock(f.state, { slot: s2, producer: B }), now, 'BAD_PRODUCER');
  }
  {
    const { f, s2, A } = election();
    f.produce([], s2);
    const w = inclusionWindowStart(f.genesis, s2) + 1;
    const tx = f.transferTx(A, f.key('v-b').address, 1, f.at(w));
    v.reject('reject-validator-in-inclusion-window', 'The top-ranked validator A produces in the inclusion window, which belongs to the aggregator node [CENSOR].', f.state, forgeBlock(f.state, { slot: w, producer: A, txs: [tx] }), slotTime(f.genesis, w), 'BAD_PRODUCER');
  }
  {
    // [CPF] the same readings scored by the net-exchange rule elect another validator at p + 9
    const { f, p, A, B, C, D } = election();
    const slot = p + 9;
    const seed = seedForEpoch(f.state.meta, 2);
    const net = rankValidators(f.state.sections, 2, seed, { ...f.genesis, cpfRule: 'net-exchange' }).map((r) => r.address);
    const byNet = electProducer(productionOrder(net, f.node.address, true), f.state.meta.tipSlot, slot, f.genesis.patience);
    if (net.join() !== [A, B, C, D].map((k) => k.address).join() || byNet !== B.address || producerForSlot(f.state, slot) !== C.address) {
      throw new Error('vector reject-producer-by-net-exchange-rule: not the order the description gives');
    }
    v.reject('reject-producer-by-net-exchange-rule', 'A paper-rule chain, slot p + 9 of epoch 2: the paper order [A, C, B, D, N] elects C; the net-exchange rule (B scores 0, tie with A by the seed: [A, B, C, D, N]) would elect B. B\'s block is refused [CPF].', f.state, forgeBlock(f.state, { slot, producer: B }), slotTime(f.genesis, slot), 'BAD_PRODUCER');
  }
  {
    // [CPF-window] two validators tie on the score of interval 1; the seed would put one first, the window the other
    const f = new ChainFixture();
    const [K1, K2] = ['cw-p', 'cw-q'].map((n) => f.key(n)) as [ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>];
    f.produce([f.certTx(K1), f.certTx(K2)]);
    f.produce([], f.firstSlotOf(1)); // the first block of epoch 1 makes the seed that ranks epoch 3
    const seed = seedForEpoch(f.state.meta, 3);
    // P is the key with the smaller SHA-256(seed ‖ address)
    const [P, Q] = tieBreak(seed, K1.address) < tieBreak(seed, K2.address) ? [K1, K2] : [K2, K1];
    const [bySeed, byWindow] = [P, Q];
    const label2 = (k: typeof P) => (k === P ? 'P' : 'Q');
    const s1 = f.firstSlotOf(1) + 1;
    f.produce([f.readingTx(bySeed, 0, { p: 1000, c: 1300 }, 1, f.at(s1)), f.readingTx(byWindow, 0, { p: 1000, c: 1050 }, 1, f.at(s1))], s1); // 300 and 50
    const s2 = f.firstSlotOf(2) + 1;
    f.produce([f.readingTx(bySeed, 1, { p: 500, c: 600 }, 2, f.at(s2)), f.readingTx(byWindow, 1, { p: 500, c: 600 }, 2, f.at(s2))], s2); // both 100
    const s3 = f.firstSlotOf(3);
    f.produce([], s3 - f.genesis.patience);
    if (bySeed !== P || producerForSlot(f.state, s3) !== byWindow.address) throw new Error('vector reject-producer-by-seed-over-window: not the order the description gives');
    v.reject('reject-producer-by-seed-over-window', `Epoch 3: ${label2(bySeed)} and ${label2(byWindow)} both score 100 on interval 1 and produced alike; the seed key of ${label2(bySeed)} is the smaller, but the window (interval 0: ${label2(bySeed)} 300, ${label2(byWindow)} 50) ranks ${label2(byWindow)} first. ${label2(bySeed)}'s block at the first slot of epoch 3 is refused [CPF-window].`, f.state, forgeBlock(f.state, { slot: s3, producer: bySeed }), slotTime(f.genesis, s3), 'BAD_PRODUCER');
  }
  {
    // [LIVE] an aggregator node recorded as an equivocator has lost its last place in the order
    const { f, A } = election();
    f.produce([equivocationOf(f, f.node, A)]);
    const s = f.state.meta.tipSlot + 1 + 4 * f.genesis.patience;
    v.reject('reject-equivocated-aggregator-fallback', 'After its equivocation evidence is on chain, the aggregator node N signs the block at slot p + 1 + 4W of epoch 2, the turn it had as the last of [A, C, B, D, N]; the order is now [A, C, B, D] and the slot is A\'s [LIVE].', f.state, forgeBlock(f.state, { slot: s, producer: f.node }), slotTime(f.genesis, s), 'BAD_PRODUCER');
  }
  {
    // [SYBIL-3] two certificates of one tag: the ranking holds the newer; the older one's block in its slot is refused
    const f = new ChainFixture();
    const [Old, New, O] = ['sy-old', 'sy-new', 'sy-o'].map((n) => f.key(n)) as [ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>, ReturnType<ChainFixture['key']>];
    const tag = 'b2'.repeat(32);
    f.produce([f.certTx(Old, { tag }), f.certTx(New, { tag, validFrom: f.interval(1).start }), f.certTx(O)]);
    const s2 = f.firstSlotOf(2) + 1;
    f.produce([f.readingTx(Old, 1, { p: 500, c: 500 }, 1, f.at(s2)), f.readingTx(New, 1, { p: 500, c: 510 }, 1, f.at(s2)), f.readingTx(O, 1, { p: 500, c: 600 }, 1, f.at(s2))], s2);
    const s3 = f.firstSlotOf(3);
    f.produce([], s3 - f.genesis.patience);
    const ranked = rankValidators(f.state.sections, 3, seedForEpoch(f.state.meta, 3), f.genesis).map((r) => r.address);
    if (ranked.join() !== [New.address, O.address].join() || producerForSlot(f.state, s3) !== New.address) throw new Error('vector reject-sybil-second-place: the newer certificate is not first');
    v.reject('reject-sybil-second-place', 'Old (validFrom interval 0) and New (validFrom interval 1) are two pseudonyms of one meter (same tag), with readings for interval 1 scoring 0 and 10; O scores 100. The ranking of epoch 3 holds the meter once, by its newest certificate: [New, O]. Old\'s block at the first slot of epoch 3 (New\'s) is refused [SYBIL-3].', f.state, forgeBlock(f.state, { slot: s3, producer: Old }), slotTime(f.genesis, s3), 'BAD_PRODUCER');
  }
  {
    const { f, s2, A, B } = election();
    const now = slotTime(f.genesis, s2);
    v.reject('reject-seed-proof-missing', 'The first block of epoch 2 without the producer\'s VRF proof [SEED].', f.state, forgeBlock(f.state, { slot: s2, producer: A, noSeedProof: true }), now, 'BAD_SEED_PROOF', 'missing in the first block of an epoch');
    const byB = proveSeed(B.seed, f.genesis.hash, 2, previousSeed(f.state.meta)).proof;
    v.reject('reject-seed-proof-other-key', 'The first block of epoch 2 by A carrying a proof made with B\'s key [SEED].', f.state, forgeBlock(f.state, { slot: s2, producer: A, header: { seedProof: byB } }), now, 'BAD_SEED_PROOF', 'does not verify');
    const otherEpoch = proveSeed(A.seed, f.genesis.hash, 3, previousSeed(f.state.meta)).proof;
    v.reject('reject-seed-proof-other-epoch', 'A\'s proof for epoch 3 in its first block of epoch 2 [SEED].', f.state, forgeBlock(f.state, { slot: s2, producer: A, header: { seedProof: otherEpoch } }), now, 'BAD_SEED_PROOF', 'does not verify');
    const good = proveSeed(A.seed, f.genesis.hash, 2, previousSeed(f.state.meta)).proof;
    f.produce([], s2);
    const s = s2 + f.genesis.patience;
    v.reject('reject-seed-proof-not-first', 'A second block of epoch 2 carrying a seed proof [SEED].', f.state, forgeBlock(f.state, { slot: s, producer: A, header: { seedProof: good } }), slotTime(f.genesis, s), 'BAD_SEED_PROOF', 'not the first block of its epoch');
    v.reject('reject-early-empty-block', 'An empty block one slot after its parent: empty blocks are heartbeats only, s − p ≥ W [REWARD].', f.state, forgeBlock(f.state, { slot: s2 + 1, producer: A }), slotTime(f.genesis, s2 + 1), 'EARLY_EMPTY_BLOCK');
    v.reject('reject-header-signed-for-other-chain', 'A header signed over another chain\'s genesis hash (the same keys on a test network) [DOMAIN].', f.state, forgeBlock(f.state, { slot: s, producer: A, chain: 'ee'.repeat(32) }), slotTime(f.genesis, s), 'BAD_SIGNATURE');
    const h = { height: 9, slot: 9, epoch: 0, parent: '00'.repeat(32), producer: B.address, txRoot: '00'.repeat(32), stateRoot: '00'.repeat(32) };
    const h2 = { ...h, stateRoot: '22'.repeat(32) };
    const other = 'ee'.repeat(32);
    const foreign = f.sign(f.node, 'evidence', { a: { header: h, headerSignature: signHeader(B, h, other) }, b: { header: h2, headerSignature: signHeader(B, h2, other) } }, f.at(s2 + 1));
    v.reject('reject-evidence-from-other-chain', 'Equivocation evidence whose two headers B signed for another chain: no evidence here [DOMAIN][TX-E1].', f.state, forgeBlock(f.state, { slot: s2 + 1, producer: A, txs: [foreign] }), slotTime(f.genesis, s2 + 1), 'BAD_TX', 'BAD_EVIDENCE');
  }
  {
    // [SUB] the producer's run of blocks at one slot
    const { f, a, b } = base();
    const s = f.state.meta.tipSlot + 1;
    const pay = (n: number) => f.transferTx(f.aggregator, a.address, n, f.at(s));
    f.produce([pay(1)], s); // place 0
    v.valid('sub-block', 'N\'s second block at the slot of its first, with a transaction: place 1 (header `sub`: 1, the child of place 0). It earns no reward (it covers no slot: N holds no certificate here anyway) and meta.subBlocks counts it, so fork choice weighs the run as one block [SUB].', f, [pay(2)], s);
    const now = slotTime(f.genesis, s);
    v.reject('reject-sub-wrong-place', 'The next block of N\'s run at the slot claims place 3; the next place is 2 [SUB].', f.state, forgeBlock(f.state, { slot: s, producer: f.node, txs: [pay(3)], header: { sub: 3 } }), now, 'BAD_SUB');
    v.reject('reject-sub-empty', 'An empty block as place 2 of the run: it covers no slot, so it is never a heartbeat [SUB][REWARD].', f.state, forgeBlock(f.state, { slot: s, producer: f.node, header: { sub: 2 } }), now, 'EARLY_EMPTY_BLOCK');
    v.reject('reject-sub-other-producer', 'Place 2 of N\'s run at the slot signed by b: only the producer of the run\'s first block may continue it [SUB][POE-7.3].', f.state, forgeBlock(f.state, { slot: s, producer: b, txs: [pay(3)], header: { sub: 2 } }), now, 'BAD_PRODUCER');
    for (let n = 3; n <= 5; n++) f.produce([pay(n)], s); // places 2, 3, 4
    v.reject('reject-sub-past-limit', 'A sixth block at one slot (place 5): the header schema allows places 1 to 4, at most 5 blocks a slot [SUB].', f.state, forgeBlock(f.state, { slot: s, producer: f.node, txs: [pay(6)], header: { sub: 5 } }), now, 'BAD_ENCODING');
    v.reject('reject-sub-full-run', 'A sixth block at one slot without a place: not after its parent\'s slot, and the run is full [SUB][POE-7.slot].', f.state, forgeBlock(f.state, { slot: s, producer: f.node, txs: [pay(6)] }), now, 'BAD_SLOT');
    const z = f.key('sub-z');
    const h = { height: 4, slot: 9, epoch: 0, parent: '00'.repeat(32), producer: z.address, txRoot: '00'.repeat(32), stateRoot: '00'.repeat(32) };
    const h2 = { ...h, height: 5, parent: '11'.repeat(32), sub: 1 };
    const twoPlaces = f.sign(f.node, 'evidence', { a: { header: h, headerSignature: signHeader(z, h, f.genesis.hash) }, b: { header: h2, headerSignature: signHeader(z, h2, f.genesis.hash) } }, f.at(s + 1));
    v.reject('reject-evidence-two-places', 'Evidence of two headers z signed for one slot at places 0 and 1: the run of a slot, not a conflict [SUB][TX-E1].', f.state, forgeBlock(f.state, { slot: s + 1, producer: f.node, txs: [twoPlaces] }), slotTime(f.genesis, s + 1), 'BAD_TX', 'BAD_EVIDENCE');
  }
  {
    const { f } = base();
    const s = f.state.meta.tipSlot;
    v.reject('reject-slot-not-after-parent', 'Block at the same slot as its parent [POE-7.slot].', f.state, forgeBlock(f.state, { slot: s, producer: f.node }), slotTime(f.genesis, s + 10), 'BAD_SLOT');
    const far = s + 10;
    v.reject('reject-slot-ahead-of-clock', 'Block whose slot starts 2 slots after the node clock (more than one slot ahead) [POE-7.clock].', f.state, forgeBlock(f.state, { slot: far, producer: f.node }), slotTime(f.genesis, far) - 2 * f.genesis.slotMs, 'SLOT_IN_FUTURE');
    const ok = s + 1;
    const now = slotTime(f.genesis, ok);
    v.reject('reject-bad-parent', 'Header names a parent other than the tip.', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, header: { parent: 'ab'.repeat(32) } }), now, 'BAD_PARENT');
    v.reject('reject-bad-height', 'Header height is not parent height + 1.', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, header: { height: 3 } }), now, 'BAD_HEIGHT');
    v.reject('reject-bad-epoch', 'Header epoch does not match its slot.', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, header: { epoch: 1 } }), now, 'BAD_EPOCH');
    const good = forgeBlock(f.state, { slot: ok, producer: f.node });
    const badHeaderSig = { ...good, parameters: { ...good.parameters, headerSignature: signHeader(f.registry, good.parameters.header, f.genesis.hash) } };
    const reSigned = signEnvelope(f.node, 'block', badHeaderSig.parameters, { date: good.date, reqId: good.reqId });
    v.reject('reject-bad-header-signature', 'headerSignature is not the producer’s (envelope correctly signed).', f.state, reSigned, now, 'BAD_SIGNATURE');
    const tampered = { ...good, signature: good.signature.slice(0, 10) + (good.signature[10] === 'A' ? 'B' : 'A') + good.signature.slice(11) };
    v.reject('reject-bad-envelope-signature', 'One character of the envelope signature changed.', f.state, tampered, now, 'BAD_SIGNATURE');
    v.reject('reject-envelope-not-producer', 'Envelope signed by another key than the header producer.', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, envelopeSigner: f.registry }), now, 'BAD_SIGNATURE');
    const tx = f.transferTx(f.aggregator, f.key('hem-a').address, 10, f.at(ok));
    v.reject('reject-bad-tx-root', 'txRoot does not commit to the transactions.', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [tx], header: { txRoot: 'cd'.repeat(32) } }), now, 'BAD_TX_ROOT');
    v.reject('reject-duplicate-tx-in-block', 'The same transaction twice in one block.', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [tx, tx] }), now, 'DUPLICATE_TX');
    const badTx = { ...tx, parameters: { ...tx.parameters, amountMillicents: 11 } };
    v.reject('reject-bad-tx-signature', 'A transaction altered after signing (txRoot recomputed).', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [badTx] }), now, 'BAD_TX', 'BAD_SIGNATURE');
    const stateTx = f.sign(f.key('hem-a'), 'state', { meterId: 'm-1', socPermille: 500, pvW: 0, loadW: 0, batteryW: 0 }, f.at(ok));
    v.reject('reject-not-a-tx-operation', 'A signed `state` message is not a transaction [TX-1].', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [stateTx] }), now, 'BAD_TX', 'NOT_A_TX_OPERATION');
    const old = f.transferTx(f.aggregator, f.key('hem-a').address, 10, new Date(slotTime(f.genesis, ok) - f.genesis.txWindowMs - 1000).toISOString());
    v.reject('reject-tx-date-out-of-window', 'A transaction dated more than txWindowMs before the block time [TX-2].', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [old] }), now, 'BAD_TX', 'DATE_OUT_OF_WINDOW');
    const noChain = f.sign(f.aggregator, 'transfer', { to: f.key('hem-a').address, amountMillicents: 10 }, f.at(ok), null);
    v.reject('reject-tx-without-chain', 'A transfer signed by the aggregator key whose envelope names no chain [DOMAIN-TX].', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [noChain] }), now, 'BAD_TX', 'CHAIN_MISSING');
    const otherChain = f.sign(f.aggregator, 'transfer', { to: f.key('hem-a').address, amountMillicents: 10 }, f.at(ok), 'ee'.repeat(32));
    v.reject('reject-tx-signed-for-other-chain', 'A transfer signed by the same aggregator key for another chain (genesis hash ee…ee, a test network with the same keys) [DOMAIN-TX].', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [otherChain] }), now, 'BAD_TX', 'WRONG_CHAIN');
    const poor = f.transferTx(f.key('hem-a'), f.key('hem-b').address, 10, f.at(ok));
    v.reject('reject-insufficient-funds', 'A transfer larger than the balance [TX-T3].', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [poor] }), now, 'BAD_TX', 'INSUFFICIENT_FUNDS');
    const open = f.auctionOpenTx('auc-x', { deliveryEpoch: 2, closesAt: closesAtOf(f) }, f.key('hem-a'), f.at(ok));
    v.reject('reject-unauthorised-auction-open', 'auction-open signed by a pseudonym, not the genesis aggregator key [TX-A1].', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [open] }), now, 'BAD_TX', 'UNAUTHORISED_SIGNER');
    const z = f.key('hem-z');
    const certByOther = f.sign(f.key('hem-a'), 'certificate', f.certificate(z.address), f.at(ok));
    v.reject('reject-unauthorised-certificate', 'A certificate posted by a third party (neither the registry nor the pseudonym) [TX-K1].', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [certByOther] }), now, 'BAD_TX', 'UNAUTHORISED_SIGNER');
    const forged = { ...f.certificate(z.address), programme: 'RE' as const };
    const forgedTx = f.sign(z, 'certificate', forged, f.at(ok));
    v.reject('reject-bad-registry-signature', 'A certificate whose programme was changed after the registry signed it [TX-K2].', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [forgedTx] }), now, 'BAD_TX', 'BAD_REGISTRY_SIGNATURE');
    const uncertified = f.readingTx(z, 0, { p: 1 }, 1, f.at(f.firstSlotOf(1) + 1));
    const s1 = f.firstSlotOf(1) + 1;
    v.reject('reject-reading-uncertified', 'A meter reading from an uncertified pseudonym [TX-R4].', f.state, forgeBlock(f.state, { slot: s1, producer: f.node, txs: [uncertified] }), slotTime(f.genesis, s1), 'BAD_TX', 'NOT_CERTIFIED');
    const evidenceBad = (() => {
      const h = { height: 1, slot: 1, epoch: 0, parent: '00'.repeat(32), producer: z.address, txRoot: '00'.repeat(32), stateRoot: '00'.repeat(32) };
      const h2 = { ...h, slot: 2 };
      return f.sign(f.node, 'evidence', { a: { header: h, headerSignature: signHeader(z, h, f.genesis.hash) }, b: { header: h2, headerSignature: signHeader(z, h2, f.genesis.hash) } }, f.at(ok));
    })();
    v.reject('reject-bad-evidence', 'Evidence whose two headers are for different slots [TX-E1].', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [evidenceBad] }), now, 'BAD_TX', 'BAD_EVIDENCE');
    const hb = f.state.meta.tipSlot + f.genesis.patience;
    v.reject('reject-bad-state-root', 'A valid empty heartbeat whose header claims another state root.', f.state, forgeBlock(f.state, { slot: hb, producer: f.node, header: { stateRoot: 'ef'.repeat(32) } }), slotTime(f.genesis, hb), 'BAD_STATE_ROOT');
    const garbage = { ...good, parameters: { header: { ...good.parameters.header, slot: -1 }, headerSignature: good.parameters.headerSignature, txs: [] } };
    v.reject('reject-garbage-block', 'A block whose header fails the schema (negative slot).', f.state, garbage, now, 'BAD_ENCODING');
  }
  {
    const { f, a } = base();
    const tx = f.transferTx(f.aggregator, a.address, 10);
    f.produce([tx]);
    const s = f.state.meta.tipSlot + 1;
    v.reject('reject-duplicate-tx-on-chain', 'A transaction already on chain (within the window) included again [TX-3].', f.state, forgeBlock(f.state, { slot: s, producer: f.node, txs: [tx] }), slotTime(f.genesis, s), 'DUPLICATE_TX', 'DUPLICATE_TX');
  }
  {
    const { f, a, b } = withAuction();
    const s = closeSlotOf(f);
    const late = f.bidTx(f.key('hem-b'), 'auc-1', { open: f.openBid('sell', 1, 1) }, 'F1', f.at(s));
    void a;
    void b;
    v.reject('reject-bid-after-close', 'A bid in a block whose time is closesAt: bidding is over [TX-B4].', f.state, forgeBlock(f.state, { slot: s, producer: f.node, txs: [late] }), slotTime(f.genesis, s), 'BAD_TX', 'AUCTION_CLOSED');
    const early = f.auctionCloseTx('auc-1', f.aggregator, f.at(s - 1));
    v.reject('reject-early-close', 'auction-close in a block before closesAt [TX-C3][AUC-13].', f.state, forgeBlock(f.state, { slot: s - 1, producer: f.node, txs: [early] }), slotTime(f.genesis, s - 1), 'BAD_TX', 'AUCTION_NOT_DUE');
  }
  {
    const { f } = base();
    f.produce([f.auctionOpenTx('auc-1', { deliveryEpoch: 2, closesAt: closesAtOf(f) })]);
    const z = f.key('hem-z');
    const s = f.state.meta.tipSlot + 1;
    const bid = f.bidTx(z, 'auc-1', { open: f.openBid('sell', 100, 100) }, 'F1', f.at(s));
    v.reject('reject-bid-uncertified', 'A bid from a pseudonym without a certificate [TX-B1].', f.state, forgeBlock(f.state, { slot: s, producer: f.node, txs: [bid] }), slotTime(f.genesis, s), 'BAD_TX', 'NOT_CERTIFIED');
  }
  {
    // [SYBIL-1] [SYBIL-2]
    const { f, a } = base();
    const ok = f.state.meta.tipSlot + 1;
    const now = slotTime(f.genesis, ok);
    const z = f.key('hem-z');
    const { tag: _t, ...untagged } = f.certificate(z.address);
    void _t;
    const unsignedNoTag = { ...untagged };
    delete (unsignedNoTag as { registrySignature?: string }).registrySignature;
    const noTag = f.sign(z, 'certificate', { ...unsignedNoTag, registrySignature: signBytes(f.registry, canonicalBytes(unsignedNoTag)).toString('base64') } as Certificate, f.at(ok));
    v.reject('reject-cert-untagged', 'A registry-signed certificate without the meter tag [SYBIL-1].', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [noTag] }), now, 'BAD_TX', 'CERT_UNTAGGED');
    const crossing = f.certTx(z, { validTo: new Date(Date.parse(TEST_GENESIS_TIME) + 86_400_000 + 1).toISOString() }, f.at(ok));
    v.reject('reject-cert-crosses-period', 'A certificate valid 1 ms into the next certificate period [SYBIL-1].', f.state, forgeBlock(f.state, { slot: ok, producer: f.node, txs: [crossing] }), now, 'BAD_TX', 'BAD_CERT');
    // a second pseudonym of a's meter (same tag) bids in the auction a already bid in
    const a2 = f.key('hem-a2');
    const aTag = f.state.sections.certs.get(a.address)!.tag;
    f.produce([f.certTx(a2, { tag: aTag }), f.auctionOpenTx('auc-s', { deliveryEpoch: 2, closesAt: closesAtOf(f) })]);
    f.produce([f.bidTx(a, 'auc-s', { open: f.openBid('sell', 100, 100) })]);
    const s2 = f.state.meta.tipSlot + 1;
    const second = f.bidTx(a2, 'auc-s', { open: f.openBid('sell', 100, 90) }, 'F1', f.at(s2));
    v.reject('reject-second-bid-same-meter', 'A second pseudonym of one meter (same certificate tag) bids in an auction the meter already bid in [SYBIL-2].', f.state, forgeBlock(f.state, { slot: s2, producer: f.node, txs: [second] }), slotTime(f.genesis, s2), 'BAD_TX', 'METER_ALREADY_BID');
    const short = f.key('hem-short');
    f.produce([f.certTx(short, { validTo: f.interval(2).start })]);
    const s3 = f.state.meta.tipSlot + 1;
    const shortBid = f.bidTx(short, 'auc-s', { open: f.openBid('sell', 100, 90) }, 'F1', f.at(s3));
    v.reject('reject-bid-cert-not-covering-delivery', 'A bid whose certificate ends before the delivery interval [SYBIL-2].', f.state, forgeBlock(f.state, { slot: s3, producer: f.node, txs: [shortBid] }), slotTime(f.genesis, s3), 'BAD_TX', 'CERT_NOT_COVERING_DELIVERY');
  }
  {
    const f = new ChainFixture({ genesis: { maxTxsPerBlock: 2 } });
    const a = f.key('hem-a');
    const txs = [1, 2, 3].map((n) => f.transferTx(f.aggregator, a.address, n));
    v.reject('reject-too-many-txs', 'Three transactions in a block of a chain whose genesis allows two.', f.state, forgeBlock(f.state, { slot: 1, producer: f.node, txs }), slotTime(f.genesis, 1), 'TOO_MANY_TXS');
  }

  // ── finality (README "Finality", vectors/README.md has the arithmetic) ─────
  // The election chain, then A's first block of epoch 2 (height 4, slot s₂) and a transfer
  // block of A one slot later (height 5): the committee of epoch 2 is [A, C, B, D, N],
  // n = 5, quorum ⌊10/3⌋ + 1 = 4 [FIN-C][FIN-Q]; but only the genesis checkpoint is final, so
  // the committee in force is epoch 0's, the aggregator's node N alone (quorum 1), until a
  // block of epoch 2 is final [FIN-C].
  const finality = () => {
    const x = election();
    const { f, A, B, s2 } = x;
    f.produce([], s2);
    f.produce([f.transferTx(A, B.address, 10, f.at(s2 + 1))], s2 + 1);
    const committee = f.state.sections.committees.get('2');
    const want = [x.A, x.C, x.B, x.D, f.node].map((k) => k.address);
    if (committee?.join() !== want.join()) throw new Error('vector finality: the committee of epoch 2 is not [A, C, B, D, N]');
    const inForce = committeeInForce(f.state);
    if (inForce.epoch !== 0 || inForce.members.join() !== f.node.address) throw new Error('vector finality: the committee in force is not epoch 0\'s [N]');
    return { ...x, N: f.node, E: f.key('v-e'), g0: genesisCheckpoint(f.genesis.hash), t4: f.checkpoint(s2, 4), t5: f.checkpoint(s2 + 1, 5), hb: s2 + 1 + f.genesis.patience };
  };
  /** A block of `state` at `slot` by its elected producer carrying `txs` (forged: the rule under test must refuse it). */
  const forgeAt = (f: ChainFixture, state: ChainState, slot: number, txs: readonly unknown[]) => {
    const kp = f.keyOf(producerForSlot(state, slot));
    if (kp === undefined) throw new Error(`vector: no key for the producer of slot ${slot}`);
    return forgeBlock(state, { slot, producer: kp, txs });
  };
  {
    const { f, A, B, C, D, E, N, g0, t4, t5, hb, s2 } = finality();
    const pre5 = f.state;
    const J = (txs: readonly unknown[]) => forgeAt(f, pre5, hb, txs);
    const now = slotTime(f.genesis, hb);
    const at = f.at(hb);
    const justify = f.justificationTx(f.votes([N], g0, t4, f.at(t4.round)), { date: at });
    v.reject(
      'reject-justification-early-block',
      'A block one slot after its parent carrying only a (valid) justification: a block of justifications alone counts as empty, so it must be a heartbeat (s − p ≥ W) [FIN-J][REWARD].',
      pre5,
      forgeAt(f, pre5, s2 + 2, [f.justificationTx(f.votes([N], g0, t4, f.at(t4.round)), { date: f.at(s2 + 2) })]),
      slotTime(f.genesis, s2 + 2),
      'EARLY_EMPTY_BLOCK',
    );
    v.reject('reject-justification-target-epoch-committee', 'A justification of g₀ → t₄ with the votes of A, B, C and D: a quorum (4 of 5) of epoch 2\'s committee, the committee of the target\'s epoch, but only g₀ is final, so the committee in force is epoch 0\'s, N alone: A is not a member [FIN-4][FIN-C].', pre5, J([f.justificationTx(f.votes([A, B, C, D], g0, t4, f.at(t4.round)), { date: at })]), now, 'BAD_TX', 'NOT_IN_COMMITTEE');
    v.reject('reject-justification-not-in-committee', 'A justification of g₀ → t₄ with the votes of N and E: E holds a certificate (TE) but is not ranked, so in no committee [FIN-4][FIN-C].', pre5, J([f.justificationTx(f.votes([N, E], g0, t4, f.at(t4.round)), { date: at })]), now, 'BAD_TX', 'NOT_IN_COMMITTEE');
    const nTwice = f.votes([N, N], g0, t4, f.at(t4.round));
    v.reject('reject-justification-duplicate-voter', 'A justification of g₀ → t₄ with two votes of N (two envelopes, different reqIds): one vote per member [FIN-4][FIN-C].', pre5, J([f.justificationTx(nTwice, { date: at })]), now, 'BAD_TX', 'DUPLICATE_VOTER');
    const byE = { ...f.vote(E, g0, t4, f.at(t4.round)), clientId: N.address };
    v.reject('reject-justification-vote-signed-by-other-key', 'A justification of g₀ → t₄ with an entry for N whose signature E made (over the same vote envelope with N as clientId) [FIN-4][FIN-J].', pre5, J([f.justificationTx([byE], { date: at })]), now, 'BAD_TX', 'BAD_VOTE_SIGNATURE');
    const foreign = f.vote(N, g0, t4, f.at(t4.round), 'ee'.repeat(32));
    v.reject('reject-justification-vote-for-other-chain', 'A justification of g₀ → t₄ with the vote of N signed over another chain\'s genesis hash (ee…ee, a test network with the same keys): the checker rebuilds each vote envelope with this chain\'s [FIN-4][DOMAIN-TX].', pre5, J([f.justificationTx([foreign], { date: at })]), now, 'BAD_TX', 'BAD_VOTE_SIGNATURE');
    v.reject('reject-justification-unjustified-source', 'A justification of t₄ → t₅ by N before t₄ is justified (justified holds only round 0) [FIN-2].', pre5, J([f.justificationTx(f.votes([N], t4, t5, f.at(t5.round)), { date: at })]), now, 'BAD_TX', 'UNJUSTIFIED_SOURCE');
    const elsewhere = { round: t5.round, height: 5, hash: 'ab'.repeat(32) };
    v.reject('reject-justification-unknown-target', 'A justification by N of g₀ → (7201, height 5, ab…ab): a hash that is not this chain\'s block at height 5 [FIN-1].', pre5, J([f.justificationTx(f.votes([N], g0, elsewhere, f.at(t5.round)), { date: at })]), now, 'BAD_TX', 'UNKNOWN_TARGET');
    const early = { ...t4, round: t4.round - 1 };
    v.reject('reject-justification-round-before-target', 'A justification by N of g₀ → (7199, height 4, h₄): a round before the slot of the target block (7200) [FIN-1].', pre5, J([f.justificationTx(f.votes([N], g0, early, f.at(early.round)), { date: at })]), now, 'BAD_TX', 'BAD_ROUND');
    // t₄ in a round when t₅ (slot 7201) was already this chain's head
    const stale = { ...t4, round: t5.round + 1 };
    v.reject('reject-justification-not-head-at-round', `A justification by N of g₀ → (${stale.round}, height 4, h₄): in round ${stale.round} this chain's head was h₅ (slot 7201 ≤ ${stale.round}), so (${stale.round}, h₄) is not a checkpoint of this chain — one checkpoint per round and chain, so a later round's justified checkpoint never points below an earlier one's [FIN-1].`, pre5, J([f.justificationTx(f.votes([N], g0, stale, f.at(stale.round)), { date: at })]), now, 'BAD_TX', 'NOT_HEAD_AT_ROUND');
    const late = { ...t5, round: hb };
    v.reject('reject-justification-round-not-before-block', `A justification by N of g₀ → (${hb}, height 5, h₅) in the block at slot ${hb}: the round must be before the including block's slot [FIN-1].`, pre5, J([f.justificationTx(f.votes([N], g0, late, f.at(late.round)), { date: at })]), now, 'BAD_TX', 'BAD_ROUND');
    v.valid('finality-justify', `The heartbeat at slot ${hb} (W after its parent) by A carries a justification of the link g₀ → t₄ (genesis checkpoint → round 7200, height 4, A's first block of epoch 2) with the vote of N: the committee in force in h₄'s state is epoch 0's (g₀ is its final checkpoint), N alone, quorum(1) = 1, its signature valid; t₄ is justified (justified round 7200, meta.justified = t₄); 7200 ≠ 0 + 1, so nothing new is final [FIN-J][FIN-C][FIN-1..4][FIN-Q].`, f, [justify], hb);
    if (!sameCheckpoint(f.state.meta.justified, t4) || !sameCheckpoint(f.state.meta.finalized, g0)) throw new Error('vector finality-justify: not the checkpoints the description gives');
    const pre6 = f.state;
    const hb2 = hb + f.genesis.patience;
    const now2 = slotTime(f.genesis, hb2);
    const at2 = f.at(hb2);
    const J2 = (txs: readonly unknown[]) => forgeAt(f, pre6, hb2, txs);
    v.reject('reject-justification-already-justified', 'A second justification of t₄ (the same link g₀ → t₄, a fresh vote of N) after round 7200 is justified [FIN-3].', pre6, J2([f.justificationTx(f.votes([N], g0, t4, f.at(t4.round)), { date: at2 })]), now2, 'BAD_TX', 'ALREADY_JUSTIFIED');
    v.reject('reject-justification-link-backwards', 'A justification by N of the link t₄ → t₄: source.round = target.round (7200) [FIN-2][FIN-J].', pre6, J2([f.justificationTx(f.votes([N], t4, t4, f.at(t4.round)), { date: at2 })]), now2, 'BAD_TX', 'BAD_LINK');
    const below = f.checkpoint(t5.round, 3);
    v.reject('reject-justification-target-not-descendant', 'A justification by N of t₄ → (7201, height 3, h₃): a later round but a block below the source, not a descendant of it. On one chain such a target is never the head of its round (h₄, slot 7200, came after it), so [FIN-1] refuses it before [FIN-2] would [FIN-1][FIN-2][FIN-J].', pre6, J2([f.justificationTx(f.votes([N], t4, below, f.at(below.round)), { date: at2 })]), now2, 'BAD_TX', 'NOT_HEAD_AT_ROUND');
    const keys = (m: { entries(): Iterable<[string, unknown]> }) => [...m.entries()].map(([k]) => Number(k)).sort((x, y) => x - y).join();
    const committeesBefore = keys(pre6.sections.committees);
    v.valid(
      'finality-final',
      `The heartbeat at slot ${hb2} carries a justification of t₄ → t₅ (round 7201, height 5) with the vote of N, the committee in force in h₅'s state (epoch 0's): t₅ is justified (meta.justified = t₅) and, as 7201 = 7200 + 1, t₄ is final (meta.finalized = t₄), so from this block on epoch 2's committee [A, C, B, D, N] is in force; the records below it are pruned: justified round 0 and blockHashes heights 0–3; the committees stay (${committeesBefore}): epoch 0's is still in force for the kept blocks h₄, h₅ and h₆ [FIN-F][FIN-J][FIN-C][FIN-1..4].`,
      f,
      [f.justificationTx(f.votes([N], t4, t5, f.at(t5.round)), { date: at2 })],
      hb2,
    );
    const st = f.state;
    if (!sameCheckpoint(st.meta.finalized, t4) || !sameCheckpoint(st.meta.justified, t5) || keys(st.sections.justified) !== '7200,7201' || keys(st.sections.blockHashes) !== '4,5,6' || keys(st.sections.committees) !== committeesBefore || !committeesBefore.startsWith('0,')) {
      throw new Error('vector finality-final: not the finality and pruning the description gives');
    }
    const inForce = committeeInForce(st);
    if (inForce.epoch !== 2 || inForce.members.join() !== [A, C, B, D, N].map((k) => k.address).join()) throw new Error('vector finality-final: epoch 2\'s committee is not in force');
    // [FIN-C] the committee change took effect: a link to h₇ (the block that made t₄ final) is counted by epoch 2's committee
    const pre7 = f.state;
    const hb3 = hb2 + f.genesis.patience;
    const t7 = f.checkpoint(hb2, 7);
    const now3 = slotTime(f.genesis, hb3);
    const at3 = f.at(hb3);
    const J3 = (txs: readonly unknown[]) => forgeAt(f, pre7, hb3, txs);
    v.reject('reject-justification-old-committee', `A justification of t₅ → t₇ = (${hb2}, height 7, h₇) with the vote of N alone, a quorum of the committee in force before t₄ became final (epoch 0's); in h₇'s state t₄ is final, so epoch 2's committee is in force: 1 of 5, quorum 4 [FIN-4][FIN-C][FIN-Q].`, pre7, J3([f.justificationTx(f.votes([N], t5, t7, f.at(t7.round)), { date: at3 })]), now3, 'BAD_TX', 'NO_QUORUM');
    v.reject('reject-justification-no-quorum', 'A justification of t₅ → t₇ with the votes of B, C and N: 3 of the 5 members of epoch 2\'s committee (in force since t₄ is final), quorum ⌊10/3⌋ + 1 = 4 [FIN-4][FIN-Q].', pre7, J3([f.justificationTx(f.votes([B, C, N], t5, t7, f.at(t7.round)), { date: at3 })]), now3, 'BAD_TX', 'NO_QUORUM');
    v.valid(
      'finality-committee-change',
      `The heartbeat at slot ${hb3} carries a justification of t₅ → t₇ (round ${hb2}, height 7, the block that made t₄ final) with the votes of A, B, C and D: in h₇'s state t₄ (epoch 2) is final, so epoch 2's committee [A, C, B, D, N] is in force and 4 of its 5 members are a quorum without N; t₇ is justified (meta.justified = t₇); ${hb2} ≠ 7201 + 1, so nothing new is final [FIN-C][FIN-J][FIN-1..4][FIN-Q].`,
      f,
      [f.justificationTx(f.votes([A, B, C, D], t5, t7, f.at(t7.round)), { date: at3 })],
      hb3,
    );
    if (!sameCheckpoint(f.state.meta.justified, t7) || !sameCheckpoint(f.state.meta.finalized, t4)) throw new Error('vector finality-committee-change: not the checkpoints the description gives');
  }
  {
    // [FIN-E] A's conflicting votes, on chain in C's block at s₂ + 1 + W + 1 (⌊8/8⌋ mod 5 = 1 → C)
    const { f, A, B, g0, t4, t5, hb } = finality();
    const s = hb + 1;
    const at = f.at(s);
    const fork = { round: t5.round, height: 5, hash: 'cd'.repeat(32) };
    const pre5 = f.state;
    v.reject('reject-vote-evidence-no-conflict', 'Vote evidence of A\'s votes g₀ → t₄ and t₄ → t₅: chained links (the honest sequence), neither a double nor a surround vote [FIN-E1].', pre5, forgeAt(f, pre5, s, [f.voteEvidenceTx(f.vote(A, g0, t4, f.at(t4.round)), f.vote(A, t4, t5, f.at(t5.round)), f.node, at)]), slotTime(f.genesis, s), 'BAD_TX', 'BAD_VOTE_EVIDENCE');
    v.reject('reject-vote-evidence-two-voters', 'Vote evidence of A\'s vote g₀ → t₅ and B\'s vote g₀ → (7201, height 5, cd…cd): they would be a double vote if one member had signed both [FIN-E1].', pre5, forgeAt(f, pre5, s, [f.voteEvidenceTx(f.vote(A, g0, t5, f.at(t5.round)), f.vote(B, g0, fork, f.at(fork.round)), f.node, at)]), slotTime(f.genesis, s), 'BAD_TX', 'BAD_VOTE_EVIDENCE');
    const surround = [f.vote(A, g0, { ...t5, round: t5.round + 4 }, f.at(t5.round + 4)), f.vote(A, t4, t5, f.at(t5.round))] as const;
    v.valid(
      'vote-evidence-double',
      'Vote evidence of A\'s two votes for target round 7201: g₀ → t₅ and g₀ → (7201, height 5, cd…cd), a block of another branch: a double vote. A is recorded as an equivocator (slot 7201), its 1125 mc of block rewards are taken back (its wallet goes to −10 mc) and it leaves the ranking of epoch 2 [FIN-E][FIN-E1][FIN-E2][POE-7.equivocation].',
      f,
      [f.voteEvidenceTx(f.vote(A, g0, t5, f.at(t5.round)), f.vote(A, g0, fork, f.at(fork.round)), f.node, at)],
      s,
    );
    if (!f.state.sections.equivocators.has(A.address) || f.state.meta.ranking.includes(A.address) || f.state.sections.rewards.has(A.address)) throw new Error('vector vote-evidence-double: A is not punished');
    const s2nd = f.state.meta.tipSlot + 1;
    v.reject('reject-vote-evidence-already-equivocator', 'A surround-vote evidence against A after its double vote is on chain: A is already recorded [FIN-E2].', f.state, forgeAt(f, f.state, s2nd, [f.voteEvidenceTx(surround[0], surround[1], f.node, f.at(s2nd))]), slotTime(f.genesis, s2nd), 'BAD_TX', 'ALREADY_EQUIVOCATOR');
  }
  {
    const { f, A, g0, t4, t5, hb } = finality();
    const s = hb + 1;
    v.valid(
      'vote-evidence-surround',
      'Vote evidence of A\'s votes g₀ → (7205, height 5, h₅) and t₄ → t₅ (7200 → 7201): 0 < 7200 and 7201 < 7205, the second link lies strictly inside the first, a surround vote. A is recorded as an equivocator (slot 7205, the later target round), its 1125 mc of rewards are taken back and it leaves the ranking [FIN-E][FIN-E1][FIN-E2][POE-7.equivocation].',
      f,
      [f.voteEvidenceTx(f.vote(A, g0, { ...t5, round: t5.round + 4 }, f.at(t5.round + 4)), f.vote(A, t4, t5, f.at(t5.round)), f.node, f.at(s))],
      s,
    );
  }
  return v.out;
}

/** vectors/README.md: the election arithmetic, computed from the same fixture. */
export function electionReadme(): string {
  const f = new ChainFixture();
  const names = ['v-a', 'v-b', 'v-c', 'v-d', 'v-e', 'v-f', 'v-g'];
  const keys = Object.fromEntries(names.map((n) => [n, f.key(n).address]));
  const vec = makeVectors();
  const ties = vec.find((x) => x.name === 'election-ranking-ties')!;
  const st0 = deserializeState(JSON.parse(ties.files.get('pre.json')!).state);
  const seed = seedForEpoch(st0.meta, 2);
  const post = JSON.parse(ties.files.get('post.json')!) as { meta: { ranking: string[] } };
  const label = (addr: string) => Object.entries(keys).find(([, a]) => a === addr)?.[0].toUpperCase().replace('V-', '') ?? addr;
  const st = deserializeState(JSON.parse(ties.files.get('pre.json')!).state);
  const ranked = rankValidators(st.sections, 2, seed, st.genesis);
  const lines = [
    '# Spec vectors',
    '',
    'Each folder is one case: `pre.json` (`{description, now, state}`: the state before the',
    'block and the node clock), `block.json` (the block envelope), and either `post.json` (the',
    'serialised state after it) or `expect.json` (`{code, reason?}`: the `BlockError` it must',
    'raise; `reason` is the transaction error code for `BAD_TX`). Generated by',
    '`node dist/poe-chain/test/makeVectors.js --write` from fixed-seed keys',
    '(`SHA-256("tmi-testkit/" + name)`); `vectors.test.ts` replays every case and checks the',
    'files are what the generator makes. Their genesis (in every `pre.json`) has S = 250 ms and',
    'W = 8, the defaults.',
    '',
    '## Election arithmetic (`election-*`)',
    '',
    'Pseudonyms (address = public key, hex):',
    '',
    ...names.map((n) => `- ${n.replace('v-', '').toUpperCase()} = \`${keys[n]}\``),
    '',
    'Readings for interval 0, posted in epoch 1 (Wh). Score = |P − C| with the paper\'s C = consumed + charged',
    '(discharge is neither P nor C) [CPF]:',
    '',
    '| | P | consumed | charged | discharged | C | score | validator? |',
    '|---|---|---|---|---|---|---|---|',
    '| A | 1200 | 1000 | 200 | 0 | 1200 | 0 | yes (RE+TE) |',
    '| B | 500 | 600 | 0 | 100 | 600 | 100 | yes (net-exchange rule: C = 500, score 0) |',
    '| C | 500 | 400 | 0 | 0 | 400 | 100 | yes |',
    '| D | 3000 | 1000 | 1500 | 0 | 2500 | 500 | yes |',
    '| E | 1000 | 1000 | 0 | 0 | 1000 | 0 | no: certified TE only |',
    '| F | 1000 | 1000 | 0 | 0 | 1000 | 0 | no: revoked in the same block |',
    '| G | 1000 | 1000 | 0 | 0 | 1000 | 0 | no: equivocation evidence in the same block |',
    '',
    'Equal scores go to the window [CPF-window]: the 14 intervals before interval 0 do not exist, so',
    'B and C both miss 14 and sum 0, and both produced 500 Wh: the seed decides. The seed of epoch 2 [SEED] is the newest',
    'VRF seed made at the first block of an epoch ≤ 0: the first block of epoch 0 (height 1, by the',
    'aggregator node) made',
    `\`${seed}\`.`,
    '',
    'Tie-break keys SHA-256(seed ‖ address) over the 64 raw bytes, e.g.',
    '`printf %s <seed><address> | xxd -r -p | sha256sum`:',
    '',
    ...ranked.map((r) => `- ${label(r.address)}: score ${r.score}, window missing ${r.missing} sum ${r.windowWh}, produced ${r.producedWh} Wh, key \`${r.tieBreak}\``),
    '',
    `B and C tie at 100 and on the window; the smaller key goes first, so the ranking is`,
    `[${post.meta.ranking.map(label).join(', ')}] (4 validators) and the production order is the ranking`,
    'followed by the aggregator node N [LIVE] (n = 5).',
    '',
    `Producer of slot s with parent slot p = s₂ − W = ${f.firstSlotOf(2) - 8}, W = 8: order[⌊(s − p − 1)/8⌋ mod 5]:`,
    '',
    `- \`election-ranking-ties\`: s = p + 8 = s₂ → ⌊7/8⌋ = 0 → ${label(post.meta.ranking[0]!)}; the first block of epoch 2 carries ${label(post.meta.ranking[0]!)}'s VRF proof; it holds an RE+TE certificate and earns ⌊1000 × min(8, 8)/8⌋ = 1000 mc [REWARD].`,
    `- \`election-patience-second\`: s = p + 9 → ⌊8/8⌋ = 1 → ${label(post.meta.ranking[1]!)}.`,
    '- `election-aggregator-last`: s = p + 33 → ⌊32/8⌋ = 4 → N, the aggregator node.',
    `- \`election-patience-wraparound\`: s = p + 49 → ⌊48/8⌋ = 6, 6 mod 5 = 1 → ${label(post.meta.ranking[1]!)}.`,
    '- `reward-per-slot`: a block one slot after its parent earns ⌊1000 × 1/8⌋ = 125 mc.',
    '- `sub-block` and `reject-sub-*` [SUB]: the producer of a slot\'s first block may make up to four more at that slot, places 1–4 in the header\'s `sub` (absent for place 0), each the child of the one before and each with transactions; they earn no reward and fork choice counts the run once (meta.subBlocks). `reject-evidence-two-places`: two headers of one producer at one slot but different places are not evidence.',
    '- `election-net-exchange-rule`: genesis cpfRule "net-exchange": A and B both score 0 and the seed orders them.',
    '- `election-window-tiebreak`: X and Y tie at 100 on interval 1; interval 0 (X 300, Y 50) ranks Y first.',
    '- `election-empty-fallback`: two RE+TE pseudonyms but no reading for interval 0 → empty ranking → the order is [N].',
    '- `inclusion-window-aggregator-block` / `reject-validator-in-inclusion-window`: the last 8 slots of an epoch belong to N [CENSOR].',
    '- `sybil-one-place-per-meter`: two pseudonyms with one certificate tag rank once [SYBIL].',
    '- `reject-bad-producer`: s = p + 1 should be A; B signs → `BAD_PRODUCER`.',
    '- `reject-producer-by-net-exchange-rule` [CPF]: the same paper-rule chain, s = p + 9 → ⌊8/8⌋ = 1 → C. Under the net-exchange rule B would score |500 − (600 − 100)| = 0, tie with A and lose on the key (A `231e…` < B `dca3…`), so that order is [A, B, C, D, N] and index 1 is B. B signs → `BAD_PRODUCER`: the chain scores by its genesis rule only.',
    `- \`reject-producer-by-seed-over-window\` [CPF-window]: two validators P and Q (keys \`cw-p\` and \`cw-q\`, P being the one with the smaller SHA-256(seed ‖ address) under the seed of epoch 3); interval 1: both 500 produced, 600 consumed, score 100; interval 0: P 1000/1300 (300), Q 1000/1050 (50); window (k = 14): both miss 13, sums 300 and 50 → [Q, P]; the seed alone would give [P, Q]. At the first slot of epoch 3 (parent s₃ − W) ⌊7/8⌋ = 0 → Q; P signs → \`BAD_PRODUCER\`.`,
    '- `election-aggregator-equivocated` / `reject-equivocated-aggregator-fallback` [LIVE]: after the heartbeat at p, N makes the block at p + 1 (epoch 1 has no ranking, so N alone produces) holding evidence of its own equivocation (two headers it signed for one slot). The order of epoch 2 is then [A, C, B, D], n = 4. Next block at s = (p + 1) + 1 + 4W: ⌊32/8⌋ mod 4 = 0 → A produces (with N still last, ⌊32/8⌋ mod 5 = 4 would be N); N signs that slot → `BAD_PRODUCER`. N would produce again only if the ranking were empty.',
    '- `reject-sybil-second-place` [SYBIL-3]: Old (validFrom interval 0) and New (validFrom interval 1) carry one tag; their interval-1 readings score 0 and 10, O\'s 100. Per tag the newest certificate stays: ranking of epoch 3 = [New, O] (Old, the lower score, is not ranked). At the first slot of epoch 3 ⌊7/8⌋ = 0 → New; Old signs → `BAD_PRODUCER`.',
    '',
    ...finalityReadme(vec, label, f.node.address),
  ];
  return lines.join('\n');
}

/** vectors/README.md, finality part: the committee, quorum and round arithmetic of the `finality-*` / `*justification*` / `*vote-evidence*` cases. */
function finalityReadme(vec: readonly Vector[], label: (addr: string) => string, node: string): string[] {
  const justify = vec.find((x) => x.name === 'finality-justify')!;
  const st = deserializeState(JSON.parse(justify.files.get('pre.json')!).state);
  const g = st.genesis;
  const committee = st.sections.committees.get('2')!;
  const name = (a: string) => (a === node ? 'N' : label(a));
  const n = committee.length;
  const q = Math.floor((2 * n) / 3) + 1;
  const hash = (h: number) => (h === st.meta.height ? st.tipHash : st.sections.blockHashes.get(String(h))!.hash);
  const slot = (h: number) => (h === st.meta.height ? st.meta.tipSlot : st.sections.blockHashes.get(String(h))!.slot);
  const s2 = slot(4);
  const hb = slot(5) + g.patience;
  const hb2 = hb + g.patience;
  return [
    '## Finality arithmetic (`finality-*`, `reject-justification-*`, `*vote-evidence-*`)',
    '',
    `The election chain above, then A's first block of epoch 2 (height 4, slot s₂ = ${s2}) and a transfer block of A one slot later (height 5, slot ${slot(5)}):`,
    '',
    `- h₃ = \`${hash(3)}\` (slot ${slot(3)}), h₄ = \`${hash(4)}\` (slot ${slot(4)}), h₅ = \`${hash(5)}\` (slot ${slot(5)}).`,
    `- Committee of epoch 2 [FIN-C], fixed by the block at s₂ (committeeSize ${g.committeeSize} ≥ the 4 ranked): the ranking, then the aggregator node N: [${committee.map(name).join(', ')}], n = ${n}; quorum [FIN-Q] ⌊2·${n}/3⌋ + 1 = ⌊${2 * n}/3⌋ + 1 = ${q}.`,
    `- Committee in force [FIN-C]: a link counts by the committee of the epoch of the last final checkpoint in its target block's state (blockHashes: committeeEpoch), not its target's epoch. While only g₀ is final that is epoch 0's committee, N alone (nobody ranked in epoch 0), n = 1, quorum 1; epoch 2's takes effect in the state of the block that makes t₄ final (h₇).`,
    `- Checkpoints (round, height, hash): g₀ = (0, 0, genesis hash), justified and final from the start [FIN-J]; t₄ = (${s2}, 4, h₄); t₅ = (${slot(5)}, 5, h₅). A vote for g₀ → t₄ is an envelope \`{clientId: voter, reqId, date, operation: "vote", chain: genesis hash, parameters: {source: g₀, target: t₄}}\` signed by the voter; a justification carries, per vote, \`{voter, reqId, date, signature}\` and the checker rebuilds the envelope.`,
    '',
    `- \`finality-justify\`: slot ${hb} = ${slot(5)} + W, a heartbeat (a block of justifications alone counts as empty [REWARD]); producer ⌊(${hb} − ${slot(5)} − 1)/8⌋ mod 5 = 0 → A. Link g₀ → t₄: target h₄ is this chain's block at height 4, ${s2} ≤ ${s2} < ${hb} [FIN-1]; source g₀ justified, 0 < ${s2}, 0 ≤ 4 [FIN-2]; round ${s2} not yet justified [FIN-3]; the vote of N: committeeEpoch of h₄ = 0, committee [N], 1 ≥ quorum(1) = 1 [FIN-4]. Result: justified = {0, ${s2}}, meta.justified = t₄; ${s2} ≠ 0 + 1, so meta.finalized stays g₀.`,
    `- \`finality-final\`: the heartbeat at ${hb2} (⌊7/8⌋ = 0 → A); link t₄ → t₅ with the vote of N (committeeEpoch of h₅ = 0); ${slot(5)} = ${s2} + 1 [FIN-F] → t₄ is final: meta.finalized = t₄, meta.justified = t₅; pruned: justified rounds < ${s2} (round 0), blockHashes heights < 4 (0–3); committees of epochs below the lowest committeeEpoch still in blockHashes (h₄, h₅, h₆: 0) or below t₄'s epoch ⌊${s2}·${g.slotMs}/${g.intervalMs}⌋ = 2: none.`,
    `- \`finality-committee-change\`: the heartbeat at ${hb2 + g.patience}; t₇ = (${hb2}, 7, h₇), h₇ the block of \`finality-final\`, committeeEpoch 2 (t₄ final in its state); link t₅ → t₇ with A, B, C, D: 4 ≥ ${q} of [${committee.map(name).join(', ')}] → t₇ justified. On the same state: N alone → 1 < ${q} → \`NO_QUORUM\` (\`reject-justification-old-committee\`: the committee before the change); B, C, N → 3 < ${q} → \`NO_QUORUM\` (\`reject-justification-no-quorum\`).`,
    `- \`reject-justification-early-block\`: the justification of \`finality-justify\` alone at slot ${slot(5) + 1}, one slot after its parent (1 < W = 8) → \`EARLY_EMPTY_BLOCK\`.`,
    `- At slot ${hb} on the state of height 5 (committee in force [N]): g₀ → t₄ by A, B, C, D, a quorum of t₄'s epoch's committee → \`NOT_IN_COMMITTEE\` (\`reject-justification-target-epoch-committee\`); N, E (E certified TE, not ranked, in no committee) → \`NOT_IN_COMMITTEE\`; N, N (two envelopes of N) → \`DUPLICATE_VOTER\`; N's entry signed by E's key, or N's vote signed with chain = ee…ee → \`BAD_VOTE_SIGNATURE\`; t₄ → t₅ while justified = {0} → \`UNJUSTIFIED_SOURCE\`; g₀ → (${slot(5)}, 5, ab…ab) → \`UNKNOWN_TARGET\`; g₀ → (${s2 - 1}, 4, h₄): ${s2 - 1} < ${s2}, and g₀ → (${hb}, 5, h₅): ${hb} ≥ ${hb} → \`BAD_ROUND\`.`,
    `- At slot ${hb2} on the state of \`finality-justify\`: g₀ → t₄ again → \`ALREADY_JUSTIFIED\`; t₄ → t₄ (${s2} ≥ ${s2}) and t₄ → (${slot(5)}, 3, h₃) (height 3 < 4: not a descendant of h₄) → \`BAD_LINK\`.`,
    `- \`vote-evidence-double\` / \`vote-evidence-surround\` [FIN-E]: at slot ${hb + 1} (⌊(${hb + 1} − ${slot(5)} − 1)/8⌋ mod 5 = 1 → C). Double: A signed g₀ → t₅ and g₀ → (${slot(5)}, 5, cd…cd), two different votes for round ${slot(5)}. Surround: A signed g₀ → (${slot(5) + 4}, 5, h₅) and t₄ → t₅: 0 < ${s2} and ${slot(5)} < ${slot(5) + 4}. A had earned 1000 (block at s₂, W slots) + 125 (block at s₂ + 1, 1 slot) = 1125 mc and sent 10 mc to B: its wallet goes 1115 → −10 mc, its rewards record is dropped, it leaves the ranking (now [C, B, D]) and is recorded in equivocators with slot = the later target round.`,
    `- \`reject-vote-evidence-no-conflict\`: A's g₀ → t₄ and t₄ → t₅ are chained (one ends where the other starts): neither rule. \`reject-vote-evidence-two-voters\`: A's g₀ → t₅ and B's g₀ → (${slot(5)}, 5, cd…cd). Both → \`BAD_VOTE_EVIDENCE\`. \`reject-vote-evidence-already-equivocator\`: A's surround votes after its double vote is on chain → \`ALREADY_EQUIVOCATOR\`.`,
    '',
  ];
}


export function vectorsDir(): string {
  return fileURLToPath(new URL('../../../poe-chain/test/vectors/', import.meta.url));
}

/** Every file the generator makes, by relative path. */
export function renderVectorFiles(): Map<string, string> {
  const out = new Map<string, string>();
  for (const vec of makeVectors()) for (const [name, text] of vec.files) out.set(`${vec.name}/${name}`, text);
  out.set('README.md', electionReadme());
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--write')) {
  const dir = vectorsDir();
  const files = renderVectorFiles();
  for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) rmSync(join(dir, d.name), { recursive: true });
  for (const [rel, text] of files) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  process.stdout.write(`wrote ${files.size} files to poe-chain/test/vectors/\n`);
}
