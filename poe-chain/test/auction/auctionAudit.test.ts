/** The audit input of `tmi auction clear`: the example files, signatures, garbage. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { auditAuction, auditAuctionResult } from '../../core/auction/auctionAudit.js';
import { AuctionError } from '../../core/auction/auctionError.js';
import { bidQuantities, MAX_BID_WH, MAX_PRICE_MC_PER_KWH } from '../../core/tx/applyBidOffer.js';
import type { OpenBid } from '../../../schemas/types.js';
import { compileSchema } from '../../../schemas/validators.js';
import { auctionResultParams as auctionResultSchema } from '../../../schemas/operations.js';

const root = new URL('../../../../', import.meta.url);
const example = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`aggregator/examples/${name}`, root), 'utf8')) as Record<string, unknown>;
const validResult = compileSchema(auctionResultSchema);
const isAuditError = (includes?: string) => (e: unknown) => {
  assert.ok(e instanceof AuctionError, String(e));
  assert.equal(e.code, 'INVALID_AUDIT_INPUT');
  if (includes !== undefined) assert.ok(e.message.includes(includes), `${e.message} should include ${includes}`);
  return true;
};

test('example auction.json: signed open buy auction with a binding feeder limit', () => {
  const r = auditAuction(example('auction.json'));
  // 25 kWh wanted at ≤ 10 c/kWh; F1 export ≤ 12 kWh.
  // merit: b 7.5 c → 8000 Wh (F1 4000 left); a 8.2 c → min(10000, 17000, 4000) = 4000 (F1 full);
  //        c 9.0 c → 12000 on F2 (total 24000); e 9.0 c (later inclusion than c) → 1000 (total 25000)
  assert.equal(r.status, 'cleared');
  assert.deepEqual(r.awards.map((a) => [a.feeder, a.energyWh, a.priceMcPerKWh, a.paymentMc]), [
    ['F1', 8_000, 7_500, 60_000n], //  8000 × 7500 / 1000
    ['F1', 4_000, 8_200, 32_800n], //  4000 × 8200 / 1000
    ['F2', 12_000, 9_000, 108_000n], // 12000 × 9000 / 1000
    ['F2', 1_000, 9_000, 9_000n], //    1000 × 9000 / 1000
  ]);
  assert.equal(r.awardedWh, 25_000);
  assert.equal(r.clearingPriceMcPerKWh, 9_000);
  assert.equal(r.totalPaymentMc, 209_800n);
  assert.deepEqual(r.excluded.map((e) => e.reason), ['WRONG_SIDE', 'PRICE_ABOVE_LIMIT']);
  assert.deepEqual(r.feeders, [{ feeder: 'F1', awardedWh: 12_000, limitWh: 12_000 }, { feeder: 'F2', awardedWh: 13_000, limitWh: 20_000 }]);
  assert.ok(validResult(auditAuctionResult(r)), JSON.stringify(validResult.errors));
});

test('[SEALED] example auction-sealed.json: sealed sell auction opened by its bidders\' reveals, uniform price', () => {
  const r = auditAuction(example('auction-sealed.json'));
  // 10 kWh sold at ≥ 6 c/kWh. descending: z 8.0 → 4000; x 7.0 → 4000; y 6.5 → 2000 of 5000; w 5.0 below.
  // uniform at 6500: 4000 × 6500 / 1000 = 26000, 26000, 2000 × 6500 / 1000 = 13000 → 65000
  assert.deepEqual(r.awards.map((a) => [a.energyWh, a.priceMcPerKWh, a.paymentMc]), [[4_000, 6_500, 26_000n], [4_000, 6_500, 26_000n], [2_000, 6_500, 13_000n]]);
  assert.equal(r.totalPaymentMc, 65_000n);
  assert.deepEqual(r.excluded.map((e) => e.reason), ['NOT_REVEALED', 'PRICE_BELOW_LIMIT']);
  // without the reveals, nothing can be opened
  const { reveals: _reveals, ...noReveals } = example('auction-sealed.json');
  const hidden = auditAuction(noReveals);
  assert.equal(hidden.awards.length, 0);
  assert.ok(hidden.excluded.every((e) => e.reason === 'NOT_REVEALED'));
});

test('[SEALED] a reveal signed by someone else than the bidder is refused; one for another bid is BAD_REVEAL', () => {
  const doc = example('auction-sealed.json');
  const reveals = doc.reveals as { envelope: { clientId: string; parameters: { bid: { price: { value: number } } } } }[];
  const tampered = JSON.parse(JSON.stringify(doc)) as typeof doc;
  (tampered.reveals as typeof reveals)[0]!.envelope.parameters.bid.price.value = 99;
  assert.throws(() => auditAuction(tampered), isAuditError('path=/reveals/0/envelope'));
  const r = auditAuction(tampered, { verify: false });
  assert.ok(r.excluded.some((e) => e.reason === 'BAD_REVEAL'), JSON.stringify(r.excluded));
});

test('signatures are verified: a tampered bid or auction is refused, unless verification is off', () => {
  const doc = example('auction.json');
  const bids = doc.bids as { envelope: { parameters: { bid: { price: { value: number } } } } }[];
  const tampered = structuredClone(bids);
  tampered[0]!.envelope.parameters.bid.price.value = 1;
  assert.throws(() => auditAuction({ ...doc, bids: tampered }), isAuditError('BAD_SIGNATURE'));
  assert.equal(auditAuction({ ...doc, bids: tampered }, { verify: false }).awards[0]!.priceMcPerKWh, 1_000);
  const auction = structuredClone(doc.auction) as { parameters: { energy: { value: number } } };
  auction.parameters.energy.value = 1_000;
  assert.throws(() => auditAuction({ ...doc, auction }), isAuditError('path=/auction'));
  // a bid-offer whose address is not its signer
  const swapped = structuredClone(bids) as unknown as { envelope: { clientId: string } }[];
  swapped[0]!.envelope.clientId = swapped[1]!.envelope.clientId;
  assert.throws(() => auditAuction({ ...doc, bids: swapped }), isAuditError('ADDRESS_MISMATCH'));
  // the declared aggregator key must be the auction's signer
  assert.throws(() => auditAuction({ ...doc, aggregatorPublicKey: 'ab'.repeat(32) }), isAuditError('path=/auction/clientId'));
});

test('unsigned parameters are accepted; inclusion defaults to the position in bids', () => {
  const addr = (n: string) => createHash('sha256').update(n).digest('hex');
  const bid = (n: string, kWh: number, cents: number) => ({
    reqId: `request-id-${n}-0000000`,
    parameters: { auctionId: 'a1', address: addr(n), cpf: 0.5, feeder: 'F1', bid: { type: 'sell', energy: { unit: 'kWh', value: kWh }, price: { unit: 'cents/kWh', value: cents } } },
  });
  const r = auditAuction({
    auction: {
      auctionId: 'a1', side: 'buy', energy: { unit: 'Wh', value: 1500 }, limitPrice: { unit: 'millicents/kWh', value: 9000 },
      delivery: { start: '2026-11-21T10:15:00.000Z', end: '2026-11-21T10:30:00.000Z' }, closesAt: '2026-11-21T10:05:00.000Z',
      pricing: 'pay-as-bid', sealed: false,
    },
    bids: [bid('p', 1, 8), bid('q', 1, 8), { ...bid('r', 1, 7), inclusion: 99 }],
  });
  // r 7000 → 1000; then p (position 0) before q (position 1), same price: p gets 500
  assert.deepEqual(r.awards.map((a) => [a.address, a.energyWh]), [[addr('r'), 1_000], [addr('p'), 500]]);
  assert.deepEqual(r.feeders, [{ feeder: 'F1', awardedWh: 1_500, limitWh: null }]);
});

test("the chain's range checks: an out-of-range bid is refused as the chain refuses it; an auction the chain refuses is an error", () => {
  const addr = (n: string) => createHash('sha256').update(n).digest('hex');
  const bid = (n: string, energy: { unit: 'kWh' | 'Wh'; value: number }, price: { unit: 'cents/kWh' | 'millicents/kWh'; value: number }) => ({
    reqId: `request-id-${n}-0000000`,
    parameters: { auctionId: 'a1', address: addr(n), cpf: 0.5, feeder: 'F1', bid: { type: 'sell', energy, price } },
  });
  const auction = {
    auctionId: 'a1', side: 'buy', energy: { unit: 'Wh', value: 1_000_000_000 }, limitPrice: { unit: 'millicents/kWh', value: 100_000_000 },
    delivery: { start: '2026-11-21T10:15:00.000Z', end: '2026-11-21T10:30:00.000Z' }, closesAt: '2026-11-21T10:05:00.000Z',
    pricing: 'pay-as-bid', sealed: false,
  };
  // at the chain's bounds exactly: 1 GWh at 10^8 mc/kWh = 10^14 mc; one Wh or one mc/kWh more is BID_OUT_OF_RANGE
  const atBound = bid('max', { unit: 'Wh', value: MAX_BID_WH }, { unit: 'millicents/kWh', value: MAX_PRICE_MC_PER_KWH });
  const overEnergy = bid('e', { unit: 'kWh', value: 1_000_000.001 }, { unit: 'millicents/kWh', value: 1 });
  const overPrice = bid('p', { unit: 'Wh', value: 1 }, { unit: 'cents/kWh', value: 100_000.001 });
  const r = auditAuction({ auction, bids: [overEnergy, atBound, overPrice] });
  assert.deepEqual(r.refused, [
    { address: addr('e'), reqId: overEnergy.reqId, code: 'BID_OUT_OF_RANGE' },
    { address: addr('p'), reqId: overPrice.reqId, code: 'BID_OUT_OF_RANGE' },
  ]);
  // the same decision as the chain's own check of a bid-offer transaction
  for (const b of [overEnergy, overPrice]) assert.equal(bidQuantities(b.parameters.bid as OpenBid), undefined);
  assert.deepEqual(r.awards.map((a) => [a.address, a.energyWh, a.paymentMc]), [[addr('max'), 1_000_000_000, 100_000_000_000_000n]]);
  assert.deepEqual(r.excluded, []);
  assert.ok(validResult(auditAuctionResult(r)), JSON.stringify(validResult.errors));

  for (const [change, reason] of [
    [{ energy: { unit: 'kWh', value: 1_000_000.001 } }, /BAD_AUCTION energy out of range/],
    [{ energy: { unit: 'Wh', value: 0 } }, /BAD_AUCTION energy out of range/],
    [{ limitPrice: { unit: 'cents/kWh', value: 100_000.001 } }, /BAD_AUCTION limit price out of range/],
    [{ feederLimits: [{ feeder: 'F1', maxExportWh: 1, maxImportWh: 1 }, { feeder: 'F1', maxExportWh: 2, maxImportWh: 2 }] }, /BAD_AUCTION feeder listed twice/],
  ] as const) {
    assert.throws(() => auditAuction({ auction: { ...auction, ...change }, bids: [atBound] }), (e: unknown) => e instanceof AuctionError && e.code === 'INVALID_AUDIT_INPUT' && reason.test(e.message), JSON.stringify(change));
  }
});

test('a bad input document is a coded INVALID_AUDIT_INPUT error naming the place', () => {
  const doc = example('auction.json');
  const cases: [unknown, string][] = [
    [null, 'path=/'],
    [[], 'path=/'],
    [{ bids: [] }, 'auction'],
    [{ ...doc, extra: 1 }, 'path=/'],
    [{ ...doc, bids: 'none' }, 'path=/bids'],
    [{ ...doc, bids: [{ inclusion: -1, envelope: {} }] }, 'path=/bids/0/inclusion'],
    [{ ...doc, bids: [{ reqId: 'short', parameters: {} }] }, 'path=/bids/0/reqId'],
    [{ ...doc, bids: [{ reqId: 'a-valid-request-id-123', parameters: { auctionId: 'x' } }] }, 'path=/bids/0/parameters'],
    [{ ...doc, bids: [{ envelope: { operation: 'auction-open' } }] }, 'path=/bids/0/envelope/operation'],
    [{ ...doc, auction: { auctionId: 'x' } }, 'path=/auction'],
    [{ ...doc, feederLimits: [{ feeder: 'F1', maxExportWh: -1, maxImportWh: 0 }] }, 'path=/feederLimits/0/maxExportWh'],
  ];
  for (const [input, where] of cases) assert.throws(() => auditAuction(input), isAuditError(where), JSON.stringify(input).slice(0, 80));
});

test('garbage never escapes as anything but INVALID_AUDIT_INPUT', () => {
  const doc = example('auction.json');
  fc.assert(
    fc.property(fc.oneof(fc.anything(), fc.record({ auction: fc.anything(), bids: fc.array(fc.anything(), { maxLength: 3 }) }), fc.record({ auction: fc.constant(doc.auction), bids: fc.array(fc.object(), { maxLength: 3 }) })), (v) => {
      try {
        auditAuction(v);
      } catch (e) {
        assert.ok(e instanceof AuctionError && e.code === 'INVALID_AUDIT_INPUT', String(e));
      }
    }),
    { numRuns: 500 },
  );
});
