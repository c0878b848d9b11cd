import type { Command } from '../command.js';
import { COMMANDS } from '../commands.js';

/**
 * Until the whole-platform simulation exists (analytics issue #7), `tmi simulate` — the
 * main job behind `npm start` — says so, lists what runs today, and exits non-zero.
 */
export const simulate: Command = {
  name: 'simulate',
  summary: 'simulate a whole day of the platform and write a report (not built yet)',
  help: 'tmi simulate: simulate a whole day of the platform and write a report.\n\nNot built yet (analytics issue #7).\n',
  async run() {
    const ready = COMMANDS.filter((c) => !c.summary.endsWith('(not built yet)'));
    const lines = [
      'tmi simulate: the whole-platform simulation is not built yet.',
      '',
      'What runs today:',
      ...ready.map((c) => `  npx tmi ${c.name.padEnd(10)} ${c.summary}`),
      '',
      'Each command takes --help. Tests: npm test. Benchmarks: npm run bench:codec.',
      '',
    ];
    process.stderr.write(lines.join('\n'));
    return 2;
  },
};
