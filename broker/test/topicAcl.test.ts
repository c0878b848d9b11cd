import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canPublish, canRetain, canSubscribe, filterCovered, topicMatches } from '../topicAcl.js';

const M = 'meter-7';
const split = (s: string) => s.split('/');

test('topicMatches follows MQTT wildcard rules', () => {
  assert.ok(topicMatches(split('a/+/c'), split('a/b/c')));
  assert.ok(!topicMatches(split('a/+/c'), split('a/b/c/d')));
  assert.ok(topicMatches(split('a/#'), split('a')), '# matches the parent level');
  assert.ok(topicMatches(split('a/#'), split('a/b/c')));
  assert.ok(!topicMatches(split('a/b'), split('a')));
});

test('filterCovered: a filter is allowed only when no wider than the pattern', () => {
  assert.ok(filterCovered(split('tmi/v1/auctions/+'), split('tmi/v1/auctions/#')));
  assert.ok(filterCovered(split('tmi/v1/auctions/#'), split('tmi/v1/auctions/#')));
  assert.ok(!filterCovered(split('tmi/v1/#'), split('tmi/v1/auctions/#')));
  assert.ok(!filterCovered(split('tmi/v1/+/x'), split('tmi/v1/auctions/x')));
  assert.ok(filterCovered(split('tmi/v1/clients/a/errors'), split('tmi/v1/clients/+/errors')));
  assert.ok(!filterCovered(split('tmi/v1/clients/#'), split('tmi/v1/clients/+/errors')));
});

test('filterCovered is sound: every topic a covered filter matches, the pattern matches', () => {
  const level = fc.constantFrom('a', 'b', '+', '#');
  const topicLevel = fc.constantFrom('a', 'b', 'c');
  const filterArb = fc.array(level, { minLength: 1, maxLength: 4 }).filter((l) => !l.slice(0, -1).includes('#'));
  fc.assert(
    fc.property(filterArb, filterArb, fc.array(topicLevel, { minLength: 1, maxLength: 5 }), (f, p, t) => {
      if (filterCovered(f, p) && topicMatches(f, t)) return topicMatches(p, t);
      return true;
    }),
    { numRuns: 5000, seed: 7 },
  );
});

test('hem: publishes only its own market, reading, state and chain topics', () => {
  for (const t of ['tmi/v1/auctions/A/bids', 'tmi/v1/readings', `tmi/v1/meters/${M}/state`, 'tmi/v1/chain/txs', 'tmi/v1/chain/blocks', 'tmi/v1/chain/sync/request', 'tmi/v1/chain/sync/response/n1', 'tmi/v1/chain/votes']) {
    assert.ok(canPublish('hem', M, t), t);
  }
  for (const t of ['tmi/v1/auctions/A', 'tmi/v1/auctions/A/result', 'tmi/v1/meters/other/state', 'tmi/v1/schedule', `tmi/v1/clients/${M}/errors`, 'other/topic', '$SYS/x', 'tmi/v1/auctions/A/bids/x']) {
    assert.ok(!canPublish('hem', M, t), t);
  }
});

test('hem: subscribes to public topics and its own private ones only', () => {
  for (const t of ['tmi/v1/auctions/+', 'tmi/v1/auctions/#', 'tmi/v1/chain/blocks', 'tmi/v1/readings', `tmi/v1/clients/${M}/errors`, `tmi/v1/meters/${M}/#`, `tmi/v1/meters/${M}/state`, 'tmi/v1/schedule']) {
    assert.ok(canSubscribe('hem', M, t), t);
  }
  for (const t of ['#', 'tmi/#', 'tmi/v1/#', 'tmi/v1/meters/+/state', 'tmi/v1/clients/+/errors', 'tmi/v1/clients/other/errors', '$SYS/#', '+/v1/readings']) {
    assert.ok(!canSubscribe('hem', M, t), t);
  }
});

test('a meter id with topic characters never widens the ACL', () => {
  assert.ok(!canPublish('hem', 'a/b', 'tmi/v1/meters/a/b/state'));
  assert.ok(!canSubscribe('hem', '+', 'tmi/v1/meters/+/state'));
  assert.ok(!canSubscribe('hem', '#', 'tmi/v1/meters/#'));
});

test('other roles', () => {
  assert.ok(canPublish('aggregator', 'agg', 'tmi/v1/auctions/A'));
  assert.ok(canPublish('aggregator', 'agg', 'tmi/v1/clients/m1/errors'));
  assert.ok(!canPublish('aggregator', 'agg', 'tmi/v1/readings'));
  assert.ok(canSubscribe('aggregator', 'agg', 'tmi/v1/#'));
  assert.ok(!canSubscribe('aggregator', 'agg', '#'));
  assert.ok(canPublish('node', 'n', 'tmi/v1/chain/blocks'));
  assert.ok(!canPublish('node', 'n', 'tmi/v1/auctions/A/bids'));
  assert.ok(canSubscribe('node', 'n', 'tmi/v1/readings'));
  assert.ok(!canSubscribe('node', 'n', 'tmi/v1/meters/x/state'));
  assert.ok(!canPublish('analytics', 'x', 'tmi/v1/readings'));
  assert.ok(canSubscribe('analytics', 'x', 'tmi/v1/meters/+/state'));
  assert.ok(canPublish('admin', 'x', 'anything/at/all'));
  assert.ok(canSubscribe('admin', 'x', '$SYS/#'));
});

test('retained: only the aggregator (and admin) on auctions/{id}, auctions/{id}/result and schedule', () => {
  assert.ok(canRetain('aggregator', 'tmi/v1/auctions/A'));
  assert.ok(canRetain('aggregator', 'tmi/v1/auctions/A/result'));
  assert.ok(!canRetain('aggregator', 'tmi/v1/auctions/A/bids'));
  assert.ok(canRetain('aggregator', 'tmi/v1/schedule'));
  assert.ok(!canRetain('hem', 'tmi/v1/schedule'));
  assert.ok(!canRetain('aggregator', 'tmi/v1/schedule/x'));
  assert.ok(!canRetain('hem', 'tmi/v1/auctions/A'));
  assert.ok(canRetain('admin', 'x'));
  // [MKT] the aggregator's republished P2P clearings, one per interval
  assert.ok(canRetain('aggregator', 'tmi/v1/market/results/42'));
  assert.ok(!canRetain('aggregator', 'tmi/v1/market/results/x'));
  assert.ok(!canRetain('aggregator', 'tmi/v1/market/orders'));
  assert.ok(!canRetain('aggregator', 'tmi/v1/market/results/1/2'));
  assert.ok(!canRetain('hem', 'tmi/v1/market/results/42'));
});
