/**
 * The TMI MQTT broker (DESIGN §3, §4): aedes with
 *   - login by signed token against the meter directory (username = meter id = client id),
 *   - revocation feed polled every ≤ 2 s; revoked meters are disconnected,
 *   - topic ACLs per role, retained messages only on auctions/{id}[/result],
 *   - edge validation of every tmi/v1/ publish (edgeValidator.ts); a rejected publish is
 *     acknowledged per its QoS but not forwarded [MQTT-3.3.5-2], and the sender gets a
 *     broker-signed `error` on tmi/v1/clients/{meterId}/errors,
 *   - a packet size limit at the transport, a per-client token bucket,
 *   - listeners: MQTT/TCP, MQTT/TLS, MQTT over WebSocket (path /mqtt),
 *   - Prometheus metrics and pino logs.
 */
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { availableParallelism } from 'node:os';
import type { Duplex } from 'node:stream';
import { Aedes, type AedesOptions, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { MAX_ANY_MESSAGE_BYTES } from '../schemas/envelope.js';
import { createCodec, encode, signEnvelope, type CodecOptions } from '../wire/codec.js';
import { generateKeyPair, type KeyPair } from '../wire/keys.js';
import { checkLoginToken } from '../wire/loginToken.js';
import { createMemoryTokenStore, createRedisTokenStore, tokenKey, type LoginTokenStore } from './loginTokenStore.js';
import type { Rejection } from './brokerErrors.js';
import { clientErrorReason, createBrokerMetrics, portOf, serveMetrics } from './brokerMetrics.js';
import { DirectoryCache, type DirectoryCacheOptions } from './directoryCache.js';
import { createEdgeValidator, reqIdOf, type Login } from './edgeValidator.js';
import type { MeterDirectory, Role } from './meterDirectory.js';
import { ConnectionGuard } from './connectionGuard.js';
import { guardMqRecursion } from './mqStackGuard.js';
import { indexOutgoingQueues } from './indexedOutgoing.js';
import { createServiceLagHold } from './serviceLagHold.js';
import { tolerateAckedInQueue } from './sessionQueueRace.js';
import { orderPublishes } from './orderedPublish.js';
import { createStuckPublishWatch } from './stuckPublishWatch.js';
import { TokenBucket, type RateLimit } from './tokenBucket.js';
import { canSubscribe } from './topicAcl.js';
import { createVerifyPool } from './verifyPool.js';
import { createRedisBackend, type RedisBackend, type RedisBackendOptions } from './redisBackend.js';


/** roles of the platform's own subscribers (see maxServiceBufferedBytes) */
const SERVICE_ROLES: ReadonlySet<Role> = new Set<Role>(['aggregator', 'node', 'analytics']);
/** [SESSION-CAP] roles whose session queues are not limited: the operator's own */
const UNLIMITED_QUEUE_ROLES: ReadonlySet<Role> = new Set<Role>([...SERVICE_ROLES, 'admin']);
/** [NO-ECHO] topics whose messages are not sent back to their publisher */
const CHAIN_TOPIC_PREFIX = 'tmi/v1/chain/';
export interface ListenerOptions {
  port: number;
  host?: string;
}

export interface TmiBrokerOptions {
  directory: MeterDirectory;
  /** cache in front of the directory (TTL, negative TTL, size) */
  cache?: DirectoryCacheOptions;
  /** codec settings for edge validation (skewMs, maxBytes) */
  codecOptions?: Pick<CodecOptions, 'skewMs' | 'maxBytes'>;
  listeners: {
    mqtt?: ListenerOptions;
    mqtts?: ListenerOptions & { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer };
    ws?: ListenerOptions & { path?: string };
  };
  metrics?: ListenerOptions;
  /** largest MQTT packet accepted after login, bytes (default: largest operation + 64 KiB) */
  maxPacketBytes?: number;
  /** largest packet before the login succeeds (default 16 KiB) */
  preAuthPacketBytes?: number;
  /** outgoing backlog per connection that closes it as a slow consumer (default 8 MiB) */
  maxBufferedBytes?: number;
  /**
   * the same for the platform's own services (roles aggregator, node, analytics), which
   * subscribe to every home's readings and bids: a burst of 10,000 readings is ~6 MB, so
   * they get room for several bursts while they catch up (default 64 MiB)
   */
  maxServiceBufferedBytes?: number;
  /**
   * [SESSION-CAP] what the broker holds for one client's persistent session until it is
   * acknowledged (messages, payload bytes), and for all such sessions together; the
   * platform's services (roles aggregator, node, analytics, admin) are not limited. A
   * message past a limit is not kept for that session (an online client still gets it
   * once). Default 10,000 messages and 8 MiB per session, 256 MiB together. In memory only:
   * with `redis` the queues are Redis lists and not limited here.
   */
  sessionQueue?: { messages?: number; bytes?: number; totalBytes?: number };
  /**
   * [BROKER-HOLD] hold the homes' QoS 1 publishes before forwarding (and so before their
   * PUBACK) while the largest queue of an online service session (roles aggregator, node,
   * analytics, admin) holds more than `holdAbove` payload bytes, until it holds fewer than
   * `resumeBelow` (publishHold.ts). Default 16 MiB / 8 MiB (a quarter and an eighth of
   * `maxServiceBufferedBytes`); false: never. In memory only (not with `redis`). A service
   * over the mark that has acknowledged nothing for `stuckAfterMs` (default 30 s) is closed
   * (SERVICE_STUCK): a stuck or hostile service login must not stop every home.
   */
  holdPublishers?: { holdAbove: number; resumeBelow: number; stuckAfterMs?: number } | false;
  /**
   * per-client token bucket; roles in exemptRoles are not limited (default aggregator, node, admin: the
   * operator's own services — the aggregator's chain node publishes blocks, votes and sync answers at
   * the chain's pace, and a publish refused here is dropped [RATE-NODE])
   */
  ratePerClient?: RateLimit & { exemptRoles?: Role[] };
  /** false turns edge validation off (ACL and retain rules stay); for benchmarks */
  validate?: boolean;
  /**
   * worker threads verifying signatures off the main thread (default: cores − 1, at
   * most 4; 0 = verify on the main thread)
   */
  verifyThreads?: number;
  /** the broker's signing key for error messages (default: a fresh key) */
  key?: KeyPair;
  /** revocation poll period, ms (default 2000) */
  revocationPollMs?: number;
  /** login token clock tolerance, ms (default 60 s) */
  loginSkewMs?: number;
  /**
   * [TOKEN] where accepted login tokens are remembered (loginTokenStore.ts); default: in
   * Redis with `redis`, else in memory. `tmi broker` and `tmi up` give a file store in the
   * broker's data directory when there is no Redis. The broker closes it.
   */
  loginTokens?: LoginTokenStore;
  /** QoS of the broker's error messages (default 0) */
  errorQos?: 0 | 1;
  /** extra aedes options (concurrency, drainTimeout, …) */
  aedes?: Pick<AedesOptions, 'concurrency' | 'drainTimeout' | 'connectTimeout' | 'keepaliveLimit' | 'heartbeatInterval' | 'queueLimit'>;
  /**
   * share deliveries, subscriptions, persistent sessions and retained messages with
   * other brokers through Redis (redisBackend.ts); default: in memory, this process only
   */
  redis?: RedisBackendOptions;
  log?: Logger;
  now?: () => number;
}

export interface TmiBroker {
  ports: { mqtt?: number; mqtts?: number; ws?: number; metrics?: number };
  /** address (hex public key) of the key that signs the broker's error messages */
  address: string;
  aedes: Aedes;
  metrics: Registry;
  cache: DirectoryCache;
  /** polls the revocation feed now; resolves to the number of new revocations */
  pollRevocations(): Promise<number>;
  close(): Promise<void>;
}

/** Fields the broker keeps per connection. */
interface Session {
  login: Login;
  bucket?: TokenBucket;
  lastRateErrorAt: number;
  /** [HOLD-PAUSE] this client's publishes waiting in the hold */
  held: number;
}

type AuthDone = (error: (Error & { returnCode: number }) | null, success: boolean | null) => void;
type PublishFn = (packet: PublishPacket, client: Client | null, done: (err?: Error | null) => void) => void;

const noop = () => {};

export async function createTmiBroker(opts: TmiBrokerOptions): Promise<TmiBroker> {
  const now = opts.now ?? Date.now;
  const log = (opts.log ?? pino({ level: 'silent' })).child({ module: 'broker' });
  const key = opts.key ?? generateKeyPair();
  const maxPacketBytes = opts.maxPacketBytes ?? MAX_ANY_MESSAGE_BYTES + 64 * 1024;
  const preAuthPacketBytes = opts.preAuthPacketBytes ?? 16 * 1024;
  const maxBufferedBytes = opts.maxBufferedBytes ?? 8 * 1024 * 1024;
  const maxServiceBufferedBytes = opts.maxServiceBufferedBytes ?? 64 * 1024 * 1024;
  const maxPayloadBytes = Math.min(opts.codecOptions?.maxBytes ?? MAX_ANY_MESSAGE_BYTES, maxPacketBytes);
  const pollMs = opts.revocationPollMs ?? 2000;
  const loginSkewMs = opts.loginSkewMs ?? 60_000;
  const errorQos = opts.errorQos ?? 0;
  const rate = opts.ratePerClient;
  const rateExempt = new Set<Role>(rate?.exemptRoles ?? ['aggregator', 'node', 'admin']);

  const cache = new DirectoryCache(opts.directory, { now, ...opts.cache });
  const sessions = new WeakMap<Client, Session>();
  const byMeter = new Map<string, { login: Login; clients: Set<Client> }>();
  const withWill = new WeakSet<Client>();
  const rejected = new WeakSet<object>();
  /** accepted QoS 1 publishes already forwarded before their PUBACK (below) */
  const forwarded = new WeakSet<object>();
  const backend: RedisBackend | undefined = opts.redis ? await createRedisBackend(opts.redis, log) : undefined;
  let tokens: LoginTokenStore;
  try {
    tokens = opts.loginTokens ?? (opts.redis ? await createRedisTokenStore(opts.redis) : createMemoryTokenStore());
  } catch (err) {
    await backend?.close();
    throw err;
  }

  const codec = createCodec({
    skewMs: opts.codecOptions?.skewMs ?? 120_000,
    maxBytes: maxPayloadBytes,
    now,
    // a meter id signs with its meter key: the login pinned it (EDGE-7 makes the id the login's own)
    resolveKey: (clientId) => byMeter.get(clientId)?.login.key ?? cache.peekMeter(clientId)?.key,
  });
  const validate = opts.validate ?? true;
  const threads = validate ? Math.max(0, Math.floor(opts.verifyThreads ?? Math.min(4, availableParallelism() - 1))) : 0;
  const pool = threads > 0
    ? createVerifyPool({ threads, maxBytes: maxPayloadBytes, onError: (err) => log.error({ err: err.message }, 'verify worker failed') })
    : undefined;
  const validator = createEdgeValidator({
    codec, cache, maxBytes: maxPayloadBytes, validate, ...(pool ? { verifier: (shard, job) => pool.verify(shard, job) } : {}),
  });

  const aedes = await Aedes.createBroker({ concurrency: 1000, ...opts.aedes, ...(backend ? { mq: backend.mq, persistence: backend.persistence } : {}) })
    .catch(async (err: unknown) => {
      await pool?.close();
      await tokens.close();
      await backend?.close();
      throw err;
    });
  guardMqRecursion((aedes as unknown as { mq: unknown }).mq);
  // [BROKER-QUEUE] in memory, a lagging subscriber's queue must not cost a scan per message;
  // [SESSION-CAP] nor grow without bound for a client that never acknowledges
  const sessionLimit = { messages: opts.sessionQueue?.messages ?? 10_000, bytes: opts.sessionQueue?.bytes ?? 8 * 1024 * 1024 };
  /** the role of every meter logged in since the start, for its session when it is offline */
  const roleOf = new Map<string, Role>();
  const dropLoggedAt = new Map<string, number>();
  /**
   * [NO-ECHO] a chain message (tmi/v1/chain/…) is not sent back to the client that published
   * it: a chain node subscribes to the chain topics it publishes on, and its own blocks
   * (hundreds of KB each under load) came back to it, filled its session queue and its
   * socket, and counted towards its lag. Marked at authorisation (the packet's clientId,
   * which aedes copies with it), honoured when queueing and when forwarding. In memory
   * only: with Redis a queued echo would wait there until the next reconnection.
   */
  const isEcho = (clientId: string, packet: { clientId?: unknown; topic?: unknown }): boolean =>
    packet.clientId === clientId && typeof packet.topic === 'string' && packet.topic.startsWith(CHAIN_TOPIC_PREFIX);
  /** [BROKER-HOLD] the platform services' lag and the hold of the homes' publishes (serviceLagHold.ts) */
  const hold = createServiceLagHold({
    hold: opts.holdPublishers === false ? undefined : {
      holdAbove: opts.holdPublishers?.holdAbove ?? 16 * 1024 * 1024,
      resumeBelow: opts.holdPublishers?.resumeBelow ?? 8 * 1024 * 1024,
      stuckAfterMs: opts.holdPublishers?.stuckAfterMs ?? 30_000,
    },
    queues: () => outgoing?.queues,
    now,
    log,
    closeService: (clientId) => {
      for (const c of [...(byMeter.get(clientId)?.clients ?? [])]) c.close();
    },
    onStuck: () => metrics.serviceStuckCloses.inc(),
  });
  const metrics = createBrokerMetrics(() => aedes.connectedClients, () => outgoing?.limited(), () => (outgoing ? hold.stats() : undefined));
  const outgoing = indexOutgoingQueues((aedes as unknown as { persistence: unknown }).persistence, {
    limitFor: (clientId) => {
      const role = roleOf.get(clientId);
      return role !== undefined && UNLIMITED_QUEUE_ROLES.has(role) ? undefined : sessionLimit;
    },
    totalBytes: opts.sessionQueue?.totalBytes ?? 256 * 1024 * 1024,
    onDrop: (clientId, reason, packet) => {
      metrics.sessionQueueDrops.labels(reason).inc();
      const t = now();
      if (t - (dropLoggedAt.get(clientId) ?? -Infinity) < 60_000) return;
      dropLoggedAt.set(clientId, t);
      log.warn({ clientId, reason, topic: packet.topic, ...sessionLimit }, 'session queue full: a message is not kept for this session (logged once a minute per session)');
    },
    onCleared: (clientId) => hold.acknowledged(clientId),
    skip: (clientId, packet) => isEcho(clientId, packet),
  });
  const queueRace = tolerateAckedInQueue((aedes as unknown as { persistence: unknown }).persistence, () =>
    log.debug('session queue: a message already acknowledged on another path is not sent again'),
  );
  const accepted = metrics.messagesIn.labels('accepted');
  const rejectedCount = metrics.messagesIn.labels('rejected');

  // A rejected publish has been acknowledged per its QoS by aedes (publish.js writes
  // PUBACK/PUBREC itself); here it is dropped instead of routed, stored or retained.
  // [BROKER-ORDER] numbered and emitted in the same order (orderedPublish.ts)
  const rawPublish: PublishFn = orderPublishes(aedes.publish.bind(aedes) as unknown as PublishFn, (aedes as unknown as { mq: unknown }).mq);
  const guardedPublish: PublishFn = (packet, client, done) => {
    if (typeof client === 'function') return rawPublish(packet, null, client);
    if (rejected.has(packet) || forwarded.has(packet)) return (done ?? noop)(null);
    return rawPublish(packet, client, done);
  };
  (aedes as unknown as { publish: PublishFn }).publish = guardedPublish;

  function refuse(done: AuthDone, returnCode: 2 | 3 | 4 | 5, reason: string, client: Client, extra: Record<string, unknown> = {}): void {
    metrics.authFailures.labels(reason).inc();
    log.info({ clientId: client.id, reason, returnCode, ...extra }, 'login refused');
    const err = Object.assign(new Error(reason), { returnCode });
    done(err, false);
  }

  aedes.preConnect = (client, packet, done) => {
    if (packet.will) withWill.add(client);
    done(null, true);
  };

  aedes.authenticate = (client, username, password, done: AuthDone) => {
    if (withWill.has(client)) return refuse(done, 5, 'WILL_NOT_ALLOWED', client);
    if (typeof username !== 'string' || username.length === 0 || password === undefined) {
      return refuse(done, 4, 'NO_CREDENTIALS', client);
    }
    // [DESIGN-4] the client id of a meter is its meter id
    if (client.id !== username) return refuse(done, 2, 'CLIENT_ID_MISMATCH', client, { username });
    const token = password.toString('utf8');
    cache.meter(username).then(
      (meter) => {
        if (meter === undefined) return refuse(done, 5, 'UNKNOWN_METER', client);
        if (meter.status !== 'active' || cache.isRevoked(meter.meterId)) return refuse(done, 5, 'REVOKED', client);
        const t = now();
        const bad = checkLoginToken(token, meter.meterId, meter.key, t, loginSkewMs);
        if (bad) return refuse(done, 4, bad, client);
        // [TOKEN] refused the second time anywhere: the store outlives this process and is
        // shared by the brokers of a Redis cluster; remembered until ts + skew
        const ts = Number(token.split('.')[1]);
        return tokens.remember(tokenKey(meter.meterId, token), ts + loginSkewMs, t).then(
          (fresh) => (fresh ? accepted(meter, t) : refuse(done, 4, 'TOKEN_REPLAYED', client)),
          (err: unknown) => refuse(done, 3, 'TOKEN_STORE_UNAVAILABLE', client, { err: (err as Error).message }),
        );
      },
      (err: unknown) => refuse(done, 3, 'DIRECTORY_UNAVAILABLE', client, { err: (err as Error).message }),
    );
    function accepted(meter: NonNullable<Awaited<ReturnType<typeof cache.meter>>>, t: number): void {
      const conn = client.conn as Duplex;
      if (conn.destroyed) return refuse(done, 3, 'CLOSED_DURING_LOGIN', client);
      const login: Login = { meterId: meter.meterId, role: meter.role, address: meter.publicKey, key: meter.key };
      const session: Session = { login, lastRateErrorAt: -Infinity, held: 0 };
      if (rate && !rateExempt.has(login.role)) session.bucket = new TokenBucket(rate, t);
      sessions.set(client, session);
      roleOf.set(login.meterId, login.role);
      if (UNLIMITED_QUEUE_ROLES.has(login.role)) hold.online(login.meterId, t);
      let entry = byMeter.get(login.meterId);
      if (!entry) {
        entry = { login, clients: new Set() };
        byMeter.set(login.meterId, entry);
      }
      entry.login = login;
      entry.clients.add(client);
      conn.once('close', () => {
        const e = byMeter.get(login.meterId);
        if (e) {
          e.clients.delete(client);
          if (e.clients.size === 0) {
            byMeter.delete(login.meterId);
            // [BROKER-HOLD] an offline service holds nobody back
            hold.offline(login.meterId);
          }
        }
      });
      if (conn instanceof ConnectionGuard) conn.authenticated(SERVICE_ROLES.has(login.role) ? maxServiceBufferedBytes : undefined);
      log.debug({ meterId: login.meterId, role: login.role }, 'login');
      done(null, true);
    }
  };

  function sendError(meterId: string, rej: Rejection, topic: string): void {
    const params = {
      code: rej.code,
      reason: rej.reason.slice(0, 1024),
      topic: topic.slice(0, 256),
      ...(rej.reqId !== undefined ? { reqId: rej.reqId } : {}),
    };
    const env = signEnvelope(key, 'error', params, { date: new Date(now()) });
    rawPublish(
      { cmd: 'publish', topic: `tmi/v1/clients/${meterId}/errors`, payload: encode(env), qos: errorQos, retain: false, dup: false },
      null,
      noop,
    );
  }

  function rejectPacket(session: Session, packet: PublishPacket, rej: Rejection, notify = true): void {
    rejected.add(packet);
    rejectedCount.inc();
    metrics.rejects.labels(rej.code).inc();
    log.debug({ meterId: session.login.meterId, topic: packet.topic, code: rej.code, reason: rej.reason }, 'publish rejected');
    if (notify) sendError(session.login.meterId, rej, packet.topic);
  }

  const payloadOf = (packet: PublishPacket): Buffer =>
    typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload;

  // [BROKER-STUCK] a publish not finished after 10 s is named in the log (stuckPublishWatch.ts)
  const stuck = createStuckPublishWatch({
    afterMs: 10_000,
    now,
    onStuck: (report) => {
      metrics.stuckPublishes.inc(report.newlyStuck);
      log.warn(report, 'publishes not finished after 10 s: their connections are not read until they are');
    },
  });
  const stuckTimer = setInterval(() => stuck.sweep(), 5_000);
  // [BROKER-HOLD] a queue can shrink without an acknowledgement (a clean start): look again each second
  const holdTimer = setInterval(() => {
    hold.recheck();
    refreshHeldKeepalives();
  }, 1_000);
  holdTimer.unref();
  stuckTimer.unref();

  aedes.authorizePublish = (client, packet, done0) => {
    // a will (refused at login) or a client without a session: never published
    if (client === null) return done0(new Error('NO_CLIENT'));
    const info = { clientId: client.id, topic: packet.topic, qos: packet.qos, bytes: typeof packet.payload === 'string' ? packet.payload.length : packet.payload.length };
    const endAuthorize = stuck.start({ ...info, stage: 'authorize' });
    const done = (err: Error | null) => {
      endAuthorize();
      done0(err);
    };
    const session = sessions.get(client);
    if (!session) return done(new Error('NOT_LOGGED_IN'));
    if (session.bucket && !session.bucket.take(now())) {
      // at most one RATE_LIMITED message per second per client: no amplification
      const t = now();
      const notify = t - session.lastRateErrorAt >= 1000;
      if (notify) session.lastRateErrorAt = t;
      // [EDGE-reqId] the reqId is read only for the one message that is answered
      const reqId = notify ? reqIdOf(payloadOf(packet), maxPayloadBytes) : undefined;
      const reason = `more than ${rate?.messagesPerSecond}/s (burst ${rate?.burst})`;
      rejectPacket(session, packet, reqId === undefined ? { code: 'RATE_LIMITED', reason } : { code: 'RATE_LIMITED', reason, reqId }, notify);
      return done(null);
    }
    const payload = payloadOf(packet);
    const verdict = validator.check(session.login, packet.topic, payload, packet.retain);
    const finish = (v: Awaited<typeof verdict>) => {
      if (!v.ok) {
        rejectPacket(session, packet, v.rejection);
        return done(null);
      }
      accepted.inc();
      // [NO-ECHO] the publisher, for the chain topics (in memory only: see isEcho)
      if (outgoing && packet.topic.startsWith(CHAIN_TOPIC_PREFIX)) (packet as { clientId?: string }).clientId = client.id;
      if (packet.qos !== 1) return done(null);
      // [BROKER-ACK] aedes writes a QoS 1 PUBACK before it forwards the message, so a broker
      // killed in between loses a message its sender has already deleted (a HEM's outbox drops
      // an entry on PUBACK). Forward first — written to the subscribers' sockets, or stored for
      // offline sessions (in Redis with the redis backend) — and let aedes acknowledge after;
      // its own publish of the packet is then dropped by guardedPublish.
      forwarded.add(packet);
      const forward = (release: () => void) => {
        const endForward = stuck.start({ ...info, stage: 'forward' });
        rawPublish(packet, client, (err) => {
          release();
          endForward();
          done(err ?? null);
        });
      };
      // [BROKER-HOLD] a home's publish waits while a platform service lags (serviceLagHold.ts)
      if (outgoing && !UNLIMITED_QUEUE_ROLES.has(session.login.role)) {
        let held = false;
        const go = (release: () => void) => {
          if (held) unhold(client, session);
          forward(release);
        };
        // validated; a held publish is counted by the hold, not as stuck
        if (hold.admit(payload.length, go)) {
          held = true;
          endAuthorize();
          holdClient(client, session);
        }
        return;
      }
      forward(() => {});
    };
    if (verdict instanceof Promise) verdict.then(finish, (err: unknown) => done(err as Error));
    else finish(verdict);
  };

  /**
   * [HOLD-PAUSE] A client with a held publish is not read from until its publishes are
   * released: its next publishes wait in its socket and its own outbox, not in the broker's
   * heap. aedes reads a client's next chunk on every 'readable' event of its socket, even
   * while a publish of the chunk before is unfinished, so without this every publish a home
   * sent during a hold was parsed and held in memory (a 10,000-home soak at 90× ran a
   * 384-MiB broker heap out, twice). The 'readable' listener is aedes' `_nextBatch`
   * (lib/client.js); while it is off, the socket buffers up to its high-water mark and TCP
   * pushes back to the home. (aedes' own pause() would lose the count of unfinished packets:
   * its batch callback returns early while paused.) The broker cannot read the client's
   * PINGREQs meanwhile, so it refreshes the client's keepalive itself: the silence is the
   * broker's doing.
   */
  type Readable = Client & { _nextBatch: () => void; _keepaliveTimer?: NodeJS.Timeout | null };
  const heldClients = new Set<Client>();
  function holdClient(client: Client, session: Session): void {
    if (session.held++ === 0) {
      heldClients.add(client);
      client.conn.removeListener('readable', (client as Readable)._nextBatch);
    }
  }
  function unhold(client: Client, session: Session): void {
    if (--session.held === 0) {
      heldClients.delete(client);
      if (!client.closed) client.conn.on('readable', (client as Readable)._nextBatch);
    }
  }
  function refreshHeldKeepalives(): void {
    for (const c of heldClients) (c as Readable)._keepaliveTimer?.refresh();
  }

  aedes.authorizeSubscribe = (client, sub: Subscription, done) => {
    const session = sessions.get(client);
    if (session && canSubscribe(session.login.role, session.login.meterId, sub.topic)) return done(null, sub);
    metrics.subscribeDenied.inc();
    log.debug({ clientId: client.id, topic: sub.topic }, 'subscribe denied');
    done(null, null); // SUBACK 0x80 for this filter [MQTT-3.9.3]
  };

  aedes.authorizeForward = (client, packet: AedesPublishPacket) => {
    if (queueRace.alreadyAcked(packet)) return null; // [BROKER-REPLAY] sessionQueueRace.ts
    if (isEcho(client.id, packet as { clientId?: unknown; topic?: unknown })) return null; // [NO-ECHO]
    metrics.messagesOut.inc();
    return packet;
  };

  aedes.on('clientError', (client, err) => {
    const reason = clientErrorReason(err);
    metrics.clientErrors.labels(reason).inc();
    // a keepalive timeout closes a session the client thinks is open: worth an operator's eye
    if (reason === 'keepalive') log.info({ clientId: client?.id, err: err.message }, 'client error');
    else log.debug({ clientId: client?.id, err: err.message }, 'client error');
  });
  aedes.on('connectionError', (client, err) => log.debug({ clientId: client?.id, err: err.message }, 'connection error'));

  // ── revocation feed ──────────────────────────────────────────────────────────
  let since = 0;
  let polling: Promise<number> | undefined;
  function kick(meterId: string): void {
    const e = byMeter.get(meterId);
    if (!e) return;
    for (const c of [...e.clients]) {
      metrics.revocationKicks.inc();
      log.info({ meterId }, 'revoked: disconnecting');
      c.close();
    }
  }
  async function pollOnce(): Promise<number> {
    let n = 0;
    for (let page = 0; page < 100; page++) {
      const r = await cache.revokedSince(since);
      for (const item of r.items) {
        if (item.seq <= since) continue;
        cache.markRevoked(item);
        kick(item.meterId);
        n++;
      }
      const next = Math.max(since, r.last, ...r.items.map((i) => i.seq));
      if (next === since || r.items.length === 0) {
        since = next;
        break;
      }
      since = next;
    }
    return n;
  }
  function pollRevocations(): Promise<number> {
    if (!polling) {
      polling = pollOnce()
        .catch((err: unknown) => {
          log.warn({ err: (err as Error).message }, 'revocation poll failed');
          return 0;
        })
        .finally(() => {
          polling = undefined;
        });
    }
    return polling;
  }
  await pollRevocations();
  const pollTimer = setInterval(() => void pollRevocations(), pollMs);
  pollTimer.unref();

  // ── listeners ───────────────────────────────────────────────────────────────
  const open = new Set<Duplex>();
  function accept(stream: Duplex, req?: IncomingMessage, remoteAddress?: string): void {
    open.add(stream);
    stream.once('close', () => open.delete(stream));
    const guard = new ConnectionGuard(stream, {
      limit: maxPacketBytes,
      preAuthLimit: preAuthPacketBytes,
      maxBufferedBytes,
      ...(remoteAddress ? { remoteAddress } : {}),
    });
    guard.on('oversize', (err: Error) => {
      metrics.oversizePackets.inc();
      log.info({ remoteAddress: guard.remoteAddress, err: err.message }, 'packet over the size limit: connection closed');
    });
    guard.on('slow', (err: Error) => {
      metrics.slowConsumers.inc();
      log.info({ remoteAddress: guard.remoteAddress, err: err.message }, 'slow consumer: connection closed');
    });
    guard.on('error', noop); // aedes adds its own; this keeps a late error from crashing the process
    aedes.handle(guard, req);
  }

  const closers: (() => Promise<void>)[] = [];
  const ports: TmiBroker['ports'] = {};
  async function listen(server: NetServer | TlsServer | HttpServer, l: ListenerOptions): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(l.port, l.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => log.error({ err: err.message }, 'listener error'));
    return portOf(server);
  }
  const closeServer = (server: NetServer | TlsServer | HttpServer) => () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      if ('closeAllConnections' in server) server.closeAllConnections();
    });

  try {
    if (opts.listeners.mqtt) {
      const server = createNetServer({ noDelay: true }, (socket) => {
        socket.on('error', noop);
        accept(socket, undefined, socket.remoteAddress);
      });
      ports.mqtt = await listen(server, opts.listeners.mqtt);
      closers.push(closeServer(server));
    }
    if (opts.listeners.mqtts) {
      const t = opts.listeners.mqtts;
      const server = createTlsServer({ key: t.key, cert: t.cert, ...(t.ca ? { ca: t.ca } : {}) }, (socket) => {
        socket.setNoDelay(true);
        socket.on('error', noop);
        accept(socket, undefined, socket.remoteAddress);
      });
      server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake failed'));
      ports.mqtts = await listen(server, t);
      closers.push(closeServer(server));
    }
    if (opts.listeners.ws) {
      const w = opts.listeners.ws;
      const server = createHttpServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect to ' + (w.path ?? '/mqtt') + '\n'));
      const wss = new WebSocketServer({ server, path: w.path ?? '/mqtt', maxPayload: maxPacketBytes + 1024 });
      wss.on('connection', (ws, req) => {
        req.socket.setNoDelay(true);
        const stream = createWebSocketStream(ws);
        stream.on('error', noop);
        accept(stream, req, req.socket.remoteAddress);
      });
      ports.ws = await listen(server, w);
      closers.push(async () => {
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await closeServer(server)();
      });
    }
    if (opts.metrics) {
      const server = await serveMetrics(metrics.registry, opts.metrics.port, opts.metrics.host);
      ports.metrics = portOf(server);
      closers.push(closeServer(server));
    }
  } catch (err) {
    clearInterval(pollTimer);
    clearInterval(stuckTimer);
    clearInterval(holdTimer);
    await pool?.close();
    await Promise.all(closers.map((c) => c()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await tokens.close();
    await backend?.close();
    throw err;
  }

  log.info({ ports, address: key.address, validate, verifyThreads: threads, shared: backend ? 'redis' : 'none', loginTokens: tokens.kind }, 'broker listening');

  let closed: Promise<void> | undefined;
  return {
    ports,
    address: key.address,
    aedes,
    metrics: metrics.registry,
    cache,
    pollRevocations,
    close() {
      closed ??= (async () => {
        clearInterval(pollTimer);
        clearInterval(stuckTimer);
        clearInterval(holdTimer);
        const servers = Promise.all(closers.map((c) => c()));
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        for (const s of open) s.destroy(); // connections that never logged in
        await servers;
        await pool?.close();
        await tokens.close().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'login token store close failed'));
        await backend?.close();
        log.info('broker closed');
      })();
      return closed;
    },
  };
}
