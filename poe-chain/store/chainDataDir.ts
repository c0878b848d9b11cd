/** Where a node keeps its chain: <data dir>/chain is the level database. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { ChainStoreError } from './chainStoreError.js';
import { openChainStore, type ChainDb, type ChainStore, type ChainStoreOptions } from './openChainStore.js';

export function chainDbPath(dataDir: string): string {
  return join(dataDir, 'chain');
}

/** A Level database (string keys and values) for the chain under dataDir. */
export function chainLevel(dataDir: string, o: { createIfMissing?: boolean } = {}): ChainDb {
  return new Level<string, string>(chainDbPath(dataDir), { createIfMissing: o.createIfMissing ?? false });
}

/**
 * LevelDB repairs a damaged write-ahead log at open by dropping the damaged records (and
 * what follows them in the same block) and says so only in its LOG file, which it rotates
 * at the next open. This reads that LOG right after an open and returns the complaint,
 * if any, so that the damage is reported instead of silently losing the newest blocks.
 */
export async function levelRecoveryProblem(dataDir: string): Promise<string | undefined> {
  let log: string;
  try {
    log = await readFile(join(chainDbPath(dataDir), 'LOG'), 'utf8');
  } catch {
    return undefined;
  }
  const bad = log.split('\n').filter((l) => /Corruption|dropping \d+ bytes/.test(l));
  return bad.length ? bad.map((l) => l.replace(/^\S+ \S+ /, '').replace(/\/\S*\//g, '')).join('; ') : undefined;
}

/** Opens the chain under dataDir, refusing (CORRUPT_DB) when LevelDB had to drop damaged records. */
export async function openChainStoreAt(dataDir: string, opts: ChainStoreOptions & { createIfMissing?: boolean } = {}): Promise<ChainStore> {
  const db = chainLevel(dataDir, { createIfMissing: opts.createIfMissing ?? false });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') throw new ChainStoreError('LOCKED', { reason: 'the database is in use by another process' });
    throw new ChainStoreError('NO_CHAIN', { reason: `cannot open ${chainDbPath(dataDir)}: ${cause?.code ?? (err as Error).message}` });
  }
  const problem = await levelRecoveryProblem(dataDir);
  if (problem !== undefined) {
    await db.close();
    throw new ChainStoreError('CORRUPT_DB', { reason: `leveldb dropped damaged records at open (the newest blocks may be lost): ${problem}` });
  }
  try {
    return await openChainStore(db, opts);
  } catch (err) {
    await db.close();
    throw err;
  }
}
