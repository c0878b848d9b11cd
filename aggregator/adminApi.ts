/**
 * The aggregator's operator HTTP API (express). Every route needs `Authorization: Bearer <operator token>`
 * ([ROLES]: the aggregator's own credential, `<data>/aggregator/operator-token` under `tmi up`, not the registry's).
 *
 *   GET  /health                 {status, auctions}
 *   POST /admin/auctions         post a VPP bid (side buy) or offer (side sell) by hand
 *        {side, energyKWh, priceCents, delivery:{start,end}, closesAt?, pricing?, sealed?}
 *   GET  /admin/auctions         auctions and their status
 *   GET  /admin/ledger           VPP revenue and costs
 *   GET  /admin/schedule/:day    the day-ahead schedule of day n
 *   POST /admin/market/orders    [MKT] a VPP order in the P2P market, sealed and revealed by the aggregator
 *        {side, energyWh, priceMcPerKWh, delivery:{start,end}, intervals?}
 *   GET  /admin/market/orders    the VPP orders posted since start
 */
import express, { type Request, type Response, type NextFunction } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { compileSchema } from '../schemas/validators.js';
import { isoDate, interval } from '../schemas/common.js';
import { schemaError } from '../wire/codec.js';
import { scaleFloor } from '../wire/quantities.js';
import { AggregatorError, type Aggregator } from './aggregator.js';
import { VppOrderError, type VppMarketTrader } from './vppMarketOrders.js';

export const postAuctionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['side', 'energyKWh', 'priceCents', 'delivery'],
  properties: {
    side: { type: 'string', enum: ['buy', 'sell'] },
    energyKWh: { type: 'number', exclusiveMinimum: 0, maximum: 1_000_000 },
    priceCents: { type: 'number', minimum: 0, maximum: 100_000 },
    delivery: interval,
    closesAt: isoDate,
    pricing: { type: 'string', enum: ['pay-as-bid', 'uniform'] },
    sealed: { type: 'boolean' },
  },
} as const;
const validatePost = compileSchema(postAuctionSchema);

export const postMarketOrderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['side', 'energyWh', 'priceMcPerKWh', 'delivery'],
  properties: {
    side: { type: 'string', enum: ['buy', 'sell'] },
    energyWh: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
    priceMcPerKWh: { type: 'integer', minimum: 0, maximum: 100_000_000 },
    delivery: interval,
    intervals: { type: 'integer', minimum: 1, maximum: 96 },
  },
} as const;
const validateMarketOrder = compileSchema(postMarketOrderSchema);

function tokenMatches(header: string | undefined, token: string): boolean {
  const got = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}

function fail(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ error: { code, message } });
}

export function createAggregatorAdminApp(agg: Aggregator, operatorToken: string, market?: VppMarketTrader): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', auctions: agg.auctions().length });
  });

  app.use('/admin', (req, res, next) => {
    if (!tokenMatches(req.headers.authorization, operatorToken)) return fail(res, 401, 'UNAUTHORIZED', 'operator token required');
    next();
  });

  app.post('/admin/auctions', async (req, res) => {
    if (!validatePost(req.body)) {
      const e = schemaError(validatePost, req.body);
      return fail(res, 400, e.code, e.message);
    }
    const b = req.body as { side: 'buy' | 'sell'; energyKWh: number; priceCents: number; delivery: { start: string; end: string }; closesAt?: string; pricing?: 'pay-as-bid' | 'uniform'; sealed?: boolean };
    try {
      const rec = await agg.openAuction({
        side: b.side,
        energyWh: scaleFloor(b.energyKWh, 3),
        limitPriceMcPerKWh: scaleFloor(b.priceCents, 3),
        delivery: { startMs: Date.parse(b.delivery.start), endMs: Date.parse(b.delivery.end) },
        ...(b.closesAt ? { closesAtMs: Date.parse(b.closesAt) } : {}),
        ...(b.pricing ? { pricing: b.pricing } : {}),
        ...(b.sealed !== undefined ? { sealed: b.sealed } : {}),
      }, 'manual');
      res.status(201).json({ auctionId: rec.auctionId, open: rec.open });
    } catch (err) {
      if (err instanceof AggregatorError) return fail(res, 400, err.code, err.message);
      throw err;
    }
  });

  app.get('/admin/auctions', (_req, res) => {
    res.json({ items: agg.auctions() });
  });

  app.post('/admin/market/orders', async (req, res) => {
    if (market === undefined) return fail(res, 404, 'NOT_FOUND', 'this aggregator runs no P2P market orders');
    if (!validateMarketOrder(req.body)) {
      const e = schemaError(validateMarketOrder, req.body);
      return fail(res, 400, e.code, e.message);
    }
    const b = req.body as { side: 'buy' | 'sell'; energyWh: number; priceMcPerKWh: number; delivery: { start: string; end: string }; intervals?: number };
    try {
      const rec = await market.post({
        side: b.side, energyWh: b.energyWh, priceMcPerKWh: b.priceMcPerKWh,
        delivery: { startMs: Date.parse(b.delivery.start), endMs: Date.parse(b.delivery.end) },
        ...(b.intervals !== undefined ? { intervals: b.intervals } : {}),
      });
      res.status(201).json(rec);
    } catch (err) {
      if (err instanceof VppOrderError) return fail(res, 400, err.code, err.message);
      throw err;
    }
  });

  app.get('/admin/market/orders', (_req, res) => {
    if (market === undefined) return fail(res, 404, 'NOT_FOUND', 'this aggregator runs no P2P market orders');
    res.json({ items: market.orders() });
  });

  app.get('/admin/ledger', (_req, res) => {
    res.json(agg.ledger());
  });

  app.get('/admin/schedule/:day', (req, res) => {
    const day = Number(req.params.day);
    if (!Number.isSafeInteger(day) || day < 0) return fail(res, 400, 'BAD_DAY', 'day must be a non-negative integer');
    const s = agg.schedule(day);
    if (!s) return fail(res, 404, 'NOT_FOUND', `no schedule for day ${day}`);
    res.json({ day, netLoadWh: s });
  });

  app.use((_req, res) => fail(res, 404, 'NOT_FOUND', 'no such route'));
  // body-parser errors (malformed JSON, too large) and anything else: JSON, never HTML
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.too.large') return fail(res, 413, 'TOO_LARGE', 'body over 16 KiB');
    if (err.type === 'entity.parse.failed') return fail(res, 400, 'MALFORMED_JSON', 'body is not JSON');
    fail(res, err.status && err.status < 500 ? err.status : 500, 'INTERNAL', err.status && err.status < 500 ? err.message : 'internal error');
  });
  return app;
}
