/** `tmi analytics` as a real process: starts, serves the API and the dashboard, stops on SIGTERM. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testGenesisConfig } from '../../poe-chain/testkit/chainFixture.js';

const TMI = fileURLToPath(new URL('../../cli/tmi.js', import.meta.url));

function start(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [TMI, 'analytics', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const t = setTimeout(() => reject(new Error(`no URL after 15 s; stderr: ${err}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /on (http:\/\/[^\s/]+)\//.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ child, url: m[1]! });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe('tmi analytics (process)', () => {
  it('serves the API and the dashboard, follows a chain with --genesis, stops cleanly', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tmi-analytics-'));
    try {
      const genesis = join(dir, 'genesis.json');
      await writeFile(genesis, JSON.stringify(testGenesisConfig()));
      const { child, url } = await start(['--data', join(dir, 'data'), '--port', '0', '--genesis', genesis, '--log-level', 'warn']);
      try {
        const h = (await (await fetch(`${url}/api/health`)).json()) as { status: string; chain?: { height: number } };
        assert.equal(h.status, 'ok');
        assert.equal(h.chain?.height, 0);
        const page = await fetch(`${url}/`);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /TMI analytics/);
        const bad = await fetch(`${url}/api/auctions?limit=0`);
        assert.equal(bad.status, 400);
      } finally {
        assert.equal(await stop(child), 0);
      }
      // a restart finds the chain database: no --genesis needed
      const again = await start(['--data', join(dir, 'data'), '--port', '0', '--log-level', 'warn']);
      try {
        const h = (await (await fetch(`${again.url}/api/health`)).json()) as { chain?: { height: number } };
        assert.equal(h.chain?.height, 0);
      } finally {
        assert.equal(await stop(again.child), 0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--data is required', async () => {
    const child = spawn(process.execPath, [TMI, 'analytics'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(err, /--data <dir> is required/);
  });
});
