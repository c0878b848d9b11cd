/**
 * [BROKER-QUEUE] A persistent session's outgoing queue, indexed.
 *
 * aedes keeps every QoS 1 message for a persistent session (clean = false) in its
 * persistence's outgoing queue until the subscriber acknowledges it. The in-memory
 * persistence holds that queue as an array and finds a message by scanning it, twice per
 * message: once to give it a packet id (`outgoingUpdate`), once to remove it on PUBACK
 * (`outgoingClearMessageId`). A subscriber that falls a few thousand messages behind (the
 * aggregator's chain node, a counting subscriber, in a burst of 10,000 bids) makes every
 * forward and every acknowledgement as slow as its backlog is long: the broker's thread
 * then spends itself scanning, the backlog grows, and publishes from every client wait
 * (a 10,000-home soak at 90× measured 72 s of one 160-s day in `outgoingUpdate` alone).
 *
 * Here the same queue is a Map in insertion order with two indexes (the message's
 * broker id and counter; its packet id), so both operations cost the same whatever the
 * backlog. The behaviour is the memory persistence's, operation for operation (its
 * first-match rules included); a test checks the two against each other on random
 * sequences. Only the in-memory persistence is replaced; a Redis-backed one is left as is.
 *
 * [SESSION-CAP] The same queues are bounded (mosquitto's `max_queued_messages`, and
 * bytes): a client that reads its messages but never acknowledges them, or a persistent
 * session that stays away, would otherwise make the broker hold every QoS 1 message its
 * subscriptions match, for ever. A message that would take a limited session past its
 * message or byte limit, or all limited sessions together past their shared byte limit, is
 * not queued for it: an online client still gets it once, without redelivery, and the drop
 * is counted. The platform's own services (limits undefined) are not limited. A clean start
 * discards the session's queue, as MQTT says (aedes-persistence 11 keeps it).
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

/** the fields aedes-packet's Packet copies (aedes-persistence stores `new Packet(packet)`) */
export interface QueuedPacket {
  cmd: string;
  brokerId?: string;
  brokerCounter: number;
  topic: string;
  payload: unknown;
  qos: number;
  retain: boolean;
  dup: boolean;
  messageId?: number;
  clientId?: string;
  nl?: unknown;
  properties?: unknown;
  messageExpiry?: unknown;
}

type PacketLike = Partial<QueuedPacket> & Record<string, unknown>;

/**
 * The copy the memory persistence queues: aedes-packet's Packet, taken from the
 * aedes-persistence that aedes itself loads (it re-exports it), so the two cannot differ.
 */
const aedesPersistence = createRequire(createRequire(import.meta.url).resolve('aedes'))('aedes-persistence') as {
  (): Record<string, (...a: unknown[]) => Promise<unknown>>;
  Packet: new (original: PacketLike) => QueuedPacket;
};
const Packet = aedesPersistence.Packet;

/** aedes' default persistence as shipped (in memory), for the test and bench that compare against it */
export const shippedMemoryPersistence = (): Record<string, (...a: unknown[]) => Promise<unknown>> => aedesPersistence();
const copyPacket = (original: PacketLike): QueuedPacket => new Packet(original);

/**
 * seqs per key. Sets, not arrays: every message waits with no packet id (key undefined)
 * until it is sent, so that key can hold the whole backlog, and removing from an array of
 * it would be the scan this file exists to avoid. That key has its own Set: kept in the Map
 * beside the numbers, its churn made every operation slow with the backlog (V8, measured:
 * 50 µs an operation at 30,000 entries).
 */
class MultiIndex<K> {
  private readonly m = new Map<K, Set<number>>();
  private readonly undef = new Set<number>();
  add(k: K, seq: number): void {
    if (k === undefined) {
      this.undef.add(seq);
      return;
    }
    const l = this.m.get(k);
    if (l) l.add(seq);
    else this.m.set(k, new Set([seq]));
  }
  remove(k: K, seq: number): void {
    if (k === undefined) {
      this.undef.delete(seq);
      return;
    }
    const l = this.m.get(k);
    if (!l) return;
    l.delete(seq);
    if (l.size === 0) this.m.delete(k);
  }
  get(k: K): Iterable<number> {
    if (k === undefined) return this.undef;
    return this.m.get(k) ?? [];
  }
}

const keyOf = (p: { brokerId?: string | undefined; brokerCounter?: number | undefined }) => `${p.brokerId ?? ''}\u0000${p.brokerCounter ?? ''}`;

/** One client's queue: the order of a Map, found by broker key or by packet id at once. */
/** the bytes a queued message holds, as counted against the limits: its payload */
export function payloadBytes(p: { payload?: unknown }): number {
  const b = p.payload;
  if (typeof b === 'string') return Buffer.byteLength(b);
  if (b instanceof Uint8Array) return b.byteLength;
  return 0;
}

export class OutgoingQueue {
  private seq = 0;
  private readonly items = new Map<number, QueuedPacket>();
  private readonly byKey = new MultiIndex<string>();
  private readonly byMessageId = new MultiIndex<number | undefined>();
  /** payload bytes held */
  bytes = 0;

  get size(): number {
    return this.items.size;
  }

  push(p: QueuedPacket): void {
    const s = ++this.seq;
    this.bytes += payloadBytes(p);
    this.items.set(s, p);
    this.byKey.add(keyOf(p), s);
    this.byMessageId.add(p.messageId, s);
  }

  /**
   * aedes-persistence `outgoingUpdate`: the first queued message that is either this one
   * (same broker id and counter: it takes the packet id) or another broker's message with
   * this packet id (replaced by this packet). Throws 'no such packet' as it does.
   */
  update(packet: PacketLike): void {
    let sameKey: number | undefined;
    for (const s of this.byKey.get(keyOf(packet))) {
      const q = this.items.get(s)!;
      if (q.brokerId === packet.brokerId && q.brokerCounter === packet.brokerCounter && (sameKey === undefined || s < sameKey)) sameKey = s;
    }
    let otherBroker: number | undefined;
    for (const s of this.byMessageId.get(packet.messageId)) {
      if (this.items.get(s)!.brokerId !== packet.brokerId && (otherBroker === undefined || s < otherBroker)) otherBroker = s;
    }
    if (sameKey === undefined && otherBroker === undefined) throw new Error('no such packet');
    if (otherBroker === undefined || (sameKey !== undefined && sameKey < otherBroker)) {
      const q = this.items.get(sameKey!)!;
      this.byMessageId.remove(q.messageId, sameKey!);
      q.messageId = packet.messageId;
      this.byMessageId.add(q.messageId, sameKey!);
      return;
    }
    const old = this.items.get(otherBroker)!;
    this.bytes += payloadBytes(packet) - payloadBytes(old);
    this.byKey.remove(keyOf(old), otherBroker);
    this.byMessageId.remove(old.messageId, otherBroker);
    this.items.set(otherBroker, packet as QueuedPacket);
    this.byKey.add(keyOf(packet), otherBroker);
    this.byMessageId.add(packet.messageId, otherBroker);
  }

  /** aedes-persistence `outgoingClearMessageId`: removes and returns the first message with this packet id */
  clear(messageId: number | undefined): QueuedPacket | undefined {
    let first: number | undefined;
    for (const s of this.byMessageId.get(messageId)) if (first === undefined || s < first) first = s;
    if (first === undefined) return undefined;
    const q = this.items.get(first)!;
    this.bytes -= payloadBytes(q);
    this.items.delete(first);
    this.byKey.remove(keyOf(q), first);
    this.byMessageId.remove(q.messageId, first);
    return q;
  }

  snapshot(): QueuedPacket[] {
    return [...this.items.values()];
  }
}

interface OutgoingMethods {
  outgoingEnqueue(sub: { clientId: string }, packet: PacketLike): Promise<void>;
  outgoingEnqueueCombi(subs: readonly { clientId: string }[], packet: PacketLike): Promise<void>;
  outgoingUpdate(client: { id: string }, packet: PacketLike): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: PacketLike): Promise<QueuedPacket | undefined>;
  outgoingStream(client: { id: string }): Readable;
  cleanSubscriptions(client: { id: string }, ...rest: unknown[]): unknown;
}

/** [SESSION-CAP] what one limited session may hold */
export interface SessionLimit {
  messages: number;
  bytes: number;
}

/** why a message was not queued for a session */
export type QueueDropReason = 'session-messages' | 'session-bytes' | 'total-bytes';

export interface QueueLimits {
  /** the limit of a client's session; undefined: not limited (the platform's services) */
  limitFor(clientId: string): SessionLimit | undefined;
  /** payload bytes all limited sessions may hold together */
  totalBytes: number;
  /** a message not queued for a session */
  onDrop?(clientId: string, reason: QueueDropReason, packet: PacketLike): void;
  /** a message acknowledged: the session's queue holds `size` now */
  onCleared?(clientId: string, size: number): void;
  /** true: this session does not get this message at all (not queued, not a drop) */
  skip?(clientId: string, packet: PacketLike): boolean;
}

export interface IndexedQueues {
  /** every session's queue, by client id (for tests) */
  readonly queues: ReadonlyMap<string, OutgoingQueue>;
  /** messages and payload bytes held for limited sessions, all together */
  limited(): { sessions: number; messages: number; bytes: number };
}

/** the in-memory persistence of aedes-persistence (wrapped by its callback layer), nothing else */
export function isMemoryPersistence(persistence: unknown): boolean {
  const inner = (persistence as { asyncPersistence?: { constructor?: { name?: string } } } | null)?.asyncPersistence;
  return inner?.constructor?.name === 'MemoryPersistence';
}

/**
 * Replaces the outgoing-queue methods of aedes' in-memory persistence by indexed ones,
 * bounded by `limits` when given. Call before any client connects (the old queues are not
 * carried over). Undefined when the persistence is not the in-memory one.
 */
export function indexOutgoingQueues(persistence: unknown, limits?: QueueLimits): IndexedQueues | undefined {
  if (!isMemoryPersistence(persistence)) return undefined;
  const p = persistence as OutgoingMethods;
  const queues = new Map<string, OutgoingQueue>();
  /** the queues of limited sessions, and their bytes together */
  const limitedQueues = new Set<OutgoingQueue>();
  let limitedBytes = 0;
  const queueOf = (clientId: string): OutgoingQueue => {
    let q = queues.get(clientId);
    if (!q) queues.set(clientId, (q = new OutgoingQueue()));
    return q;
  };
  /** runs a change of a queue, keeping the limited sessions' byte total */
  const change = <T>(q: OutgoingQueue, f: () => T): T => {
    if (!limitedQueues.has(q)) return f();
    const before = q.bytes;
    const r = f();
    limitedBytes += q.bytes - before;
    return r;
  };
  const drop = (clientId: string, q: OutgoingQueue, size: number): QueueDropReason | undefined => {
    const limit = limits?.limitFor(clientId);
    if (!limit) return undefined;
    if (!limitedQueues.has(q)) {
      limitedQueues.add(q);
      limitedBytes += q.bytes;
    }
    if (q.size + 1 > limit.messages) return 'session-messages';
    if (q.bytes + size > limit.bytes) return 'session-bytes';
    if (limitedBytes + size > limits!.totalBytes) return 'total-bytes';
    return undefined;
  };
  const enqueue = (clientId: string, packet: PacketLike): void => {
    if (limits?.skip?.(clientId, packet)) return;
    const q = queueOf(clientId);
    const copy = copyPacket(packet);
    const reason = drop(clientId, q, payloadBytes(copy));
    if (reason) {
      if (q.size === 0) forget(clientId, q);
      limits!.onDrop?.(clientId, reason, packet);
      return;
    }
    change(q, () => q.push(copy));
  };
  const forget = (clientId: string, q: OutgoingQueue): void => {
    limitedBytes -= limitedQueues.has(q) ? q.bytes : 0;
    limitedQueues.delete(q);
    queues.delete(clientId);
  };
  p.outgoingEnqueue = async (sub, packet) => enqueue(sub.clientId, packet);
  p.outgoingEnqueueCombi = async (subs, packet) => {
    for (const sub of subs) enqueue(sub.clientId, packet);
  };
  p.outgoingUpdate = async (client, packet) => {
    const q = queueOf(client.id);
    try {
      change(q, () => q.update(packet));
    } finally {
      if (q.size === 0) forget(client.id, q);
    }
  };
  p.outgoingClearMessageId = async (client, packet) => {
    const q = queues.get(client.id);
    if (!q) return undefined;
    const cleared = change(q, () => q.clear(packet.messageId));
    if (q.size === 0) forget(client.id, q); // an idle session holds no queue
    if (cleared) limits?.onCleared?.(client.id, q.size);
    return cleared;
  };
  // a snapshot, as the memory persistence's own (a shallow copy of the queue)
  p.outgoingStream = (client) => Readable.from(queues.get(client.id)?.snapshot() ?? []);
  // [MQTT-3.1.2-6] a clean start discards the session, its queue included
  const cleanSubscriptions = p.cleanSubscriptions.bind(p);
  p.cleanSubscriptions = (client, ...rest) => {
    const q = queues.get(client.id);
    if (q) forget(client.id, q);
    return cleanSubscriptions(client, ...rest);
  };
  return {
    queues,
    limited() {
      let messages = 0;
      for (const q of limitedQueues) messages += q.size;
      return { sessions: limitedQueues.size, messages, bytes: limitedBytes };
    },
  };
}
