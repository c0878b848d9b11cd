/**
 * `npm run sim:chain -- [options]`: runs the chain simulation (simulate.ts) over seeds and
 * prints a JSON summary; every failing seed is printed with its step, its simulated time
 * and the violated invariant, and `--seed S` replays it exactly.
 *
 *   --seeds N        seeds 1..N (default 10), or --from F for F..F+N−1
 *   --seed S         one seed, with its last events (--events K, default 60) when it fails
 *   --jobs N         N processes side by side (seeds striped across them)
 *   --fault-ms MS    simulated time of faults and workload per seed (default 60000)
 *   --validators K   validators beside the aggregator's node (default: 2–4 from the seed)
 *   --serve-sync M   who answers sync requests: archive (default, as deployed: the aggregator's node
 *                    everyone's, a validator the aggregator's node's alone), aggregator (it alone), all
 *   --max-partition-ms MS, --max-down-ms MS    largest partition, longest crash
 *   --no-partitions --no-crashes --no-disconnects --no-byzantine --no-loss   leave a fault out
 *   --strict         a transaction stranded in mempools fails the seed (counted otherwise; [MP-13] re-gossip fixed it)
 *   --log LEVEL      node logs at LEVEL and above on stderr (debug|info|warn|error)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_PROFILE, simulate, type FaultProfile, type SimOptions, type SimResult } from './simulate.js';

interface Args {
  /** the options that shape a run (for the replay command) */
  shape: string[];
  from: number;
  count: number;
  one?: number;
  /** child processes (--jobs) */
  jobs: number;
  /** a worker's seeds, and one JSON line per seed on stdout */
  list?: number[];
  ndjson: boolean;
  events: number;
  opts: Omit<SimOptions, 'seed'>;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { shape: [], from: 1, count: 10, jobs: 1, ndjson: false, events: 60, opts: {} };
  const profile: Partial<FaultProfile> = {};
  const num = (i: number, name: string): number => {
    const v = Number(argv[i]);
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`BAD_ARG ${name}=${argv[i]}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const at = i;
    switch (k) {
      case '--seeds': a.count = num(++i, k); break;
      case '--from': a.from = num(++i, k); break;
      case '--seed': a.one = num(++i, k); break;
      case '--events': a.events = num(++i, k); break;
      case '--jobs': a.jobs = Math.max(1, num(++i, k)); break;
      case '--list': a.list = (argv[++i] ?? '').split(',').filter((x) => x !== '').map(Number); break;
      case '--ndjson': a.ndjson = true; break;
      case '--fault-ms': a.opts.faultMs = num(++i, k); break;
      case '--validators': a.opts.validators = num(++i, k); break;
      case '--serve-sync': {
        const v = argv[++i];
        if (v !== 'all' && v !== 'aggregator' && v !== 'archive') throw new Error(`--serve-sync: archive, aggregator or all, not ${String(v)}`);
        a.opts.serveSync = v;
        break;
      }
      case '--max-partition-ms': profile.maxPartitionMs = num(++i, k); break;
      case '--max-down-ms': profile.maxDownMs = num(++i, k); break;
      case '--no-partitions': profile.partitions = false; break;
      case '--no-crashes': profile.crashes = false; break;
      case '--no-disconnects': profile.disconnects = false; break;
      case '--no-byzantine': profile.byzantine = false; break;
      case '--no-loss': profile.lossy = false; break;
      case '--strict': a.opts.strict = true; break;
      case '--log': a.opts.logLevel = argv[++i] as SimOptions['logLevel']; break;
      default: throw new Error(`BAD_ARG ${k} (see poe-chain/sim/simMain.ts)`);
    }
    if (!['--seeds', '--from', '--seed', '--events', '--log', '--jobs', '--list', '--ndjson'].includes(k)) a.shape.push(...argv.slice(at, i + 1));
  }
  a.opts.profile = { ...DEFAULT_PROFILE, ...profile };
  return a;
}

function line(r: SimResult): string {
  const s = r.stats;
  const v = r.violation ? ` FAIL ${r.violation.invariant} step=${r.violation.step} t=${r.violation.atMs}ms ${r.violation.detail}` : '';
  return `seed ${r.seed}: ${r.ok ? 'ok' : 'FAIL'} height=${s.height} final=${s.maxFinal} proven=${s.provenFinal} reorgs=${s.reorgs} crashes=${s.crashes} partitions=${s.partitions} equivocations=${s.equivocations}${s.byzantineSlashed ? '(slashed)' : ''} tx=${s.tx.onChain}/${s.tx.admitted} excused=${Object.values(s.tx.lostExcused).reduce((x, y) => x + y, 0)} stranded=${s.tx.stranded} converged=${s.convergedAfterMs ?? '-'}ms steps=${r.steps} wall=${r.wallMs}ms cpu=${r.cpuMs}ms${v}`;
}

/** What the summary needs of one seed (a worker prints one per line with --ndjson). */
interface SeedOutcome {
  seed: number;
  violation?: { invariant: string; step: number; atMs: number; detail: string };
  simulatedMs: number;
  wallMs: number;
  cpuMs: number;
  stranded: number;
}

async function runSeeds(a: Args, seeds: readonly number[], ndjson: boolean): Promise<SeedOutcome[]> {
  const out: SeedOutcome[] = [];
  for (const seed of seeds) {
    const r = await simulate({ seed, ...a.opts, ...(a.one !== undefined ? { record: a.events } : {}) });
    console.error(line(r));
    if (r.violation && r.events) console.error(`last events of seed ${seed}:\n  ${r.events.join('\n  ')}\nscenario: ${JSON.stringify(r.scenario)}`);
    if (a.one !== undefined) console.error(`traceHash=${r.traceHash}`);
    const v = r.violation;
    const o: SeedOutcome = {
      seed,
      ...(v ? { violation: { invariant: v.invariant, step: v.step, atMs: v.atMs, detail: v.detail } } : {}),
      simulatedMs: r.simulatedMs,
      wallMs: r.wallMs,
      cpuMs: r.cpuMs,
      stranded: r.stats.tx.stranded,
    };
    if (ndjson) console.log(JSON.stringify(o));
    out.push(o);
  }
  return out;
}

/** --jobs N: N child processes, each a stripe of the seeds; their CPU adds up, their wall time overlaps */
async function runJobs(a: Args, seeds: readonly number[], argv: readonly string[]): Promise<SeedOutcome[]> {
  const jobs = Math.min(a.jobs, seeds.length);
  const runs = Array.from({ length: jobs }, (_, k) => new Promise<SeedOutcome[]>((resolve, reject) => {
    const stripe = seeds.filter((_, i) => i % jobs === k);
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...argv.filter((x, i) => x !== '--jobs' && argv[i - 1] !== '--jobs'), '--ndjson', '--list', stripe.join(',')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0 && code !== 1) return reject(new Error(`SIM_WORKER_FAILED stripe=${k} code=${code}`));
      resolve(text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as SeedOutcome));
    });
  }));
  return (await Promise.all(runs)).flat().sort((x, y) => x.seed - y.seed);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const a = parseArgs(argv);
  const seeds = a.list ?? (a.one !== undefined ? [a.one] : Array.from({ length: a.count }, (_, i) => a.from + i));
  const t0 = performance.now();
  const outcomes = a.jobs > 1 && a.one === undefined && !a.list ? await runJobs(a, seeds, argv) : await runSeeds(a, seeds, a.ndjson);
  const failures = outcomes.filter((o) => o.violation).map((o) => ({ seed: o.seed, ...o.violation! }));
  process.exitCode = failures.length > 0 ? 1 : 0;
  if (a.ndjson) return;
  const wallMs = performance.now() - t0;
  const simulatedMs = outcomes.reduce((x, o) => x + o.simulatedMs, 0);
  const cpuMs = outcomes.reduce((x, o) => x + o.cpuMs, 0);
  const longest = outcomes.reduce((m, o) => (o.cpuMs > m.cpuMs ? o : m), outcomes[0]!);
  const stranded = outcomes.filter((o) => o.stranded > 0);
  console.log(JSON.stringify({
    seedsRun: outcomes.length,
    seeds: seeds.length === 1 ? `${seeds[0]}` : `${seeds[0]}..${seeds[seeds.length - 1]}`,
    options: a.shape.join(' '),
    failures,
    knownIssues: { strandedTransactions: stranded.reduce((x, o) => x + o.stranded, 0), seeds: stranded.map((o) => o.seed) },
    simulatedHours: +(simulatedMs / 3_600_000).toFixed(3),
    wallSeconds: +(wallMs / 1000).toFixed(1),
    seedsPerMinute: +((outcomes.length * 60_000) / wallMs).toFixed(1),
    cpuSeconds: +(cpuMs / 1000).toFixed(1),
    seedsPerCpuMinute: +((outcomes.length * 60_000) / Math.max(1, cpuMs)).toFixed(1),
    longestRun: { seed: longest.seed, cpuMs: longest.cpuMs, wallMs: longest.wallMs, simulatedMs: longest.simulatedMs },
    replay: failures.length > 0 ? `npm run sim:chain -- --seed ${failures[0]!.seed}${a.shape.length > 0 ? ` ${a.shape.join(' ')}` : ''}` : undefined,
  }, null, 1));
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? String(err));
  process.exitCode = 2;
});
