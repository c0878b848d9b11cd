/**
 * The HEM's one MQTT session with the platform broker (DESIGN §3, §4).
 *
 * [HEM-S1] clientId = username = meterId; password = a fresh login token signed by the
 *          meter key, made again before every (re)connect (tokens are single-use).
 * [HEM-S2] clean: false (a persistent session: subscriptions and QoS 1 messages for the
 *          HEM survive short outages); subscriptions are (re)made when the broker says it
 *          has no session for us.
 * [HEM-S3] When the connection drops, unacknowledged publishes are taken back from
 *          mqtt.js (its in-memory store would resend stale envelopes); the outbox sends
 *          them again, in order, after the reconnect (outboxPump.ts [HEM-Q2]).
 * [HEM-S4] A refused login (CONNACK ≠ 0) is retried like a lost connection (mqtt.js
 *          gives up after one by default): the cause may pass — the broker could not
 *          reach the registry, or the clock was wrong and NTP has set it since. Each
 *          refusal is logged as `login-refused` with what the code means, at most once a
 *          minute per code, and reported to `onRefused`.
 * [HEM-S5] writeCache: false. mqtt-packet otherwise pre-builds a Buffer for every number
 *          0–65535 (65,536 objects, 6 MB of heap) to write packet ids and lengths a little
 *          faster; a HEM sends a few messages a minute.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { requireCjs } from '../wire/requireCjs.js';
import type { KeyPair } from '../wire/keys.js';
import { makeLoginToken } from '../wire/loginToken.js';
import { loginRefusal } from './clockCheck.js';
import type { Transport } from './outboxPump.js';

export interface MqttSessionOptions {
  url: string;
  meterId: string;
  meterKey: KeyPair;
  subscriptions: readonly string[];
  /** PEM CA bundle for mqtts:// */
  ca?: string | Buffer;
  keepaliveS?: number;
  reconnectMs?: number;
  connectTimeoutMs?: number;
  now?: () => number;
  log?: Logger;
  onMessage(topic: string, payload: Buffer, retained: boolean): void;
  onConnect?(): void;
  onClose?(): void;
  /** a refused login (CONNACK return code), e.g. to check the clock on code 4 */
  onRefused?(returnCode: number): void;
}

export interface MqttSession extends Transport {
  readonly client: MqttClient;
  close(): Promise<void>;
}

export function createMqttSession(o: MqttSessionOptions): MqttSession {
  const now = o.now ?? Date.now;
  const token = (): string => makeLoginToken(o.meterKey, o.meterId, now());
  const opts: IClientOptions = {
    clientId: o.meterId,
    username: o.meterId,
    password: token(),
    clean: false, // [HEM-S2]
    protocolVersion: 4,
    keepalive: o.keepaliveS ?? 30,
    reconnectPeriod: o.reconnectMs ?? 2000,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    resubscribe: false,
    queueQoSZero: false,
    reconnectOnConnackError: true, // [HEM-S4]
    writeCache: false, // [HEM-S5]
    ...(o.ca !== undefined ? { ca: o.ca, rejectUnauthorized: true } : {}),
  };
  const mqtt = requireCjs('mqtt') as typeof import('mqtt');
  const client = mqtt.connect(o.url, opts);
  // small packets go out at once: Nagle's algorithm costs ~30 ms per hop
  client.on('connect', () => (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true));
  // [HEM-S1] a fresh token for every reconnect
  client.on('reconnect', () => {
    client.options.password = token();
  });
  client.on('connect', (connack) => {
    o.log?.info({ event: 'mqtt-connected', sessionPresent: connack.sessionPresent }, 'connected to broker');
    if (!connack.sessionPresent) {
      client.subscribe([...o.subscriptions], { qos: 1 }, (err) => {
        if (err) o.log?.error({ event: 'mqtt-subscribe-failed', err: err.message }, 'subscribe failed');
      });
    }
    o.onConnect?.();
  });
  client.on('close', () => {
    // [HEM-S3]
    const outgoing = (client as unknown as { outgoing: Record<string, unknown> }).outgoing;
    for (const id of Object.keys(outgoing)) client.removeOutgoingMessage(Number(id));
    o.onClose?.();
  });
  const refusalLoggedAt = new Map<number, { at: number; count: number }>();
  client.on('error', (err) => {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'number' || !(code > 0)) {
      o.log?.warn({ event: 'mqtt-error', err: err.message }, 'mqtt error');
      return;
    }
    // [HEM-S4]
    const t = now();
    const seen = refusalLoggedAt.get(code);
    if (seen && t - seen.at < 60_000) seen.count++;
    else {
      o.log?.error({ event: 'login-refused', returnCode: code, reason: loginRefusal(code), refusedSinceLastLine: seen?.count ?? 0 }, 'the broker refused the login');
      refusalLoggedAt.set(code, { at: t, count: 0 });
    }
    o.onRefused?.(code);
  });
  client.on('connect', () => refusalLoggedAt.clear());
  client.on('message', (topic, payload, packet) => o.onMessage(topic, payload, packet.retain === true));

  return {
    client,
    get connected() {
      return client.connected;
    },
    publish(topic, payload, qos) {
      return new Promise<void>((resolve, reject) => {
        client.publish(topic, payload, { qos }, (err) => (err ? reject(err) : resolve()));
      });
    },
    close() {
      return new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    },
  };
}
