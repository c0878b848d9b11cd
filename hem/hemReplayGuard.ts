/**
 * [HEM-IN] The HEM's replay guard (DESIGN §2: receivers reject a repeated (clientId,
 * reqId)): bounded, and it survives restarts.
 *
 * - Every live (not retained) envelope the EMS acts on is remembered by (clientId, reqId)
 *   with its date, in memory and in the HEM's store (`r:` keys), before it is handled.
 * - A second copy is REPLAYED, also after a restart.
 * - Bounded: at most `maxEntries` ids over `horizonMs` of dates. An envelope dated before
 *   the low-water mark — now − horizon, raised to the newest date ever evicted when the
 *   table is full — or more than the horizon ahead is STALE: the guard could not tell a
 *   replay of it. (The ±skew date check stays the EMS's: a broker error dated outside it
 *   says our clock may be off [HEM-CLOCK].)
 * - Retained copies (auctions/{id}, its result) are the broker's legitimate redelivery on
 *   every subscribe; the EMS deduplicates them by auction id (its `b:` records), not here.
 */
import type { HemStore, StoreWrite } from './hemStore.js';

export type ReplayVerdict = 'fresh' | 'replayed' | 'stale';

export interface HemReplayGuardOptions {
  store: HemStore;
  /** how far back dates are remembered (default 2 days) */
  horizonMs?: number;
  /** most ids kept (default 20,000) */
  maxEntries?: number;
}

export interface HemReplayGuard {
  /** decides and, when fresh, records; resolves once the id is in the store */
  check(clientId: string, reqId: string, date: string, now: number): Promise<ReplayVerdict>;
  readonly size: number;
}

const PREFIX = 'r:';
const FLOOR_KEY = 's:replayFloor';

export async function openHemReplayGuard(o: HemReplayGuardOptions): Promise<HemReplayGuard> {
  const horizon = o.horizonMs ?? 2 * 86_400_000;
  const max = o.maxEntries ?? 20_000;
  const seen = new Map<string, number>();
  let evictedFloor = (await o.store.get<number>(FLOOR_KEY)) ?? -Infinity;
  // only numbers: an earlier version kept readings under this prefix too (readingWatch.ts, now `kr:`)
  for (const { key, value } of await o.store.list<number>(PREFIX)) if (typeof value === 'number') seen.set(key.slice(PREFIX.length), value);

  function evict(now: number): StoreWrite[] {
    const writes: StoreWrite[] = [];
    const low = now - horizon;
    for (const [k, d] of seen) if (d < low) {
      seen.delete(k);
      writes.push({ type: 'del', key: PREFIX + k });
    }
    if (seen.size > max) {
      // drop the oldest tenth; nothing dated at or before them is accepted any more
      const byDate = [...seen].sort((a, b) => a[1] - b[1]).slice(0, Math.max(1, Math.ceil(max / 10)));
      for (const [k, d] of byDate) {
        seen.delete(k);
        writes.push({ type: 'del', key: PREFIX + k });
        evictedFloor = Math.max(evictedFloor, d);
      }
      writes.push({ type: 'put', key: FLOOR_KEY, value: evictedFloor });
    }
    return writes;
  }

  let lastSweep = 0;
  return {
    get size() {
      return seen.size;
    },
    async check(clientId, reqId, date, now) {
      const d = Date.parse(date);
      if (!Number.isFinite(d) || d > now + horizon || d < now - horizon || d <= evictedFloor) return 'stale';
      const key = `${clientId}:${reqId}`;
      if (seen.has(key)) return 'replayed';
      seen.set(key, d);
      const writes: StoreWrite[] = [{ type: 'put', key: PREFIX + key, value: d }];
      if (seen.size > max || now - lastSweep > 3_600_000) {
        lastSweep = now;
        writes.push(...evict(now));
      }
      await o.store.commit(writes);
      return 'fresh';
    },
  };
}
