import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.js';

const BENCHES = ['codec', 'broker', 'hem', 'chain', 'clear', 'market'] as const;

export const bench: Command = {
  name: 'bench',
  help: `Usage: tmi bench <${BENCHES.join('|')}> [args]

Runs one benchmark in a child process and prints its JSON result on stdout.
The same benchmarks run as \`npm run bench:<name>\`.
`,
  async run(argv) {
    const name = argv[0];
    if (!name || !(BENCHES as readonly string[]).includes(name)) {
      process.stderr.write(`tmi bench: name one of ${BENCHES.join(', ')}\n`);
      return 1;
    }
    const file = fileURLToPath(new URL(`../../bench/${name}.js`, import.meta.url));
    if (!existsSync(file)) {
      process.stderr.write(`tmi bench: benchmark ${name} is not built yet\n`);
      return 2;
    }
    return await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [file, ...argv.slice(1)], { stdio: 'inherit' });
      child.on('exit', (code) => resolve(code ?? 1));
    });
  },
};
