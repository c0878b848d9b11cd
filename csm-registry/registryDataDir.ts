/**
 * The registry's data directory (used by `tmi registry`):
 *
 *   <data>/registry-key.json   Ed25519 key file of the registry (0600, created if absent)
 *   <data>/admin-token         admin bearer token (0600, created if absent and not given)
 *   <data>/db/                 level database (LevelDB)
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { loadOrCreateKeyFile } from '../wire/keyFile.js';
import type { KeyPair } from '../wire/keys.js';
import type { RegistryDb } from './registryStore.js';

export interface RegistryDataDir {
  db: RegistryDb;
  registryKey: KeyPair;
  adminToken: string;
  /** the admin-token file, or undefined when the token came from the caller */
  adminTokenFile: string | undefined;
  keyFile: string;
  dbDir: string;
}

export const MIN_ADMIN_TOKEN_LENGTH = 16;

export async function openRegistryDataDir(dir: string, o: { adminToken?: string } = {}): Promise<RegistryDataDir> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyFile = join(dir, 'registry-key.json');
  const registryKey = await loadOrCreateKeyFile(keyFile, 'tmi registry');
  let adminToken: string;
  let adminTokenFile: string | undefined;
  if (o.adminToken !== undefined) {
    if (o.adminToken.length < MIN_ADMIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(o.adminToken)) {
      throw new Error(`BAD_ADMIN_TOKEN reason=needs at least ${MIN_ADMIN_TOKEN_LENGTH} printable characters, no spaces`);
    }
    adminToken = o.adminToken;
  } else {
    adminTokenFile = join(dir, 'admin-token');
    adminToken = await loadOrCreateAdminToken(adminTokenFile);
  }
  const dbDir = join(dir, 'db');
  const db: RegistryDb = new Level<string, string>(dbDir);
  try {
    await db.open();
  } catch (err) {
    const reason = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    const hint = /lock/i.test(reason) ? ' hint=another registry may be running on this data directory' : '';
    throw new Error(`DB_OPEN_FAILED dir=${dbDir} reason=${reason}${hint}`);
  }
  return { db, registryKey, adminToken, adminTokenFile, keyFile, dbDir };
}

/** Reads the token file (must be 0600), or writes a new 256-bit token there. */
export async function loadOrCreateAdminToken(path: string): Promise<string> {
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) {
      throw new Error(`ADMIN_TOKEN_PERMISSIONS path=${path} mode=${(st.mode & 0o777).toString(8)} expected=600`);
    }
    const token = (await readFile(path, 'utf8')).trim();
    if (token.length < MIN_ADMIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) throw new Error(`BAD_ADMIN_TOKEN path=${path}`);
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const token = randomBytes(32).toString('base64url');
    await writeFile(path, token + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600); // in case of a permissive umask on an odd filesystem
    return token;
  }
}
