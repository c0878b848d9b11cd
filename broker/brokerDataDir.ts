/**
 * The broker's data directory (`tmi broker --data`, `<data>/broker/` under `tmi up`):
 *
 *   <dir>/broker-key.json    [BROKER-ID] the Ed25519 key that signs the broker's error
 *                            messages (0600, created if absent, the same across restarts:
 *                            HEMs pin its address, served by the registry at /v1/broker-key)
 *   <dir>/login-tokens.log   [TOKEN] accepted login tokens, until they expire
 *                            (loginTokenStore.ts; not used with Redis)
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadOrCreateKeyFile } from '../wire/keyFile.js';
import type { KeyPair } from '../wire/keys.js';

export interface BrokerDataDir {
  dir: string;
  key: KeyPair;
  keyFile: string;
}

/** Opens (creating) the directory; `keyFile` overrides where the key is (e.g. one key shared by a cluster). */
export async function openBrokerDataDir(dir: string, o: { keyFile?: string } = {}): Promise<BrokerDataDir> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyFile = o.keyFile ?? join(dir, 'broker-key.json');
  const key = await loadOrCreateKeyFile(keyFile, 'tmi broker');
  return { dir, key, keyFile };
}
