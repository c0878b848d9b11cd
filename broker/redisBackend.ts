/**
 * Redis backend for aedes, so that several broker processes act as one broker:
 *   - mq (mqemitter-redis): every publish accepted by one broker is delivered by all of
 *     them, so a subscriber on broker B gets what a client of broker A published;
 *   - persistence (aedes-persistence-redis): subscriptions, persistent sessions
 *     (clean: false), QoS 1 messages queued for offline clients and retained messages
 *     live in Redis, so a client that reconnects to another broker keeps its session and
 *     receives what was queued while it was away.
 *
 * The three Redis connections (publish, subscribe, persistence) are made here, so that a
 * broker that cannot reach Redis fails at start with `REDIS_UNAVAILABLE` instead of
 * waiting forever, and so that close() ends them all.
 */
import { createRequire } from 'node:module';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisBackendOptions {
  /** redis://[user:password@]host:port[/db] or rediss:// (TLS) */
  url: string;
  /** give up at start when Redis does not answer within this many ms (default 10 s) */
  connectTimeoutMs?: number;
}

export interface RedisBackend {
  /** for Aedes.createBroker({ mq }) */
  mq: unknown;
  /** for Aedes.createBroker({ persistence }) */
  persistence: unknown;
  /** ends the persistence connection; aedes.close() has already ended mq's two */
  close(): Promise<void>;
}

export class RedisBackendError extends Error {
  constructor(readonly code: 'BAD_REDIS_URL' | 'REDIS_UNAVAILABLE', readonly context: Record<string, string | number>) {
    super([code, ...Object.entries(context).map(([k, v]) => `${k}=${v}`)].join(' '));
  }
}

type RedisCtor = new (options: RedisOptions) => RedisClient;
type MqFactory = (o: { subConn: RedisClient; pubConn: RedisClient }) => { state: NodeJS.EventEmitter; close(cb: () => void): void };
interface RedisPersistence {
  addSubscriptions(client: object, subs: object[]): Promise<unknown>;
  destroy(): Promise<void>;
}
type PersistenceFactory = (o: { conn: RedisClient; maxSessionDelivery?: number }) => RedisPersistence;

const require = createRequire(import.meta.url);
const mqemitterRedis = require('mqemitter-redis') as MqFactory;
const persistenceRedis = require('aedes-persistence-redis') as PersistenceFactory;
// the ioredis that mqemitter-redis and aedes-persistence-redis are built on
const Redis = createRequire(require.resolve('mqemitter-redis'))('ioredis') as RedisCtor;

/**
 * aedes 1.2 calls `addSubscriptions(client, packet.subscriptions)` once per topic of a
 * SUBSCRIBE, in parallel, with the same array (aedes issue #458). The Redis persistence
 * then waits for its own broadcast keyed by (client, first topic): the second wait
 * replaces the first, which never resolves, and a persistent client subscribing to two
 * topics in one packet never gets its SUBACK (reproduced in test/redisBrokers.e2e.test.ts).
 * Concurrent calls with the same array share one store, so the subscriptions are stored
 * and broadcast once.
 */
function storeEachSubscribeOnce(p: RedisPersistence): void {
  const inFlight = new WeakMap<object[], Promise<unknown>>();
  const add = p.addSubscriptions.bind(p);
  p.addSubscriptions = (client, subs) => {
    let pending = inFlight.get(subs);
    if (!pending) {
      pending = add(client, subs).finally(() => inFlight.delete(subs));
      inFlight.set(subs, pending);
    }
    return pending;
  };
}

/** Redis options from a redis:// or rediss:// URL (password never logged). */
export function redisOptionsFromUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisBackendError('BAD_REDIS_URL', { reason: 'not a URL' });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new RedisBackendError('BAD_REDIS_URL', { reason: `protocol ${u.protocol} is not redis: or rediss:` });
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0 || db > 1023) throw new RedisBackendError('BAD_REDIS_URL', { reason: `database ${u.pathname.slice(1)} is not an integer` });
  const port = u.port === '' ? 6379 : Number(u.port);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The URL without its credentials, for logs and errors. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(bad url)';
  }
}

function waitReady(conn: RedisClient, timeoutMs: number): Promise<void> {
  if (conn.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let last = 'no answer';
    const onError = (err: Error) => (last = err.message);
    const t = setTimeout(() => {
      conn.off('ready', onReady);
      conn.off('error', onError);
      reject(new Error(last));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(t);
      conn.off('error', onError);
      resolve();
    };
    conn.once('ready', onReady);
    conn.on('error', onError);
  });
}

export async function createRedisBackend(o: RedisBackendOptions, log?: Logger): Promise<RedisBackend> {
  const options = redisOptionsFromUrl(o.url);
  const where = redactRedisUrl(o.url);
  const timeoutMs = o.connectTimeoutMs ?? 10_000;
  const conns = [0, 1, 2].map(() => new Redis({ ...options, enableAutoPipelining: true, connectTimeout: Math.min(timeoutMs, 10_000) }));
  // ioredis reconnects by itself after a start; errors are logged, never thrown
  let lastLogged = 0;
  for (const c of conns) {
    c.on('error', (err: Error) => {
      const t = Date.now();
      if (t - lastLogged < 5000) return;
      lastLogged = t;
      log?.warn({ redis: where, err: err.message }, 'redis connection error');
    });
  }
  try {
    await Promise.all(conns.map((c) => waitReady(c, timeoutMs)));
  } catch (err) {
    for (const c of conns) c.disconnect();
    throw new RedisBackendError('REDIS_UNAVAILABLE', { url: where, reason: (err as Error).message || 'no answer', timeoutMs });
  }
  const [pubConn, subConn, conn] = conns as [RedisClient, RedisClient, RedisClient];
  const mq = mqemitterRedis({ pubConn, subConn });
  mq.state.on('error', (err: Error) => log?.warn({ redis: where, err: err.message }, 'redis message queue error'));
  const persistence = persistenceRedis({ conn });
  storeEachSubscribeOnce(persistence);
  log?.info({ redis: where }, 'redis backend connected');
  let closed = false;
  return {
    mq,
    persistence,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await persistence.destroy();
      } catch {
        conn.disconnect();
      }
    },
  };
}
