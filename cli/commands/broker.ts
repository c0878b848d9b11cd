import { existsSync, readFileSync } from 'node:fs';
import type { TmiBrokerOptions } from '../../broker/createTmiBroker.js';
import { ConfigError, formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';

const spec: OptionSpec = {
  registry: { type: 'string', describe: 'registry base URL, e.g. http://127.0.0.1:8470', env: 'TMI_REGISTRY_URL' },
  'directory-token': { type: 'string', describe: "the registry's read-only directory token, or a file holding it (the admin token is refused)", env: 'TMI_DIRECTORY_TOKEN' },
  data: { type: 'string', describe: 'data directory: the broker key and, without --redis, the accepted login tokens', default: './data/broker', env: 'TMI_BROKER_DATA' },
  host: { type: 'string', describe: 'address to listen on', default: '127.0.0.1', env: 'TMI_BROKER_HOST' },
  port: { type: 'string', describe: 'MQTT/TCP port (0 = any free port)', default: '1883', env: 'TMI_BROKER_PORT' },
  'tls-port': { type: 'string', describe: 'MQTT/TLS port (needs --tls-key and --tls-cert)', env: 'TMI_BROKER_TLS_PORT' },
  'tls-key': { type: 'string', describe: 'TLS private key (PEM file)', env: 'TMI_BROKER_TLS_KEY' },
  'tls-cert': { type: 'string', describe: 'TLS certificate chain (PEM file)', env: 'TMI_BROKER_TLS_CERT' },
  'tls-ca': { type: 'string', describe: 'CA bundle (PEM file), optional', env: 'TMI_BROKER_TLS_CA' },
  'ws-port': { type: 'string', describe: 'MQTT over WebSocket port (path /mqtt)', env: 'TMI_BROKER_WS_PORT' },
  'metrics-port': { type: 'string', describe: 'Prometheus metrics port (GET /metrics)', env: 'TMI_BROKER_METRICS_PORT' },
  key: { type: 'string', describe: 'broker key file signing error messages (0600, created if absent); default: <data>/broker-key.json', env: 'TMI_BROKER_KEY' },
  rate: { type: 'string', describe: 'messages per second per client (hem, node, analytics)', default: '20', env: 'TMI_BROKER_RATE' },
  burst: { type: 'string', describe: 'token bucket size per client', default: '100', env: 'TMI_BROKER_BURST' },
  'max-packet-bytes': { type: 'string', describe: 'largest MQTT packet after login (default: largest operation + 64 KiB)', env: 'TMI_BROKER_MAX_PACKET_BYTES' },
  'revocation-poll-ms': { type: 'string', describe: 'revocation feed poll period, ms', default: '2000', env: 'TMI_BROKER_REVOCATION_POLL_MS' },
  redis: { type: 'string', describe: 'share sessions, subscriptions and deliveries with other brokers through Redis, e.g. redis://127.0.0.1:6379', env: 'TMI_BROKER_REDIS' },
  'log-level': { type: 'string', describe: 'pino level: trace, debug, info, warn, error, silent', default: 'info', env: 'TMI_BROKER_LOG_LEVEL' },
};

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function intOption(name: string, v: unknown, min: number, max: number): number {
  const n = Number(v);
  if (typeof v !== 'string' || !/^[0-9]+$/.test(v) || n < min || n > max) {
    throw new Error(`BAD_OPTION --${name}=${String(v)} expected an integer in [${min}, ${max}]`);
  }
  return n;
}

/** The token itself, or the trimmed content of the file it names. */
function readToken(v: string): string {
  return existsSync(v) ? readFileSync(v, 'utf8').trim() : v;
}

export const broker: Command = {
  name: 'broker',
  help: `Usage: tmi broker --registry <url> --directory-token <file|token> [--data ./data/broker] [--port 1883]
                  [--tls-port N --tls-key key.pem --tls-cert cert.pem [--tls-ca ca.pem]]
                  [--ws-port N] [--metrics-port N] [--key broker-key.json]
                  [--redis redis://127.0.0.1:6379]

Runs the TMI MQTT broker. Meters log in with username = meter id = client id and a
password made by makeLoginToken (signed by the meter key); the broker checks it
against the registry (enrolled, active), applies the topic ACL of the meter's role,
validates every tmi/v1/ message (size, JSON, schema, signature, replay, topic, identity)
and answers each rejected one with a broker-signed error on
tmi/v1/clients/{meterId}/errors. Revocations are polled from the registry and the
revoked meter is disconnected.

The broker looks meters up with the registry's read-only directory token
(<registry data>/directory-token); it refuses to start with the admin token. Its
error-signing key is <data>/broker-key.json (0600, created once, the same across
restarts): the address printed at start is the one HEMs pin (the registry serves it at
GET /v1/broker-key when started with --broker-address). A login token is accepted once:
accepted tokens are kept until they expire in <data>/login-tokens.log, or in Redis with
--redis, so a replayed token is refused after a restart and on every broker of a
cluster. With --redis, several brokers (same registry, same --key) act as one: a client
may connect to any of them and keeps its persistent session when it moves to another.
Edge validation cannot be turned off. Logs (pino JSON) go to stderr; SIGINT/SIGTERM stops.

${formatOptions(spec)}
`,
  async run(argv) {
    // [CONFIG] edge validation is not an option of the production broker (benchmarks call
    // createTmiBroker({validate: false}) themselves); a leftover switch is an error, not ignored
    if (argv.includes('--no-validate') || process.env.TMI_BROKER_NO_VALIDATE !== undefined) {
      throw new ConfigError('no-validate', argv.includes('--no-validate') ? 'flag' : 'env TMI_BROKER_NO_VALIDATE', 'reason=edge validation cannot be turned off in tmi broker');
    }
    if (argv.some((a) => a === '--admin-token' || a.startsWith('--admin-token='))) {
      process.stderr.write('tmi broker: the broker does not take the registry admin token: give --directory-token <registry data>/directory-token\n');
      return 2;
    }
    const [{ pino }, { createTmiBroker }, { createHttpDirectory }, { openBrokerDataDir }, { createFileTokenStore }, { RegistryClient }] = await Promise.all([
      import('pino'),
      import('../../broker/createTmiBroker.js'),
      import('../../broker/httpDirectory.js'),
      import('../../broker/brokerDataDir.js'),
      import('../../broker/loginTokenStore.js'),
      import('../../csm-registry/client.js'),
    ]);
    const { values } = parseCommandLine(argv, spec);
    if (typeof values.registry !== 'string' || values.registry === '') {
      process.stderr.write('tmi broker: --registry <url> is required\n');
      return 2;
    }
    if (typeof values['directory-token'] !== 'string' || values['directory-token'] === '') {
      process.stderr.write('tmi broker: --directory-token <file|token> is required\n');
      return 2;
    }
    const level = String(values['log-level']);
    if (!LEVELS.includes(level)) throw new Error(`BAD_OPTION --log-level=${level} expected one of ${LEVELS.join(', ')}`);
    const host = String(values.host);
    const log = pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));

    const listeners: TmiBrokerOptions['listeners'] = { mqtt: { port: intOption('port', values.port, 0, 65535), host } };
    if (values['tls-port'] !== undefined) {
      if (typeof values['tls-key'] !== 'string' || typeof values['tls-cert'] !== 'string') {
        process.stderr.write('tmi broker: --tls-port needs --tls-key and --tls-cert\n');
        return 2;
      }
      listeners.mqtts = {
        port: intOption('tls-port', values['tls-port'], 0, 65535),
        host,
        key: readFileSync(values['tls-key']),
        cert: readFileSync(values['tls-cert']),
        ...(typeof values['tls-ca'] === 'string' ? { ca: readFileSync(values['tls-ca']) } : {}),
      };
    }
    if (values['ws-port'] !== undefined) listeners.ws = { port: intOption('ws-port', values['ws-port'], 0, 65535), host };

    // [ROLES] the internet-facing broker holds a read-only credential: refuse the admin one
    const token = readToken(values['directory-token']);
    const role = (await new RegistryClient({ url: values.registry, adminToken: token, timeoutMs: 10_000 }).whoami()).role;
    if (role !== 'directory') {
      process.stderr.write(`tmi broker: --directory-token is the registry's ${role} token; the broker takes the read-only directory token\n`);
      return 2;
    }
    const data = await openBrokerDataDir(String(values.data), typeof values.key === 'string' ? { keyFile: values.key } : {});
    const redis = typeof values.redis === 'string' && values.redis !== '' ? values.redis : undefined;
    const b = await createTmiBroker({
      directory: createHttpDirectory({ url: values.registry, token }),
      listeners,
      ...(values['metrics-port'] !== undefined ? { metrics: { port: intOption('metrics-port', values['metrics-port'], 0, 65535), host } } : {}),
      ...(values['max-packet-bytes'] !== undefined ? { maxPacketBytes: intOption('max-packet-bytes', values['max-packet-bytes'], 1024, 256 * 1024 * 1024) } : {}),
      ratePerClient: { messagesPerSecond: intOption('rate', values.rate, 1, 1_000_000), burst: intOption('burst', values.burst, 1, 1_000_000) },
      revocationPollMs: intOption('revocation-poll-ms', values['revocation-poll-ms'], 100, 2000),
      key: data.key,
      // [TOKEN] without Redis, accepted login tokens outlive the process in the data directory
      ...(redis !== undefined ? { redis: { url: redis } } : { loginTokens: await createFileTokenStore(data.dir) }),
      log,
    });
    const lines = Object.entries(b.ports).map(([k, p]) => `tmi broker: ${k} on ${host}:${p}`);
    lines.push(`tmi broker: error messages signed by ${b.address} (${data.keyFile})`, '');
    process.stdout.write(lines.join('\n'));

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    log.info({ signal }, 'broker stopping');
    await b.close();
    return 0;
  },
};
