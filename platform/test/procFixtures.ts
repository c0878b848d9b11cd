/**
 * Child processes for the end-to-end tests that run `tmi up` and `tmi hem` (market, P2P
 * market, double award, sealed auction, sybil, home page): stdout kept and its JSON lines
 * parsed, stderr kept (bounded), a wait with a timeout, and a stop that ends in SIGKILL;
 * `withTmiUp` runs a test against a fresh `tmi up` and cleans up after it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryClient } from '../../csm-registry/client.js';
import { writeKeyFile } from '../../wire/keyFile.js';
import { generateKeyPair } from '../../wire/keys.js';
import type { ChainState } from '../../poe-chain/core/chainState.js';
import { parseGenesis, type Genesis } from '../../poe-chain/core/genesis.js';
import { HEM_NODE_FLAGS } from '../../hem/nodeFlags.js';
import { TMI } from './tmiUpProcess.js';

export interface Proc {
  name: string;
  child: ChildProcess;
  out: string;
  err: string;
  lines: Record<string, unknown>[];
  exit: Promise<number | null>;
}

export function spawnProc(name: string, args: string[]): Proc {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { name, child, out: '', err: '', lines: [], exit: Promise.resolve(null) };
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    const s = d.toString('utf8');
    p.out += s;
    buf += s;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!l.startsWith('{')) continue;
      try {
        p.lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        /* a multi-line JSON document (tmi up) */
      }
    }
  });
  child.stderr?.on('data', (d: Buffer) => {
    p.err += d.toString('utf8');
    if (p.err.length > 200_000) p.err = p.err.slice(-100_000);
  });
  p.exit = new Promise((r) => child.on('exit', (code, signal) => r(signal ? -1 : code)));
  return p;
}

export async function waitFor<T>(what: string, timeoutMs: number, fn: () => T | undefined | false | Promise<T | undefined | false>, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`TIMEOUT waiting for ${what} (${timeoutMs} ms)`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function stopProc(p: Proc, timeoutMs = 20_000): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exit;
  clearTimeout(t);
  return code;
}

/** Starts `tmi up` (ephemeral ports, warn logs) and waits for the JSON status it prints. */
export async function spawnUp<Info>(tmi: string, upDir: string, o: { intervalMs: number; slotMs: number; patience: number }): Promise<{ up: Proc; info: Info }> {
  const up = spawnProc('tmi-up', [
    tmi, 'up', '--data', upDir, '--mqtt-port', '0', '--ws-port', '0', '--registry-port', '0', '--aggregator-port', '0',
    '--metrics-port', '0', '--analytics-port', '0', '--interval-ms', String(o.intervalMs), '--slot-ms', String(o.slotMs),
    '--patience', String(o.patience), '--log-level', 'warn',
  ]);
  const info = await waitFor('tmi up to print its URLs', 30_000, () => {
    if (up.child.exitCode !== null) throw new Error(`tmi up exited ${up.child.exitCode}: ${up.err}`);
    try {
      return JSON.parse(up.out) as Info;
    } catch {
      return undefined;
    }
  });
  return { up, info };
}

/**
 * The balance an address should hold: Σ settlements of every auction and of every P2P fill in
 * the state ([MKT-SETTLE]: a seller is paid, a buyer pays, either pays its imbalance), the
 * fees for unrevealed P2P orders, + its block rewards.
 */
export function expectedBalance(state: ChainState, address: string): bigint {
  let mc = 0n;
  for (const [, m] of state.sections.markets.entries()) {
    for (const f of m.fills ?? []) {
      if (f.address !== address || f.settlement === undefined) continue;
      const pay = BigInt(f.settlement.paymentMc);
      mc += (f.side === 'sell' ? pay : -pay) - BigInt(f.settlement.penaltyMc);
    }
    for (const x of m.excluded ?? []) if (x.address === address && x.penaltyMc !== undefined) mc -= BigInt(x.penaltyMc);
  }
  for (const [, a] of state.sections.auctions.entries()) {
    for (const w of a.awards ?? []) {
      if (w.address !== address || w.settlement === undefined) continue;
      const pay = BigInt(w.settlement.paymentMc);
      mc += (a.side === 'buy' ? pay : -pay) - BigInt(w.settlement.penaltyMc);
    }
  }
  return mc + BigInt(state.sections.rewards.get(address) ?? '0');
}

/** The HEM's entry point, as `tmi hem` runs it. */
export const HEM_MAIN = fileURLToPath(new URL('../../hem/main.js', import.meta.url));

/**
 * Starts one `hem` process per home (its config written already), adds each to `procs`, and
 * waits until every home logged its certified pseudonym (`address` is set from it); a home
 * that exits first fails the wait with its stderr.
 */
export async function startHems<H extends { meterId: string; config: string; proc?: Proc; address?: string }>(homes: H[], procs: Proc[], timeoutMs = 40_000): Promise<void> {
  for (const h of homes) {
    h.proc = spawnProc(h.meterId, [...HEM_NODE_FLAGS, HEM_MAIN, '--config', h.config]);
    procs.push(h.proc);
  }
  const certified = (h: H) => h.proc!.lines.find((l) => l.event === 'pseudonym-certified')?.address as string | undefined;
  await waitFor(`${homes.length} certified pseudonyms`, timeoutMs, () => {
    for (const h of homes) if (h.proc!.child.exitCode !== null) throw new Error(`${h.meterId} exited: ${h.proc!.err}`);
    return homes.every((h) => certified(h));
  });
  for (const h of homes) h.address = certified(h);
}

/** What `tmi up` prints once it is ready (cli/commands/up.ts), as the e2e tests read it. */
export interface UpInfo {
  urls: { registry: string; mqtt: string; aggregator: string; analytics: string };
  adminTokenFile: string;
  operatorTokenFile: string;
  genesis: string;
  registryKey: string;
  aggregatorKey: string;
}

/** What `withTmiUp` gives a test: a running `tmi up` and its chain. */
export interface TmiUp {
  /** the test's temporary directory: removed when the test passes, kept when it fails */
  root: string;
  /** `tmi up`'s data directory, <root>/up */
  upDir: string;
  up: Proc;
  info: UpInfo;
  /** every process of the test, `tmi up` first; the test adds those it starts */
  procs: Proc[];
  genesis: Genesis;
  /** the registry as the operator (admin token), checking what the registry signs */
  registry: RegistryClient;
}

/**
 * Runs `run` against a fresh `tmi up` in a temporary directory named after `name`. Then
 * every process in `procs` still running is killed; the directory is removed if `run`
 * resolved, else kept and named on stderr with the tail of each process's stderr (and,
 * with `saveStdout`, each process's stdout written to <root>/<process>.log).
 */
export async function withTmiUp(
  name: string,
  o: { intervalMs: number; slotMs: number; patience: number; saveStdout?: boolean },
  run: (u: TmiUp) => Promise<void>,
): Promise<void> {
  const slug = name.replaceAll(' ', '-');
  const root = await mkdtemp(join(tmpdir(), `tmi-${slug}-`));
  const upDir = join(root, 'up');
  const procs: Proc[] = [];
  let ok = false;
  try {
    const { up, info } = await spawnUp<UpInfo>(TMI, upDir, o);
    procs.push(up);
    const adminToken = (await readFile(info.adminTokenFile, 'utf8')).trim();
    const genesis = parseGenesis(JSON.parse(await readFile(info.genesis, 'utf8')));
    const registry = new RegistryClient({ url: info.urls.registry, adminToken, operator: slug, registryPublicKey: info.registryKey });
    await run({ root, upDir, up, info, procs, genesis, registry });
    ok = true;
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exit));
    if (ok) await rm(root, { recursive: true, force: true });
    else {
      process.stderr.write(`# ${name}: data kept in ${root}\n`);
      for (const p of procs) {
        if (p.err) process.stderr.write(`# ${p.name} stderr: ${p.err.slice(-1500)}\n`);
        if (o.saveStdout) await writeFile(join(root, `${p.name}.log`), p.out).catch(() => undefined);
      }
    }
  }
}

/**
 * The operator enrols one home: a fresh meter key written to <dataDir>/meter-key.json (0600,
 * in a 0700 directory) and the meter registered on its feeder and programme.
 */
export async function enrolHome(registry: RegistryClient, h: { meterId: string; dataDir: string; feeder: string; programme: 'TE' | 'RE' | 'RE+TE' }, serial: string): Promise<void> {
  await mkdir(h.dataDir, { recursive: true, mode: 0o700 });
  const key = generateKeyPair();
  await writeKeyFile(join(h.dataDir, 'meter-key.json'), key, h.meterId);
  await registry.enroll({ meterId: h.meterId, serial, meterType: 'simulated smart meter', publicKey: key.address, feeder: h.feeder, programme: h.programme, role: 'hem' });
}
