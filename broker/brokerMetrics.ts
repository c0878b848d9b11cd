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
  /** a gauge read at each scrape; absent while `value` is undefined (with Redis, say) */
  const gauge = (name: string, help: string, value: () => number | undefined) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const v = value();
        if (v !== undefined) this.set(v);
      },
    });
  gauge('tmi_broker_connected_clients', 'MQTT clients connected and logged in', connectedClients);
  // [BROKER-HOLD] the furthest-behind online service, and the homes' publishes waiting for it
  gauge('tmi_broker_service_queue_bytes', 'payload bytes held for the online platform service furthest behind, until it acknowledges them (the hold applies to this)', () => held()?.serviceQueueBytes);
  gauge('tmi_broker_service_queue_messages', 'messages held for the online platform service (aggregator, node, analytics, admin) furthest behind in bytes, until it acknowledges them', () => held()?.serviceQueue);
  gauge('tmi_broker_held_publishes', 'QoS 1 publishes of homes waiting (not yet forwarded or acknowledged) because a platform service lags', () => held()?.waiting);
  gauge('tmi_broker_held_publishes_total', 'QoS 1 publishes of homes that have waited for a lagging platform service, since the start', () => held()?.total);
  gauge('tmi_broker_hold_episodes_total', "times the broker began to hold homes' publishes for a lagging platform service, since the start", () => held()?.episodes);
  // [SESSION-CAP] what limited persistent sessions hold (absent with Redis: not limited there)
  gauge('tmi_broker_session_queue_messages', 'messages held for limited persistent sessions (every client but the platform services) until acknowledged', () => limitedQueues()?.messages);
  gauge('tmi_broker_session_queue_bytes', 'payload bytes held for limited persistent sessions until acknowledged (the limit applies to this total)', () => limitedQueues()?.bytes);
  /** a counter with one label */
  const labelled = <L extends string>(name: string, help: string, label: L) => new Counter<L>({ name, help, labelNames: [label] as const, registers });
  return {
    registry,
    messagesIn: labelled('tmi_broker_messages_in_total', 'PUBLISH packets received from clients, by result (accepted, rejected)', 'result' as const),
    messagesOut: new Counter({ name: 'tmi_broker_messages_out_total', help: 'messages forwarded to subscribers', registers }),
    rejects: labelled('tmi_broker_rejects_total', 'rejected PUBLISH packets by error code', 'code' as const),
    authFailures: labelled('tmi_broker_auth_failures_total', 'refused logins by reason', 'reason' as const),
    subscribeDenied: new Counter({ name: 'tmi_broker_subscribe_denied_total', help: 'subscriptions refused by the ACL', registers }),
    revocationKicks: new Counter({ name: 'tmi_broker_revocation_disconnects_total', help: 'connections closed because the meter was revoked', registers }),
    oversizePackets: new Counter({ name: 'tmi_broker_oversize_packets_total', help: 'connections closed for a packet over the size limit', registers }),
    slowConsumers: new Counter({ name: 'tmi_broker_slow_consumer_disconnects_total', help: 'connections closed because their outgoing backlog passed the limit', registers }),
    stuckPublishes: new Counter({ name: 'tmi_broker_stuck_publishes_total', help: 'publishes not finished 10 s after they arrived (their connection is not read meanwhile)', registers }),
    serviceStuckCloses: new Counter({ name: 'tmi_broker_service_stuck_disconnects_total', help: 'platform services closed for acknowledging nothing while over the hold mark (SERVICE_STUCK)', registers }),
    sessionQueueDrops: labelled('tmi_broker_session_queue_drops_total', 'messages not kept for a persistent session because a limit was reached, by reason (session-messages, session-bytes, total-bytes)', 'reason' as const),
    clientErrors: labelled('tmi_broker_client_errors_total', 'connections ended by an error, by reason (keepalive, reset, pipe, timeout, protocol, other)', 'reason' as const),
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
