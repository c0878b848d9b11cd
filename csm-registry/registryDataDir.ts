/**
 * The registry's data directory (used by `tmi registry`):
 *
 *   <data>/registry-key.json   Ed25519 key file of the registry (0600, created if absent)
 *   <data>/admin-token         admin bearer token (0600, created if absent and not given)
 *   <data>/directory-token     the broker's read-only directory token (0600, created if absent
 *                              and not given) [ROLES]
 *   <data>/db/                 level database (LevelDB)
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { loadOrCreateKeyFile } from '../wire/keyFile.js';
import type { KeyPair } from '../wire/keys.js';
import type { RegistryDb } from './registryStore.js';
import { checkLevelTables, listTables } from '../poe-chain/store/levelTableCheck.js';

export interface RegistryDataDir {
  db: RegistryDb;
  registryKey: KeyPair;
  adminToken: string;
  /** the admin-token file, or undefined when the token came from the caller */
  adminTokenFile: string | undefined;
  /** [ROLES] the broker's read-only token */
  directoryToken: string;
  /** the directory-token file, or undefined when the token came from the caller */
  directoryTokenFile: string | undefined;
  keyFile: string;
  dbDir: string;
}

export const MIN_ADMIN_TOKEN_LENGTH = 16;

export async function openRegistryDataDir(dir: string, o: { adminToken?: string; directoryToken?: string } = {}): Promise<RegistryDataDir> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyFile = join(dir, 'registry-key.json');
  const registryKey = await loadOrCreateKeyFile(keyFile, 'tmi registry');
  const token = async (given: string | undefined, file: string, what: string): Promise<[string, string | undefined]> => {
    if (given === undefined) return [await loadOrCreateToken(join(dir, file)), join(dir, file)];
    if (given.length < MIN_ADMIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(given)) {
      throw new Error(`BAD_${what}_TOKEN reason=needs at least ${MIN_ADMIN_TOKEN_LENGTH} printable characters, no spaces`);
    }
    return [given, undefined];
  };
  const [adminToken, adminTokenFile] = await token(o.adminToken, 'admin-token', 'ADMIN');
  const [directoryToken, directoryTokenFile] = await token(o.directoryToken, 'directory-token', 'DIRECTORY');
  if (directoryToken === adminToken) throw new Error('BAD_DIRECTORY_TOKEN reason=the directory token must differ from the admin token');
  const dbDir = join(dir, 'db');
  const existed = existsSync(join(dbDir, 'CURRENT'));
  const tables = await listTables(dbDir);
  const db: RegistryDb = new Level<string, string>(dbDir);
  try {
    await db.open();
  } catch (err) {
    const reason = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    const hint = /lock/i.test(reason) ? ' hint=another registry may be running on this data directory' : '';
    throw new Error(`DB_OPEN_FAILED dir=${dbDir} reason=${reason}${hint}`);
  }
  try {
    await checkRegistryDb(db, dbDir, existed, tables);
  } catch (err) {
    await db.close();
    throw err;
  }
  return { db, registryKey, adminToken, adminTokenFile, directoryToken, directoryTokenFile, keyFile, dbDir };
}

/** Outside every sublevel (their keys start with '!'): written once, when the database is new. */
const MARKER_KEY = 'tmi-registry-db';

/**
 * [REG-DB] A damaged database is refused at start, never served: LevelDB repairs a
 * damaged write-ahead log by dropping records and says so only in its LOG file (read
 * here, right after the open); it verifies table checksums only when asked, so every
 * table block is checked here (levelTableCheck.ts); and an existing database that has
 * lost all its records (an emptied log) must not be served as an empty registry, in
 * which every meter would be unknown.
 */
async function checkRegistryDb(db: RegistryDb, dbDir: string, existed: boolean, tablesBefore: readonly string[]): Promise<void> {
  const fail = (reason: string) => new Error(`DB_CORRUPT dir=${dbDir} reason=${reason} hint=restore the registry database from a backup`);
  let log = '';
  try {
    log = await readFile(join(dbDir, 'LOG'), 'utf8');
  } catch {
    /* no LOG: nothing was repaired */
  }
  const dropped = log.split('\n').filter((l) => /Corruption|dropping \d+ bytes/.test(l));
  if (dropped.length) throw fail(`leveldb dropped damaged records at open (${dropped.map((l) => l.replace(/^\S+ \S+ /, '').replace(/\/\S*\//g, '').replace('(ignoring error) ', '')).join('; ')})`);
  const bad = await checkLevelTables(dbDir, tablesBefore);
  if (bad.length) throw fail(`damaged table file: ${bad.slice(0, 3).join('; ')}${bad.length > 3 ? ` (+${bad.length - 3} more)` : ''}`);
  if ((await db.get(MARKER_KEY)) !== undefined) return;
  const empty = (await db.keys({ limit: 1 }).all()).length === 0;
  if (existed && empty) throw fail('the existing database has no records left (its write-ahead log was emptied?)');
  await db.put(MARKER_KEY, JSON.stringify({ format: 'tmi-registry-db-v1' }));
}

/** The admin token's file: see loadOrCreateToken. */
export const loadOrCreateAdminToken = (path: string): Promise<string> => loadOrCreateToken(path);

/** Reads a bearer-token file (must be 0600), or writes a new 256-bit token there. */
export async function loadOrCreateToken(path: string): Promise<string> {
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) {
      throw new Error(`TOKEN_PERMISSIONS path=${path} mode=${(st.mode & 0o777).toString(8)} expected=600`);
    }
    const token = (await readFile(path, 'utf8')).trim();
    if (token.length < MIN_ADMIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) throw new Error(`BAD_TOKEN path=${path}`);
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const token = randomBytes(32).toString('base64url');
    await writeFile(path, token + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600); // in case of a permissive umask on an odd filesystem
    return token;
  }
}
