/**
 * The table of `tmi` subcommands (DESIGN §9). Each lives in commands/<name>.ts and is
 * imported only when it is asked for, so `tmi --help` loads none of them and
 * `tmi <name> --help` loads only that one (whose top level imports no part of the platform).
 */
import type { CommandEntry } from './command.js';

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'up', summary: 'run registry, broker, chain node, aggregator and analytics in one process', load: async () => (await import('./commands/up.js')).up },
  { name: 'broker', summary: 'run the MQTT broker (TCP, TLS, WebSocket)', load: async () => (await import('./commands/broker.js')).broker },
  { name: 'registry', summary: 'run the Certified Smart Meter registry (HTTP)', load: async () => (await import('./commands/registry.js')).registry },
  { name: 'aggregator', summary: 'post a VPP bid/offer by hand, list auctions and the ledger, or run the aggregator', load: async () => (await import('./commands/aggregator.js')).aggregator },
  { name: 'auction', summary: 'audit tools: clear an auction from a JSON file with the same code the chain runs', load: async () => (await import('./commands/auction.js')).auction },
  { name: 'market', summary: "peer-to-peer market: the open books and cleared trades on the stored chain; clear a book from a JSON file with the chain's code", load: async () => (await import('./commands/market.js')).market },
  { name: 'hem', summary: 'run a Home Energy Manager (EMS + TCR + device gateway)', load: async () => (await import('./commands/hem.js')).hem },
  { name: 'analytics', summary: 'run the analytics service: statistics, HTTP API and live dashboard', load: async () => (await import('./commands/analytics.js')).analytics },
  { name: 'keygen', summary: 'generate an Ed25519 key file (meter, node or operator key)', load: async () => (await import('./commands/keygen.js')).keygen },
  { name: 'enroll', summary: 'enroll a meter in the registry from a HEM public key file', load: async () => (await import('./commands/enroll.js')).enroll },
  { name: 'chain', summary: 'PoE chain tools: genesis, init, status, verify, block', load: async () => (await import('./commands/chain.js')).chain },
  { name: 'wallet', summary: 'show the wallet balance of an address from the stored chain state', load: async () => (await import('./commands/wallet.js')).wallet },
  { name: 'simulate', summary: 'simulate whole days of the platform and write a report (npm start)', load: async () => (await import('./commands/simulate.js')).simulate },
  { name: 'bench', summary: 'run a benchmark (codec, broker, hem, chain, clear, market); prints JSON', load: async () => (await import('./commands/bench.js')).bench },
];
