/**
 * Soak child: the chain nodes of homes, each its own `chainNodeMain.js` process (= `tmi chain
 * run`), started and watched from here so that the orchestrator stays light.
 *
 *   start    writes the node's key file (0600) and spawns `node chainNodeMain.js --genesis …
 *            --data <dir> --key <key> --broker … --meter-id <id> [--prune] [--checkpoint-sync]
 *            --log-level …`; reads its pino lines from stderr: "pruned below the final block"
 *            (base, blocksDeleted), "checkpoint sync: started from the final checkpoint"
 *            (bytes, pieces, ms), "initial sync done" (head), with `recordFinals` each "final"
 *            (the height of its final block, at info), and counts its warnings
 *   sample   every sampleMs: RSS (VmRSS) and CPU (utime + stime) of the node's process, the
 *            bytes it passed to write() and those that reached the block device
 *            (/proc/<pid>/io wchar, write_bytes), and the size of <data>/chain: the sum of the
 *            file sizes under it (`du --apparent-size`), tables (.ldb) and write-ahead log
 *            (.log) apart
 *   stop     SIGTERM, waits for the exit (the node writes a head snapshot as it closes), then
 *            opens <data>/chain and sums key + value bytes per record kind (b: blocks, h:
 *            height index, t: tx index, s: snapshots, j: journal, n: node records, …) and, of
 *            the newest snapshot, the bytes and entries of each state section
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { writeKeyFile } from '../../wire/keyFile.js';
import { chainDbPath, openChainLevel } from '../../poe-chain/store/chainDataDir.js';
import { serviceKey } from './soakHomes.js';
import { serve } from './soakIpc.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'poe-chain', 'node', 'chainNodeMain.js');
/** Linux clock ticks per second (`getconf CLK_TCK`) */
const TICKS = 100;

export interface DirSize {
  /** sum of the file sizes under <data>/chain */
  bytes: number;
  /** blocks allocated on disk (st_blocks × 512) */
  allocatedBytes: number;
  ldbBytes: number;
  logBytes: number;
  files: number;
}

export interface HomeNodeSample {
  t: number;
  rssMB: number;
  cpuS: number;
  /** /proc/<pid>/io: bytes passed to write() (wchar) and that reached the block device */
  wcharBytes: number;
  writeBytes: number;
  dir: DirSize;
}

export interface HomeNodeEvents {
  startedAt: number;
  /** "chain node started" */
  nodeStarted?: { t: number; head: number };
  /** "checkpoint sync: started from the final checkpoint" */
  checkpoint?: { t: number; ms: number; bytes: number; pieces: number; height: number; round: number };
  /** "initial sync done" */
  initialSync?: { t: number; head: number; why: string };
  /** "pruned below the final block" */
  pruned: { t: number; base: number; blocksDeleted: number }[];
  /** "final": its final block's height over time (with recordFinals) */
  finals: [number, number][];
  warnings: Record<string, number>;
  /** lines that are not pino JSON (e.g. `tmi chain run: NO_CHECKPOINT …`), the last 10 */
  otherLines: string[];
  exit?: { t: number; code: number | null; signal: string | null };
}

interface Watched {
  name: string;
  dataDir: string;
  child: ChildProcess;
  events: HomeNodeEvents;
  recordFinals: boolean;
  samples: HomeNodeSample[];
  sampler: NodeJS.Timeout;
  exited: Promise<void>;
}

export async function dirSize(dir: string): Promise<DirSize> {
  const out: DirSize = { bytes: 0, allocatedBytes: 0, ldbBytes: 0, logBytes: 0, files: 0 };
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out; // not there yet
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const d = await dirSize(p);
      for (const k of Object.keys(out) as (keyof DirSize)[]) out[k] += d[k];
      continue;
    }
    try {
      const st = await stat(p);
      out.bytes += st.size;
      out.allocatedBytes += st.blocks * 512;
      out.files++;
      if (e.name.endsWith('.ldb')) out.ldbBytes += st.size;
      else if (e.name.endsWith('.log')) out.logBytes += st.size;
    } catch {
      /* deleted by a compaction meanwhile */
    }
  }
  return out;
}

function procOf(pid: number): { rssMB: number; cpuS: number; wcharBytes: number; writeBytes: number } {
  const out = { rssMB: Number.NaN, cpuS: Number.NaN, wcharBytes: Number.NaN, writeBytes: Number.NaN };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status);
    if (kb) out.rssMB = Math.round((Number(kb[1]) / 1024) * 10) / 10;
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' '); // f[0] = field 3 (state)
    out.cpuS = Math.round(((Number(f[11]) + Number(f[12])) / TICKS) * 100) / 100;
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    out.wcharBytes = Number(/wchar: (\d+)/.exec(io)?.[1] ?? Number.NaN);
    out.writeBytes = Number(/write_bytes: (\d+)/.exec(io)?.[1] ?? Number.NaN);
  } catch {
    /* exited */
  }
  return out;
}

const INTERESTING = ['pruned below the final block', 'checkpoint sync: started', 'initial sync done', 'chain node started', '"msg":"final"'];

function watchLog(w: { events: HomeNodeEvents; recordFinals: boolean }, child: ChildProcess): void {
  const ev = w.events;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (!line.startsWith('{')) {
      ev.otherLines.push(line.slice(0, 400));
      if (ev.otherLines.length > 10) ev.otherLines.shift();
      return;
    }
    const warn = line.includes('"level":40') || line.includes('"level":50') || line.includes('"level":60');
    if (!warn && !INTERESTING.some((s) => line.includes(s))) return;
    if (!warn && !w.recordFinals && line.includes('"msg":"final"')) return;
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const t = typeof j.time === 'number' ? j.time : Date.now();
    const msg = String(j.msg);
    if (warn) ev.warnings[msg] = (ev.warnings[msg] ?? 0) + 1;
    if (msg === 'final') ev.finals.push([t, Number(j.height)]);
    else if (msg === 'pruned below the final block') ev.pruned.push({ t, base: Number(j.base), blocksDeleted: Number(j.blocksDeleted) });
    else if (msg === 'initial sync done') ev.initialSync ??= { t, head: Number(j.head), why: String(j.why) };
    else if (msg === 'chain node started') ev.nodeStarted ??= { t, head: Number(j.head) };
    else if (msg.startsWith('checkpoint sync: started')) {
      const cp = j.checkpoint as { height?: number; round?: number } | undefined;
      ev.checkpoint = { t, ms: Number(j.ms), bytes: Number(j.bytes), pieces: Number(j.pieces), height: Number(cp?.height), round: Number(cp?.round) };
    }
  });
}

/** Key + value bytes per record kind of a chain database, and the sections of its newest snapshot. */
export async function inspectChainDb(dataDir: string) {
  const db = await openChainLevel(dataDir);
  try {
    const kinds: Record<string, { records: number; bytes: number }> = {};
    let newest: { height: number; text: string } | undefined;
    for await (const [key, value] of db.iterator()) {
      const kind = key.includes(':') ? `${key.slice(0, key.indexOf(':'))}:` : key;
      const k = (kinds[kind] ??= { records: 0, bytes: 0 });
      k.records++;
      k.bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
      if (kind === 's:') {
        const h = Number(key.slice(2));
        if (newest === undefined || h > newest.height) newest = { height: h, text: value };
      }
    }
    const heights = async (prefix: string) => {
      const hs: number[] = [];
      for await (const key of db.keys({ gte: `${prefix}:`, lt: `${prefix};` })) hs.push(Number(key.slice(prefix.length + 1)));
      return hs;
    };
    const blocks = await heights('h');
    const snapshots = await heights('s');
    const pruned = await db.get('pruned');
    const final = await db.get('n:final');
    const head = await db.get('head');
    let snapshot: { height: number; bytes: number; sections: Record<string, { entries: number; bytes: number }> } | undefined;
    if (newest !== undefined) {
      const v = JSON.parse(newest.text) as { sections: Record<string, unknown[]> };
      const sections: Record<string, { entries: number; bytes: number }> = {};
      for (const [n, entries] of Object.entries(v.sections)) sections[n] = { entries: entries.length, bytes: Buffer.byteLength(JSON.stringify(entries)) };
      snapshot = { height: newest.height, bytes: Buffer.byteLength(newest.text), sections };
    }
    return {
      recordsByKind: kinds,
      logicalBytes: Object.values(kinds).reduce((s, k) => s + k.bytes, 0),
      head: head !== undefined ? (JSON.parse(head) as { height: number }).height : null,
      prunedBase: pruned !== undefined ? (JSON.parse(pruned) as { height: number }).height : null,
      final: final !== undefined ? (JSON.parse(final) as { height: number }).height : null,
      blocksHeld: blocks.length,
      lowestBlock: blocks.length ? Math.min(...blocks) : null,
      snapshotHeights: snapshots,
      newestSnapshot: snapshot ?? null,
    };
  } finally {
    await db.close();
  }
}

export async function homeNodeProcess(): Promise<void> {
  const nodes = new Map<string, Watched>();
  const get = (name: unknown) => {
    const w = nodes.get(String(name));
    if (!w) throw new Error(`NO_SUCH_NODE name=${String(name)}`);
    return w;
  };
  // the orchestrator went away: do not leave node processes behind
  process.on('exit', () => {
    for (const w of nodes.values()) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  });

  serve({
    async start(m) {
      const name = m.name as string;
      const dataDir = m.dataDir as string;
      const keyFile = join(dataDir, 'key.json');
      await writeKeyFile(keyFile, serviceKey(name), name, true);
      const args = [
        MAIN, '--genesis', m.genesisFile as string, '--data', dataDir, '--key', keyFile, '--broker', m.mqttUrl as string,
        '--meter-id', name, '--log-level', (m.logLevel as string | undefined) ?? 'info',
        ...(m.prune === true ? ['--prune'] : []),
        ...(m.checkpointSync === true ? ['--checkpoint-sync'] : []),
      ];
      // a home's node keeps no journal (hem/hemChain.ts: it would double the writes of every reading)
      const env = { ...process.env, TMI_CHAIN_JOURNAL: m.journal === false ? 'false' : 'true' };
      const startedAt = Date.now();
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
      const w: Watched = {
        name, dataDir, child, samples: [], recordFinals: m.recordFinals === true,
        events: { startedAt, pruned: [], finals: [], warnings: {}, otherLines: [] },
        sampler: setInterval(() => void sample(), m.sampleMs as number),
        exited: new Promise((resolve) => child.once('exit', (code, signal) => {
          w.events.exit = { t: Date.now(), code, signal };
          clearInterval(w.sampler);
          resolve();
        })),
      };
      nodes.set(name, w);
      watchLog(w, child);
      let sampling = false;
      async function sample() {
        if (sampling || child.pid === undefined) return;
        sampling = true;
        try {
          const p = procOf(child.pid);
          if (Number.isFinite(p.rssMB)) w.samples.push({ t: Date.now(), ...p, dir: await dirSize(chainDbPath(dataDir)) });
        } finally {
          sampling = false;
        }
      }
      return { pid: child.pid ?? -1, startedAt, args: args.slice(1).map((a) => (a.startsWith('/') ? a.replace(dirname(dataDir), '…') : a)) };
    },
    /** samples since the last call, and the events so far */
    async samples(m) {
      const w = get(m.name);
      return { samples: w.samples.splice(0), events: w.events };
    },
    async stop(m) {
      const w = get(m.name);
      if (w.child.exitCode === null && w.child.signalCode === null) {
        w.child.kill('SIGTERM');
        const killer = setTimeout(() => w.child.kill('SIGKILL'), 30_000);
        await w.exited;
        clearTimeout(killer);
      }
      const dir = await dirSize(chainDbPath(w.dataDir));
      let db: Awaited<ReturnType<typeof inspectChainDb>> | { error: string };
      try {
        db = await inspectChainDb(w.dataDir);
      } catch (err) {
        db = { error: (err as Error).message };
      }
      return { samples: w.samples.splice(0), events: w.events, dirAfterStop: dir, db };
    },
    async close() {
      for (const w of nodes.values()) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
      await Promise.race([Promise.all([...nodes.values()].map((w) => w.exited)), new Promise((r) => setTimeout(r, 20_000))]);
      setImmediate(() => process.exit(0));
      return {};
    },
  });
}
