/**
 * The OS-component rule of every test that needs one ([OSC-1]..[OSC-3]): run in a child
 * process with a controlled environment (PATH, CI, TMI_BROWSER, TMI_PYTHON), as `.ci/run` and the
 * test runner would see it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../osComponents.js', import.meta.url));

/** runs `node osComponents.js <args>` with exactly this environment */
function cli(args: string[], env: Record<string, string>): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MODULE, ...args], { env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** a node:test file that needs `component`, run with this environment */
function runNeedingTest(dir: string, component: string, env: Record<string, string>): { code: number | null; out: string } {
  const file = join(dir, `needs-${component}.test.mjs`);
  writeFileSync(file, `import { test } from 'node:test';
import { requireComponent, skipWithout } from ${JSON.stringify(MODULE)};
test('needs ${component}', { skip: skipWithout(${JSON.stringify(component)}) }, () => { requireComponent(${JSON.stringify(component)}); });
`);
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('the browser is $TMI_BROWSER when set, else chromium on PATH; missing is named with its package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmi-osc-'));
  try {
    const bin = join(dir, 'bin');
    spawnSync('mkdir', [bin]);
    const fake = join(bin, 'chromium-browser');
    writeFileSync(fake, '#!/bin/sh\nexit 0\n');
    chmodSync(fake, 0o755);
    // found on PATH under its second name
    assert.deepEqual(cli(['browser'], { PATH: bin }), { code: 0, stdout: `${fake}\n`, stderr: '' });
    // an explicit path wins; one that is not an executable file means no browser, even with one on PATH
    const r = cli(['browser'], { PATH: bin, TMI_BROWSER: join(dir, 'nope') });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /chromium is missing: .*TMI_BROWSER=.*nope is not an executable file; apt-get install -y chromium/);
    // nothing on PATH
    const none = cli(['missing'], { PATH: join(dir, 'empty'), TMI_PYTHON: join(dir, 'no-python') });
    assert.deepEqual(none.stdout.trim().split('\n'), [
      'mosquitto-clients',
      'openssl',
      'chromium',
      'redis-server',
      'socat',
      'python3-pymodbus',
      'python3-serial',
      'python3-serial-asyncio',
    ]);
    const check = cli(['check'], { PATH: join(dir, 'empty') });
    assert.equal(check.code, 1);
    assert.match(check.stderr, /openssl is missing: .*apt-get install -y openssl/);
    // a command found on PATH
    symlinkSync(fake, join(bin, 'openssl'));
    assert.ok(!cli(['missing'], { PATH: bin }).stdout.includes('openssl'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Python module is found with the python3 that imports it ($TMI_PYTHON when set); missing is named with its package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmi-osc-'));
  try {
    // a python3 that imports everything, and one that imports nothing but serial
    const all = join(dir, 'py-all');
    writeFileSync(all, '#!/bin/sh\nexit 0\n');
    chmodSync(all, 0o755);
    const serialOnly = join(dir, 'py-serial');
    writeFileSync(serialOnly, '#!/bin/sh\ncase "$2" in "import serial") exit 0;; esac\necho "ModuleNotFoundError" >&2; exit 1\n');
    chmodSync(serialOnly, 0o755);
    const empty = join(dir, 'empty');
    const missing = (env: Record<string, string>) => cli(['missing'], env).stdout.trim().split('\n').filter((x) => x.startsWith('python3-'));
    assert.deepEqual(missing({ PATH: empty, TMI_PYTHON: all }), []);
    assert.deepEqual(missing({ PATH: empty, TMI_PYTHON: serialOnly }), ['python3-pymodbus', 'python3-serial-asyncio']);
    const check = cli(['check'], { PATH: empty, TMI_PYTHON: serialOnly });
    assert.equal(check.code, 1);
    assert.match(check.stdout, new RegExp(`python3-serial: ${serialOnly}\n`));
    assert.match(check.stderr, new RegExp(`python3-pymodbus is missing: .*\\(${serialOnly} cannot import pymodbus; apt-get install -y python3-pymodbus\\)`));
    // under CI, a test needing it fails naming the package
    const ci = runNeedingTest(dir, 'python3-pymodbus', { PATH: empty, CI: 'true', TMI_PYTHON: serialOnly });
    assert.equal(ci.code, 1, ci.out);
    assert.match(ci.out, /MISSING_OS_COMPONENT python3-pymodbus is missing: .*apt-get install -y python3-pymodbus/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a test needing a missing component: skipped with a message without CI, failed naming it with CI=true', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmi-osc-'));
  try {
    const empty = join(dir, 'empty');
    const local = runNeedingTest(dir, 'redis-server', { PATH: empty });
    assert.equal(local.code, 0, local.out);
    assert.match(local.out, /# SKIP redis-server is missing/);
    assert.match(local.out, /# skipped 1/);

    const ci = runNeedingTest(dir, 'redis-server', { PATH: empty, CI: 'true' });
    assert.equal(ci.code, 1, ci.out);
    assert.match(ci.out, /MISSING_OS_COMPONENT redis-server is missing: redis-server, for brokers sharing Redis \(redis-server not on PATH; apt-get install -y redis-server\) — CI is set/);
    assert.match(ci.out, /# fail 1/);

    const browser = runNeedingTest(dir, 'chromium', { PATH: empty, CI: 'true', TMI_BROWSER: join(dir, 'no-browser') });
    assert.equal(browser.code, 1, browser.out);
    assert.match(browser.out, /MISSING_OS_COMPONENT chromium is missing/);
    // CI=false counts as no CI
    assert.match(runNeedingTest(dir, 'chromium', { PATH: empty, CI: 'false' }).out, /# skipped 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
