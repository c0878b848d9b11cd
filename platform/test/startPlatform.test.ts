import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlatform } from '../startPlatform.js';
import { connectWithLogin } from '../mqttLogin.js';
import { createCodec, encode, signEnvelope } from '../../wire/codec.js';
import type { AnyEnvelope } from '../../schemas/types.js';

test('platform: registry + broker + principals; the aggregator publishes through the real broker; restart keeps identity', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tmi-platform-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const p = await startPlatform({ dataDir, intervalMs: 60_000, slotMs: 100, patience: 2 });
  let genesisHash: string;
  let tipHeight = 0;
  try {
    assert.match(p.urls.mqtt, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await stat(p.paths.aggregatorKey)).mode & 0o777, 0o600);
    genesisHash = p.genesis.hash;
    assert.equal(p.genesis.config.aggregatorKey, p.keys.aggregator.address);

    const analytics = await connectWithLogin({ url: p.urls.mqtt, meterId: 'analytics', key: p.keys.analytics });
    const got: AnyEnvelope[] = [];
    const codec = createCodec();
    analytics.on('message', (_t, payload) => got.push(codec.decode(payload)));
    await analytics.subscribeAsync('tmi/v1/schedule', { qos: 1 });
    const env = signEnvelope(p.keys.aggregator, 'schedule', { day: '2026-11-21', intervalMinutes: 15, netLoadWh: [1, 2, 3] });
    await p.aggregatorMqtt.publishAsync('tmi/v1/schedule', encode(env), { qos: 1 });
    const deadline = Date.now() + 3000;
    // the aggregator's own retained schedule may arrive first
    while (!got.some((e) => e.reqId === env.reqId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(got.some((e) => e.reqId === env.reqId), 'the published schedule arrived');
    await analytics.endAsync();
    // with no eligible validator the aggregator's node produces heartbeat blocks (DESIGN §7)
    const until = Date.now() + 5000;
    while (p.node.head().height < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.ok(p.node.head().height >= 3, `head height ${p.node.head().height}`);
    assert.equal(p.node.head().producer, p.keys.aggregatorNode.address);
    tipHeight = p.node.head().height;
    assert.ok(p.urls.aggregator, 'aggregator admin API is up');
    const health = (await (await fetch(`${p.urls.aggregator}/health`)).json()) as { status: string };
    assert.equal(health.status, 'ok');
    // analytics follows the node: the producer's blocks appear in its API
    assert.ok(p.urls.analytics, 'analytics is up');
    const deadline2 = Date.now() + 5000;
    let producers: { items?: { address: string; blocks: number }[] } = {};
    while (Date.now() < deadline2) {
      producers = (await (await fetch(`${p.urls.analytics}/api/producers`)).json()) as typeof producers;
      if ((producers.items ?? []).some((x) => x.blocks > 0)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok((producers.items ?? []).some((x) => x.address === p.keys.aggregatorNode.address && x.blocks > 0), JSON.stringify(producers));
  } finally {
    await p.stop();
  }
  const again = await startPlatform({ dataDir, intervalMs: 60_000, slotMs: 100, patience: 2 });
  try {
    assert.equal(again.genesis.hash, genesisHash, 'same genesis after restart');
    assert.ok(again.node.head().height >= tipHeight, 'the chain resumes from disk');
    assert.equal(JSON.parse(await readFile(again.paths.genesis, 'utf8')).aggregatorKey, again.keys.aggregator.address);
  } finally {
    await again.stop();
  }
});
