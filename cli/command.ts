/** What every `tmi` subcommand module exports. */
export interface Command {
  name: string;
  /** one line for `tmi --help` */
  summary: string;
  /** full text for `tmi <name> --help` */
  help: string;
  /** returns the process exit code */
  run(argv: string[]): Promise<number>;
}

/** A subcommand that is not built yet: says so and exits non-zero; never pretends. */
export function notBuilt(name: string, summary: string, issue: string): Command {
  return {
    name,
    summary: `${summary} (not built yet)`,
    help: `tmi ${name}: ${summary}\n\nNot built yet: ${issue}.\n`,
    async run() {
      process.stderr.write(`tmi ${name}: not built yet (${issue})\n`);
      return 2;
    },
  };
}
