/**
 * Test fixtures for brokers as processes and brokers sharing Redis.
 * - `startRedisServer()`: a throw-away redis-server on a free loopback port, no snapshots,
 *   no append-only file, its own temporary directory; throws MISSING_OS_COMPONENT when
 *   redis-server is not installed. A test that needs it says so with the shared rule
 *   (testkit/osComponents.ts): `{ skip: skipWithout('redis-server') }` — skipped without it,
 *   failed under CI=true.
 * - `spawnBroker(args)`: `tmi broker` as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireComponent } from '../../testkit/osComponents.js';

export interface RedisServer {
  url: string;
  port: number;
  child: ChildProcess;
  /** SIGTERM, wait for the exit, remove the directory */
  stop(): Promise<void>;
}

/** Kills a child when this process exits, so that a test that times out leaves no orphan. */
export function killOnExit(child: ChildProcess): void {
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
}

/** A port that was free a moment ago (redis-server cannot listen on port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    let buf = '';
    c.setTimeout(500, () => {
      c.destroy();
      resolve(false);
    });
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        c.destroy();
        resolve(buf.startsWith('+PONG'));
      }
    });
    c.on('error', () => resolve(false));
  });
}

export async function startRedisServer(): Promise<RedisServer> {
  requireComponent('redis-server');
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tmi-redis-'));
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    killOnExit(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const deadline = Date.now() + 5000;
    let up = false;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await answersPing(port)) {
        up = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!up) {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      if (/in use/i.test(out)) continue; // the port was taken in between: another one
      throw new Error(`REDIS_START_FAILED port=${port} output=${out.slice(0, 500)}`);
    }
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      child,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error('REDIS_START_FAILED no free port after 5 attempts');
}

export interface BrokerProcess {
  child: ChildProcess;
  /** listener → port, as printed by `tmi broker` */
  ports: Record<string, number>;
  url: string;
  /** the broker's signing address */
  address: string;
  stderr(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill9(): Promise<void>;
  stop(): Promise<number | null>;
}

const TMI = new URL('../../cli/tmi.js', import.meta.url).pathname;

/** `tmi broker <args>` as a child process; resolves once it prints its ports. */
export async function spawnBroker(args: string[], timeoutMs = 15_000): Promise<BrokerProcess> {
  const child = spawn(process.execPath, [TMI, 'broker', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`TIMEOUT tmi broker printed no ports; stderr=${stderr.slice(-2000)}`)), timeoutMs);
    void exit.then(({ code, signal }) => {
      clearTimeout(t);
      reject(new Error(`BROKER_EXITED code=${code} signal=${signal} stderr=${stderr.slice(-2000)}`));
    });
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (/signed by [0-9a-f]{64}/.test(stdout)) {
        clearTimeout(t);
        resolve(Object.fromEntries([...stdout.matchAll(/tmi broker: (\w+) on [^:\s]+:(\d+)/g)].map((m) => [m[1]!, Number(m[2])])));
      }
    });
  });
  const address = /signed by ([0-9a-f]{64})/.exec(stdout)![1]!;
  return {
    child,
    ports,
    url: `mqtt://127.0.0.1:${ports.mqtt}`,
    address,
    stderr: () => stderr,
    exit,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exit;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return (await exit).code;
    },
  };
}
