/** The void rule [AUC-13] [AUC-14]. closesAt = 1000 ms, grace = 500 ms → deadline 1500 ms. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auctionVoidReason, closeTiming, isAuctionVoid } from '../../core/auction/auctionVoid.js';
import { auctionKeyToWire, newAuctionKeyPair } from '../../core/auction/sealedBid.js';
import { AuctionError } from '../../core/auction/auctionError.js';

test('closing window: early before closesAt, on time up to closesAt + grace, late after', () => {
  assert.equal(closeTiming(999, 1_000, 500), 'early');
  assert.equal(closeTiming(1_000, 1_000, 500), 'on-time');
  assert.equal(closeTiming(1_500, 1_000, 500), 'on-time');
  assert.equal(closeTiming(1_501, 1_000, 500), 'late');
});

test('an auction not closed by its deadline is void', () => {
  // still open, not void yet
  assert.equal(isAuctionVoid(undefined, 1_000, 500, 1_200), false);
  assert.equal(isAuctionVoid(undefined, 1_000, 500, 1_500), false);
  // no close and the deadline has passed
  assert.equal(isAuctionVoid(undefined, 1_000, 500, 1_501), true);
  // closed on time: never void, whatever the time now
  assert.equal(isAuctionVoid(1_400, 1_000, 500, 9_999), false);
  // closed late
  assert.equal(isAuctionVoid(1_600, 1_000, 500, 9_999), true);
  // an early close does not count as a close
  assert.equal(isAuctionVoid(900, 1_000, 500, 1_600), true);
  assert.throws(() => isAuctionVoid(undefined, -1, 500, 0), (e: unknown) => e instanceof AuctionError && e.code === 'INVALID_AUCTION');
  assert.throws(() => closeTiming(1.5, 1_000, 500), (e: unknown) => e instanceof AuctionError && e.message.includes('field=closedAtMs'));
});

test('a sealed auction closed without its matching secret key is void', () => {
  const keys = newAuctionKeyPair(new Uint8Array(32).fill(7));
  const other = newAuctionKeyPair(new Uint8Array(32).fill(8));
  const base = { closesAtMs: 1_000, graceMs: 500, nowMs: 2_000, closedAtMs: 1_200, sealed: true, auctionPublicKey: auctionKeyToWire(keys.publicKey) };
  assert.equal(auctionVoidReason({ ...base, auctionSecretKey: auctionKeyToWire(keys.secretKey) }), null);
  assert.equal(auctionVoidReason({ ...base, auctionSecretKey: auctionKeyToWire(other.secretKey) }), 'SECRET_KEY_MISMATCH');
  assert.equal(auctionVoidReason({ ...base, auctionSecretKey: 'AAAA' }), 'SECRET_KEY_MISMATCH');
  assert.equal(auctionVoidReason(base), 'SECRET_KEY_MISSING');
  assert.equal(auctionVoidReason({ closesAtMs: 1_000, graceMs: 500, nowMs: 2_000, closedAtMs: 1_200, sealed: true }), 'PUBLIC_KEY_MISSING');
  assert.equal(auctionVoidReason({ ...base, closedAtMs: undefined }), 'NOT_CLOSED_IN_TIME');
  // open auctions need no key; an auction still open is not void
  assert.equal(auctionVoidReason({ ...base, sealed: false }), null);
  assert.equal(auctionVoidReason({ ...base, closedAtMs: undefined, nowMs: 1_100 }), null);
});
