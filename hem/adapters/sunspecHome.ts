/**
 * `sunspec` adapter: an inverter, meter and battery that speak SunSpec over Modbus TCP
 * or Modbus RTU on a serial line (RS-485) (SMA, Fronius, SolarEdge, Huawei, Victron and
 * most others). Modbus library: modbus-serial (see hem/README.md for why), imported when
 * the adapter starts; RTU through its optional dependency serialport.
 *
 * [SSH-1] Start: connect (TCP: the host's port; RTU: open the serial port), find the
 *         SunSpec header and the models [SUNS-1]; the adapter
 *         uses the first inverter (101-103 or 701), meter (201-204), storage (124) and
 *         battery (802) model it finds. An unreachable device, no header or none of
 *         those models is a coded error, logged (`sunspec-error`); the adapter retries
 *         at every poll and the HEM keeps running: it meters nothing and bids nothing
 *         while the device is not there.
 * [SSH-2] Poll every `pollMs`: each model is read on its own, so one that fails or shows
 *         a not-implemented value [SUNS-3] does not hide the others.
 *         PV = inverter W; grid = meter W (> 0 import; `invertMeter` for meters that
 *         count export as positive); battery = 802 W (> 0 discharge), or without 802 the
 *         SOC change × capacity (an estimate); SOC = 802 SoC, else 124 ChaState.
 *         AC-coupled battery: load = grid + PV − battery charge; DC-coupled (behind a
 *         hybrid inverter, `batteryCoupling: "dc"`): PV = inverter W + battery charge,
 *         load = grid + inverter W.
 * [SSH-3] Energy = each power held from one poll to the next, integrated in home time
 *         over exactly the interval (a poll after its end counts for the next one).
 *         An interval is metered only when PV and grid (and the battery, if the device
 *         has one) were known over all of it, from a poll at or before its start; else
 *         no reading (`sunspec-no-reading` says what was missing): the first interval
 *         after a start is never metered. No meter or no inverter model: no readings.
 * [SSH-4] Bidding: `batteryLimits()` gives the power limits of the storage control
 *         model (124 WChaMax, capped by 802 WChaRteMax/WDisChaRteMax) while the device
 *         answers, the SOC is known and the last control write succeeded; otherwise
 *         null, and the EMS does not bid. Without model 124 the battery is metered,
 *         never offered.
 * [SSH-5] Set-points (124): an award window writes OutWRte = −InWRte = ∓P/WChaMax (%)
 *         — both limits at the same power, so the battery must run at P —, the revert
 *         timeout InOutWRte_RvrtTms (end of the window + 60 s, when the device has it,
 *         so the device falls back to its own mode if the HEM dies), then StorCtl_Mod = 3
 *         (both limits active). At the window's end StorCtl_Mod = 0 (the device's own mode).
 * [SSH-6] A request with no answer within `timeoutMs` (ETIMEDOUT) is SUNSPEC_UNREACHABLE,
 *         on both transports: a device that is there answers every request, if need be
 *         with a Modbus exception; on a serial line, a unit id no device has, a device
 *         switched off and wrong line settings all look like this. The adapter closes
 *         the connection (or port) and starts again at the next poll.
 * [SSH-7] One Modbus request at a time per device (registerIo).
 */
import type { Logger } from 'pino';
import { requireCjs } from '../../wire/requireCjs.js';
import type { BatteryState } from '../../tcr/stepBattery.js';
import type { BatteryLimits, HomeDevices, IntervalMeasurement, LivePower, SetpointWindow } from '../homeDevices.js';
import { homeSeconds, overlapMs, type Interval } from '../meteringInterval.js';
import {
  BASE_ADDRESSES,
  BATTERY_802,
  END_MODEL_ID,
  INVERTER_1XX,
  INVERTER_701,
  METER_20X,
  STORAGE_124,
  SUNS_MARKER,
  SunSpecError,
  implemented,
  neededLength,
  offsetOf,
  pointValue,
  scaleFactor,
  selectModels,
  toRegister,
  type DeviceModels,
  type Layout,
  type ModelBlock,
} from './sunspecModels.js';

/** Modbus RTU line settings (the device's RS-485 settings). */
export interface RtuLine {
  /** the serial device, e.g. /dev/ttyUSB0 */
  path: string;
  baudRate: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

/** Where the device is: Modbus TCP (the default) or Modbus RTU on a serial port. */
export type ModbusLink = { transport?: 'tcp'; host: string; port?: number } | ({ transport: 'rtu' } & Partial<Omit<RtuLine, 'path'>> & { path: string });

export const RTU_DEFAULTS = { baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1 } as const satisfies Omit<RtuLine, 'path'>;

export type SunSpecHomeOptions = ModbusLink & {
  unitId?: number;
  /** where the SunSpec header is; default: try 40000, 0, 50000 */
  baseAddress?: number;
  pollMs?: number;
  timeoutMs?: number;
  invertMeter?: boolean;
  batteryCoupling?: 'ac' | 'dc';
  /** battery capacity for the SOC-based estimate when the device has no model 802 */
  capacityWh: number;
  speed?: number;
  now?: () => number;
  log?: Logger;
};

/** Modbus registers, as the adapter needs them. */
export interface RegisterIo {
  read(address: number, count: number): Promise<number[]>;
  write(address: number, values: number[]): Promise<void>;
  readonly isOpen: boolean;
  close(): Promise<void>;
}

/** The part of modbus-serial's client the adapter uses. */
interface ModbusClient {
  setID(id: number): void;
  setTimeout(ms: number): void;
  connectTCP(host: string, o: { port: number }): Promise<void>;
  connectRTUBuffered(path: string, o: { baudRate: number; parity: string; dataBits: number; stopBits: number }): Promise<void>;
  readHoldingRegisters(address: number, count: number): Promise<{ data: number[] }>;
  writeRegisters(address: number, values: number[]): Promise<unknown>;
  close(cb: () => void): void;
  readonly isOpen: boolean;
}

const MAX_READ = 125; // registers per Modbus read request

// serialport's open errors carry no code, only the system's message ("Error: No such file
// or directory, cannot open /dev/ttyUSB0"): the usual ones by their errno name
const SERIAL_ERRORS: readonly (readonly [RegExp, string])[] = [
  [/No such file or directory/, 'ENOENT'],
  [/Permission denied/, 'EACCES'],
  [/Device or resource busy|Resource temporarily unavailable|Cannot lock port/, 'EBUSY'],
  [/Inappropriate ioctl for device/, 'ENOTTY'], // not a serial port
];

function reason(err: unknown): string {
  const e = err as { message?: string; errno?: string; code?: string; modbusCode?: number };
  if (typeof e?.modbusCode === 'number') return `modbus-exception-${e.modbusCode}`; // 2: illegal data address
  if (typeof e?.code === 'string') return e.code; // ECONNREFUSED, EHOSTUNREACH, …
  if (typeof e?.errno === 'string') return e.errno; // modbus-serial: ETIMEDOUT, …
  const message = String(e?.message ?? err);
  return SERIAL_ERRORS.find(([re]) => re.test(message))?.[1] ?? message.replace(/^(Error: )+/, '');
}

const timedOut = (err: unknown) => (err as { errno?: string } | null)?.errno === 'ETIMEDOUT';

function newClient(unitId: number, timeoutMs: number): ModbusClient {
  const Modbus = requireCjs('modbus-serial') as new () => ModbusClient; // module.exports is the class
  const client = new Modbus();
  client.setID(unitId);
  client.setTimeout(timeoutMs);
  return client;
}

/** `open`, failing after timeoutMs; on failure the client is closed and SUNSPEC_UNREACHABLE thrown. */
async function open(client: ModbusClient, f: () => Promise<void>, timeoutMs: number, where: Record<string, string | number>): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      const h = setTimeout(() => reject(new Error('connect timed out')), timeoutMs);
      f().then(
        () => {
          clearTimeout(h);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(h);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  } catch (err) {
    client.close(() => undefined);
    throw new SunSpecError('SUNSPEC_UNREACHABLE', { ...where, reason: reason(err) });
  }
}

/** Connects to a Modbus TCP device. Throws SUNSPEC_UNREACHABLE. */
export async function connectModbusTcp(host: string, port: number, unitId: number, timeoutMs: number): Promise<RegisterIo> {
  const client = newClient(unitId, timeoutMs);
  await open(client, () => client.connectTCP(host, { port }), timeoutMs, { host, port });
  return registerIo(client, { host, port });
}

/**
 * Opens the serial port of a Modbus RTU device (unit `unitId` on the line). Throws
 * SUNSPEC_UNREACHABLE (no such port, no permission, not a serial port); whether a device
 * answers shows at the first request [SSH-6].
 */
export async function connectModbusRtu(line: RtuLine, unitId: number, timeoutMs: number): Promise<RegisterIo> {
  const client = newClient(unitId, timeoutMs);
  const { path, ...settings } = line;
  const where = { path, unitId };
  await open(client, () => client.connectRTUBuffered(path, settings), timeoutMs, where);
  return registerIo(client, where);
}

/** Connects as the link says. Throws SUNSPEC_UNREACHABLE. */
export function connectModbus(link: ModbusLink, unitId: number, timeoutMs: number): Promise<RegisterIo> {
  if (link.transport === 'rtu') {
    const d = RTU_DEFAULTS;
    const line: RtuLine = { path: link.path, baudRate: link.baudRate ?? d.baudRate, parity: link.parity ?? d.parity, dataBits: link.dataBits ?? d.dataBits, stopBits: link.stopBits ?? d.stopBits };
    return connectModbusRtu(line, unitId, timeoutMs);
  }
  return connectModbusTcp(link.host, link.port ?? 502, unitId, timeoutMs);
}

/**
 * The registers of a connected client. [SSH-7] One request at a time: a serial line
 * carries one request and its answer before the next (modbus-serial's RTU port matches an
 * answer to the one request it waits for), and many TCP devices serve one at a time; a
 * set-point written while a poll reads waits for the read.
 */
function registerIo(client: ModbusClient, where: Record<string, string | number>): RegisterIo {
  const unreachable = (err: unknown) => new SunSpecError('SUNSPEC_UNREACHABLE', { ...where, reason: reason(err) });
  let queue: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(f: () => Promise<T>): Promise<T> => {
    const next = queue.then(f, f);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    get isOpen() {
      return client.isOpen;
    },
    async read(address, count) {
      const out: number[] = [];
      for (let a = address; a < address + count; a += MAX_READ) {
        const n = Math.min(MAX_READ, address + count - a);
        try {
          const r = await oneAtATime(() => client.readHoldingRegisters(a, n));
          out.push(...r.data);
        } catch (err) {
          if (!client.isOpen || timedOut(err)) throw unreachable(err); // [SSH-6]
          throw new SunSpecError('SUNSPEC_READ_FAILED', { address: a, count: n, reason: reason(err) });
        }
      }
      return out;
    },
    async write(address, values) {
      try {
        await oneAtATime(() => client.writeRegisters(address, values));
      } catch (err) {
        if (!client.isOpen || timedOut(err)) throw unreachable(err); // [SSH-6]
        throw new SunSpecError('SUNSPEC_WRITE_FAILED', { address, count: values.length, reason: reason(err) });
      }
    },
    async close() {
      // modbus-serial calls back only when it closes the socket (port) itself: not for a
      // socket the device already closed, so that case (and a close that hangs) is not waited for
      if (!client.isOpen) return;
      await new Promise<void>((r) => {
        const h = setTimeout(r, 1000);
        client.close(() => {
          clearTimeout(h);
          r();
        });
      });
    },
  };
}

/**
 * Finds the SunSpec header and lists the models [SUNS-1]. Throws SUNSPEC_NOT_FOUND (no
 * header at any base address), SUNSPEC_WRONG_MODEL (none of the models the adapter
 * uses), SUNSPEC_UNREACHABLE.
 */
export async function discoverSunSpec(io: RegisterIo, bases: readonly number[] = BASE_ADDRESSES): Promise<DeviceModels> {
  const tried: string[] = [];
  for (const base of bases) {
    let head: number[];
    try {
      head = await io.read(base, 2);
    } catch (err) {
      if (err instanceof SunSpecError && err.code === 'SUNSPEC_READ_FAILED') {
        tried.push(`${base}:${String(err.context.reason)}`);
        continue;
      }
      throw err;
    }
    if (head[0] !== SUNS_MARKER[0] || head[1] !== SUNS_MARKER[1]) {
      const hex = (v: number | undefined) => `0x${(v ?? 0).toString(16).padStart(4, '0')}`;
      tried.push(`${base}:${hex(head[0])},${hex(head[1])}`);
      continue;
    }
    const all: ModelBlock[] = [];
    let at = base + 2;
    for (let n = 0; n < 100; n++) {
      const [id, length] = await io.read(at, 2);
      if (id === undefined || length === undefined || id === END_MODEL_ID) break;
      all.push({ id, start: at + 2, length });
      at += 2 + length;
      if (at > 0xffff) break;
    }
    return selectModels(base, all);
  }
  throw new SunSpecError('SUNSPEC_NOT_FOUND', { tried: tried.join(' ') });
}

/** One poll: what the device said, and what it could not say. */
export interface SunSpecSample {
  readonly t: number;
  /** inverter AC power, W (> 0 produced) */
  readonly inverterW?: number;
  /** grid exchange at the meter, W (> 0 import) */
  readonly gridW?: number;
  /** battery power, W (> 0 charging) */
  readonly batteryW?: number;
  readonly soc?: number;
  readonly storage?: { wChaMax: number; rteSf: number; revert: boolean };
  readonly battery802?: { whRtg?: number; chargeMaxW?: number; dischargeMaxW?: number };
  readonly errors: readonly SunSpecError[];
}

async function readBlock(io: RegisterIo, m: ModelBlock, l: Layout): Promise<number[]> {
  return io.read(m.start, Math.min(m.length, neededLength(l)));
}

/** Reads every model the adapter uses, each on its own [SSH-2]. */
export async function readSunSpec(io: RegisterIo, models: DeviceModels, o: { invertMeter?: boolean; t: number }): Promise<SunSpecSample> {
  const errors: SunSpecError[] = [];
  const s: { -readonly [K in keyof SunSpecSample]: SunSpecSample[K] } = { t: o.t, errors };
  const attempt = async (f: () => Promise<void>) => {
    try {
      await f();
    } catch (err) {
      if (!(err instanceof SunSpecError)) throw err;
      if (err.code === 'SUNSPEC_UNREACHABLE') throw err;
      errors.push(err);
    }
  };
  const inv = models.inverter;
  if (inv) {
    const l = inv.id === 701 ? INVERTER_701 : INVERTER_1XX;
    await attempt(async () => {
      s.inverterW = pointValue(inv.id, l, 'W', await readBlock(io, inv, l));
    });
  }
  const meter = models.meter;
  if (meter) {
    await attempt(async () => {
      const w = pointValue(meter.id, METER_20X, 'W', await readBlock(io, meter, METER_20X));
      s.gridW = o.invertMeter ? -w : w;
    });
  }
  const bat = models.battery;
  if (bat) {
    await attempt(async () => {
      const r = await readBlock(io, bat, BATTERY_802);
      const opt = (name: string): number | undefined => {
        try {
          return pointValue(bat.id, BATTERY_802, name, r);
        } catch (err) {
          if (err instanceof SunSpecError && err.code === 'SUNSPEC_NOT_IMPLEMENTED') return undefined;
          throw err;
        }
      };
      s.battery802 = { whRtg: opt('WHRtg'), chargeMaxW: opt('WChaRteMax'), dischargeMaxW: opt('WDisChaRteMax') };
      s.soc = pointValue(bat.id, BATTERY_802, 'SoC', r) / 100;
      s.batteryW = -pointValue(bat.id, BATTERY_802, 'W', r);
    });
  }
  const st = models.storage;
  if (st) {
    await attempt(async () => {
      const r = await readBlock(io, st, STORAGE_124);
      if (s.soc === undefined) s.soc = pointValue(st.id, STORAGE_124, 'ChaState', r) / 100;
      const revert = implemented(st.id, STORAGE_124, 'InOutWRte_RvrtTms', r);
      s.storage = { wChaMax: pointValue(st.id, STORAGE_124, 'WChaMax', r), rteSf: scaleFactor(st.id, STORAGE_124, 'InOutWRte_SF', r), revert };
    });
  }
  if (s.soc !== undefined && (s.soc < 0 || s.soc > 1)) {
    errors.push(new SunSpecError('SUNSPEC_BAD_VALUE', { point: 'SoC', value: s.soc * 100, need: '0..100 %' }));
    s.soc = undefined;
  }
  return s;
}

export interface SunSpecHome extends HomeDevices {
  /** the models in use, once found */
  models(): DeviceModels | undefined;
  /** the last poll's errors (empty when all went well) */
  errors(): readonly SunSpecError[];
  /** polls once now (tests; the adapter polls by itself every pollMs) */
  poll(): Promise<void>;
}

export function createSunSpecHome(o: SunSpecHomeOptions): SunSpecHome {
  const now = o.now ?? Date.now;
  const speed = o.speed ?? 1;
  const unitId = o.unitId ?? 1;
  const pollMs = o.pollMs ?? 5000;
  const timeoutMs = o.timeoutMs ?? 3000;
  const coupling = o.batteryCoupling ?? 'ac';
  let io: RegisterIo | undefined;
  let models: DeviceModels | undefined;
  let last: SunSpecSample | undefined;
  let lastErrors: readonly SunSpecError[] = [];
  let loggedErrors: string | undefined;
  let controlError: SunSpecError | undefined;
  let setpointW: number | null = null;
  let windows: SetpointWindow[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let pollTimer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let closed = false;
  // the polls not yet metered, in time order; each holds until the next [SSH-3]
  let samples: SunSpecSample[] = [];
  const MAX_SAMPLES = 10_000;
  let lastAvg = { pvW: 0, loadW: 0 };

  const hasBattery = () => models?.battery !== undefined || models?.storage !== undefined;

  /** home powers from one sample [SSH-2]; undefined where the sample lacks what is needed */
  function powers(s: SunSpecSample): { pvW?: number; loadW?: number; batteryW?: number; lacks: string[] } {
    const lacks: string[] = [];
    if (!models?.inverter) lacks.push('inverter model');
    else if (s.inverterW === undefined) lacks.push('inverter W');
    if (!models?.meter) lacks.push('meter model');
    else if (s.gridW === undefined) lacks.push('meter W');
    const battW = hasBattery() ? s.batteryW : 0;
    if (battW === undefined) lacks.push('battery power');
    if (lacks.length || s.inverterW === undefined || s.gridW === undefined || battW === undefined) return { lacks };
    const pvW = coupling === 'dc' ? s.inverterW + battW : s.inverterW;
    const loadW = coupling === 'dc' ? s.gridW + s.inverterW : s.gridW + s.inverterW - battW;
    return { pvW: Math.max(0, pvW), loadW: Math.max(0, loadW), batteryW: battW, lacks };
  }

  /**
   * Energy over [startMs, endMs) from the samples, each held until the next [SSH-3]. The
   * interval must be covered from its start: a sample at or before startMs.
   */
  function energyOver(startMs: number, endMs: number): { m: Omit<IntervalMeasurement, 'soc'>; missing: Set<string> } {
    const m = { pvWh: 0, loadWh: 0, chargedWh: 0, dischargedWh: 0 };
    const missing = new Set<string>();
    if (!samples.length) missing.add('no poll answered');
    else if ((samples[0] as SunSpecSample).t > startMs) missing.add('the start of the interval (no poll before it)');
    for (let k = 0; k < samples.length; k++) {
      const s = samples[k] as SunSpecSample;
      const from = Math.max(startMs, s.t);
      const to = Math.min(endMs, samples[k + 1]?.t ?? endMs);
      if (to <= from) continue;
      const p = powers(s);
      if (p.pvW === undefined || p.loadW === undefined || p.batteryW === undefined) {
        for (const x of p.lacks) missing.add(x);
        continue;
      }
      const h = homeSeconds(to - from, speed) / 3600;
      m.pvWh += p.pvW * h;
      m.loadWh += p.loadW * h;
      if (p.batteryW > 0) m.chargedWh += p.batteryW * h;
      else m.dischargedWh -= p.batteryW * h;
    }
    return { m, missing };
  }

  function keep(s: SunSpecSample): void {
    last = s;
    samples.push(s);
    if (samples.length > MAX_SAMPLES) samples = samples.slice(-MAX_SAMPLES);
  }

  function report(errors: readonly SunSpecError[]): void {
    lastErrors = errors;
    const key = errors.map((e) => e.message).join('; ');
    if (key === loggedErrors) return;
    loggedErrors = key;
    if (errors.length) o.log?.error({ event: 'sunspec-error', errors: errors.map((e) => e.message), codes: errors.map((e) => e.code) }, 'SunSpec device: ' + key);
    else o.log?.info({ event: 'sunspec-ok', models: models?.all.map((m) => m.id) }, 'SunSpec device read');
  }

  async function pollOnce(): Promise<void> {
    const t = now();
    try {
      if (!io || !io.isOpen) {
        models = undefined;
        await io?.close().catch(() => undefined);
        io = undefined;
        const c = await connectModbus(o, unitId, timeoutMs);
        io = c;
        models = await discoverSunSpec(c, o.baseAddress !== undefined ? [o.baseAddress] : BASE_ADDRESSES);
        o.log?.info({ event: 'sunspec-models', base: models.base, models: models.all.map((m) => m.id) }, 'SunSpec models found');
        if (!models.meter || !models.inverter) {
          o.log?.warn({ event: 'sunspec-no-reading', missing: [!models.inverter ? 'inverter model' : '', !models.meter ? 'meter model' : ''].filter(Boolean) }, 'this device cannot be metered');
        }
        if (!models.storage) o.log?.warn({ event: 'sunspec-no-control', models: models.all.map((m) => m.id) }, 'no storage control model (124): the battery is not offered');
      }
      const s0 = await readSunSpec(io, models as DeviceModels, { invertMeter: o.invertMeter === true, t });
      let s = s0;
      const prev = samples[samples.length - 1];
      if (models?.storage && !models.battery && s.soc !== undefined && prev?.soc !== undefined && t > prev.t) {
        // no battery power point: the SOC change × capacity since the previous poll (an
        // estimate) is the power over that span, and is held until the next poll [SSH-2]
        const w = ((s.soc - prev.soc) * o.capacityWh * 3600) / homeSeconds(t - prev.t, speed);
        samples[samples.length - 1] = { ...prev, batteryW: w };
        s = { ...s, batteryW: w };
      } else if (models?.storage && !models.battery && s.soc !== undefined) s = { ...s, batteryW: 0 };
      keep(s);
      report(s.errors);
    } catch (err) {
      if (!(err instanceof SunSpecError)) throw err;
      // the device is gone (or not SunSpec): nothing is known from now on
      keep({ t, errors: [err] });
      await io?.close().catch(() => undefined);
      io = undefined; // connect and discover again at the next poll
      report([err]);
    }
  }

  function poll(): Promise<void> {
    polling ??= pollOnce().finally(() => {
      polling = undefined;
    });
    return polling;
  }

  async function writeSetpoint(w: number | null, endMs?: number): Promise<void> {
    const st = models?.storage;
    const info = last?.storage;
    if (!io || !st || !info) {
      controlError = new SunSpecError('SUNSPEC_NO_CONTROL', { reason: !st ? 'no model 124' : 'device not read' });
      o.log?.error({ event: 'setpoint-failed', err: controlError.message }, 'battery set-point not written');
      return;
    }
    try {
      if (w === null) {
        await io.write(st.start + offsetOf(STORAGE_124, 'StorCtl_Mod'), [0]);
      } else {
        const pct = Math.min(100, (Math.abs(w) / Math.max(1, info.wChaMax)) * 100);
        const inPct = w > 0 ? pct : -pct;
        // OutWRte (10) and InWRte (11) in one write
        await io.write(st.start + offsetOf(STORAGE_124, 'OutWRte'), [toRegister(-inPct, info.rteSf, 'int16'), toRegister(inPct, info.rteSf, 'int16')]);
        if (info.revert && endMs !== undefined) {
          const s = Math.min(0xfffe, Math.ceil((endMs - now()) / 1000) + 60);
          await io.write(st.start + offsetOf(STORAGE_124, 'InOutWRte_RvrtTms'), [Math.max(1, s)]);
        }
        await io.write(st.start + offsetOf(STORAGE_124, 'StorCtl_Mod'), [3]);
      }
      controlError = undefined;
      setpointW = w;
      o.log?.info({ event: 'setpoint', setpointW: w }, 'battery setpoint');
    } catch (err) {
      if (!(err instanceof SunSpecError)) throw err;
      controlError = err;
      o.log?.error({ event: 'setpoint-failed', setpointW: w, err: err.message }, 'battery set-point not written');
    }
  }

  function arm(w: SetpointWindow): void {
    const t = now();
    const at = (ms: number, f: () => void) => {
      const h = setTimeout(() => {
        timers.delete(h);
        f();
      }, Math.max(0, ms - t));
      timers.add(h);
    };
    at(Math.max(t, w.startMs), () => void writeSetpoint(w.powerW, w.endMs));
    at(w.endMs, () => {
      windows = windows.filter((x) => x !== w);
      if (!windows.some((x) => x.startMs <= now() && x.endMs > now())) void writeSetpoint(null);
    });
  }

  return {
    kind: 'sunspec',
    async start() {
      await poll();
      pollTimer = setInterval(() => {
        if (!closed) {
          poll().catch((err: unknown) => {
            // not a device error (those are SunSpecErrors, handled in pollOnce): a bug; keep the HEM up
            o.log?.error({ event: 'sunspec-poll-failed', err: err instanceof Error ? err.message : String(err) }, 'SunSpec poll failed');
          });
        }
      }, pollMs);
    },

    async measure(i: Interval): Promise<IntervalMeasurement | null> {
      const { m, missing } = energyOver(i.startMs, i.endMs);
      const soc = [...samples].reverse().find((x) => x.t <= i.endMs)?.soc;
      if (hasBattery() && soc === undefined) missing.add('SOC');
      const hs = homeSeconds(i.endMs - i.startMs, speed);
      const ok = missing.size === 0;
      if (ok && hs > 0) lastAvg = { pvW: (m.pvWh * 3600) / hs, loadW: (m.loadWh * 3600) / hs };
      if (!ok) {
        o.log?.warn(
          { event: 'sunspec-no-reading', interval: { startMs: i.startMs, endMs: i.endMs }, missing: [...missing], errors: lastErrors.map((e) => e.message) },
          'interval not metered',
        );
      }
      // keep the last sample at or before the end (it holds into the next interval) and any later
      let at = -1;
      for (let k = 0; k < samples.length; k++) if ((samples[k] as SunSpecSample).t <= i.endMs) at = k;
      if (at > 0) samples = samples.slice(at);
      windows = windows.filter((w) => w.endMs > i.endMs || overlapMs(w, { startMs: now(), endMs: now() + 1 }) > 0);
      return ok ? { ...m, soc: soc ?? 0 } : null;
    },

    batteryState(): BatteryState {
      return { soc: last?.soc ?? 0 };
    },

    batteryLimits(): BatteryLimits | null {
      const s = last;
      if (!s || !models?.storage || !s.storage || s.soc === undefined || controlError) return null;
      if (s.errors.some((e) => e.code === 'SUNSPEC_UNREACHABLE' || e.code === 'SUNSPEC_NOT_FOUND' || e.code === 'SUNSPEC_WRONG_MODEL')) return null;
      if (now() - s.t > 3 * pollMs) return null; // no fresh reading
      const cap = (a: number, b: number | undefined) => (b === undefined ? a : Math.min(a, b));
      return {
        maxChargeW: cap(s.storage.wChaMax, s.battery802?.chargeMaxW),
        maxDischargeW: cap(s.storage.wChaMax, s.battery802?.dischargeMaxW),
      };
    },

    batteryLimitsWhy(): string {
      const s = last;
      if (!s) return 'device not read yet';
      if (!models?.storage) return models ? 'no storage control model (124)' : (lastErrors[0]?.message ?? 'device not found');
      if (controlError) return controlError.message;
      if (s.soc === undefined || !s.storage) return lastErrors.map((e) => e.message).join('; ') || 'SOC unknown';
      return lastErrors.map((e) => e.message).join('; ') || 'no fresh reading';
    },

    forecast(i: Interval) {
      const hs = homeSeconds(i.endMs - i.startMs, speed);
      return { pvWh: (lastAvg.pvW * hs) / 3600, loadWh: (lastAvg.loadW * hs) / 3600 };
    },

    scheduleSetpoint(w: SetpointWindow) {
      windows = windows.filter((x) => overlapMs(x, w) === 0);
      windows.push(w);
      arm(w);
    },

    live(): LivePower {
      const p = last ? powers(last) : undefined;
      return { pvW: p?.pvW ?? 0, loadW: p?.loadW ?? 0, batteryW: p?.batteryW ?? 0, setpointW };
    },

    snapshot: () => null,

    models: () => models,
    errors: () => lastErrors,
    poll,

    async close() {
      closed = true;
      if (pollTimer) clearInterval(pollTimer);
      for (const h of timers) clearTimeout(h);
      timers.clear();
      await polling?.catch(() => undefined);
      await io?.close().catch(() => undefined);
      io = undefined;
    },
  };
}
