import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { openChainStoreAt } from '../../store/chainDataDir.js';
import { signEnvelope } from '../../../wire/codec.js';
import type { KeyPair } from '../../../wire/keys.js';
import { buildBlock, type BuiltBlock } from '../../core/buildBlock.js';
import { createGenesisState, type ChainState } from '../../core/chainState.js';
import { equivocationProblem } from '../../core/blockHash.js';
import { parseGenesis, slotAt, slotTime } from '../../core/genesis.js';
import { testKey } from '../../testkit/chainFixture.js';
import type { ReorgEvent } from '../../node/createChainNode.js';
import type { Evidence } from '../../../schemas/types.js';
import { NODE_TOPICS } from '../../node/nodeTopics.js';
import { withFiller, connect, pastGenesisConfig, startAedes, startNode, waitFor, sleep, liveGenesisConfig } from './nodeFixtures.js';

const aggNode = testKey('aggregator-node');
const funded = testKey('funded');

function block(parent: ChainState, slot: number, txs: unknown[] = [], key: KeyPair = aggNode): BuiltBlock {
  return buildBlock(parent, withFiller(parent, slot, txs), key, slot, slotTime(parent.genesis, slot));
}

async function send(client: MqttClient, b: BuiltBlock | object): Promise<void> {
  const env = 'block' in b && 'hash' in b ? (b as BuiltBlock).block : b;
  await client.publishAsync('tmi/v1/chain/blocks', JSON.stringify(env), { qos: 1 });
}

test('fork choice: a longer branch wins (reorg), orphaned transactions return to the mempool; a branch below the final height never wins', async () => {
  const broker = await startAedes();
  const config = pastGenesisConfig({ finalityDepth: 3, balances: [{ address: funded.address, millicents: 1_000_000 }] });
  const g = parseGenesis(config);
  const n = await startNode(broker.url, config, testKey('follower'), 'follower');
  const pub = await connect(broker.url, 'publisher');
  const reorgs: ReorgEvent[] = [];
  n.node.on('reorg', (e) => reorgs.push(e));
  try {
    const s0 = slotAt(g, Date.now()) - 500;
    const base1 = block(createGenesisState(g), s0);
    const base2 = block(base1.state, s0 + 1);
    const x = signEnvelope(funded, 'transfer', { to: testKey('x').address, amountMillicents: 5 }, { date: new Date(slotTime(g, s0 + 2)), chain: g.hash });
    const y = signEnvelope(funded, 'transfer', { to: testKey('y').address, amountMillicents: 7 }, { date: new Date(slotTime(g, s0 + 2)), chain: g.hash });
    assert.equal((await n.node.submit(x)).status, 'admitted');
    const a1 = block(base2.state, s0 + 10, [x]);
    const b1 = block(base2.state, s0 + 11);
    const b2 = block(b1.state, s0 + 12, [y]);
    for (const b of [base1, base2, a1]) await send(pub, b);
    await waitFor('head a1', () => n.node.head().hash === a1.hash);
    assert.equal(n.node.stats().mempool.count, 0, 'x left the mempool with a1');
    await send(pub, b1);
    await sleep(100);
    await n.node.idle();
    assert.equal(n.node.head().hash, a1.hash, '[FC-1] same height: the smaller slot stays');
    await send(pub, b2);
    await waitFor('reorg to b2', () => n.node.head().hash === b2.hash);
    assert.deepEqual(reorgs[0], {
      from: { height: 3, slot: s0 + 10, hash: a1.hash },
      to: { height: 4, slot: s0 + 12, hash: b2.hash },
      forkHeight: 2,
      orphaned: [a1.hash],
      adopted: [b1.hash, b2.hash],
    });
    assert.equal(await n.store.hashAt(3), b1.hash);
    assert.equal(await n.store.hashAt(4), b2.hash);
    assert.equal(n.node.stats().mempool.count, 1, '[MP-10] x is back');
    assert.equal(n.node.wallet(testKey('y').address).millicents, '7');
    assert.equal(n.node.wallet(testKey('x').address).millicents, '0');
    // back to the a branch once it is longer: y returns, x leaves
    const a2 = block(a1.state, s0 + 13);
    const a3 = block(a2.state, s0 + 14);
    await send(pub, a2);
    await send(pub, a3);
    await waitFor('reorg to a3', () => n.node.head().hash === a3.hash);
    assert.equal(n.node.wallet(testKey('x').address).millicents, '5');
    assert.equal(n.node.stats().mempool.count, 1, 'y is back, x is not');
    assert.equal(n.node.stats().reorgs, 2);

    // [FC-2] make a3 (height 5, the head) final: with nobody ranked the committee is the
    // aggregator's node alone [FIN-C], whose votes in two rounds in a row, genesis → a3 and
    // a3 → a3, finalise a3 [FIN-J] [FIN-F]; then extend a to height 8: a longer branch forking
    // at height 2 is ignored
    assert.equal(n.node.head().finalizedHeight, 0, 'no votes yet: only genesis is final');
    const r = slotAt(g, Date.now());
    const gen = { round: 0, height: 0, hash: g.hash };
    const cp1 = { round: r, height: 5, hash: a3.hash };
    for (const [source, target] of [[gen, cp1], [cp1, { ...cp1, round: r + 1 }]] as const) {
      await pub.publishAsync(NODE_TOPICS.votes, JSON.stringify(signEnvelope(aggNode, 'vote', { source, target }, { chain: g.hash })), { qos: 1 });
    }
    await waitFor('a3 final', () => n.node.head().finalizedHeight === 5);
    assert.deepEqual(n.node.finality().final, cp1);
    const a4 = block(a3.state, s0 + 15);
    const a5 = block(a4.state, s0 + 16);
    const a6 = block(a5.state, s0 + 17);
    for (const b of [a4, a5, a6]) await send(pub, b);
    await waitFor('head a6', () => n.node.head().hash === a6.hash);
    assert.equal(n.node.head().height, 8);
    assert.equal(n.node.head().finalizedHeight, 5);
    let side = b2; // height 4 on the b branch, forked at 2
    const sideBlocks: BuiltBlock[] = [];
    for (let i = 0; i < 6; i++) {
      side = block(side.state, s0 + 20 + i);
      sideBlocks.push(side);
    }
    for (const b of sideBlocks) await send(pub, b);
    await sleep(200);
    await n.node.idle();
    assert.equal(n.node.head().hash, a6.hash, 'a longer branch below the final height does not win');
    // a branch forking exactly at the final height (a3, height 5) may win
    const c6 = block(a3.state, s0 + 30);
    const c7 = block(c6.state, s0 + 31);
    const c8 = block(c7.state, s0 + 32);
    const c9 = block(c8.state, s0 + 33);
    for (const b of [c6, c7, c8, c9]) await send(pub, b);
    await waitFor('reorg to c9', () => n.node.head().hash === c9.hash);
    assert.equal(reorgs.at(-1)!.forkHeight, 5);
  } finally {
    await pub.endAsync();
    await n.stop();
    await broker.close();
  }
});

test('equivocation: two signed headers of one producer for one slot become evidence, included on chain', async () => {
  const broker = await startAedes();
  const config = liveGenesisConfig({ patience: 2, balances: [{ address: funded.address, millicents: 1000 }] });
  const p = await startNode(broker.url, config, aggNode, 'producer', { produce: true, serveSync: true });
  const n = await startNode(broker.url, config, testKey('watcher-node'), 'watcher-node');
  const pub = await connect(broker.url, 'publisher');
  const evidence: Evidence[] = [];
  n.node.on('evidence', (e) => evidence.push(e));
  try {
    await waitFor('a few blocks', () => n.node.head().height >= 2);
    const parent = n.node.state();
    const slot = Math.max(slotAt(parent.genesis, Date.now()), parent.meta.tipSlot + 1);
    const t = signEnvelope(funded, 'transfer', { to: testKey('z').address, amountMillicents: 1 }, { chain: parent.genesis.hash });
    // two different blocks, same producer, same slot (the second holds a transaction; validity does not matter)
    const one = buildBlock(parent, withFiller(parent, slot, []), aggNode, slot, slotTime(parent.genesis, slot));
    const two = buildBlock(parent, [t], aggNode, slot, slotTime(parent.genesis, slot));
    assert.notEqual(one.hash, two.hash);
    await send(pub, one);
    await send(pub, two);
    await waitFor('evidence', () => evidence.length === 1);
    assert.equal(equivocationProblem(evidence[0]!.a, evidence[0]!.b, parent.genesis.hash), undefined);
    await waitFor('evidence on chain (producer and watcher)', () =>
      p.node.state().sections.equivocators.has(aggNode.address) && n.node.state().sections.equivocators.has(aggNode.address), 5000);
    assert.ok(n.node.stats().evidenceSubmitted + p.node.stats().evidenceSubmitted >= 1);
  } finally {
    await pub.endAsync();
    await n.stop();
    await p.stop();
    await broker.close();
  }
});

test('[NODE-future] a block up to holdSlots ahead is held until due; further ahead it is refused', async () => {
  const broker = await startAedes();
  const config = pastGenesisConfig();
  const g = parseGenesis(config);
  let clock = slotTime(g, slotAt(g, Date.now()) - 100) + 5;
  const n = await startNode(broker.url, config, testKey('follower'), 'follower', { now: () => clock, slotTimer: false });
  const pub = await connect(broker.url, 'publisher');
  try {
    const s = slotAt(g, clock);
    const ahead = block(createGenesisState(g), s + 3);
    await send(pub, ahead);
    await waitFor('held', () => n.node.stats().held === 1);
    assert.equal(n.node.head().height, 0);
    await n.node.tick();
    assert.equal(n.node.head().height, 0, 'not yet due');
    clock = slotTime(g, s + 2); // slot s+3 starts one slot from now: due
    await n.node.tick();
    assert.equal(n.node.head().hash, ahead.hash);
    const far = block(ahead.state, s + 50);
    await send(pub, far);
    await waitFor('refused', () => (n.node.stats().rejectedBlocks.SLOT_IN_FUTURE ?? 0) === 1);
    assert.equal(n.node.head().hash, ahead.hash);
  } finally {
    await pub.endAsync();
    await n.stop();
    await broker.close();
  }
});

test('after a restart (only the head state in memory) a fork below the head is judged: states are reloaded from the store', async () => {
  const broker = await startAedes();
  const dir = await mkdtemp(join(tmpdir(), 'tmi-node-restart-'));
  const config = pastGenesisConfig({ finalityDepth: 8 });
  const g = parseGenesis(config);
  const open = () => openChainStoreAt(dir, { genesis: config, createIfMissing: true, snapshotEvery: 2 });
  const s0 = slotAt(g, Date.now()) - 300;
  const a: BuiltBlock[] = [];
  let st = createGenesisState(g);
  for (let i = 0; i < 5; i++) {
    a.push(block(st, s0 + i));
    st = a[i]!.state;
  }
  let n = await startNode(broker.url, config, testKey('follower'), 'follower', { store: await open() });
  const pub = await connect(broker.url, 'publisher');
  try {
    for (const b of a) await send(pub, b);
    await waitFor('head a5', () => n.node.head().hash === a[4]!.hash);
    await n.stop();
    n = await startNode(broker.url, config, testKey('follower'), 'follower', { store: await open() });
    assert.equal(n.node.head().hash, a[4]!.hash);
    assert.equal(n.node.stats().tree, 1, 'only the head after a restart');
    await send(pub, a[3]!); // a canonical block again: a duplicate, found in the store
    const b4 = block(a[2]!.state, s0 + 20);
    const b5 = block(b4.state, s0 + 21);
    const b6 = block(b5.state, s0 + 22);
    await send(pub, b4);
    await waitFor('b4 judged', () => n.node.stats().tree >= 4);
    assert.equal(n.node.head().hash, a[4]!.hash, 'b4 is a side block');
    assert.equal(await n.store.hashAt(5), a[4]!.hash, 'the store is back at its head');
    await send(pub, b5);
    await send(pub, b6);
    await waitFor('reorg to b6', () => n.node.head().hash === b6.hash);
    assert.equal(await n.store.hashAt(4), b4.hash);
    assert.equal(n.node.stats().rejectedBlocks.BAD_PARENT ?? 0, 0);
  } finally {
    await pub.endAsync();
    await n.stop();
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
});
