/** The closing window [AUC-13]. closesAt = 1000 ms, grace = 500 ms → deadline 1500 ms. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeTiming } from '../../core/auction/auctionVoid.js';
import { AuctionError } from '../../core/auction/auctionError.js';

test('closing window: early before closesAt, on time up to closesAt + grace, late after', () => {
  assert.equal(closeTiming(999, 1_000, 500), 'early');
  assert.equal(closeTiming(1_000, 1_000, 500), 'on-time');
  assert.equal(closeTiming(1_500, 1_000, 500), 'on-time');
  assert.equal(closeTiming(1_501, 1_000, 500), 'late');
});

test('closing window: times must be safe non-negative integers', () => {
  assert.throws(() => closeTiming(0, -1, 500), (e: unknown) => e instanceof AuctionError && e.code === 'INVALID_AUCTION');
  assert.throws(() => closeTiming(1.5, 1_000, 500), (e: unknown) => e instanceof AuctionError && e.message.includes('field=closedAtMs'));
});
