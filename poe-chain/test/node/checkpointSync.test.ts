/**
 * [STORE-P] a pruning node keeps only what is above its final block; [SYNC-C] a node with an
 * empty store starts from the aggregator node's final checkpoint, checks it (state root, block,
 * two quorum links), and follows the chain from there. A tampered state, a short quorum or an
 * answer from another key are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLevel } from 'memory-level';
import { pino } from 'pino';
import { signEnvelope } from '../../../wire/codec.js';
import type { Envelope } from '../../../schemas/types.js';
import { parseGenesis } from '../../core/genesis.js';
import { ChainFixture, testKey } from '../../testkit/chainFixture.js';
import { openChainStore } from '../../store/openChainStore.js';
import { verifyChain } from '../../store/verifyChain.js';
import { checkCheckpoint, checkpointSync, CheckpointError, createCheckpointServer } from '../../node/checkpointSync.js';
import { stateJsonPieces } from '../../core/chainState.js';
import type { NodeContext } from '../../node/nodeContext.js';
import { NODE_TOPICS } from '../../node/nodeTopics.js';
import { connect, liveGenesisConfig, startAedes, startNode, waitFor } from './nodeFixtures.js';

test('[STORE-P] [SYNC-C] a pruning follower holds only what is above its final block; a new node starts from the final checkpoint and follows the chain', { timeout: 60_000 }, async (t) => {
  const broker = await startAedes();
  const funded = testKey('funded');
  const config = liveGenesisConfig({ balances: [{ address: funded.address, millicents: 10_000_000 }] });
  const g = parseGenesis(config);
  const archive = await startNode(broker.url, config, testKey('aggregator-node'), 'agg-node', { produce: true, serveSync: true });
  const home = await startNode(broker.url, config, testKey('home'), 'home', { serveSync: true, prune: { everyBlocks: 16 } });
  const sender = await connect(broker.url, 'sender');
  let n = 0;
  const pump = setInterval(() => {
    const tx = signEnvelope(funded, 'transfer', { to: testKey(`payee-${n % 5}`).address, amountMillicents: 1 + n++ }, { chain: g.hash });
    void sender.publishAsync(NODE_TOPICS.txs, JSON.stringify(signEnvelope(testKey('sender'), 'tx', { tx })), { qos: 1 });
  }, 40);
  try {
    await waitFor('the home node pruned twice', () => home.store.prunedHeight >= 32, 30_000, 50);
    const base = home.store.prunedHeight;
    assert.ok(base <= home.node.finality().final.height, 'the base is a final block');
    assert.equal(await home.store.blockAt(base - 1), undefined, 'blocks below the base are gone');
    assert.ok(await home.store.blockAt(base));
    assert.ok((await archive.store.blockAt(1)) !== undefined, 'the archive keeps everything');

    // a new node: checkpoint sync from the archive
    const db = new MemoryLevel<string, string>();
    const client = await connect(broker.url, 'newcomer');
    const r = await checkpointSync({ genesis: g, mqtt: client, nodeId: 'newcomer', key: testKey('newcomer'), db, log: pino({ level: 'silent' }), timeoutMs: 5000 });
    assert.ok(r.checkpoint.height > 0 && r.bytes > 0 && r.pieces >= 1);
    const store = await openChainStore(db, { genesis: config });
    assert.equal(store.prunedHeight, r.checkpoint.height);
    assert.equal(store.head.hash, r.checkpoint.hash);
    const late = await startNode(broker.url, config, testKey('newcomer'), 'newcomer', { store, mqtt: client });
    assert.deepEqual(late.node.finality().final, r.checkpoint, 'the checkpoint is its final block');
    clearInterval(pump);
    await waitFor('the newcomer on the archive\'s head', () => late.node.head().hash === archive.node.head().hash, 10_000, 20);
    await waitFor('the home node on the archive\'s head', () => home.node.head().hash === archive.node.head().hash, 10_000, 20);
    assert.equal(await store.blockAt(r.checkpoint.height - 1), undefined, 'it never held the blocks below the checkpoint');
    t.diagnostic(`home node: base ${base} (final ${home.node.finality().final.height}); checkpoint sync: height ${r.checkpoint.height}, ${r.bytes} bytes in ${r.pieces} piece(s), ${r.ms} ms; then on the archive's head ${archive.node.head().height}`);
    await late.stop();
    const v = await verifyChain(db);
    assert.ok(v.ok && v.prunedBelow === r.checkpoint.height, JSON.stringify(v));
  } finally {
    clearInterval(pump);
    await sender.endAsync();
    await home.stop();
    await archive.stop();
    await broker.close();
  }
});

test('[SYNC-C] a checkpoint whose state, votes or sender do not check is refused', { timeout: 60_000 }, async () => {
  const broker = await startAedes();
  const config = liveGenesisConfig({});
  const g = parseGenesis(config);
  const archive = await startNode(broker.url, config, testKey('aggregator-node'), 'agg-node', { produce: true, serveSync: true });
  const other = await startNode(broker.url, config, testKey('not-the-archive'), 'other', { produce: false, serveSync: true });
  try {
    await waitFor('something final', () => archive.node.finality().final.height >= 3, 10_000, 20);
    // capture a genuine answer
    const client = await connect(broker.url, 'probe');
    const pieces: Envelope<'checkpoint-response'>['parameters'][] = [];
    client.on('message', (_t, payload) => {
      const env = JSON.parse(payload.toString()) as Envelope<'checkpoint-response'>;
      if (env.operation === 'checkpoint-response' && env.clientId === g.aggregatorNodeKey) pieces.push(env.parameters);
    });
    await client.subscribeAsync(NODE_TOPICS.syncResponse('probe'), { qos: 1 });
    await client.publishAsync(NODE_TOPICS.syncRequest, JSON.stringify(signEnvelope(testKey('probe'), 'checkpoint-request', { nodeId: 'probe' }, { chain: g.hash })), { qos: 1 });
    await waitFor('an answer', () => pieces.length > 0 && pieces.length === pieces[0]!.pieces, 5000, 20);
    // [SYNC-C] asked again at once: not served (one checkpoint per requester per 30 s)
    const served = pieces.length;
    await client.publishAsync(NODE_TOPICS.syncRequest, JSON.stringify(signEnvelope(testKey('probe'), 'checkpoint-request', { nodeId: 'probe' }, { chain: g.hash })), { qos: 1 });
    await waitFor('the second request refused', () => archive.node.stats().droppedMessages.CHECKPOINT_TOO_SOON === 1, 5000, 20);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(pieces.length, served, 'no second answer');
    await client.endAsync();
    const p0 = pieces.find((p) => p.piece === 0)!;
    const text = pieces.sort((a, b) => a.piece - b.piece).map((p) => p.state).join('');
    assert.ok(checkCheckpoint(g, p0.checkpoint, p0.block, p0.proof!, text).state, 'the genuine answer checks');
    const refused = (why: RegExp, f: () => unknown) => assert.throws(f, (e: unknown) => e instanceof CheckpointError && e.code === 'BAD_CHECKPOINT' && why.test(e.message));
    // a balance changed in the state
    const st = JSON.parse(text) as { sections: { wallets: [string, string][] } };
    st.sections.wallets.push([testKey('thief').address, '1000000000']);
    refused(/state/, () => checkCheckpoint(g, p0.checkpoint, p0.block, p0.proof!, JSON.stringify(st)));
    // the finalising link without its votes, below the quorum
    const short = [p0.proof![0]!, { ...p0.proof![1]!, votes: [] }];
    refused(/quorum/, () => checkCheckpoint(g, p0.checkpoint, p0.block, short, text));
    // a checkpoint that is not the block's
    refused(/not the checkpoint/, () => checkCheckpoint(g, { ...p0.checkpoint, height: p0.checkpoint.height + 1 }, p0.block, p0.proof!, text));
    // only the aggregator's node is asked: with it gone, another node's answers are ignored
    await archive.stop();
    const db = new MemoryLevel<string, string>();
    const c2 = await connect(broker.url, 'newcomer2');
    await assert.rejects(
      checkpointSync({ genesis: g, mqtt: c2, nodeId: 'newcomer2', key: testKey('newcomer2'), db, log: pino({ level: 'silent' }), timeoutMs: 1500 }),
      (e: unknown) => e instanceof CheckpointError && e.code === 'NO_CHECKPOINT',
    );
    assert.equal(await db.get('meta'), undefined, 'nothing written');
    await c2.endAsync();
  } finally {
    await other.stop();
    await archive.stop().catch(() => undefined);
    await broker.close();
  }
});

test('[SYNC-C-MEM] the server sends a checkpoint one piece at a time: the next only once the broker has acknowledged the one before', async () => {
  const f = new ChainFixture();
  f.produce(Array.from({ length: 6 }, (_, i) => f.certTx(f.key(`piece-${i}`))));
  const last = f.blocks.at(-1)!;
  const height = last.block.parameters.header.height;
  const sent: { env: Envelope<'checkpoint-response'>; ack: () => void }[] = [];
  const ctx = {
    genesis: f.genesis, key: testKey('aggregator-node'), log: pino({ level: 'silent' }), store: {}, now: () => Date.now(),
    drop: () => undefined, closed: () => false, newReqId: () => `r-${sent.length}`,
    publishAcked: (_topic: string, env: Envelope<'checkpoint-response'>) => new Promise<void>((resolve) => sent.push({ env, ack: resolve })),
  } as unknown as NodeContext;
  const parts = {
    tree: { get: () => ({ hash: last.hash, block: last.block, state: last.state }) },
    finality: { finalProof: () => ({ checkpoint: { round: 7, height, hash: last.hash }, links: [{}, {}] }) },
  } as unknown as Parameters<typeof createCheckpointServer>[1];
  const PIECE = 300;
  createCheckpointServer(ctx, parts, PIECE)('home-x', 'req-1');
  const text = [...stateJsonPieces(last.state)].join('');
  const n = Math.ceil(text.length / PIECE);
  assert.ok(n >= 3, `pieces: ${n}`);
  let state = '';
  for (let i = 0; i < n; i++) {
    await waitFor(`piece ${i}`, () => sent.length >= i + 1);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(sent.length, i + 1, `piece ${i + 1} was sent before piece ${i} was acknowledged`);
    const p = sent[i]!.env.parameters;
    assert.deepEqual([p.piece, p.pieces, p.requestReqId], [i, n, 'req-1']);
    state += p.state;
    sent[i]!.ack();
  }
  assert.equal(state, text, 'the pieces make up the state');
});
