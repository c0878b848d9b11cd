import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signEnvelope } from '../../../wire/codec.js';
import { buildBlock } from '../../core/buildBlock.js';
import { createGenesisState } from '../../core/chainState.js';
import { epochAt, parseGenesis, slotAt, slotTime } from '../../core/genesis.js';
import { ChainFixture, testKey } from '../../testkit/chainFixture.js';
import { connect, pastGenesisConfig, sleep, startAedes, startNode, waitFor } from './nodeFixtures.js';

test('garbage on every topic the node reads: dropped with a code, nothing changes, the node still works', async () => {
  const broker = await startAedes();
  const config = pastGenesisConfig();
  const g = parseGenesis(config);
  const n = await startNode(broker.url, config, testKey('follower'), 'follower', { serveSync: true });
  const pub = await connect(broker.url, 'attacker');
  const answers: string[] = [];
  await pub.subscribeAsync('tmi/v1/chain/sync/response/#');
  pub.on('message', (t) => t.endsWith('/attacker') && answers.push(t));
  try {
    const f = new ChainFixture({ genesis: config });
    const kp = testKey('stranger');
    const reading = f.readingTx(kp, epochAt(g, Date.now()) - 1, { p: 1 }, 1, new Date().toISOString());
    const badSig = { ...reading, signature: reading.signature.replace(/^./, reading.signature[0] === 'A' ? 'B' : 'A') };
    const foreignOpen = f.auctionOpenTx('auc-x', { deliveryEpoch: 2, closesAt: new Date(Date.now() + 60_000).toISOString() }, kp, new Date().toISOString());
    const slot = slotAt(g, Date.now());
    const good = buildBlock(createGenesisState(g), [], testKey('aggregator-node'), slot, slotTime(g, slot));
    const badBlockSig = { ...good.block, parameters: { ...good.block.parameters, headerSignature: good.block.parameters.headerSignature.replace(/^./, 'A') === good.block.parameters.headerSignature ? good.block.parameters.headerSignature.replace(/^./, 'B') : good.block.parameters.headerSignature.replace(/^./, 'A') } };
    const wrongProducer = buildBlock(createGenesisState(g), [], testKey('aggregator-node'), slot - 1, slotTime(g, slot - 1));
    const forged = { ...wrongProducer.block, clientId: kp.address };
    const g0 = { round: 0, height: 0, hash: g.hash };
    const cases: [string, string | Buffer][] = [
      ['tmi/v1/readings', 'not json'],
      ['tmi/v1/readings', '[]'],
      ['tmi/v1/readings', JSON.stringify({ operation: 'bid-offer' })],
      ['tmi/v1/readings', JSON.stringify(badSig)],
      ['tmi/v1/readings', 'x'.repeat(17 * 1024)],
      ['tmi/v1/readings', JSON.stringify(reading)], // well signed, but the signer has no certificate: transient, admitted
      ['tmi/v1/auctions/auc-x', JSON.stringify(foreignOpen)],
      ['tmi/v1/auctions/auc-x/bids', '{"operation":"bid-offer","clientId":1}'],
      ['tmi/v1/chain/txs', '{'],
      ['tmi/v1/chain/txs', JSON.stringify(signEnvelope(kp, 'tx', { tx: { clientId: 'a', reqId: 'b', date: 'c', operation: 'transfer', signature: 'd', parameters: {} } }))],
      ['tmi/v1/chain/txs', JSON.stringify(reading)],
      ['tmi/v1/chain/blocks', Buffer.from([0xff, 0xfe, 0x00])],
      ['tmi/v1/chain/blocks', JSON.stringify(badBlockSig)],
      ['tmi/v1/chain/blocks', JSON.stringify(forged)],
      ['tmi/v1/chain/blocks', JSON.stringify({ ...good.block, parameters: { ...good.block.parameters, header: { ...good.block.parameters.header, height: -1 } } })],
      ['tmi/v1/chain/sync/request', 'null'],
      ['tmi/v1/chain/sync/request', JSON.stringify(signEnvelope(kp, 'sync-request', { nodeId: 'attacker', fromHeight: 0, maxBlocks: 1 }, { date: new Date(0) }))],
      ['tmi/v1/chain/sync/response/follower', JSON.stringify(signEnvelope(kp, 'sync-response', { requestReqId: 'x'.repeat(16), tipHeight: 5, blocks: [forged] }))],
      ['tmi/v1/chain/sync/response/follower', '"'.repeat(100)],
      // [NODE-fin] votes: not JSON, too large, signed for another chain, a round far ahead of the clock, a bad signature
      ['tmi/v1/chain/votes', 'not json'],
      ['tmi/v1/chain/votes', 'x'.repeat(3 * 1024)],
      ['tmi/v1/chain/votes', JSON.stringify(signEnvelope(kp, 'vote', { source: g0, target: { round: slot, height: 1, hash: good.hash } }, { chain: 'ee'.repeat(32) }))],
      ['tmi/v1/chain/votes', JSON.stringify(signEnvelope(kp, 'vote', { source: g0, target: { round: slot + 1000, height: 1, hash: good.hash } }, { chain: g.hash }))],
      ['tmi/v1/chain/votes', JSON.stringify({ ...signEnvelope(kp, 'vote', { source: g0, target: { round: slot, height: 1, hash: good.hash } }, { chain: g.hash }), clientId: testKey('aggregator-node').address })],
      ['tmi/v1/chain/sync/request', JSON.stringify(signEnvelope(kp, 'checkpoint-request', { nodeId: 'attacker' }, { date: new Date(0) }))],
    ];
    for (const [topic, payload] of cases) await pub.publishAsync(topic, payload, { qos: 1 });
    await sleep(300);
    await n.node.idle();
    const st = n.node.stats();
    assert.equal(st.head.height, 0, 'no block applied');
    assert.equal(st.mempool.count, 1, 'only the well-signed reading (its certificate may yet come)');
    for (const code of ['MALFORMED_JSON', 'TOPIC_MISMATCH', 'TX_BAD_SIGNATURE', 'MESSAGE_TOO_LARGE', 'TX_UNAUTHORISED_SIGNER', 'TX_SCHEMA_BAD_LENGTH', 'NOT_AN_OBJECT', 'STALE_DATE', 'WRONG_CHAIN', 'VOTE_ROUND_IN_FUTURE', 'BAD_SIGNATURE']) {
      assert.ok((st.droppedMessages[code] ?? 0) >= 1, `dropped ${code}: ${JSON.stringify(st.droppedMessages)}`);
    }
    assert.ok((st.rejectedBlocks.BAD_SIGNATURE ?? 0) >= 2, JSON.stringify(st.rejectedBlocks));
    assert.ok((st.rejectedBlocks.BAD_ENCODING ?? 0) >= 1, JSON.stringify(st.rejectedBlocks));
    assert.deepEqual(answers, [], 'a stale sync request is not answered');
    // still works: the good block is applied
    await pub.publishAsync('tmi/v1/chain/blocks', JSON.stringify(good.block), { qos: 1 });
    await waitFor('good block', () => n.node.head().hash === good.hash);
    // a well-signed vote for it by a key outside its committee (the aggregator node alone): not counted
    await pub.publishAsync('tmi/v1/chain/votes', JSON.stringify(signEnvelope(kp, 'vote', { source: g0, target: { round: slotAt(g, Date.now()), height: 1, hash: good.hash } }, { chain: g.hash })), { qos: 1 });
    await waitFor('VOTE_NOT_IN_COMMITTEE', () => (n.node.stats().droppedMessages.VOTE_NOT_IN_COMMITTEE ?? 0) === 1);
    assert.equal(n.node.finality().final.height, 0, 'nothing final by garbage');
    // and a fresh sync request is answered
    await pub.publishAsync('tmi/v1/chain/sync/request', JSON.stringify(signEnvelope(kp, 'sync-request', { nodeId: 'attacker', fromHeight: 1, maxBlocks: 5 })), { qos: 1 });
    await waitFor('sync answer', () => answers.length === 1);
  } finally {
    await pub.endAsync();
    await n.stop();
    await broker.close();
  }
});

test('a full mempool refuses valid transactions with MEMPOOL_FULL and warns (at most every 10 s): they are lost to the chain', async () => {
  const { pino } = await import('pino');
  const { Writable } = await import('node:stream');
  const lines: { level: number; msg: string; refused?: number }[] = [];
  const log = pino({ level: 'warn' }, new Writable({ write(c: Buffer, _e, done) { lines.push(JSON.parse(c.toString())); done(); } }));
  const broker = await startAedes();
  const config = pastGenesisConfig();
  const g = parseGenesis(config);
  const n = await startNode(broker.url, config, testKey('follower'), 'follower', { log, mempoolLimit: { count: 1 } });
  const pub = await connect(broker.url, 'homes');
  try {
    const f = new ChainFixture({ genesis: config });
    // well signed, uncertified signers: transient, so each would be admitted if there were room
    for (let i = 0; i < 3; i++) {
      const r = f.readingTx(testKey(`full-${i}`), epochAt(g, Date.now()) - 1, { p: 1 }, 1, new Date().toISOString());
      await pub.publishAsync('tmi/v1/readings', JSON.stringify(r), { qos: 1 });
    }
    await waitFor('two refusals', () => (n.node.stats().droppedMessages.TX_MEMPOOL_FULL ?? 0) === 2);
    assert.equal(n.node.stats().mempool.count, 1);
    const warnings = lines.filter((l) => l.msg.startsWith('mempool full'));
    assert.equal(warnings.length, 1, 'one warning for both refusals within 10 s');
    assert.equal(warnings[0]!.refused, 1);
  } finally {
    await pub.endAsync();
    await n.stop();
    await broker.close();
  }
});
