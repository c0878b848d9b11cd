/**
 * [SESSION-CAP] under `tmi up`'s edge heap cap ([PARTS]). Attack: many homes log in with
 * persistent sessions, subscribe at QoS 1 to every bid (their ACL allows
 * tmi/v1/auctions/#), read them and never acknowledge one, while bids flow. The broker
 * keeps what it has not had acknowledged; the limit of all such sessions together is what
 * `tmi up` derives from the edge's heap cap (a quarter of it), so the flood fills that
 * limit, not the edge's heap: a part out of heap would end `tmi up` (PART_OUT_OF_HEAP).
 * The real `tmi up` process, its edge at 128 MiB (so 32 MiB for the sessions), real MQTT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { connectWithLogin } from '../mqttLogin.js';
import { sessionQueueTotalMBFor } from '../partHeapCaps.js';
import { neverAck } from '../../broker/test/brokerFixtures.js';
import { adminTokenOf, bid, enrollHem, loginHem, startUp, stopUp, waitFor, type TestHem } from './tmiUpProcess.js';

const EDGE_MB = 128;
const ATTACKERS = 20;
const BIDS = 10_000;

/** a metric's value (its first sample with these labels) from the Prometheus text */
function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function rssMB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

test('[SESSION-CAP] [PARTS] 20 never-acknowledging sessions under 10,000 bids fill the session limit tmi up derives from the edge cap, not the edge heap', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-flood-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const up = await startUp(join(dir, 'up'), { intervalMs: 60_000, slotMs: 250, patience: 8, extraArgs: ['--edge-heap-mb', String(EDGE_MB)] });
  const clients: MqttClient[] = [];
  try {
    const limit = sessionQueueTotalMBFor(EDGE_MB) * 2 ** 20;
    const admin = await adminTokenOf(up);
    const mqttUrl = up.info.urls.mqtt;
    const metricsUrl = up.info.urls.metrics!;
    const scrape = async () => (await fetch(metricsUrl)).text();

    // the attackers: persistent sessions on every auction's bids, no PUBACK ever
    let received = 0;
    for (let i = 0; i < ATTACKERS; i++) {
      const h = await enrollHem(up.info.urls.registry, admin, `mallory-${i}`);
      const c = await connectWithLogin({ url: mqttUrl, meterId: h.meterId, key: h.meterKey, persistent: true });
      neverAck(c);
      c.on('message', () => received++);
      await c.subscribeAsync('tmi/v1/auctions/#', { qos: 1 });
      clients.push(c);
    }
    // the bidders: 10,000 signed bids from 10 homes, QoS 1, 200 in flight at a time
    const homes: TestHem[] = [];
    for (let i = 0; i < 10; i++) homes.push(await enrollHem(up.info.urls.registry, admin, `home-${i}`));
    const pubs = await Promise.all(homes.map((h) => loginHem(mqttUrl, h)));
    clients.push(...pubs);
    const payloads = Array.from({ length: BIDS }, (_, i) => bid(homes[i % homes.length]!, 'A-flood', 'sell', 100 + (i % 500), 20_000 + i));
    const bytesEach = payloads[0]!.length;
    for (let i = 0; i < BIDS; i += 200) {
      await Promise.all(payloads.slice(i, i + 200).map((p, k) => pubs[(i + k) % pubs.length]!.publishAsync('tmi/v1/auctions/A-flood/bids', p, { qos: 1 })));
    }
    // every bid acknowledged by the broker; the attackers read what they were sent
    await waitFor(`the attackers to read all ${ATTACKERS * BIDS} messages`, () => received >= ATTACKERS * BIDS, 90_000, 200);

    const m = await scrape();
    const held = metric(m, 'tmi_broker_session_queue_bytes');
    const heldMessages = metric(m, 'tmi_broker_session_queue_messages');
    const dropsTotal = metric(m, 'tmi_broker_session_queue_drops_total', 'reason="total-bytes"');
    const rss = await rssMB(up.child.pid!);
    t.diagnostic(`bids ${BIDS} × ${bytesEach} B to ${ATTACKERS} never-acking sessions: read ${received}; held ${heldMessages} messages, ${(held / 2 ** 20).toFixed(1)} MiB of ${limit / 2 ** 20} MiB; ${dropsTotal} not kept (total-bytes); tmi up RSS ${rss} MB`);
    assert.ok(held <= limit, `held ${held} B ≤ the limit ${limit} B`);
    assert.ok(held >= limit - 16 * bytesEach, `the flood filled the limit: ${held} of ${limit} B`);
    assert.ok(dropsTotal > 0, 'what passed the limit was not kept, and counted');
    // the edge is alive: tmi up still runs, its broker takes logins, its registry answers, the core still produces
    assert.equal(up.child.exitCode, null, `tmi up exited: ${up.lines.slice(-3).join('\n')}`);
    assert.ok(!up.lines.some((l) => l.includes('PART_OUT_OF_HEAP')), 'no part ran out of heap');
    const health = await fetch(`${up.info.urls.registry}/v1/health`);
    assert.equal(health.status, 200);
    // the core still produces, and its blocks still reach a home through the edge
    const heightNow = async () => ((await (await fetch(`${up.info.urls.analytics}/api/summary`)).json()) as { height: number }).height;
    const h0 = await heightNow();
    const seen: number[] = [];
    const watcher = await loginHem(mqttUrl, await enrollHem(up.info.urls.registry, admin, 'watcher'));
    clients.push(watcher);
    watcher.on('message', (topic, payload) => {
      if (topic === 'tmi/v1/chain/blocks') seen.push((JSON.parse(payload.toString()) as { parameters: { header: { height: number } } }).parameters.header.height);
    });
    await watcher.subscribeAsync('tmi/v1/chain/blocks', { qos: 0 });
    await waitFor(`blocks above height ${h0} at analytics and at a home`, async () => (await heightNow()) > h0 && seen.some((h) => h > h0), 30_000, 200);
  } catch (err) {
    const m = await (await fetch(up.info.urls.metrics!)).text().catch(() => '');
    t.diagnostic(m.split('\n').filter((l) => !l.startsWith('#') && /hold|service_queue|session_queue|stuck|slow|connected|inflight/.test(l)).join('\n'));
    throw err;
  } finally {
    for (const c of clients) c.end(true);
    await stopUp(up, 'SIGTERM');
  }
});
