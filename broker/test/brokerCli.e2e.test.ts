/** `tmi broker` as a real process against the real registry. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryLevel } from 'memory-level';
import { createRegistry } from '../../csm-registry/createRegistry.js';
import { RegistryClient } from '../../csm-registry/client.js';
import type { RegistryDb } from '../../csm-registry/registryStore.js';
import { generateKeyPair } from '../../wire/keys.js';
import { Inbox, login, signedBid, type TestMeter } from './brokerFixtures.js';

const TMI = fileURLToPath(new URL('../../cli/tmi.js', import.meta.url));
const ADMIN = 'cli-test-admin-token-0123456789abc';
const DIRECTORY = 'cli-test-directory-token-0123456789';

test('tmi broker: listens, logs meters in through the registry, serves metrics, stops on SIGTERM', async () => {
  const db: RegistryDb = new MemoryLevel<string, string>();
  const reg = await createRegistry({ db, registryKey: generateKeyPair(), adminToken: ADMIN, directoryToken: DIRECTORY });
  const { url: regUrl } = await reg.listen(0, '127.0.0.1');
  const admin = new RegistryClient({ url: regUrl, adminToken: ADMIN });
  const dir = mkdtempSync(join(tmpdir(), 'tmi-broker-cli-'));
  const tokenFile = join(dir, 'directory-token');
  writeFileSync(tokenFile, DIRECTORY + '\n', { mode: 0o600 });
  const keyFile = join(dir, 'broker-key.json');

  const child = spawn(process.execPath, [TMI, 'broker', '--registry', regUrl, '--directory-token', tokenFile, '--data', join(dir, 'broker'), '--port', '0', '--metrics-port', '0', '--key', keyFile, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const ports = await new Promise<Record<string, number>>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`TIMEOUT no ports; stderr=${stderr}`)), 15_000);
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (/signed by [0-9a-f]{64}/.test(stdout)) {
          clearTimeout(t);
          resolve(Object.fromEntries([...stdout.matchAll(/tmi broker: (\w+) on [^:]+:(\d+)/g)].map((m) => [m[1]!, Number(m[2])])));
        }
      });
    });
    assert.ok(ports.mqtt && ports.metrics, stdout);

    const enroll = async (meterId: string, role: 'hem' | 'aggregator'): Promise<TestMeter> => {
      const key = generateKeyPair();
      const pseudonym = generateKeyPair();
      await admin.enroll({ meterId, serial: `SN-${meterId}`, meterType: 'smart-meter', publicKey: key.address, feeder: 'F1', programme: 'TE', role });
      await admin.requestCertificate(key, meterId, pseudonym.address);
      return { meterId, key, pseudonym };
    };
    const hem = await enroll('meter-cli', 'hem');
    const agg = await enroll('agg-cli', 'aggregator');
    const url = `mqtt://127.0.0.1:${ports.mqtt}`;
    const sub = await login(url, agg);
    const pub = await login(url, hem);
    const bids = await Inbox.subscribe(sub, 'tmi/v1/auctions/+/bids');
    await pub.publishAsync('tmi/v1/auctions/C1/bids', signedBid(hem.pseudonym, 'C1'), { qos: 1 });
    await bids.waitFor(() => bids.messages.length === 1, 5000, 'bid through tmi broker');
    await Promise.all([sub.endAsync(), pub.endAsync()]);

    const metrics = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    assert.match(metrics, /tmi_broker_messages_in_total\{result="accepted"\} 1/);

    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await reg.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tmi broker: missing --registry is a usage error', async () => {
  const child = spawn(process.execPath, [TMI, 'broker'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 2);
  assert.match(stderr, /--registry <url> is required/);
});
