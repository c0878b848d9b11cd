/**
 * Fault: a damaged level database. A real data directory is made by `tmi up` with a
 * `tmi hem` process attached (registry with meters, a chain with blocks, a HEM with its
 * pseudonym, readings and outbox). Then, on copies, one file of one database is damaged
 * (the write-ahead log truncated, emptied or with a flipped byte; the MANIFEST or CURRENT
 * damaged; a table file truncated or with a flipped byte) and the part is started the
 * way an operator would: `tmi chain status`, `tmi chain verify`, `tmi up` (chain and
 * registry), `tmi registry`, `tmi hem`. Every damage must be refused at start with a
 * coded message, never served — except a write-ahead log cut at a record boundary or in
 * its tail, which LevelDB cannot tell from a crash before the last writes (the database
 * opens consistent at an earlier point; blocks come back by sync, a HEM re-meters).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { RegistryClient } from '../../csm-registry/client.js';
import { generateKeyPair } from '../../wire/keys.js';
import { writeKeyFile } from '../../wire/keyFile.js';
import { spawnHem, waitUntil } from '../../hem/test/resilienceFixtures.js';
import { killOnExit } from '../../broker/test/redisFixtures.js';
import { TMI } from './tmiUpProcess.js';

const PORTS = ['--mqtt-port', '0', '--ws-port', '0', '--registry-port', '0', '--aggregator-port', '0', '--analytics-port', '0', '--metrics-port', '0'];

interface Run {
  code: number | null;
  served: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `tmi <args>`; `served` when stdout matches `up` (the process is then stopped). */
function runTmi(args: string[], o: { up?: RegExp; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TMI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    let stdout = '';
    let stderr = '';
    let served = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!served && o.up?.test(stdout)) {
        served = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, served, stdout, stderr });
    });
  });
}

type Damage = 'wal-truncate-half' | 'wal-empty' | 'wal-flip' | 'manifest-flip' | 'current-truncate' | 'table-truncate' | 'table-flip';

function biggest(dir: string, re: RegExp): string | undefined {
  const names = readdirSync(dir).filter((n) => re.test(n)).map((n) => join(dir, n));
  return names.sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

function damage(dbDir: string, d: Damage): string {
  const file = d.startsWith('wal') ? biggest(dbDir, /^\d+\.log$/) : d.startsWith('table') ? biggest(dbDir, /^\d+\.ldb$/) : d === 'manifest-flip' ? biggest(dbDir, /^MANIFEST-/) : join(dbDir, 'CURRENT');
  if (!file || statSync(file).size === 0) throw new Error(`no file to damage for ${d} in ${dbDir}`);
  const size = statSync(file).size;
  if (d.endsWith('truncate-half') || d === 'table-truncate' || d === 'current-truncate') truncateSync(file, Math.floor(size / 2));
  else if (d === 'wal-empty') truncateSync(file, 0);
  else {
    const b = readFileSync(file);
    const at = Math.floor(b.length / 3);
    b[at] = b[at]! ^ 0x10;
    writeFileSync(file, b);
  }
  return `${file.split('/').pop()} (${size} B)`;
}

/** Opens and closes a LevelDB once: the write-ahead log becomes a table file. */
async function compact(dir: string): Promise<void> {
  const db = new Level<string, string>(dir);
  await db.open();
  await db.close();
}

const REFUSED = /CORRUPT_DB|DB_CORRUPT|DB_OPEN_FAILED|BAD_STORE/;

test('damaged level databases (chain, registry, HEM) are refused at start with a clear message, never served', { timeout: 600_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'tmi-dbdamage-'));
  const data = join(root, 'data');
  const hemDir = join(root, 'hem');
  try {
    // ── a real data directory: tmi up + one tmi hem for a few seconds ──
    const upChild = spawn(process.execPath, [TMI, 'up', '--data', data, ...PORTS, '--interval-ms', '2000', '--slot-ms', '100', '--patience', '2', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(upChild);
    let upOut = '';
    upChild.stdout.on('data', (d: Buffer) => (upOut += d.toString()));
    const upExit = new Promise<number | null>((r) => upChild.on('exit', (c) => r(c)));
    const info = await waitUntil(() => {
      const m = /\{[\s\S]*"status": "up"[\s\S]*\}\n/.exec(upOut);
      return m ? (JSON.parse(m[0]) as { urls: { registry: string; mqtt: string }; adminTokenFile: string; aggregatorKey: string }) : undefined;
    }, 30_000, 'tmi up');
    const admin = new RegistryClient({ url: info.urls.registry, adminToken: readFileSync(info.adminTokenFile, 'utf8').trim() });
    for (let i = 0; i < 20; i++) {
      await admin.enroll({ meterId: `meter-x-${i}`, serial: `X${i}`, meterType: 'sim', publicKey: generateKeyPair().address, feeder: 'F1', programme: 'RE+TE' });
    }
    const key = generateKeyPair();
    await writeKeyFile(join(hemDir, 'meter-key.json'), key, 'meter-db');
    await admin.enroll({ meterId: 'meter-db', serial: 'DB1', meterType: 'sim', publicKey: key.address, feeder: 'F1', programme: 'RE+TE' });
    const hemConfig = join(root, 'hem.json');
    await writeFile(hemConfig, JSON.stringify({
      meterId: 'meter-db', dataDir: hemDir, broker: { url: info.urls.mqtt, reconnectMs: 500 }, registry: { url: info.urls.registry },
      aggregatorAddress: info.aggregatorKey, intervalMs: 500, speed: 1800, adapter: { type: 'sim', seed: 3 },
    }));
    const hem = spawnHem('meter-db', hemConfig);
    await waitUntil(() => hem.events('reading').length >= 6, 30_000, 'HEM readings');
    hem.child.kill('SIGTERM');
    assert.equal((await hem.exit).code, 0);
    upChild.kill('SIGTERM');
    assert.equal(await upExit, 0, 'tmi up stops cleanly');

    const layouts = { log: join(root, 'layout-log'), table: join(root, 'layout-table') };
    for (const dir of Object.values(layouts)) {
      cpSync(data, join(dir, 'data'), { recursive: true });
      cpSync(hemDir, join(dir, 'hem'), { recursive: true });
    }
    for (const sub of ['data/chain', 'data/registry/db', 'hem/db']) await compact(join(layouts.table, sub));

    // ── damage one file, start the part ──
    const dbs = { chain: 'data/chain', registry: 'data/registry/db', hem: 'hem/db' } as const;
    const cases: { db: keyof typeof dbs; damage: Damage; layout: keyof typeof layouts }[] = [];
    for (const db of Object.keys(dbs) as (keyof typeof dbs)[]) {
      for (const d of ['wal-truncate-half', 'wal-empty', 'wal-flip', 'manifest-flip', 'current-truncate'] as Damage[]) cases.push({ db, damage: d, layout: 'log' });
      for (const d of ['table-truncate', 'table-flip'] as Damage[]) cases.push({ db, damage: d, layout: 'table' });
    }
    const rows: string[] = [];
    let refusedCount = 0;
    for (const c of cases) {
      const work = join(root, 'work');
      rmSync(work, { recursive: true, force: true });
      cpSync(layouts[c.layout], work, { recursive: true });
      const what = damage(join(work, dbs[c.db]), c.damage);
      const config = join(work, 'hem.json');
      writeFileSync(config, readFileSync(hemConfig, 'utf8').replace(JSON.stringify(hemDir), JSON.stringify(join(work, 'hem'))));
      const runs: Record<string, Run> = {};
      const fresh = () => {
        // each start runs on an undamaged-since copy: LevelDB rewrites its LOG (and may repair) at every open
        rmSync(join(root, 'one'), { recursive: true, force: true });
        cpSync(work, join(root, 'one'), { recursive: true });
        return join(root, 'one');
      };
      if (c.db === 'chain') {
        runs.status = await runTmi(['chain', 'status', '--data', join(fresh(), 'data')]);
        runs.verify = await runTmi(['chain', 'verify', '--data', join(fresh(), 'data')]);
      }
      if (c.db === 'registry') runs.registry = await runTmi(['registry', '--data', join(fresh(), 'data/registry'), '--port', '0'], { up: /listening|http:\/\//i });
      if (c.db === 'chain' || c.db === 'registry') runs.up = await runTmi(['up', '--data', join(fresh(), 'data'), ...PORTS, '--log-level', 'error'], { up: /"status": "up"/ });
      if (c.db === 'hem') {
        const dir = fresh();
        writeFileSync(join(dir, 'hem.json'), readFileSync(hemConfig, 'utf8').replace(JSON.stringify(hemDir), JSON.stringify(join(dir, 'hem'))));
        runs.hem = await runTmi(['hem', '--config', join(dir, 'hem.json')], { up: /"event":"hem-started"/ });
      }
      const crashLike = c.damage === 'wal-truncate-half';
      for (const [cmd, r] of Object.entries(runs)) {
        const message = (r.stderr.split('\n').find((l) => REFUSED.test(l)) ?? r.stderr.split('\n').find((l) => /tmi/.test(l)) ?? '').trim();
        const outcome = r.served || r.code === 0 ? 'starts' : 'refused';
        rows.push(`| ${c.db} | ${c.damage}: ${what} | ${cmd} | ${outcome} | ${message.slice(0, 220).replace(/\|/g, '/')} |`);
        if (crashLike) continue; // checked below
        assert.equal(r.served, false, `${c.db} ${c.damage} ${cmd}: must not be served (stdout ${r.stdout.slice(0, 300)})`);
        assert.notEqual(r.code, 0, `${c.db} ${c.damage} ${cmd}: non-zero exit`);
        assert.match(r.stderr, REFUSED, `${c.db} ${c.damage} ${cmd}: a coded message (stderr ${r.stderr.slice(0, 500)})`);
        refusedCount++;
      }
      if (crashLike && c.db === 'chain') {
        // a cut log = a crash before the last writes: consistent at an earlier head, re-validated
        assert.equal(runs.verify!.code, 0, runs.verify!.stderr);
      }
    }
    process.stdout.write(`# db damage: ${refusedCount} damaged starts refused, none served; rows:\n${rows.map((r) => `# ${r}`).join('\n')}\n`);
    assert.ok(existsSync(join(layouts.table, 'hem/db')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
