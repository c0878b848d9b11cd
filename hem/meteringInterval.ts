/**
 * Metering intervals and the HEM's two clocks.
 *
 * Wall-clock time is what goes on the wire (envelope dates, reading and delivery
 * intervals). Intervals are aligned to multiples of `intervalMs` since the Unix epoch,
 * so every HEM and chain node agrees on interval boundaries without talking.
 *
 * Home time is what the devices live in: one wall-clock second stands for `speed`
 * seconds of home time (speed = 1 in a real home; > 1 in a compressed simulation, e.g.
 * 1440 runs a day in a minute). Energy, battery rates and auction delivery lengths seen
 * by the battery model and the TCR are in home time.
 */
export interface Interval {
  readonly startMs: number;
  readonly endMs: number;
}

/** The interval containing `t`: [⌊t/len⌋·len, +len). */
export function intervalAt(t: number, intervalMs: number): Interval {
  const startMs = Math.floor(t / intervalMs) * intervalMs;
  return { startMs, endMs: startMs + intervalMs };
}

export function toWireInterval(i: Interval): { start: string; end: string } {
  return { start: new Date(i.startMs).toISOString(), end: new Date(i.endMs).toISOString() };
}

export function fromWireInterval(w: { start: string; end: string }): Interval | null {
  const startMs = Date.parse(w.start);
  const endMs = Date.parse(w.end);
  return Number.isFinite(startMs) && Number.isFinite(endMs) && endMs > startMs ? { startMs, endMs } : null;
}

/** Overlap of two intervals in ms (0 when disjoint). */
export function overlapMs(a: Interval, b: Interval): number {
  return Math.max(0, Math.min(a.endMs, b.endMs) - Math.max(a.startMs, b.startMs));
}

/** Home-time seconds of a wall-clock span. */
export function homeSeconds(wallMs: number, speed: number): number {
  return (wallMs / 1000) * speed;
}
