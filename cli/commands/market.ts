import { readFile, stat } from 'node:fs/promises';
import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';
import { callOperatorApi, operatorClientSpec, operatorToken } from '../operatorClient.js';

/** MAX_AUDIT_ORDERS of marketAudit.ts, written here so that --help need not import the
 * market code; cli/test/marketClearCommand.e2e.test.ts checks that the two agree. */
export const AUDIT_ORDERS_IN_HELP = 1_000_000;

/**
 * One subcommand of `tmi market`: its lines in --help, its options, and what it runs.
 * A new subcommand is one more entry in SUBCOMMANDS; --help lists exactly the entries.
 */
interface MarketSubcommand {
  usage: string;
  describe: string;
  spec: OptionSpec;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

function fail(msg: string): number {
  process.stderr.write(`tmi market: ${msg}\n`);
  return 1;
}

const clearSpec: OptionSpec = {
  input: { type: 'string', short: 'i', env: 'TMI_MARKET_INPUT', describe: 'market book to clear (JSON, format above)' },
  'max-bytes': { type: 'string', env: 'TMI_MARKET_MAX_BYTES', describe: 'largest input file accepted', default: String(512 * 1024 * 1024) },
};

const clear: MarketSubcommand = {
  usage: 'clear --input book.json',
  describe: "clear a market book with exactly the chain's market clearing; prints the result as JSON",
  spec: clearSpec,
  async run(values, positionals) {
    if (positionals.length !== 0) return fail(`unexpected argument '${positionals[0]}' (see tmi market --help)`);
    const input = values.input;
    if (typeof input !== 'string' || input === '') return fail('--input <file> is required');
    const maxBytes = Number(values['max-bytes']);
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) return fail('--max-bytes must be a positive integer');
    let text: string;
    try {
      const st = await stat(input);
      if (!st.isFile()) return fail(`${input}: not a file`);
      if (st.size > maxBytes) return fail(`${input}: ${st.size} bytes, more than --max-bytes ${maxBytes}`);
      text = await readFile(input, 'utf8');
    } catch (err) {
      return fail(`${input}: ${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`.trim());
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return fail(`${input}: not JSON: ${(err as Error).message}`);
    }
    const { auditMarket } = await import('../../poe-chain/core/market/marketAudit.js');
    let result;
    try {
      result = auditMarket(doc);
    } catch (err) {
      return fail(`${input}: ${(err as Error).message}`);
    }
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  },
};

const dataSpec: OptionSpec = {
  data: { type: 'string', describe: 'data directory; the chain database is <data>/chain', default: 'tmi-data' },
  interval: { type: 'string', describe: 'only this delivery interval (its index on the chain\'s grid)' },
  last: { type: 'string', describe: 'at most this many intervals, the latest', default: '8' },
};

/** Opens the stored chain read-only for a view; prints `view(state)` as JSON. */
async function printFromChain(values: Record<string, string | boolean | undefined>, positionals: string[], view: (state: import('../../poe-chain/core/chainState.js').ChainState, only: number | undefined, last: number) => unknown): Promise<number> {
  if (positionals.length !== 0) return fail(`unexpected argument '${positionals[0]}' (see tmi market --help)`);
  const only = values.interval === undefined ? undefined : Number(values.interval);
  if (only !== undefined && !(Number.isSafeInteger(only) && only >= 0)) return fail('--interval must be an interval index (an integer ≥ 0)');
  const last = Number(values.last);
  if (!(Number.isSafeInteger(last) && last > 0)) return fail('--last must be a positive integer');
  const data = String(values.data);
  const { chainDbPath, openChainStoreAt } = await import('../../poe-chain/store/chainDataDir.js');
  let store;
  try {
    store = await openChainStoreAt(data);
  } catch (err) {
    return fail(`cannot open ${chainDbPath(data)}: ${(err as Error).message}`);
  }
  try {
    process.stdout.write(JSON.stringify({ height: store.head.height, ...(view(store.state, only, last) as object) }, null, 2) + '\n');
    return 0;
  } finally {
    await store.close({ snapshot: false });
  }
}

const book: MarketSubcommand = {
  usage: 'book [--data dir] [--interval n]',
  describe: 'the open P2P books at the stored head: each order, sealed or as revealed',
  spec: dataSpec,
  async run(values, positionals) {
    const { marketGate } = await import('../../poe-chain/core/genesis.js');
    return printFromChain(values, positionals, (state, only, last) => {
      const g = state.genesis;
      const open = state.meta.marketsActive.filter((e) => state.sections.markets.get(String(e))?.status === 'open' && (only === undefined || e === only)).slice(-last);
      return {
        books: open.map((e) => ({
          interval: e,
          delivery: { start: new Date(g.genesisTimeMs + e * g.intervalMs).toISOString(), end: new Date(g.genesisTimeMs + (e + 1) * g.intervalMs).toISOString() },
          gate: new Date(marketGate(g, e)).toISOString(),
          orders: [...state.sections.orderSlots.entries()]
            .filter(([k]) => k.startsWith(`${e}|`))
            .map(([, key]) => state.sections.orders.get(key))
            .filter((o) => o !== undefined)
            .sort((a, b) => a!.inclusion - b!.inclusion)
            .map((o) => ({
              orderId: o!.orderId, address: o!.address, side: o!.side, feeder: o!.feeder, intervals: [o!.firstEpoch, o!.lastEpoch],
              ...(o!.energyWh !== undefined ? { energyWh: o!.energyWh, priceMcPerKWh: o!.priceMcPerKWh } : { sealed: true }),
            })),
        })),
      };
    });
  },
};

const trades: MarketSubcommand = {
  usage: 'trades [--data dir] [--interval n]',
  describe: 'the cleared P2P markets at the stored head: price, volume, fills and their settlement',
  spec: dataSpec,
  async run(values, positionals) {
    return printFromChain(values, positionals, (state, only, last) => {
      const cleared = [...state.sections.markets.entries()]
        .map(([, m]) => m)
        .filter((m) => m.status !== 'open' && (only === undefined || m.epoch === only))
        .sort((a, b) => a.epoch - b.epoch)
        .slice(-last);
      return { markets: cleared };
    });
  },
};

const postSpec: OptionSpec = {
  ...operatorClientSpec,
  side: { type: 'string', describe: 'buy (the VPP imports) or sell (it exports)' },
  'energy-wh': { type: 'string', describe: 'energy per interval, Wh (integer)' },
  price: { type: 'string', describe: 'price, millicents/kWh (integer): the most it pays (buy) or the least it accepts (sell)' },
  delivery: { type: 'string', describe: 'the first delivery interval, ISO start/end' },
  intervals: { type: 'string', describe: 'how many consecutive intervals the order stands in (1..96)', default: '1' },
};

const post: MarketSubcommand = {
  usage: 'post --side buy|sell --energy-wh N --price MC --delivery S/E',
  describe: "the VPP's own order in the P2P market: the aggregator seals, posts and reveals it",
  spec: postSpec,
  async run(values, positionals) {
    if (positionals.length !== 0) return fail(`unexpected argument '${positionals[0]}' (see tmi market --help)`);
    const missing = ['side', 'energy-wh', 'price', 'delivery'].filter((k) => values[k] === undefined);
    if (missing.length) return fail(`post: missing --${missing.join(', --')}`);
    const [start, end] = String(values.delivery).split('/');
    if (!start || !end || Number.isNaN(Date.parse(start)) || Number.isNaN(Date.parse(end))) return fail('post: --delivery must be START/END in ISO 8601');
    const body = {
      side: values.side,
      energyWh: Number(values['energy-wh']),
      priceMcPerKWh: Number(values.price),
      delivery: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
      intervals: Number(values.intervals),
    };
    return callOperatorApi('tmi market post', `${String(values.url)}/admin/market/orders`, operatorToken(values['operator-token']), 'POST', body);
  },
};

const SUBCOMMANDS: Record<string, MarketSubcommand> = { clear, book, trades, post };
const NAMES = Object.keys(SUBCOMMANDS);

const width = Math.max(...Object.values(SUBCOMMANDS).map((s) => s.usage.length));

export const market: Command = {
  name: 'market',
  help: `Usage: tmi market <subcommand> [options]

${Object.values(SUBCOMMANDS).map((s) => `  ${s.usage.padEnd(width)}  ${s.describe}`).join('\n')}

tmi market clear: clears one interval's peer-to-peer market book with the chain's code
and prints the result on stdout: volumeWh, clearingPriceMcPerKWh (MCP), priceRange,
fills (sells, then buys, each in priority order) and excluded (in chain order). Exit
code 0 on success; 1 on a bad input file, naming the field.

Input file (integers: Wh, millicents/kWh):
  {
    "epoch": 1,
    "pricing": "uniform" | "pay-as-bid",
    "orders": [
      {"orderId": "o-1", "address": "<pseudonym>", "feeder": "F1", "side": "buy" | "sell",
       "energyWh": 1000, "priceMcPerKWh": 11000, "inclusion": 0},
      ...                                                   (at most ${String(AUDIT_ORDERS_IN_HELP).replace(/\B(?=(\d{3})+$)/g, ',')})
    ],
    "feederRoom": [{"feeder": "F1", "exportWh": 10000, "importWh": 10000}]
               room left on each feeder this interval; a feeder not listed is unlimited
  }
side = the home's: buy imports (price = the most it pays), sell exports (the least it
accepts). inclusion = order of inclusion on chain (smaller = earlier). Every field is
required, no other field is accepted; orderIds are unique, a feeder is listed once.

Rules (poe-chain/core/market/README.md): chain order = inclusion, orderId, address;
only the first order of an address counts. The volume V* is the largest
min(S(p), D(p)) over prices p, where S(p) = the sells' energy at asks ≤ p and D(p) =
the buys' energy at bids ≥ p, each capped per feeder by its room; the MCP is the middle
of the range of prices reaching V*, rounded down. Sells at asks ≤ MCP by ascending ask
and buys at bids ≥ MCP by descending bid (ties in chain order) each fill to exactly V*,
within their feeder's room. uniform: every fill at the MCP; pay-as-bid: each at its own
price. Exclusion reasons: ZERO_ENERGY, DUPLICATE_ADDRESS, PRICE_NOT_MET,
QUANTITY_FILLED, FEEDER_LIMIT.

Example: tmi market clear --input poe-chain/core/market/examples/book.json

${formatOptions(clearSpec)}

tmi market post: the VPP's own order (VPP balancing) through the aggregator's operator
API (POST /admin/market/orders): the aggregator seals it with its key, publishes it and
reveals it just after the order close; its answer (orderId, the order, revealAt) is
printed. The aggregator's wallet is the market's clearing account: no credit cap.

${formatOptions(postSpec)}

tmi market book / trades: read the chain stored in <data> (the head as last written) and
print JSON: book lists each open interval's orders (a sealed order shows only its side,
feeder and range until its home reveals it); trades lists cleared intervals with the
clearing price, the volume and each fill with its settlement once due.

${formatOptions(dataSpec)}
`,
  async run(argv) {
    const [name, ...rest] = argv;
    const sub = name !== undefined && Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
    if (sub === undefined) return fail(`expected a subcommand: ${NAMES.join(', ')} (see tmi market --help)`);
    let parsed;
    try {
      parsed = parseCommandLine(rest, sub.spec);
    } catch (err) {
      return fail((err as Error).message);
    }
    return sub.run(parsed.values, parsed.positionals);
  },
};
