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
 * messages, the homes' QoS 1 publishes wait before they are forwarded (and so before their
 * PUBACK), until it falls below `resumeBelow`. The backlog then stays in the homes' outboxes,
 * on their disks, and the broker's memory stays bounded. An offline service session does
 * not hold anybody: its queue would stop every home until it returned.
 *
 * Pure: the caller reports the queue size; the hold answers whether to wait.
 */
export interface PublishHoldOptions {
  /** hold publishers while the largest online service queue is above this many messages */
  holdAbove: number;
  /** release them once it is below this many (hysteresis) */
  resumeBelow: number;
}

export class PublishHold {
  private held = false;
  private waiters: (() => void)[] = [];
  /** publishes that have waited, in all */
  heldTotal = 0;
  /** hold episodes begun */
  episodes = 0;

  constructor(private readonly opts: PublishHoldOptions) {
    if (!(opts.resumeBelow > 0 && opts.resumeBelow <= opts.holdAbove)) throw new RangeError('PublishHold: 0 < resumeBelow ≤ holdAbove');
  }

  /** publishes waiting now */
  get waiting(): number {
    return this.waiters.length;
  }

  get holding(): boolean {
    return this.held;
  }

  /**
   * The largest online service queue is now `size`: begins or ends a hold. Returns true
   * when a hold began (for the caller's log).
   */
  update(size: number): boolean {
    if (!this.held && size > this.opts.holdAbove) {
      this.held = true;
      this.episodes++;
      return true;
    }
    if (this.held && size < this.opts.resumeBelow) {
      this.held = false;
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
    return false;
  }

  /** undefined: forward now; else a promise that resolves when the hold ends */
  wait(): Promise<void> | undefined {
    if (!this.held) return undefined;
    this.heldTotal++;
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
