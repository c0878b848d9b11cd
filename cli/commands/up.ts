import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';

/** S and W of GENESIS_DEFAULTS (poe-chain/core/genesis.ts), written here so that --help need
 * not load the chain; cli/test/commands.test.ts checks that the two agree. */
export const CHAIN_DEFAULTS_IN_HELP = { slotMs: 250, patience: 8 } as const;

const spec: OptionSpec = {
  data: { type: 'string', describe: 'data directory', default: './data' },
  host: { type: 'string', describe: 'address to listen on', default: '127.0.0.1' },
  'mqtt-port': { type: 'string', describe: 'MQTT/TCP port', default: '1883' },
  'ws-port': { type: 'string', describe: 'MQTT over WebSocket port (path /mqtt)', default: '8083' },
  'registry-port': { type: 'string', describe: 'registry HTTP port', default: '8470' },
  'aggregator-port': { type: 'string', describe: 'aggregator operator HTTP port', default: '8471' },
  'analytics-port': { type: 'string', describe: 'analytics API and dashboard port', default: '8480' },
  'metrics-port': { type: 'string', describe: 'broker Prometheus metrics port', default: '9464' },
  'interval-ms': { type: 'string', describe: 'metering interval = chain epoch, ms (only for a new data directory)', default: '900000' },
  'slot-ms': { type: 'string', describe: 'chain slot length S, ms (new data directory only)', default: String(CHAIN_DEFAULTS_IN_HELP.slotMs) },
  patience: { type: 'string', describe: 'chain patience W, slots (new data directory only)', default: String(CHAIN_DEFAULTS_IN_HELP.patience) },
  prices: { type: 'string', describe: 'imbalance price CSV (start,buy_cents_per_kwh,sell_cents_per_kwh) for auction limit prices' },
  'log-level': { type: 'string', describe: 'pino log level', default: 'info' },
};

function port(v: unknown, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`BAD_OPTION --${name}=${String(v)} (a port 0-65535)`);
  return n;
}

function positive(v: unknown, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`BAD_OPTION --${name}=${String(v)} (a positive integer)`);
  return n;
}

export const up: Command = {
  name: 'up',
  help: `Usage: tmi up [options]

Starts the aggregator side of the platform in one process over one data directory:
the Certified Smart Meter registry (HTTP), the MQTT broker (TCP and WebSocket, login by
signed token, ACLs, edge validation), the aggregator's chain node (fallback block
producer, serves sync), the VPP aggregator with its operator API, and analytics with its
dashboard. Prints the URLs, the broker's address (the key in <data>/broker/ that signs
its error messages, the same across restarts; also at GET /v1/broker-key of the
registry) and the three credentials, each in its own 0600 file:
<data>/registry/admin-token (enrol, revoke, feeder limits), <data>/registry/directory-token
(the broker's read-only look-ups) and <data>/aggregator/operator-token (the aggregator's
operator API). Stop with Ctrl-C (SIGINT) or SIGTERM.

${formatOptions(spec)}
`,
  async run(argv) {
    const [{ pino }, { startPlatform }] = await Promise.all([import('pino'), import('../../platform/startPlatform.js')]);
    const { values: v } = parseCommandLine(argv, spec);
    const log = pino({ level: String(v['log-level']) }, pino.destination(2));
    const p = await startPlatform({
      dataDir: String(v.data),
      host: String(v.host),
      ports: {
        mqtt: port(v['mqtt-port'], 'mqtt-port'),
        ws: port(v['ws-port'], 'ws-port'),
        registry: port(v['registry-port'], 'registry-port'),
        aggregator: port(v['aggregator-port'], 'aggregator-port'),
        metrics: port(v['metrics-port'], 'metrics-port'),
        analytics: port(v['analytics-port'], 'analytics-port'),
      },
      intervalMs: positive(v['interval-ms'], 'interval-ms'),
      slotMs: positive(v['slot-ms'], 'slot-ms'),
      patience: positive(v.patience, 'patience'),
      ...(typeof v.prices === 'string' ? { pricesCsv: v.prices } : {}),
      log,
    });
    const out = {
      status: 'up',
      urls: p.urls,
      adminTokenFile: p.adminTokenFile ?? '(from TMI_ADMIN_TOKEN)',
      directoryTokenFile: p.directoryTokenFile,
      operatorTokenFile: p.operatorTokenFile,
      brokerKey: p.broker.address,
      brokerKeyFile: p.brokerKeyFile,
      genesis: p.paths.genesis,
      chainId: p.genesis.chainId,
      registryKey: p.registry.address,
      aggregatorKey: p.keys.aggregator.address,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    process.stderr.write('tmi up: stopping\n');
    await p.stop();
    return 0;
  },
};
