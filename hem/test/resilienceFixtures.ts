/**
 * Fixtures for the fault-injection tests (*.resilience.test.ts): `tmi hem` as a child
 * process whose JSON log lines are collected, that can be frozen (SIGSTOP), resumed,
 * killed and restarted with the same config, optionally with a skewed clock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TMI = fileURLToPath(new URL('../../cli/tmi.js', import.meta.url));
const SKEWED_CLOCK = fileURLToPath(new URL('./skewedClock.js', import.meta.url));

export type LogLine = Record<string, unknown>;

export interface HemProcess {
  meterId: string;
  config: string;
  child: ChildProcess;
  /** every JSON line it printed, across restarts */
  lines: LogLine[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  events(name: string): LogLine[];
  running(): boolean;
  stderr(): string;
}

export interface SpawnHemOptions {
  /** a file holding the clock skew in ms, re-read every 100 ms (skewedClock.ts) */
  clockSkewFile?: string;
  /** keep lines of a previous run of the same HEM */
  lines?: LogLine[];
}

/** Splits a byte stream into JSON lines. */
export function collectJsonLines(stream: NodeJS.ReadableStream | null, into: LogLine[]): void {
  let buf = '';
  stream?.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        into.push(JSON.parse(l) as LogLine);
      } catch {
        /* not JSON */
      }
    }
  });
}

export function spawnHem(meterId: string, config: string, o: SpawnHemOptions = {}): HemProcess {
  const args = [...(o.clockSkewFile ? ['--import', SKEWED_CLOCK] : []), TMI, 'hem', '--config', config];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(o.clockSkewFile ? { TMI_TEST_CLOCK_SKEW_FILE: o.clockSkewFile } : {}) },
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  };
  process.once('exit', kill); // a test that times out leaves no orphan
  child.once('exit', () => process.off('exit', kill));
  const lines = o.lines ?? [];
  collectJsonLines(child.stdout, lines);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return {
    meterId,
    config,
    child,
    lines,
    exit,
    events: (name) => lines.filter((l) => l.event === name),
    running: () => child.exitCode === null && child.signalCode === null,
    stderr: () => err,
  };
}

/** Ends a process whatever its state (a stopped one is continued first so it can die). */
export async function killHard(p: { child: ChildProcess; exit: Promise<unknown> }): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGCONT');
  p.child.kill('SIGKILL');
  await p.exit;
}

export async function waitUntil<T>(f: () => T | undefined | false | null, timeoutMs: number, what: string, stepMs = 25): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`TIMEOUT waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
