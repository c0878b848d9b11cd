import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Fact } from '../../analytics/facts.js';
import type { Level as LevelDb } from 'level';
import type { ChainFollower } from '../../analytics/adapters/chainFollower.js';
import type { MqttFollower } from '../../analytics/adapters/mqttFollower.js';
import type { ChainStore } from '../../poe-chain/store/openChainStore.js';
import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';

const spec: OptionSpec = {
  data: { type: 'string', describe: 'data directory (statistics and chain databases)', env: 'TMI_ANALYTICS_DATA' },
  broker: { type: 'string', describe: 'broker URL, e.g. mqtt://127.0.0.1:1883 (none: serve stored data only)', env: 'TMI_BROKER' },
  'meter-id': { type: 'string', describe: 'login of the analytics service (role analytics in the registry)', default: 'analytics' },
  key: { type: 'string', describe: 'key file of that login (mode 0600)', env: 'TMI_ANALYTICS_KEY' },
  ca: { type: 'string', describe: 'PEM CA bundle for mqtts://' },
  genesis: { type: 'string', describe: 'genesis file of the chain: follow the chain state (wallets, settlements, rewards, ranking)' },
  port: { type: 'string', describe: 'HTTP port (0 = any free port)', default: '8480', env: 'TMI_ANALYTICS_PORT' },
  host: { type: 'string', describe: 'address to listen on', default: '127.0.0.1', env: 'TMI_ANALYTICS_HOST' },
  'max-sse-clients': { type: 'string', describe: 'most live-update clients at once', default: '32' },
  'log-level': { type: 'string', describe: 'pino level: trace, debug, info, warn, error, silent', default: 'info' },
};

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function intOption(name: string, v: unknown, min: number, max: number): number {
  const n = Number(v);
  if (typeof v !== 'string' || !/^[0-9]+$/.test(v) || n < min || n > max) {
    throw new Error(`BAD_OPTION --${name}=${String(v)} expected an integer in [${min}, ${max}]`);
  }
  return n;
}

export const analytics: Command = {
  name: 'analytics',
  help: `Usage: tmi analytics --data <dir> [--broker <url> --meter-id <id> --key <keyfile>]
                      [--genesis <file>] [--port 8480] [--host 127.0.0.1]

Follows the market and the chain over MQTT (subscribes to tmi/v1/# as the analytics
role; publishes nothing), keeps derived statistics in a level database, and serves the
HTTP JSON API (/api/…, CSV export, live updates at /api/events) and the dashboard at /.

  <data>/analytics-db/   statistics (kept across restarts)
  <data>/chain-db/       the chain as analytics followed it (with --genesis)

With --genesis (or a chain database made before), every block received is applied to
analytics' own copy of the chain state, which gives wallets, settlements, block
rewards and the PoE ranking. Without --broker it serves the stored data only.
Logs (pino JSON) go to stderr. SIGINT or SIGTERM stops it.

${formatOptions(spec)}
`,
  async run(argv) {
    const [{ Level }, { pino }, { createAnalytics }, { createChainFollower }, { createMqttFollower }, { openChainStore }, { readKeyFile }] = await Promise.all([
      import('level'),
      import('pino'),
      import('../../analytics/createAnalytics.js'),
      import('../../analytics/adapters/chainFollower.js'),
      import('../../analytics/adapters/mqttFollower.js'),
      import('../../poe-chain/store/openChainStore.js'),
      import('../../wire/keyFile.js'),
    ]);
    const { values } = parseCommandLine(argv, spec);
    if (typeof values.data !== 'string' || values.data === '') {
      process.stderr.write('tmi analytics: --data <dir> is required\n');
      return 2;
    }
    const port = intOption('port', values.port, 0, 65535);
    const maxSse = intOption('max-sse-clients', values['max-sse-clients'], 1, 10_000);
    const level = String(values['log-level']);
    if (!LEVELS.includes(level)) throw new Error(`BAD_OPTION --log-level=${level} expected one of ${LEVELS.join(', ')}`);
    const broker = typeof values.broker === 'string' && values.broker !== '' ? values.broker : undefined;
    if (broker !== undefined && typeof values.key !== 'string') {
      process.stderr.write('tmi analytics: --key <keyfile> is required with --broker\n');
      return 2;
    }
    const log = pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));

    const db = new Level<string, string>(join(values.data, 'analytics-db'), { valueEncoding: 'utf8' });
    await db.open();
    const an = await createAnalytics({ db, log, maxSseClients: maxSse });

    // the chain-state adapter, when there is a chain to follow
    let chainDb: LevelDb<string, string> | undefined;
    let chainStore: ChainStore | undefined;
    let chain: ChainFollower | undefined;
    const genesis = typeof values.genesis === 'string' ? (JSON.parse(await readFile(values.genesis, 'utf8')) as unknown) : undefined;
    chainDb = new Level<string, string>(join(values.data, 'chain-db'), { valueEncoding: 'utf8' });
    try {
      chainStore = await openChainStore(chainDb, genesis !== undefined ? { genesis } : {});
    } catch (err) {
      if ((err as { code?: string }).code !== 'NO_CHAIN') throw err;
      await chainDb.close();
      chainDb = undefined;
      log.warn('no --genesis and no chain database: wallets, settlements, rewards and the chain ranking are not followed');
    }
    const ingest = (facts: Fact[]) => an.ingest(facts);
    if (chainStore !== undefined) {
      chain = createChainFollower({ chain: chainStore, ingest, log });
      an.addHealth('chain', () => chain?.stats() ?? {});
    }

    let follower: MqttFollower | undefined;
    if (broker !== undefined) {
      const meterKey = await readKeyFile(String(values.key));
      const ca = typeof values.ca === 'string' ? await readFile(values.ca) : undefined;
      follower = createMqttFollower({
        url: broker, meterId: String(values['meter-id']), meterKey, ingest, log,
        ...(chain !== undefined ? { chain } : {}), ...(ca !== undefined ? { ca } : {}),
      });
      an.addHealth('mqtt', () => follower?.stats() ?? {});
    }

    const { url } = await an.listen(port, String(values.host));
    log.info({ url, broker, chain: chainStore !== undefined }, 'analytics listening');
    process.stdout.write(`tmi analytics: dashboard and API on ${url}/\n`);

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    log.info({ signal }, 'analytics stopping');
    await follower?.close();
    await an.close();
    await chainStore?.close();
    await db.close();
    log.info('analytics stopped');
    return 0;
  },
};
