/**
 * [HEM-FIN] Final versus unconfirmed on a real chain node: a single producing aggregator node
 * (nobody ranked: the committee is its node alone, and it votes on its own blocks, so each
 * block is final within about two slots). A transfer to the home's address is unconfirmed
 * in the block that carries it — at the head, not at the final block — and final once that
 * block is: what the home page, Home Assistant and the HEM's status report (finalMoney.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { walletFinality, moneyStatus, type WalletFinality } from '../finalMoney.js';
import { liveGenesisConfig, startAedes, startNode, waitFor } from '../../poe-chain/test/node/nodeFixtures.js';
import { testKey } from '../../poe-chain/testkit/chainFixture.js';
import { signEnvelope } from '../../wire/codec.js';
import { statusPayload } from '../adapters/haDiscovery.js';
import { chainViewOf } from '../../poe-chain/node/chainQueries.js';

test('[HEM-FIN] a payment to the home: unconfirmed in its block, final once the node finalises it (single aggregator node)', async () => {
  const broker = await startAedes();
  const payer = testKey('fin-payer');
  const home = testKey('fin-home');
  const config = liveGenesisConfig({ balances: [{ address: payer.address, millicents: 1_000_000 }] });
  const n = await startNode(broker.url, config, testKey('aggregator-node'), 'agg-node', { produce: true });
  try {
    // the genesis block and whatever came before are final first (nothing to pay yet)
    await waitFor('a final block', () => n.node.head().finalizedHeight >= 1 || n.node.head().height === 0, 5000);
    let txId: string | undefined;
    let atBlock: { height: number; finalizedHeight: number; wallet: WalletFinality; status: string } | undefined;
    n.node.on('block', (ev) => {
      if (atBlock || txId === undefined || !ev.txIds.includes(txId)) return;
      // the moment the block is the head: not final yet
      const w = walletFinality(n.node, [home.address]);
      atBlock = { height: ev.height, finalizedHeight: n.node.head().finalizedHeight, wallet: w, status: moneyStatus(ev.height, n.node.head().finalizedHeight) };
    });
    const tx = signEnvelope(payer, 'transfer', { to: home.address, amountMillicents: 2500 }, { date: new Date(), chain: n.node.genesis.hash });
    const r = await n.node.submit(tx);
    assert.equal(r.status, 'admitted', JSON.stringify(r));
    txId = r.txId;
    await waitFor('the transfer in a block', () => atBlock !== undefined, 5000);
    const b = atBlock!;
    assert.ok(b.finalizedHeight < b.height, `its block ${b.height} is not final yet (final ${b.finalizedHeight})`);
    assert.equal(b.status, 'unconfirmed');
    assert.deepEqual(
      [b.wallet.headBalanceMillicents, b.wallet.finalBalanceMillicents, b.wallet.unconfirmedChangeMillicents],
      ['2500', '0', '2500'],
      'at the head the home has it; at the final block it does not: all of it unconfirmed',
    );
    const ha = JSON.parse(statusPayload({
      soc: 0.5, lastBidWh: 0, lastBidType: 'none', awardWh: 0, earningsMillicents: 0, queued: 0, connected: true,
      walletFinalMillicents: b.wallet.finalBalanceMillicents, walletUnconfirmedChangeMillicents: b.wallet.unconfirmedChangeMillicents,
    })) as Record<string, unknown>;
    assert.deepEqual([ha.walletFinalCents, ha.walletUnconfirmedChangeCents], [0, 2.5], 'Home Assistant: 0 ¢ final, 2.5 ¢ unconfirmed');

    // the node votes on its own block: final within a few slots
    await waitFor('the block final', () => n.node.head().finalizedHeight >= b.height, 5000);
    const after = walletFinality(n.node, [home.address]);
    assert.equal(moneyStatus(b.height, n.node.head().finalizedHeight), 'final');
    assert.deepEqual([after.headBalanceMillicents, after.finalBalanceMillicents, after.unconfirmedChangeMillicents], ['2500', '2500', '0'], 'all of it final');
    assert.ok(after.finalizedHeight >= b.height);
    // the aggregator's view over the same node reads the same final height [AGG-FIN]
    assert.equal(await chainViewOf(n.node).finalizedHeight(), n.node.head().finalizedHeight);
  } finally {
    await n.stop();
    await broker.close();
  }
});
