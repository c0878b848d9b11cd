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

/**
 * A command that has returned has stopped everything it started, so the process ends by
 * itself. If something it used is still open (a timer re-armed during the stop, a socket
 * still closing), the process would live on unseen: after EXIT_GRACE_MS it says what is still
 * open and exits with the command's code. The timer is unref'd, so a clean stop never waits for it.
 */
const EXIT_GRACE_MS = 3_000;

function exitSoon(code: number): void {
  process.exitCode = code;
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    process.stderr.write(`tmi: still open ${EXIT_GRACE_MS} ms after the command returned: ${open.join(', ') || 'nothing'}; exiting\n`);
    process.exit(code);
  }, EXIT_GRACE_MS).unref();
}

main(process.argv.slice(2)).then(
  (code) => exitSoon(code),
  (err: unknown) => {
    process.stderr.write(`tmi: ${err instanceof Error ? err.message : String(err)}\n`);
    exitSoon(1);
  },
);
