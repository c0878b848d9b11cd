import type { Command } from '../command.js';

export const hem: Command = {
  name: 'hem',
  help: `Usage: tmi hem --config hem.json [--check]

Runs a Home Energy Manager: obtains pseudonym certificates from the registry, keeps one
MQTT session with the broker, meters every interval (signed meter-reading), answers
auctions with the transactive controller's bid, and executes awards on the battery.
Messages wait in an on-disk outbox under the data directory while the broker is
unreachable. Logs are JSON lines on stdout (journald under systemd).

Options:
  --config <file.json>   the HEM configuration (see hem/examples/hem.json)   [env TMI_HEM_CONFIG]
  --check                validate the configuration and exit
  -h, --help             this text

SIGTERM / SIGINT: finishes the current interval write, waits briefly for PUBACKs, exits 0.
`,
  async run(argv) {
    const [{ loadHemConfig }, { runHem }] = await Promise.all([import('../../hem/hemConfig.js'), import('../../hem/runHem.js')]);
    let file: string | undefined = process.env.TMI_HEM_CONFIG;
    let checkOnly = false;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--config') file = argv[++i];
      else if (a?.startsWith('--config=')) file = a.slice('--config='.length);
      else if (a === '--check') checkOnly = true;
      else {
        process.stderr.write(`tmi hem: unknown option '${String(a)}' (see tmi hem --help)\n`);
        return 1;
      }
    }
    if (!file) {
      process.stderr.write('tmi hem: --config <file.json> is required (see tmi hem --help)\n');
      return 1;
    }
    let cfg;
    try {
      cfg = await loadHemConfig(file);
    } catch (err) {
      process.stderr.write(`tmi hem: ${(err as Error).message}\n`);
      return 1;
    }
    if (checkOnly) {
      process.stdout.write(`tmi hem: ${file} is valid (meterId=${cfg.meterId}, adapter=${cfg.adapter.type})\n`);
      return 0;
    }
    const handle = await runHem(cfg);
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      process.once('SIGTERM', done);
      process.once('SIGINT', done);
    });
    await handle.stop();
    return 0;
  },
};
