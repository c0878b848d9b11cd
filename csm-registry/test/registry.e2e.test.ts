/**
 * End to end: `tmi registry` as a real process on loopback, `tmi enroll` against it,
 * SIGTERM and SIGKILL, restart on the same data directory, revocation feed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readKeyFile } from '../../wire/keyFile.js';
import { generateKeyPair } from '../../wire/keys.js';
import { verifyCertificate, verifyRevocation } from '../certificate.js';
import { RegistryClient } from '../client.js';

const TMI = fileURLToPath(new URL('../../cli/tmi.js', import.meta.url));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

interface Running {
  child: ChildProcess;
  url: string;
  stdout: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startRegistry(data: string, env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [TMI, 'registry', '--data', data, '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, TMI_ADMIN_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`registry did not start: ${stdout} ${stderr}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:[0-9]+)/.exec(stdout);
      if (m && /admin token/.test(stdout)) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`registry exited early code=${code}: ${stderr}`));
    });
  });
  return { child, url, stdout, stderr: () => stderr, exited };
}

function tmi(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TMI, ...args], { env: { ...process.env, TMI_ADMIN_TOKEN: '', ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const enrollArgs = (url: string, tokenFile: string, keyFile: string, meterId: string): string[] => [
  'enroll', '--registry', url, '--admin-token', tokenFile, '--key', keyFile, '--meter-id', meterId,
  '--serial', `SN-${meterId}`, '--meter-type', 'Landis+Gyr E450', '--feeder', 'F1', '--programme', 'RE+TE',
];

test('registry process: enroll, SIGTERM, SIGKILL, restart, data intact, revoke', { timeout: 90_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-registry-e2e-'));
  try {
    const data = join(dir, 'data');
    const hemKeyFile = join(dir, 'hem.json');
    const kg = await tmi(['keygen', '--out', hemKeyFile]);
    assert.equal(kg.code, 0, kg.stderr);
    const hemKey = await readKeyFile(hemKeyFile);

    // ── first run ──
    let r = await startRegistry(data);
    const tokenFile = join(data, 'admin-token');
    assert.match(r.stdout, new RegExp(`admin token in ${tokenFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
    assert.equal((await stat(join(data, 'registry-key.json'))).mode & 0o777, 0o600);
    const token = (await readFile(tokenFile, 'utf8')).trim();
    const registryAddress = /registry key ([0-9a-f]{64})/.exec(r.stdout)![1]!;

    const e1 = await tmi(enrollArgs(r.url, tokenFile, hemKeyFile, 'home-1'));
    assert.equal(e1.code, 0, e1.stderr);
    const m1 = JSON.parse(e1.stdout) as { meterId: string; publicKey: string; status: string };
    assert.deepEqual([m1.meterId, m1.publicKey, m1.status], ['home-1', hemKey.address, 'active']);

    // clear failures of tmi enroll
    const dup = await tmi(enrollArgs(r.url, tokenFile, hemKeyFile, 'home-1'));
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /ALREADY_ENROLLED.*HTTP 409/);
    const wrongToken = await tmi(enrollArgs(r.url, 'not-the-token-0123456789', hemKeyFile, 'home-9'));
    assert.equal(wrongToken.code, 1);
    assert.match(wrongToken.stderr, /UNAUTHORIZED/);
    const missing = await tmi(['enroll', '--registry', r.url, '--admin-token', tokenFile]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing --key, --meter-id/);
    const badProgramme = await tmi([...enrollArgs(r.url, tokenFile, hemKeyFile, 'home-9').slice(0, -1), 'XX']);
    assert.equal(badProgramme.code, 2);
    assert.match(badProgramme.stderr, /SCHEMA_BAD_VALUE/);

    const pseudo = generateKeyPair().address;
    const cert = await new RegistryClient({ url: r.url, registryPublicKey: registryAddress }).requestCertificate(hemKey, 'home-1', pseudo);
    assert.ok(verifyCertificate(cert, registryAddress));

    // ── SIGTERM: graceful ──
    r.child.kill('SIGTERM');
    const ended = await r.exited;
    assert.equal(ended.code, 0, r.stderr());
    assert.match(r.stderr(), /registry stopped/);

    // ── second run, same data ──
    r = await startRegistry(data);
    assert.match(r.stdout, new RegExp(`registry key ${registryAddress}`));
    let admin2 = new RegistryClient({ url: r.url, adminToken: token });
    assert.deepEqual(await admin2.getMeter('home-1'), JSON.parse(e1.stdout));
    assert.equal((await admin2.pseudonym(pseudo)).meterId, 'home-1');
    let audit = await admin2.audit();
    assert.deepEqual(audit.items.map((e) => [e.seq, e.action, e.target]), [[1, 'enroll', 'home-1']]);

    const hem2File = join(dir, 'hem2.json');
    assert.equal((await tmi(['keygen', '--out', hem2File])).code, 0);
    const e2 = await tmi(enrollArgs(r.url, tokenFile, hem2File, 'home-2'));
    assert.equal(e2.code, 0, e2.stderr);

    // ── SIGKILL: no chance to close the db ──
    r.child.kill('SIGKILL');
    assert.equal((await r.exited).signal, 'SIGKILL');

    // ── third run, token from the environment ──
    const envToken = 'env-token-abcdefghijklmnop';
    r = await startRegistry(data, { TMI_ADMIN_TOKEN: envToken });
    assert.match(r.stdout, /admin token from TMI_ADMIN_TOKEN/);
    const stale = new RegistryClient({ url: r.url, adminToken: token });
    await assert.rejects(stale.getMeter('home-1'), /UNAUTHORIZED/);
    admin2 = new RegistryClient({ url: r.url, adminToken: envToken });
    assert.equal((await admin2.getMeter('home-1')).status, 'active');
    assert.equal((await admin2.getMeter('home-2')).status, 'active');
    audit = await admin2.audit();
    assert.deepEqual(audit.items.map((e) => [e.seq, e.action, e.target]), [[1, 'enroll', 'home-1'], [2, 'enroll', 'home-2']]);
    assert.equal((await admin2.health()).meters, 2);

    // ── revoke; the feed has it with its pseudonym ──
    const revoked = await admin2.revoke('home-1', 'end-to-end test');
    assert.equal(revoked.status, 'revoked');
    const feed = await admin2.revocationsSince(0);
    assert.equal(feed.items.length, 1);
    assert.deepEqual([feed.items[0]!.seq, feed.items[0]!.meterId, feed.items[0]!.pseudonyms], [1, 'home-1', [pseudo]]);
    assert.ok(verifyRevocation(feed.items[0]!.chainRevocations[0], registryAddress));
    assert.equal(feed.last, 1);

    r.child.kill('SIGINT');
    assert.equal((await r.exited).code, 0);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
