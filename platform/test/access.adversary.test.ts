/**
 * Access integrity of `tmi up`, against the real process over HTTP and MQTT:
 *   [ROLES]     three credentials, each in its own 0600 file, each accepted only where it
 *               belongs: the broker's directory token cannot enrol, revoke, set feeder
 *               limits or read the audit log; the registry admin token does not open the
 *               aggregator's operator API, nor the operator token the registry.
 *   [BROKER-ID] the broker's error-signing key is in the data directory (0600) and the same
 *               after a restart; `tmi up` prints it and the registry serves it, so a HEM
 *               that pinned it before the restart still takes the broker's errors after.
 *   [TOKEN]     a login token accepted before the restart is refused after it (inside its
 *               60-s window): the broker's replay memory outlives the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { createCodec } from '../../wire/codec.js';
import { makeLoginToken } from '../../wire/loginToken.js';
import type { AnyEnvelope } from '../../schemas/types.js';
import { errorSignerAccepted } from '../../hem/ems.js';
import { adminTokenOf, enrollHem, operatorTokenOf, startUp, stopUp, waitFor, type TestHem, type UpProcess } from './tmiUpProcess.js';

const I = 60_000;

async function http(url: string, token: string | undefined, method = 'GET', body?: unknown): Promise<{ status: number; body: { error?: { code: string } } & Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
}

/** SIGTERM, and SIGKILL after 30 s: a platform that does not stop is a failure, not a hang */
async function stopWithin(up: UpProcess, what: string): Promise<void> {
  const t = setTimeout(() => up.child.kill('SIGKILL'), 30_000);
  const r = await stopUp(up, 'SIGTERM');
  clearTimeout(t);
  assert.notEqual(r.signal, 'SIGKILL', `${what}: tmi up did not stop within 30 s of SIGTERM: ${up.lines.slice(-5).join('\n')}`);
}

/** logs in with exactly this token; resolves to the CONNACK return code (0 = accepted) */
function loginWith(url: string, meterId: string, token: string): Promise<{ code: number; client?: MqttClient }> {
  return new Promise((resolve) => {
    // a CONNACK, an error, or the connection closed without either (-1): never a hang
    const c = mqtt.connect(url, { clientId: meterId, username: meterId, password: token, reconnectPeriod: 0, clean: true, connectTimeout: 30_000 });
    c.once('connect', () => resolve({ code: 0, client: c }));
    c.once('error', (err: Error & { code?: number }) => {
      c.end(true);
      resolve({ code: typeof err.code === 'number' ? err.code : -1 });
    });
    c.once('close', () => resolve({ code: -1 }));
  });
}

/** publishes a message the broker's edge refuses and resolves to the broker-signed error it sends back */
async function provokeError(url: string, h: TestHem, lastLines: () => string[]): Promise<AnyEnvelope> {
  const r = await loginWith(url, h.meterId, makeLoginToken(h.meterKey, h.meterId));
  assert.equal(r.code, 0, 'fresh login accepted');
  const c = r.client!;
  try {
    await c.subscribeAsync(`tmi/v1/clients/${h.meterId}/errors`, { qos: 1 });
    const got = new Promise<Buffer>((resolve) => c.once('message', (_t, p) => resolve(p)));
    // a message that is not JSON: refused at the edge, answered with a broker-signed error
    await c.publishAsync('tmi/v1/readings', Buffer.from('{not json'), { qos: 1 });
    const payload = await Promise.race([got, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no broker error in 10 s: ${lastLines().join("\n")}`)), 10_000))]);
    return createCodec({ replayCheck: false }).decode(payload);
  } finally {
    await c.endAsync();
  }
}

test('[ROLES][BROKER-ID][TOKEN] tmi up: separate credentials, a stable broker key, no login token twice across a restart', { timeout: 300_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-access-'));
  let up: UpProcess | undefined;
  try {
    up = await startUp(dir, { intervalMs: I });
    const info = up.info;
    const reg = info.urls.registry;
    const admin = await adminTokenOf(up);
    const directory = (await readFile(info.directoryTokenFile, 'utf8')).trim();
    const operator = await operatorTokenOf(up);

    // [ROLES] three credentials, three 0600 files, three different tokens
    for (const f of [info.adminTokenFile, info.directoryTokenFile, info.operatorTokenFile, join(dir, 'broker', 'broker-key.json')]) {
      assert.equal((await stat(f)).mode & 0o777, 0o600, f);
    }
    assert.equal(new Set([admin, directory, operator]).size, 3);

    const h = await enrollHem(reg, admin, 'home-a');
    const victim = await enrollHem(reg, admin, 'home-b');
    const before = await http(`${reg}/v1/health`, undefined);
    const audit = await http(`${reg}/v1/audit`, admin);

    // the broker's credential reads what a login needs ...
    assert.equal((await http(`${reg}/v1/meters/home-a`, directory)).status, 200);
    assert.equal((await http(`${reg}/v1/pseudonyms/${h.pseudonym.address}`, directory)).status, 200);
    assert.equal((await http(`${reg}/v1/revocations`, directory)).status, 200);
    assert.equal((await http(`${reg}/v1/whoami`, directory)).body.role, 'directory');
    // ... and cannot enrol, revoke, set feeder limits, list meters or read the audit log
    const writes: [string, string, unknown?][] = [
      ['POST', '/v1/meters', { meterId: 'mallory', serial: 'SN-M', meterType: 'x', publicKey: 'ab'.repeat(32), feeder: 'F1', programme: 'TE' }],
      ['POST', '/v1/meters/home-b/revoke', { reason: 'taken over broker' }],
      ['PUT', '/v1/feeders/F1', { maxExportWh: 1, maxImportWh: 1 }],
      ['GET', '/v1/meters'],
      ['GET', '/v1/audit'],
    ];
    const refusals: string[] = [];
    for (const [method, path, body] of writes) {
      const r = await http(`${reg}${path}`, directory, method, body);
      assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error?.code, 'FORBIDDEN');
      refusals.push(`${method} ${path}`);
    }
    // nothing changed: same meter count, the victim still active, no new audit entry
    assert.deepEqual((await http(`${reg}/v1/health`, undefined)).body, before.body);
    assert.equal((await http(`${reg}/v1/meters/home-b`, admin)).body.status, 'active');
    assert.deepEqual((await http(`${reg}/v1/audit`, admin)).body, audit.body);
    assert.equal((await http(`${reg}/v1/meters/mallory`, admin)).status, 404);
    // each service takes only its own credential
    const agg = `${info.urls.aggregator}/admin/auctions`;
    assert.equal((await http(agg, admin)).status, 401, 'the registry admin token does not open the operator API');
    assert.equal((await http(agg, directory)).status, 401, 'nor the broker token');
    assert.equal((await http(agg, operator)).status, 200, 'the operator token does');
    assert.equal((await http(`${reg}/v1/meters/home-a`, operator)).status, 401, 'the operator token does not open the registry');
    void victim;

    // [BROKER-ID] printed, served by the registry, pinned; the broker's errors carry it
    const served = (await http(`${reg}/v1/broker-key`, undefined)).body.address as string;
    assert.match(served, /^[0-9a-f]{64}$/);
    assert.equal(served, info.brokerKey);
    const pinned = served; // what a HEM pins (hem/brokerPin.ts)
    const e1 = await provokeError(info.urls.mqtt, h, () => up!.lines.slice(-8));
    assert.equal(e1.operation, 'error');
    assert.equal(e1.clientId, pinned);
    assert.ok(errorSignerAccepted(e1.clientId, { brokerAddress: pinned, aggregatorAddress: info.aggregatorKey }));

    // [TOKEN] a token accepted now ...
    const token = makeLoginToken(h.meterKey, h.meterId);
    const first = await loginWith(info.urls.mqtt, h.meterId, token);
    assert.equal(first.code, 0);
    await first.client!.endAsync();
    const second = await loginWith(info.urls.mqtt, h.meterId, token);
    assert.equal(second.code, 4, 'replayed at once: CONNACK 4');

    // platform restart (SIGTERM, same data directory, same ports)
    const t0 = Date.now();
    const ports = { mqtt: Number(new URL(info.urls.mqtt).port), registry: Number(new URL(reg).port), aggregator: Number(new URL(info.urls.aggregator!).port), analytics: Number(new URL(info.urls.analytics!).port) };
    await stopWithin(up, 'restart');
    up = await startUp(dir, { intervalMs: I, ports });
    const restartMs = Date.now() - t0;
    assert.equal(up.info.brokerKey, pinned, 'tmi up prints the same broker key');
    assert.equal((await http(`${reg}/v1/broker-key`, undefined)).body.address, pinned, 'the registry serves the same key');
    const e2 = await provokeError(up.info.urls.mqtt, h, () => up!.lines.slice(-8));
    assert.equal(e2.clientId, pinned, 'the restarted broker signs with the pinned key');
    assert.ok(errorSignerAccepted(e2.clientId, { brokerAddress: pinned, aggregatorAddress: up.info.aggregatorKey }), 'the HEM still takes its errors');

    // ... is refused after the restart, still inside its 60-s window
    const replay = await loginWith(up.info.urls.mqtt, h.meterId, token);
    const age = Date.now() - Number(token.split('.')[1]);
    assert.ok(age < 60_000, `still inside the token window (${age} ms)`);
    assert.equal(replay.code, 4, 'replayed after the restart: CONNACK 4');
    // the log line travels through tmi up's asynchronous stderr: wait for it
    const upNow = up;
    await waitFor('the TOKEN_REPLAYED log line', () => upNow.lines.some((l) => l.includes('TOKEN_REPLAYED')), 10_000);
    process.stdout.write(`# access: directory token refused on ${refusals.join(', ')}; restart ${restartMs} ms; token replayed ${age} ms after signing refused; broker key ${pinned.slice(0, 12)}… kept\n`);
  } finally {
    if (up) await stopWithin(up, 'end');
    await rm(dir, { recursive: true, force: true });
  }
});
