/**
 * `tmi up`'s parts in their own worker threads (platform/platformParts.ts): each with the
 * heap cap it was given, the core working through the edge's URLs only, a part that fails
 * to start stopping the other, and a part out of heap named as such.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startPlatformParts } from '../platformParts.js';
import { TMI } from './tmiUpProcess.js';

const CHAIN = { intervalMs: 60_000, slotMs: 100, patience: 2 };

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-parts-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch {
    return true;
  }
}

test('[PARTS] edge and core each run with their own heap cap; the core produces through the edge', { timeout: 60_000 }, async (t) => {
  const dataDir = await tempDir(t);
  const p = await startPlatformParts({
    edge: { dataDir, ...CHAIN, ports: { mqtt: 0, registry: 0 } },
    core: { dataDir, ports: { aggregator: 0, analytics: 0 } },
    logLevel: 'silent',
    heapCapMB: { edge: 200, core: 300 },
  });
  try {
    // V8's limit in each thread is its cap plus the young generation (a few tens of MiB)
    for (const [part, cap] of [['edge', 200], ['core', 300]] as const) {
      const limit = p.heapLimitMB[part];
      assert.ok(limit >= cap && limit <= cap + 80, `${part}: heap limit ${limit} MiB for a cap of ${cap}`);
    }
    // the registry serves the genesis the edge wrote
    const chain = (await (await fetch(`${p.edge.urls.registry}/v1/chain`)).json()) as { chainId: string };
    assert.equal(chain.chainId, p.edge.chainId);
    // the core's chain node logs in to the edge's broker and produces; analytics (core) sees it
    assert.ok(p.core.urls.analytics && p.core.urls.aggregator);
    const deadline = Date.now() + 15_000;
    let blocks = 0;
    while (blocks === 0 && Date.now() < deadline) {
      const r = (await (await fetch(`${p.core.urls.analytics}/api/producers`)).json()) as { items?: { blocks: number }[] };
      blocks = (r.items ?? []).reduce((s, x) => s + x.blocks, 0);
      if (blocks === 0) await new Promise((r2) => setTimeout(r2, 100));
    }
    assert.ok(blocks > 0, 'blocks of the core node reached analytics');
    const health = (await (await fetch(`${p.core.urls.aggregator}/health`)).json()) as { status: string };
    assert.equal(health.status, 'ok');
  } finally {
    await p.stop();
  }
  assert.ok(await refused(`${p.edge.urls.registry}/v1/health`), 'the registry is closed after stop');
  assert.ok(await refused(`${p.core.urls.aggregator!}/health`), 'the operator API is closed after stop');
});

test('[PARTS] a core that fails to start stops the edge; the error names the part and the cause', { timeout: 60_000 }, async (t) => {
  const dataDir = await tempDir(t);
  let registryUrl: string | undefined;
  await assert.rejects(
    startPlatformParts({
      edge: { dataDir, ...CHAIN, ports: { mqtt: 0, registry: 0 } },
      core: { dataDir, ports: { aggregator: 0, analytics: 0 }, pricesCsv: join(dataDir, 'no-such-prices.csv') },
      logLevel: 'silent',
      heapCapMB: { edge: 200, core: 300 },
    }).then((p) => {
      registryUrl = p.edge.urls.registry;
      return p.stop();
    }),
    /PART_FAILED part=core: ENOENT.*no-such-prices\.csv/,
  );
  assert.equal(registryUrl, undefined);
  // the edge was stopped: its LevelDB lock is free, so the same data directory starts again
  const again = await startPlatformParts({
    edge: { dataDir, ...CHAIN, ports: { mqtt: 0, registry: 0 } },
    core: { dataDir, ports: { aggregator: 0, analytics: 0 } },
    logLevel: 'silent',
    heapCapMB: { edge: 200, core: 300 },
  });
  await again.stop();
});

test('[PARTS] a part that runs out of heap is named with its cap', { timeout: 60_000 }, async (t) => {
  const dataDir = await tempDir(t);
  // 4 MiB of old generation cannot hold the edge's modules: V8 ends the thread, not the process
  await assert.rejects(
    startPlatformParts({
      edge: { dataDir, ...CHAIN, ports: { mqtt: 0, registry: 0 } },
      core: { dataDir, ports: { aggregator: 0, analytics: 0 } },
      logLevel: 'silent',
      heapCapMB: { edge: 4, core: 300 },
    }),
    /PART_FAILED part=edge exited while starting \(code 1\): PART_OUT_OF_HEAP cap=4MiB/,
  );
});

test('[PARTS] tmi up refuses a heap cap that is not a whole number of MiB from 64, before it touches the data directory', async (t) => {
  const root = await tempDir(t);
  for (const [flag, value] of [['--edge-heap-mb', '10'], ['--core-heap-mb', '1.5'], ['--core-heap-mb', 'lots']] as const) {
    const data = join(root, 'never');
    const r = spawnSync(process.execPath, [TMI, 'up', '--data', data, flag, value], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`BAD_OPTION ${flag}=${value.replace('.', '\\.')} \\(MiB of V8 heap`));
    assert.equal(existsSync(data), false, 'no data directory created');
  }
});
