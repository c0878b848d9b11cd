/** Creates the chain genesis file on first start; reads it afterwards. */
import { readFile, writeFile } from 'node:fs/promises';
import { parseGenesis, type Genesis } from '../poe-chain/core/genesis.js';
import type { GenesisConfig } from '../schemas/types.js';

export interface NewGenesis {
  chainId: string;
  registryKey: string;
  aggregatorKey: string;
  aggregatorNodeKey: string;
  intervalMs: number;
  slotMs: number;
  patience: number;
  now: number;
  /** initial balance of the aggregator wallet, millicents */
  aggregatorFundsMc?: number;
  extra?: Partial<GenesisConfig>;
}

export async function loadOrCreateGenesis(path: string, g: NewGenesis): Promise<{ genesis: Genesis; created: boolean }> {
  try {
    const genesis = parseGenesis(JSON.parse(await readFile(path, 'utf8')));
    for (const k of ['registryKey', 'aggregatorKey', 'aggregatorNodeKey'] as const) {
      if (genesis.config[k] !== g[k]) throw new Error(`GENESIS_KEY_MISMATCH field=${k} genesis=${genesis.config[k]} keyfile=${g[k]}`);
    }
    return { genesis, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // genesis time: the start of the current interval, so epochs line up with metering intervals
  const genesisTime = new Date(Math.floor(g.now / g.intervalMs) * g.intervalMs).toISOString();
  const config: GenesisConfig = {
    chainId: g.chainId,
    genesisTime,
    registryKey: g.registryKey,
    aggregatorKey: g.aggregatorKey,
    aggregatorNodeKey: g.aggregatorNodeKey,
    slotMs: g.slotMs,
    patience: g.patience,
    intervalMs: g.intervalMs,
    // grace periods scale with the interval, so short (simulated) intervals keep the rules' proportions
    settleGraceMs: 2 * g.intervalMs,
    voidGraceMs: Math.min(120_000, g.intervalMs),
    // [SEALED] bidders reveal within a quarter interval after the close (a minute at most)
    revealWindowMs: Math.max(1000, Math.min(60_000, Math.floor(g.intervalMs / 4))),
    ...(g.aggregatorFundsMc ? { balances: [{ address: g.aggregatorKey, millicents: g.aggregatorFundsMc }] } : {}),
    ...g.extra,
  } as GenesisConfig;
  const genesis = parseGenesis(config);
  await writeFile(path, JSON.stringify(config, null, 2) + '\n', { flag: 'wx' });
  return { genesis, created: true };
}
