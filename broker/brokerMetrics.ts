/**
 * Prometheus metrics of the broker, in their own prom-client Registry (several
 * brokers may live in one process, e.g. in tests), and a tiny HTTP server for them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';

export interface BrokerMetrics {
  registry: Registry;
  messagesIn: Counter<'result'>;
  messagesOut: Counter;
  rejects: Counter<'code'>;
  authFailures: Counter<'reason'>;
  subscribeDenied: Counter;
  revocationKicks: Counter;
  oversizePackets: Counter;
  slowConsumers: Counter;
  stuckPublishes: Counter;
  clientErrors: Counter<'reason'>;
  sessionQueueDrops: Counter<'reason'>;
  serviceStuckCloses: Counter;
}

export function createBrokerMetrics(
  connectedClients: () => number,
  limitedQueues: () => { sessions: number; messages: number; bytes: number } | undefined = () => undefined,
  held: () => { waiting: number; total: number; episodes: number; serviceQueue: number; serviceQueueBytes: number } | undefined = () => undefined,
): BrokerMetrics {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({
    name: 'tmi_broker_service_queue_bytes',
    help: 'payload bytes held for the online platform service furthest behind, until it acknowledges them (the hold applies to this)',
    registers,
    collect() {
      const h = held();
      if (h) this.set(h.serviceQueueBytes);
    },
  });
  new Gauge({
    name: 'tmi_broker_service_queue_messages',
    help: 'messages held for the online platform service (aggregator, node, analytics, admin) furthest behind in bytes, until it acknowledges them',
    registers,
    collect() {
      const h = held();
      if (h) this.set(h.serviceQueue);
    },
  });
  // [BROKER-HOLD] homes' publishes waiting for a lagging platform service
  new Gauge({
    name: 'tmi_broker_held_publishes',
    help: 'QoS 1 publishes of homes waiting (not yet forwarded or acknowledged) because a platform service lags',
    registers,
    collect() {
      const h = held();
      if (h) this.set(h.waiting);
    },
  });
  new Gauge({
    name: 'tmi_broker_held_publishes_total',
    help: 'QoS 1 publishes of homes that have waited for a lagging platform service, since the start',
    registers,
    collect() {
      const h = held();
      if (h) this.set(h.total);
    },
  });
  new Gauge({
    name: 'tmi_broker_hold_episodes_total',
    help: 'times the broker began to hold homes\' publishes for a lagging platform service, since the start',
    registers,
    collect() {
      const h = held();
      if (h) this.set(h.episodes);
    },
  });
  // [SESSION-CAP] what limited persistent sessions hold (absent with Redis: not limited there)
  new Gauge({
    name: 'tmi_broker_session_queue_messages',
    help: 'messages held for limited persistent sessions (every client but the platform services) until acknowledged',
    registers,
    collect() {
      const l = limitedQueues();
      if (l) this.set(l.messages);
    },
  });
  new Gauge({
    name: 'tmi_broker_session_queue_bytes',
    help: 'payload bytes held for limited persistent sessions until acknowledged (the limit applies to this total)',
    registers,
    collect() {
      const l = limitedQueues();
      if (l) this.set(l.bytes);
    },
  });
  new Gauge({
    name: 'tmi_broker_connected_clients',
    help: 'MQTT clients connected and logged in',
    registers,
    collect() {
      this.set(connectedClients());
    },
  });
  return {
    registry,
    messagesIn: new Counter({
      name: 'tmi_broker_messages_in_total',
      help: 'PUBLISH packets received from clients, by result (accepted, rejected)',
      labelNames: ['result'] as const,
      registers,
    }),
    messagesOut: new Counter({ name: 'tmi_broker_messages_out_total', help: 'messages forwarded to subscribers', registers }),
    rejects: new Counter({
      name: 'tmi_broker_rejects_total',
      help: 'rejected PUBLISH packets by error code',
      labelNames: ['code'] as const,
      registers,
    }),
    authFailures: new Counter({
      name: 'tmi_broker_auth_failures_total',
      help: 'refused logins by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    subscribeDenied: new Counter({ name: 'tmi_broker_subscribe_denied_total', help: 'subscriptions refused by the ACL', registers }),
    revocationKicks: new Counter({ name: 'tmi_broker_revocation_disconnects_total', help: 'connections closed because the meter was revoked', registers }),
    oversizePackets: new Counter({ name: 'tmi_broker_oversize_packets_total', help: 'connections closed for a packet over the size limit', registers }),
    slowConsumers: new Counter({ name: 'tmi_broker_slow_consumer_disconnects_total', help: 'connections closed because their outgoing backlog passed the limit', registers }),
    stuckPublishes: new Counter({ name: 'tmi_broker_stuck_publishes_total', help: 'publishes not finished 10 s after they arrived (their connection is not read meanwhile)', registers }),
    serviceStuckCloses: new Counter({ name: 'tmi_broker_service_stuck_disconnects_total', help: 'platform services closed for acknowledging nothing while over the hold mark (SERVICE_STUCK)', registers }),
    sessionQueueDrops: new Counter({
      name: 'tmi_broker_session_queue_drops_total',
      help: 'messages not kept for a persistent session because a limit was reached, by reason (session-messages, session-bytes, total-bytes)',
      labelNames: ['reason'] as const,
      registers,
    }),
    clientErrors: new Counter({
      name: 'tmi_broker_client_errors_total',
      help: 'connections ended by an error, by reason (keepalive, reset, pipe, timeout, protocol, other)',
      labelNames: ['reason'] as const,
      registers,
    }),
  };
}

/** Serves GET /metrics; anything else is 404. Resolves once listening. */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`METRICS_FAILED ${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export function portOf(server: { address(): AddressInfo | string | null }): number {
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('NOT_LISTENING');
  return a.port;
}

/** A small fixed set of reasons for client errors, so the metric's labels stay bounded. */
export function clientErrorReason(err: Error): string {
  const m = `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`;
  if (/keep ?alive/i.test(m)) return 'keepalive';
  if (/ECONNRESET/.test(m)) return 'reset';
  if (/EPIPE/.test(m)) return 'pipe';
  if (/ETIMEDOUT|timeout/i.test(m)) return 'timeout';
  if (/SLOW_CONSUMER/.test(m)) return 'slow-consumer';
  if (/PACKET_TOO_LARGE|MALFORMED|Invalid|protocol/i.test(m)) return 'protocol';
  return 'other';
}
