/**
 * One data directory, two parts (DESIGN §9, `tmi up`):
 * - the edge (`startEdge`): the registry, the broker and the genesis file;
 * - the core (`startCore`): the aggregator's chain node, the aggregator and analytics.
 * The core reaches the edge only by its URLs and tokens (`EdgeLink`), so `tmi up` runs
 * each part in its own worker thread with its own heap cap (platformParts.ts), and
 * `startPlatform` runs both in the caller's thread (tests, `tmi simulate`). Steps start in
 * dependency order and stop in reverse; each step is named.
 */
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { MqttClient } from 'mqtt';
import { pino, type Logger } from 'pino';
import { openRegistryDataDir } from '../csm-registry/registryDataDir.js';
import { createRegistry, type Registry } from '../csm-registry/createRegistry.js';
import { RegistryClient } from '../csm-registry/client.js';
import { createTmiBroker, type TmiBroker } from '../broker/createTmiBroker.js';
import { createHttpDirectory } from '../broker/httpDirectory.js';
import { openBrokerDataDir } from '../broker/brokerDataDir.js';
import { createFileTokenStore } from '../broker/loginTokenStore.js';
import { loadOrCreateToken } from '../csm-registry/registryDataDir.js';
import { dirname } from 'node:path';
import { loadOrCreateKeyFile } from '../wire/keyFile.js';
import type { KeyPair } from '../wire/keys.js';
import { GENESIS_DEFAULTS, parseGenesis, type Genesis } from '../poe-chain/core/genesis.js';
import { platformPaths } from './dataDir.js';
import { enrollPrincipals } from './servicePrincipals.js';
import { loadOrCreateGenesis } from './genesisFile.js';
import { connectWithLogin, endClient } from './mqttLogin.js';
import { openChainStoreAt } from '../poe-chain/store/chainDataDir.js';
import { createChainNode, type ChainNode, type FinalEvent } from '../poe-chain/node/createChainNode.js';
import { MARKET_TOPICS, createMarketResultPublisher } from '../aggregator/marketResults.js';
import { createVppMarketTrader } from '../aggregator/vppMarketOrders.js';
import { encode, signEnvelope } from '../wire/codec.js';
import { chainViewOf, readingFeedOf } from '../poe-chain/node/chainQueries.js';
import { createAggregator, type Aggregator, type AggregatorConfig } from '../aggregator/aggregator.js';
import { createAggregatorAdminApp } from '../aggregator/adminApi.js';
import { defaultPriceAt, parsePriceCsv, priceAt } from '../aggregator/core/priceSeries.js';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { Level } from 'level';
import { createAnalytics, type Analytics } from '../analytics/createAnalytics.js';
import { createMqttFollower } from '../analytics/adapters/mqttFollower.js';
import { chainStateFacts } from '../analytics/adapters/chainStateFacts.js';
import type { ChainState } from '../poe-chain/core/chainState.js';

export interface PlatformOptions {
  dataDir: string;
  host?: string;
  ports?: { registry?: number; mqtt?: number; ws?: number; metrics?: number; aggregator?: number; analytics?: number };
  /** metering interval = chain epoch, ms (default 15 min) */
  intervalMs?: number;
  /** chain slot length S and patience W of a new genesis (default GENESIS_DEFAULTS: 100 ms, 20) */
  slotMs?: number;
  patience?: number;
  /** [MKT-GATE] P2P market timing of a new genesis (default ⌊interval / 3⌋ and the reveal window of loadOrCreateGenesis); ignored when the genesis exists */
  market?: { gateClosureMs?: number; revealWindowMs?: number };
  adminToken?: string;
  /** [ROLES] the aggregator operator API's token (default: <data>/aggregator/operator-token, created 0600) */
  operatorToken?: string;
  /** aggregator settings; omitted fields get defaults suited to the interval length */
  aggregator?: Partial<AggregatorConfig>;
  /** start the aggregator (default true) */
  withAggregator?: boolean;
  /** imbalance price series CSV for auction limit prices (default: a built-in daily shape) */
  pricesCsv?: string;
  /** start analytics and its dashboard (default true) */
  withAnalytics?: boolean;
  log?: Logger;
  now?: () => number;
}

/** Both parts, as `startPlatform` runs them in one thread: the edge's and the core's facts together. */
export interface Platform extends Omit<Edge, 'urls' | 'link' | 'stop'>, Omit<Core, 'urls' | 'stop'> {
  urls: Edge['urls'] & Core['urls'];
  adminToken: string;
  stop(): Promise<void>;
}

/** a stop step running longer than this is logged by name, again each time as long */
const STOP_STEP_WARN_MS = 5_000;

/** Named stop steps, run in reverse order; a step still running after STOP_STEP_WARN_MS is
 * logged by name (a stop that hangs says where). */
function stopSteps(log: Logger) {
  const steps: { name: string; run: () => Promise<void> }[] = [];
  const onStop = (name: string, run: () => Promise<void>) => void steps.push({ name, run });
  const stop = async () => {
    for (const s of steps.splice(0).reverse()) {
      const t0 = Date.now();
      const slow = setInterval(() => log.warn({ event: 'stop-step-slow', step: s.name, waitedMs: Date.now() - t0 }, 'a stop step is still running'), STOP_STEP_WARN_MS);
      try {
        await s.run();
      } catch (err) {
        log.warn({ err, step: s.name }, 'stop step failed');
      } finally {
        clearInterval(slow);
      }
      log.debug({ step: s.name, ms: Date.now() - t0 }, 'stopped');
    }
  };
  return { onStop, stop };
}

/** What each part starts from: its logger, host, clock, data directory and stop steps. */
function partContext(o: Pick<PlatformOptions, 'dataDir' | 'host' | 'log' | 'now'>) {
  const log = o.log ?? pino({ level: 'silent' });
  return { log, host: o.host ?? '127.0.0.1', now: o.now ?? Date.now, paths: platformPaths(o.dataDir), ...stopSteps(log) };
}

/** Loads (or creates) the three service keys of the data directory. */
async function serviceKeys(paths: ReturnType<typeof platformPaths>) {
  await mkdir(paths.keys, { recursive: true, mode: 0o700 });
  return {
    aggregator: await loadOrCreateKeyFile(paths.aggregatorKey, 'aggregator'),
    aggregatorNode: await loadOrCreateKeyFile(paths.aggregatorNodeKey, 'aggregator chain node'),
    analytics: await loadOrCreateKeyFile(paths.analyticsKey, 'analytics'),
  };
}

export type EdgeOptions = Pick<PlatformOptions, 'dataDir' | 'host' | 'intervalMs' | 'slotMs' | 'patience' | 'market' | 'adminToken' | 'log' | 'now'> & {
  ports?: { registry?: number; mqtt?: number; ws?: number; metrics?: number };
  /** [SESSION-CAP] all limited sessions' queues together, MiB (default the broker's, 256; `tmi up` gives a quarter of the edge's heap cap) */
  sessionQueueTotalMB?: number;
};

/** What the core needs of the edge: plain values, so that it can cross to another thread. */
export interface EdgeLink {
  mqttUrl: string;
  registryUrl: string;
  /** the registry's public key: verifies the feeder limits it signs [FEEDER-1] */
  registryKey: string;
  adminToken: string;
  directoryToken: string;
  genesisConfig: Genesis['config'];
}

export interface Edge {
  paths: ReturnType<typeof platformPaths>;
  urls: { registry: string; mqtt: string; ws?: string; metrics?: string };
  link: EdgeLink;
  adminTokenFile: string | undefined;
  /** [ROLES] the broker's read-only registry credential */
  directoryTokenFile: string | undefined;
  /** [BROKER-ID] the broker's error-signing key file (stable across restarts) */
  brokerKeyFile: string;
  registry: Registry;
  registryClient: RegistryClient;
  broker: TmiBroker;
  genesis: Genesis;
  keys: { aggregator: KeyPair; aggregatorNode: KeyPair; analytics: KeyPair };
  stop(): Promise<void>;
}

/** The edge: the registry, the service principals, the broker and the genesis file. */
export async function startEdge(o: EdgeOptions): Promise<Edge> {
  const { log, host, now, paths, onStop, stop } = partContext(o);
  try {
    // 0. the broker's stable identity [BROKER-ID]: known before the registry serves it
    const keys = await serviceKeys(paths);
    const brokerDir = await openBrokerDataDir(paths.broker);

    let servedGenesis: Genesis | undefined;
    // 1. registry: admin token for operators, directory token for the broker [ROLES]
    const dir = await openRegistryDataDir(paths.registry, o.adminToken ? { adminToken: o.adminToken } : {});
    onStop('registry-db', () => dir.db.close());
    const registry = await createRegistry({
      db: dir.db, registryKey: dir.registryKey, adminToken: dir.adminToken, directoryToken: dir.directoryToken,
      brokerAddress: brokerDir.key.address, log: log.child({ part: 'registry' }), now,
      // [DOMAIN-TX] GET /v1/chain, once the genesis below is written (it needs the registry's key)
      chain: () => (servedGenesis ? { genesisHash: servedGenesis.hash, chainId: servedGenesis.chainId } : undefined),
    });
    const reg = await registry.listen(o.ports?.registry ?? 0, host);
    onStop('registry-http', () => registry.close());
    // [FEEDER-1] feeder limits it reads must verify with the registry key before they are relayed
    const registryClient = new RegistryClient({ url: reg.url, adminToken: dir.adminToken, operator: 'tmi-up', registryPublicKey: registry.address });

    // 2. service keys, enrolled as principals
    await enrollPrincipals(registryClient, [
      { meterId: 'aggregator', role: 'aggregator', key: keys.aggregator },
      { meterId: 'aggregator-node', role: 'node', key: keys.aggregatorNode },
      { meterId: 'analytics', role: 'analytics', key: keys.analytics },
    ]);

    // 3. broker, authenticating against the registry with its read-only credential; accepted
    //    login tokens kept in its data directory [TOKEN]
    const broker = await createTmiBroker({
      directory: createHttpDirectory({ url: reg.url, token: dir.directoryToken }),
      key: brokerDir.key,
      loginTokens: await createFileTokenStore(brokerDir.dir, { now }),
      listeners: {
        mqtt: { port: o.ports?.mqtt ?? 0, host },
        ...(o.ports?.ws !== undefined ? { ws: { port: o.ports.ws, host } } : {}),
      },
      ...(o.ports?.metrics !== undefined ? { metrics: { port: o.ports.metrics, host } } : {}),
      ...(o.sessionQueueTotalMB !== undefined ? { sessionQueue: { totalBytes: o.sessionQueueTotalMB * 2 ** 20 } } : {}),
      log: log.child({ part: 'broker' }),
      now,
    });
    onStop('broker', () => broker.close());
    const mqttUrl = `mqtt://${host}:${broker.ports.mqtt}`;

    // 4. genesis
    const { genesis } = await loadOrCreateGenesis(paths.genesis, {
      chainId: 'tmi-local',
      registryKey: registry.address,
      aggregatorKey: keys.aggregator.address,
      aggregatorNodeKey: keys.aggregatorNode.address,
      intervalMs: o.intervalMs ?? 900_000,
      slotMs: o.slotMs ?? GENESIS_DEFAULTS.slotMs,
      patience: o.patience ?? GENESIS_DEFAULTS.patience,
      now: now(),
      aggregatorFundsMc: 1_000_000_000_000, // 10,000,000 cents of settlement funds
      ...(o.market ? { extra: o.market } : {}),
    });
    servedGenesis = genesis;

    return {
      paths,
      urls: {
        registry: reg.url,
        mqtt: mqttUrl,
        ...(broker.ports.ws ? { ws: `ws://${host}:${broker.ports.ws}/mqtt` } : {}),
        ...(broker.ports.metrics ? { metrics: `http://${host}:${broker.ports.metrics}/metrics` } : {}),
      },
      link: { mqttUrl, registryUrl: reg.url, registryKey: registry.address, adminToken: dir.adminToken, directoryToken: dir.directoryToken, genesisConfig: genesis.config },
      adminTokenFile: dir.adminTokenFile,
      directoryTokenFile: dir.directoryTokenFile,
      brokerKeyFile: brokerDir.keyFile,
      registry,
      registryClient,
      broker,
      genesis,
      keys,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export type CoreOptions = Pick<PlatformOptions, 'dataDir' | 'host' | 'operatorToken' | 'aggregator' | 'withAggregator' | 'pricesCsv' | 'withAnalytics' | 'log' | 'now'> & {
  ports?: { aggregator?: number; analytics?: number };
  edge: EdgeLink;
};

export interface Core {
  urls: { aggregator?: string; analytics?: string };
  /** [ROLES] the aggregator operator API's credential */
  operatorToken: string;
  operatorTokenFile: string | undefined;
  /** an MQTT session logged in as the aggregator */
  aggregatorMqtt: MqttClient;
  /** the aggregator's chain node (fallback producer, serves sync) */
  node: ChainNode;
  aggregator?: Aggregator;
  analytics?: Analytics;
  stop(): Promise<void>;
}

/** The core: the aggregator's chain node, analytics and the aggregator, on the edge's broker. */
export async function startCore(o: CoreOptions): Promise<Core> {
  const { log, host, now, paths, onStop, stop } = partContext(o);
  /** an MQTT client's stop: its messages in flight get 3 s, then it is ended at once */
  const endMqtt = async (client: MqttClient, name: string) => {
    if (!(await endClient(client))) log.warn({ client: name }, 'MQTT client ended at once: messages in flight not acknowledged in 3 s');
  };
  try {
    const keys = await serviceKeys(paths);
    const genesis = parseGenesis(o.edge.genesisConfig);
    const mqttUrl = o.edge.mqttUrl;
    const registryClient = new RegistryClient({ url: o.edge.registryUrl, adminToken: o.edge.adminToken, operator: 'tmi-up', registryPublicKey: o.edge.registryKey });

    // 5. the aggregator's MQTT session
    const aggregatorMqtt = await connectWithLogin({ url: mqttUrl, meterId: 'aggregator', key: keys.aggregator });
    onStop('aggregator-mqtt', () => endMqtt(aggregatorMqtt, 'aggregator-mqtt'));

    // 6. the aggregator's chain node: produces when no validator is eligible, serves sync
    const store = await openChainStoreAt(paths.root, { genesis: genesis.config, createIfMissing: true });
    onStop('chain-store', () => store.close({ snapshot: true }));
    const nodeMqtt = await connectWithLogin({ url: mqttUrl, meterId: 'aggregator-node', key: keys.aggregatorNode });
    onStop('chain-node-mqtt', () => endMqtt(nodeMqtt, 'chain-node-mqtt'));
    const node = await createChainNode({
      genesis, key: keys.aggregatorNode, store, mqtt: nodeMqtt, nodeId: 'aggregator-node',
      produce: true, serveSync: true, now, log: log.child({ part: 'chain' }),
      // [NODE-verify] blocks from validators are checked on every core
      verifyThreads: Math.max(0, availableParallelism() - 1),
    });
    onStop('chain-node', () => node.close());

    // 7. analytics (before the aggregator: the schedule is not retained, so analytics must
    //    be listening when the first one is published): market messages over MQTT; chain
    //    state from the aggregator's node
    let analytics: Analytics | undefined;
    let analyticsUrl: string | undefined;
    if (o.withAnalytics ?? true) {
      const adb = new Level<string, string>(paths.analytics, { valueEncoding: 'utf8' });
      await adb.open();
      onStop('analytics-db', () => adb.close());
      const a = await createAnalytics({ db: adb, log: log.child({ part: 'analytics' }) });
      analytics = a;
      onStop('analytics-http', () => a.close());
      const follower = createMqttFollower({
        url: mqttUrl, meterId: 'analytics', meterKey: keys.analytics, ingest: (f) => a.ingest(f), log: log.child({ part: 'analytics' }),
      });
      onStop('analytics-mqtt', () => follower.close());
      await follower.ready();
      a.addHealth('mqtt', () => follower.stats());
      // each applied block's state changes become facts; parents looked up by hash (reorgs)
      const states = new Map<string, ChainState>([[node.head().hash, node.state()]]);
      let chain: Promise<unknown> = Promise.resolve();
      node.on('block', (ev) => {
        const parent = states.get(ev.block.parameters.header.parent);
        states.set(ev.hash, ev.state);
        if (states.size > 256) states.delete(states.keys().next().value!);
        if (!parent) return;
        const facts = chainStateFacts(parent, ev);
        chain = chain.then(() => a.ingest(facts)).catch((err: unknown) => log.warn({ err }, 'analytics ingest failed'));
      });
      // [AN-FIN] the node's own final checkpoint (ahead of the chain's proof by a block or so)
      const finalFact = (cp: { round: number; height: number; hash: string }, at: number) =>
        ({ kind: 'finality' as const, source: 'node' as const, round: cp.round, height: cp.height, hash: cp.hash, time: at });
      chain = chain.then(() => a.ingest(finalFact(node.finality().final, now()))).catch((err: unknown) => log.warn({ err }, 'analytics ingest failed'));
      // one ingest for the final events that came while the ones before were ingested (the latest wins)
      let pendingFinal: FinalEvent | undefined;
      node.on('final', (ev) => {
        const queued = pendingFinal !== undefined;
        pendingFinal = ev;
        if (queued) return;
        chain = chain.then(() => {
          const e = pendingFinal!;
          pendingFinal = undefined;
          return a.ingest(finalFact(e, e.at));
        }).catch((err: unknown) => log.warn({ err }, 'analytics ingest failed'));
      });
      onStop('analytics-ingest', () => chain.then(() => undefined));
      const l = await a.listen(o.ports?.analytics ?? 0, host);
      analyticsUrl = l.url;
    }

    // 8. the aggregator and its operator API
    let aggregator: Aggregator | undefined;
    let aggregatorUrl: string | undefined;
    let operatorToken = o.operatorToken;
    let operatorTokenFile: string | undefined;
    if (operatorToken === undefined) {
      await mkdir(dirname(paths.operatorToken), { recursive: true, mode: 0o700 });
      operatorTokenFile = paths.operatorToken;
      operatorToken = await loadOrCreateToken(operatorTokenFile);
    }
    if (operatorToken === o.edge.adminToken || operatorToken === o.edge.directoryToken) throw new Error('BAD_OPERATOR_TOKEN reason=the operator token must differ from the registry tokens');
    if (o.withAggregator ?? true) {
      const intervalMs = genesis.intervalMs;
      const slotsPerDay = o.aggregator?.slotsPerDay ?? Math.max(1, Math.round(86_400_000 / intervalMs));
      const series = o.pricesCsv ? parsePriceCsv(await readFile(o.pricesCsv, 'utf8')) : undefined;
      aggregator = await createAggregator({
        key: keys.aggregator,
        genesisHash: genesis.hash, // [DOMAIN-TX]
        mqtt: aggregatorMqtt,
        chain: chainViewOf(node),
        readingFeed: readingFeedOf(node), // the readings the node admits: one delivery and one check per reading
        now,
        log: log.child({ part: 'aggregator' }),
        config: {
          originMs: genesis.genesisTimeMs,
          intervalMs,
          slotsPerDay,
          deviation: { thresholdWh: 1000 },
          prices: series ? (t) => priceAt(series, t) : (_t, slot) => defaultPriceAt(Math.floor((slot * 1440) / slotsPerDay)),
          priorNetLoadWh: new Array<number>(slotsPerDay).fill(0),
          // [FEEDER-1] the registry's signed limits: relayed to the chain as feeder-limit transactions
          feederLimits: async () => registryClient.feeders(),
          ...o.aggregator,
        },
      });
      onStop('aggregator', () => aggregator!.stop());
      // [MKT] each P2P clearing the node applies, republished signed for homes without a node,
      // once its block is final [AGG-FIN-3]
      const marketResults = createMarketResultPublisher({
        node,
        genesis,
        publish: async (epoch, result) =>
          void (await aggregatorMqtt.publishAsync(MARKET_TOPICS.result(epoch), encode(signEnvelope(keys.aggregator, 'market-result', result, { date: new Date(now()) })), { qos: 1, retain: true })),
        log: log.child({ part: 'aggregator' }),
      });
      onStop('market-results', async () => marketResults.stop());
      // [MKT] the VPP's own orders in the P2P market, posted by the operator
      const vpp = createVppMarketTrader({
        key: keys.aggregator,
        genesisHash: genesis.hash, // [DOMAIN-TX]
        timing: { originMs: genesis.genesisTimeMs, intervalMs, gateClosureMs: genesis.gateClosureMs, revealWindowMs: genesis.revealWindowMs },
        publish: async (topic, env) => void (await aggregatorMqtt.publishAsync(topic, encode(env), { qos: 1 })),
        now,
        log: log.child({ part: 'aggregator' }),
      });
      onStop('vpp-trader', async () => vpp.stop());
      const app = createAggregatorAdminApp(aggregator, operatorToken, vpp);
      const server: Server = await new Promise((resolve, reject) => {
        const srv = app.listen(o.ports?.aggregator ?? 0, host, () => resolve(srv));
        srv.once('error', reject);
      });
      onStop('operator-api', () => new Promise<void>((r) => server.close(() => r())));
      const addr = server.address();
      aggregatorUrl = `http://${host}:${typeof addr === 'object' && addr ? addr.port : 0}`;
    }

    return {
      urls: {
        ...(aggregatorUrl ? { aggregator: aggregatorUrl } : {}),
        ...(analyticsUrl ? { analytics: analyticsUrl } : {}),
      },
      operatorToken,
      operatorTokenFile,
      aggregatorMqtt,
      node,
      ...(analytics ? { analytics } : {}),
      ...(aggregator ? { aggregator } : {}),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Both parts in the caller's thread: the edge, then the core; stopped in reverse. */
export async function startPlatform(o: PlatformOptions): Promise<Platform> {
  const edge = await startEdge(o);
  let core: Core;
  try {
    core = await startCore({ ...o, edge: edge.link });
  } catch (err) {
    await edge.stop();
    throw err;
  }
  return {
    paths: edge.paths,
    node: core.node,
    ...(core.analytics ? { analytics: core.analytics } : {}),
    ...(core.aggregator ? { aggregator: core.aggregator } : {}),
    urls: { ...core.urls, ...edge.urls },
    adminToken: edge.link.adminToken,
    adminTokenFile: edge.adminTokenFile,
    directoryTokenFile: edge.directoryTokenFile,
    operatorToken: core.operatorToken,
    operatorTokenFile: core.operatorTokenFile,
    brokerKeyFile: edge.brokerKeyFile,
    registry: edge.registry,
    registryClient: edge.registryClient,
    broker: edge.broker,
    genesis: edge.genesis,
    keys: edge.keys,
    aggregatorMqtt: core.aggregatorMqtt,
    stop: async () => {
      await core.stop();
      await edge.stop();
    },
  };
}
