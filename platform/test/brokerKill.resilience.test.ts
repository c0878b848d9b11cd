/**
 * Fault: `kill -9` of the MQTT broker in the middle of an auction.
 *
 * The broker runs as its own process (`tmi broker`, in-memory sessions, the default
 * deployment) against the registry; the aggregator and its chain node (the block
 * producer) run in the test process, each with its own MQTT session; four homes run as
 * `tmi hem` processes. Two rounds:
 *   1. the broker is killed as soon as the first bid has been acknowledged (PUBACK), so
 *      other bids are in flight; it is restarted on the same port 1.5 s later;
 *   2. the broker is killed just before an auction's close, so the aggregator's
 *      auction-close is published while it is down; it is restarted 2 s later.
 * Checks: every bid a home logged as acknowledged by the broker (`sent`, after PUBACK)
 * is on chain after the restart; every offer the homes decided reaches the chain (the
 * outbox resends what was not acknowledged); each auction ends cleared (the chain clears
 * it by its clock [CLOSE]), never left open; reconnect times are measured.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import type { MqttClient } from 'mqtt';
import { createRegistry } from '../../csm-registry/createRegistry.js';
import { RegistryClient } from '../../csm-registry/client.js';
import type { RegistryDb } from '../../csm-registry/registryStore.js';
import { generateKeyPair } from '../../wire/keys.js';
import { writeKeyFile } from '../../wire/keyFile.js';
import { openChainStoreAt } from '../../poe-chain/store/chainDataDir.js';
import { createChainNode, type ChainNode, type NodeBlockEvent } from '../../poe-chain/node/createChainNode.js';
import { chainViewOf } from '../../poe-chain/node/chainQueries.js';
import { createAggregator, type Aggregator } from '../../aggregator/aggregator.js';
import { enrollPrincipals } from '../servicePrincipals.js';
import { loadOrCreateGenesis } from '../genesisFile.js';
import { connectWithLogin } from '../mqttLogin.js';
import { freePort, spawnBroker, type BrokerProcess } from '../../broker/test/redisFixtures.js';
import { killHard, spawnHem, waitUntil, type HemProcess, type LogLine } from '../../hem/test/resilienceFixtures.js';

const ADMIN = 'broker-kill-admin-token-0123456789';
const DIRECTORY = 'broker-kill-directory-token-0123456789';
const INTERVAL_MS = 4000;
const SPEED = 900_000 / INTERVAL_MS;
const HOME_START_H = 18.5; // winter evening: batteries serve the home, homes offer discharge
const HOMES = 4;

interface BidOnChain {
  auctionId: string;
  clientId: string;
  reqId: string;
  height: number;
}

function bidsIn(ev: NodeBlockEvent): BidOnChain[] {
  const out: BidOnChain[] = [];
  const visit = (t: { operation: string; clientId: string; reqId: string; parameters: unknown }) => {
    if (t.operation === 'bid-offer') out.push({ auctionId: (t.parameters as { auctionId: string }).auctionId, clientId: t.clientId, reqId: t.reqId, height: ev.height });
    if (t.operation === 'tx') visit((t.parameters as { tx: typeof t }).tx);
  };
  for (const t of ev.block.parameters.txs as { operation: string; clientId: string; reqId: string; parameters: unknown }[]) visit(t);
  return out;
}

test('kill -9 of the broker mid-auction: no acknowledged bid lost, homes reconnect, the auction clears', { timeout: 240_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'tmi-broker-kill-'));
  const hems: HemProcess[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  let broker: BrokerProcess | undefined;
  try {
    // ── registry (in the test process) and the broker (its own process, fixed port) ──
    const regDb = new Level<string, string>(join(root, 'registry')) as unknown as RegistryDb;
    const registryKey = generateKeyPair();
    const registry = await createRegistry({ db: regDb, registryKey, adminToken: ADMIN, directoryToken: DIRECTORY });
    cleanups.push(async () => {
      await registry.close();
      await regDb.close();
    });
    const { url: registryUrl } = await registry.listen(0, '127.0.0.1');
    const admin = new RegistryClient({ url: registryUrl, adminToken: ADMIN });
    const tokenFile = join(root, 'directory-token');
    await writeFile(tokenFile, DIRECTORY + '\n', { mode: 0o600 });
    const brokerKeyFile = join(root, 'broker-key.json');
    await writeKeyFile(brokerKeyFile, generateKeyPair(), 'tmi broker');
    const port = await freePort();
    const brokerArgs = ['--registry', registryUrl, '--directory-token', tokenFile, '--data', join(root, 'broker'), '--port', String(port), '--key', brokerKeyFile, '--log-level', 'warn'];
    broker = await spawnBroker(brokerArgs);
    const url = `mqtt://127.0.0.1:${port}`;

    // ── the aggregator's side: chain node (producer) and aggregator ──
    const keys = { aggregator: generateKeyPair(), aggregatorNode: generateKeyPair() };
    await enrollPrincipals(admin, [
      { meterId: 'aggregator', role: 'aggregator', key: keys.aggregator },
      { meterId: 'aggregator-node', role: 'node', key: keys.aggregatorNode },
    ]);
    const { genesis } = await loadOrCreateGenesis(join(root, 'genesis.json'), {
      chainId: 'tmi-broker-kill', registryKey: registry.address, aggregatorKey: keys.aggregator.address, aggregatorNodeKey: keys.aggregatorNode.address,
      intervalMs: INTERVAL_MS, slotMs: 200, patience: 4, now: Date.now(), aggregatorFundsMc: 1_000_000_000_000,
      extra: { voidGraceMs: 30_000 }, // a close delayed by the outage is still accepted (the chain clears by its clock either way)
    });
    const store = await openChainStoreAt(root, { genesis: genesis.config, createIfMissing: true });
    cleanups.push(() => store.close({ snapshot: false }));
    const fast = { extra: { reconnectPeriod: 300 } };
    const nodeMqtt = await connectWithLogin({ url, meterId: 'aggregator-node', key: keys.aggregatorNode, ...fast });
    cleanups.push(() => nodeMqtt.endAsync(true));
    const node: ChainNode = await createChainNode({ genesis, key: keys.aggregatorNode, store, mqtt: nodeMqtt, nodeId: 'aggregator-node', produce: true, serveSync: true });
    cleanups.push(() => node.close());
    const onChain: BidOnChain[] = [];
    node.on('block', (ev: NodeBlockEvent) => onChain.push(...bidsIn(ev)));
    const aggMqtt = await connectWithLogin({ url, meterId: 'aggregator', key: keys.aggregator, ...fast });
    cleanups.push(() => aggMqtt.endAsync(true));
    const reconnects = (c: MqttClient) => {
      const at: number[] = [];
      c.on('connect', () => at.push(Date.now()));
      return at;
    };
    const nodeConnects = reconnects(nodeMqtt);
    const aggConnects = reconnects(aggMqtt);
    const aggregator: Aggregator = await createAggregator({
      key: keys.aggregator, genesisHash: genesis.hash, mqtt: aggMqtt, chain: chainViewOf(node),
      config: {
        originMs: genesis.genesisTimeMs, intervalMs: INTERVAL_MS, slotsPerDay: 96, deviation: { thresholdWh: 1e12 },
        prices: () => ({ buyMcPerKWh: 60_000, sellMcPerKWh: 1_000 }), priorNetLoadWh: new Array<number>(96).fill(0), autoAuctions: false,
      },
    });
    cleanups.push(() => aggregator.stop());

    // ── four homes ──
    const startWall = new Date(genesis.genesisTimeMs - Math.round((HOME_START_H * 3_600_000) / SPEED)).toISOString();
    for (let k = 0; k < HOMES; k++) {
      const meterId = `home-bk-${k + 1}`;
      const dataDir = join(root, 'homes', meterId);
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      const key = generateKeyPair();
      await writeKeyFile(join(dataDir, 'meter-key.json'), key, meterId);
      await admin.enroll({ meterId, serial: `BK-${k}`, meterType: 'sim', publicKey: key.address, feeder: 'F1', programme: 'RE+TE' });
      const config = join(root, 'homes', `${meterId}.json`);
      await writeFile(config, JSON.stringify({
        meterId, dataDir, broker: { url, reconnectMs: 300 }, registry: { url: registryUrl, publicKey: registry.address }, genesisHash: genesis.hash,
        aggregatorAddress: keys.aggregator.address, brokerAddress: broker.address, intervalMs: INTERVAL_MS, speed: SPEED,
        adapter: { type: 'sim', seed: 500 + k, initialSoc: 0.85, pvPeakW: 4000, profile: { startDate: '2026-06-21', days: 1, intervalMinutes: 15 }, startWall },
      }));
      hems.push(spawnHem(meterId, config));
    }
    const addressOf = (h: HemProcess) => h.lines.find((l) => l.event === 'pseudonym-certified')?.address as string | undefined;
    await waitUntil(() => hems.every((h) => addressOf(h)), 40_000, 'four certified pseudonyms', 100);
    await waitUntil(() => hems.every((h) => h.events('reading').length >= 2), 40_000, 'two readings per home', 100);

    const sentBids = (auctionId: string) => hems.flatMap((h) => h.events('sent').filter((l) => l.operation === 'bid-offer' && l.auctionId === auctionId));
    const decidedBids = (auctionId: string) => hems.flatMap((h) => h.events('decision').filter((l) => l.auctionId === auctionId && l.bid !== null).map(() => addressOf(h)!));
    const connectedAfter = (h: HemProcess, t: number) => h.lines.find((l) => l.event === 'mqtt-connected' && (l.time as number) >= t);
    const deliveryAfter = (t: number) => {
      const i = Math.floor((t - genesis.genesisTimeMs) / INTERVAL_MS) + 1;
      return { startMs: genesis.genesisTimeMs + i * INTERVAL_MS, endMs: genesis.genesisTimeMs + (i + 1) * INTERVAL_MS };
    };
    const restart = async (downMs: number) => {
      const killedAt = Date.now();
      await broker!.kill9();
      await new Promise((r) => setTimeout(r, downMs));
      const restartedAt = Date.now();
      broker = await spawnBroker(brokerArgs);
      const listeningAt = Date.now();
      await waitUntil(() => hems.every((h) => connectedAfter(h, restartedAt)), 30_000, 'every home reconnected', 20);
      await waitUntil(() => nodeConnects.some((t) => t >= restartedAt) && aggConnects.some((t) => t >= restartedAt), 30_000, 'aggregator and node reconnected', 20);
      const homeMs = hems.map((h) => (connectedAfter(h, restartedAt)!.time as number) - listeningAt);
      return { killedAt, restartedAt, listeningAt, homeReconnectMs: { max: Math.max(...homeMs), all: homeMs }, nodeReconnectMs: nodeConnects.find((t) => t >= restartedAt)! - listeningAt };
    };
    const waitOutcome = async (auctionId: string, closesAtMs: number) => {
      await waitUntil(() => {
        const s = node.auction(auctionId)?.status;
        return s !== undefined && s !== 'open' ? s : undefined;
      }, closesAtMs - Date.now() + 45_000, `auction ${auctionId} cleared or void`, 100);
      return node.auction(auctionId)!;
    };
    const report: string[] = [];

    // ── round 1: kill as soon as a home has decided ──
    const t1 = Date.now();
    const a1 = await aggregator.openAuction({ side: 'buy', energyWh: 40_000, limitPriceMcPerKWh: 60_000, delivery: deliveryAfter(t1 + 8000), closesAtMs: t1 + 8000 });
    const firstAck = await waitUntil(() => sentBids(a1.auctionId)[0], 10_000, 'a first acknowledged bid', 1);
    const ackedBeforeKill = sentBids(a1.auctionId).length;
    const r1 = await restart(1500);
    const killAfterAckMs = r1.killedAt - (firstAck.time as number);
    const out1 = await waitOutcome(a1.auctionId, t1 + 8000);
    const decided1 = decidedBids(a1.auctionId);
    const acked1 = sentBids(a1.auctionId);
    const onChain1 = onChain.filter((b) => b.auctionId === a1.auctionId);
    const lost1 = acked1.filter((s) => !onChain1.some((b) => b.clientId === s.clientId));
    for (const s of acked1) assert.ok(onChain1.some((b) => b.clientId === s.clientId), `round 1: acknowledged bid of ${String(s.clientId)} is on chain (lost ${lost1.length} of ${acked1.length})`);
    for (const addr of decided1) assert.ok(onChain1.some((b) => b.clientId === addr), `decided offer of ${addr} reached the chain after the restart`);
    assert.equal(out1.status, 'cleared', `round 1 auction cleared (got ${out1.status})`);
    assert.ok((out1.result?.awards.length ?? 0) > 0, 'with awards');
    report.push(`round 1 (kill ${killAfterAckMs} ms after the first PUBACK of a bid, down 1.5 s): ${decided1.length} offers decided, ${ackedBeforeKill} acknowledged before the kill, ${acked1.length} acknowledged in all, ${new Set(onChain1.map((b) => b.clientId)).size} on chain (0 lost); homes reconnected ≤ ${r1.homeReconnectMs.max} ms after the new broker listened (${r1.homeReconnectMs.all.join('/')}), chain node ${r1.nodeReconnectMs} ms; auction ${out1.status} with ${out1.result?.awards.length} awards`);

    // ── round 2: kill just before the close; the auction-close is published during the outage ──
    const t2 = Date.now();
    const closes2 = t2 + 5000;
    const a2 = await aggregator.openAuction({ side: 'buy', energyWh: 40_000, limitPriceMcPerKWh: 60_000, delivery: deliveryAfter(closes2), closesAtMs: closes2 });
    await waitUntil(() => hems.every((h) => h.events('decision').some((l) => l.auctionId === a2.auctionId)), 10_000, 'every home decided', 20);
    await waitUntil(() => sentBids(a2.auctionId).length >= decidedBids(a2.auctionId).length, 10_000, 'every offer acknowledged', 20);
    await new Promise((r) => setTimeout(r, Math.max(0, closes2 - 300 - Date.now())));
    const r2 = await restart(2000);
    const out2 = await waitOutcome(a2.auctionId, closes2);
    const onChain2 = onChain.filter((b) => b.auctionId === a2.auctionId);
    for (const s of sentBids(a2.auctionId)) assert.ok(onChain2.some((b) => b.clientId === s.clientId), `acknowledged bid of ${String(s.clientId)} is on chain`);
    assert.equal(out2.status, 'cleared', `round 2 auction cleared after the delayed close (got ${out2.status})`);
    const closeDelay = (node.state().sections.auctions.get(a2.auctionId) as { closeHeight?: number } | undefined)?.closeHeight;
    report.push(`round 2 (kill 0.3 s before the close, down 2 s): ${decidedBids(a2.auctionId).length} offers, all acknowledged before the kill and on chain; auction-close queued by the aggregator's client and published after the reconnect; auction ${out2.status} with ${out2.result?.awards.length} awards${closeDelay !== undefined ? ` (close at height ${closeDelay})` : ''}; homes reconnected ≤ ${r2.homeReconnectMs.max} ms, chain node ${r2.nodeReconnectMs} ms`);

    // the homes did not lose their readings either: (address, seq) without gaps
    await new Promise((r) => setTimeout(r, INTERVAL_MS));
    for (const h of hems) {
      const seqs = h.events('sent').filter((l) => l.operation === 'meter-reading').map((l) => l.seq as number);
      const uniq = [...new Set(seqs)].sort((x, y) => x - y);
      assert.deepEqual(uniq, uniq.map((_, i) => i), `${h.meterId}: readings acknowledged with seq 0..n without a gap`);
    }
    const errors = hems.flatMap((h) => h.events('broker-error').map((l: LogLine) => `${h.meterId}:${String(l.code)}`));
    report.push(`broker errors seen by homes: ${errors.length ? errors.join(', ') : 'none'}`);
    process.stdout.write(report.map((l) => `# broker kill: ${l}`).join('\n') + '\n');
  } finally {
    for (const h of hems) await killHard(h);
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await broker?.kill9();
    await rm(root, { recursive: true, force: true });
  }
});
