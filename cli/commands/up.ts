import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';

/** S and W of GENESIS_DEFAULTS (poe-chain/core/genesis.ts), written here so that --help need
 * not load the chain; cli/test/commands.test.ts checks that the two agree. */
export const CHAIN_DEFAULTS_IN_HELP = { slotMs: 250, patience: 8 } as const;
/** PART_HEAP_CAP_MB (platform/partHeapCaps.ts), written here for the same reason; the same test checks them */
export const HEAP_CAPS_IN_HELP = { edge: 384, core: 768 } as const;

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
  'edge-heap-mb': { type: 'string', describe: 'V8 heap cap of the registry and broker, MiB', default: String(HEAP_CAPS_IN_HELP.edge) },
  'core-heap-mb': { type: 'string', describe: 'V8 heap cap of the chain node, aggregator and analytics, MiB', default: String(HEAP_CAPS_IN_HELP.core) },
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

Starts the aggregator side of the platform in one process over one data directory, in
two parts, each a worker thread with its own V8 heap cap: the edge (the Certified Smart
Meter registry over HTTP; the MQTT broker over TCP and WebSocket, login by signed token,
ACLs, edge validation) and the core (the aggregator's chain node, fallback block
producer, serves sync; the VPP aggregator with its operator API; analytics with its
dashboard). If a part fails or runs out of heap, the other is stopped and tmi up exits 1. Prints the URLs, the broker's address (the key in <data>/broker/ that signs
its error messages, the same across restarts; also at GET /v1/broker-key of the
registry) and the three credentials, each in its own 0600 file:
<data>/registry/admin-token (enrol, revoke, feeder limits), <data>/registry/directory-token
(the broker's read-only look-ups) and <data>/aggregator/operator-token (the aggregator's
operator API). Stop with Ctrl-C (SIGINT) or SIGTERM.

${formatOptions(spec)}
`,
  async run(argv) {
    const [{ startPlatformParts }, { heapCapOf, sessionQueueTotalMBFor }] = await Promise.all([import('../../platform/platformParts.js'), import('../../platform/partHeapCaps.js')]);
    const { values: v } = parseCommandLine(argv, spec);
    const host = String(v.host);
    const heapCapMB = { edge: heapCapOf(v['edge-heap-mb'], 'edge-heap-mb'), core: heapCapOf(v['core-heap-mb'], 'core-heap-mb') };
    const p = await startPlatformParts({
      edge: {
        dataDir: String(v.data),
        host,
        ports: {
          mqtt: port(v['mqtt-port'], 'mqtt-port'),
          ws: port(v['ws-port'], 'ws-port'),
          registry: port(v['registry-port'], 'registry-port'),
          metrics: port(v['metrics-port'], 'metrics-port'),
        },
        intervalMs: positive(v['interval-ms'], 'interval-ms'),
        slotMs: positive(v['slot-ms'], 'slot-ms'),
        patience: positive(v.patience, 'patience'),
        sessionQueueTotalMB: sessionQueueTotalMBFor(heapCapMB.edge),
      },
      core: {
        dataDir: String(v.data),
        host,
        ports: { aggregator: port(v['aggregator-port'], 'aggregator-port'), analytics: port(v['analytics-port'], 'analytics-port') },
        ...(typeof v.prices === 'string' ? { pricesCsv: v.prices } : {}),
      },
      logLevel: String(v['log-level']),
      heapCapMB,
    });
    const out = {
      status: 'up',
      urls: { ...p.core.urls, ...p.edge.urls },
      adminTokenFile: p.edge.adminTokenFile ?? '(from TMI_ADMIN_TOKEN)',
      directoryTokenFile: p.edge.directoryTokenFile,
      operatorTokenFile: p.core.operatorTokenFile,
      brokerKey: p.edge.brokerKey,
      brokerKeyFile: p.edge.brokerKeyFile,
      genesis: p.edge.genesisFile,
      chainId: p.edge.chainId,
      registryKey: p.edge.registryKey,
      aggregatorKey: p.edge.aggregatorKey,
      heapCapMB,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    const ended = await new Promise<string | undefined>((resolve) => {
      process.once('SIGINT', () => resolve(undefined));
      process.once('SIGTERM', () => resolve(undefined));
      void p.died.then(resolve);
    });
    if (ended !== undefined) {
      // the other part is already stopped
      process.stderr.write(`tmi up: ${ended}\n`);
      return 1;
    }
    process.stderr.write('tmi up: stopping\n');
    await p.stop();
    return 0;
  },
};
