/**
 * Chain nodes through the real broker (login by token, role ACLs, edge validation):
 * blocks, transaction wrappers, sync requests and responses all pass; a HEM validator
 * signs with its pseudonym, certified to its meter in the directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { createTmiBroker } from '../../../broker/createTmiBroker.js';
import { createMemoryDirectory } from '../../../broker/meterDirectory.js';
import { signEnvelope } from '../../../wire/codec.js';
import type { KeyPair } from '../../../wire/keys.js';
import { makeLoginToken } from '../../../wire/loginToken.js';
import { balanceOf } from '../../core/chainState.js';
import { testKey } from '../../testkit/chainFixture.js';
import { liveGenesisConfig, startNode, waitFor, type RunningNode } from './nodeFixtures.js';

function login(url: string, meterId: string, key: KeyPair): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId: meterId, username: meterId, password: makeLoginToken(key, meterId), reconnectPeriod: 0 });
}

test('real broker: node and hem roles produce, follow, gossip transactions and sync; the broker rejects none of it', async () => {
  const dir = createMemoryDirectory();
  const broker = await createTmiBroker({ directory: dir, listeners: { mqtt: { port: 0 } } });
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const aggNode = testKey('aggregator-node');
  const meter = testKey('hem-1-meter');
  const pseudonym = testKey('hem-1-pseudonym');
  const late = testKey('late-node');
  const admin = testKey('admin');
  dir.enroll({ meterId: 'agg-node', publicKey: aggNode.address, role: 'node' });
  dir.enroll({ meterId: 'hem-1', publicKey: meter.address, role: 'hem' });
  dir.certify('hem-1', pseudonym.address);
  dir.enroll({ meterId: 'late-node', publicKey: late.address, role: 'node' });
  dir.enroll({ meterId: 'admin', publicKey: admin.address, role: 'admin' });
  const funded = testKey('funded');
  const config = liveGenesisConfig({ patience: 2, balances: [{ address: funded.address, millicents: 1_000_000 }, { address: pseudonym.address, millicents: 500 }] });

  const errors: string[] = [];
  const watcher = await login(url, 'admin', admin);
  await watcher.subscribeAsync('tmi/v1/clients/+/errors');
  watcher.on('message', (t, p) => errors.push(`${t} ${p.toString()}`));
  const nodes: RunningNode[] = [];
  try {
    const producer = await startNode(url, config, aggNode, 'agg-node', { mqtt: await login(url, 'agg-node', aggNode), produce: true, serveSync: true });
    nodes.push(producer);
    const hem = await startNode(url, config, pseudonym, 'hem-1', { mqtt: await login(url, 'hem-1', meter), serveSync: true });
    nodes.push(hem);
    await waitFor('blocks reach the hem node', () => hem.node.head().height >= 3);
    // the hem node gossips a transfer signed by its pseudonym, wrapped and signed by its pseudonym too
    const payee = testKey('payee').address;
    const r = await hem.node.submit(signEnvelope(pseudonym, 'transfer', { to: payee, amountMillicents: 200 }, { chain: hem.node.genesis.hash }));
    assert.equal(r.status, 'admitted');
    await waitFor('transfer on chain at the producer', () => balanceOf(producer.node.state(), payee) === 200n);
    // a transaction from elsewhere (admin publishes it wrapped)
    await watcher.publishAsync('tmi/v1/chain/txs', JSON.stringify(signEnvelope(admin, 'tx', { tx: signEnvelope(funded, 'transfer', { to: payee, amountMillicents: 5 }, { chain: hem.node.genesis.hash }) })), { qos: 1 });
    await waitFor('second transfer', () => balanceOf(hem.node.state(), payee) === 205n);
    // a node that starts late catches up by sync through the broker
    await waitFor('height 12', () => producer.node.head().height >= 12, 10_000);
    const lateNode = await startNode(url, config, late, 'late-node', { mqtt: await login(url, 'late-node', late) });
    nodes.push(lateNode);
    await waitFor('late node caught up', () => lateNode.node.head().height >= 12, 10_000);
    await waitFor('same tip', () => lateNode.node.head().hash === producer.node.head().hash && hem.node.head().hash === producer.node.head().hash, 5000);
    assert.deepEqual(errors, [], 'the broker refused none of the nodes’ messages');
  } finally {
    for (const n of nodes.reverse()) await n.stop();
    await watcher.endAsync();
    await broker.close();
  }
});
