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
