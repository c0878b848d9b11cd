import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './hemFixtures.js';

const TMI = fileURLToPath(new URL('../../cli/tmi.js', import.meta.url));
const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../../hem/examples/hem.json', import.meta.url));
const run = (file: string, ...args: string[]) => spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', timeout: 20_000 });

test('tmi hem: --check validates, a bad config is a clear error with exit 1, --config is required', async () => {
  const ok = run(TMI, 'hem', '--config', EXAMPLE, '--check');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /is valid \(meterId=meter-0001, adapter=sim\)/);
  const dir = await tempDir();
  const bad = join(dir, 'bad.json');
  await writeFile(bad, JSON.stringify({ meterId: 'm1', dataDir: 'd', broker: { url: 'ftp://x' }, registry: { url: 'http://r' }, aggregatorAddress: 'a'.repeat(64), adapter: { type: 'sim' } }));
  const r = run(TMI, 'hem', '--config', bad);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^tmi hem: BAD_CONFIG path=\/broker\/url reason=must match pattern/m);
  const none = run(TMI, 'hem');
  assert.equal(none.status, 1);
  assert.match(none.stderr, /--config <file.json> is required/);
  const help = run(MAIN, '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: tmi hem --config hem.json/);
  const viaMain = run(MAIN, '--config', EXAMPLE, '--check');
  assert.equal(viaMain.status, 0, viaMain.stderr);
});
