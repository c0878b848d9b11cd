import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCodec, signAndEncode } from '../../wire/codec.js';
import { generateKeyPair, publicKeyObject } from '../../wire/keys.js';
import { DirectoryCache } from '../directoryCache.js';
import { createEdgeValidator, type Login, type Verdict } from '../edgeValidator.js';
import { createMemoryDirectory, type MeterDirectory, type Role } from '../meterDirectory.js';
import { signedBid } from './brokerFixtures.js';

function setup(dir: MeterDirectory = createMemoryDirectory(), validate = true) {
  const logins = new Map<string, Login>();
  const cache = new DirectoryCache(dir);
  const codec = createCodec({ resolveKey: (id) => logins.get(id)?.key });
  const v = createEdgeValidator({ codec, cache, maxBytes: 1 << 20, validate });
  const login = (meterId: string, role: Role = 'hem') => {
    const key = generateKeyPair();
    const l: Login = { meterId, role, address: key.address, key: publicKeyObject(key.publicKey) };
    logins.set(meterId, l);
    return { l, key };
  };
  return { v, login, cache };
}

async function code(r: Verdict | Promise<Verdict>): Promise<string> {
  const x = await r;
  return x.ok ? 'OK' : x.rejection.code;
}

test('a rejection before the replay step does not use up the reqId', async () => {
  const dir = createMemoryDirectory();
  const { v, login } = setup(dir);
  const { l, key } = login('m1');
  dir.enroll({ meterId: 'm1', publicKey: key.address });
  const p = generateKeyPair();
  dir.certify('m1', p.address);
  const bid = signedBid(p, 'A1');
  assert.equal(await code(v.check(l, 'tmi/v1/auctions/A2/bids', bid, false)), 'TOPIC_MISMATCH');
  const first = v.check(l, 'tmi/v1/auctions/A1/bids', bid, false);
  assert.ok(first instanceof Promise, 'an uncached pseudonym is looked up');
  assert.equal(await code(first), 'OK');
  const again = v.check(l, 'tmi/v1/auctions/A1/bids', bid, false);
  assert.ok(!(again instanceof Promise), 'then it is cached: synchronous');
  assert.equal(await code(again), 'REPLAYED');
});

test('identity: own meter id, own key address, certified pseudonym; admin may carry any id', async () => {
  const dir = createMemoryDirectory();
  const { v, login } = setup(dir);
  const { l, key } = login('m1');
  const state = (clientId: string, k = key) => signAndEncode(k, 'state', { meterId: 'm1', socPermille: 1, pvW: 0, loadW: 0, batteryW: 0 }, { clientId });
  assert.equal(await code(v.check(l, 'tmi/v1/meters/m1/state', state('m1'), false)), 'OK');
  assert.equal(await code(v.check(l, 'tmi/v1/meters/m1/state', state(key.address), false)), 'OK');
  assert.equal(await code(v.check(l, 'tmi/v1/meters/m1/state', state('m2'), false)), 'NOT_YOUR_ID');
  const stranger = generateKeyPair();
  assert.equal(await code(v.check(l, 'tmi/v1/meters/m1/state', state(stranger.address, stranger), false)), 'NOT_YOUR_ID');
  const admin = login('ops', 'admin').l;
  assert.equal(await code(v.check(admin, 'tmi/v1/meters/m1/state', state(stranger.address, stranger), false)), 'OK');
});

test('directory failure while looking up a pseudonym → DIRECTORY_UNAVAILABLE', async () => {
  const broken: MeterDirectory = {
    meter: async () => undefined,
    pseudonymOwner: async () => {
      throw new Error('REGISTRY_TIMEOUT');
    },
    revokedSince: async (s) => ({ items: [], last: s }),
  };
  const { v, login } = setup(broken);
  const { l } = login('m1');
  assert.equal(await code(v.check(l, 'tmi/v1/auctions/A1/bids', signedBid(generateKeyPair(), 'A1'), false)), 'DIRECTORY_UNAVAILABLE');
});

test('retain rules, empty retained clear, validation off', async () => {
  const { v, login } = setup();
  const agg = login('agg', 'aggregator').l;
  assert.equal(await code(v.check(agg, 'tmi/v1/auctions/A1', Buffer.alloc(0), true)), 'OK', 'clearing a retained auction');
  assert.equal(await code(v.check(agg, 'tmi/v1/chain/txs', Buffer.from('{}'), true)), 'RETAIN_NOT_ALLOWED');
  assert.equal(await code(v.check(agg, 'tmi/v1/auctions/A1/x', Buffer.from('{}'), false)), 'TOPIC_MISMATCH');
  const off = setup(createMemoryDirectory(), false);
  const h = off.login('m1').l;
  assert.equal(await code(off.v.check(h, 'tmi/v1/readings', Buffer.from('garbage'), false)), 'OK');
  assert.equal(await code(off.v.check(h, 'tmi/v1/schedule', Buffer.from('garbage'), false)), 'NOT_AUTHORIZED_TOPIC');
});

test('[EDGE-12] a home asks for sync and checkpoints for itself only: another node id is NOT_YOUR_ID; a node login may name its own', async () => {
  const { v, login } = setup();
  const { l, key } = login('m1');
  const req = (nodeId: string, k = key, clientId = 'm1') => signAndEncode(k, 'sync-request', { nodeId, fromHeight: 1, maxBlocks: 512 }, { clientId });
  const cp = (nodeId: string) => signAndEncode(key, 'checkpoint-request', { nodeId }, { clientId: 'm1' });
  assert.equal(await code(v.check(l, 'tmi/v1/chain/sync/request', req('m1'), false)), 'OK');
  assert.equal(await code(v.check(l, 'tmi/v1/chain/sync/request', req('m2'), false)), 'NOT_YOUR_ID', 'another home\'s id');
  assert.equal(await code(v.check(l, 'tmi/v1/chain/sync/request', req('aggregator-node'), false)), 'NOT_YOUR_ID', 'the archive\'s own id');
  assert.equal(await code(v.check(l, 'tmi/v1/chain/sync/request', cp('m1'), false)), 'OK');
  assert.equal(await code(v.check(l, 'tmi/v1/chain/sync/request', cp('m2'), false)), 'NOT_YOUR_ID');
  const node = login('aggregator-node', 'node');
  assert.equal(await code(v.check(node.l, 'tmi/v1/chain/sync/request', req('aggregator-node', node.key, 'aggregator-node'), false)), 'OK');
});
