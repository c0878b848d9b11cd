import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signEnvelope } from '../../../wire/codec.js';
import type { Envelope } from '../../../schemas/types.js';
import { balanceOf, createGenesisState } from '../../core/chainState.js';
import { parseGenesis, slotAt, slotTime } from '../../core/genesis.js';
import { openChainStoreAt } from '../../store/chainDataDir.js';
import { testKey } from '../../testkit/chainFixture.js';
import { readSyncPage } from '../../node/syncProtocol.js';
import { appendAll, buildChain, connect, memoryStore, pastGenesisConfig, startAedes, startNode, waitFor } from './nodeFixtures.js';

test('sync: a new node pages 150 blocks from a serving node; stopped for 100+ blocks, it resumes from disk and catches up', async () => {
  const broker = await startAedes();
  const dir = await mkdtemp(join(tmpdir(), 'tmi-node-sync-'));
  const funded = testKey('funded');
  const payee = testKey('payee').address;
  const config = pastGenesisConfig({ patience: 1, balances: [{ address: funded.address, millicents: 1_000_000 }] });
  const g = parseGenesis(config);
  const aggNode = testKey('aggregator-node');
  const first = slotAt(g, Date.now()) - 1000;
  const blocks = buildChain(createGenesisState(g), aggNode, first, 150, (i) =>
    i % 10 === 0 ? [signEnvelope(funded, 'transfer', { to: payee, amountMillicents: 100 + i }, { date: new Date(slotTime(g, first + i)), chain: g.hash })] : [],
  );
  const storeA = await memoryStore(config);
  await appendAll(storeA, blocks);
  const requests: string[] = [];
  const watcher = await connect(broker.url, 'watcher');
  await watcher.subscribeAsync('tmi/v1/chain/sync/request');
  watcher.on('message', (_t, p) => requests.push((JSON.parse(p.toString()) as { parameters: { nodeId: string } }).parameters.nodeId));

  const a = await startNode(broker.url, config, aggNode, 'node-a', { store: storeA, produce: true, serveSync: true });
  const openB = () => openChainStoreAt(dir, { genesis: config, createIfMissing: true });
  let b = await startNode(broker.url, config, testKey('node-b'), 'node-b', { store: await openB(), sync: { maxBlocks: 40, timeoutMs: 500, retries: 2 } });
  try {
    await waitFor('node-b at height 150', () => b.node.head().height >= 150, 15_000);
    assert.ok(requests.filter((n) => n === 'node-b').length >= 4, `paged in ≥ 4 requests (got ${requests.length})`);
    assert.equal(await b.store.hashAt(150), blocks[149]!.hash);
    await waitFor('same tip', () => b.node.head().hash === a.node.head().hash, 5000);
    assert.equal(balanceOf(b.node.state(), payee), balanceOf(a.node.state(), payee));
    assert.ok(balanceOf(b.node.state(), payee) > 0n);

    // stop B; A goes on (a heartbeat every slot with W = 1)
    const stoppedAt = b.node.head();
    await b.stop();
    await waitFor('100 more blocks on A', () => a.node.head().height >= stoppedAt.height + 100, 20_000);
    // restart from disk: the head is where it was, then it catches up
    b = await startNode(broker.url, config, testKey('node-b'), 'node-b', { store: await openB(), sync: { maxBlocks: 40, timeoutMs: 500, retries: 2 } });
    assert.equal(b.node.head().hash, stoppedAt.hash);
    assert.equal(b.node.head().height, stoppedAt.height);
    await waitFor('B caught up', () => b.node.head().height >= a.node.head().height - 1 && b.node.head().height > stoppedAt.height + 100, 15_000);
    await waitFor('same tip again', () => b.node.head().hash === a.node.head().hash, 5000);
    assert.equal(b.node.stats().rejectedBlocks.BAD_PARENT ?? 0, 0);
  } finally {
    await b.stop().catch(() => undefined);
    await a.stop();
    await watcher.endAsync();
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('[SYNC-3] on a minority branch: a peer of its own branch answers "nothing newer" first, the majority\'s page of orphans comes after; the node steps back and rejoins', async () => {
  // what a network split leaves behind (test/node/finalitySplit.resilience.test.ts): before the
  // fix the later answer was "blocks used, no paging", its blocks stayed orphans, and each new
  // orphan asked again from head + 1, answered first by the node's own side — it never rejoined
  const broker = await startAedes();
  const config = pastGenesisConfig({ patience: 1 });
  const g = parseGenesis(config);
  const aggNode = testKey('aggregator-node');
  const first = slotAt(g, Date.now()) - 1000;
  const common = buildChain(createGenesisState(g), aggNode, first, 3);
  const x = buildChain(common[2]!.state, aggNode, first + 3, 2); // the minority's branch: heights 4, 5
  const y = buildChain(common[2]!.state, aggNode, first + 10, 6); // the majority's: heights 4 … 9
  const [storeX, storeY] = [await memoryStore(config), await memoryStore(config)];
  await appendAll(storeX, [...common, ...x]);
  await appendAll(storeY, [...common, ...y]);
  const [peerX, peerY] = [testKey('peer-x'), testKey('peer-y')];
  const server = await connect(broker.url, 'servers');
  await server.subscribeAsync('tmi/v1/chain/sync/request');
  const requests: number[] = [];
  // every request is answered by the minority's peer first, then by the majority's
  server.on('message', (_t, payload) => {
    const req = JSON.parse(payload.toString()) as Envelope<'sync-request'>;
    if (req.parameters.nodeId !== 'node-b') return;
    requests.push(req.parameters.fromHeight);
    void (async () => {
      for (const [key, store] of [[peerX, storeX], [peerY, storeY]] as const) {
        const page = await readSyncPage(store, req.parameters.fromHeight, 200, 4 << 20);
        const resp = signEnvelope(key, 'sync-response', { requestReqId: req.reqId, tipHeight: store.head.height, blocks: page.blocks as never }, { date: new Date() });
        await server.publishAsync('tmi/v1/chain/sync/response/node-b', JSON.stringify(resp), { qos: 1 });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  });
  const storeB = await memoryStore(config);
  await appendAll(storeB, [...common, ...x]);
  const b = await startNode(broker.url, config, testKey('node-b'), 'node-b', { store: storeB, sync: { timeoutMs: 2000, retries: 0 } });
  try {
    await waitFor('node-b on the majority\'s branch', () => b.node.head().hash === y[5]!.hash, 10_000);
    assert.equal(requests[0], 6, 'first request from head + 1');
    assert.ok(requests.length >= 2 && requests[1]! < 6, `then a step back (requests from ${requests.join(', ')})`);
    assert.equal(b.node.head().height, 9);
  } finally {
    await b.stop();
    await server.endAsync();
    await broker.close();
  }
});

test('[SYNC-A] a validator home (serveSync archive) answers the aggregator\'s node\'s sync requests, and nobody else\'s', async () => {
  const broker = await startAedes();
  const config = pastGenesisConfig({ patience: 1 });
  const g = parseGenesis(config);
  const validator = testKey('validator-home');
  const first = slotAt(g, Date.now()) - 100;
  // blocks the archive made and no longer holds (a wiped data directory): a home has them
  const blocks = buildChain(createGenesisState(g), testKey('aggregator-node'), first, 30, () => []);
  const storeV = await memoryStore(config);
  await appendAll(storeV, blocks);
  const answers = new Map<string, number>();
  const watcher = await connect(broker.url, 'watcher');
  await watcher.subscribeAsync('tmi/v1/chain/sync/response/+');
  watcher.on('message', (t) => answers.set(t.split('/').pop()!, (answers.get(t.split('/').pop()!) ?? 0) + 1));
  // the validator holds the 30 blocks, answers as a home does, and produces nothing
  const v = await startNode(broker.url, config, validator, 'home-v', { store: storeV, serveSync: 'archive' });
  const sync = { maxBlocks: 10, timeoutMs: 400, retries: 1 };
  const other = await startNode(broker.url, config, testKey('another-home'), 'home-x', { store: await memoryStore(config), sync });
  const archive = await startNode(broker.url, config, testKey('aggregator-node'), 'aggregator-node', { store: await memoryStore(config), sync });
  try {
    assert.equal(g.aggregatorNodeKey, testKey('aggregator-node').address);
    await waitFor('the archive has the validator\'s 30 blocks', () => archive.node.head().height >= 30, 10_000);
    assert.equal(archive.node.head().hash, blocks[29]!.hash);
    // another home asked too (at start), and was never answered: it gave up at height 0
    await waitFor('the other home gave up its sync', () => !other.node.stats().syncing, 10_000);
    assert.equal(other.node.head().height, 0, 'another home got no block from a validator home');
    assert.equal(answers.get('home-x') ?? 0, 0, 'no sync response to another home');
    assert.ok((answers.get('aggregator-node') ?? 0) >= 3, `the archive was answered, page by page (${answers.get('aggregator-node')})`);
  } finally {
    await Promise.all([v.stop(), other.stop(), archive.stop()]);
    await watcher.endAsync();
    await broker.close();
  }
});

test('readSyncPage: at most maxBlocks, at most maxBytes (but one block always), stops at the head', async () => {
  const config = pastGenesisConfig();
  const g = parseGenesis(config);
  const store = await memoryStore(config);
  const blocks = buildChain(createGenesisState(g), testKey('aggregator-node'), 10, 30);
  await appendAll(store, blocks);
  const all = await readSyncPage(store, 1, 1000, 1 << 30);
  assert.equal(all.blocks.length, 30);
  const page = await readSyncPage(store, 5, 7, 1 << 30);
  assert.deepEqual(page.blocks.map((b) => (b as { parameters: { header: { height: number } } }).parameters.header.height), [5, 6, 7, 8, 9, 10, 11]);
  const one = await readSyncPage(store, 3, 100, 10);
  assert.equal(one.blocks.length, 1, 'one block even when it alone exceeds the byte budget');
  const two = await readSyncPage(store, 3, 100, one.bytes * 2 + 10);
  assert.equal(two.blocks.length, 2);
  assert.equal((await readSyncPage(store, 31, 100, 1 << 30)).blocks.length, 0);
  assert.equal((await readSyncPage(store, 0, 2, 1 << 30)).blocks.length, 2, 'height 0 (genesis) is not a block');
  await store.close();
});
