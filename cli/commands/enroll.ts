import { readFile, stat } from 'node:fs/promises';
import type { EnrollRequest } from '../../csm-registry/registrySchemas.js';
import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';

const spec: OptionSpec = {
  registry: { type: 'string', describe: 'registry URL', default: 'http://127.0.0.1:8470', env: 'TMI_REGISTRY_URL' },
  'admin-token': { type: 'string', describe: 'admin token, or a file holding it', env: 'TMI_ADMIN_TOKEN' },
  key: { type: 'string', describe: 'the meter public key as 64 hex digits, or a tmi keygen key file, or a JSON text with "address" (hex)' },
  'meter-id': { type: 'string', describe: 'meter id (MQTT username of the HEM)' },
  serial: { type: 'string', describe: 'meter serial number' },
  'meter-type': { type: 'string', describe: 'meter type, e.g. "Landis+Gyr E450"' },
  feeder: { type: 'string', describe: 'feeder the meter is on' },
  programme: { type: 'string', describe: 'TE, RE or RE+TE' },
  role: { type: 'string', describe: 'hem, aggregator, node, analytics or admin', default: 'hem' },
  operator: { type: 'string', describe: 'operator name recorded in the audit log', env: 'TMI_OPERATOR' },
};

const MAX_KEY_FILE_BYTES = 64 * 1024;

class UsageError extends Error {}

/** The public key (hex) from a key file, a JSON text or a hex string. The seed is never read. */
export async function readPublicKey(arg: string): Promise<string> {
  let text = arg.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return text.toLowerCase();
  if (!text.startsWith('{')) {
    const st = await stat(arg).catch(() => undefined);
    if (!st || !st.isFile()) throw new UsageError(`--key ${arg}: no such file (and not a JSON text or hex key)`);
    if (st.size > MAX_KEY_FILE_BYTES) throw new UsageError(`--key ${arg}: file too large for a key file`);
    text = (await readFile(arg, 'utf8')).trim();
    if (/^[0-9a-fA-F]{64}$/.test(text)) return text.toLowerCase();
  }
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new UsageError(`--key: not JSON`);
  }
  if (typeof o !== 'object' || o === null) throw new UsageError('--key: expected a JSON object with address or publicKey');
  const { address, publicKey } = o as { address?: unknown; publicKey?: unknown };
  let fromAddress: string | undefined;
  let fromPublicKey: string | undefined;
  if (typeof address === 'string') {
    if (!/^[0-9a-f]{64}$/.test(address)) throw new UsageError('--key: address is not 64 lowercase hex digits');
    fromAddress = address;
  }
  if (typeof publicKey === 'string' && /^[0-9a-f]{64}$/.test(publicKey)) {
    fromPublicKey = publicKey; // the registry's encoding
  } else if (typeof publicKey === 'string') {
    // the base64 "publicKey" of a tmi keygen file, read for compatibility (its "address" is the same key in hex)
    const raw = Buffer.from(publicKey, 'base64');
    if (raw.length !== 32 || raw.toString('base64') !== publicKey) throw new UsageError('--key: publicKey is not base64 of 32 bytes');
    fromPublicKey = raw.toString('hex');
  }
  if (fromAddress && fromPublicKey && fromAddress !== fromPublicKey) throw new UsageError('--key: address and publicKey differ');
  const key = fromAddress ?? fromPublicKey;
  if (!key) throw new UsageError('--key: expected a JSON object with address or publicKey');
  return key;
}

async function readToken(arg: string): Promise<string> {
  const st = await stat(arg).catch(() => undefined);
  if (st?.isFile()) return (await readFile(arg, 'utf8')).trim();
  return arg;
}

export const enroll: Command = {
  name: 'enroll',
  help: `Usage: tmi enroll --registry <url> --admin-token <token|file> --key <key file>
                  --meter-id <id> --serial <s> --meter-type <t> --feeder <f>
                  --programme <TE|RE|RE+TE> [--role hem]

Enrolls a meter (POST /v1/meters) with the public key of the HEM's meter key and
prints the meter record as JSON. The registry takes the public key in one encoding:
64 lowercase hex digits, the key's address (PROTOCOL.md). --key gives it as those 64
hex digits, or as a key file written by \`tmi keygen\` (its "address" is read, never
its seed), or as a JSON text with "address" (hex).

${formatOptions(spec)}
`,
  async run(argv) {
    const [{ RegistryClient, RegistryClientError }, { RegistryError }, { check, validators }] = await Promise.all([
      import('../../csm-registry/client.js'),
      import('../../csm-registry/registryError.js'),
      import('../../csm-registry/registryValidators.js'),
    ]);
    const { values } = parseCommandLine(argv, spec);
    const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
    try {
      const missing = ['admin-token', 'key', 'meter-id', 'serial', 'meter-type', 'feeder', 'programme'].filter((k) => !str(k));
      if (missing.length) throw new UsageError(`missing ${missing.map((k) => `--${k}`).join(', ')}`);
      const publicKey = await readPublicKey(str('key')!);
      const body = check<EnrollRequest>(
        validators.enrollBody,
        {
          meterId: str('meter-id'),
          serial: str('serial'),
          meterType: str('meter-type'),
          publicKey,
          feeder: str('feeder'),
          programme: str('programme'),
          role: str('role') ?? 'hem',
        },
        'options',
      );
      const operator = str('operator');
      const client = new RegistryClient({
        url: str('registry')!,
        adminToken: await readToken(str('admin-token')!),
        ...(operator ? { operator } : {}),
      });
      const meter = await client.enroll(body);
      process.stdout.write(JSON.stringify(meter) + '\n');
      return 0;
    } catch (err) {
      if (err instanceof UsageError) {
        process.stderr.write(`tmi enroll: ${err.message}\n(tmi enroll --help for usage)\n`);
        return 2;
      }
      if (err instanceof RegistryError) {
        process.stderr.write(`tmi enroll: ${err.message}\n`);
        return 2;
      }
      if (err instanceof RegistryClientError) {
        process.stderr.write(`tmi enroll: ${String(err.context.message ?? err.message)}${err.status ? ` (HTTP ${err.status})` : ''}\n`);
        return 1;
      }
      throw err;
    }
  },
};
