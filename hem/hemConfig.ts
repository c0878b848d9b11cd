/**
 * The HEM's configuration file (`tmi hem --config hem.json`), validated with ajv; every
 * field is documented in hem/examples/hem.json and hem/README.md. Relative paths are
 * resolved against the config file's folder.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { FromSchema } from 'json-schema-to-ts';
import { compileOnUse, compileSchema } from '../schemas/validators.js';
import { address, id } from '../schemas/common.js';
import { createTcrParams, type TcrParams } from '../tcr/tcrParams.js';
import { createMarketOrderParams, type MarketOrderParams } from '../tcr/decideMarketOrder.js';
import { HemError } from './hemError.js';

const path = { type: 'string', minLength: 1, maxLength: 4096 } as const;
const url = { type: 'string', pattern: '^(mqtt|mqtts|ws|wss|tcp|ssl)://[^\\s]+$', maxLength: 2048 } as const;
const httpUrl = { type: 'string', pattern: '^https?://[^\\s]+$', maxLength: 2048 } as const;
const topic = { type: 'string', pattern: '^[^#+\\u0000]+$', minLength: 1, maxLength: 256 } as const;
const jsonPath = { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', maxLength: 256 } as const;
const sensor = {
  type: 'object',
  additionalProperties: false,
  required: ['topic'],
  properties: { topic, path: jsonPath, scale: { type: 'number', minimum: -1e6, maximum: 1e6 } },
} as const;

export const simAdapterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { const: 'sim' },
    /** seed of the generated PV/load profile (different seed = different home) */
    seed: { type: 'integer', minimum: 0, maximum: 4_294_967_295 },
    /** SOC at the very first start, fraction */
    initialSoc: { type: 'number', minimum: 0, maximum: 1 },
    /** generated profile period; the profile repeats after `days` */
    profile: {
      type: 'object',
      additionalProperties: false,
      properties: {
        startDate: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
        days: { type: 'integer', minimum: 1, maximum: 366 },
        intervalMinutes: { type: 'integer', enum: [1, 5, 10, 15, 30, 60] },
      },
    },
    /** generated PV array rating, W peak (default: the calibrated home's 1,040 W); the inverter limit scales with it */
    pvPeakW: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    /** a CSV of metered data (Ausgrid layout: ,GC,GG) instead of the generator */
    csv: path,
    /** home local time = UTC + this (default 10, the profiles' Sydney site) */
    utcOffsetHours: { type: 'number', minimum: -14, maximum: 14 },
    /** [SIM-4] an active user's flexible device (hem/adapters/simFlexibleLoad.ts); absent fields take its defaults */
    flexibleLoad: {
      oneOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['type'],
          properties: {
            type: { const: 'ev' },
            /** AC energy the car needs by each departure, Wh */
            needWh: { type: 'integer', minimum: 0, maximum: 60_000 },
            /** plugged in from this hour (home local time) … */
            arriveHour: { type: 'integer', minimum: 12, maximum: 23 },
            /** … to this hour the next morning */
            departHour: { type: 'integer', minimum: 0, maximum: 11 },
            maxChargeW: { type: 'integer', minimum: 0, maximum: 50_000 },
          },
        },
        {
          type: 'object',
          additionalProperties: false,
          required: ['type'],
          properties: {
            type: { const: 'heat-pump' },
            /** the hot-water tank's temperature at the first start, °C */
            initialTempC: { type: 'number', minimum: 20, maximum: 60 },
            /** the room around the tank, °C */
            ambientC: { type: 'number', minimum: -20, maximum: 40 },
            /** heat taken out by each hot-water draw, Wh */
            drawHeatWh: { type: 'integer', minimum: 0, maximum: 10_000 },
            /** hours of the day (home local time) at which a draw happens */
            drawHours: { type: 'array', maxItems: 24, items: { type: 'integer', minimum: 0, maximum: 23 } },
          },
        },
      ],
    },
    /** compressed time: the wall-clock instant at which the profile's startDate begins (local midnight); default: the HEM's first interval */
    startWall: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?Z$', maxLength: 24 },
  },
} as const;

export const mqttAdapterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'url', 'sensors', 'setpoint'],
  properties: {
    type: { const: 'mqtt' },
    url,
    username: { type: 'string', maxLength: 256 },
    password: { type: 'string', maxLength: 1024 },
    clientId: { type: 'string', minLength: 1, maxLength: 128 },
    sensors: {
      type: 'object',
      additionalProperties: false,
      required: ['pvPower', 'loadPower', 'batteryPower', 'batterySoc'],
      properties: { pvPower: sensor, loadPower: sensor, batteryPower: sensor, batterySoc: sensor },
    },
    setpoint: {
      type: 'object',
      additionalProperties: false,
      required: ['topic'],
      properties: { topic, path: jsonPath, retain: { type: 'boolean' } },
    },
    autoPayload: { type: 'string', maxLength: 1024 },
    discovery: {
      type: 'object',
      additionalProperties: false,
      properties: { prefix: topic, nodeId: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', maxLength: 64 } },
    },
    statusTopic: topic,
  },
} as const;

/** the settings of the `sunspec` adapter on both transports */
const sunspecCommon = {
  /** where the SunSpec header is (default: try 40000, 0, 50000) */
  baseAddress: { type: 'integer', enum: [0, 40000, 50000] },
  pollMs: { type: 'integer', minimum: 200, maximum: 600_000 },
  timeoutMs: { type: 'integer', minimum: 100, maximum: 60_000 },
  /** the meter counts export as positive power */
  invertMeter: { type: 'boolean' },
  /** ac: a battery with its own inverter; dc: behind a hybrid inverter (default ac) */
  batteryCoupling: { type: 'string', enum: ['ac', 'dc'] },
} as const;

/** `sunspec` over Modbus TCP (`transport` "tcp", the default) */
export const sunspecAdapterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'host'],
  properties: {
    type: { const: 'sunspec' },
    transport: { const: 'tcp' },
    /** the device's address on the home network (Modbus TCP) */
    host: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_-]+$' },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    unitId: { type: 'integer', minimum: 0, maximum: 247 },
    ...sunspecCommon,
  },
} as const;

/** `sunspec` over Modbus RTU on a serial port (`transport` "rtu"); the line settings default to 9600 8N1 */
export const sunspecRtuAdapterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'transport', 'path'],
  properties: {
    type: { const: 'sunspec' },
    transport: { const: 'rtu' },
    /** the serial device (an RS-485 adapter), e.g. /dev/ttyUSB0 or /dev/serial/by-id/… */
    path: { type: 'string', minLength: 2, maxLength: 1024, pattern: '^/[A-Za-z0-9._:+/-]+$' },
    baudRate: { type: 'integer', enum: [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400] },
    parity: { type: 'string', enum: ['none', 'even', 'odd'] },
    dataBits: { type: 'integer', enum: [7, 8] },
    stopBits: { type: 'integer', enum: [1, 2] },
    /** the device's address on the line (1–247; 0 is broadcast, which no device answers) */
    unitId: { type: 'integer', minimum: 1, maximum: 247 },
    ...sunspecCommon,
  },
} as const;

/** which sunspec schema applies: `transport`, checked first so a wrong one is named */
const sunspecTransportSchema = {
  type: 'object',
  properties: { transport: { type: 'string', enum: ['tcp', 'rtu'] } },
} as const;

export const hemConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['meterId', 'dataDir', 'broker', 'registry', 'aggregatorAddress', 'adapter'],
  properties: {
    $comment: { type: 'string' },
    meterId: id,
    dataDir: path,
    meterKeyFile: path,
    broker: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url,
        ca: path,
        keepaliveS: { type: 'integer', minimum: 5, maximum: 3600 },
        reconnectMs: { type: 'integer', minimum: 100, maximum: 600_000 },
      },
    },
    registry: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: { url: httpUrl, publicKey: address, timeoutMs: { type: 'integer', minimum: 100, maximum: 120_000 } },
    },
    aggregatorAddress: address,
    brokerAddress: address,
    /** [DOMAIN-TX] the chain's genesis hash, pinned (else the chain node's genesis file, else the registry's GET /v1/chain) */
    genesisHash: address,
    intervalMs: { type: 'integer', minimum: 100, maximum: 86_400_000 },
    speed: { type: 'number', minimum: 1, maximum: 100_000 },
    pseudonymRotationMs: { type: 'integer', minimum: 1000, maximum: 31_536_000_000 },
    skewMs: { type: 'integer', minimum: 1000, maximum: 3_600_000 },
    resignAfterMs: { type: 'integer', minimum: 1000, maximum: 3_600_000 },
    underDeliverFactor: { type: 'number', minimum: 0, maximum: 1 },
    maxCatchUp: { type: 'integer', minimum: 0, maximum: 10_000 },
    /** run a chain node in the HEM: a validator (produce) or a follower */
    chain: {
      type: 'object',
      additionalProperties: false,
      required: ['genesis'],
      properties: { genesis: path, produce: { type: 'boolean' } },
    },
    /** the home page (hem/homePage/): localhost unless a password is set */
    homePage: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        host: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_-]+$' },
        password: { type: 'string', minLength: 12, maxLength: 256 },
      },
    },
    /** [P2P] the peer-to-peer market (hem/marketTrader.ts); every field optional */
    market: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        floorPriceMcPerKWh: { type: 'integer', minimum: 0, maximum: 100_000_000 },
        buyPriceMcPerKWh: { type: 'integer', minimum: 0, maximum: 100_000_000 },
        sellAboveSoc: { type: 'number', minimum: 0, maximum: 1 },
        batteryShare: { type: 'number', minimum: 0, maximum: 1 },
        minOrderWh: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
        gateClosureMs: { type: 'integer', minimum: 0, maximum: 86_400_000 },
        revealWindowMs: { type: 'integer', minimum: 1, maximum: 86_400_000 },
        leadMs: { type: 'integer', minimum: 0, maximum: 3_600_000 },
        revealMarginMs: { type: 'integer', minimum: 0, maximum: 3_600_000 },
        /** no order for a delivery interval that starts at or after this time (a home that leaves the market, a simulated day's end) */
        until: { type: 'string', minLength: 20, maxLength: 40 },
      },
    },
    adapter: {
      type: 'object',
      required: ['type'],
      properties: { type: { type: 'string', enum: ['sim', 'mqtt', 'sunspec'] } },
    },
    battery: { type: 'object' },
    curves: { type: 'object' },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: { level: { type: 'string', enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] } },
    },
  },
} as const;

export type SimAdapterConfig = FromSchema<typeof simAdapterSchema>;
export type MqttAdapterConfig = FromSchema<typeof mqttAdapterSchema>;
export type SunSpecAdapterConfig = FromSchema<typeof sunspecAdapterSchema> | FromSchema<typeof sunspecRtuAdapterSchema>;
type RawConfig = FromSchema<typeof hemConfigSchema>;

/**
 * [P2P] The HEM's P2P market settings. gateClosureMs and revealWindowMs are the chain's
 * genesis fields: absent here, runHem reads them from `chain.genesis` when the home runs a
 * node, else takes the defaults of a `tmi up` genesis (marketTiming).
 */
export interface HemMarketConfig extends MarketOrderParams {
  readonly enabled: boolean;
  readonly gateClosureMs?: number;
  readonly revealWindowMs?: number;
  /** decide an order for interval e at least this long before its order close (default one interval, 1–60 s) */
  readonly leadMs: number;
  /** no order for an interval starting at or after this time, ms */
  readonly untilMs?: number;
  /** reveal this long after the order close (default ¼ of the reveal window, at most 5 s) */
  readonly revealMarginMs?: number;
}

export interface HemConfig extends Omit<RawConfig, 'adapter' | 'battery' | 'curves' | 'log' | '$comment' | 'homePage' | 'market'> {
  meterKeyFile: string;
  intervalMs: number;
  speed: number;
  pseudonymRotationMs: number;
  skewMs: number;
  resignAfterMs: number;
  underDeliverFactor: number;
  maxCatchUp: number;
  chain?: { genesis: string; produce: boolean };
  /** [HOME-BIND] absent: no home page */
  homePage?: { port: number; host: string; password?: string };
  adapter: SimAdapterConfig | MqttAdapterConfig | SunSpecAdapterConfig;
  tcr: TcrParams;
  market: HemMarketConfig;
  logLevel: string;
}

const validateConfig = compileSchema(hemConfigSchema);
const validateSim = compileSchema(simAdapterSchema);
const validateMqtt = compileSchema(mqttAdapterSchema);
const validateSunSpecTransport = compileOnUse(sunspecTransportSchema); // compiled only for a sunspec config
const validateSunSpec = compileOnUse(sunspecAdapterSchema);
const validateSunSpecRtu = compileOnUse(sunspecRtuAdapterSchema);

function check(v: (x: unknown) => boolean, value: unknown, prefix: string): void {
  const fn = v as unknown as { (x: unknown): boolean; errors?: { instancePath: string; message?: string; params: Record<string, unknown>; keyword: string }[] | null };
  if (fn(value)) return;
  const e = fn.errors?.[0];
  let at = prefix + (e?.instancePath ?? '');
  if (e?.keyword === 'additionalProperties') at += `/${String(e.params.additionalProperty)}`;
  if (e?.keyword === 'required') at += `/${String(e.params.missingProperty)}`;
  const allowed = e?.keyword === 'enum' ? ` (${(e.params.allowedValues as unknown[]).join('|')})` : '';
  throw new HemError('BAD_CONFIG', { path: at || '/', reason: `${e?.message ?? 'invalid'}${allowed}` });
}

/** Validates a parsed config and fills defaults. Throws `BAD_CONFIG path=… reason=…`. */
export function parseHemConfig(value: unknown, baseDir = process.cwd()): HemConfig {
  check(validateConfig, value, '');
  const raw = value as RawConfig;
  const adapterRaw = raw.adapter as unknown;
  if (raw.adapter.type === 'sim') check(validateSim, adapterRaw, '/adapter');
  else if (raw.adapter.type === 'sunspec') {
    check(validateSunSpecTransport, adapterRaw, '/adapter');
    check((adapterRaw as { transport?: string }).transport === 'rtu' ? validateSunSpecRtu : validateSunSpec, adapterRaw, '/adapter');
  }
  else check(validateMqtt, adapterRaw, '/adapter');
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  let tcr: TcrParams;
  try {
    tcr = createTcrParams({
      ...(raw.battery ? { battery: raw.battery as Record<string, unknown> } : {}),
      ...(raw.curves ? { curves: raw.curves as Record<string, unknown> } : {}),
    });
  } catch (err) {
    throw new HemError('BAD_CONFIG', { path: '/battery|/curves', reason: (err as Error).message });
  }
  const intervalMs = raw.intervalMs ?? 900_000;
  let market: HemMarketConfig;
  try {
    const { enabled, gateClosureMs, revealWindowMs, leadMs, revealMarginMs, until, ...prices } = raw.market ?? {};
    const untilMs = until === undefined ? undefined : Date.parse(until);
    if (untilMs !== undefined && !Number.isFinite(untilMs)) throw new Error(`until is not a time: ${until}`);
    market = {
      ...createMarketOrderParams(prices),
      enabled: enabled ?? true,
      ...(gateClosureMs !== undefined ? { gateClosureMs } : {}),
      ...(revealWindowMs !== undefined ? { revealWindowMs } : {}),
      leadMs: leadMs ?? Math.max(1000, Math.min(60_000, intervalMs)),
      ...(revealMarginMs !== undefined ? { revealMarginMs } : {}),
      ...(untilMs !== undefined ? { untilMs } : {}),
    };
  } catch (err) {
    throw new HemError('BAD_CONFIG', { path: '/market', reason: (err as Error).message });
  }
  let adapter = adapterRaw as SimAdapterConfig | MqttAdapterConfig | SunSpecAdapterConfig;
  if (adapter.type === 'sim' && adapter.csv) adapter = { ...adapter, csv: abs(adapter.csv) };
  const dataDir = abs(raw.dataDir);
  const out: HemConfig = {
    meterId: raw.meterId,
    dataDir,
    meterKeyFile: raw.meterKeyFile ? abs(raw.meterKeyFile) : resolve(dataDir, 'meter-key.json'),
    broker: { ...raw.broker, ...(raw.broker.ca ? { ca: abs(raw.broker.ca) } : {}) },
    registry: raw.registry,
    aggregatorAddress: raw.aggregatorAddress,
    ...(raw.brokerAddress ? { brokerAddress: raw.brokerAddress } : {}),
    ...(raw.genesisHash ? { genesisHash: raw.genesisHash } : {}),
    intervalMs,
    speed: raw.speed ?? 1,
    pseudonymRotationMs: raw.pseudonymRotationMs ?? 86_400_000,
    skewMs: raw.skewMs ?? 120_000,
    resignAfterMs: raw.resignAfterMs ?? 90_000,
    underDeliverFactor: raw.underDeliverFactor ?? 1,
    maxCatchUp: raw.maxCatchUp ?? 96,
    ...(raw.chain ? { chain: { genesis: abs(raw.chain.genesis), produce: raw.chain.produce ?? true } } : {}),
    ...homePageConfig(raw.homePage),
    adapter,
    tcr,
    market,
    logLevel: raw.log?.level ?? 'info',
  };
  if (market.revealMarginMs !== undefined && market.revealWindowMs !== undefined && market.revealMarginMs >= market.revealWindowMs) {
    throw new HemError('BAD_CONFIG', { path: '/market/revealMarginMs', reason: `must be below revealWindowMs (${market.revealWindowMs})` });
  }
  if (out.resignAfterMs >= out.skewMs) {
    throw new HemError('BAD_CONFIG', { path: '/resignAfterMs', reason: `must be below skewMs (${out.skewMs})` });
  }
  return out;
}

export const HOME_PAGE_DEFAULT_PORT = 8490;

/**
 * [HOME-BIND] The home page listens on 127.0.0.1 unless `host` names another address;
 * an address other than loopback needs a password (HTTP Basic), else BAD_CONFIG.
 */
function homePageConfig(raw: RawConfig['homePage']): Pick<HemConfig, 'homePage'> {
  if (!raw || raw.enabled === false) return {};
  const host = raw.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && raw.password === undefined) {
    throw new HemError('BAD_CONFIG', { path: '/homePage/password', reason: `required to serve the home page on ${host} (not loopback); or set host 127.0.0.1` });
  }
  return { homePage: { port: raw.port ?? HOME_PAGE_DEFAULT_PORT, host, ...(raw.password !== undefined ? { password: raw.password } : {}) } };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Reads and validates a config file. */
export async function loadHemConfig(file: string): Promise<HemConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new HemError('BAD_CONFIG', { path: file, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
  }
  if (text.length > 1_000_000) throw new HemError('BAD_CONFIG', { path: file, reason: 'larger than 1 MB' });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HemError('BAD_CONFIG', { path: file, reason: `not JSON: ${(err as Error).message}` });
  }
  return parseHemConfig(value, dirname(resolve(file)));
}
