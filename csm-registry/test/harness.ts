/** Test harness: the real registry app over memory-level on an ephemeral loopback port. */
import { MemoryLevel } from 'memory-level';
import { generateKeyPair, type KeyPair } from '../../wire/keys.js';
import { createRegistry, type Registry, type RegistryOptions } from '../createRegistry.js';
import type { EnrollRequest } from '../registrySchemas.js';
import type { RegistryDb } from '../registryStore.js';

export const T0 = Date.parse('2026-03-01T12:00:00.000Z');
export const ADMIN = 'test-admin-token-0123456789abcdef';

export interface Clock {
  now: () => number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function fakeClock(start = T0): Clock {
  let t = start;
  return { now: () => t, set: (ms) => void (t = ms), advance: (ms) => void (t += ms) };
}

export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export interface TestRegistry {
  reg: Registry;
  db: RegistryDb;
  url: string;
  clock: Clock;
  registryKey: KeyPair;
  /** fetch with JSON; `body` is JSON-encoded unless `raw` is given; admin token unless token: null */
  http(method: string, path: string, o?: { body?: unknown; raw?: string | Uint8Array; token?: string | null; headers?: Record<string, string> }): Promise<HttpReply>;
  /** every key/value in the database, for "nothing changed" checks */
  snapshot(): Promise<Array<[string, string]>>;
  close(): Promise<void>;
}

export async function startTestRegistry(o: Partial<RegistryOptions> = {}): Promise<TestRegistry> {
  const clock = fakeClock();
  const db: RegistryDb = new MemoryLevel<string, string>();
  const registryKey = o.registryKey ?? generateKeyPair();
  const reg = await createRegistry({ db, registryKey, adminToken: ADMIN, now: clock.now, ...o });
  const { url } = await reg.listen(0, '127.0.0.1');
  return {
    reg,
    db,
    url,
    clock,
    registryKey,
    async http(method, path, h = {}) {
      const headers: Record<string, string> = { ...(h.headers ?? {}) };
      if (h.token !== null) headers.authorization = `Bearer ${h.token ?? ADMIN}`;
      let body: string | Uint8Array | undefined;
      if (h.raw !== undefined) body = h.raw;
      else if (h.body !== undefined) body = JSON.stringify(h.body);
      if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
      const res = await fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    async snapshot() {
      return db.iterator({ keyEncoding: 'utf8', valueEncoding: 'utf8' }).all();
    },
    async close() {
      await reg.close();
      await db.close();
    },
  };
}

let counter = 0;
export function enrollBody(over: Partial<EnrollRequest> = {}, key: KeyPair = generateKeyPair()): EnrollRequest {
  counter++;
  return {
    meterId: `meter-${counter}`,
    serial: `SN${counter}`,
    meterType: 'Landis+Gyr E450',
    publicKey: key.address,
    feeder: 'F1',
    programme: 'RE+TE',
    ...over,
  };
}

/** The error code of a JSON error reply. */
export function errCode(r: HttpReply): string | undefined {
  return (r.json as { error?: { code?: string } } | undefined)?.error?.code;
}
