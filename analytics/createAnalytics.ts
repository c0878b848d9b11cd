/**
 * The analytics service: a store of statistics fed with facts, an HTTP JSON API with
 * CSV export and server-sent live updates, and the web dashboard. Read-only towards the
 * market and the chain. See analytics/README.md for the endpoints and the definitions.
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { pino, type Logger } from 'pino';
import { AnalyticsError, STATUS_OF } from './analyticsError.js';
import { checkFact, type Fact, type FactKind } from './facts.js';
import {
  auctionPath, auctionsQuery, checkInput, emptyQuery, formatQuery, marketHomesQuery, marketPath, marketQuery, netLoadQuery, parseDay, parseRange, rankingHistoryQuery, rankingQuery,
  socQuery, timeRangeQuery, walletPath, walletsQuery,
  type AuctionsQuery, type MarketHomesQuery, type MarketQuery, type NetLoadQuery, type RankingHistoryQuery, type RankingQuery, type SocQuery, type TimeRangeQuery, type WalletsQuery,
} from './api/querySchemas.js';
import { createSseHub } from './api/sseHub.js';
import { tableOf, toCsv, type Table } from './api/toCsv.js';
import { auctionDetail, listAuctions, priceSeries } from './stats/auctionQueries.js';
import { efficiency } from './stats/efficiency.js';
import { listMarkets, marketDetail, marketHomes } from './stats/marketQueries.js';
import { netLoad } from './stats/netLoad.js';
import { producers } from './stats/producers.js';
import { currentRanking, rankingHistory } from './stats/ranking.js';
import { selfConsumption } from './stats/selfConsumption.js';
import { socSeries } from './stats/socSeries.js';
import { createStatsStore, type AnalyticsDb, type StatsStore } from './stats/statsStore.js';
import { summary } from './stats/summary.js';
import { listWallets, walletDetail } from './stats/wallets.js';

export interface AnalyticsOptions {
  db: AnalyticsDb;
  log?: Logger;
  /** most live-update (SSE) clients at once, default 32 */
  maxSseClients?: number;
  /** keepalive comment period of the SSE streams, default 15 s */
  keepaliveMs?: number;
  /** most facts in one ingest call, default 10,000 */
  maxBatch?: number;
  /** folder of the dashboard's files (default: analytics/public of this package) */
  publicDir?: string;
}

export interface IngestResult {
  facts: number;
  changes: number;
  version: number;
}

export interface Analytics {
  readonly app: Express;
  readonly store: StatsStore;
  /** Checks and applies one fact or a batch (all or nothing); then notifies live clients. */
  ingest(facts: Fact | readonly Fact[]): Promise<IngestResult>;
  /** Adds a named status object (e.g. an adapter's counters) to GET /api/health. */
  addHealth(name: string, status: () => object): void;
  /** Listens on host:port (port 0 = ephemeral). */
  listen(port?: number, host?: string): Promise<{ server: Server; port: number; url: string }>;
  /** Ends live streams and closes the servers started by listen(). The db is the caller's to close. */
  close(): Promise<void>;
}

/** The dashboard folder: next to this module when copied there, else in the source tree. */
function defaultPublicDir(): string {
  const candidates = [fileURLToPath(new URL('./public', import.meta.url)), fileURLToPath(new URL('../../analytics/public', import.meta.url))];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? (candidates[1] as string);
}

function uplotDir(): string {
  return dirname(createRequire(import.meta.url).resolve('uplot'));
}

const CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'",
].join('; ');

export async function createAnalytics(opts: AnalyticsOptions): Promise<Analytics> {
  const log = (opts.log ?? pino({ level: 'silent' })).child({ part: 'analytics' });
  const store = await createStatsStore(opts.db);
  const maxBatch = opts.maxBatch ?? 10_000;
  const health = new Map<string, () => object>();
  const startedAt = Date.now();
  let closed = false;

  const sse = createSseHub({
    maxClients: opts.maxSseClients ?? 32,
    keepaliveMs: opts.keepaliveMs ?? 15_000,
    log,
    hello: () => ({ version: store.version, facts: store.factCount }),
  });

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const t0 = process.hrtime.bigint();
    res.on('finish', () => log.debug({ method: req.method, path: req.path, status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6 }, 'http'));
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'no-referrer');
    res.set('Content-Security-Policy', CSP);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.set('Allow', 'GET, HEAD');
      next(new AnalyticsError('METHOD_NOT_ALLOWED', { reason: `${req.method} is not allowed: analytics is read-only` }));
      return;
    }
    if (req.path.startsWith('/api/')) res.set('Cache-Control', 'no-store');
    next();
  });

  const query = <T>(schema: object, req: Request): T => checkInput<T>(schema, { ...(req.query as Record<string, unknown>) }, 'query');

  /** A JSON endpoint. */
  function json(path: string, handler: (req: Request) => object): void {
    app.get(path, (req, res) => {
      res.json(handler(req));
    });
  }

  /** A tabular endpoint: JSON, or CSV with ?format=csv or the path + ".csv". */
  function tabular(path: string, name: string, handler: (req: Request) => { body: object; table: Table }): void {
    const send = (req: Request, res: Response, csv: boolean): void => {
      const out = handler(req);
      if (csv || (req.query as { format?: unknown }).format === 'csv') {
        res.type('text/csv; charset=utf-8');
        res.set('Content-Disposition', `attachment; filename="${name}.csv"`);
        res.send(toCsv(out.table));
      } else res.json(out.body);
    };
    app.get(path, (req, res) => send(req, res, false));
    app.get(`${path}.csv`, (req, res) => send(req, res, true));
  }

  // ── endpoints ──────────────────────────────────────────────────────────────────
  json('/api/health', (req) => {
    query(emptyQuery, req);
    const extra: Record<string, object> = {};
    for (const [k, f] of health) extra[k] = f();
    return {
      status: 'ok', version: store.version, facts: store.factCount, sseClients: sse.clients,
      uptimeS: Math.floor((Date.now() - startedAt) / 1000), ...extra,
    };
  });

  json('/api/summary', (req) => {
    query(emptyQuery, req);
    return { version: store.version, facts: store.factCount, ...summary(store) };
  });

  tabular('/api/auctions', 'auctions', (req) => {
    const q = query<AuctionsQuery>(auctionsQuery, req);
    const page = listAuctions(store, { limit: q.limit, ...(q.before !== undefined ? { before: q.before } : {}) });
    return {
      body: page,
      table: tableOf(page.items, [
        'auctionId', 'status', 'side', 'energyWh', 'limitPriceMcPerKWh', 'deliveryStart', 'deliveryEnd', 'closesAt', 'pricing', 'sealed',
        'openedAt', 'closedAt', 'clearingPriceMcPerKWh', 'awardedWh', 'awards', 'bids', 'sealedUnopened', 'bidBuyWh', 'bidSellWh', 'resultHeight',
      ]),
    };
  });

  json('/api/auctions/:id', (req) => {
    query(emptyQuery, req);
    const { id } = checkInput<{ id: string }>(auctionPath, { ...req.params }, 'path');
    const d = auctionDetail(store, id);
    if (d === undefined) throw new AnalyticsError('NOT_FOUND', { reason: `no auction '${id}'` });
    return d;
  });

  tabular('/api/prices', 'prices', (req) => {
    const q = query<TimeRangeQuery>(timeRangeQuery, req);
    const items = priceSeries(store, { ...parseRange(q), limit: q.limit });
    return {
      body: { items },
      table: tableOf(items, ['start', 'end', 'auctions', 'clearedAuctions', 'volumeWh', 'meanPriceMcPerKWh', 'buyWh', 'sellWh']),
    };
  });

  // [AN-P2P] the P2P market
  tabular('/api/market', 'market', (req) => {
    const q = query<MarketQuery>(marketQuery, req);
    const list = listMarkets(store, { limit: q.limit, ...(q.before !== undefined ? { before: q.before } : {}) });
    return {
      body: list,
      table: tableOf(list.items, [
        'interval', 'start', 'end', 'status', 'clearingPriceMcPerKWh', 'priceLowMcPerKWh', 'priceHighMcPerKWh', 'p2pVolumeWh', 'fills',
        'bookBuyOrders', 'bookSellOrders', 'bookBuyWh', 'bookSellWh', 'excludedCount', 'settledFills', 'deliveredWh', 'auctionAwardedWh', 'clearedHeight',
      ]),
    };
  });

  tabular('/api/market/homes', 'market-homes', (req) => {
    const q = query<MarketHomesQuery>(marketHomesQuery, req);
    const h = marketHomes(store, { limit: q.limit });
    return {
      body: h,
      table: tableOf(h.items, [
        'address', 'fills', 'boughtWh', 'soldWh', 'tradedWh', 'importedWh', 'buyOrders', 'sellOrders', 'revealedBuyWh', 'revealedSellWh',
        'marketEfficiency', 'allocativeEfficiency',
      ]),
    };
  });

  json('/api/market/:interval', (req) => {
    query(emptyQuery, req);
    const { interval } = checkInput<{ interval: number }>(marketPath, { ...req.params }, 'path');
    const d = marketDetail(store, interval);
    if (d === undefined) throw new AnalyticsError('NOT_FOUND', { reason: `no P2P market for interval ${interval}` });
    return d;
  });

  tabular('/api/ranking', 'ranking', (req) => {
    const q = query<RankingQuery>(rankingQuery, req);
    const r = currentRanking(store, { top: q.top });
    const body = r ?? { source: 'none', epoch: null, intervalStart: null, size: 0, items: [] };
    return { body, table: tableOf(body.items, ['rank', 'address', 'scoreWh', 'cpf']) };
  });

  tabular('/api/ranking/history', 'ranking-history', (req) => {
    const q = query<RankingHistoryQuery>(rankingHistoryQuery, req);
    const h = rankingHistory(store, { limit: q.limit, top: q.top });
    const rows = h.items.flatMap((r) => r.items.map((e) => [r.source, r.epoch, r.intervalStart, e.rank, e.address, e.scoreWh, e.cpf]));
    return { body: h, table: { columns: ['source', 'epoch', 'intervalStart', 'rank', 'address', 'scoreWh', 'cpf'], rows } };
  });

  tabular('/api/producers', 'producers', (req) => {
    query(formatQuery, req);
    const p = producers(store);
    return { body: p, table: tableOf(p.items, ['address', 'blocks', 'share', 'txs', 'rewardMc', 'rewardShare']) };
  });

  tabular('/api/wallets', 'wallets', (req) => {
    const q = query<WalletsQuery>(walletsQuery, req);
    const w = listWallets(store, { limit: q.limit });
    return {
      body: w,
      table: tableOf(w.items, ['address', 'balanceMc', 'balanceHeight', 'awards', 'awardedWh', 'awardValueMc', 'settlements', 'deliveredWh', 'paymentMc', 'penaltyMc']),
    };
  });

  json('/api/wallets/:address', (req) => {
    query(emptyQuery, req);
    const { address } = checkInput<{ address: string }>(walletPath, { ...req.params }, 'path');
    const d = walletDetail(store, address);
    if (d === undefined) throw new AnalyticsError('NOT_FOUND', { reason: `no wallet or activity for address ${address}` });
    return d;
  });

  tabular('/api/self-consumption', 'self-consumption', (req) => {
    query(formatQuery, req);
    const s = selfConsumption(store);
    return {
      body: s,
      table: tableOf(s.items, ['address', 'readings', 'producedWh', 'consumedWh', 'chargedWh', 'dischargedWh', 'selfConsumedWh', 'importedWh', 'exportedWh', 'ratio']),
    };
  });

  tabular('/api/efficiency', 'efficiency', (req) => {
    const q = query<TimeRangeQuery>(timeRangeQuery, req);
    const e = efficiency(store, { ...parseRange(q), limit: q.limit });
    return {
      body: e,
      table: tableOf(e.items, ['start', 'end', 'tradedWh', 'importedWh', 'buyWh', 'sellWh', 'marketEfficiency', 'allocativeEfficiency']),
    };
  });

  tabular('/api/net-load', 'net-load', (req) => {
    const q = query<NetLoadQuery>(netLoadQuery, req);
    const day = parseDay(q.day);
    const n = netLoad(store, day !== undefined ? { day } : {});
    return { body: n, table: tableOf(n.items, ['start', 'end', 'scheduledWh', 'actualWh', 'deviationWh', 'readings']) };
  });

  tabular('/api/soc', 'soc', (req) => {
    const q = query<SocQuery>(socQuery, req);
    const s = socSeries(store, { ...parseRange(q), limit: q.limit, homes: q.homes });
    const rows = s.homes.flatMap((h) => h.socPermille.map((v, i) => [s.times[i], h.address, v]).filter((r) => r[2] !== null));
    return { body: s, table: { columns: ['start', 'address', 'socPermille'], rows } };
  });

  app.get('/api/events', (req, res) => {
    query(emptyQuery, req);
    if (closed) throw new AnalyticsError('CLOSED', { reason: 'analytics is shutting down' });
    sse.handle(req, res);
  });

  // ── dashboard ──────────────────────────────────────────────────────────────────
  app.use('/vendor/uplot', express.static(uplotDir(), { index: false, fallthrough: true, maxAge: '1h' }));
  app.use(express.static(opts.publicDir ?? defaultPublicDir(), { index: 'index.html', fallthrough: true }));

  // ── errors ─────────────────────────────────────────────────────────────────────
  app.use((req, _res, next) => {
    next(new AnalyticsError('NOT_FOUND', { reason: `no route ${req.method} ${req.path}` }));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof AnalyticsError) {
      if (err.code === 'INTERNAL') log.error({ err, path: req.path }, 'internal error');
      res.status(STATUS_OF[err.code]).json({ error: { code: err.code, message: String(err.context.reason ?? err.message) } });
      return;
    }
    const e = err as { status?: number; type?: string };
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: { code: 'BAD_REQUEST', message: e.type ?? 'bad request' } });
      return;
    }
    log.error({ err, path: req.path }, 'internal error');
    res.status(500).json({ error: { code: 'INTERNAL', message: 'internal error' } });
  });

  // ── ingest ─────────────────────────────────────────────────────────────────────
  async function ingest(input: Fact | readonly Fact[]): Promise<IngestResult> {
    if (closed) throw new AnalyticsError('CLOSED', { reason: 'analytics is closed' });
    const list: readonly unknown[] = Array.isArray(input) ? input : [input];
    if (list.length > maxBatch) throw new AnalyticsError('BAD_FACT', { reason: 'batch too large', facts: list.length, limit: maxBatch });
    const facts = list.map((f, i) => {
      try {
        return checkFact(f);
      } catch (err) {
        if (err instanceof AnalyticsError) throw new AnalyticsError('BAD_FACT', { ...err.context, index: i });
        throw err;
      }
    });
    if (facts.length === 0) return { facts: 0, changes: 0, version: store.version };
    const changes = await store.apply(facts);
    if (changes > 0) {
      const kinds: Partial<Record<FactKind, number>> = {};
      for (const f of facts) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
      sse.broadcast('facts', { version: store.version, facts: facts.length, changes, kinds }, store.version);
    }
    return { facts: facts.length, changes, version: store.version };
  }

  const servers: Server[] = [];

  return {
    app,
    store,
    ingest,
    addHealth(name, status) {
      health.set(name, status);
    },
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        const server = app.listen(port, host);
        server.once('error', reject);
        server.once('listening', () => {
          servers.push(server);
          const p = (server.address() as AddressInfo).port;
          resolve({ server, port: p, url: `http://${host.includes(':') ? `[${host}]` : host}:${p}` });
        });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      sse.close();
      await store.idle();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      })));
    },
  };
}

