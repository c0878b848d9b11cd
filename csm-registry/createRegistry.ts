/**
 * The Certified Smart Meter registry HTTP API (DESIGN §4): express 5 over a
 * RegistryStore. Every input is schema-checked; every error is JSON
 * `{error:{code, message}}` with a 4xx status (5xx only for faults of our own).
 *
 *   GET  /v1/health                          public
 *   GET  /v1/registry-key                    public
 *   GET  /v1/broker-key                      public  (when the broker's address is configured)
 *   GET  /v1/chain                           public  (when the chain's genesis is configured)
 *   GET  /v1/whoami                          admin or directory
 *   POST /v1/certificates                    signed by the meter key
 *   GET  /v1/feeders                         public  [FEEDER-1] registry-signed records
 *   PUT  /v1/feeders/:feeder                 admin   stores and signs the feeder's limits
 *   POST /v1/meters                          admin
 *   GET  /v1/meters                          admin   ?limit=&after=
 *   GET  /v1/meters/:meterId                 admin or directory
 *   POST /v1/meters/:meterId/revoke          admin
 *   GET  /v1/revocations                     admin or directory   ?since=&limit=
 *   GET  /v1/pseudonyms/:address             admin or directory
 *   GET  /v1/audit                           admin   ?after=&limit=
 *
 * [ROLES] Two credentials: the admin token (operators: enrol, revoke, feeder limits, every
 * read) and the directory token (the broker: the three look-ups a login and the revocation
 * feed need, nothing else, no write). A directory token on an admin endpoint is FORBIDDEN.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { pino, type Logger } from 'pino';
import type { KeyPair } from '../wire/keys.js';
import { RegistryError } from './registryError.js';
import { check, validators } from './registryValidators.js';
import {
  MAX_BODY_BYTES,
  type CertificateRequest, type ChainInfo, type EnrollRequest, type FeederLimits, type RevokeRequest,
} from './registrySchemas.js';
import { createRegistryStore, type Actor, type CertRateLimit, type RegistryDb, type RegistryStore } from './registryStore.js';

export interface RegistryOptions {
  db: RegistryDb;
  registryKey: KeyPair;
  /** bearer token of the admin endpoints (≥ 16 characters) */
  adminToken: string;
  /** [ROLES] bearer token of the broker's read-only look-ups (≥ 16 characters, not the admin token) */
  directoryToken?: string;
  /** [BROKER-ID] the broker's error-signing address, served at GET /v1/broker-key */
  brokerAddress?: string;
  /**
   * [DOMAIN-TX] the chain this registry serves, at GET /v1/chain for HEMs to sign their
   * transactions for; a function when it is known only later (`tmi up` writes the genesis
   * after the registry has its key)
   */
  chain?: ChainInfo | (() => ChainInfo | undefined);
  /** ms since the epoch */
  now?: () => number;
  log?: Logger;
  /** default 1 day */
  /** [SYBIL] certificate period (default one UTC day); must equal the chain's genesis certPeriodMs */
  certPeriodMs?: number;
  certValidityMs?: number;
  /** default 10 per meter per hour */
  certRateLimit?: CertRateLimit;
  /** accepted |certificate request date − now|, default 120 s */
  certSkewMs?: number;
  /** JSON body limit, default 16 KiB */
  maxBodyBytes?: number;
}

export interface Registry {
  readonly app: Express;
  readonly store: RegistryStore;
  /** registry public key, lowercase hex */
  readonly address: string;
  /** Listens on host:port (port 0 = ephemeral). */
  listen(port?: number, host?: string): Promise<{ server: Server; port: number; url: string }>;
  /** Closes the servers started by listen(). The db is the caller's to close. */
  close(): Promise<void>;
}

const ADMIN_HEADER = /^Bearer ([\x21-\x7e]{1,512})$/;

export async function createRegistry(opts: RegistryOptions): Promise<Registry> {
  if (typeof opts.adminToken !== 'string' || opts.adminToken.length < 16) {
    throw new Error('BAD_OPTION adminToken must be at least 16 characters');
  }
  if (opts.directoryToken !== undefined && (typeof opts.directoryToken !== 'string' || opts.directoryToken.length < 16 || opts.directoryToken === opts.adminToken)) {
    throw new Error('BAD_OPTION directoryToken must be at least 16 characters and differ from the admin token');
  }
  if (opts.brokerAddress !== undefined && !/^[0-9a-f]{64}$/.test(opts.brokerAddress)) {
    throw new Error('BAD_OPTION brokerAddress must be 64 lowercase hex characters');
  }
  if (typeof opts.chain === 'object' && !validators.chainInfo(opts.chain)) {
    throw new Error('BAD_OPTION chain.genesisHash must be 64 lowercase hex characters and chain.chainId an id');
  }
  const chainInfo = (): ChainInfo | undefined => (typeof opts.chain === 'function' ? opts.chain() : opts.chain);
  const log = (opts.log ?? pino({ level: 'silent' })).child({ part: 'csm-registry' });
  const store = await createRegistryStore({
    db: opts.db,
    registryKey: opts.registryKey,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.certValidityMs !== undefined ? { certValidityMs: opts.certValidityMs } : {}),
    ...(opts.certPeriodMs !== undefined ? { certPeriodMs: opts.certPeriodMs } : {}),
    ...(opts.certRateLimit ? { certRateLimit: opts.certRateLimit } : {}),
    ...(opts.certSkewMs !== undefined ? { certSkewMs: opts.certSkewMs } : {}),
  });
  const digest = (t: string) => createHash('sha256').update(t, 'utf8').digest();
  const tokenDigest = digest(opts.adminToken);
  const directoryDigest = opts.directoryToken !== undefined ? digest(opts.directoryToken) : undefined;
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  app.use(requestLog(log));
  app.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(express.json({ limit: maxBody, strict: false, type: ['application/json', 'application/*+json'] }));
  app.use(rejectNonJsonBodies);

  // ── authentication ───────────────────────────────────────────────────────────
  type Role = 'admin' | 'directory';
  /** [REG-auth] constant-time compare of SHA-256 digests: the token's length does not leak either */
  function roleOf(req: Request): Role | undefined {
    const m = ADMIN_HEADER.exec(req.get('authorization') ?? '');
    const given = digest(m?.[1] ?? '');
    const isAdmin = timingSafeEqual(given, tokenDigest);
    const isDirectory = directoryDigest !== undefined && timingSafeEqual(given, directoryDigest);
    if (!m) return undefined;
    return isAdmin ? 'admin' : isDirectory ? 'directory' : undefined;
  }
  /** [ROLES] a route open to the given credentials; any other valid one is FORBIDDEN */
  function allow(...roles: Role[]) {
    return (req: Request, res: Response, next: NextFunction): void => {
      const role = roleOf(req);
      if (role === undefined) {
        const hasHeader = ADMIN_HEADER.test(req.get('authorization') ?? '');
        res.set('WWW-Authenticate', 'Bearer realm="tmi-registry"');
        next(new RegistryError('UNAUTHORIZED', { reason: hasHeader ? 'wrong token' : 'missing Authorization: Bearer <token>' }));
        return;
      }
      if (!roles.includes(role)) {
        log.warn({ method: req.method, path: req.path.slice(0, 128), role, from: req.socket.remoteAddress }, 'credential used outside its role');
        next(new RegistryError('FORBIDDEN', { role, reason: `the ${role} credential cannot ${req.method} ${req.route?.path ?? req.path.slice(0, 64)}` }));
        return;
      }
      res.locals.role = role;
      next();
    };
  }
  const admin = allow('admin');
  const directory = allow('admin', 'directory');

  function actor(req: Request): Actor {
    const name = req.get('x-tmi-operator');
    const who = name !== undefined && validators.meterIdParams({ meterId: name }) ? name : 'admin';
    return req.socket.remoteAddress !== undefined ? { actor: who, from: req.socket.remoteAddress } : { actor: who };
  }

  const noQuery = (req: Request): void => void check(validators.emptyQuery, { ...req.query }, 'query');
  const pageLimit = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));

  // ── public ───────────────────────────────────────────────────────────────────
  app.get('/v1/health', (req, res) => {
    noQuery(req);
    res.json({ status: 'ok', meters: store.meterCount(), revocations: store.lastRevocationSeq() });
  });

  app.get('/v1/registry-key', (req, res) => {
    noQuery(req);
    res.json({ address: store.registryAddress, algorithm: 'Ed25519' });
  });

  app.get('/v1/broker-key', (req, res) => {
    noQuery(req);
    if (opts.brokerAddress === undefined) throw new RegistryError('NOT_FOUND', { reason: 'the registry was not told the broker key' });
    res.json({ address: opts.brokerAddress, algorithm: 'Ed25519' });
  });

  app.get('/v1/chain', (req, res) => {
    noQuery(req);
    const c = chainInfo();
    if (c === undefined) throw new RegistryError('NOT_FOUND', { reason: 'the registry was not told the chain' });
    res.json({ genesisHash: c.genesisHash, chainId: c.chainId });
  });

  app.get('/v1/whoami', directory, (req, res) => {
    noQuery(req);
    res.json({ role: res.locals.role as Role });
  });

  app.post('/v1/certificates', async (req, res) => {
    noQuery(req);
    const body = check<CertificateRequest>(validators.certificateRequestBody, req.body, 'body');
    const cert = await store.issueCertificate(body);
    log.info({ meterId: body.meterId, validTo: cert.validTo }, 'certificate issued');
    res.status(201).json(cert);
  });

  app.get('/v1/feeders', async (req, res) => {
    noQuery(req);
    res.json({ items: await store.listFeeders() });
  });

  // ── admin ────────────────────────────────────────────────────────────────────
  app.put('/v1/feeders/:feeder', admin, async (req, res) => {
    noQuery(req);
    const { feeder } = check<{ feeder: string }>(validators.feederParams, { ...req.params }, 'path');
    const limits = check<FeederLimits>(validators.feederLimitsBody, req.body, 'body');
    const value = await store.setFeeder(feeder, limits, actor(req));
    log.info({ feeder, ...limits, issuedAt: value.issuedAt }, 'feeder limits set and signed');
    res.json(value);
  });

  app.post('/v1/meters', admin, async (req, res) => {
    noQuery(req);
    const body = check<EnrollRequest>(validators.enrollBody, req.body, 'body');
    const meter = await store.enroll(body, actor(req));
    log.info({ meterId: meter.meterId, feeder: meter.feeder, programme: meter.programme, role: meter.role }, 'meter enrolled');
    res.status(201).json({ meter });
  });

  app.get('/v1/meters', admin, async (req, res) => {
    const q = check<{ limit?: string; after?: string }>(validators.listMetersQuery, { ...req.query }, 'query');
    const page = await store.listMeters({ ...(q.limit ? { limit: pageLimit(q.limit) } : {}), ...(q.after ? { after: q.after } : {}) });
    res.json(page);
  });

  app.get('/v1/meters/:meterId', directory, async (req, res) => {
    noQuery(req);
    const { meterId } = check<{ meterId: string }>(validators.meterIdParams, { ...req.params }, 'path');
    const meter = await store.getMeter(meterId);
    if (!meter) throw new RegistryError('NOT_FOUND', { meterId });
    res.json(meter);
  });

  app.post('/v1/meters/:meterId/revoke', admin, async (req, res) => {
    noQuery(req);
    const { meterId } = check<{ meterId: string }>(validators.meterIdParams, { ...req.params }, 'path');
    const { reason } = check<RevokeRequest>(validators.revokeBody, req.body, 'body');
    const meter = await store.revoke(meterId, reason, actor(req));
    log.warn({ meterId, reason }, 'meter revoked');
    res.json({ meter });
  });

  app.get('/v1/revocations', directory, async (req, res) => {
    const q = check<{ since?: string; limit?: string }>(validators.revocationsQuery, { ...req.query }, 'query');
    res.json(await store.revocationsSince(q.since ? Number(q.since) : 0, pageLimit(q.limit)));
  });

  app.get('/v1/pseudonyms/:address', directory, async (req, res) => {
    noQuery(req);
    const { address } = check<{ address: string }>(validators.addressParams, { ...req.params }, 'path');
    const p = await store.getPseudonym(address);
    if (!p) throw new RegistryError('NOT_FOUND', { address });
    res.json(p);
  });

  app.get('/v1/audit', admin, async (req, res) => {
    const q = check<{ after?: string; limit?: string }>(validators.auditQuery, { ...req.query }, 'query');
    res.json(await store.audit({ ...(q.after ? { after: Number(q.after) } : {}), ...(q.limit ? { limit: pageLimit(q.limit) } : {}) }));
  });

  app.use((req, _res, next) => next(new RegistryError('NOT_FOUND', { method: req.method, path: req.path.slice(0, 128) })));
  app.use(errorHandler(log, maxBody));

  const servers = new Set<Server>();

  return {
    app,
    store,
    address: store.registryAddress,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        const server = app.listen(port, host);
        server.headersTimeout = 10_000;
        server.requestTimeout = 30_000;
        server.once('error', reject);
        server.once('listening', () => {
          servers.add(server);
          const a = server.address() as AddressInfo;
          const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
          resolve({ server, port: a.port, url: `http://${h}:${a.port}` });
        });
      });
    },
    async close() {
      await Promise.all(
        [...servers].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      servers.clear();
    },
  };
}

/** A body that is present but not JSON is refused, rather than read as "no body". */
function rejectNonJsonBodies(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && req.body === undefined) {
    next(new RegistryError('UNSUPPORTED_MEDIA_TYPE', { contentType: String(req.headers['content-type'] ?? '').slice(0, 64), expected: 'application/json' }));
    return;
  }
  next();
}

function requestLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      log.debug({ method: req.method, path: req.path.slice(0, 256), status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}

interface HttpParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  message?: string;
}

/** Maps any error to `{error:{code, message}}`; never an HTML page or a stack trace. */
function errorHandler(log: Logger, maxBody: number) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let e: RegistryError;
    if (err instanceof RegistryError) e = err;
    else {
      const p = (typeof err === 'object' && err !== null ? err : {}) as HttpParserError;
      const status = p.status ?? p.statusCode ?? 500;
      switch (p.type) {
        case 'entity.too.large':
          e = new RegistryError('PAYLOAD_TOO_LARGE', { limit: maxBody });
          break;
        case 'entity.parse.failed':
          e = new RegistryError('MALFORMED_JSON', { reason: String(p.message ?? '').slice(0, 120) });
          break;
        case 'encoding.unsupported':
        case 'charset.unsupported':
          e = new RegistryError('UNSUPPORTED_MEDIA_TYPE', { reason: String(p.message ?? '').slice(0, 120) });
          break;
        default:
          if (status >= 400 && status < 500) e = new RegistryError('BAD_REQUEST', { status, reason: String(p.message ?? '').slice(0, 120) });
          else {
            log.error({ err, method: req.method, path: req.path.slice(0, 256) }, 'internal error');
            e = new RegistryError('INTERNAL', {});
          }
      }
    }
    if (e.status >= 400 && e.status < 500 && e.status !== 404) {
      log.info({ method: req.method, path: req.path.slice(0, 256), code: e.code, status: e.status }, 'request refused');
    }
    if (e.retryAfterS !== undefined) res.set('Retry-After', String(e.retryAfterS));
    if (res.headersSent) {
      res.end();
      return;
    }
    // BAD_REQUEST keeps the status the parser chose (e.g. 400 for an aborted body)
    const status = e.code === 'BAD_REQUEST' ? Number(e.context.status ?? 400) : e.status;
    res.status(status).json({ error: { code: e.code, message: e.message } });
  };
}
