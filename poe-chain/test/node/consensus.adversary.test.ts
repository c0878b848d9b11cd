/**
 * Consensus attacks against chain nodes speaking MQTT over a real broker (aedes on a TCP
 * socket on loopback). Each test is a row of SECURITY.md.
 *
 *   [LIVE]    ranked validators that run no node: the aggregator's node, last in every
 *             production order, produces after their patience; no gap between blocks is
 *             longer than (n + 1)·W slots and transactions keep reaching the chain.
 *   [REWARD]  a producer publishes empty blocks at every slot: every honest node refuses
 *             them (EARLY_EMPTY_BLOCK) and nothing is minted for them.
 *   [DOMAIN]  equivocation evidence signed on another chain (same keys, another genesis) is
 *             refused by the node; the accused keeps its place.
 *   [DOMAIN-TX] a transfer the aggregator key signed for another chain, replayed here over the
 *             broker, is refused WRONG_CHAIN by every honest node; balances do not move.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signEnvelope } from '../../../wire/codec.js';
import { canonicalBytes } from '../../../wire/canonicalJson.js';
import { signBytes, type KeyPair } from '../../../wire/keys.js';
import type { Certificate, Envelope } from '../../../schemas/types.js';
import { signHeader } from '../../core/blockHash.js';
import { balanceOf } from '../../core/chainState.js';
import { epochAt, epochStart, parseGenesis, slotAt } from '../../core/genesis.js';
import { periodEnd, testKey, testTag } from '../../testkit/chainFixture.js';
import type { NodeBlockEvent, RejectedBlockEvent } from '../../node/createChainNode.js';
import { connect, forgeBlock, liveGenesisConfig, sleep, startAedes, startNode, waitFor } from './nodeFixtures.js';

const registry = testKey('registry');
const aggNode = testKey('aggregator-node');

function certificateTx(address: string, at: number, chain: string): unknown {
  const unsigned = { address, validFrom: new Date(at - 60_000).toISOString(), validTo: new Date(periodEnd(at)).toISOString(), feeder: 'F1', programme: 'RE+TE', tag: testTag(address) };
  const cert = { ...unsigned, registrySignature: signBytes(registry, canonicalBytes(unsigned)).toString('base64') } as Certificate;
  return signEnvelope(registry, 'certificate', cert, { date: new Date(at).toISOString(), chain });
}

function readingTx(kp: KeyPair, startMs: number, intervalMs: number, seq: number, chain: string): unknown {
  return signEnvelope(kp, 'meter-reading', {
    address: kp.address,
    interval: { start: new Date(startMs).toISOString(), end: new Date(startMs + intervalMs).toISOString() },
    seq,
    producedWh: 100 * seq,
    consumedWh: 50 + seq,
    chargedWh: 0,
    dischargedWh: 0,
    socPermille: 500,
  }, { chain });
}

test('[LIVE] three ranked validators run no node: the aggregator node produces after their patience; the longest gap stays ≤ (n + 1)·W slots', async () => {
  const intervalMs = 2000;
  const config = liveGenesisConfig({ intervalMs, slotMs: 50, patience: 4, settleGraceMs: 2 * intervalMs, readingRetentionIntervals: 6 });
  const g = parseGenesis(config);
  const broker = await startAedes();
  const agg = await startNode(broker.url, config, aggNode, 'aggregator-node', { produce: true, serveSync: true });
  const watcher = await startNode(broker.url, config, testKey('watcher'), 'watcher');
  const silent = ['s-1', 's-2', 's-3'].map((n) => testKey(n));
  const slots: number[] = [];
  const producers: string[] = [];
  watcher.node.on('block', (e: NodeBlockEvent) => {
    slots.push(e.block.parameters.header.slot);
    producers.push(e.block.parameters.header.producer);
  });
  try {
    for (const k of silent) assert.equal((await agg.node.submit(certificateTx(k.address, Date.now(), g.hash))).status, 'admitted');
    // every interval, each silent validator's reading for the interval that just ended is posted (by someone)
    const firstEpoch = epochAt(g, Date.now());
    let seq = 1;
    const ranked: number[] = [];
    for (let e = firstEpoch; e < firstEpoch + 6; e++) {
      await sleep(Math.max(0, epochStart(g, e + 1) - Date.now() + 30));
      for (const k of silent) await agg.node.submit(readingTx(k, epochStart(g, e), intervalMs, seq, g.hash));
      seq++;
      ranked.push(agg.node.state().meta.ranking.length);
    }
    await agg.node.idle();
    const n = silent.length;
    const bound = (n + 1) * g.patience;
    assert.ok(ranked.some((x) => x === n), `the silent validators were ranked (${ranked.join(',')})`);
    // every gap counts: with or without a ranking the bound holds
    let longest = 0;
    for (let i = 1; i < slots.length; i++) longest = Math.max(longest, slots[i]! - slots[i - 1]!);
    assert.ok(slots.length > 10, `blocks seen: ${slots.length}`);
    assert.ok(longest <= bound, `longest gap ${longest} slots > bound ${bound}`);
    // and a transaction still reaches the chain
    const tx = readingTx(silent[0]!, epochStart(g, epochAt(g, Date.now()) - 1), intervalMs, seq + 10, g.hash);
    const res = await agg.node.submit(tx);
    assert.equal(res.status, 'admitted');
    assert.ok(producers.every((p) => p === aggNode.address), 'only the aggregator node produced');
    console.log(JSON.stringify({ attack: 'silent ranked validators', validators: n, W: g.patience, boundSlots: bound, longestGapSlots: longest, blocks: slots.length, rankingSizes: ranked }));
  } finally {
    await watcher.stop();
    await agg.stop();
    await broker.close();
  }
});

test('[REWARD] empty blocks at every slot from the elected producer are refused by honest nodes; nothing is minted for them', async () => {
  const config = liveGenesisConfig({ patience: 4 });
  const g = parseGenesis(config);
  const broker = await startAedes();
  const honest = await startNode(broker.url, config, testKey('honest'), 'honest');
  const pub = await connect(broker.url, 'forger');
  const rejected: RejectedBlockEvent[] = [];
  honest.node.on('rejected', (e: RejectedBlockEvent) => rejected.push(e));
  try {
    // the forger holds the elected key (the aggregator node: no validator is ranked) and sends
    // an empty block at every slot after the head, each otherwise valid (state root included)
    let parent = honest.node.state();
    const s0 = Math.max(slotAt(g, Date.now()) - 20, parent.meta.tipSlot + g.patience);
    const first = forgeBlock(parent, [], aggNode, s0); // a valid heartbeat to start from
    await pub.publishAsync('tmi/v1/chain/blocks', JSON.stringify(first.block), { qos: 1 });
    await waitFor('heartbeat imported', () => honest.node.head().hash === first.hash);
    parent = honest.node.state();
    // every slot before the next heartbeat (p + W): the slots an honest producer leaves empty
    let sent = 0;
    for (let i = 1; i < g.patience; i++) {
      const b = forgeBlock(parent, [], aggNode, s0 + i);
      await pub.publishAsync('tmi/v1/chain/blocks', JSON.stringify(b.block), { qos: 1 });
      sent++;
    }
    await waitFor('refusals', () => rejected.length >= sent, 5000);
    await sleep(200);
    await honest.node.idle();
    assert.equal(honest.node.head().hash, first.hash, 'the head did not move');
    assert.ok(rejected.every((e) => e.code === 'EARLY_EMPTY_BLOCK'), rejected.map((e) => e.code).join(','));
    assert.equal(rejected.length, sent, 'each refused');
    assert.equal(balanceOf(honest.node.state(), aggNode.address), 0n);
    console.log(JSON.stringify({ attack: 'empty blocks at every slot', sent, refused: rejected.length, codes: [...new Set(rejected.map((e) => e.code))] }));
  } finally {
    await pub.endAsync();
    await honest.stop();
    await broker.close();
  }
});

test('[DOMAIN] equivocation evidence whose headers were signed on another chain is refused', async () => {
  const config = liveGenesisConfig({ patience: 4 });
  const broker = await startAedes();
  const node = await startNode(broker.url, config, aggNode, 'aggregator-node', { produce: true });
  try {
    const victim = testKey('victim');
    const otherChain = parseGenesis({ ...config, chainId: 'tmi-testnet' }).hash;
    const h = { height: 3, slot: 3, epoch: 0, parent: '00'.repeat(32), producer: victim.address, txRoot: '00'.repeat(32), stateRoot: '00'.repeat(32) };
    const h2 = { ...h, stateRoot: '11'.repeat(32) };
    const here = parseGenesis(config).hash;
    const foreign = signEnvelope(testKey('accuser'), 'evidence', { a: { header: h, headerSignature: signHeader(victim, h, otherChain) }, b: { header: h2, headerSignature: signHeader(victim, h2, otherChain) } }, { chain: here });
    const res = await node.node.submit(foreign);
    assert.equal(res.status, 'rejected');
    assert.match(JSON.stringify(res), /BAD_EVIDENCE/);
    // the same two headers signed for this chain are evidence
    const local = signEnvelope(testKey('accuser'), 'evidence', { a: { header: h, headerSignature: signHeader(victim, h, here) }, b: { header: h2, headerSignature: signHeader(victim, h2, here) } }, { chain: here });
    assert.equal((await node.node.submit(local)).status, 'admitted');
    await waitFor('evidence on chain', () => node.node.state().sections.equivocators.has(victim.address), 5000);
  } finally {
    await node.stop();
    await broker.close();
  }
});

test('[DOMAIN-TX] a transfer the aggregator key signed for another chain, replayed over the broker, is refused WRONG_CHAIN; signed for this chain it is taken', async () => {
  const config = liveGenesisConfig({ patience: 4 });
  const here = parseGenesis(config).hash;
  // a test network with the same keys: another genesis, so another genesis hash
  const otherChain = parseGenesis({ ...config, chainId: 'tmi-testnet' }).hash;
  const broker = await startAedes();
  const producer = await startNode(broker.url, config, aggNode, 'aggregator-node', { produce: true, serveSync: true });
  const honest = await startNode(broker.url, config, testKey('honest'), 'honest');
  const replayer = await connect(broker.url, 'replayer');
  const aggregator = testKey('aggregator'); // holds the genesis balance
  const payee = testKey('payee').address;
  try {
    await waitFor('the honest node follows', () => honest.node.head().height >= 1, 5000);
    const before = balanceOf(honest.node.state(), aggregator.address);
    // the transfer as the aggregator signed it on the test network, replayed here inside its date window
    const date = new Date();
    const params = { to: payee, amountMillicents: 777 };
    const foreign = signEnvelope(aggregator, 'transfer', params, { date, reqId: 'domain-tx-replay-0001', chain: otherChain });
    const wrap = (tx: unknown) => JSON.stringify(signEnvelope(testKey('replayer'), 'tx', { tx: tx as Envelope<'tx'>['parameters']['tx'] }));
    await replayer.publishAsync('tmi/v1/chain/txs', wrap(foreign), { qos: 1 });
    await waitFor('both nodes refuse it WRONG_CHAIN', () => [producer, honest].every((n) => (n.node.stats().droppedMessages.TX_WRONG_CHAIN ?? 0) >= 1), 5000);
    // submitted directly, the node says why
    const direct = await honest.node.submit(foreign);
    assert.equal(direct.status, 'rejected');
    assert.equal(direct.code, 'WRONG_CHAIN');
    assert.match(direct.message ?? '', new RegExp(`expected=${here}.*got=${otherChain}`));
    const unnamed = signEnvelope(aggregator, 'transfer', params, { date, reqId: 'domain-tx-replay-0002' });
    assert.equal((await honest.node.submit(unnamed)).code, 'CHAIN_MISSING');
    // a few blocks later nothing moved
    const h0 = honest.node.head().height;
    await waitFor('two more blocks', () => honest.node.head().height >= h0 + 2, 5000);
    assert.equal(balanceOf(honest.node.state(), payee), 0n);
    assert.equal(balanceOf(honest.node.state(), aggregator.address), before);
    // the same transfer signed for this chain is taken
    const local = signEnvelope(aggregator, 'transfer', params, { date: new Date(), reqId: 'domain-tx-replay-0001', chain: here });
    await replayer.publishAsync('tmi/v1/chain/txs', wrap(local), { qos: 1 });
    await waitFor('the transfer on chain at the honest node', () => balanceOf(honest.node.state(), payee) === 777n, 5000);
    assert.equal(balanceOf(honest.node.state(), aggregator.address), before - 777n);
    console.log(JSON.stringify({ attack: 'transfer signed for another chain replayed', refused: { producer: producer.node.stats().droppedMessages.TX_WRONG_CHAIN, honest: honest.node.stats().droppedMessages.TX_WRONG_CHAIN }, code: direct.code }));
  } finally {
    await replayer.endAsync();
    await honest.stop();
    await producer.stop();
    await broker.close();
  }
});
