/**
 * The soak's summary of the home chain nodes (bench/soak/homeNodeProcess.ts): pure functions
 * of their samples, log events and stores.
 *
 *   homeNodeReport        a follower (pruned or not): the size of <data>/chain over the day,
 *                         with a least-squares trend over its steady part; RSS, CPU, writes;
 *                         the pruned base height and each prune
 *   checkpointSyncReport  a fresh node started with --checkpoint-sync: the checkpoint's bytes,
 *                         pieces and time, and how long until it was on the aggregator node's head
 */
import type { HomeNodeEvents, HomeNodeSample, DirSize, inspectChainDb } from './homeNodeProcess.js';
import { linearTrend } from './linearTrend.js';

export interface HomeNodeStop {
  samples: HomeNodeSample[];
  events: HomeNodeEvents;
  dirAfterStop: DirSize;
  db: Awaited<ReturnType<typeof inspectChainDb>> | { error: string };
}

const MB = 2 ** 20;
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;
const mb = (bytes: number | undefined) => (bytes === undefined || !Number.isFinite(bytes) ? null : r1(bytes / MB));

function command(args: readonly string[], env: string): string {
  return `${env} node dist/poe-chain/node/chainNodeMain.js ${args.join(' ')}`;
}

export interface HomeNodeReportInput {
  name: string;
  args: readonly string[];
  samples: readonly HomeNodeSample[];
  events: HomeNodeEvents | undefined;
  stop: HomeNodeStop | undefined;
  dayStart: number;
  dayEnd: number;
  /** when the state's reading retention is full (the state stops growing) */
  steadyFrom: number;
  intervalMs: number;
}

export function homeNodeReport(o: HomeNodeReportInput) {
  const day = o.samples.filter((s) => s.t >= o.dayStart && s.t <= o.dayEnd);
  const mid = (o.dayStart + o.dayEnd) / 2;
  const maxOf = (xs: readonly HomeNodeSample[]) => (xs.length ? Math.max(...xs.map((s) => s.dir.bytes)) : undefined);
  // the check's window: the second half of the day, once the state's reading retention is full
  // (before that the state itself grows, pruned or not); on a day too short for that, the second half
  let from = Math.max(mid, o.steadyFrom);
  let windowNote = 'second half of the day, after the state\'s reading retention filled';
  if (o.dayEnd - from < (o.dayEnd - o.dayStart) / 4) {
    from = mid;
    windowNote = 'second half of the day (the day is too short for a window after the reading retention filled: the state may still grow in it)';
  }
  const win = day.filter((s) => s.t >= from);
  const pts = win.map((s) => [(s.t - from) / 60_000, s.dir.bytes / MB] as const);
  const tr = linearTrend(pts);
  const meanMB = pts.length ? pts.reduce((a, [, y]) => a + y, 0) / pts.length : Number.NaN;
  const windowMin = pts.length ? pts.at(-1)![0] : 0;
  // growing: a steady upward line (R² ≥ 0.5) that adds ≥ 10 % of the directory over the window
  const growing = tr.slope > 0 && tr.r2 >= 0.5 && tr.slope * windowMin >= 0.1 * meanMB;
  const rss = day.map((s) => [(s.t - o.dayStart) / 60_000, s.rssMB] as const);
  const rssTr = linearTrend(rss);
  const firstS = day[0];
  const lastS = day.at(-1);
  const ev = o.events;
  const cores = firstS && lastS && lastS.t > firstS.t ? r2((lastS.cpuS - firstS.cpuS) / ((lastS.t - firstS.t) / 1000)) : null;
  const dayIntervals = (o.dayEnd - o.dayStart) / o.intervalMs;
  const written = firstS && lastS ? { wchar: lastS.wcharBytes - firstS.wcharBytes, device: lastS.writeBytes - firstS.writeBytes } : undefined;
  return {
    node: o.name,
    command: command(o.args, 'TMI_CHAIN_JOURNAL=false'),
    login: 'meter id = node id, role node (enrolled as a service principal, like the aggregator\'s node); follows from genesis, does not produce or vote',
    dataDirBytes: {
      note: 'size of <data>/chain on disk: the sum of its file sizes (du --apparent-size), sampled during the day',
      first: firstS?.dir.bytes ?? null,
      max: maxOf(day) ?? null,
      last: lastS?.dir.bytes ?? null,
      maxFirstHalf: maxOf(day.filter((s) => s.t < mid)) ?? null,
      maxSecondHalf: maxOf(day.filter((s) => s.t >= mid)) ?? null,
      afterStop: o.stop?.dirAfterStop.bytes ?? null,
      lastTablesLdb: lastS?.dir.ldbBytes ?? null,
      lastWriteAheadLog: lastS?.dir.logBytes ?? null,
      lastAllocated: lastS?.dir.allocatedBytes ?? null,
      lastFiles: lastS?.dir.files ?? null,
    },
    dataDirTrend: {
      window: windowNote,
      windowFromS: r1((from - o.dayStart) / 1000),
      windowToS: r1((o.dayEnd - o.dayStart) / 1000),
      slopeMBPerMin: r2(tr.slope),
      r2: r2(tr.r2),
      growthOverWindowMB: r1(tr.slope * windowMin),
      meanMB: r1(meanMB),
      samples: pts.length,
      trend: growing ? 'growing (slope > 0, R² ≥ 0.5, and the line adds ≥ 10 % of the mean over the window)' : 'bounded (no steady growth over the window)',
    },
    dataDirBounded: !growing && pts.length >= 2,
    dataDirSecondsMB: day.map((s) => [r1((s.t - o.dayStart) / 1000), mb(s.dir.bytes)]),
    rssMB: { first: firstS?.rssMB ?? null, max: day.length ? Math.max(...day.map((s) => s.rssMB)) : null, last: lastS?.rssMB ?? null, slopeMBPerMin: r2(rssTr.slope), r2: r2(rssTr.r2) },
    rssSecondsMB: day.filter((_, i) => i % 5 === 0).map((s) => [r1((s.t - o.dayStart) / 1000), s.rssMB]),
    cpuCoresDuringDay: cores,
    writtenDuringDay: written ? {
      note: '/proc/<pid>/io: wchar = bytes passed to write() (LevelDB log, tables, compactions), device = bytes that reached the block device',
      wcharBytes: written.wchar,
      deviceBytes: written.device,
      wcharBytesPerInterval: Math.round(written.wchar / dayIntervals),
    } : null,
    baseHeight: ev?.pruned.at(-1)?.base ?? 0,
    prunes: ev?.pruned.length ?? 0,
    pruneLog: (ev?.pruned ?? []).map((p) => ({ atS: r1((p.t - o.dayStart) / 1000), base: p.base, blocksDeleted: p.blocksDeleted })),
    warnings: ev?.warnings ?? {},
    otherLogLines: ev?.otherLines ?? [],
    exit: ev?.exit ? { code: ev.exit.code, signal: ev.exit.signal } : null,
    store: o.stop?.db ?? null,
  };
}

export interface CheckpointSyncInput {
  name: string;
  args: readonly string[];
  start: { at: number; interval: number; aggregatorHead: number; aggregatorFinal: number };
  samples: readonly HomeNodeSample[];
  events: HomeNodeEvents | undefined;
  stop: HomeNodeStop | undefined;
  /** the aggregator node's [t, height] of each new head and each new final block */
  aggregator: { heads: [number, number][]; finals: [number, number][] };
}

/** the last height at or before t in a [t, height] series (−1 before the first) */
function heightAt(series: readonly [number, number][], t: number): number {
  let h = -1;
  for (const [at, x] of series) if (at <= t) h = Math.max(h, x);
  return h;
}

export function checkpointSyncReport(o: CheckpointSyncInput) {
  const ev = o.events;
  const t0 = ev?.startedAt ?? o.start.at;
  const cp = ev?.checkpoint;
  const sync = ev?.initialSync;
  const aggHeadAtSync = sync ? heightAt(o.aggregator.heads, sync.t) : null;
  // caught up: its final block reached the aggregator node's final block at that moment
  const caught = (ev?.finals ?? []).find(([t, h]) => h >= heightAt(o.aggregator.finals, t));
  const afterCp = cp ? o.samples.find((s) => s.t >= cp.t) : undefined;
  return {
    node: o.name,
    command: command(o.args, 'TMI_CHAIN_JOURNAL=false'),
    login: 'meter id = node id, role node; an empty data directory',
    startedInInterval: o.start.interval,
    aggregatorHeadAtStart: o.start.aggregatorHead,
    aggregatorFinalAtStart: o.start.aggregatorFinal,
    // from its "checkpoint sync: started from the final checkpoint" line
    ms: cp?.ms ?? null,
    bytes: cp?.bytes ?? null,
    pieces: cp?.pieces ?? null,
    checkpointHeight: cp?.height ?? null,
    msFromSpawnToCheckpointStored: cp ? cp.t - t0 : null,
    // "initial sync done": the blocks above the checkpoint synced, on the head as far as the node knows
    msToInitialSyncDone: sync ? sync.t - t0 : null,
    headAtInitialSyncDone: sync?.head ?? null,
    aggregatorHeadThen: aggHeadAtSync,
    blocksSyncedAboveCheckpoint: sync && cp ? sync.head - cp.height : null,
    headLagAtInitialSyncDoneBlocks: sync && aggHeadAtSync !== null ? aggHeadAtSync - sync.head : null,
    msToHead: sync && aggHeadAtSync !== null && sync.head >= aggHeadAtSync ? sync.t - t0 : null,
    msToAggregatorFinal: caught ? caught[0] - t0 : null,
    msNote: 'times from the spawn of the process (node start-up, login, checkpoint, store, sync); msToHead: msToInitialSyncDone when its head then equals the aggregator node\'s head then (null if it was headLagAtInitialSyncDoneBlocks behind); msToAggregatorFinal: its final block (its "final" lines) reaches the aggregator node\'s final block at that moment',
    dataDirBytes: { afterCheckpoint: afterCp?.dir.bytes ?? null, last: o.samples.at(-1)?.dir.bytes ?? null, afterStop: o.stop?.dirAfterStop.bytes ?? null },
    rssMBMax: o.samples.length ? Math.max(...o.samples.map((s) => s.rssMB)) : null,
    warnings: ev?.warnings ?? {},
    otherLogLines: ev?.otherLines ?? [],
    exit: ev?.exit ? { code: ev.exit.code, signal: ev.exit.signal, afterMs: ev.exit.t - t0 } : null,
    store: o.stop?.db ?? null,
  };
}
