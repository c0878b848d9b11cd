import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { formatOptions, parseCommandLine, type OptionSpec } from '../config.js';
import type { Command } from '../command.js';

const spec: OptionSpec = {
  data: { type: 'string', describe: 'data directory; the chain database is <data>/chain', default: 'tmi-data' },
  genesis: { type: 'string', describe: 'genesis file (init)' },
  out: { type: 'string', short: 'o', describe: 'file to write (genesis); default stdout' },
  'chain-id': { type: 'string', describe: 'chain id (genesis)', default: 'tmi-local' },
  'genesis-time': { type: 'string', describe: 'genesis time, ISO (genesis); default: the current interval start' },
  registry: { type: 'string', describe: 'registry public key, hex (genesis)' },
  aggregator: { type: 'string', describe: 'aggregator public key, hex (genesis)' },
  node: { type: 'string', describe: "aggregator node's public key, hex (genesis)" },
};

function print(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}

function fail(msg: string): number {
  process.stderr.write(`tmi chain: ${msg}\n`);
  return 1;
}

async function init(values: Record<string, string | boolean | undefined>): Promise<number> {
  const [{ parseGenesis }, { chainDbPath, openChainStoreAt }] = await Promise.all([import('../../poe-chain/core/genesis.js'), import('../../poe-chain/store/chainDataDir.js')]);
  if (typeof values.genesis !== 'string') return fail('--genesis <file> is required');
  const data = String(values.data);
  let config: unknown;
  try {
    config = JSON.parse(await readFile(values.genesis, 'utf8'));
  } catch (err) {
    return fail(`cannot read ${values.genesis}: ${(err as Error).message}`);
  }
  const genesis = parseGenesis(config);
  const store = await openChainStoreAt(data, { genesis: config, createIfMissing: true });
  const head = store.head;
  await store.close();
  print({ initialised: chainDbPath(data), chainId: genesis.chainId, genesisHash: genesis.hash, height: head.height, stateRoot: head.stateRoot });
  return 0;
}

async function genesisTemplate(values: Record<string, string | boolean | undefined>): Promise<number> {
  const { parseGenesis, GENESIS_DEFAULTS } = await import('../../poe-chain/core/genesis.js');
  const hex = (name: string) => {
    const v = values[name];
    if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw new Error(`--${name} <hex public key> is required (tmi keygen prints it as address)`);
    return v;
  };
  const interval = GENESIS_DEFAULTS.intervalMs;
  const time = typeof values['genesis-time'] === 'string' ? values['genesis-time'] : new Date(Math.floor(Date.now() / interval) * interval).toISOString();
  const config = {
    chainId: String(values['chain-id']),
    genesisTime: time,
    registryKey: hex('registry'),
    aggregatorKey: hex('aggregator'),
    aggregatorNodeKey: hex('node'),
    ...GENESIS_DEFAULTS,
    balances: [],
  };
  const g = parseGenesis(config); // refuse to write a file the chain would refuse
  const text = JSON.stringify(g.config, null, 2) + '\n';
  if (typeof values.out === 'string') {
    if (existsSync(values.out)) return fail(`${values.out} exists`);
    await writeFile(values.out, text);
    print({ file: values.out, genesisHash: g.hash });
  } else process.stdout.write(text);
  return 0;
}

async function status(data: string): Promise<number> {
  const [{ epochOfSlot, slotTime }, { stateRoot }, { openChainStoreAt }] = await Promise.all([
    import('../../poe-chain/core/genesis.js'),
    import('../../poe-chain/core/chainState.js'),
    import('../../poe-chain/store/chainDataDir.js'),
  ]);
  const store = await openChainStoreAt(data);
  try {
    const s = store.state;
    const g = store.genesis;
    const head = store.head;
    const tip = head.height > 0 ? await store.blockAt(head.height) : undefined;
    const localText = await store.nodeRecord('final');
    const localFinal = localText !== undefined ? (JSON.parse(localText) as { height: number }) : undefined;
    print({
      chainId: g.chainId,
      genesisHash: g.hash,
      height: head.height,
      tipHash: head.hash,
      stateRoot: stateRoot(s),
      producer: tip?.parameters.header.producer ?? null,
      slot: head.slot,
      slotTime: new Date(slotTime(g, head.slot)).toISOString(),
      epoch: epochOfSlot(g, head.slot),
      // [FIN] this node's final block (its votes' record, or the chain's proof if higher) and the chain's own proof
      finalizedHeight: Math.max(s.meta.finalized.height, localFinal?.height ?? 0),
      finalizedProvenOnChainHeight: s.meta.finalized.height,
      rankingEpoch: s.meta.rankingEpoch,
      validators: s.meta.ranking.length,
      activeAuctions: s.meta.active.length,
      wallets: s.sections.wallets.size,
    });
  } finally {
    await store.close({ snapshot: false });
  }
  return 0;
}

async function verify(data: string): Promise<number> {
  const [{ verifyChain }, { chainDbDamage, chainDbPath, openChainLevel }, { listTables }, { createPoeTally }] = await Promise.all([
    import('../../poe-chain/store/verifyChain.js'),
    import('../../poe-chain/store/chainDataDir.js'),
    import('../../poe-chain/store/levelTableCheck.js'),
    import('../../poe-chain/core/poeStats.js'),
  ]);
  // what decided each epoch's election, from the blocks as they verify
  const poe = createPoeTally();
  const tables = await listTables(chainDbPath(data));
  const db = await openChainLevel(data);
  try {
    const problem = await chainDbDamage(data, tables);
    let r: Awaited<ReturnType<typeof verifyChain>>;
    try {
      r = await verifyChain(db, { onBlock: (applied, parent) => poe.add(parent, applied.block.parameters.header) });
    } catch (err) {
      // a read LevelDB itself refuses (a damaged table): named, never a stack
      const reason = problem ?? `unreadable: ${(err as Error).message}`;
      print({ ok: false, code: 'CORRUPT_DB', reason });
      process.stderr.write(`tmi chain verify: CORRUPT_DB the database is damaged (${reason})\n`);
      return 1;
    }
    if (r.ok && problem !== undefined) {
      print({ ok: false, height: r.height + 1, code: 'CORRUPT_DB', reason: problem, verifiedHeight: r.height });
      process.stderr.write(`tmi chain verify: CORRUPT_DB the database is damaged (${problem}); blocks re-validated up to height ${r.height}\n`);
      return 1;
    }
    if (r.ok) {
      const { records: _records, ...election } = poe.summary();
      print({ ...r, election });
      return 0;
    }
    print(r);
    process.stderr.write(`tmi chain verify: first bad block at height ${r.height}: ${r.code} ${r.reason}\n`);
    if (problem !== undefined) process.stderr.write(`tmi chain verify: CORRUPT_DB the database is damaged (${problem})\n`);
    return 1;
  } finally {
    await db.close();
  }
}

async function block(data: string, which: string | undefined): Promise<number> {
  const { openChainStoreAt } = await import('../../poe-chain/store/chainDataDir.js');
  if (which === undefined) return fail('usage: tmi chain block <height|hash> --data <dir>');
  const store = await openChainStoreAt(data);
  try {
    const b = /^[0-9]{1,12}$/.test(which) ? await store.blockAt(Number(which)) : await store.blockByHash(which);
    if (!b) return fail(`no block ${which}`);
    print(b);
    return 0;
  } finally {
    await store.close({ snapshot: false });
  }
}

export const chain: Command = {
  name: 'chain',
  help: `Usage: tmi chain <subcommand> [options]

  genesis --registry <hex> --aggregator <hex> --node <hex> [--chain-id id] [--genesis-time iso] [--out file]
          write a genesis file with the default parameters (edit it before init)
  init    --genesis <file> --data <dir>   create the chain database <dir>/chain
  status  --data <dir>                    height, tip hash, state root, producer of the tip, epoch
  verify  --data <dir>                    re-validate every stored block from genesis under every
                                          consensus rule; exit 1 and report the first bad height when
                                          one does not check out; on success also "election": epochs
                                          with validators, decided by energy or by the seed, the
                                          longest gap between blocks in slots
  block   <height|hash> --data <dir>      print a stored block
  run     --genesis <file> --data <dir> --key <keyfile> --broker <url> --meter-id <id> [--produce] [--serve-sync]
          run a chain node until SIGTERM (all options: poe-chain/node/README.md)

Genesis file (JSON; see poe-chain/README.md for every field):
  {"chainId":"tmi-local","genesisTime":"2026-11-21T00:00:00.000Z",
   "registryKey":"<hex>","aggregatorKey":"<hex>","aggregatorNodeKey":"<hex>",
   "slotMs":100,"patience":20,"intervalMs":900000,"blockRewardMc":1000,"penaltyMcPerKWh":5000,
   "voidGraceMs":120000,"settleGraceMs":1800000,"txWindowMs":3600000,"txFutureMs":120000,
   "maxTxsPerBlock":5000,"finalityDepth":32,"readingRetentionIntervals":16,
   "auctionRetentionIntervals":96,"balances":[{"address":"<hex>","millicents":0}]}

The database is opened exclusively: stop a node before running status/verify on its data.

${formatOptions(spec)}
`,
  async run(argv) {
    if (argv[0] === 'run') return (await import('../../poe-chain/node/runNodeCommand.js')).runNodeCommand(argv.slice(1)); // own options: tmi chain run --help
    let parsed;
    try {
      parsed = parseCommandLine(argv, spec);
    } catch (err) {
      return fail((err as Error).message);
    }
    const { values, positionals } = parsed;
    const [sub, ...rest] = positionals;
    const data = String(values.data);
    const [{ chainDbPath }, { ChainStoreError }] = await Promise.all([import('../../poe-chain/store/chainDataDir.js'), import('../../poe-chain/store/chainStoreError.js')]);
    try {
      switch (sub) {
        case 'genesis':
          return await genesisTemplate(values);
        case 'init':
          return await init(values);
        case 'status':
          return await status(data);
        case 'verify':
          if (!existsSync(chainDbPath(data))) return fail(`no chain database at ${chainDbPath(data)}`);
          return await verify(data);
        case 'block':
          return await block(data, rest[0]);
        default:
          return fail(`expected a subcommand: genesis, init, status, verify, block (see tmi chain --help)`);
      }
    } catch (err) {
      if (err instanceof ChainStoreError && err.code === 'NO_CHAIN') return fail(`no chain in ${chainDbPath(data)}: run tmi chain init first`);
      return fail(err instanceof Error ? err.message : String(err));
    }
  },
};
