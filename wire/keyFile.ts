/** Reading and writing key files on disk (mode 0600). */
import { readFile, writeFile, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fromKeyFile, generateKeyPair, toKeyFile, type KeyPair } from './keys.js';

export async function writeKeyFile(path: string, kp: KeyPair, label?: string, overwrite = false): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify(toKeyFile(kp, label), null, 2) + '\n', {
    mode: 0o600,
    flag: overwrite ? 'w' : 'wx',
  });
}

export async function readKeyFile(path: string): Promise<KeyPair> {
  const st = await stat(path);
  if ((st.mode & 0o077) !== 0) {
    throw new Error(`KEY_FILE_PERMISSIONS path=${path} mode=${(st.mode & 0o777).toString(8)} expected=600`);
  }
  return fromKeyFile(JSON.parse(await readFile(path, 'utf8')));
}

/** Loads the key at path, creating it (0600) if it does not exist. */
export async function loadOrCreateKeyFile(path: string, label?: string): Promise<KeyPair> {
  try {
    return await readKeyFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const kp = generateKeyPair();
    await writeKeyFile(path, kp, label);
    return kp;
  }
}
