/**
 * [BROKER-HOLD] Holding publishers back while a platform service lags.
 *
 * The platform's own subscribers (the aggregator's chain node, analytics) must get every
 * message: their sessions are not limited ([SESSION-CAP]). A service that falls behind the
 * homes' publishes therefore makes the broker hold a growing backlog for it: in memory,
 * and on its socket, until the socket passes the slow-consumer limit and the broker closes
 * it. Its session then replays while live messages flow, and the replay comes out of
 * order (a chain node refused 74,272 readings `READING_OUT_OF_ORDER` in one 10,000-home
 * soak at 90×).
 *
 * Instead, while the largest queue of an online service session is above `holdAbove`
 * (payload bytes), the homes' QoS 1 publishes wait before they are forwarded (and so before
 * their PUBACK), until it falls below `resumeBelow`. The backlog then stays in the homes' outboxes,
 * on their disks, and the broker's memory stays bounded. An offline service session does
 * not hold anybody: its queue would stop every home until it returned.
 *
 * Pure: the caller reports the queue size; the hold answers whether to wait.
 */
export interface PublishHoldOptions {
  /** hold publishers while the largest online service queue is above this (the caller's unit: payload bytes in the broker) */
  holdAbove: number;
  /** release them once it is below this (hysteresis) */
  resumeBelow: number;
}

export class PublishHold {
  private held = false;
  /** waiting publishes, first come first released (a queue: head index, compacted now and then) */
  private waiters: (() => void)[] = [];
  /** what each waiter will add to the queue */
  private sizes: number[] = [];
  private head = 0;
  /** publishes that have waited, in all */
  heldTotal = 0;
  /** hold episodes begun */
  episodes = 0;

  constructor(private readonly opts: PublishHoldOptions) {
    if (!(opts.resumeBelow > 0 && opts.resumeBelow <= opts.holdAbove)) throw new RangeError('PublishHold: 0 < resumeBelow ≤ holdAbove');
  }

  /** publishes waiting now */
  get waiting(): number {
    return this.waiters.length - this.head;
  }

  get holding(): boolean {
    return this.held;
  }

  get holdAbove(): number {
    return this.opts.holdAbove;
  }

  /**
   * The largest online service queue is now `size`, counting the publishes already let
   * through and not yet queued. Above `holdAbove` a hold begins; below `resumeBelow` it
   * releases waiters, first come first, only as many as take the queue back to `holdAbove`
   * (releasing them all at once refilled the queue past the mark at once), and ends when
   * none is left. A waiter's size is what it will add (default 1: a count of messages).
   * Returns true when a hold began (for the caller's log).
   */
  update(size: number): boolean {
    if (!this.held) {
      if (size <= this.opts.holdAbove) return false;
      this.held = true;
      this.episodes++;
      return true;
    }
    if (size >= this.opts.resumeBelow) return false;
    let room = this.opts.holdAbove - size;
    while (this.head < this.waiters.length && room >= this.sizes[this.head]!) {
      const f = this.waiters[this.head]!;
      room -= this.sizes[this.head]!;
      this.waiters[this.head++] = undefined as unknown as () => void;
      f();
    }
    if (this.head >= this.waiters.length) {
      this.waiters = [];
      this.sizes = [];
      this.head = 0;
      this.held = false;
    } else if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return false;
  }

  /**
   * Runs `go` now when nothing is held; else at its turn, synchronously inside the
   * `update` that releases it, so that a publish arriving just after a release cannot pass
   * the publishes released before it (a promise would run them a microtask later).
   * Returns true when it had to wait.
   */
  admit(go: () => void, size = 1): boolean {
    if (!this.held) {
      go();
      return false;
    }
    this.heldTotal++;
    this.waiters.push(go);
    // a waiter larger than the whole window still goes when the queue is empty
    this.sizes.push(Math.min(size, this.opts.holdAbove));
    return true;
  }
}
