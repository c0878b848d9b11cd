import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';

const spec: OptionSpec = {
  data: { type: 'string', describe: 'data directory; the chain database is <data>/chain', default: 'tmi-data' },
};

/** millicents → cents as an exact decimal string (3 decimals). */
export function millicentsToCents(mc: bigint): string {
  const neg = mc < 0n;
  const a = neg ? -mc : mc;
  return `${neg ? '-' : ''}${a / 1000n}.${String(a % 1000n).padStart(3, '0')}`;
}

export const wallet: Command = {
  name: 'wallet',
  help: `Usage: tmi wallet <address> --data <dir>

Prints the balance of <address> (lowercase hex public key) in the chain state at the
stored head: millicents (the chain's integer unit, exact) and cents. A balance may be
negative (penalties; the aggregator's clearing account).

${formatOptions(spec)}
`,
  async run(argv) {
    const [{ balanceOf }, { chainDbPath, openChainStoreAt }] = await Promise.all([import('../../poe-chain/core/chainState.js'), import('../../poe-chain/store/chainDataDir.js')]);
    const fail = (msg: string): number => {
      process.stderr.write(`tmi wallet: ${msg}\n`);
      return 1;
    };
    let parsed;
    try {
      parsed = parseCommandLine(argv, spec);
    } catch (err) {
      return fail((err as Error).message);
    }
    const address = parsed.positionals[0];
    if (address === undefined || !/^[0-9a-f]{64}$/.test(address)) return fail('expected an address: 64 lowercase hex characters');
    const data = String(parsed.values.data);
    let store;
    try {
      store = await openChainStoreAt(data);
    } catch (err) {
      return fail(`cannot open ${chainDbPath(data)}: ${(err as Error).message}`);
    }
    try {
      const mc = balanceOf(store.state, address);
      process.stdout.write(
        JSON.stringify({ address, millicents: mc.toString(), cents: millicentsToCents(mc), height: store.head.height, known: store.state.sections.wallets.has(address) }, null, 2) + '\n',
      );
      return 0;
    } finally {
      await store.close({ snapshot: false });
    }
  },
};
