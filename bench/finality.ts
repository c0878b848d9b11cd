/**
 * npm run bench:finality (node dist/bench/finality.js) — the finality gadget [NODE-fin] with
 * real processes on loopback (poe-chain/testkit/finalityCluster.ts): the broker and an
 * observer chain node in this process, the aggregator's node and N ranked validators as
 * `tmi chain run` processes; the committee is the N validators (at most committeeSize, 12)
 * + the aggregator's node. Prints one JSON object. For each N of BENCH_VALIDATORS (4,12):
 *
 *   finality   a transfer every BENCH_LOAD_EVERY_MS (500) for BENCH_SECONDS (60) after a
 *              5-s warm-up; for each block produced in the window and on the observer's
 *              chain: final on the observer (its `final` event at or above the block's
 *              height) − produced (the `head` line its producer logged: after building,
 *              publishing and storing it; `fromSlotStartMs`: − the start of its slot).
 *              p50/p90/p99/max; targets p50 ≤ 1 s, p99 ≤ 3 s.
 *   idleVotes  no transactions: CPU of each validator process (user + system, /proc) per
 *              second over BENCH_IDLE_SECONDS (30), votes on, then every node restarted on
 *              its data directory with --no-vote, then on again; target: votes ≤ 1 % of a core.
 *   justificationBytes  bytes of the justification transactions (JSON as in the block) per
 *              block, measured in the load window and in the idle window with votes on,
 *              × blocks per day at the rate measured there.
 *
 * Chain: S and W are the genesis defaults (250 ms, 8) unless BENCH_SLOT_MS / BENCH_PATIENCE;
 * the interval (an epoch) is BENCH_INTERVAL_MS (10 s, so that the ranking is in force after
 * three intervals; a real chain's is 15 min, so its inclusion windows and epoch changes come
 * 90× less often than here). Everything shares the machine's cores: read `loadAverage`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GENESIS_DEFAULTS, epochOfSlot, slotTime } from '../poe-chain/core/genesis.js';
import { quorum } from '../poe-chain/core/finality.js';
import { startCluster, sleep, waitUntil, type Cluster, type ClusterNode, type HeadLine } from '../poe-chain/testkit/finalityCluster.js';
import { machine } from './machine.js';

const COUNTS = (process.env.BENCH_VALIDATORS ?? '4,12').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
const LOAD_EVERY_MS = Number(process.env.BENCH_LOAD_EVERY_MS ?? 500);
const SLOT_MS = Number(process.env.BENCH_SLOT_MS ?? GENESIS_DEFAULTS.slotMs);
const PATIENCE = Number(process.env.BENCH_PATIENCE ?? GENESIS_DEFAULTS.patience);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 10_000);
/** node flags for every node process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((x) => x !== '');

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { p50Ms: pct(s, 50), p90Ms: pct(s, 90), p99Ms: pct(s, 99), maxMs: s.at(-1) ?? NaN };
}
const round1 = (x: number) => Math.round(x * 10) / 10;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** every block a node logged as produced, by hash */
function producedLines(c: Cluster): Map<string, HeadLine> {
  const m = new Map<string, HeadLine>();
  for (const n of c.nodes) for (const [h, l] of n.produced) m.set(h, l);
  return m;
}

/** canonical blocks (observer 0) whose producer logged them in [t0, t1) */
async function blocksIn(c: Cluster, t0: number, t1: number) {
  const ob = c.observers[0]!;
  const produced = producedLines(c);
  const byHeight = new Map<number, (typeof ob.blocks)[number]>();
  for (const b of ob.blocks) byHeight.set(b.height, b);
  const out: { height: number; hash: string; slot: number; producedAt: number; justificationBytes: number; justifications: number; txs: number }[] = [];
  for (const [height, b] of [...byHeight.entries()].sort((x, y) => x[0] - y[0])) {
    if (height > ob.node.head().height) continue;
    if ((await ob.store.hashAt(height)) !== b.hash) continue; // orphaned
    const p = produced.get(b.hash);
    if (p === undefined || p.t < t0 || p.t >= t1) continue;
    const txs = b.block.parameters.txs as { operation?: string }[];
    const just = txs.filter((x) => x.operation === 'justification');
    out.push({ height, hash: b.hash, slot: b.block.parameters.header.slot, producedAt: p.t, justificationBytes: just.reduce((s, x) => s + Buffer.byteLength(JSON.stringify(x)), 0), justifications: just.length, txs: txs.length });
  }
  return out;
}

/** when the observer first held a final checkpoint at or above `height` */
function finalAt(c: Cluster, height: number): number | undefined {
  return c.observers[0]!.finals.find((f) => f.height >= height)?.at;
}

async function idleCpu(c: Cluster, nodes: readonly ClusterNode[], seconds: number) {
  const t0 = Date.now();
  const before = await Promise.all(nodes.map((n) => c.cpuSeconds(n)));
  const h0 = c.observers[0]!.node.head().height;
  await sleep(seconds * 1000);
  const after = await Promise.all(nodes.map((n) => c.cpuSeconds(n)));
  const wall = (Date.now() - t0) / 1000;
  const perNode = Object.fromEntries(nodes.map((n, i) => [n.name, round3(((after[i]! - before[i]!) / wall) * 100)]));
  const vals = nodes.filter((n) => n.name !== 'agg').map((n) => perNode[n.name]!);
  return { seconds: round1(wall), blocks: c.observers[0]!.node.head().height - h0, validatorMeanPctOfCore: round3(vals.reduce((s, x) => s + x, 0) / vals.length), pctOfCore: perNode, t0, t1: Date.now() };
}

async function restartAll(c: Cluster, noVote: boolean): Promise<void> {
  await Promise.all(c.nodes.map((n) => c.kill(n, 'SIGTERM')));
  for (const n of c.nodes) {
    n.args = n.args.filter((a) => a !== '--no-vote');
    if (noVote) n.args.push('--no-vote');
    c.launch(n);
  }
  await c.waitStarted(c.nodes);
  await sleep(3000); // the initial sync and the first heartbeat are not part of the window
}

async function runOne(n: number) {
  const dir = await mkdtemp(join(tmpdir(), `tmi-bench-finality-${n}-`));
  const t00 = Date.now();
  const c = await startCluster({ dir, validators: n, slotMs: SLOT_MS, patience: PATIENCE, intervalMs: INTERVAL_MS, logLevel: 'info', nodeArgs: NODE_ARGS });
  const ob = c.observers[0]!;
  try {
    await c.rankingInForce();
    const size = Math.min(n, c.g.committeeSize) + 1;
    const committeeNow = () => ob.node.state().sections.committees.get(String(epochOfSlot(c.g, ob.node.head().slot)))?.length ?? 0;
    await waitUntil(`the committee of ${size}`, () => committeeNow() === size, 4 * INTERVAL_MS, 50);
    const h = ob.node.head().height;
    await waitUntil('a block final with the full committee', () => ob.node.finality().final.height > h, 30_000, 50);
    const setupMs = Date.now() - t00;

    // ── finality under a light load ──────────────────────────────────────────
    c.load(LOAD_EVERY_MS);
    await sleep(5000);
    const t0 = Date.now();
    const load0 = loadavg()[0]!;
    await sleep(SECONDS * 1000);
    const t1 = Date.now();
    c.load(0);
    const lastProduced = Math.max(0, ...[...producedLines(c).values()].filter((l) => l.t < t1).map((l) => l.height));
    await waitUntil('the window final on the observer', () => ob.node.finality().final.height >= lastProduced, 20_000, 50).catch(() => undefined);
    const loaded = await blocksIn(c, t0, t1);
    const lat: number[] = [];
    const fromSlot: number[] = [];
    let notFinal = 0;
    for (const b of loaded) {
      const at = finalAt(c, b.height);
      if (at === undefined) {
        notFinal++;
        continue;
      }
      lat.push(at - b.producedAt);
      fromSlot.push(at - slotTime(c.g, b.slot));
    }
    const loadStats = ob.node.stats();
    const justBytes = (bs: typeof loaded, seconds: number) => {
      const bytes = bs.reduce((s, b) => s + b.justificationBytes, 0);
      const perBlock = bs.length > 0 ? bytes / bs.length : 0;
      const blocksPerDay = (bs.length / seconds) * 86_400;
      return { blocks: bs.length, justifications: bs.reduce((s, b) => s + b.justifications, 0), bytesPerBlock: Math.round(perBlock), blocksPerDay: Math.round(blocksPerDay), bytesPerDay: Math.round(perBlock * blocksPerDay), mbPerDay: round1((perBlock * blocksPerDay) / 1e6) };
    };
    const light = justBytes(loaded, (t1 - t0) / 1000);

    // ── idle: votes on, off, on ──────────────────────────────────────────────
    await sleep(3000);
    const on1 = await idleCpu(c, c.nodes, IDLE_SECONDS);
    const idleBlocks = await blocksIn(c, on1.t0, on1.t1);
    const idle = justBytes(idleBlocks, (on1.t1 - on1.t0) / 1000);
    const idleFinal = idleBlocks.map((b) => finalAt(c, b.height)).filter((x) => x !== undefined).length;
    await restartAll(c, true);
    const off = await idleCpu(c, c.nodes, IDLE_SECONDS);
    await restartAll(c, false);
    const on2 = await idleCpu(c, c.nodes, IDLE_SECONDS);
    const onMean = (on1.validatorMeanPctOfCore + on2.validatorMeanPctOfCore) / 2;
    const strip = (x: Awaited<ReturnType<typeof idleCpu>>) => ({ seconds: x.seconds, blocks: x.blocks, validatorMeanPctOfCore: x.validatorMeanPctOfCore, pctOfCore: x.pctOfCore });
    return {
      committee: size,
      quorum: quorum(size),
      setupMs,
      finality: { from: 'producer head line → observer final', ...summary(lat), blocks: lat.length, notFinal },
      finalityFromSlotStart: { from: 'block slot start → observer final', ...summary(fromSlot) },
      load: { everyMs: LOAD_EVERY_MS, seconds: round1((t1 - t0) / 1000), blocks: loaded.length, txsPerBlock: round1(loaded.reduce((s, b) => s + b.txs - b.justifications, 0) / Math.max(1, loaded.length)), loadAverageStart: round1(load0), loadAverageEnd: round1(loadavg()[0]!) },
      observerFinality: loadStats.finality,
      idleVotes: {
        on: strip(on1), off: strip(off), onAgain: strip(on2),
        validatorVotesCostPctOfCore: round3(onMean - off.validatorMeanPctOfCore),
        idleBlocksFinal: `${idleFinal}/${idleBlocks.length}`,
      },
      justificationBytes: { light, idle },
      loadAverageEnd: round1(loadavg()[0]!),
    };
  } finally {
    await c.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const out: Record<string, unknown> = {
  bench: 'finality',
  slotMs: SLOT_MS,
  patience: PATIENCE,
  intervalMs: INTERVAL_MS,
  targets: { p50Ms: 1000, p99Ms: 3000, votesPctOfCore: 1 },
};
for (const n of COUNTS) out[`validators${n}`] = await runOne(n);
out.machine = machine();
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
process.exit(0);
