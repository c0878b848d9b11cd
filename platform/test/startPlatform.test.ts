import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlatform } from '../startPlatform.js';
import { connectWithLogin } from '../mqttLogin.js';
import { createCodec, encode, signEnvelope } from '../../wire/codec.js';
import type { AnyEnvelope } from '../../schemas/types.js';

test('platform: registry + broker + principals; the aggregator publishes through the real broker; restart keeps identity', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tmi-platform-'));
  const p = await startPlatform({ dataDir, intervalMs: 60_000 });
  let genesisHash: string;
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
    while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(got[0]?.reqId, env.reqId);
    await analytics.endAsync();
  } finally {
    await p.stop();
  }
  const again = await startPlatform({ dataDir, intervalMs: 60_000 });
  try {
    assert.equal(again.genesis.hash, genesisHash, 'same genesis after restart');
    assert.equal(JSON.parse(await readFile(again.paths.genesis, 'utf8')).aggregatorKey, again.keys.aggregator.address);
  } finally {
    await again.stop();
  }
});
