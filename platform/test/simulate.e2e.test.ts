/**
 * The main job, short: `tmi simulate` runs as a real process (platform + HEM processes);
 * Chromium (Debian's /usr/bin/chromium via playwright-core) opens the dashboard while it
 * runs, waits for charts with data and a live update, checks the page logged no errors,
 * and saves test-artifacts/simulation-dashboard.png. Then the run must finish with a
 * report and a chain that re-verifies from disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const TMI = fileURLToPath(new URL('../../cli/tmi.js', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

interface Probe {
  tmiDashboard?: { ready: boolean; updates: number; seriesPoints(): Record<string, number[]> };
}

test('tmi simulate: dashboard live during a short run, then report and a verified chain', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-sim-'));
  const out = join(dir, 'report');
  const child = spawn(process.execPath, [TMI, 'simulate', '--homes', '4', '--intervals', '16', '--interval-ms', '1500', '--port', '0', '--data', join(dir, 'data'), '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  // the dashboard URL is printed as soon as the platform is up
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /dashboard (http:\/\/[^\s]+)\//.exec(stderr);
      if (m?.[1]) {
        clearInterval(timer);
        resolve(m[1]);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`simulate exited early: ${stderr}`));
      }
    }, 100);
  });

  if (!existsSync(CHROMIUM)) {
    t.diagnostic(`${CHROMIUM} is absent (apt-get install -y chromium): browser part skipped`);
  } else {
    const problems: string[] = [];
    const profile = await mkdtemp(join(tmpdir(), 'tmi-chromium-'));
    t.after(() => rm(profile, { recursive: true, force: true }));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1360, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      await page.goto(url + '/', { waitUntil: 'load' });
      await page.waitForFunction(() => (globalThis as unknown as Probe).tmiDashboard?.ready === true, undefined, { timeout: 30_000 });
      // readings arrive while the page is open: live updates fill the net-load and SOC charts
      const seen = () => page.evaluate(() => JSON.stringify((globalThis as unknown as Probe).tmiDashboard?.seriesPoints() ?? null));
      await page.waitForFunction(
        () => {
          const d = (globalThis as unknown as Probe).tmiDashboard;
          if (!d || d.updates < 1) return false;
          const p = d.seriesPoints();
          // schedule and metered series, several intervals each; SOC of every home
          return (p.netLoad ?? []).length >= 2 && (p.netLoad ?? []).every((n) => n >= 4) && (p.soc ?? []).length > 1 && (p.soc ?? []).every((n) => n >= 4);
        },
        undefined,
        { timeout: 60_000, polling: 500 },
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}; chart points seen: ${await seen()}`);
      });
      const points = await page.evaluate(() => (globalThis as unknown as Probe).tmiDashboard!.seriesPoints());
      assert.ok((points.soc ?? []).length >= 2, `SOC chart: mean + homes ${JSON.stringify(points)}`);
      assert.ok(await page.locator('#producers li').count() >= 1, 'block producers listed');
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'simulation-dashboard.png'), fullPage: true });
      assert.deepEqual(problems, [], 'the page logged no errors');
    } finally {
      await context.close();
    }
  }

  assert.equal(await exited, 0, `simulate failed:\n${stderr}\n${stdout}`);
  const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as {
    readings: number; chain: { blocks: number; producers: unknown[]; verified: boolean };
    auctions: { total: number };
    settlementsPerInterval: { interval: string; awards: number; awardedWh: number; deliveredWh: number; paymentMc: number; penaltyMc: number }[];
  };
  // [SETTLE-1] the report shows settlements per delivery interval; none paid beyond what was awarded
  assert.ok(Array.isArray(summary.settlementsPerInterval), 'settlements per interval in the summary');
  for (const x of summary.settlementsPerInterval) {
    assert.ok(x.awards > 0 && x.deliveredWh <= x.awardedWh, `interval ${x.interval}: ${x.deliveredWh} of ${x.awardedWh} Wh`);
  }
  assert.match(stdout, /delivery intervals settled/);
  assert.ok(summary.readings > 0, 'readings recorded');
  assert.ok(summary.chain.blocks > 0, 'blocks produced');
  assert.equal(summary.chain.verified, true, 'the chain re-verifies from disk');
  assert.match(await readFile(join(out, 'index.html'), 'utf8'), /uPlot/);
  assert.match(stdout, /verified from disk: yes/);
});
