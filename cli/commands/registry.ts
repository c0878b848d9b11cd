import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';

const spec: OptionSpec = {
  data: { type: 'string', describe: 'data directory (registry key, admin token, level db)', env: 'TMI_REGISTRY_DATA' },
  port: { type: 'string', describe: 'TCP port (0 = any free port)', default: '8470', env: 'TMI_REGISTRY_PORT' },
  host: { type: 'string', describe: 'address to listen on', default: '127.0.0.1', env: 'TMI_REGISTRY_HOST' },
  'cert-validity': { type: 'string', describe: 'pseudonym certificate validity, seconds', default: '86400' },
  'cert-rate': { type: 'string', describe: 'most certificates per meter per hour', default: '10' },
  genesis: { type: 'string', describe: "the chain's genesis file: its genesis hash and chain id are served at GET /v1/chain, for HEMs to sign their transactions for [DOMAIN-TX]", env: 'TMI_REGISTRY_GENESIS' },
  'broker-address': { type: 'string', describe: "the broker's error-signing address (printed by tmi broker), served at GET /v1/broker-key for HEMs to pin", env: 'TMI_BROKER_ADDRESS' },
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

export const registry: Command = {
  name: 'registry',
  help: `Usage: tmi registry --data <dir> [--port 8470] [--host 127.0.0.1]

Runs the Certified Smart Meter registry: meter enrolment, revocation, pseudonym
certificates, feeder limits and the operator audit log, over HTTP (JSON), with its
data in a level database under the data directory:

  <data>/registry-key.json   registry Ed25519 key (0600, created if absent)
  <data>/admin-token         admin bearer token (0600, created if absent): enrol, revoke,
                             feeder limits, every read
  <data>/directory-token     the broker's read-only token (0600, created if absent): the
                             meter, pseudonym and revocation look-ups, nothing else
  <data>/db/                 level database

The tokens are read from TMI_ADMIN_TOKEN and TMI_DIRECTORY_TOKEN when set (then no file
is written). Endpoints need "Authorization: Bearer <token>". Logs (pino JSON) go to stderr.
SIGINT or SIGTERM stops the server and closes the database.

${formatOptions(spec)}
`,
  async run(argv) {
    const [{ pino }, { createRegistry }, { openRegistryDataDir }] = await Promise.all([import('pino'), import('../../csm-registry/createRegistry.js'), import('../../csm-registry/registryDataDir.js')]);
    const { values } = parseCommandLine(argv, spec);
    if (typeof values.data !== 'string' || values.data === '') {
      process.stderr.write('tmi registry: --data <dir> is required\n');
      return 2;
    }
    const port = intOption('port', values.port, 0, 65535);
    const validityS = intOption('cert-validity', values['cert-validity'], 1, 30 * 86400);
    const ratePerHour = intOption('cert-rate', values['cert-rate'], 1, 100_000);
    const level = String(values['log-level']);
    if (!LEVELS.includes(level)) throw new Error(`BAD_OPTION --log-level=${level} expected one of ${LEVELS.join(', ')}`);
    const host = String(values.host);
    const log = pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));

    const brokerAddress = values['broker-address'];
    if (brokerAddress !== undefined && (typeof brokerAddress !== 'string' || !/^[0-9a-f]{64}$/.test(brokerAddress))) {
      throw new Error(`BAD_OPTION --broker-address=${String(brokerAddress).slice(0, 80)} expected 64 lowercase hex characters`);
    }
    let chain: { genesisHash: string; chainId: string } | undefined;
    if (typeof values.genesis === 'string' && values.genesis !== '') {
      const [{ readFile }, { parseGenesis }] = await Promise.all([import('node:fs/promises'), import('../../poe-chain/core/genesis.js')]);
      const g = parseGenesis(JSON.parse(await readFile(values.genesis, 'utf8')));
      chain = { genesisHash: g.hash, chainId: g.chainId };
    }
    const envToken = process.env.TMI_ADMIN_TOKEN;
    const envDirectory = process.env.TMI_DIRECTORY_TOKEN;
    const dir = await openRegistryDataDir(values.data, {
      ...(envToken !== undefined && envToken !== '' ? { adminToken: envToken } : {}),
      ...(envDirectory !== undefined && envDirectory !== '' ? { directoryToken: envDirectory } : {}),
    });
    const reg = await createRegistry({
      db: dir.db,
      registryKey: dir.registryKey,
      adminToken: dir.adminToken,
      directoryToken: dir.directoryToken,
      ...(typeof brokerAddress === 'string' ? { brokerAddress } : {}),
      ...(chain ? { chain } : {}),
      log,
      certValidityMs: validityS * 1000,
      certRateLimit: { max: ratePerHour, windowMs: 3600_000 },
    });
    let url: string;
    try {
      ({ url } = await reg.listen(port, host));
    } catch (err) {
      await dir.db.close();
      throw err;
    }
    log.info({ url, meters: reg.store.meterCount(), registryKey: reg.address }, 'registry listening');
    process.stdout.write(
      [
        `tmi registry: listening on ${url}`,
        `tmi registry: registry key ${reg.address} (${dir.keyFile})`,
        dir.adminTokenFile !== undefined ? `tmi registry: admin token in ${dir.adminTokenFile}` : 'tmi registry: admin token from TMI_ADMIN_TOKEN',
        dir.directoryTokenFile !== undefined ? `tmi registry: broker's directory token in ${dir.directoryTokenFile}` : "tmi registry: broker's directory token from TMI_DIRECTORY_TOKEN",
        '',
      ].join('\n'),
    );

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    log.info({ signal }, 'registry stopping');
    await reg.close();
    await dir.db.close();
    log.info('registry stopped');
    return 0;
  },
};
