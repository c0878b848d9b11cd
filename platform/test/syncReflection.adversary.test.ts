/**
 * [EDGE-12] Sync reflection, against real processes: `tmi up` runs as its own process (broker,
 * registry, the aggregator's chain node: the archive, which answers every node's sync and
 * checkpoint requests). A home's answer goes to tmi/v1/chain/sync/response/{nodeId}, and the
 * requester names the nodeId, so a home that names another could make the archive send pages
 * of blocks (up to 512 a request) and the whole final state (4-MiB pieces) to its victim: a
 * few hundred bytes in, megabytes out at a Raspberry Pi on a home connection.
 *
 * The attacker, logged in with its own meter key, asks in the victim's name, and in its own
 * as a control. The broker refuses the first at the edge (NOT_YOUR_ID on the attacker's
 * errors topic) and the victim's response topic stays silent; the control is answered (the
 * archive does serve, so the silence is the rule's doing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { encode, signEnvelope } from '../../wire/codec.js';
import { NODE_TOPICS } from '../../poe-chain/node/nodeTopics.js';
import { adminTokenOf, enrollHem, loginHem, sleep, startUp, stopUp, waitFor, type UpProcess } from './tmiUpProcess.js';

test('[EDGE-12] tmi up: a home that asks for sync or a checkpoint in another node\'s name is refused at the broker; the victim receives nothing', { timeout: 90_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-sync-reflection-'));
  let up: UpProcess | undefined;
  const clients: MqttClient[] = [];
  try {
    up = await startUp(join(dir, 'platform'), { intervalMs: 2000, slotMs: 100, patience: 4 });
    const token = await adminTokenOf(up);
    const evil = await enrollHem(up.info.urls.registry, token, 'home-evil');
    const victim = await enrollHem(up.info.urls.registry, token, 'home-victim');
    const e = await loginHem(up.info.urls.mqtt, evil);
    const v = await loginHem(up.info.urls.mqtt, victim);
    clients.push(e, v);
    const atVictim: string[] = [];
    const atEvil: { operation: string; blocks: number; bytes: number }[] = [];
    const errors: { code: string; reqId?: string }[] = [];
    let blocks = 0;
    v.on('message', (_t, m) => atVictim.push((JSON.parse(m.toString()) as { operation: string }).operation));
    e.on('message', (t, m) => {
      const j = JSON.parse(m.toString()) as { operation?: string; code?: string; reqId?: string; parameters?: { blocks?: unknown[]; code?: string; reqId?: string } };
      if (t === NODE_TOPICS.blocks) blocks++;
      else if (t === NODE_TOPICS.syncResponse('home-evil')) atEvil.push({ operation: j.operation!, blocks: j.parameters?.blocks?.length ?? 0, bytes: m.length });
      else errors.push({ code: j.parameters?.code ?? j.code ?? '?', reqId: j.parameters?.reqId ?? j.reqId });
    });
    await v.subscribeAsync(NODE_TOPICS.syncResponse('home-victim'), { qos: 1 });
    await e.subscribeAsync([NODE_TOPICS.syncResponse('home-evil'), 'tmi/v1/clients/home-evil/errors', NODE_TOPICS.blocks], { qos: 1 });
    // a few blocks, so that a page has something in it
    await waitFor('three blocks', () => blocks >= 3, 20_000);

    const asks = (nodeId: string, i: number) => [
      signEnvelope(evil.meterKey, 'sync-request', { nodeId, fromHeight: 1, maxBlocks: 512 }, { reqId: `reflect-sync-${nodeId}-${i}` }),
      signEnvelope(evil.meterKey, 'checkpoint-request', { nodeId }, { reqId: `reflect-cp-${nodeId}-${i}` }),
    ];
    // in the victim's name, ten times over
    for (let i = 0; i < 10; i++) for (const env of asks('home-victim', i)) await e.publishAsync(NODE_TOPICS.syncRequest, encode(env), { qos: 1 });
    await waitFor('20 refusals on the attacker\'s errors topic', () => errors.length >= 20, 10_000);
    assert.ok(errors.every((x) => x.code === 'NOT_YOUR_ID'), `refused NOT_YOUR_ID: ${JSON.stringify(errors.slice(0, 3))}`);
    // the control: in its own name, it is answered
    const own = asks('home-evil', 0).map((env) => encode(env));
    for (const p of own) await e.publishAsync(NODE_TOPICS.syncRequest, p, { qos: 1 });
    await waitFor('the archive answers the attacker\'s own sync request', () => atEvil.some((x) => x.operation === 'sync-response' && x.blocks > 0), 10_000).catch((err: Error) => { throw new Error(`${err.message}: at the attacker ${JSON.stringify(atEvil)}, errors ${JSON.stringify(errors.slice(20))}`); });
    await sleep(1000);
    assert.deepEqual(atVictim, [], 'nothing reached the victim\'s response topic');
    // what each pair of requests would have sent the victim: the answers in the attacker's own name
    const asked = own.reduce((s, p) => s + p.length, 0);
    const answered = atEvil.reduce((s, x) => s + x.bytes, 0);
    process.stdout.write(`# [EDGE-12] 20 requests in another node's name refused NOT_YOUR_ID, 0 messages at the victim; in its own name ${asked} bytes asked, ${answered} bytes answered (${atEvil.map((x) => `${x.operation}${x.operation === 'sync-response' ? ` of ${x.blocks} blocks` : ''}`).join(', ')}) at height ${blocks}\n`);
  } finally {
    for (const c of clients) await c.endAsync().catch(() => undefined);
    if (up) await stopUp(up, 'SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
});
