/**
 * Test fixture: a SunSpec device on Modbus TCP served by pymodbus (hem/test/sunspecServer.py),
 * an implementation independent of the adapter's Modbus library, with a register map
 * the test defines.
 *
 * Needs a python3 with pymodbus (Debian: `apt-get install python3-pymodbus`). Without it
 * the tests skip and say so; with CI=true they fail and name the missing component.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../../../hem/test/sunspecServer.py', import.meta.url));

/** The component the SunSpec tests need. */
export const PYMODBUS = 'python3-pymodbus (apt-get install python3-pymodbus)';

/** A python3 that imports pymodbus: TMI_PYTHON if set, else /usr/bin/python3 (Debian's), python3. */
export function findPymodbus(): { python: string; version: string } | { missing: string } {
  const tried: string[] = [];
  const candidates = process.env.TMI_PYTHON ? [process.env.TMI_PYTHON] : ['/usr/bin/python3', 'python3'];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import pymodbus; print(pymodbus.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python: py, version: r.stdout.trim() };
    tried.push(`${py}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return { missing: `${PYMODBUS}; tried ${tried.join('; ')}` };
}

/**
 * How a test that needs pymodbus runs: `{}` when it is there, `{skip}` without it, and
 * with CI=true a failure naming the component (a CI run must not pass by skipping).
 */
export function needsPymodbus(): { python?: string; skip?: string; fail?: string } {
  const p = findPymodbus();
  if ('python' in p) return { python: p.python };
  if (process.env.CI === 'true') return { fail: `MISSING_COMPONENT ${p.missing}` };
  return { skip: `needs ${p.missing}` };
}

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
  port: number;
  writes: DeviceWrite[];
  /** changes registers (as the device's own firmware would) */
  set(address: number, values: number[]): void;
  stop(): Promise<void>;
}

/** Starts the device; `port` 0 (default) takes a free port. */
export async function startSunSpecDevice(python: string, registers: Record<string, number>, o: { unit?: number; port?: number } = {}): Promise<SunSpecDevice> {
  const spec = { unit: o.unit ?? 1, port: o.port ?? 0, registers };
  const child: ChildProcessWithoutNullStreams = spawn(python, [SERVER, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const writes: DeviceWrite[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    const h = setTimeout(() => reject(new Error(`pymodbus server did not start: ${stderr}`)), 15_000);
    child.once('exit', (code) => {
      clearTimeout(h);
      reject(new Error(`pymodbus server exited ${code}: ${stderr}`));
    });
    lines.on('line', (line) => {
      const m = JSON.parse(line) as { ready?: number; write?: number; values?: number[] };
      if (m.ready !== undefined) {
        clearTimeout(h);
        resolve(m.ready);
      } else if (m.write !== undefined) writes.push({ address: m.write, values: m.values ?? [] });
    });
  });
  return {
    port,
    writes,
    set(address, values) {
      child.stdin.write(JSON.stringify({ set: address, values }) + '\n');
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.stdin.end();
      const h = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(h);
    },
  };
}
