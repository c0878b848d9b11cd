/**
 * [TOKEN] Where the broker remembers the login tokens it has accepted, so that a token is
 * refused the second time anywhere — on another broker of the cluster and after a restart.
 * A token is acceptable while |ts − now| ≤ skew (wire/loginToken.ts), so it is remembered
 * until ts + skew: after that the clock check refuses it by itself.
 *
 *   memory  this process only (tests, benchmarks): `createMemoryTokenStore()`
 *   file    the broker's data directory (one broker, or brokers without Redis):
 *           an append-only log `login-tokens.log` of "<expiresAtMs> <key>" lines, written
 *           (and fdatasync'd, in batches) before the login is accepted; read back at start;
 *           compacted when most of its lines have expired
 *   redis   shared by every broker of a Redis cluster: `SET tmi:login:<key> 1 NX PX <ms>`,
 *           atomic, so two brokers racing on one token accept it once
 *
 * The key is what the token's signature covers — meter id, version, ts, nonce — never the
 * token's text (a re-encoded copy of one signature is the same token).
 */
import { createRequire } from 'node:module';
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { redactRedisUrl, redisOptionsFromUrl, RedisBackendError } from './redisBackend.js';

export interface LoginTokenStore {
  /**
   * true if the token was not seen before (it is now remembered until expiresAtMs), false
   * if it was; rejects when the store cannot answer (the login is then refused)
   */
  remember(key: string, expiresAtMs: number, now: number): Promise<boolean>;
  readonly kind: 'memory' | 'file' | 'redis';
  close(): Promise<void>;
}

/** The replay key of a token: meter id and the signed fields, without the signature. */
export function tokenKey(meterId: string, token: string): string {
  return `${meterId}:${token.split('.').slice(0, 3).join('.')}`;
}

export function createMemoryTokenStore(): LoginTokenStore {
  const seen = new Map<string, number>();
  let lastSweep = 0;
  return {
    kind: 'memory',
    async remember(key, expiresAtMs, now) {
      if (now - lastSweep > 10_000 || seen.size > 100_000) {
        for (const [k, exp] of seen) if (exp < now) seen.delete(k);
        lastSweep = now;
      }
      const exp = seen.get(key);
      if (exp !== undefined && exp >= now) return false;
      seen.set(key, expiresAtMs);
      return true;
    },
    async close() {},
  };
}

const KEY_RE = /^[\x21-\x7e]{1,200}$/;

/** The file store; `dir` is the broker's data directory (created 0700 if absent). */
export async function createFileTokenStore(dir: string, o: { now?: () => number; sync?: boolean } = {}): Promise<LoginTokenStore> {
  const now = o.now ?? Date.now;
  const sync = o.sync ?? true;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'login-tokens.log');
  const seen = new Map<string, number>();
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const t0 = now();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue; // a torn last line from a crash: its login was never accepted
    const exp = Number(line.slice(0, sp));
    const key = line.slice(sp + 1);
    if (Number.isSafeInteger(exp) && exp >= t0 && KEY_RE.test(key)) seen.set(key, exp);
  }
  let fh: FileHandle = await compactTo(path, seen);
  let lines = seen.size;
  let pending: string[] = [];
  let waiters: { key: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  let flushing: Promise<void> | undefined;

  async function compactTo(file: string, live: Map<string, number>): Promise<FileHandle> {
    const tmp = file + '.tmp';
    const h = await open(tmp, 'w', 0o600);
    await h.writeFile([...live].map(([k, e]) => `${e} ${k}\n`).join(''));
    await h.datasync();
    await h.close();
    await rename(tmp, file);
    return open(file, 'a', 0o600);
  }

  // `flushing` is cleared in the loop's own finally, in the same tick as its last check of
  // `pending`: a remember() after it starts a new loop, none is left waiting
  async function flushLoop(): Promise<void> {
    try {
      while (pending.length > 0) await flushBatch();
    } finally {
      flushing = undefined;
    }
  }

  async function flushBatch(): Promise<void> {
    const batch = pending.join('');
    const done = waiters;
    pending = [];
    waiters = [];
    try {
      await fh.appendFile(batch);
      if (sync) await fh.datasync();
      lines += done.length;
      for (const w of done) w.resolve();
    } catch (err) {
      // not on disk: the login is refused, so the token is not used up
      for (const w of done) {
        seen.delete(w.key);
        w.reject(err as Error);
      }
    }
    if (lines > 20_000 && lines > 4 * seen.size) {
      const t = now();
      for (const [k, e] of seen) if (e < t) seen.delete(k);
      const old = fh;
      fh = await compactTo(path, seen);
      await old.close();
      lines = seen.size;
    }
  }

  return {
    kind: 'file',
    remember(key, expiresAtMs, t) {
      if (!KEY_RE.test(key)) return Promise.reject(new Error('BAD_TOKEN_KEY'));
      const exp = seen.get(key);
      if (exp !== undefined && exp >= t) return Promise.resolve(false);
      seen.set(key, expiresAtMs);
      if (seen.size > 200_000) for (const [k, e] of seen) if (e < t) seen.delete(k);
      return new Promise<boolean>((resolve, reject) => {
        pending.push(`${expiresAtMs} ${key}\n`);
        waiters.push({ key, resolve: () => resolve(true), reject });
        flushing ??= flushLoop();
      });
    },
    async close() {
      while (flushing) await flushing;
      await fh.close();
    },
  };
}

type RedisCtor = new (options: RedisOptions) => RedisClient;

/** The Redis store: one extra connection of the broker. */
export async function createRedisTokenStore(o: { url: string; connectTimeoutMs?: number }): Promise<LoginTokenStore> {
  const require = createRequire(import.meta.url);
  const Redis = createRequire(require.resolve('mqemitter-redis'))('ioredis') as RedisCtor;
  const conn = new Redis({ ...redisOptionsFromUrl(o.url), lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: o.connectTimeoutMs ?? 10_000, enableOfflineQueue: true });
  conn.on('error', () => {}); // answered per command (the login is refused); ioredis reconnects
  try {
    await conn.connect();
  } catch (err) {
    conn.disconnect();
    throw new RedisBackendError('REDIS_UNAVAILABLE', { url: redactRedisUrl(o.url), reason: (err as Error).message || 'no answer' });
  }
  return {
    kind: 'redis',
    async remember(key, expiresAtMs, now) {
      const ms = Math.max(1, Math.ceil(expiresAtMs - now));
      const r = await conn.set(`tmi:login:${key}`, '1', 'PX', ms, 'NX');
      return r === 'OK';
    },
    async close() {
      await conn.quit().catch(() => conn.disconnect());
    },
  };
}
