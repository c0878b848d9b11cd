/**
 * Token bucket for per-client message rates. Pure: time is passed in.
 * Starts full (`burst` tokens), refills at `ratePerSecond`, one token per message.
 */
export interface RateLimit {
  messagesPerSecond: number;
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly limit: RateLimit, now: number) {
    if (!(limit.messagesPerSecond > 0) || !(limit.burst >= 1)) {
      throw new Error(`BAD_RATE_LIMIT messagesPerSecond=${limit.messagesPerSecond} burst=${limit.burst}`);
    }
    this.tokens = limit.burst;
    this.last = now;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number): boolean {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed * this.limit.messagesPerSecond) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
