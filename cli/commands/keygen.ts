import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';

const spec: OptionSpec = {
  out: { type: 'string', short: 'o', describe: 'key file to write (mode 0600)', default: 'tmi-key.json' },
  label: { type: 'string', describe: 'label stored in the key file' },
  force: { type: 'boolean', describe: 'overwrite an existing file', default: false },
};

export const keygen: Command = {
  name: 'keygen',
  help: `Usage: tmi keygen [--out file] [--label text] [--force]

Writes a new Ed25519 key pair as JSON with mode 0600 and prints its address
(lowercase hex of the public key). The file holds the 32-byte seed; keep it private.

${formatOptions(spec)}
`,
  async run(argv) {
    const [{ writeKeyFile }, { generateKeyPair }] = await Promise.all([import('../../wire/keyFile.js'), import('../../wire/keys.js')]);
    const { values } = parseCommandLine(argv, spec);
    const out = String(values.out);
    const kp = generateKeyPair();
    try {
      await writeKeyFile(out, kp, typeof values.label === 'string' ? values.label : undefined, values.force === true);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        process.stderr.write(`tmi keygen: ${out} exists; use --force to overwrite\n`);
        return 1;
      }
      throw err;
    }
    process.stdout.write(JSON.stringify({ file: out, address: kp.address, publicKey: Buffer.from(kp.publicKey).toString('base64') }) + '\n');
    return 0;
  },
};
