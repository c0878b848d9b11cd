/** Test helpers for hem/: a plain in-process aedes broker, a fake registry, a log capture. */
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { pino, type Logger } from 'pino';
import { MemoryLevel } from 'memory-level';
import { generateKeyPair, type KeyPair } from '../../wire/keys.js';
import { signCertificate } from '../../csm-registry/certificate.js';
import type { Certificate } from '../../schemas/types.js';
import type { CertificateIssuer } from '../pseudonyms.js';
import type { EnergyProfile } from '../adapters/simHome.js';
import type { HemDb } from '../hemStore.js';

export interface PlainBroker {
  aedes: Aedes;
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Plain aedes (no auth, no validation) on an ephemeral loopback port. */
export async function startPlainBroker(port = 0): Promise<PlainBroker> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const p = (server.address() as AddressInfo).port;
  return {
    aedes,
    server,
    port: p,
    url: `mqtt://127.0.0.1:${p}`,
    async close() {
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export async function connectClient(url: string, clientId = `t-${Math.random().toString(36).slice(2)}`): Promise<MqttClient> {
  const c = mqtt.connect(url, { clientId, reconnectPeriod: 200 });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

export function endClient(c: MqttClient): Promise<void> {
  return new Promise((r) => c.end(true, {}, () => r()));
}

/** A registry stand-in: signs certificates with its own key, valid for `validMs`. */
export function fakeIssuer(o: { validMs?: number; now?: () => number; feeder?: string; programme?: 'TE' | 'RE' | 'RE+TE'; fail?: () => boolean } = {}): CertificateIssuer & {
  key: KeyPair;
  issued: Certificate[];
} {
  const key = generateKeyPair();
  const tag = key.address; // one meter: any 64 hex digits will do
  const issued: Certificate[] = [];
  return {
    key,
    issued,
    async requestCertificate(_meterKey, _meterId, address) {
      if (o.fail?.()) throw new Error('REGISTRY_UNREACHABLE test');
      const t = (o.now ?? Date.now)();
      const cert = signCertificate(
        {
          address,
          validFrom: new Date(t - 1000).toISOString(),
          // [SYBIL] within one certificate period, with this issuer's meter tag
          validTo: new Date(Math.min(t + (o.validMs ?? 86_400_000), (Math.floor(t / 86_400_000) + 1) * 86_400_000)).toISOString(),
          feeder: o.feeder ?? 'F1',
          programme: o.programme ?? 'RE+TE',
          tag,
        },
        key,
      );
      issued.push(cert);
      return cert;
    },
  };
}

/** Constant power: pvW and loadW all the time (home time). */
export function constantProfile(pvW: number, loadW: number): EnergyProfile {
  return {
    energyWh(a, b) {
      const h = (b - a) / 3_600_000;
      return { pvWh: pvW * h, loadWh: loadW * h };
    },
  };
}

export interface LogCapture {
  log: Logger;
  lines: Record<string, unknown>[];
  events(name: string): Record<string, unknown>[];
}

export function captureLog(level = 'info'): LogCapture {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const log = pino({ level }, stream);
  return { log, lines, events: (name) => lines.filter((l) => l.event === name) };
}

export function memoryDb(): HemDb {
  return new MemoryLevel<string, string>() as unknown as HemDb;
}

const tempDirs: string[] = [];
/** A fresh directory under the OS temp dir, removed when the test process exits. */
export async function tempDir(prefix = 'tmi-hem-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (tempDirs.length === 0) process.once('exit', () => {
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  });
  tempDirs.push(dir);
  return dir;
}

export async function waitFor<T>(f: () => T | undefined | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
