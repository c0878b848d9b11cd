/**
 * `tmi chain run`: one chain node in this process, until SIGTERM/SIGINT.
 *
 *   tmi chain run --genesis genesis.json --data <dir> --key <keyfile> --broker <url>
 *                 --meter-id <id> [--login-key <keyfile>] [--produce] [--serve-sync] [--no-vote]
 *
 * The chain database <data>/chain is created from the genesis file on the first run and
 * must match it afterwards. The node logs in to the broker as --meter-id (username =
 * client id), with a login token signed by --login-key (default: --key), so it gets the
 * role the registry gave that meter (node, aggregator or hem). Logs are pino JSON on stderr.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { mkdir, readFile } from 'node:fs/promises';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { readKeyFile } from '../../wire/keyFile.js';
import { makeLoginToken } from '../../wire/loginToken.js';
import { formatOptions, parseCommandLine, type OptionSpec } from '../../cli/config.js';
import { parseGenesis } from '../core/genesis.js';
import { chainDbPath, openChainLevel, openChainStoreAt } from '../store/chainDataDir.js';
import type { ChainStore } from '../store/openChainStore.js';
import { checkpointSync } from './checkpointSync.js';
import { createChainNode } from './createChainNode.js';

/** The options of `tmi chain run` (cli/config.ts OptionSpec shape). */
export const RUN_NODE_OPTIONS: OptionSpec = {
  genesis: { type: 'string', describe: 'genesis file (JSON)', env: 'TMI_CHAIN_GENESIS' },
  data: { type: 'string', describe: 'data directory; the chain database is <data>/chain', default: 'tmi-data', env: 'TMI_CHAIN_DATA' },
  key: { type: 'string', describe: "the node's key file: produces blocks and signs its messages", env: 'TMI_CHAIN_KEY' },
  'login-key': { type: 'string', describe: 'key file of --meter-id for the broker login (default: --key)', env: 'TMI_CHAIN_LOGIN_KEY' },
  broker: { type: 'string', describe: 'broker URL, mqtt://host:port or mqtts://…', default: 'mqtt://127.0.0.1:1883', env: 'TMI_BROKER_URL' },
  ca: { type: 'string', describe: 'CA bundle (PEM) for mqtts://', env: 'TMI_BROKER_CA' },
  'meter-id': { type: 'string', describe: 'meter id to log in as (= MQTT client id = node id in sync topics)', env: 'TMI_METER_ID' },
  produce: { type: 'boolean', describe: 'produce blocks when this key is elected', default: false, env: 'TMI_CHAIN_PRODUCE' },
  'serve-sync': { type: 'boolean', describe: 'answer sync requests of other nodes', default: false, env: 'TMI_CHAIN_SERVE_SYNC' },
  prune: { type: 'boolean', describe: '[STORE-P] keep only the state and the blocks above the final block (a home node; the aggregator node is the archive)', default: false, env: 'TMI_CHAIN_PRUNE' },
  'checkpoint-sync': { type: 'boolean', describe: "[SYNC-C] with an empty data directory, start from the aggregator node's final checkpoint instead of genesis", default: false, env: 'TMI_CHAIN_CHECKPOINT_SYNC' },
  'no-vote': { type: 'boolean', describe: '[NODE-fin] do not vote for finality (a producing node votes when in the committee; votes are still counted)', default: false, env: 'TMI_CHAIN_NO_VOTE' },
  journal: { type: 'boolean', describe: '[NODE-J] keep each received transaction in the store until it is on chain (TMI_CHAIN_JOURNAL=false: not, as a home\'s node: hem/hemChain.ts)', default: true, env: 'TMI_CHAIN_JOURNAL' },
  'mempool-max': { type: 'string', describe: 'most transactions in the mempool', default: '100000', env: 'TMI_CHAIN_MEMPOOL_MAX' },
  'mempool-max-bytes': { type: 'string', describe: 'most bytes in the mempool', default: String(64 * 1024 * 1024), env: 'TMI_CHAIN_MEMPOOL_MAX_BYTES' },
  'log-level': { type: 'string', describe: 'pino level: trace, debug, info, warn, error, silent', default: 'info', env: 'TMI_CHAIN_LOG_LEVEL' },
};

export const RUN_NODE_HELP = `Usage: tmi chain run --genesis genesis.json --data <dir> --key <keyfile> --broker <url>
                     --meter-id <id> [--login-key <keyfile>] [--produce] [--serve-sync] [--no-vote]
                     [--prune] [--checkpoint-sync]

Runs a PoE chain node: follows tmi/v1/chain/blocks, keeps a mempool of the transactions
on tmi/v1/auctions/+, tmi/v1/auctions/+/bids, tmi/v1/readings and tmi/v1/chain/txs,
produces blocks when its key is elected (--produce), answers sync requests
(--serve-sync), votes for finality when producing and in the committee (unless
--no-vote), and stores the chain in <data>/chain (created from the genesis file on
the first run, or with --checkpoint-sync from the aggregator node's final checkpoint;
--prune keeps only the blocks above the final one). Logs are pino JSON on stderr; SIGTERM
or SIGINT stops it cleanly.
`;

type Values = Record<string, string | boolean | undefined>;

function intOption(name: string, v: unknown, min: number, max: number): number {
  const n = Number(v);
  if (typeof v !== 'string' || !/^[0-9]+$/.test(v) || n < min || n > max) throw new Error(`BAD_OPTION --${name}=${String(v)} expected an integer in [${min}, ${max}]`);
  return n;
}

function required(values: Values, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new Error(`MISSING_OPTION --${name} is required`);
  return v;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * Runs a node with already-parsed option values (names as in RUN_NODE_OPTIONS); resolves
 * with the exit code once a stop signal has closed it. `stop` replaces the signals (tests).
 */
export async function runNode(values: Values, stop?: Promise<unknown>): Promise<number> {
  const genesisFile = required(values, 'genesis');
  const keyFile = required(values, 'key');
  const meterId = required(values, 'meter-id');
  const url = required(values, 'broker');
  const data = String(values.data ?? 'tmi-data');
  const level = String(values['log-level'] ?? 'info');
  if (!LEVELS.includes(level)) throw new Error(`BAD_OPTION --log-level=${level} expected one of ${LEVELS.join(', ')}`);
  const log = pino({ level, base: { pid: process.pid, meterId } }, pino.destination({ dest: 2, sync: true }));

  const config: unknown = JSON.parse(await readFile(genesisFile, 'utf8'));
  const genesis = parseGenesis(config);
  const key = await readKeyFile(keyFile);
  const loginKey = typeof values['login-key'] === 'string' && values['login-key'] !== '' ? await readKeyFile(values['login-key']) : key;
  const ca = typeof values.ca === 'string' && values.ca !== '' ? await readFile(values.ca) : undefined;

  await mkdir(data, { recursive: true });
  const fresh = !existsSync(join(chainDbPath(data), 'CURRENT'));
  let client: MqttClient | undefined;
  let store: ChainStore | undefined;
  try {
    const token = () => makeLoginToken(loginKey, meterId);
    const opts: IClientOptions = {
      clientId: meterId,
      username: meterId,
      password: token(),
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(ca !== undefined ? { ca, rejectUnauthorized: true } : {}),
    };
    client = await mqtt.connectAsync(url, opts);
    const c = client;
    // any packet from the broker shows the connection is alive (platform/mqttLogin.ts [LOGIN-KA])
    c.on('packetreceive', () => c.reschedulePing(true));
    // Nagle off: blocks and transactions are small packets; with Nagle and delayed ACKs
    // each hop can hold them back for tens of milliseconds
    const noDelay = () => (c.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
    noDelay();
    c.on('connect', noDelay);
    c.on('reconnect', () => {
      c.options.password = token(); // tokens are single-use
    });
    c.on('error', (err) => log.warn({ err: err.message }, 'mqtt error'));
    c.on('offline', () => log.warn('broker connection lost'));

    // [SYNC-C] an empty data directory may start from the archive's final checkpoint
    if (fresh && values['checkpoint-sync'] === true) {
      const db = await openChainLevel(data, { createIfMissing: true });
      try {
        await checkpointSync({ genesis, mqtt: c, nodeId: meterId, key, db, log });
      } finally {
        await db.close();
      }
    }
    store = await openChainStoreAt(data, { genesis: config, createIfMissing: true });

    const node = await createChainNode({
      genesis,
      key,
      store,
      mqtt: c,
      nodeId: meterId,
      log,
      produce: values.produce === true,
      serveSync: values['serve-sync'] === true,
      ...(values['no-vote'] === true ? { vote: false } : {}),
      journal: values.journal !== false,
      prune: values.prune === true,
      mempoolLimit: {
        count: intOption('mempool-max', values['mempool-max'] ?? '100000', 1, 10_000_000),
        bytes: intOption('mempool-max-bytes', values['mempool-max-bytes'] ?? String(64 * 1024 * 1024), 1024, 16 * 1024 * 1024 * 1024),
      },
    });
    const signal = await (stop ??
      new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      }));
    log.info({ signal: String(signal) }, 'stopping');
    await node.close();
    return 0;
  } finally {
    if (client) await client.endAsync().catch(() => undefined);
    await store?.close();
  }
}

/**
 * `tmi chain run <options>`: parses argv with cli/config.ts (flags ← TMI_* env ← --config
 * file), prints help on -h. Hook in cli/commands/chain.ts, before its own option parsing:
 *   if (argv[0] === 'run') return runNodeCommand(argv.slice(1));
 */
export async function runNodeCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv, RUN_NODE_OPTIONS);
  } catch (err) {
    process.stderr.write(`tmi chain run: ${(err as Error).message}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${RUN_NODE_HELP}\n${formatOptions(RUN_NODE_OPTIONS)}\n`);
    return 0;
  }
  try {
    return await runNode(parsed.values);
  } catch (err) {
    process.stderr.write(`tmi chain run: ${(err as Error).message}\n`);
    return 1;
  }
}
