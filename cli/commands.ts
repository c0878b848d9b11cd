/** The table of `tmi` subcommands (DESIGN §9). Each lives in commands/<name>.ts. */
import type { Command } from './command.js';
import { up } from './commands/up.js';
import { broker } from './commands/broker.js';
import { registry } from './commands/registry.js';
import { aggregator } from './commands/aggregator.js';
import { auction } from './commands/auction.js';
import { hem } from './commands/hem.js';
import { analytics } from './commands/analytics.js';
import { keygen } from './commands/keygen.js';
import { enroll } from './commands/enroll.js';
import { chain } from './commands/chain.js';
import { wallet } from './commands/wallet.js';
import { simulate } from './commands/simulate.js';
import { bench } from './commands/bench.js';

export const COMMANDS: readonly Command[] = [
  up, broker, registry, aggregator, auction, hem, analytics, keygen, enroll, chain, wallet, simulate, bench,
];
