import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signEnvelope } from '../../wire/codec.js';
import { keyPairFromSeed } from '../../wire/keys.js';
import { checkRoute, routeOf } from '../topicOperation.js';
import { bidOffer } from './brokerFixtures.js';

const kp = keyPairFromSeed(new Uint8Array(32).fill(3));

test('routes of the DESIGN §3 topics', () => {
  assert.deepEqual(routeOf('tmi/v1/auctions/A1'), { operations: ['auction-open', 'auction-close'], auctionId: 'A1' });
  assert.deepEqual(routeOf('tmi/v1/auctions/A1/bids'), { operations: ['bid-offer', 'bid-reveal'], auctionId: 'A1' });
  assert.deepEqual(routeOf('tmi/v1/auctions/A1/result'), { operations: ['auction-result'], auctionId: 'A1' });
  assert.deepEqual(routeOf('tmi/v1/readings'), { operations: ['meter-reading'] });
  assert.deepEqual(routeOf('tmi/v1/meters/m1/state'), { operations: ['state'], meterId: 'm1' });
  assert.deepEqual(routeOf('tmi/v1/chain/txs'), { operations: ['tx'] });
  assert.deepEqual(routeOf('tmi/v1/chain/sync/response/n1'), { operations: ['sync-response', 'checkpoint-response'] });
  assert.deepEqual(routeOf('tmi/v1/chain/sync/request'), { operations: ['sync-request', 'checkpoint-request'] });
  assert.deepEqual(routeOf('tmi/v1/chain/votes'), { operations: ['vote'] });
  assert.deepEqual(routeOf('tmi/v1/clients/m1/errors'), { operations: ['error'] });
  for (const t of ['tmi/v1/auctions', 'tmi/v1/auctions//bids', 'tmi/v1/auctions/A/x', 'tmi/v1/readings/x', 'tmi/v2/readings', 'tmi/v1/chain', 'tmi/v1/meters/m1', 'x']) {
    assert.equal(routeOf(t), undefined, t);
  }
});

test('checkRoute: operation and ids must match the topic', () => {
  const bid = signEnvelope(kp, 'bid-offer', bidOffer(kp, 'A1'));
  assert.equal(checkRoute(routeOf('tmi/v1/auctions/A1/bids')!, bid), undefined);
  assert.equal(checkRoute(routeOf('tmi/v1/auctions/A2/bids')!, bid)?.code, 'TOPIC_MISMATCH');
  assert.equal(checkRoute(routeOf('tmi/v1/readings')!, bid)?.code, 'TOPIC_MISMATCH');
  const st = signEnvelope(kp, 'state', { meterId: 'm1', socPermille: 1, pvW: 0, loadW: 0, batteryW: 0 });
  assert.equal(checkRoute(routeOf('tmi/v1/meters/m1/state')!, st), undefined);
  assert.equal(checkRoute(routeOf('tmi/v1/meters/m2/state')!, st)?.code, 'TOPIC_MISMATCH');
});
