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
export class OutgoingQueue {
  private seq = 0;
  private readonly items = new Map<number, QueuedPacket>();
  private readonly byKey = new MultiIndex<string>();
  private readonly byMessageId = new MultiIndex<number | undefined>();

  get size(): number {
    return this.items.size;
  }

  push(p: QueuedPacket): void {
    const s = ++this.seq;
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
}

/** the in-memory persistence of aedes-persistence (wrapped by its callback layer), nothing else */
export function isMemoryPersistence(persistence: unknown): boolean {
  const inner = (persistence as { asyncPersistence?: { constructor?: { name?: string } } } | null)?.asyncPersistence;
  return inner?.constructor?.name === 'MemoryPersistence';
}

/**
 * Replaces the outgoing-queue methods of aedes' in-memory persistence by indexed ones.
 * Call before any client connects (the old queues are not carried over). Returns the
 * queues, for tests and metrics; undefined when the persistence is not the in-memory one.
 */
export function indexOutgoingQueues(persistence: unknown): Map<string, OutgoingQueue> | undefined {
  if (!isMemoryPersistence(persistence)) return undefined;
  const p = persistence as OutgoingMethods;
  const queues = new Map<string, OutgoingQueue>();
  const queueOf = (clientId: string): OutgoingQueue => {
    let q = queues.get(clientId);
    if (!q) queues.set(clientId, (q = new OutgoingQueue()));
    return q;
  };
  p.outgoingEnqueue = async (sub, packet) => queueOf(sub.clientId).push(copyPacket(packet));
  p.outgoingEnqueueCombi = async (subs, packet) => {
    for (const sub of subs) queueOf(sub.clientId).push(copyPacket(packet));
  };
  p.outgoingUpdate = async (client, packet) => queueOf(client.id).update(packet);
  p.outgoingClearMessageId = async (client, packet) => {
    const q = queues.get(client.id);
    const cleared = q?.clear(packet.messageId);
    if (q && q.size === 0) queues.delete(client.id); // an idle session holds no queue
    return cleared;
  };
  // a snapshot, as the memory persistence's own (a shallow copy of the queue)
  p.outgoingStream = (client) => Readable.from(queues.get(client.id)?.snapshot() ?? []);
  return queues;
}
