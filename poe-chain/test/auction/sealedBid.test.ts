/** [SEALED] [AUC-11] [AUC-12] commit–reveal sealed bids. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bidCommitment, newSalt, revealOpens, sealBid } from '../../core/auction/sealedBid.js';
import { compileSchema } from '../../../schemas/validators.js';
import { sealedBid as sealedBidSchema, bidRevealParams } from '../../../schemas/operations.js';
import type { OpenBid } from '../../../schemas/types.js';

const bid: OpenBid = { type: 'sell', energy: { unit: 'Wh', value: 1500 }, price: { unit: 'millicents/kWh', value: 12_000 } };
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

test('a sealed bid is a commitment that only its bid, salt, auction and bidder open', () => {
  const { sealed, salt } = sealBid('auc-1', A, bid);
  assert.ok(compileSchema(sealedBidSchema)(sealed));
  assert.ok(compileSchema(bidRevealParams)({ auctionId: 'auc-1', address: A, bid, salt }));
  assert.match(sealed.commitment, /^[0-9a-f]{64}$/);
  assert.match(salt, /^[0-9a-f]{64}$/);
  assert.ok(revealOpens(sealed, { auctionId: 'auc-1', address: A, bid, salt }));
  // another price, salt, auction or bidder does not open it
  assert.equal(revealOpens(sealed, { auctionId: 'auc-1', address: A, bid: { ...bid, price: { unit: 'millicents/kWh', value: 12_001 } }, salt }), false);
  assert.equal(revealOpens(sealed, { auctionId: 'auc-1', address: A, bid, salt: newSalt() }), false);
  assert.equal(revealOpens(sealed, { auctionId: 'auc-2', address: A, bid, salt }), false);
  assert.equal(revealOpens(sealed, { auctionId: 'auc-1', address: B, bid, salt }), false);
});

test('the commitment is deterministic for given inputs, and fresh salts make equal bids look different', () => {
  const salt = '01'.repeat(32);
  assert.equal(bidCommitment({ auctionId: 'x', address: A, bid, salt }), bidCommitment({ auctionId: 'x', address: A, bid: { price: bid.price, energy: bid.energy, type: 'sell' }, salt }));
  const seen = new Set(Array.from({ length: 50 }, () => sealBid('x', A, bid).sealed.commitment));
  assert.equal(seen.size, 50);
  // the randomness is an argument (pure core)
  const fixed = (n: number) => new Uint8Array(n).fill(7);
  assert.deepEqual(sealBid('x', A, bid, fixed), sealBid('x', A, bid, fixed));
  assert.equal(sealBid('x', A, bid, fixed).salt, '07'.repeat(32));
});

test('without the salt, trying every plausible bid does not find the committed one', () => {
  // what an aggregator holding only the commitment could do: enumerate energies and prices
  const { sealed } = sealBid('auc-1', A, bid);
  let found = 0;
  for (let wh = 0; wh <= 3000; wh += 100) {
    for (let mc = 0; mc <= 40_000; mc += 1000) {
      const guess: OpenBid = { type: 'sell', energy: { unit: 'Wh', value: wh }, price: { unit: 'millicents/kWh', value: mc } };
      if (revealOpens(sealed, { auctionId: 'auc-1', address: A, bid: guess, salt: '00'.repeat(32) })) found++;
    }
  }
  assert.equal(found, 0);
});
