/**
 * Test fixture: a SunSpec device served by pymodbus (hem/test/sunspecServer.py), an
 * implementation independent of the adapter's Modbus library, with a register map the
 * test defines; on Modbus TCP (loopback), or on Modbus RTU at one end of a virtual serial
 * pair made by socat (a pair of pseudo-terminals), the adapter at the other end through
 * serialport.
 *
 * Needs the OS components in SUNSPEC_TCP (Debian: python3-pymodbus, python3-serial,
 * python3-serial-asyncio) and for RTU also socat (testkit/osComponents.ts): without them
 * the tests skip and say so; with CI set they fail naming what is missing.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { requireComponent, requirePython, type ComponentName } from '../../testkit/osComponents.js';
import type { RtuLine } from '../adapters/sunspecHome.js';

const SERVER = fileURLToPath(new URL('../../../hem/test/sunspecServer.py', import.meta.url));

/** What the Modbus TCP device needs (pymodbus 3.0's server module imports pyserial and pyserial-asyncio). */
export const SUNSPEC_TCP: readonly ComponentName[] = ['python3-pymodbus', 'python3-serial', 'python3-serial-asyncio'];
/** What the Modbus RTU device needs: the same, and socat for the virtual serial pair. */
export const SUNSPEC_RTU: readonly ComponentName[] = [...SUNSPEC_TCP, 'socat'];

export interface SunSpecModel {
  id: number;
  /** the model's data registers (after ID and L); L = regs.length unless `length` says otherwise */
  regs: number[];
  length?: number;
}

/** A register map: `SunS` at base, the models, the end marker. */
export function sunspecMap(base: number, models: SunSpecModel[]): Record<string, number> {
  const out: Record<string, number> = {};
  let a = base;
  const put = (v: number) => {
    out[String(a++)] = v & 0xffff;
  };
  put(0x5375);
  put(0x6e53);
  for (const m of models) {
    put(m.id);
    put(m.length ?? m.regs.length);
    for (const r of m.regs) put(r);
  }
  put(0xffff);
  put(0);
  return out;
}

/** `length` registers of zero with some set: {offset: value}. */
export function regs(length: number, set: Record<number, number>): number[] {
  const r = new Array<number>(length).fill(0);
  for (const [k, v] of Object.entries(set)) r[Number(k)] = v & 0xffff;
  return r;
}

export interface DeviceWrite {
  address: number;
  values: number[];
}

export interface SunSpecDevice {
  /** TCP: the port on 127.0.0.1 */
  port: number;
  writes: DeviceWrite[];
  /** changes registers (as the device's own firmware would) */
  set(address: number, values: number[]): void;
  stop(): Promise<void>;
}

export interface SunSpecRtuDevice extends Omit<SunSpecDevice, 'port'> {
  /** the serial port the adapter opens (the HEM's end of the pair) */
  path: string;
  line: RtuLine;
}

/** A virtual serial pair: what one end writes the other reads. */
export interface SerialPair {
  /** the device's end */
  device: string;
  /** the HEM's end */
  hem: string;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcessWithoutNullStreams, how: () => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  how();
  const h = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(h);
}

/** Starts `socat` with two linked pseudo-terminals, `device` and `hem`, in a fresh directory. */
export async function startSerialPair(): Promise<SerialPair> {
  const socat = requireComponent('socat');
  const dir = mkdtempSync(join(tmpdir(), 'tmi-rtu-'));
  const device = join(dir, 'device');
  const hem = join(dir, 'hem');
  const child = spawn(socat, ['-d', '-d', `pty,raw,echo=0,link=${device}`, `pty,raw,echo=0,link=${hem}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const stop = async () => {
    await stopChild(child, () => child.kill('SIGTERM'));
    rmSync(dir, { recursive: true, force: true });
  };
  const t0 = Date.now();
  // socat says "starting data transfer loop" once both terminals exist
  while (!(stderr.includes('starting data transfer loop') && existsSync(device) && existsSync(hem))) {
    if (child.exitCode !== null || Date.now() - t0 > 10_000) {
      await stop();
      throw new Error(`socat did not make the serial pair: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { device, hem, stop };
}

interface Served {
  ready: number | string;
  writes: DeviceWrite[];
  set(address: number, values: number[]): void;
  stop(): Promise<void>;
}

async function serve(spec: object): Promise<Served> {
  const python = requirePython(...SUNSPEC_TCP);
  const child: ChildProcessWithoutNullStreams = spawn(python, [SERVER, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const writes: DeviceWrite[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<number | string>((resolve, reject) => {
    const h = setTimeout(() => reject(new Error(`pymodbus server did not start: ${stderr}`)), 15_000);
    child.once('exit', (code) => {
      clearTimeout(h);
      reject(new Error(`pymodbus server exited ${code}: ${stderr}`));
    });
    lines.on('line', (line) => {
      const m = JSON.parse(line) as { ready?: number | string; write?: number; values?: number[] };
      if (m.ready !== undefined) {
        clearTimeout(h);
        resolve(m.ready);
      } else if (m.write !== undefined) writes.push({ address: m.write, values: m.values ?? [] });
    });
  });
  return {
    ready,
    writes,
    set(address, values) {
      child.stdin.write(JSON.stringify({ set: address, values }) + '\n');
    },
    stop: () => stopChild(child, () => child.stdin.end()),
  };
}

/** Starts the device on Modbus TCP; `port` 0 (default) takes a free port. */
export async function startSunSpecDevice(registers: Record<string, number>, o: { unit?: number; port?: number } = {}): Promise<SunSpecDevice> {
  const s = await serve({ unit: o.unit ?? 1, port: o.port ?? 0, registers });
  const { ready, ...rest } = s;
  return { port: ready as number, ...rest };
}

/**
 * Starts the device on Modbus RTU at the `device` end of a serial pair (a new one unless
 * given; stopped with the device when new), with these line settings.
 */
export async function startSunSpecRtuDevice(
  registers: Record<string, number>,
  o: { unit?: number; pair?: SerialPair; line?: Partial<Omit<RtuLine, 'path'>> } = {},
): Promise<SunSpecRtuDevice> {
  requirePython(...SUNSPEC_TCP); // before socat starts: name what is missing first
  const pair = o.pair ?? (await startSerialPair());
  // 8N1: a pseudo-terminal carries neither parity nor 7-bit characters (Linux forces CS8
  // without parity on a pty, and pyserial then fails to set the port up)
  const line: RtuLine = { path: pair.hem, baudRate: 19200, parity: 'none', dataBits: 8, stopBits: 1, ...o.line };
  let s: Served;
  try {
    s = await serve({ unit: o.unit ?? 1, serial: { ...line, path: pair.device }, registers });
  } catch (err) {
    if (!o.pair) await pair.stop();
    throw err;
  }
  return {
    path: pair.hem,
    line,
    writes: s.writes,
    set: s.set,
    async stop() {
      await s.stop();
      if (!o.pair) await pair.stop();
    },
  };
}
