/**
 * An mqtt.js session logged in with a signed token (DESIGN §4). The token is renewed on
 * every reconnect, since a token is only valid for a minute.
 */
import { once, type EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { makeLoginToken } from '../wire/loginToken.js';
import type { KeyPair } from '../wire/keys.js';
import { settlesWithin } from '../wire/settlesWithin.js';

export interface LoginOptions {
  url: string;
  meterId: string;
  key: KeyPair;
  /** persistent session (default true) */
  persistent?: boolean;
  extra?: Partial<IClientOptions>;
}

export function loginOptions(o: LoginOptions): IClientOptions {
  return {
    clientId: o.meterId,
    username: o.meterId,
    password: makeLoginToken(o.key, o.meterId),
    clean: !(o.persistent ?? true),
    reconnectPeriod: 1000,
    // a refused CONNACK (e.g. the broker cannot reach the registry just after a restart)
    // is retried like a dropped connection, with a fresh token
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
    protocolVersion: 4,
    ...o.extra,
  };
}

/**
 * [LOGIN-KA] Any packet from the broker shows the connection is alive. mqtt.js counts only
 * acknowledgements and PINGRESP: a client that mostly receives (the chain node, the
 * aggregator, analytics: thousands of readings a second under load) sends a PINGREQ every
 * keepalive and closes the connection itself when the PINGRESP, queued behind that
 * backlog, takes longer than half a keepalive. The 10,000-home soak saw this as 6–11
 * "socket closed" per run on the counting subscriber and the chain node.
 */
export function keepAliveOnTraffic(client: MqttClient): void {
  client.on('packetreceive', () => client.reschedulePing(true));
}

/**
 * [LOGIN-Q] Hold every incoming message (and with it its PUBACK and every packet after it)
 * until the client has a 'message' listener. A persistent session's queued QoS 1 messages
 * arrive right after CONNACK, before the caller of `connectWithLogin` has had the client
 * back to attach its handler; mqtt.js emits a message and PUBACKs it whether or not anyone
 * listens, so a service restarted with messages queued for it acknowledged and lost them.
 * A hold that outlives its connection is dropped: the broker sends the message again.
 */
export function holdMessagesUntilListened(client: MqttClient): void {
  let waiting: Array<() => void> = [];
  client.options.customHandleAcks = (_topic, _message, _packet, done) => {
    if (client.listenerCount('message') > 0) return done(0);
    waiting.push(() => done(0));
  };
  (client as unknown as EventEmitter).on('newListener', (event: string | symbol) => {
    // 'newListener' fires before the listener is added
    if (event === 'message') queueMicrotask(() => {
      const ready = waiting;
      waiting = [];
      for (const release of ready) release();
    });
  });
  client.on('close', () => void (waiting = []));
}

export async function connectWithLogin(o: LoginOptions): Promise<MqttClient> {
  const client = mqtt.connect(o.url, loginOptions(o));
  holdMessagesUntilListened(client);
  try {
    await once(client as unknown as EventEmitter, 'connect'); // rejects on 'error'
  } catch (err) {
    client.end(true);
    throw err;
  }
  // small packets go out at once: Nagle's algorithm costs ~30 ms per hop on loopback
  const noDelay = () => (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
  noDelay();
  client.on('connect', noDelay);
  // a fresh token for every reconnect
  client.on('close', () => {
    client.options.password = makeLoginToken(o.key, o.meterId);
  });
  keepAliveOnTraffic(client);
  return client;
}

/**
 * Ends a client, waiting for its messages in flight at most `ms`; then ends it at once
 * (`end(true)`). A stop must not wait for ever on a broker that stopped answering. True when
 * it ended cleanly.
 */
export async function endClient(client: MqttClient, ms = 3_000): Promise<boolean> {
  const clean = await settlesWithin(client.endAsync(), ms);
  if (!clean) await client.endAsync(true);
  return clean;
}
