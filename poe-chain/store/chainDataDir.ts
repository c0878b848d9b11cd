/** Where a node keeps its chain: <data dir>/chain is the level database. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { ChainStoreError } from './chainStoreError.js';
import { checkLevelTables, listTables } from './levelTableCheck.js';
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

/**
 * Opens the LevelDB under dataDir and tells apart why it cannot be: `LOCKED` (another
 * process), `NO_CHAIN` (no database there), `CORRUPT_DB` (LevelDB's own reason, e.g. a
 * damaged MANIFEST or CURRENT), instead of LevelDB's bare "Database failed to open".
 */
export async function openChainLevel(dataDir: string, o: { createIfMissing?: boolean } = {}): Promise<Level<string, string>> {
  const db = new Level<string, string>(chainDbPath(dataDir), { createIfMissing: o.createIfMissing ?? false });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') throw new ChainStoreError('LOCKED', { reason: 'the database is in use by another process' });
    if (!existsSync(join(chainDbPath(dataDir), 'CURRENT'))) {
      throw new ChainStoreError('NO_CHAIN', { reason: `cannot open ${chainDbPath(dataDir)}: ${cause?.code ?? (err as Error).message}` });
    }
    throw new ChainStoreError('CORRUPT_DB', { reason: `leveldb cannot open ${chainDbPath(dataDir)}: ${cause?.message ?? (err as Error).message}` });
  }
  return db;
}

/**
 * Damage LevelDB does not report by itself (it verifies table checksums only when asked,
 * and repairs a damaged log silently): records it dropped at open, and table blocks
 * whose checksum does not match (levelTableCheck.ts). `tablesBefore` = the table files
 * listed before the open. Undefined when the database looks sound.
 */
export async function chainDbDamage(dataDir: string, tablesBefore: readonly string[]): Promise<string | undefined> {
  const problem = await levelRecoveryProblem(dataDir);
  if (problem !== undefined) return `leveldb dropped damaged records at open (the newest blocks may be lost): ${problem}`;
  const bad = await checkLevelTables(chainDbPath(dataDir), tablesBefore);
  if (bad.length) return `damaged table file: ${bad.slice(0, 3).join('; ')}${bad.length > 3 ? ` (+${bad.length - 3} more)` : ''}`;
  return undefined;
}

/**
 * Opens the chain under dataDir, refusing (CORRUPT_DB) when LevelDB had to drop damaged
 * records, when a table block fails its checksum, or when an existing database has lost
 * its records (an emptied write-ahead log must not turn into a new chain at height 0).
 */
export async function openChainStoreAt(dataDir: string, opts: ChainStoreOptions & { createIfMissing?: boolean; checkTables?: boolean } = {}): Promise<ChainStore> {
  const existed = existsSync(join(chainDbPath(dataDir), 'CURRENT'));
  const tables = await listTables(chainDbPath(dataDir));
  const db = await openChainLevel(dataDir, { createIfMissing: opts.createIfMissing ?? false });
  try {
    const damage = opts.checkTables === false ? await levelRecoveryProblem(dataDir) : await chainDbDamage(dataDir, tables);
    if (damage !== undefined) throw new ChainStoreError('CORRUPT_DB', { reason: damage });
    if (existed && (await db.get('meta')) === undefined) {
      throw new ChainStoreError('CORRUPT_DB', { reason: 'existing database without its records (meta missing): restore it, or remove it to start a new chain' });
    }
    return await openChainStore(db, opts);
  } catch (err) {
    await db.close();
    throw err;
  }
}
