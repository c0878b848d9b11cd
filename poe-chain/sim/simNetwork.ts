/**
 * An in-process MQTT network for the simulator: one broker (or a cluster of brokers that
 * can split) and clients that offer exactly the part of mqtt.js's MqttClient the chain node
 * uses (createChainNode.ts, nodeAdmission.ts): subscribeAsync / unsubscribeAsync,
 * publish / publishAsync with a QoS, the 'message', 'connect' and 'close' events, the
 * `handleMessage(packet, callback)` hook whose callback acknowledges a message and lets
 * the next one be read (the node holds it for backpressure), and `connected`.
 *
 * Every copy of a message goes through the virtual clock (simClock.ts) with a delay drawn
 * from the seed. What the network does to it:
 *
 *   delay      minDelayMs + an exponential part (mean meanExtraMs), at most maxDelayMs
 *   order      reorder false: each (publisher, subscriber) pair keeps its order, as MQTT
 *              keeps a topic's order per publisher; true: any order
 *   drop       dropRate: a copy is lost between brokers (a cluster's pub/sub bus is
 *              fire-and-forget) — for QoS 1 as for QoS 0
 *   duplicate  dupRate: a QoS 1 copy is delivered twice (its acknowledgement was lost)
 *   partition  the sites are split into groups; a copy crosses groups only when both its
 *              sending and its arrival happen while healed
 *   offline    a client disconnected (clean session) or crashed misses what arrives
 *              meanwhile; what it publishes while disconnected waits and is sent on
 *              reconnection (mqtt.js's offline queue), while crashed it is lost
 *
 * Sites: every client belongs to a site (a node and the HEM beside it share one); the
 * partition is over sites.
 */
import { EventEmitter } from 'node:events';
import type { SimClock, SimOwner } from './simClock.js';
import type { SimRandom } from './simRandom.js';

export interface NetworkModel {
  minDelayMs: number;
  meanExtraMs: number;
  maxDelayMs: number;
  dropRate: number;
  dupRate: number;
  reorder: boolean;
}

export interface NetworkCounters {
  published: number;
  copies: number;
  delivered: number;
  dropped: number;
  partitioned: number;
  duplicated: number;
  offline: number;
}

/** MQTT topic filter matching: `+` one level, `#` the rest (and the parent level itself). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const p = f[i]!;
    if (p === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (p !== '+' && p !== t[i]) return false;
  }
  return f.length === t.length;
}

interface Inbound {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
}

export interface PublishPacket {
  cmd: 'publish';
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  messageId: number;
  retain: false;
  dup: false;
}

type Trace = (line: string, payload?: Buffer) => void;

export class SimNetwork {
  private readonly clients = new Map<string, SimMqttClient>();
  /** site → group while partitioned */
  private groups: Map<string, number> | undefined;
  private readonly lastArrival = new Map<string, number>();
  readonly counters: NetworkCounters = { published: 0, copies: 0, delivered: 0, dropped: 0, partitioned: 0, duplicated: 0, offline: 0 };

  constructor(
    readonly clock: SimClock,
    private readonly rng: SimRandom,
    readonly model: NetworkModel,
    private readonly trace: Trace = () => undefined,
  ) {}

  /** a connected client: a new incarnation replaces the previous one of its id */
  connect(clientId: string, site: string, owner: SimOwner): SimMqttClient {
    const old = this.clients.get(clientId);
    if (old) old.vanish();
    const c = new SimMqttClient(this, clientId, site, owner);
    this.clients.delete(clientId);
    this.clients.set(clientId, c);
    this.trace(`connect ${clientId}`);
    return c;
  }

  client(clientId: string): SimMqttClient | undefined {
    return this.clients.get(clientId);
  }

  /** a crash: the client is gone without a word; what is on its way to it is lost */
  kill(clientId: string): void {
    const c = this.clients.get(clientId);
    if (!c) return;
    c.vanish();
    this.trace(`kill ${clientId}`);
  }

  disconnect(clientId: string): void {
    this.clients.get(clientId)?.dropConnection();
    this.trace(`disconnect ${clientId}`);
  }

  reconnect(clientId: string): void {
    this.clients.get(clientId)?.restoreConnection();
    this.trace(`reconnect ${clientId}`);
  }

  /** splits the sites into groups (a site in none is alone) */
  partition(groups: readonly (readonly string[])[]): void {
    this.groups = new Map();
    groups.forEach((g, i) => g.forEach((site) => this.groups!.set(site, i)));
    this.trace(`partition ${groups.map((g) => g.join(',')).join(' | ')}`);
  }

  heal(): void {
    this.groups = undefined;
    this.trace('heal');
  }

  get partitioned(): boolean {
    return this.groups !== undefined;
  }

  reachable(a: string, b: string): boolean {
    if (a === b || !this.groups) return true;
    const ga = this.groups.get(a);
    return ga !== undefined && ga === this.groups.get(b);
  }

  /** @internal a client's publish: a copy to every subscriber whose filter matches */
  route(from: SimMqttClient, topic: string, payload: Buffer, qos: 0 | 1 | 2): void {
    const m = this.model;
    this.counters.published++;
    this.trace(`pub ${from.clientId} ${topic} ${payload.length}`, payload);
    for (const to of this.clients.values()) {
      const subQos = to.subscribedQos(topic);
      if (subQos === undefined || !to.alive) continue;
      const q = Math.min(qos, subQos) as 0 | 1 | 2;
      if (!this.reachable(from.site, to.site)) {
        this.counters.partitioned++;
        continue;
      }
      if (this.rng.chance(m.dropRate)) {
        this.counters.dropped++;
        this.trace(`drop ${from.clientId}>${to.clientId}`);
        continue;
      }
      const copies = q >= 1 && this.rng.chance(m.dupRate) ? 2 : 1;
      if (copies === 2) this.counters.duplicated++;
      for (let i = 0; i < copies; i++) {
        const delay = Math.min(m.maxDelayMs, m.minDelayMs + (m.meanExtraMs > 0 ? this.rng.exp(m.meanExtraMs) : 0));
        let at = this.clock.now() + delay;
        if (!m.reorder) {
          const pair = `${from.clientId}\u0000${to.clientId}`;
          at = Math.max(at, this.lastArrival.get(pair) ?? 0);
          this.lastArrival.set(pair, at);
        }
        this.counters.copies++;
        this.clock.at(at, 'net', () => this.arrive(from.site, from.clientId, to, { topic, payload, qos: q }));
      }
    }
  }

  private arrive(fromSite: string, fromId: string, to: SimMqttClient, m: Inbound): void {
    if (!to.alive || !to.connected) {
      this.counters.offline++;
      this.trace(`offline ${fromId}>${to.clientId}`);
      return;
    }
    if (!this.reachable(fromSite, to.site)) {
      this.counters.partitioned++;
      this.trace(`cut ${fromId}>${to.clientId}`);
      return;
    }
    this.counters.delivered++;
    this.trace(`dlv ${fromId}>${to.clientId} ${m.topic}`);
    to.receive(m);
  }
}

/**
 * The part of mqtt.js's MqttClient the chain node uses. QoS 1 copies are handed over one at
 * a time: 'message' is emitted, then `handleMessage(packet, callback)`; the next copy is
 * read only after the callback (mqtt.js sends the PUBACK and reads on), so a node that holds
 * the callback holds its input, as over a socket.
 */
export class SimMqttClient extends EventEmitter {
  connected = true;
  alive = true;
  readonly options: { clientId: string };
  private readonly subs = new Map<string, 0 | 1 | 2>();
  private inbox: Inbound[] = [];
  private busy = false;
  private connection = 0;
  private messageId = 0;
  private offlineQueue: Inbound[] = [];

  constructor(
    private readonly net: SimNetwork,
    readonly clientId: string,
    readonly site: string,
    private readonly owner: SimOwner,
  ) {
    super();
    this.options = { clientId };
  }

  /** mqtt.js's hook for an incoming publish; the callback acknowledges it (the node may wrap it) */
  handleMessage(_packet: PublishPacket, callback: (err?: Error) => void): void {
    callback();
  }

  subscribedQos(topic: string): 0 | 1 | 2 | undefined {
    let best: 0 | 1 | 2 | undefined;
    for (const [filter, qos] of this.subs) if (topicMatches(filter, topic) && (best === undefined || qos > best)) best = qos;
    return best;
  }

  subscribeAsync(topics: string | string[] | Record<string, { qos: 0 | 1 | 2 }>, opts: { qos?: 0 | 1 | 2 } = {}): Promise<{ topic: string; qos: number }[]> {
    const list: [string, 0 | 1 | 2][] =
      typeof topics === 'string' ? [[topics, opts.qos ?? 0]] : Array.isArray(topics) ? topics.map((t) => [t, opts.qos ?? 0]) : Object.entries(topics).map(([t, o]) => [t, o.qos]);
    for (const [t, q] of list) this.subs.set(t, q);
    return Promise.resolve(list.map(([topic, qos]) => ({ topic, qos })));
  }

  unsubscribeAsync(topics: string | string[]): Promise<void> {
    for (const t of typeof topics === 'string' ? [topics] : topics) this.subs.delete(t);
    return Promise.resolve();
  }

  publish(topic: string, message: string | Buffer, opts?: { qos?: 0 | 1 | 2 } | ((err?: Error) => void), cb?: (err?: Error) => void): this {
    const o = typeof opts === 'function' ? {} : opts ?? {};
    const done = typeof opts === 'function' ? opts : cb;
    const m: Inbound = { topic, payload: typeof message === 'string' ? Buffer.from(message, 'utf8') : message, qos: o.qos ?? 0 };
    if (!this.alive) return this;
    if (!this.connected) this.offlineQueue.push(m);
    else this.net.route(this, m.topic, m.payload, m.qos);
    if (done) this.net.clock.soon(`${this.clientId}:puback`, () => done(), this.owner);
    return this;
  }

  publishAsync(topic: string, message: string | Buffer, opts?: { qos?: 0 | 1 | 2 }): Promise<void> {
    return new Promise((resolve) => this.publish(topic, message, opts ?? {}, () => resolve()));
  }

  endAsync(): Promise<void> {
    this.vanish();
    return Promise.resolve();
  }

  /** @internal a copy arrives */
  receive(m: Inbound): void {
    this.inbox.push(m);
    this.pump();
  }

  private pump(): void {
    if (this.busy || !this.connected || !this.alive) return;
    const m = this.inbox.shift();
    if (!m) return;
    this.busy = true;
    const at = this.connection;
    const packet: PublishPacket = { cmd: 'publish', topic: m.topic, payload: m.payload, qos: m.qos, messageId: (this.messageId = (this.messageId % 65535) + 1), retain: false, dup: false };
    this.emit('message', m.topic, m.payload, packet);
    this.handleMessage(packet, () => {
      if (at !== this.connection || !this.alive) return; // acknowledged on a connection that is gone
      this.busy = false;
      if (this.inbox.length > 0) this.net.clock.soon(`${this.clientId}:read`, () => this.pump(), this.owner);
    });
  }

  /** @internal the connection drops (clean session: what waits for it is lost) */
  dropConnection(): void {
    if (!this.alive || !this.connected) return;
    this.connected = false;
    this.connection++;
    this.inbox = [];
    this.busy = false;
    this.net.clock.soon(`${this.clientId}:close`, () => this.emit('close'), this.owner);
  }

  /** @internal reconnected: 'connect', then what was published offline goes out */
  restoreConnection(): void {
    if (!this.alive || this.connected) return;
    this.connected = true;
    this.net.clock.soon(
      `${this.clientId}:connect`,
      () => {
        this.emit('connect', { cmd: 'connack', returnCode: 0, sessionPresent: false });
        const queued = this.offlineQueue;
        this.offlineQueue = [];
        for (const m of queued) {
          if (this.connected) this.net.route(this, m.topic, m.payload, m.qos);
          else this.offlineQueue.push(m);
        }
      },
      this.owner,
    );
  }

  /** @internal crashed or replaced: no events, nothing in or out */
  vanish(): void {
    this.alive = false;
    this.connected = false;
    this.connection++;
    this.inbox = [];
    this.offlineQueue = [];
  }
}
