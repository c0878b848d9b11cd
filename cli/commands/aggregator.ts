import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';
import { callOperatorApi, operatorClientSpec, operatorToken } from '../operatorClient.js';

const clientSpec: OptionSpec = operatorClientSpec;

const postSpec: OptionSpec = {
  ...clientSpec,
  side: { type: 'string', describe: 'buy (the VPP buys: homes discharge) or sell (homes charge)' },
  'energy-kwh': { type: 'string', describe: 'energy, kWh' },
  price: { type: 'string', describe: 'limit price, cents/kWh' },
  delivery: { type: 'string', describe: 'delivery interval, ISO start/end (e.g. 2026-11-21T10:30:00Z/2026-11-21T10:45:00Z)' },
  'closes-at': { type: 'string', describe: 'closing time, ISO (default: the aggregator\'s rule)' },
  pricing: { type: 'string', describe: 'pay-as-bid or uniform' },
  sealed: { type: 'boolean', describe: 'sealed bids: commitments the bidders reveal after the close [SEALED]' },
};

const runSpec: OptionSpec = {
  data: { type: 'string', describe: 'data directory', default: './data' },
  host: { type: 'string', describe: 'address to listen on', default: '127.0.0.1' },
  port: { type: 'string', describe: 'operator API port', default: '8471' },
  prices: { type: 'string', describe: 'imbalance price CSV (start,buy_cents_per_kwh,sell_cents_per_kwh)' },
};

const token = operatorToken;
const call = (url: string, t: string, method: string, body?: unknown) => callOperatorApi('tmi aggregator', url, t, method, body);

const HELP = `Usage:
  tmi aggregator post --side buy|sell --energy-kwh N --price CENTS --delivery START/END [options]
  tmi aggregator auctions | ledger [--url U] [--operator-token T]
  tmi aggregator run [--data DIR] [--port P]

post      posts a VPP bid (side buy: the VPP buys energy, homes' batteries discharge) or offer
          (side sell: homes charge) to a running aggregator's operator API; prints the auction
auctions  lists the aggregator's auctions and their status (a result is published, and an
          auction cleared, once its clearing block is final)
ledger    prints the VPP ledger (energy bought and sold, payments, penalties, imbalance avoided):
          money settled in final blocks; money settled in blocks not final yet is apart, under
          unconfirmed (an auction settled on chain but not final yet is settled-unconfirmed)
run       runs the aggregator with the registry, broker and its chain node over DIR (the same
          as \`tmi up\`, which also starts analytics)

post options:
${formatOptions(postSpec)}

run options:
${formatOptions(runSpec)}
`;

export const aggregator: Command = {
  name: 'aggregator',
  help: HELP,
  async run(argv) {
    const [{ pino }, { startPlatform }] = await Promise.all([import('pino'), import('../../platform/startPlatform.js')]);
    const [sub, ...rest] = argv;
    if (sub === 'post') {
      const { values: v } = parseCommandLine(rest, postSpec);
      const missing = ['side', 'energy-kwh', 'price', 'delivery'].filter((k) => v[k] === undefined);
      if (missing.length) {
        process.stderr.write(`tmi aggregator post: missing --${missing.join(', --')}\n`);
        return 2;
      }
      const [start, end] = String(v.delivery).split('/');
      const body = {
        side: v.side,
        energyKWh: Number(v['energy-kwh']),
        priceCents: Number(v.price),
        delivery: { start: start ? new Date(start).toISOString() : start, end: end ? new Date(end).toISOString() : end },
        ...(v['closes-at'] ? { closesAt: new Date(String(v['closes-at'])).toISOString() } : {}),
        ...(v.pricing ? { pricing: v.pricing } : {}),
        ...(v.sealed ? { sealed: true } : {}),
      };
      if (!start || !end || Number.isNaN(Date.parse(start)) || Number.isNaN(Date.parse(end))) {
        process.stderr.write('tmi aggregator post: --delivery must be START/END in ISO 8601\n');
        return 2;
      }
      return call(`${String(v.url)}/admin/auctions`, token(v['operator-token']), 'POST', body);
    }
    if (sub === 'auctions' || sub === 'ledger') {
      const { values: v } = parseCommandLine(rest, clientSpec);
      return call(`${String(v.url)}/admin/${sub}`, token(v['operator-token']), 'GET');
    }
    if (sub === 'run') {
      const { values: v } = parseCommandLine(rest, runSpec);
      const log = pino({ level: 'info' }, pino.destination(2));
      const p = await startPlatform({ dataDir: String(v.data), host: String(v.host), ports: { aggregator: Number(v.port), mqtt: 1883 }, withAnalytics: false, log, ...(typeof v.prices === 'string' ? { pricesCsv: v.prices } : {}) });
      process.stdout.write(JSON.stringify({ status: 'up', urls: p.urls, adminTokenFile: p.adminTokenFile, operatorTokenFile: p.operatorTokenFile, brokerKey: p.broker.address }, null, 2) + '\n');
      await new Promise<void>((r) => {
        process.once('SIGINT', () => r());
        process.once('SIGTERM', () => r());
      });
      await p.stop();
      return 0;
    }
    process.stderr.write(`tmi aggregator: name a subcommand: post, auctions, ledger, run\n\n${HELP}`);
    return 2;
  },
};
