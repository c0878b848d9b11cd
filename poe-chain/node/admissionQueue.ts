/**
 * [NODE-admit] Transactions received over MQTT wait here, in two lanes, for admission
 * to the mempool. Admission (schema, signature, trial application) is the node's
 * costliest work per message; done inside the MQTT client's message handler, a backlog
 * of readings on the node's one connection kept the event loop busy for seconds, and the
 * bids read after it reached the mempool after their auction had closed (10,000-home
 * soak: 705 acknowledged bids of one auction refused AUCTION_CLOSED).
 *
 *   lanes     `urgent` (auctions, bids, chain transactions) is always served before
 *             `readings`, which only need to land within the replay window [MP-12]
 *   slices    the queue is worked for at most `sliceMs` at a time, then yields to the
 *             event loop (sockets are read, timers run: the slot clock keeps time)
 *   pressure  once `highWater` messages or `highWaterBytes` payload bytes wait, `hasRoom()`
 *             is false and `whenRoom()` resolves when it is true again: the node then
 *             holds the MQTT client's acknowledgement and its next message, so a backlog
 *             stays with the broker (unacknowledged, redelivered to a persistent session
 *             after a crash) instead of piling up here
 *
 * Pure scheduling: the caller supplies the handler, the clock and the scheduler.
 */

export type AdmissionLane = 'urgent' | 'readings';

export interface AdmissionQueueOptions<T> {
  /** admits one message; a throw is reported through `onError` and the queue goes on */
  handle: (item: T) => void;
  onError?: (err: unknown, item: T) => void;
  /** milliseconds, monotonic (default performance.now) */
  clock?: () => number;
  /** runs `fn` after the event loop has had its turn (default setImmediate) */
  schedule?: (fn: () => void) => void;
  /** longest run of admissions before yielding (default 10 ms) */
  sliceMs?: number;
  /** messages waiting at which `hasRoom()` turns false (default 20,000) */
  highWater?: number;
  /** payload bytes waiting at which `hasRoom()` turns false (default 16 MiB) */
  highWaterBytes?: number;
  /**
   * Called before each slice with the messages that wait behind it, in the order they will
   * be handled (urgent first), skipping the first `aheadSkip` (this slice's own): a chance to
   * start work on them elsewhere (the node verifies their signatures on its verify pool).
   * At most `aheadCount` are passed; each message is passed once.
   */
  ahead?: (items: T[]) => void;
  aheadSkip?: number;
  aheadCount?: number;
}

export interface AdmissionQueueStats {
  /** messages waiting now, per lane */
  urgent: number;
  readings: number;
  bytes: number;
  /** most messages ever waiting at once */
  maxQueued: number;
  /** longest a message waited before its admission started, per lane (ms) */
  maxWaitMs: { urgent: number; readings: number };
  handled: number;
  /** times the queue reached its high-water mark (the node then held its MQTT reader) */
  full: number;
}

interface Waiting<T> {
  item: T;
  bytes: number;
  at: number;
  /** already passed to `ahead` */
  ahead?: boolean;
}

/** A FIFO with O(1) push and shift (an array and a read index, compacted as it drains). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    this.items.push(v);
  }
  /** the i-th waiting item (0 = the next out), without taking it */
  peek(i: number): T | undefined {
    return this.items[this.head + i];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head++];
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export class AdmissionQueue<T> {
  private readonly lanes = { urgent: new Fifo<Waiting<T>>(), readings: new Fifo<Waiting<T>>() };
  private bytes = 0;
  private scheduled = false;
  private aheadOutstanding = 0;
  private idleWaiters: (() => void)[] = [];
  private roomWaiters: (() => void)[] = [];
  private readonly clock: () => number;
  private readonly schedule: (fn: () => void) => void;
  private readonly sliceMs: number;
  private readonly highWater: number;
  private readonly highWaterBytes: number;
  private readonly counters = { maxQueued: 0, handled: 0, full: 0, maxWaitUrgent: 0, maxWaitReadings: 0 };

  constructor(private readonly o: AdmissionQueueOptions<T>) {
    this.clock = o.clock ?? (() => performance.now());
    this.schedule = o.schedule ?? ((fn) => void setImmediate(fn));
    this.sliceMs = o.sliceMs ?? 10;
    this.highWater = o.highWater ?? 20_000;
    this.highWaterBytes = o.highWaterBytes ?? 16 * 1024 * 1024;
  }

  get size(): number {
    return this.lanes.urgent.length + this.lanes.readings.length;
  }

  /** how long the oldest waiting message has waited (ms; 0 when none waits) */
  oldestWaitMs(): number {
    const t = Math.min(this.lanes.urgent.peek(0)?.at ?? Infinity, this.lanes.readings.peek(0)?.at ?? Infinity);
    return t === Infinity ? 0 : this.clock() - t;
  }

  /** queues a message (always: the caller stops reading while `hasRoom()` is false) */
  push(lane: AdmissionLane, item: T, bytes: number): void {
    const had = this.hasRoom();
    this.lanes[lane].push({ item, bytes, at: this.clock() });
    this.bytes += bytes;
    if (this.size > this.counters.maxQueued) this.counters.maxQueued = this.size;
    if (had && !this.hasRoom()) this.counters.full++;
    this.kick();
  }

  /** below both high-water marks */
  hasRoom(): boolean {
    return this.size < this.highWater && this.bytes < this.highWaterBytes;
  }

  /** resolves once `hasRoom()` is true */
  whenRoom(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** resolves once nothing is waiting */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** forgets every waiting message (the node is closing) */
  clear(): void {
    this.lanes.urgent.clear();
    this.lanes.readings.clear();
    this.bytes = 0;
    this.aheadOutstanding = 0;
    this.settleRoom();
    this.settleIdle();
  }

  stats(): AdmissionQueueStats {
    const c = this.counters;
    return {
      urgent: this.lanes.urgent.length,
      readings: this.lanes.readings.length,
      bytes: this.bytes,
      maxQueued: c.maxQueued,
      maxWaitMs: { urgent: Math.round(c.maxWaitUrgent), readings: Math.round(c.maxWaitReadings) },
      handled: c.handled,
      full: c.full,
    };
  }

  private kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.drain());
  }

  /** hands the messages behind this slice to `ahead`, each once */
  private lookAhead(): void {
    const ahead = this.o.ahead;
    if (!ahead) return;
    const skip = this.o.aheadSkip ?? 64;
    const count = this.o.aheadCount ?? 256;
    // at most `count` handed over and not yet handled: the scan stays short, the parsed values few
    const room = count - this.aheadOutstanding;
    if (room <= 0) return;
    const picked: Waiting<T>[] = [];
    let seen = 0;
    for (const lane of [this.lanes.urgent, this.lanes.readings]) {
      for (let i = 0; i < lane.length && picked.length < room; i++, seen++) {
        const w = lane.peek(i)!;
        if (seen < skip || w.ahead) continue;
        w.ahead = true;
        picked.push(w);
      }
    }
    this.aheadOutstanding += picked.length;
    if (picked.length > 0) ahead(picked.map((w) => w.item));
  }

  /** one slice: urgent messages first, then readings, until the slice is used up */
  private drain(): void {
    this.scheduled = false;
    this.lookAhead();
    const start = this.clock();
    let t = start;
    while (this.size > 0 && t - start < this.sliceMs) {
      const urgent = this.lanes.urgent.length > 0;
      const w = (urgent ? this.lanes.urgent : this.lanes.readings).shift() as Waiting<T>;
      this.bytes -= w.bytes;
      if (w.ahead) this.aheadOutstanding--;
      const waited = t - w.at;
      if (urgent) {
        if (waited > this.counters.maxWaitUrgent) this.counters.maxWaitUrgent = waited;
      } else if (waited > this.counters.maxWaitReadings) this.counters.maxWaitReadings = waited;
      try {
        this.o.handle(w.item);
      } catch (err) {
        this.o.onError?.(err, w.item);
      }
      this.counters.handled++;
      t = this.clock();
    }
    if (this.hasRoom()) this.settleRoom();
    if (this.size > 0) this.kick();
    else this.settleIdle();
  }

  private settleRoom(): void {
    if (this.roomWaiters.length === 0) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  private settleIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
