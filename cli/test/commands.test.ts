import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../commands.js';
import { AUDIT_BIDS_IN_HELP } from '../commands/auction.js';
import { CHAIN_DEFAULTS_IN_HELP, HEAP_CAPS_IN_HELP } from '../commands/up.js';
import { PART_HEAP_CAP_MB } from '../../platform/partHeapCaps.js';
import { GENESIS_DEFAULTS } from '../../poe-chain/core/genesis.js';
import { MAX_AUDIT_BIDS } from '../../poe-chain/core/auction/auctionAudit.js';

const TMI = fileURLToPath(new URL('../tmi.js', import.meta.url));
const RECORDER = fileURLToPath(new URL('./recordModuleLoads.js', import.meta.url));
const CLI_DIR = new URL('../', import.meta.url).href; // dist/cli/
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs `node dist/cli/tmi.js ...args` and returns its result and every module URL it loaded. */
async function runRecorded(dir: string, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string; loaded: string[] }> {
  const file = join(dir, `loads-${args.join('_').replace(/[^a-z_-]/gi, '')}.txt`);
  const r = spawnSync(process.execPath, ['--import', RECORDER, TMI, ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    env: { ...process.env, TMI_RECORD_LOADS: file },
  });
  const text = await readFile(file, 'utf8').catch(() => '');
  const loaded = [...new Set(text.split('\n').filter((u) => u !== '' && u !== pathToHref(RECORDER) && u !== pathToHref(TMI)))];
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, loaded };
}

function pathToHref(p: string): string {
  return new URL(`file://${p}`).href;
}

test('the recorder sees what a command loads when it runs (so an empty list below means something)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-cli-loads-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await runRecorded(dir, 'auction', 'clear', '--input', 'aggregator/examples/auction.json');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.loaded.some((u) => u.endsWith('/poe-chain/core/auction/auctionAudit.js')), r.loaded.join('\n'));
  assert.ok(r.loaded.some((u) => u.includes('/node_modules/ajv/')), 'ajv (a CommonJS package) is seen');
});

test('tmi auction clear validates with precompiled code: ajv itself is not loaded (npm run build)', {
  skip: existsSync(new URL('../../schemas/compiled/', import.meta.url)) ? false : 'built by tsc alone: no precompiled validators',
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-cli-loads-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const format of ['audit', 'auction-result']) {
    const r = await runRecorded(dir, 'auction', 'clear', '--format', format, '--input', 'aggregator/examples/auction.json');
    assert.equal(r.status, 0, r.stderr);
    const ajv = r.loaded.filter((u) => u.includes('/node_modules/ajv/'));
    assert.ok(ajv.length > 0 && ajv.every((u) => u.includes('/node_modules/ajv/dist/runtime/')), ajv.join('\n'));
    assert.deepEqual(r.loaded.filter((u) => /\/node_modules\/(fast-uri|json-schema-traverse)\//.test(u)), []);
  }
});

test('tmi --help lists every command and loads only the entry point and the command table', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-cli-loads-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await runRecorded(dir, '--help');
  assert.equal(r.status, 0, r.stderr);
  for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name} +${c.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), c.name);
  const files = r.loaded.filter((u) => u.startsWith('file:'));
  assert.ok(files.includes(`${CLI_DIR}commands.js`), 'the recorder saw the command table');
  const others = files.filter((u) => u !== `${CLI_DIR}commands.js` && u !== `${CLI_DIR}command.js`);
  assert.deepEqual(others, [], 'tmi --help loaded more than the command table');
  for (const heavy of ['aedes', 'express', 'level', 'classic-level', 'ajv', 'pino', 'mqtt']) {
    assert.ok(!r.loaded.some((u) => u.includes(`/node_modules/${heavy}/`)), `tmi --help loaded ${heavy}`);
  }
});

test('every command answers --help without loading any part of the platform or any package', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-cli-loads-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const c of COMMANDS) {
    const r = await runRecorded(dir, c.name, '--help');
    assert.equal(r.status, 0, `${c.name}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`\\btmi ${c.name}\\b`), `${c.name} --help names its command`);
    const files = r.loaded.filter((u) => u.startsWith('file:'));
    assert.ok(files.includes(`${CLI_DIR}commands/${c.name}.js`), `${c.name}: its module was loaded`);
    const outside = files.filter((u) => !u.startsWith(CLI_DIR) || u.includes('/node_modules/'));
    assert.deepEqual(outside, [], `tmi ${c.name} --help loaded modules outside the CLI`);
  }
});

test('each command module is the one its table row names', async () => {
  for (const c of COMMANDS) {
    const cmd = await c.load();
    assert.equal(cmd.name, c.name);
    assert.ok(cmd.help.length > 0, c.name);
  }
});

test('the bid limit in tmi auction --help is the auction code\'s', () => {
  assert.equal(AUDIT_BIDS_IN_HELP, MAX_AUDIT_BIDS);
});

test('the slot length and patience in tmi up --help are the genesis defaults, its heap caps the ones it sets', () => {
  assert.deepEqual(CHAIN_DEFAULTS_IN_HELP, { slotMs: GENESIS_DEFAULTS.slotMs, patience: GENESIS_DEFAULTS.patience });
  assert.deepEqual(HEAP_CAPS_IN_HELP, PART_HEAP_CAP_MB, 'the heap caps tmi up --help names are the ones it sets');
});
