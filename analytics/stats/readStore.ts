/** The read side of the store that the query functions need; pure functions of it. */
import type { StatsStore } from './statsStore.js';

export type ReadStore = Pick<StatsStore, 'get' | 'range' | 'count'>;

/** ISO 8601 of ms since the epoch, or null. */
export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** a / b, or null when b is 0 (a ratio with nothing to compare is not 0 nor 1). */
export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}
