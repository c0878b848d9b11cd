/** What every `tmi` subcommand module exports. */
export interface Command {
  name: string;
  /** full text for `tmi <name> --help`; building it must not load the part's modules */
  help: string;
  /** returns the process exit code; imports what it needs when it runs */
  run(argv: string[]): Promise<number>;
}

/**
 * One row of the command table: what `tmi --help` prints without loading anything,
 * and how to load the command module when it is asked for.
 */
export interface CommandEntry {
  name: string;
  /** one line for `tmi --help` */
  summary: string;
  load(): Promise<Command>;
}

/** A subcommand that is not built yet: says so and exits non-zero; never pretends. */
export function notBuilt(name: string, summary: string, issue: string): CommandEntry {
  const cmd: Command = {
    name,
    help: `tmi ${name}: ${summary}\n\nNot built yet: ${issue}.\n`,
    async run() {
      process.stderr.write(`tmi ${name}: not built yet (${issue})\n`);
      return 2;
    },
  };
  return { name, summary: `${summary} (not built yet)`, load: async () => cmd };
}
