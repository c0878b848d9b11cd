#!/usr/bin/env node
/**
 * Entry point of a home's HEM process: `node dist/hem/main.js --config hem.json`, the same
 * as `tmi hem --config hem.json` (which also imports only the HEM's modules) without the
 * command table.
 */
import { hem } from '../cli/commands/hem.js';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(hem.help);
} else {
  hem.run(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`tmi hem: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
