/**
 * `mqtt` adapter: a home whose devices speak MQTT on a local bus (zigbee2mqtt, Home
 * Assistant, an inverter bridge). A second MQTT connection, to the home's broker.
 *
 * [MQH-1] Sensors: PV power, load power, battery power (positive = charging) and SOC,
 *         each a topic with an optional JSON path (`"a.b.0"`; none = the payload is the
 *         number) and a scale (e.g. 1000 for kW → W, 0.01 for % → fraction). A value is
 *         accepted only if the payload is ≤ 4 KiB, parses, and is finite and in range
 *         (|power| ≤ 10 MW, SOC 0..1); anything else is logged and ignored.
 * [MQH-2] Energy = power held from each sample to the next, integrated over home time;
 *         charged/discharged split by the sign of battery power. An interval the adapter
 *         did not observe at all (PV, load or SOC never seen) has no measurement (null).
 * [MQH-3] Setpoints: at an award window's start the adapter publishes {<path>: W} on the
 *         setpoint topic; at its end `autoPayload` hands the battery back to its own
 *         self-consumption mode.
 * [MQH-4] Forecast: persistence (the last interval's average PV and load power).
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { requireCjs } from '../../wire/requireCjs.js';
import type { BatteryState } from '../../tcr/stepBattery.js';
import type { HemStatus, HomeDevices, IntervalMeasurement, LivePower, SetpointWindow } from '../homeDevices.js';
import { homeSeconds, overlapMs, type Interval } from '../meteringInterval.js';
import { discoveryMessages, haNodeId, statusPayload } from './haDiscovery.js';

export interface SensorSpec {
  topic: string;
  /** dot path into a JSON payload; omitted = the payload is a bare number */
  path?: string;
  /** multiply the value by this (default 1) */
  scale?: number;
}

export interface MqttHomeOptions {
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  sensors: { pvPower: SensorSpec; loadPower: SensorSpec; batteryPower: SensorSpec; batterySoc: SensorSpec };
  setpoint: { topic: string; path?: string; retain?: boolean };
  /** published when an award window ends (default {"mode":"auto"}) */
  autoPayload?: string;
  discovery?: { prefix?: string; nodeId?: string };
  /** retained JSON status for dashboards (default tmi-hem/<meterId>/status) */
  statusTopic?: string;
  meterId: string;
  speed?: number;
  now?: () => number;
  log?: Logger;
  /** for tests: an existing client */
  client?: MqttClient;
}

export const MAX_SENSOR_PAYLOAD_BYTES = 4096;
const MAX_POWER_W = 10_000_000;

type SensorName = keyof MqttHomeOptions['sensors'];

/** Reads a number from a payload by [MQH-1]; undefined when it is not one. */
export function readSensorValue(payload: Buffer, spec: SensorSpec): number | undefined {
  if (payload.byteLength > MAX_SENSOR_PAYLOAD_BYTES) return undefined;
  const text = payload.toString('utf8').trim();
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (spec.path) {
    for (const part of spec.path.split('.')) {
      if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, part)) return undefined;
      v = (v as Record<string, unknown>)[part];
    }
  }
  if (typeof v === 'string' && /^-?[0-9]+(\.[0-9]+)?$/.test(v)) v = Number(v);
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  const out = v * (spec.scale ?? 1);
  return Number.isFinite(out) ? out : undefined;
}

function setPath(path: string, value: number): unknown {
  const parts = path.split('.');
  let out: unknown = value;
  for (let i = parts.length - 1; i >= 0; i--) out = { [parts[i] as string]: out };
  return out;
}

export function createMqttHome(o: MqttHomeOptions): HomeDevices {
  const now = o.now ?? Date.now;
  const speed = o.speed ?? 1;
  const statusTopic = o.statusTopic ?? `tmi-hem/${o.meterId}/status`;
  const last: Partial<Record<SensorName, { v: number; t: number }>> = {};
  // energy accumulators, Wh, since the last measure()
  const acc = { pv: 0, load: 0, ch: 0, dis: 0 };
  let accFrom: number | undefined;
  let lastAvg = { pvW: 0, loadW: 0 };
  let windows: SetpointWindow[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let setpointW: number | null = null;
  let client: MqttClient | undefined = o.client;
  const warned = new Set<string>();

  /** integrates every power sensor from its last sample up to t [MQH-2] */
  function integrate(t: number): void {
    const add = (name: SensorName, f: (wh: number, v: number) => void) => {
      const s = last[name];
      if (!s || t <= s.t) return;
      f((s.v * homeSeconds(t - s.t, speed)) / 3600, s.v);
      s.t = t;
    };
    add('pvPower', (wh) => (acc.pv += wh));
    add('loadPower', (wh) => (acc.load += wh));
    add('batteryPower', (wh, v) => {
      if (v > 0) acc.ch += wh;
      else acc.dis -= wh;
    });
  }

  function onSample(name: SensorName, payload: Buffer): void {
    const spec = o.sensors[name];
    const v = readSensorValue(payload, spec);
    const ok = v !== undefined && (name === 'batterySoc' ? v >= 0 && v <= 1 : Math.abs(v) <= MAX_POWER_W && (name === 'batteryPower' || v >= 0));
    if (!ok) {
      o.log?.warn({ event: 'bad-device-value', sensor: name, topic: spec.topic, bytes: payload.byteLength }, 'ignored a device value');
      return;
    }
    const t = now();
    integrate(t);
    accFrom ??= t;
    last[name] = { v: v as number, t };
  }

  function publish(topic: string, payload: string, retain = false): void {
    client?.publish(topic, payload, { qos: 0, retain });
  }

  function applySetpoint(w: number | null): void {
    setpointW = w;
    const sp = o.setpoint;
    if (w === null) publish(sp.topic, o.autoPayload ?? '{"mode":"auto"}', sp.retain ?? false);
    else publish(sp.topic, JSON.stringify(setPath(sp.path ?? 'power', Math.round(w))), sp.retain ?? false);
    o.log?.info({ event: 'setpoint', setpointW: w }, 'battery setpoint');
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
    if (w.startMs <= t) applySetpoint(w.powerW);
    else at(w.startMs, () => applySetpoint(w.powerW));
    at(w.endMs, () => {
      if (!windows.some((x) => x !== w && x.startMs <= now() && x.endMs > now())) applySetpoint(null);
      windows = windows.filter((x) => x !== w);
    });
  }

  return {
    kind: 'mqtt',
    async start() {
      client ??= (requireCjs('mqtt') as typeof import('mqtt')).connect(o.url, {
        clientId: o.clientId ?? `tmi-hem-${o.meterId}`,
        ...(o.username !== undefined ? { username: o.username } : {}),
        ...(o.password !== undefined ? { password: o.password } : {}),
        reconnectPeriod: 2000,
        writeCache: false, // see mqttSession [HEM-S5]
      });
      const c = client;
      const topics = new Map<string, SensorName[]>();
      for (const [name, spec] of Object.entries(o.sensors) as [SensorName, SensorSpec][]) {
        topics.set(spec.topic, [...(topics.get(spec.topic) ?? []), name]);
      }
      c.on('message', (topic, payload) => {
        for (const name of topics.get(topic) ?? []) onSample(name, payload);
      });
      c.on('connect', () => {
        c.subscribe([...topics.keys()], { qos: 0 });
        if (o.discovery) {
          const nodeId = o.discovery.nodeId ?? haNodeId(o.meterId);
          for (const m of discoveryMessages(o.discovery.prefix ?? 'homeassistant', nodeId, statusTopic, o.meterId)) publish(m.topic, m.payload, true);
        }
      });
      c.on('error', (err) => {
        if (!warned.has(err.message)) o.log?.warn({ event: 'home-bus-error', err: err.message }, 'home bus error');
        warned.add(err.message);
      });
      if (!c.connected) {
        await new Promise<void>((resolve) => {
          const h = setTimeout(resolve, 5000); // start anyway; values come when the bus is up
          c.once('connect', () => {
            clearTimeout(h);
            resolve();
          });
        });
      }
    },

    async measure(i: Interval): Promise<IntervalMeasurement | null> {
      integrate(i.endMs);
      const seen = last.pvPower && last.loadPower && last.batterySoc;
      const observed = accFrom !== undefined && accFrom < i.endMs;
      const m = { pvWh: acc.pv, loadWh: acc.load, chargedWh: acc.ch, dischargedWh: acc.dis, soc: last.batterySoc?.v ?? 0 };
      const hs = homeSeconds(i.endMs - Math.max(i.startMs, accFrom ?? i.startMs), speed);
      if (hs > 0) lastAvg = { pvW: (acc.pv * 3600) / hs, loadW: (acc.load * 3600) / hs };
      acc.pv = acc.load = acc.ch = acc.dis = 0;
      windows = windows.filter((w) => w.endMs > i.endMs || overlapMs(w, { startMs: now(), endMs: now() + 1 }) > 0);
      return seen && observed ? m : null;
    },

    batteryState(): BatteryState {
      return { soc: last.batterySoc?.v ?? 0 };
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
      return { pvW: last.pvPower?.v ?? 0, loadW: last.loadPower?.v ?? 0, batteryW: last.batteryPower?.v ?? 0, setpointW };
    },

    snapshot: () => null,

    report(s: HemStatus) {
      publish(statusTopic, statusPayload(s), true);
    },

    async close() {
      for (const h of timers) clearTimeout(h);
      timers.clear();
      if (client && !o.client) await new Promise<void>((r) => client?.end(true, {}, () => r()));
    },
  };
}
