/**
 * [NODE-fin] [FIN-R] A crash between the local justification and the on-chain one.
 *
 * The aggregator's node alone (nobody ranked: the committee is itself, quorum 1) on a fake
 * clock, one slot per tick: it votes each round, justifies and finalises locally at once, and
 * its justifications ride on its next heartbeat (W = 4 slots). It is crashed (its disk fenced,
 * as the simulator does) while its local final checkpoint is ahead of the chain's
 * `meta.finalized` and the links between them are only in its mempool. After the restart on the
 * same disk, the chain's own proof must catch up with the node's final block and keep following
 * it. Before the links were kept in the store, every later justification started from the
 * node's stored final checkpoint, which the chain never justified: refused UNJUSTIFIED_SOURCE,
 * `meta.finalized` frozen for good (simulator bug 6: seed 5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGenesis } from '../../core/genesis.js';
import { openChainStore } from '../../store/openChainStore.js';
import { SimDisk } from '../../sim/simDisk.js';
import { testKey } from '../../testkit/chainFixture.js';
import type { ChainNode } from '../../node/createChainNode.js';
import { liveGenesisConfig, startAedes, startNode, waitFor, type RunningNode } from './nodeFixtures.js';

test('[FIN-R] after a crash that lost the links in the mempool, the chain\'s meta.finalized catches up with the node\'s final block', { timeout: 60_000 }, async () => {
  const broker = await startAedes();
  const config = liveGenesisConfig({ patience: 4 });
  const g = parseGenesis(config);
  const key = testKey('aggregator-node');
  let clock = Date.now();
  const now = () => clock;
  const disk = new SimDisk();
  const start = async (name: string): Promise<RunningNode> => {
    const store = await openChainStore(disk.open(), { genesis: config });
    return startNode(broker.url, config, key, name, { store, now, slotTimer: false, produce: true });
  };
  const step = async (node: ChainNode) => {
    clock += g.slotMs;
    await node.tick();
    await node.idle();
  };
  const running: RunningNode[] = [];
  try {
    let n = await start('agg-1');
    running.push(n);
    // the first block (a heartbeat) once the initial sync has given up waiting for peers
    await waitFor('the first block', async () => {
      await step(n.node);
      return n.node.head().height >= 1;
    }, 20_000, 20);
    // run until the node's final block is ahead of the chain's and the links are in its mempool only
    let crashAt: { final: number; onChain: number } | undefined;
    for (let i = 0; i < 200 && crashAt === undefined; i++) {
      await step(n.node);
      const final = n.node.finality().final;
      const onChain = n.node.state().meta.finalized;
      if (n.node.head().height >= 4 && final.round > onChain.round && n.node.stats().mempool.justifications > 0) crashAt = { final: final.height, onChain: onChain.height };
    }
    assert.ok(crashAt, 'the node\'s final block ahead of the chain\'s, its justifications waiting');

    // ── the crash: the disk fenced, the process gone (nothing of it reaches the disk again) ──
    disk.crash();
    void n.node.close().catch(() => undefined);
    await n.client.endAsync(true);
    running.pop();

    n = await start('agg-2');
    running.push(n);
    assert.equal(n.node.finality().final.height, crashAt.final, 'the stored final checkpoint is read at start');
    const node = n.node;
    const chainFinal = () => node.state().meta.finalized.height;
    // the chain's proof reaches the final block of before the crash, then follows the node's
    for (let i = 0; i < 120 && !(chainFinal() >= crashAt.final && node.head().height >= crashAt.final + 2 && chainFinal() >= node.finality().final.height - 1); i++) await step(node);
    assert.ok(chainFinal() >= crashAt.final, `meta.finalized ${chainFinal()} reaches the node's final block of before the crash, ${crashAt.final} (it was ${crashAt.onChain} on chain)`);
    assert.ok(node.head().height >= crashAt.final + 2, 'blocks went on after the restart');
    assert.ok(chainFinal() >= node.finality().final.height - 1, `meta.finalized ${chainFinal()} follows the node's final ${node.finality().final.height}`);
    assert.ok(node.finality().justificationsResubmitted > 0, 'the lost links were submitted again');
    // the links are forgotten once on chain: the store keeps none below the chain's justified round
    const kept = await n.store.nodeRecords('link:');
    const justified = node.state().meta.justified.round;
    assert.ok(kept.every((r) => (JSON.parse(r.text) as { target: { round: number } }).target.round > justified), 'no link kept that the chain has');
  } finally {
    for (const r of running) await r.stop();
    await broker.close();
  }
});

test('[STORE-N] node records by prefix: listed in name order, deleted in one batch', async () => {
  const config = liveGenesisConfig();
  const disk = new SimDisk();
  const store = await openChainStore(disk.open(), { genesis: config });
  await store.putNodeRecord('link:000000000012', 'b');
  await store.putNodeRecord('link:000000000003', 'a');
  await store.putNodeRecord('final', 'f');
  assert.deepEqual(await store.nodeRecords('link:'), [{ name: 'link:000000000003', text: 'a' }, { name: 'link:000000000012', text: 'b' }]);
  await store.deleteNodeRecords(['link:000000000003', 'link:000000000099']);
  assert.deepEqual(await store.nodeRecords('link:'), [{ name: 'link:000000000012', text: 'b' }]);
  assert.equal(await store.nodeRecord('final'), 'f');
  await store.close();
});
