/**
 * Server-sent events: live updates for the dashboard. Each client gets a `hello` event
 * on connect, one `facts` event per ingested batch, and a comment line every
 * keepaliveMs so that proxies keep the stream open. The number of clients is bounded.
 */
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { AnalyticsError } from '../analyticsError.js';

export interface SseHub {
  /** express handler for GET /api/events */
  handle(req: Request, res: Response): void;
  broadcast(event: string, data: object, id?: number): void;
  readonly clients: number;
  close(): void;
}

/** a client this far behind (bytes queued) is dropped; it reconnects and refreshes */
const MAX_QUEUED_BYTES = 1024 * 1024;

export function createSseHub(o: { maxClients: number; keepaliveMs: number; log: Logger; hello: () => object }): SseHub {
  const clients = new Set<Response>();
  const send = (res: Response, text: string): void => {
    if (res.writableLength > MAX_QUEUED_BYTES) {
      clients.delete(res);
      o.log.warn({ queued: res.writableLength }, 'sse client too slow: dropped');
      res.destroy();
      return;
    }
    res.write(text);
  };
  const timer = setInterval(() => {
    for (const res of clients) send(res, ': keepalive\n\n');
  }, o.keepaliveMs);
  timer.unref();

  return {
    handle(req, res) {
      if (clients.size >= o.maxClients) throw new AnalyticsError('TOO_MANY_CLIENTS', { reason: `at most ${o.maxClients} live-update clients`, limit: o.maxClients });
      res.status(200);
      res.set({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      res.flushHeaders();
      req.socket.setNoDelay(true);
      res.write(`retry: 3000\nevent: hello\ndata: ${JSON.stringify(o.hello())}\n\n`);
      clients.add(res);
      o.log.debug({ clients: clients.size }, 'sse client connected');
      const drop = (): void => {
        if (clients.delete(res)) o.log.debug({ clients: clients.size }, 'sse client gone');
      };
      req.on('close', drop);
      res.on('error', drop);
    },
    broadcast(event, data, id) {
      const msg = `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
      for (const res of clients) send(res, msg);
    },
    get clients() {
      return clients.size;
    },
    close() {
      clearInterval(timer);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
