import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TMI = fileURLToPath(new URL('../tmi.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [TMI, ...args], { encoding: 'utf8' });

const SUBCOMMANDS = ['up', 'broker', 'registry', 'aggregator', 'hem', 'analytics', 'keygen', 'enroll', 'chain', 'wallet', 'simulate', 'bench'];

test('tmi --help lists every subcommand of DESIGN §9', () => {
  const r = run('--help');
  assert.equal(r.status, 0);
  for (const name of SUBCOMMANDS) assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'), name);
});

test('every subcommand answers --help', () => {
  for (const name of SUBCOMMANDS) {
    const r = run(name, '--help');
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(name));
  }
});

test('an unknown command is an error', () => {
  const r = run('frobnicate');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});

test('tmi keygen writes a 0600 key file and refuses to overwrite it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'meter.json');
  const r = run('keygen', '--out', file, '--label', 'meter 1');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { address: string };
  assert.match(out.address, /^[0-9a-f]{64}$/);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const key = JSON.parse(await readFile(file, 'utf8')) as { address: string; label: string };
  assert.equal(key.address, out.address);
  assert.equal(key.label, 'meter 1');
  const again = run('keygen', '--out', file);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /exists/);
});

test('a subcommand that is not built says so and exits non-zero', () => {
  for (const name of SUBCOMMANDS) {
    const help = run(name, '--help').stdout;
    if (!/not built yet/i.test(help)) continue;
    const r = run(name);
    assert.equal(r.status, 2, name);
    assert.match(r.stderr, /not built yet/);
  }
});
