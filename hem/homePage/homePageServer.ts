/**
 * The HEM's home page: a small express app that serves the page (hem/homePage/public/,
 * plain JS) and its read-only JSON API.
 *
 *   GET /api/home                 battery SOC, today's readings, wallet, CPF and election
 *   GET /api/auctions?limit=N     each auction: why it bid or not, the result, the settlement
 *   GET /api/auctions/{auctionId} one of them
 *   GET /api/market?limit=N       [P2P] each interval: the order or why none, its fill, its settlement
 *
 * [HOME-BIND] it listens on 127.0.0.1 by default; hemConfig.ts refuses another address
 * without a password. [HOME-AUTH] with a password every request needs HTTP Basic auth
 * (any user name, that password; compared in constant time). [HOME-IN] query strings
 * are checked against a schema (additionalProperties: false, bounded), path ids against
 * a pattern; anything else is 404 JSON, a method other than GET/HEAD 405 JSON.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { compileSchema } from '../../schemas/validators.js';
import { auctionViews, homeView, marketViews, type HomeSources } from './homePageData.js';

export interface HomePageOptions {
  port: number;
  host: string;
  password?: string;
  /** the sources, read at each request */
  sources(): HomeSources;
  log: Logger;
  publicDir?: string;
}

export interface HomePage {
  readonly url: string;
  close(): Promise<void>;
}

const CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'",
].join('; ');

const auctionsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'string', pattern: '^[0-9]{1,3}$' } },
} as const;
const emptyQuery = { type: 'object', additionalProperties: false, properties: {} } as const;
const AUCTION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_LIMIT = 400;

const validAuctions = compileSchema(auctionsQuery);
const validEmpty = compileSchema(emptyQuery);

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, readonly reason: string) {
    super(`${code} ${reason}`);
  }
}

function defaultPublicDir(): string {
  const candidates = [fileURLToPath(new URL('./public', import.meta.url)), fileURLToPath(new URL('../../../hem/homePage/public', import.meta.url))];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? (candidates[1] as string);
}

function checkQuery(v: typeof validAuctions, req: Request): Record<string, string> {
  const q = { ...(req.query as Record<string, unknown>) };
  if (!v(q)) {
    const e = v.errors?.[0];
    const at = e?.keyword === 'additionalProperties' ? String(e.params.additionalProperty) : (e?.instancePath ?? '').slice(1);
    throw new HttpError(400, 'BAD_QUERY', `${at || 'query'}: ${e?.message ?? 'invalid'}`);
  }
  return q as Record<string, string>;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** [HOME-AUTH] HTTP Basic: any user, the configured password. */
function authorized(header: string | undefined, want: Buffer): boolean {
  if (!header?.startsWith('Basic ') || header.length > 1024) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return false;
  return timingSafeEqual(digest(decoded.slice(i + 1)), want);
}

export async function startHomePage(o: HomePageOptions): Promise<HomePage> {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  const want = o.password !== undefined ? digest(o.password) : undefined;

  app.use((req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'no-referrer');
    res.set('Content-Security-Policy', CSP);
    if (want && !authorized(req.headers.authorization, want)) {
      res.set('WWW-Authenticate', 'Basic realm="TMI home", charset="UTF-8"');
      next(new HttpError(401, 'UNAUTHORIZED', 'this home page needs its password'));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.set('Allow', 'GET, HEAD');
      next(new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed: the home page is read-only`));
      return;
    }
    if (req.path.startsWith('/api/')) res.set('Cache-Control', 'no-store');
    next();
  });

  app.get('/api/home', (req, res) => {
    checkQuery(validEmpty, req);
    res.json(homeView(o.sources()));
  });
  app.get('/api/auctions', (req, res) => {
    const q = checkQuery(validAuctions, req);
    const limit = q.limit !== undefined ? Number(q.limit) : 50;
    if (limit < 1 || limit > MAX_LIMIT) throw new HttpError(400, 'BAD_QUERY', `limit: must be 1..${MAX_LIMIT}`);
    const all = auctionViews(o.sources());
    res.json({ total: all.length, items: all.slice(0, limit) });
  });
  app.get('/api/market', (req, res) => {
    const q = checkQuery(validAuctions, req);
    const limit = q.limit !== undefined ? Number(q.limit) : 50;
    if (limit < 1 || limit > MAX_LIMIT) throw new HttpError(400, 'BAD_QUERY', `limit: must be 1..${MAX_LIMIT}`);
    const all = marketViews(o.sources());
    res.json({ total: all.length, items: all.slice(0, limit) });
  });
  app.get('/api/auctions/:auctionId', (req, res) => {
    checkQuery(validEmpty, req);
    const id = String(req.params.auctionId);
    if (!AUCTION_ID.test(id)) throw new HttpError(400, 'BAD_AUCTION_ID', 'auctionId: 1..128 of [A-Za-z0-9._:-]');
    const item = auctionViews(o.sources()).find((a) => a.auctionId === id);
    if (!item) throw new HttpError(404, 'NOT_FOUND', `auction ${id} is not known to this HEM`);
    res.json(item);
  });
  app.use(express.static(o.publicDir ?? defaultPublicDir(), { index: 'index.html', fallthrough: true }));
  app.use((req, _res, next) => next(new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.path.slice(0, 200)}`)));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err instanceof HttpError ? err : new HttpError(500, 'INTERNAL', 'internal error');
    if (!(err instanceof HttpError)) o.log.error({ event: 'home-page-error', err: (err as Error).message }, 'home page request failed');
    res.status(e.status).json({ error: { code: e.code, reason: e.reason } });
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = createServer(app);
    s.once('error', reject);
    s.listen(o.port, o.host, () => resolve(s));
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  o.log.info({ event: 'home-page', url, password: want !== undefined }, 'home page served');
  return {
    url,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
