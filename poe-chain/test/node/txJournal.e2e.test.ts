/**
 * [NODE-J] kill -9 of a chain node's process while transactions it received are not yet
 * on chain: a real `tmi chain run` process (chainNodeMain.js) on a level directory, the
 * real broker in this process. The node is a follower (it does not produce), so what it
 * receives waits in its mempool; after the kill, a node started on the same directory
 * admits the journal's transactions again and, as the producer, puts them on chain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { createTmiBroker } from '../../../broker/createTmiBroker.js';
import { createMemoryDirectory } from '../../../broker/meterDirectory.js';
import { signEnvelope } from '../../../wire/codec.js';
import { writeKeyFile } from '../../../wire/keyFile.js';
import type { KeyPair } from '../../../wire/keys.js';
import { makeLoginToken } from '../../../wire/loginToken.js';
import { txId } from '../../core/txId.js';
import { openChainStoreAt } from '../../store/chainDataDir.js';
import { ChainFixture, testKey } from '../../testkit/chainFixture.js';
import { pastGenesisConfig, sleep, startNode, waitFor } from './nodeFixtures.js';

const MAIN = fileURLToPath(new URL('../../node/chainNodeMain.js', import.meta.url));

const login = (url: string, meterId: string, key: KeyPair) =>
  mqtt.connectAsync(url, { clientId: meterId, username: meterId, password: makeLoginToken(key, meterId), reconnectPeriod: 0 });

test('[NODE-J] kill -9 of a node holding received transactions: restarted on its directory, it puts every one of them on chain', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-journal-e2e-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const directory = createMemoryDirectory();
  const broker = await createTmiBroker({ directory, listeners: { mqtt: { port: 0 } } });
  t.after(() => broker.close());
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const config = pastGenesisConfig();
  const f = new ChainFixture({ genesis: config });
  const follower = testKey('journal-follower');
  const aggNode = testKey('aggregator-node');
  const admin = testKey('journal-admin');
  directory.enroll({ meterId: 'follower', publicKey: follower.address, role: 'node' });
  directory.enroll({ meterId: 'agg-node', publicKey: aggNode.address, role: 'node' });
  directory.enroll({ meterId: 'admin', publicKey: admin.address, role: 'admin' });
  const genesisFile = join(dir, 'genesis.json');
  await writeFile(genesisFile, JSON.stringify(config));
  await writeKeyFile(join(dir, 'follower.json'), follower);
  const data = join(dir, 'follower');

  // 1. the follower process: it receives transactions and, not producing, keeps them
  const child = spawn(process.execPath, [MAIN, '--genesis', genesisFile, '--broker', url, '--data', data, '--key', join(dir, 'follower.json'), '--meter-id', 'follower', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => child.kill('SIGKILL'));
  let started = false;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.includes('"chain node started"')) started = true;
  });
  await waitFor('the follower started', () => started, 20_000);

  // 2. five transfers, each wrapped and published by the admin; an observer node shows
  //    when the broker has delivered them
  directory.enroll({ meterId: 'observer', publicKey: testKey('journal-observer').address, role: 'node' });
  const observer = await startNode(url, config, testKey('journal-observer'), 'observer', { mqtt: await login(url, 'observer', testKey('journal-observer')) });
  t.after(() => observer.stop());
  const pub = await login(url, 'admin', admin);
  t.after(() => pub.endAsync());
  const transfers = Array.from({ length: 5 }, (_, i) => f.transferTx(f.aggregator, testKey(`payee-${i}`).address, 1000 + i, new Date().toISOString()));
  for (const tx of transfers) await pub.publishAsync('tmi/v1/chain/txs', JSON.stringify(signEnvelope(admin, 'tx', { tx: tx as never })), { qos: 1 });
  await waitFor('the observer admitted all five', () => observer.node.stats().mempool.count === 5, 10_000);
  await sleep(300); // the follower got them at the same moment; its journal is written within an event-loop turn

  // 3. kill -9
  child.kill('SIGKILL');
  assert.equal((await exit).signal, 'SIGKILL');

  // 4. the journal survived: a producer started on the follower's directory admits them again
  const store = await openChainStoreAt(data, { genesis: config });
  const journaled = await store.journalLoad();
  assert.equal(journaled.length, 5, 'five journal entries after the kill');
  const mqttAgg = await login(url, 'agg-node', aggNode);
  const restarted = await startNode(url, config, aggNode, 'agg-node', { store, mqtt: mqttAgg, produce: true });
  try {
    const ids = transfers.map((tx) => txId(tx as never));
    await waitFor('all five on chain', async () => (await Promise.all(ids.map((id) => restarted.node.tx(id)))).every((x) => x !== undefined), 15_000);
    for (let i = 0; i < 5; i++) assert.equal(restarted.node.wallet(testKey(`payee-${i}`).address).millicents, String(1000 + i));
    await restarted.node.idle();
    assert.equal((await store.journalLoad()).length, 0, 'on chain: gone from the journal');
    assert.equal(restarted.node.stats().journal.held, 0);
  } finally {
    await restarted.stop();
  }
});
