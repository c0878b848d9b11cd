/**
 * [CONFIG] Strict configuration: a boolean option is true or false, nothing else; a
 * quoted "false" in a config file can never turn a check off; unvalidated brokering is
 * not an option of the production commands. Unit tests of the parser, then the real
 * `tmi` process refusing bad configuration before it starts anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseCommandLine, type OptionSpec } from '../config.js';

const TMI = fileURLToPath(new URL('../tmi.js', import.meta.url));

const spec: OptionSpec = {
  'no-verify': { type: 'boolean', describe: 'x', default: false, env: 'TMI_TEST_NO_VERIFY' },
  port: { type: 'string', describe: 'y', default: '1' },
};

async function withFile(content: string, fn: (file: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-config-'));
  try {
    const file = join(dir, 'c.json');
    await writeFile(file, content);
    fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function refused(fn: () => unknown, option: string, source: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.code, 'BAD_CONFIG');
    assert.equal(err.option, option);
    assert.match(err.source, source);
    assert.match(err.message, new RegExp(`^BAD_CONFIG option=${option} `));
    return true;
  });
}

test('[CONFIG] a config file boolean is a JSON boolean: "false", "true", 0, 1, null, "yes" are BAD_CONFIG', async () => {
  for (const bad of ['"false"', '"true"', '0', '1', 'null', '"yes"', '[]', '{}']) {
    await withFile(`{"no-verify": ${bad}}`, (file) => refused(() => parseCommandLine(['--config', file], spec), 'no-verify', /^file /));
  }
  await withFile('{"no-verify": true}', (file) => assert.equal(parseCommandLine(['--config', file], spec).values['no-verify'], true));
  await withFile('{"no-verify": false}', (file) => assert.equal(parseCommandLine(['--config', file], spec).values['no-verify'], false));
});

test('[CONFIG] an environment boolean is the word true or false; 1, 0, yes, FALSE, "" are BAD_CONFIG', () => {
  const old = process.env.TMI_TEST_NO_VERIFY;
  try {
    for (const bad of ['1', '0', 'yes', 'FALSE', '', ' true']) {
      process.env.TMI_TEST_NO_VERIFY = bad;
      refused(() => parseCommandLine([], spec), 'no-verify', /^env TMI_TEST_NO_VERIFY$/);
    }
    process.env.TMI_TEST_NO_VERIFY = 'false';
    assert.equal(parseCommandLine([], spec).values['no-verify'], false);
    process.env.TMI_TEST_NO_VERIFY = 'true';
    assert.equal(parseCommandLine([], spec).values['no-verify'], true);
    // a bad value is refused even when a flag overrides it: no configured value is ignored
    process.env.TMI_TEST_NO_VERIFY = 'nope';
    refused(() => parseCommandLine(['--no-verify'], spec), 'no-verify', /^env /);
  } finally {
    if (old === undefined) delete process.env.TMI_TEST_NO_VERIFY;
    else process.env.TMI_TEST_NO_VERIFY = old;
  }
});

test('[CONFIG] a config file is one JSON object of known options', async () => {
  await withFile('{"no-verfy": true}', (file) => refused(() => parseCommandLine(['--config', file], spec), 'no-verfy', /^file /));
  await withFile('[true]', (file) => refused(() => parseCommandLine(['--config', file], spec), 'config', /^file /));
  await withFile('{"port": ', (file) => refused(() => parseCommandLine(['--config', file], spec), 'config', /^file /));
  await withFile('{"port": {"a": 1}}', (file) => refused(() => parseCommandLine(['--config', file], spec), 'port', /^file /));
  await withFile('{"port": 8883}', (file) => assert.equal(parseCommandLine(['--config', file], spec).values.port, '8883'));
  refused(() => parseCommandLine(['--config', '/nonexistent/tmi.json'], spec), 'config', /^file /);
});

test('[CONFIG] tmi broker: no-validate is refused as flag, env and config file, before anything starts', async () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [TMI, 'broker', '--registry', 'http://127.0.0.1:9', '--directory-token', 'x'.repeat(32), '--port', '0', ...args], {
      encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000,
    });
  const flag = run(['--no-validate']);
  assert.equal(flag.status, 1);
  assert.match(flag.stderr, /BAD_CONFIG option=no-validate source=flag/);
  const env = run([], { TMI_BROKER_NO_VALIDATE: 'true' });
  assert.equal(env.status, 1);
  assert.match(env.stderr, /BAD_CONFIG option=no-validate source=env TMI_BROKER_NO_VALIDATE/);
  await withFile('{"no-validate": "false"}', (file) => {
    const r = run(['--config', file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /BAD_CONFIG option=no-validate source=file .* reason=unknown option/);
    assert.doesNotMatch(r.stdout, /mqtt on/); // nothing listened
  });
  assert.doesNotMatch(run(['--help']).stdout, /no-validate/);
});

test('[CONFIG] tmi up and tmi chain run: a quoted boolean in a config file is BAD_CONFIG naming it', async () => {
  await withFile('{"serve-sync": "false"}', (file) => {
    const r = spawnSync(process.execPath, [TMI, 'chain', 'run', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /BAD_CONFIG option=serve-sync source=file/);
  });
  await withFile('{"no-validate": false}', (file) => {
    const r = spawnSync(process.execPath, [TMI, 'up', '--config', file, '--data', '/nonexistent-never-created'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /BAD_CONFIG option=no-validate source=file .* reason=unknown option/);
  });
});

test('[CONFIG] tmi hem: a quoted boolean in the HEM config is BAD_CONFIG naming its path', async () => {
  const example = fileURLToPath(new URL('../../../hem/examples/hem.json', import.meta.url));
  const { readFile } = await import('node:fs/promises');
  const cfg = JSON.parse(await readFile(example, 'utf8')) as Record<string, unknown>;
  await withFile(JSON.stringify({ ...cfg, chain: { genesis: 'genesis.json', produce: 'false' } }), (file) => {
    const r = spawnSync(process.execPath, [TMI, 'hem', '--config', file, '--check'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /BAD_CONFIG path=\/chain\/produce reason=must be boolean/);
  });
});
