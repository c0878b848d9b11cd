/**
 * [HEM-R1] [CENSOR] A HEM that runs a chain node checks that its meter readings reached the
 * chain, and sends the missing ones again (poe-chain/README.md "What makes a reading count").
 *
 * A reading of interval k is sent when k ends (E = the start of epoch k + 1). It ranks epoch
 * k + 2 only if it is on chain by the end of epoch k + 1, whose last `inclusionSlots` slots
 * are the aggregator's node's window; and the chain takes it only while no later reading of
 * its pseudonym is on chain (the next one, of interval k + 1, is sent at E + I). So a missing
 * reading must be sent again within epoch k + 1, before the window. Its checkpoints are
 * (B = patience × slotMs, one heartbeat; I = intervalMs):
 *   - E + 2B: a few blocks after it was sent;
 *   - E + I − inclusionSlots × slotMs − B: before the window of epoch k + 1, and again one
 *     interval later for each further epoch (the next reading is then usually on chain and
 *     this one is dropped; the mempool still orders a pseudonym's readings by seq [MP-11]).
 * Every reading the EMS signs is kept under `r:<interval start, 15 digits>` with its signed
 * envelope (one small entry per interval) until it is settled here. Each pass, against the
 * node's head state:
 *   - on chain (readings section `address|epoch`)          → forgotten;
 *   - no checkpoint passed since it was last checked       → waits (`checkedAt`);
 *   - still in the outbox                                  → the pump is on it, left alone;
 *   - the pseudonym's reading head on chain is already at or after its interval → it can
 *     never be added (readings of an address go in order): forgotten, `reading-lost`;
 *   - older than the chain keeps readings                  → forgotten, `reading-lost`;
 *   - otherwise                                            → the same signed envelope goes in
 *     the outbox again (`reading-resent`), at most `maxResends` times.
 * A pass reads the few kept entries and writes only at a checkpoint, so the HEM runs it
 * every heartbeat (B).
 * A reading that only a censoring producer left out is thus offered again until a producer
 * that includes it (at the latest the aggregator's node in its window) puts it on chain.
 * Homes without a chain node cannot see the chain and do not check.
 */
import type { Logger } from 'pino';
import type { AnyEnvelope, MeterReading } from '../schemas/types.js';
import type { ChainState } from '../poe-chain/core/chainState.js';
import { epochOfInterval, type Genesis } from '../poe-chain/core/genesis.js';
import type { HemStore, StoreWrite } from './hemStore.js';

/**
 * `kr:` — it was `r:`, the prefix the HEM's replay guard (hemReplayGuard.ts) also uses: each
 * listed the other's records, so the watch threw on a replay-guard entry and stopped resending
 * ("reading watch failed" in every simulated day). A kept reading left under `r:` by an earlier
 * version is not resent (the guard skips it: not a number).
 */
export const KEPT_READING_PREFIX = 'kr:';

export interface KeptReading {
  envelope: AnyEnvelope;
  /** times sent again */
  resent: number;
  /** when a pass last acted on it at a checkpoint (sent again or found queued) */
  checkedAt?: number;
}

/**
 * [HEM-R1] The latest checkpoint at or before `now` of a reading whose interval ended at
 * `endMs` (see the file comment), or undefined before the first.
 */
export function lastCheckpoint(g: Genesis, endMs: number, now: number): number | undefined {
  const beat = g.patience * g.slotMs;
  const first = endMs + 2 * beat;
  if (now < first) return undefined;
  const beforeWindow = endMs + g.intervalMs - g.inclusionSlots * g.slotMs - beat;
  if (now < beforeWindow) return first;
  const cp = beforeWindow + Math.floor((now - beforeWindow) / g.intervalMs) * g.intervalMs;
  return Math.max(cp, first);
}

/** The store write that keeps a signed reading for the watch. */
export function keepReading(intervalStartMs: number, envelope: AnyEnvelope): StoreWrite {
  return { type: 'put', key: `${KEPT_READING_PREFIX}${String(intervalStartMs).padStart(15, '0')}`, value: { envelope, resent: 0 } satisfies KeptReading };
}

export interface ReadingWatchOptions {
  store: HemStore;
  /** the node's head state, when the node runs */
  chainState: () => ChainState | undefined;
  /** where readings are published (the EMS's readings topic) */
  topic: string;
  now: () => number;
  log?: Logger;
  maxResends?: number;
}

export interface WatchReport {
  onChain: number;
  resent: number;
  lost: number;
  waiting: number;
}

export function createReadingWatch(o: ReadingWatchOptions) {
  const maxResends = o.maxResends ?? 3;
  return {
    /** One pass over the kept readings (see the file comment). */
    async check(): Promise<WatchReport> {
      const report: WatchReport = { onChain: 0, resent: 0, lost: 0, waiting: 0 };
      const state = o.chainState();
      if (!state) return report;
      const g = state.genesis;
      const now = o.now();
      const queuedIds = new Set(o.store.queue().filter((q) => q.entry.operation === 'meter-reading').map((q) => q.entry.envelope.reqId));
      const writes: StoreWrite[] = [];
      const again: { envelope: AnyEnvelope; signer: string }[] = [];
      for (const { key, value } of await o.store.list<KeptReading>(KEPT_READING_PREFIX)) {
        if (typeof value !== 'object' || value === null || value.envelope === undefined) continue; // not a kept reading
        const p = value.envelope.parameters as MeterReading;
        const epoch = epochOfInterval(g, p.interval);
        const endMs = Date.parse(p.interval.end);
        const lost = (why: string) => {
          report.lost++;
          writes.push({ type: 'del', key });
          o.log?.warn({ event: 'reading-lost', address: p.address, interval: p.interval, seq: p.seq, why }, 'a reading did not reach the chain');
        };
        if (epoch === undefined) {
          lost('not an interval of this chain');
          continue;
        }
        if (state.sections.readings.has(`${p.address}|${epoch}`)) {
          report.onChain++;
          writes.push({ type: 'del', key });
          continue;
        }
        const cp = lastCheckpoint(g, endMs, now);
        if (cp === undefined || (value.checkedAt !== undefined && value.checkedAt >= cp)) {
          report.waiting++;
          continue;
        }
        if (queuedIds.has(value.envelope.reqId)) {
          report.waiting++;
          writes.push({ type: 'put', key, value: { ...value, checkedAt: now } satisfies KeptReading });
          continue;
        }
        const head = state.sections.readingHeads.get(p.address);
        if (head !== undefined && head.interval >= epoch) {
          lost(`the chain has a later reading of this pseudonym (interval ${head.interval})`);
          continue;
        }
        if (now > endMs + (g.readingRetentionIntervals - 1) * g.intervalMs) {
          lost('older than the chain keeps readings');
          continue;
        }
        if (value.resent >= maxResends) {
          lost(`sent again ${value.resent} times`);
          continue;
        }
        report.resent++;
        again.push({ envelope: value.envelope, signer: p.address });
        writes.push({ type: 'put', key, value: { envelope: value.envelope, resent: value.resent + 1, checkedAt: now } satisfies KeptReading });
        o.log?.info({ event: 'reading-resent', address: p.address, interval: p.interval, seq: p.seq, resent: value.resent + 1 }, 'a reading missing on chain is sent again');
      }
      if (writes.length > 0 || again.length > 0) {
        await o.store.commit(writes, again.map((a) => ({ topic: o.topic, operation: 'meter-reading' as const, signer: a.signer, envelope: a.envelope })));
      }
      return report;
    },
  };
}
