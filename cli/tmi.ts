#!/usr/bin/env node
/**
 * `tmi`: the one command line of the platform (DESIGN §9). It starts at once: this file
 * and the command table import nothing else; a command's module is imported when it is
 * named, and the parts it drives when it runs.
 */
import { COMMANDS } from './commands.js';

const VERSION = '0.1.0';

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'tmi — Transactive Management Infrastructure',
    '',
    'Usage: tmi <command> [options]      tmi <command> --help for details',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help       this text',
    '  -v, --version    print the version',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 1 : 0;
  }
  if (name === '-v' || name === '--version') {
    process.stdout.write(VERSION + '\n');
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`tmi: unknown command '${name}'\n\n${usage()}`);
    return 1;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.help);
    return 0;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tmi: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
