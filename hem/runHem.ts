/**
 * Builds and starts a HEM from its configuration: keys, store, registry client,
 * pseudonyms, device adapter, MQTT session, EMS. The `tmi hem` command and the tests
 * call this; it returns a handle whose stop() shuts everything down cleanly.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger, pino as pinoFn } from 'pino';
import { loadOrCreateKeyFile } from '../wire/keyFile.js';
import type { KeyPair } from '../wire/keys.js';
import type { Certificate } from '../schemas/types.js';
import { createRegistryClient } from '../csm-registry/client.js';
import { createBrokerPin } from './brokerPin.js';
import { createChainPin } from './chainPin.js';
import { openHemReplayGuard } from './hemReplayGuard.js';
import { checkCertificate } from '../csm-registry/certificate.js';
import { generateProfile } from './profiles/generateProfile.js';
import { scaledPv } from './profiles/scaledPv.js';
import { loadAusgridCsv } from './profiles/ausgridCsv.js';
import { createSimHome, type EnergyProfile, type TimeOrigin } from './adapters/simHome.js';
import { createMqttHome } from './adapters/mqttHome.js';
import { createSunSpecHome, type ModbusLink } from './adapters/sunspecHome.js';
import { seriesProfile } from './adapters/seriesProfile.js';
import { DEFAULT_EV_LOAD, DEFAULT_HEAT_PUMP_LOAD, type FlexibleLoadConfig } from './adapters/simFlexibleLoad.js';
import { createEms, certificateTxEntry, TOPICS, type Ems } from './ems.js';
import type { HemConfig, SimAdapterConfig } from './hemConfig.js';
import { HemError } from './hemError.js';
import { HemStore, openHemLevel, type HemDb } from './hemStore.js';
import type { HomeDevices } from './homeDevices.js';
import { createMqttSession } from './mqttSession.js';
import { PseudonymBook, type CertificateIssuer } from './pseudonyms.js';
import type { HemChain } from './hemChain.js';
import { createClockWatch } from './clockCheck.js';
import { createReadingWatch } from './readingWatch.js';
import { requireCjs } from '../wire/requireCjs.js';
import type { HomePage } from './homePage/homePageServer.js';
import { openSettledEarnings } from './settledEarnings.js';
import { walletFinality } from './finalMoney.js';
import type { ChainNode } from '../poe-chain/node/createChainNode.js';
import { marketTiming, type MarketTiming } from './marketTrader.js';

export interface HemHandle {
  ems: Ems;
  /** the home's chain node, when the config has `chain` */
  chain?: HemChain;
  store: HemStore;
  meterKey: KeyPair;
  pseudonyms: PseudonymBook;
  devices: HomeDevices;
  /** the home page, when the config has `homePage` and it could listen */
  homePage?: HomePage;
  stop(): Promise<void>;
}

export interface RunHemOptions {
  log?: Logger;
  now?: () => number;
  /** a database to use instead of level under dataDir (tests) */
  db?: HemDb;
  /** a certificate issuer instead of the registry client (tests) */
  issuer?: CertificateIssuer;
  /** a PV/load profile for the sim adapter instead of the generator or CSV (tests) */
  profile?: EnergyProfile;
}

const DAY_MS = 86_400_000;
const DEFAULT_PROFILE_START = '2025-01-06';


/**
 * [HEM-REG] The registry's key: from the config, or fetched once and pinned in the store
 * (trust on first use). Every certificate must verify against it.
 */
function registryIssuer(cfg: HemConfig, store: HemStore, log: Logger): CertificateIssuer {
  const client = createRegistryClient({ url: cfg.registry.url, timeoutMs: cfg.registry.timeoutMs ?? 10_000 });
  let pinned: string | undefined = cfg.registry.publicKey;
  return {
    async requestCertificate(meterKey, meterId, address): Promise<Certificate> {
      if (pinned === undefined) {
        pinned = await store.get<string>('s:registryKey');
        if (pinned === undefined) {
          const info = await client.registryKey();
          pinned = info.address;
          await store.commit([{ type: 'put', key: 's:registryKey', value: pinned }]);
          log.info({ event: 'registry-key-pinned', address: pinned }, 'registry key pinned (first use)');
        }
      }
      const cert = await client.requestCertificate(meterKey, meterId, address);
      const problem = checkCertificate(cert, pinned);
      if (problem) throw new HemError('NO_PSEUDONYM', { reason: `certificate ${problem}`, address });
      return cert;
    },
  };
}

async function timeOrigin(cfg: HemConfig, store: HemStore, now: number): Promise<TimeOrigin> {
  const saved = await store.get<TimeOrigin>('s:origin');
  if (saved) return saved;
  if (cfg.adapter.type === 'sim' && cfg.adapter.startWall) {
    // several homes (and the aggregator) share one simulated clock
    const startDate = cfg.adapter.profile?.startDate ?? DEFAULT_PROFILE_START;
    const origin = { wallMs: Date.parse(cfg.adapter.startWall), homeMs: Date.parse(`${startDate}T00:00:00.000Z`) };
    await store.commit([{ type: 'put', key: 's:origin', value: origin }]);
    return origin;
  }
  const offset = (cfg.adapter.type === 'sim' ? cfg.adapter.utcOffsetHours ?? 10 : 0) * 3_600_000;
  const wallMs = Math.floor(now / cfg.intervalMs) * cfg.intervalMs;
  // real time: home clock = local clock; compressed: the simulated day starts at local midnight
  const homeMs = cfg.speed === 1 ? wallMs + offset : Math.floor((wallMs + offset) / DAY_MS) * DAY_MS;
  const origin = { wallMs, homeMs };
  await store.commit([{ type: 'put', key: 's:origin', value: origin }]);
  return origin;
}

/** [SIM-4] the configured device, absent fields from its defaults */
function flexibleLoadConfig(c: NonNullable<SimAdapterConfig['flexibleLoad']>): FlexibleLoadConfig {
  return c.type === 'ev' ? { ...(DEFAULT_EV_LOAD as Extract<FlexibleLoadConfig, { type: 'ev' }>), ...c } : { ...(DEFAULT_HEAT_PUMP_LOAD as Extract<FlexibleLoadConfig, { type: 'heat-pump' }>), ...c };
}

async function createDevices(cfg: HemConfig, store: HemStore, log: Logger, now: () => number, profile?: EnergyProfile): Promise<HomeDevices> {
  const a = cfg.adapter;
  if (a.type === 'mqtt') {
    return createMqttHome({
      url: a.url,
      ...(a.username !== undefined ? { username: a.username } : {}),
      ...(a.password !== undefined ? { password: a.password } : {}),
      ...(a.clientId !== undefined ? { clientId: a.clientId } : {}),
      sensors: a.sensors,
      setpoint: a.setpoint,
      ...(a.autoPayload !== undefined ? { autoPayload: a.autoPayload } : {}),
      ...(a.discovery !== undefined ? { discovery: a.discovery } : {}),
      ...(a.statusTopic !== undefined ? { statusTopic: a.statusTopic } : {}),
      meterId: cfg.meterId,
      speed: cfg.speed,
      now,
      log: log.child({ part: 'hdg-mqtt' }),
    });
  }
  if (a.type === 'sunspec') {
    const link: ModbusLink =
      a.transport === 'rtu'
        ? {
            transport: 'rtu',
            path: a.path,
            ...(a.baudRate !== undefined ? { baudRate: a.baudRate } : {}),
            ...(a.parity !== undefined ? { parity: a.parity } : {}),
            ...(a.dataBits !== undefined ? { dataBits: a.dataBits } : {}),
            ...(a.stopBits !== undefined ? { stopBits: a.stopBits } : {}),
          }
        : { host: a.host, ...(a.port !== undefined ? { port: a.port } : {}) };
    return createSunSpecHome({
      ...link,
      ...(a.unitId !== undefined ? { unitId: a.unitId } : {}),
      ...(a.baseAddress !== undefined ? { baseAddress: a.baseAddress } : {}),
      ...(a.pollMs !== undefined ? { pollMs: a.pollMs } : {}),
      ...(a.timeoutMs !== undefined ? { timeoutMs: a.timeoutMs } : {}),
      ...(a.invertMeter !== undefined ? { invertMeter: a.invertMeter } : {}),
      ...(a.batteryCoupling !== undefined ? { batteryCoupling: a.batteryCoupling } : {}),
      capacityWh: cfg.tcr.battery.capacityWh,
      speed: cfg.speed,
      now,
      log: log.child({ part: 'hdg-sunspec' }),
    });
  }
  const energy =
    profile ??
    seriesProfile(
      a.csv
        ? await loadAusgridCsv(a.csv)
        : generateProfile({
            period: { startDate: a.profile?.startDate ?? DEFAULT_PROFILE_START, days: a.profile?.days ?? 7, intervalMinutes: a.profile?.intervalMinutes ?? 15 },
            seed: a.seed ?? 1,
            ...(a.pvPeakW !== undefined ? { pv: scaledPv(a.pvPeakW) } : {}),
          }),
    );
  return createSimHome({
    profile: energy,
    battery: cfg.tcr.battery,
    speed: cfg.speed,
    origin: await timeOrigin(cfg, store, now()),
    initialSoc: a.initialSoc ?? 0.5,
    restored: await store.get<unknown>('s:devices'),
    now,
    ...(a.flexibleLoad ? { flexibleLoad: flexibleLoadConfig(a.flexibleLoad) } : {}),
  });
}

/**
 * [P2P] The market timing: the config's, else the chain genesis' when the home runs a node
 * (the chain clears by it), else the defaults of a `tmi up` genesis.
 */
async function resolveMarketTiming(cfg: HemConfig, log: Logger): Promise<MarketTiming> {
  let genesis: { gateClosureMs: number; revealWindowMs: number } | undefined;
  if (cfg.chain && (cfg.market.gateClosureMs === undefined || cfg.market.revealWindowMs === undefined)) {
    const { parseGenesis } = await import('../poe-chain/core/genesis.js');
    try {
      const g = parseGenesis(JSON.parse(await readFile(cfg.chain.genesis, 'utf8')));
      genesis = g.config;
      if (g.intervalMs !== cfg.intervalMs) log.warn({ event: 'market-timing', genesisIntervalMs: g.intervalMs, intervalMs: cfg.intervalMs }, 'the genesis interval differs from the HEM\'s');
    } catch (err) {
      log.warn({ event: 'market-timing', file: cfg.chain.genesis, err: (err as Error).message }, 'genesis not read: default market timing');
    }
  }
  return marketTiming(cfg.market, cfg.intervalMs, genesis);
}

export async function runHem(cfg: HemConfig, o: RunHemOptions = {}): Promise<HemHandle> {
  const { pino } = requireCjs('pino') as { pino: typeof pinoFn };
  const log = o.log ?? pino({ level: cfg.logLevel, base: { meterId: cfg.meterId } });
  const now = o.now ?? Date.now;
  await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
  const meterKey = await loadOrCreateKeyFile(cfg.meterKeyFile, `tmi meter ${cfg.meterId}`);
  log.info({ event: 'meter-key', address: meterKey.address, file: cfg.meterKeyFile }, 'meter key loaded');
  const db = o.db ?? (await openHemLevel(cfg.dataDir)); // [HEM-DB]
  const store = await HemStore.open(db);
  let chainRetry: NodeJS.Timeout | undefined;
  try {
    const registryClient = createRegistryClient({ url: cfg.registry.url, timeoutMs: cfg.registry.timeoutMs ?? 10_000 });
    // [DOMAIN-TX] the chain every transaction is signed for: known before the first is signed
    const chainPin = createChainPin({
      ...(cfg.genesisHash ? { configured: cfg.genesisHash } : {}),
      ...(cfg.chain ? { genesisFile: cfg.chain.genesis } : {}),
      store,
      registry: registryClient,
      log,
    });
    await chainPin.load();
    let onChainLearnt = (): void => undefined;
    if (chainPin.current() === undefined) {
      // asked again until known; what waits in the outbox meanwhile goes then [HEM-Q8]
      chainRetry = setInterval(() => {
        if (chainPin.current() !== undefined) return clearInterval(chainRetry);
        void chainPin.load().then(() => (chainPin.current() !== undefined ? onChainLearnt() : undefined)).catch((err: unknown) => log.error({ err }, 'chain not learnt'));
      }, Math.max(1000, Math.min(30_000, cfg.intervalMs)));
      chainRetry.unref();
    }
    const genesisHash = () => chainPin.current();
    const pseudonyms = await PseudonymBook.load({
      dir: join(cfg.dataDir, 'pseudonyms'),
      store,
      meterKey,
      meterId: cfg.meterId,
      issuer: o.issuer ?? registryIssuer(cfg, store, log),
      policy: { rotationMs: cfg.pseudonymRotationMs, minMarginMs: 2 * cfg.intervalMs },
      now,
      log,
      onCertified: (p) => ({ enqueue: certificateTxEntry(p, now(), chainPin.current()) }),
    });
    const devices = await createDevices(cfg, store, log, now, o.profile);
    const ca = cfg.broker.ca ? await readFile(cfg.broker.ca) : undefined;
    // [HEM-CLOCK] the broker refuses login tokens beyond ±60 s and messages beyond ±skewMs
    const clock = createClockWatch({ registryUrl: cfg.registry.url, now, loginSkewMs: 60_000, messageSkewMs: cfg.skewMs, log });
    void clock.check('start');
    // [BROKER-ID] the broker's error-signing key: configured, else learnt from the registry once
    const brokerPin = createBrokerPin({
      ...(cfg.brokerAddress ? { configured: cfg.brokerAddress } : {}),
      store,
      registry: registryClient,
      log,
    });
    void brokerPin.load();
    const replayGuard = await openHemReplayGuard({ store }); // [HEM-IN]
    const settled = await openSettledEarnings(store, { log }); // [HA-EARN] [HEM-FIN]
    // [HEM-FIN] the home's wallets at the final block and the change since (the chain node, once started)
    let chainNodeNow: () => ChainNode | undefined = () => undefined;
    const walletStatus = (): { walletFinalMillicents?: string | null; walletUnconfirmedChangeMillicents?: string | null } => {
      if (!cfg.chain) return {};
      const node = chainNodeNow();
      if (!node) return { walletFinalMillicents: null, walletUnconfirmedChangeMillicents: null };
      const f = walletFinality(node, pseudonyms.addresses());
      return { walletFinalMillicents: f.finalBalanceMillicents, walletUnconfirmedChangeMillicents: f.unconfirmedChangeMillicents };
    };
    const market = cfg.market.enabled ? { params: cfg.market, timing: await resolveMarketTiming(cfg, log) } : undefined;
    if (market) log.info({ event: 'market-timing', ...market.timing }, 'P2P market timing');
    const ems = createEms({
      meterId: cfg.meterId,
      meterKey,
      store,
      pseudonyms,
      devices,
      tcr: cfg.tcr,
      aggregatorAddress: cfg.aggregatorAddress,
      brokerAddress: () => brokerPin.current(),
      genesisHash,
      replayGuard,
      keepReadings: cfg.chain !== undefined,
      intervalMs: cfg.intervalMs,
      speed: cfg.speed,
      underDeliverFactor: cfg.underDeliverFactor,
      skewMs: cfg.skewMs,
      resignAfterMs: cfg.resignAfterMs,
      maxCatchUp: cfg.maxCatchUp,
      onStaleDate: () => void clock.check('stale-date'),
      statusExtra: () => ({ settledEarningsMillicents: settled.value(), settledEarningsUnconfirmedMillicents: settled.unconfirmed(), ...walletStatus() }),
      ...(market ? { market } : {}),
      now,
      log,
      connect: (h) =>
        createMqttSession({
          url: cfg.broker.url,
          meterId: cfg.meterId,
          meterKey,
          subscriptions: [TOPICS.auctions, TOPICS.results, TOPICS.errors(cfg.meterId), ...(market ? [TOPICS.marketResults] : [])],
          ...(ca ? { ca } : {}),
          ...(cfg.broker.keepaliveS ? { keepaliveS: cfg.broker.keepaliveS } : {}),
          ...(cfg.broker.reconnectMs ? { reconnectMs: cfg.broker.reconnectMs } : {}),
          now,
          log,
          onMessage: h.onMessage,
          onConnect: h.onConnect,
          onRefused: (code) => {
            if (code === 4) void clock.check('login-refused');
          },
        }),
    });
    onChainLearnt = () => ems.pump.pump();
    await ems.start();
    let chain: HemChain | undefined;
    let rekey: NodeJS.Timeout | undefined;
    let readingWatchTimer: NodeJS.Timeout | undefined;
    if (cfg.chain && ems.session) {
      // loaded only by homes that run a chain node (a Pi without one saves the memory)
      const { startHemChain } = await import('./hemChain.js');
      chain = await startHemChain({
        genesisFile: cfg.chain.genesis, dataDir: cfg.dataDir, nodeId: cfg.meterId, produce: cfg.chain.produce,
        key: () => pseudonyms.current()?.key, mqtt: ems.session.client, now, log,
      });
      chainNodeNow = () => chain?.node();
      // follow pseudonym rotation and count settled earnings once per interval; [HEM-R1] send
      // again readings the chain lacks, checked every heartbeat (acting only at checkpoints,
      // early enough for the epoch that counts them)
      const watch = createReadingWatch({ store, chainState: () => chain?.node()?.state(), topic: TOPICS.readings, now, log });
      rekey = setInterval(() => {
        void chain?.refresh().catch((err: unknown) => log.error({ err }, 'chain node rekey failed'));
        void settled.update(ems.history().records, chain?.node()).catch((err: unknown) => log.error({ err }, 'settled earnings not counted'));
      }, cfg.intervalMs);
      let watching = false;
      readingWatchTimer = setInterval(() => {
        // [HEM-FIN] a settlement moves from unconfirmed to final within slots: counted as soon as it is
        void settled.update(ems.history().records, chain?.node()).catch((err: unknown) => log.error({ err }, 'settled earnings not counted'));
        if (watching) return;
        watching = true;
        void watch.check().then((r) => (r.resent > 0 ? ems.pump.pump() : undefined)).catch((err: unknown) => log.error({ err }, 'reading watch failed')).finally(() => {
          watching = false;
        });
      }, chain.genesis.patience * chain.genesis.slotMs);
    }
    let homePage: HomePage | undefined;
    if (cfg.homePage) {
      const { startHomePage } = await import('./homePage/homePageServer.js');
      const hp = cfg.homePage;
      homePage = await startHomePage({
        port: hp.port, host: hp.host, ...(hp.password !== undefined ? { password: hp.password } : {}),
        log: log.child({ part: 'home-page' }),
        sources: () => ({
          meterId: cfg.meterId, now: now(), history: ems.history(), socFraction: devices.batteryState().soc,
          connected: ems.session?.connected ?? false, tcr: cfg.tcr,
          currentAddress: pseudonyms.current()?.key.address, programme: pseudonyms.current()?.record.cert?.programme,
          chain: chain?.node(), settledEarningsMillicents: settled.value(), settledEarningsUnconfirmedMillicents: settled.unconfirmed(),
        }),
      }).catch((err: unknown) => {
        // the page is not worth stopping the metering for: say why and run without it
        log.error({ event: 'home-page-failed', host: hp.host, port: hp.port, err: (err as Error).message }, 'home page not served');
        return undefined;
      });
    }
    log.info({ event: 'hem-started', adapter: devices.kind, intervalMs: cfg.intervalMs, speed: cfg.speed, queued: store.queued }, 'HEM started');
    return {
      ems,
      ...(chain ? { chain } : {}),
      store,
      meterKey,
      pseudonyms,
      devices,
      ...(homePage ? { homePage } : {}),
      async stop() {
        // [HEM-HALT] nothing new is metered or sent while the chain node closes
        ems.halt();
        if (rekey) clearInterval(rekey);
        if (readingWatchTimer) clearInterval(readingWatchTimer);
        if (chainRetry) clearInterval(chainRetry);
        await homePage?.close();
        await chain?.close();
        await ems.stop();
        await store.close();
        log.info({ event: 'hem-stopped' }, 'HEM stopped');
      },
    };
  } catch (err) {
    if (chainRetry) clearInterval(chainRetry);
    await store.close();
    throw err;
  }
}
