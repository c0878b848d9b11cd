/** `tmi auction clear` end to end: spawns the built CLI and reads its output. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileSchema } from '../../../schemas/validators.js';
import { auctionResultParams as auctionResultSchema } from '../../../schemas/operations.js';
import { ChainFixture } from '../../testkit/chainFixture.js';
import { MAX_BID_WH, MAX_PRICE_MC_PER_KWH } from '../../core/tx/applyBidOffer.js';
import type { KeyPair } from '../../../wire/keys.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const tmi = join(root, 'dist/cli/tmi.js');
const examples = join(root, 'aggregator/examples');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tmi, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('clears the example auction and prints allocation and payments', async () => {
  const r = await run(['auction', 'clear', '--input', join(examples, 'auction.json')]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { status: string; awardedWh: number; clearingPriceMcPerKWh: number; totalPaymentMc: number; awards: { energyWh: number; paymentMc: number }[]; excluded: { reason: string }[] };
  assert.equal(out.status, 'cleared');
  // 8000 + 4000 + 12000 + 1000 Wh; 60000 + 32800 + 108000 + 9000 mc (see auctionAudit.test)
  assert.deepEqual(out.awards.map((a) => [a.energyWh, a.paymentMc]), [[8_000, 60_000], [4_000, 32_800], [12_000, 108_000], [1_000, 9_000]]);
  assert.equal(out.awardedWh, 25_000);
  assert.equal(out.clearingPriceMcPerKWh, 9_000);
  assert.equal(out.totalPaymentMc, 209_800);
  assert.deepEqual(out.excluded.map((e) => e.reason), ['WRONG_SIDE', 'PRICE_ABOVE_LIMIT']);
});

test('prints auction-result parameters for the sealed example', async () => {
  const r = await run(['auction', 'clear', '--input', join(examples, 'auction-sealed.json'), '--format', 'auction-result']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { clearingPriceMillicentsPerKWh: number; awardedWh: number; excluded: { reason: string }[] };
  const valid = compileSchema(auctionResultSchema);
  assert.ok(valid(out), JSON.stringify(valid.errors));
  assert.equal(out.clearingPriceMillicentsPerKWh, 6_500);
  assert.equal(out.awardedWh, 10_000);
  assert.deepEqual(out.excluded.map((e) => e.reason), ['NOT_REVEALED', 'PRICE_BELOW_LIMIT']);
});

test('a bad input file is a clear error and exit code 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmi-auction-'));
  try {
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{"auction": ');
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ auction: { auctionId: 'x' }, bids: [] }));
    const cases: [string[], RegExp][] = [
      [['auction', 'clear', '--input', notJson], /not JSON/],
      [['auction', 'clear', '--input', wrong], /INVALID_AUDIT_INPUT path=\/auction/],
      [['auction', 'clear', '--input', join(dir, 'missing.json')], /ENOENT/],
      [['auction', 'clear', '--input', dir], /not a file/],
      [['auction', 'clear'], /--input <file> is required/],
      [['auction', 'settle', '--input', notJson], /expected the subcommand 'clear'/],
      [['auction', 'clear', '--input', notJson, '--format', 'xml'], /--format must be/],
      [['auction', 'clear', '--input', join(examples, 'auction.json'), '--max-bytes', '10'], /more than --max-bytes/],
      [['auction', 'clear', '--bogus'], /Unknown option/],
    ];
    for (const [args, expected] of cases) {
      const r = await run(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, expected, args.join(' '));
      assert.equal(r.stdout, '');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help documents the input format', async () => {
  const r = await run(['auction', '--help']);
  assert.equal(r.code, 0);
  for (const s of ['"auction"', '"bids"', '"feederLimits"', '"close"', 'inclusion', 'QUANTITY_FILLED', '--no-verify']) assert.ok(r.stdout.includes(s), s);
});

/**
 * The same auction on a chain (poe-chain's fixture: real blocks, the real state transition)
 * and through `tmi auction clear`: the bid the chain refuses as out of range is the one the
 * audit lists as refused with the chain's code, the awards are the chain's, and every
 * money amount is printed as an exact integer — including the largest payment the chain's
 * bounds allow (1 GWh × 10^8 mc/kWh = 10^14 mc), next to a bid whose payment would be
 * 10^20 mc, above 2^53 (refused, never printed as a float).
 */
test("an out-of-range bid and a payment above 2^53: refused as the chain refuses them; amounts exact and equal to the chain's", async () => {
  const f = new ChainFixture();
  const [big, huge, small] = ['hem-big', 'hem-huge', 'hem-small'].map((n) => f.key(n)) as [KeyPair, KeyPair, KeyPair];
  f.produce([f.certTx(big, { programme: 'TE' }), f.certTx(huge, { programme: 'TE' }), f.certTx(small, { programme: 'TE' })]);
  const closesAt = new Date(Date.parse(f.interval(1).start) + 10_000).toISOString();
  const open = f.auctionOpenTx('auc-max', { side: 'buy', energyWh: MAX_BID_WH, limitMc: MAX_PRICE_MC_PER_KWH, deliveryEpoch: 2, closesAt });
  f.produce([open]);
  const bids = [
    // 10^9 kWh at 10^8 c/kWh: 10^12 Wh × 10^11 mc/kWh → a payment of 10^20 mc (> 2^53 ≈ 9.007 × 10^15)
    f.bidTx(huge, 'auc-max', { open: { type: 'sell', energy: { unit: 'kWh', value: 1_000_000_000 }, price: { unit: 'cents/kWh', value: 100_000_000 } } }),
    f.bidTx(big, 'auc-max', { open: f.openBid('sell', MAX_BID_WH - 1, MAX_PRICE_MC_PER_KWH) }),
    f.bidTx(small, 'auc-max', { open: f.openBid('sell', 1, 999) }),
  ];
  const withBids = f.produce(bids, undefined, { allowRejects: true });
  assert.deepEqual(withBids.rejected.map((r) => [r.index, r.code]), [[0, 'BID_OUT_OF_RANGE']], 'the chain refuses the huge bid');
  const closeSlot = f.firstSlotOf(1) + 40;
  const close = f.auctionCloseTx('auc-max', f.aggregator, f.at(closeSlot));
  f.produce([close], closeSlot);
  const onChain = f.state.sections.auctions.get('auc-max')!;

  const dir = mkdtempSync(join(tmpdir(), 'tmi-auction-'));
  try {
    const input = join(dir, 'auction.json');
    writeFileSync(input, JSON.stringify({ auction: open, close, bids: bids.map((envelope, inclusion) => ({ inclusion, envelope })) }));
    const r = await run(['auction', 'clear', '--input', input, '--no-verify']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { refused: { address: string; code: string }[]; awards: { address: string; energyWh: number; priceMcPerKWh: number; paymentMc: number }[]; totalPaymentMc: number; excluded: unknown[] };
    assert.deepEqual(out.refused.map((x) => [x.address, x.code]), [[huge.address, 'BID_OUT_OF_RANGE']]);
    assert.deepEqual(out.awards.map((a) => [a.address, a.energyWh, a.priceMcPerKWh]), onChain.awards!.map((a) => [a.address, a.energyWh, a.priceMcPerKWh]), "the chain's awards");
    // exact integers in the text: (10^9 − 1) × 10^8 / 1000 = 99,999,999,900,000 and 1 × 999 / 1000 = 0
    assert.match(r.stdout, /"paymentMc": 99999999900000\b/);
    assert.match(r.stdout, /"totalPaymentMc": 99999999900000\b/);
    for (const a of out.awards) assert.equal(BigInt(a.paymentMc), (BigInt(a.energyWh) * BigInt(a.priceMcPerKWh)) / 1000n);
    assert.doesNotMatch(r.stdout, /e\+|\d\.\d+e/, 'no number in exponent form');
    // the auction-result of the same input validates and equals the chain's clearing
    const res = await run(['auction', 'clear', '--input', input, '--no-verify', '--format', 'auction-result']);
    assert.equal(res.code, 0, res.stderr);
    const result = JSON.parse(res.stdout) as { awardedWh: number; clearingPriceMillicentsPerKWh: number; excluded: { reason: string }[] };
    assert.ok(compileSchema(auctionResultSchema)(result));
    assert.equal(result.awardedWh, onChain.awardedWh);
    assert.equal(result.clearingPriceMillicentsPerKWh, onChain.clearingPriceMcPerKWh);
    assert.deepEqual(result.excluded.map((e) => e.reason), onChain.excluded!.map((e) => e.reason));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an auction the chain refuses, and an auction-result that would break its schema: exit 1, nothing on stdout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmi-auction-'));
  try {
    const auction = {
      auctionId: 'a1', side: 'buy', energy: { unit: 'kWh', value: 2_000_000 }, limitPrice: { unit: 'cents/kWh', value: 10 },
      delivery: { start: '2026-11-21T10:15:00.000Z', end: '2026-11-21T10:30:00.000Z' }, closesAt: '2026-11-21T10:05:00.000Z',
      pricing: 'pay-as-bid', sealed: false,
    };
    const address = 'ab'.repeat(32);
    const bid = (i: number) => ({ reqId: `request-id-${String(i).padStart(8, '0')}`, parameters: { auctionId: 'a1', address, cpf: 0.5, feeder: 'F1', bid: { type: 'sell', energy: { unit: 'Wh', value: 1 }, price: { unit: 'millicents/kWh', value: 1 } } } });
    const tooBig = join(dir, 'too-big.json');
    writeFileSync(tooBig, JSON.stringify({ auction, bids: [bid(0)] }));
    const r1 = await run(['auction', 'clear', '--input', tooBig]);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, /INVALID_AUDIT_INPUT path=\/auction .*the chain refuses this auction-open: BAD_AUCTION energy out of range \(2000000000 Wh; 0 < energy ≤ 1000000000 Wh\)/);
    assert.equal(r1.stdout, '');
    // 100,002 bids of one address: one award and 100,001 DUPLICATE_ADDRESS exclusions, one more than an auction-result may list
    const many = join(dir, 'many.json');
    writeFileSync(many, JSON.stringify({ auction: { ...auction, energy: { unit: 'Wh', value: 10 } }, bids: Array.from({ length: 100_002 }, (_, i) => bid(i)) }));
    const audit = await run(['auction', 'clear', '--input', many]);
    assert.equal(audit.code, 0, audit.stderr);
    assert.equal((JSON.parse(audit.stdout) as { excluded: unknown[] }).excluded.length, 100_001);
    const r2 = await run(['auction', 'clear', '--input', many, '--format', 'auction-result']);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /the auction-result would not validate against its schema: \/excluded must NOT have more than 100000 items/);
    assert.equal(r2.stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
