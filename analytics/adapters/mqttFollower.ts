/**
 * The MQTT follower: logs in as the `analytics` role (username = meterId, password = a
 * fresh login token signed by the meter key, made again before every reconnect),
 * subscribes to tmi/v1/#, decodes every message with the codec (schema + signature; the
 * replay check is off: analytics is a follower and the store's keys absorb repeats),
 * maps it to facts and ingests them in small batches. Blocks (and the blocks of observed
 * sync responses) also go to the chain follower, when there is one.
 *
 * [AN-F1] Never publishes. [AN-F2] A message that fails to decode is counted by error
 * code and dropped. [AN-F3] A fact that fails its schema is counted and dropped alone,
 * never taking its batch with it. [AN-F4] At most maxQueued facts wait for the store;
 * beyond that new facts are dropped and counted.
 */
import type { KeyObject } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { createCodec, type Codec } from '../../wire/codec.js';
import type { KeyPair } from '../../wire/keys.js';
import { makeLoginToken } from '../../wire/loginToken.js';
import { checkFact, type Fact } from '../facts.js';
import type { ChainFollower } from './chainFollower.js';
import { createFactMapper, type FactMapperStats } from './messageFacts.js';

export interface MqttFollowerOptions {
  url: string;
  meterId: string;
  meterKey: KeyPair;
  ingest: (facts: Fact[]) => Promise<unknown>;
  log: Logger;
  chain?: ChainFollower;
  /** key of a signer whose clientId is not an address */
  resolveKey?: (clientId: string) => KeyObject | undefined;
  /** PEM CA bundle for mqtts:// */
  ca?: string | Buffer;
  topic?: string;
  /** flush period of the fact batches, default 200 ms */
  batchMs?: number;
  /** most facts per ingest call, default 2,000 */
  maxBatch?: number;
  /** most facts waiting for the store, default 100,000 */
  maxQueued?: number;
  reconnectMs?: number;
  now?: () => number;
}

export interface MqttFollowerStats {
  connected: boolean;
  messages: number;
  facts: number;
  /** messages that failed to decode, by WireError code */
  rejected: Record<string, number>;
  /** facts that failed their schema, by fact kind */
  badFacts: Record<string, number>;
  dropped: number;
  ingestErrors: number;
  mapper: FactMapperStats;
}

export interface MqttFollower {
  readonly client: MqttClient;
  /** resolves once subscribed (after the first connect) */
  ready(): Promise<void>;
  stats(): MqttFollowerStats;
  /** ingests what is queued, then disconnects */
  close(): Promise<void>;
}

export function createMqttFollower(o: MqttFollowerOptions): MqttFollower {
  const now = o.now ?? Date.now;
  const log = o.log.child({ adapter: 'mqtt-follower' });
  const codec: Codec = createCodec({ replayCheck: false, ...(o.resolveKey ? { resolveKey: o.resolveKey } : {}) });
  const mapper = createFactMapper({ decodeValue: (v) => codec.decodeValue(v, { replayCheck: false }) });
  const topic = o.topic ?? 'tmi/v1/#';
  const batchMs = o.batchMs ?? 200;
  const maxBatch = o.maxBatch ?? 2_000;
  const maxQueued = o.maxQueued ?? 100_000;
  const st = { messages: 0, facts: 0, rejected: {} as Record<string, number>, badFacts: {} as Record<string, number>, dropped: 0, ingestErrors: 0 };

  let queue: Fact[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let resolveReady: () => void = () => undefined;
  const readyP = new Promise<void>((r) => (resolveReady = r));

  const token = (): string => makeLoginToken(o.meterKey, o.meterId, now());
  const opts: IClientOptions = {
    clientId: o.meterId,
    username: o.meterId,
    password: token(),
    clean: false,
    protocolVersion: 4,
    keepalive: 30,
    reconnectPeriod: o.reconnectMs ?? 2000,
    connectTimeout: 10_000,
    resubscribe: false,
    ...(o.ca !== undefined ? { ca: o.ca, rejectUnauthorized: true } : {}),
  };
  const client = mqtt.connect(o.url, opts);
  // any packet from the broker shows the connection is alive (platform/mqttLogin.ts [LOGIN-KA])
  client.on('packetreceive', () => client.reschedulePing(true));
  client.on('reconnect', () => {
    client.options.password = token();
  });
  client.on('connect', (connack) => {
    log.info({ sessionPresent: connack.sessionPresent }, 'connected to broker');
    if (connack.sessionPresent) {
      resolveReady();
      return;
    }
    client.subscribe(topic, { qos: 1 }, (err) => {
      if (err) log.error({ err: err.message }, 'subscribe failed');
      else resolveReady();
    });
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'mqtt error'));
  client.on('message', (_topic, payload) => onMessage(payload));

  function onMessage(payload: Buffer): void {
    st.messages++;
    let env;
    try {
      env = codec.decode(payload);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ERROR';
      st.rejected[code] = (st.rejected[code] ?? 0) + 1;
      log.debug({ code }, 'message rejected');
      return;
    }
    if (o.chain !== undefined) {
      if (env.operation === 'block') void o.chain.offer(env);
      else if (env.operation === 'sync-response') for (const b of env.parameters.blocks) void o.chain.offer(b);
    }
    for (const f of mapper.facts(env)) {
      try {
        checkFact(f);
      } catch {
        st.badFacts[f.kind] = (st.badFacts[f.kind] ?? 0) + 1;
        continue;
      }
      if (queue.length >= maxQueued) {
        st.dropped++;
        continue;
      }
      queue.push(f);
      st.facts++;
    }
    if (queue.length >= maxBatch) void flush();
    else if (timer === undefined && queue.length > 0) timer = setTimeout(() => void flush(), batchMs);
  }

  function flush(): Promise<void> {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    flushing = flushing.then(async () => {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        try {
          await o.ingest(batch);
        } catch (err) {
          st.ingestErrors++;
          log.error({ err, facts: batch.length }, 'ingest failed');
        }
      }
    });
    return flushing;
  }

  return {
    client,
    ready: () => readyP,
    stats: () => ({ connected: client.connected, ...st, rejected: { ...st.rejected }, badFacts: { ...st.badFacts }, mapper: { ...mapper.stats } }),
    async close() {
      await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
      await flush();
    },
  };
}
