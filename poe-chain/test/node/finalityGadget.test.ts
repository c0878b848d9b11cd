/**
 * [NODE-fin] [FIN-E] The gadget reports a committee member's conflicting votes whether or not
 * they can count: a vote for the head of round r and one for its parent in the same round is a
 * double vote (core/finality.ts voteConflict; the chain takes the evidence), though the second
 * is dropped for counting by the head-at-round rule [FIN-1] (VOTE_NOT_HEAD_AT_ROUND). Before
 * the conflict check came first, no node reported it (voteEquivocation.adversary.resilience).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signEnvelope } from '../../../wire/codec.js';
import { createGenesisState } from '../../core/chainState.js';
import { genesisCheckpoint } from '../../core/finality.js';
import { parseGenesis, slotAt } from '../../core/genesis.js';
import { testKey } from '../../testkit/chainFixture.js';
import { NODE_TOPICS } from '../../node/nodeTopics.js';
import { buildChain, connect, pastGenesisConfig, startAedes, startNode, waitFor } from './nodeFixtures.js';

test('[FIN-E] a double vote whose second target is not the head at its round is still reported', async () => {
  const broker = await startAedes();
  const config = pastGenesisConfig({ patience: 1 });
  const g = parseGenesis(config);
  const member = testKey('aggregator-node'); // nobody ranked: the committee is the aggregator's node
  const first = slotAt(g, Date.now()) - 100;
  const blocks = buildChain(createGenesisState(g), member, first, 3);
  const n = await startNode(broker.url, config, testKey('watcher'), 'watcher');
  const pub = await connect(broker.url, 'publisher');
  const evidence: { voter: string; why: string }[] = [];
  n.node.on('voteEvidence', (e) => evidence.push({ voter: e.voter, why: e.why }));
  try {
    for (const b of blocks) await pub.publishAsync(NODE_TOPICS.blocks, JSON.stringify(b.block), { qos: 1 });
    await waitFor('the three blocks', () => n.node.head().height === 3);
    const [, parent, head] = blocks as [unknown, (typeof blocks)[number], (typeof blocks)[number]];
    const r = head.block.parameters.header.slot + 1;
    const source = genesisCheckpoint(g.hash);
    const vote = (height: number, hash: string) => signEnvelope(member, 'vote', { source, target: { round: r, height, hash } }, { chain: g.hash });
    await pub.publishAsync(NODE_TOPICS.votes, JSON.stringify(vote(3, head.hash)), { qos: 1 });
    await pub.publishAsync(NODE_TOPICS.votes, JSON.stringify(vote(2, parent.hash)), { qos: 1 });
    await waitFor('the double vote reported', () => evidence.length > 0);
    assert.deepEqual(evidence, [{ voter: member.address, why: 'double' }]);
    assert.equal(n.node.stats().droppedMessages.VOTE_NOT_HEAD_AT_ROUND, 1, 'the parent vote still does not count');
  } finally {
    await pub.endAsync();
    await n.stop();
    await broker.close();
  }
});

/**
 * [SYNC-V] Votes for a block the node does not hold that keep coming for two slots: the node
 * asks its peers for blocks from the target's height (a branch it lacks; the simulator's seed
 * 57 --serve-sync all: the archive restarted behind and never asked for the validators'
 * branch, on which only it could produce). One vote alone asks nothing: a block in flight.
 */
test('[SYNC-V] votes for a block not held, for two slots: a sync request from its height; one vote alone: none', async () => {
  const broker = await startAedes();
  const config = pastGenesisConfig({ patience: 1 });
  const g = parseGenesis(config);
  const member = testKey('aggregator-node');
  const n = await startNode(broker.url, config, testKey('watcher'), 'watcher', { sync: { timeoutMs: 100, retries: 0 } });
  const pub = await connect(broker.url, 'publisher');
  const requests: { fromHeight: number; at: number }[] = [];
  await pub.subscribeAsync(NODE_TOPICS.syncRequest);
  pub.on('message', (_t, m) => requests.push({ fromHeight: (JSON.parse(m.toString()) as { parameters: { fromHeight: number } }).parameters.fromHeight, at: Date.now() }));
  try {
    // the start sync (nobody answers) ends after its timeout, checked at a slot boundary
    await new Promise((r) => setTimeout(r, 4 * g.slotMs));
    assert.equal(n.node.stats().syncing, false, 'start sync over');
    const before = requests.length;
    const unknown = 'ab'.repeat(32);
    const vote = () => signEnvelope(member, 'vote', { source: genesisCheckpoint(g.hash), target: { round: slotAt(g, Date.now()), height: 7, hash: unknown } }, { chain: g.hash });
    await pub.publishAsync(NODE_TOPICS.votes, JSON.stringify(vote()), { qos: 1 });
    await waitFor('the vote waiting', () => n.node.stats().finality.votesWaiting === 1);
    await new Promise((r) => setTimeout(r, g.slotMs));
    assert.equal(requests.length, before, 'one vote (and one slot) asks nothing');
    await new Promise((r) => setTimeout(r, g.slotMs + 20));
    await pub.publishAsync(NODE_TOPICS.votes, JSON.stringify(vote()), { qos: 1 });
    await waitFor('a sync request', () => requests.length > before);
    assert.equal(requests[before]!.fromHeight, 7, 'from the unknown target\'s height');
  } finally {
    await pub.endAsync();
    await n.stop();
    await broker.close();
  }
});
