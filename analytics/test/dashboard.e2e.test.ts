/**
 * The dashboard in a real browser: analytics runs in-process on an ephemeral port, a
 * simulated feed arrives over time, Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) opens the page; the charts must hold data, a live update must arrive
 * after load, and the page must log no errors. Saves test-artifacts/dashboard.png.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { handBuiltMarketFacts, M1, simulatedFeed, startAnalytics } from './analyticsFixtures.js';
import { requireComponent, skipWithout } from '../../testkit/osComponents.js';

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
// the browser is found as everywhere (testkit/osComponents.ts): skipped when absent, failed under CI=true
const skip = skipWithout('chromium');

interface DashboardProbe {
  ready: boolean;
  updates: number;
  refreshes: number;
  seriesPoints(): Record<string, number[]>;
}
/** what the test reads in the page (this project compiles without the DOM library; casts vanish in the page) */
interface ProbeWindow {
  tmiDashboard?: DashboardProbe;
  document: { body: { dataset: Record<string, string | undefined> }; getElementById(id: string): { dataset: Record<string, string | undefined> } | null };
}

describe('dashboard (browser)', () => {
  it('draws the charts from the API, updates live, logs no errors', { timeout: 60_000, skip }, async () => {
    const feed = simulatedFeed({ homes: 6, slots: 56, startSlot: 24 });
    const { an, url } = await startAnalytics();
    const userDataDir = await mkdtemp(join(tmpdir(), 'tmi-chromium-'));
    const problems: string[] = [];
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: requireComponent('chromium'),
      headless: true,
      viewport: { width: 1360, height: 900 },
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
    try {
      // the first part of the day is there before the page opens
      for (const facts of feed.slice(0, 36)) await an.ingest(facts);
      await an.ingest(handBuiltMarketFacts());

      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('requestfailed', (r) => {
        if (!r.url().endsWith('/api/events')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
      });
      await page.goto(url + '/', { waitUntil: 'load' });

      await page.waitForFunction(() => (globalThis as unknown as ProbeWindow).tmiDashboard?.ready === true, undefined, { timeout: 15_000 });
      const points = await page.evaluate(() => (globalThis as unknown as ProbeWindow).tmiDashboard!.seriesPoints());
      for (const name of ['netLoad', 'prices', 'efficiency', 'soc']) {
        assert.ok(points[name] !== undefined, `chart ${name} exists`);
        assert.ok(points[name]!.every((n) => n > 0), `every series of ${name} has data: ${JSON.stringify(points[name])}`);
      }
      assert.equal(points.soc!.length, 1 + 6, 'mean + one series per home');
      assert.ok(await page.locator('#ranking li').count() >= 6);
      assert.ok(await page.locator('#producers li').count() >= 1);
      assert.ok(await page.locator('#wallets tbody tr').count() >= 6);
      assert.equal(await page.locator('#auctions tbody tr').count(), 12);
      // [AN-P2P] the depth chart shows the latest cleared interval's book (nothing traded in it: no clearing price)
      assert.ok(points.depth!.every((n) => n > 0), `both depth series have data: ${JSON.stringify(points.depth)}`);
      assert.equal(await page.locator('#p2p').getAttribute('data-interval'), String(M1 + 1));
      assert.equal(await page.locator('#p2p-intervals tbody tr').count(), 2);
      await page.waitForFunction(() => (globalThis as unknown as ProbeWindow).document.getElementById('live')?.dataset.state === 'live', undefined, { timeout: 5_000 });

      // the rest of the day arrives while the page is open
      const pricesBefore = points.prices![0]!;
      const versionBefore = Number(await page.evaluate(() => (globalThis as unknown as ProbeWindow).document.body.dataset.version));
      for (const facts of feed.slice(36)) {
        await an.ingest(facts);
        await new Promise((r) => setTimeout(r, 60));
      }
      await page.waitForFunction(
        (n) => {
          const d = (globalThis as unknown as ProbeWindow).tmiDashboard!;
          return d.updates > 0 && d.seriesPoints().prices![0]! >= n;
        },
        pricesBefore + 10,
        { timeout: 15_000 },
      );
      const after = await page.evaluate(() => {
        const d = (globalThis as unknown as ProbeWindow).tmiDashboard!;
        return { updates: d.updates, refreshes: d.refreshes, version: Number((globalThis as unknown as ProbeWindow).document.body.dataset.version) };
      });
      assert.ok(after.updates >= 1, 'a live update arrived');
      assert.ok(after.refreshes >= 2, 'the page refreshed after it');
      assert.ok(after.version > versionBefore, `data version moved on (${versionBefore} → ${after.version})`);

      await mkdir(ARTIFACTS, { recursive: true });
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      assert.deepEqual(problems, [], 'the page logged no errors');
    } finally {
      await context.close();
      await an.close();
      await rm(userDataDir, { recursive: true, force: true });
    }
  });
});
