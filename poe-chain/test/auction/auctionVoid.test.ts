/** The void rule [AUC-13] [AUC-14]. closesAt = 1000 ms, grace = 500 ms → deadline 1500 ms. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auctionVoidReason, closeTiming, isAuctionVoid } from '../../core/auction/auctionVoid.js';
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

test('auctionVoidReason: void only when no close came by the deadline (sealed auctions take no key any more [SEALED])', () => {
  const base = { closesAtMs: 1_000, graceMs: 500, nowMs: 2_000, closedAtMs: 1_200 };
  assert.equal(auctionVoidReason(base), null);
  assert.equal(auctionVoidReason({ ...base, closedAtMs: undefined }), 'NOT_CLOSED_IN_TIME');
  assert.equal(auctionVoidReason({ ...base, closedAtMs: undefined, nowMs: 1_100 }), null);
});
