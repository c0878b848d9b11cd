/**
 * Fault: a group of homes freezes (SIGSTOP) through an auction and resumes (SIGCONT).
 *
 * `tmi up` runs the platform; five `tmi hem` processes run simulated homes, three of them
 * validators (a chain node inside the HEM). Three homes are frozen for 14 s (3.5 metering
 * intervals) while an auction opens and closes: a validator whose MQTT keepalive (30 s)
 * outlasts the freeze, a validator and a non-validator whose keepalive (5 s: the broker
 * drops a client silent for 1.5 keepalives) makes the broker drop them. After SIGCONT:
 *   - the frozen validators catch up with the chain (same block at the same height as the
 *     aggregator's node, heads within a few blocks at the end);
 *   - every frozen home meters the intervals it missed and sends its queued readings: on
 *     the aggregator's chain, each home's readings have seq 0..n without a gap and
 *     consecutive intervals;
 *   - the auction clears with the offers of the homes that were running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../csm-registry/client.js';
import { generateKeyPair } from '../../wire/keys.js';
import { writeKeyFile } from '../../wire/keyFile.js';
import { openChainStoreAt } from '../../poe-chain/store/chainDataDir.js';
import { killHard, spawnHem, waitUntil, type HemProcess, type LogLine } from '../../hem/test/resilienceFixtures.js';
import { killOnExit } from '../../broker/test/redisFixtures.js';
import { TMI } from './tmiUpProcess.js';

const INTERVAL_MS = 4000;
const SLOT_MS = 200;
const PATIENCE = 4;
const SPEED = 900_000 / INTERVAL_MS;
const HOME_START_H = 18.5;
const FREEZE_MS = 14_000;

interface Home {
  meterId: string;
  validator: boolean;
  keepaliveS: number;
  frozen: boolean;
  dataDir: string;
  config: string;
  proc?: HemProcess;
  address?: string;
}

test('SIGSTOP a group of homes through an auction, SIGCONT: validators catch up, queued readings arrive without a gap', { timeout: 300_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'tmi-freeze-'));
  const upDir = join(root, 'up');
  const homes: Home[] = [
    { meterId: 'home-fz-1', validator: true, keepaliveS: 30, frozen: true },
    { meterId: 'home-fz-2', validator: true, keepaliveS: 5, frozen: true },
    { meterId: 'home-fz-3', validator: false, keepaliveS: 5, frozen: true },
    { meterId: 'home-fz-4', validator: false, keepaliveS: 30, frozen: false },
    { meterId: 'home-fz-5', validator: true, keepaliveS: 30, frozen: false },
  ].map((h) => ({ ...h, dataDir: join(root, 'homes', h.meterId), config: join(root, 'homes', `${h.meterId}.json`) }));
  const up = spawn(process.execPath, [
    TMI, 'up', '--data', upDir, '--mqtt-port', '0', '--ws-port', '0', '--registry-port', '0', '--aggregator-port', '0', '--metrics-port', '0',
    '--analytics-port', '0', '--interval-ms', String(INTERVAL_MS), '--slot-ms', String(SLOT_MS), '--patience', String(PATIENCE), '--log-level', 'warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(up);
  let upOut = '';
  let upErr = '';
  up.stdout.on('data', (d: Buffer) => (upOut += d.toString()));
  up.stderr.on('data', (d: Buffer) => (upErr += d.toString().slice(-20_000)));
  const upExit = new Promise<number | null>((r) => up.on('exit', (c) => r(c)));
  try {
    const info = await waitUntil(() => {
      try {
        return JSON.parse(upOut) as { urls: { registry: string; mqtt: string; aggregator: string }; adminTokenFile: string; operatorTokenFile: string; genesis: string; aggregatorKey: string; registryKey: string };
      } catch {
        return undefined;
      }
    }, 30_000, 'tmi up');
    const admin = new RegistryClient({ url: info.urls.registry, adminToken: (await readFile(info.adminTokenFile, 'utf8')).trim() });
    const genesisMs = Date.parse((JSON.parse(await readFile(info.genesis, 'utf8')) as { genesisTime: string }).genesisTime);
    const startWall = new Date(genesisMs - Math.round((HOME_START_H * 3_600_000) / SPEED)).toISOString();
    for (const [k, h] of homes.entries()) {
      await mkdir(h.dataDir, { recursive: true, mode: 0o700 });
      const key = generateKeyPair();
      await writeKeyFile(join(h.dataDir, 'meter-key.json'), key, h.meterId);
      await admin.enroll({ meterId: h.meterId, serial: `FZ-${k}`, meterType: 'sim', publicKey: key.address, feeder: 'F1', programme: h.validator ? 'RE+TE' : 'TE' });
      await writeFile(h.config, JSON.stringify({
        meterId: h.meterId, dataDir: h.dataDir, broker: { url: info.urls.mqtt, reconnectMs: 300, keepaliveS: h.keepaliveS },
        registry: { url: info.urls.registry, publicKey: info.registryKey }, aggregatorAddress: info.aggregatorKey, intervalMs: INTERVAL_MS, speed: SPEED,
        ...(h.validator ? { chain: { genesis: info.genesis, produce: true } } : {}),
        adapter: { type: 'sim', seed: 900 + k, initialSoc: 0.85, pvPeakW: 4000, profile: { startDate: '2026-06-21', days: 1, intervalMinutes: 15 }, startWall },
      }));
      h.proc = spawnHem(h.meterId, h.config);
    }
    await waitUntil(() => {
      for (const h of homes) if (!h.proc!.running()) throw new Error(`${h.meterId} exited: ${h.proc!.stderr().slice(-1000)}`);
      return homes.every((h) => (h.address = h.proc!.lines.find((l) => l.event === 'pseudonym-certified')?.address as string | undefined));
    }, 40_000, 'pseudonyms', 100);
    await waitUntil(() => homes.every((h) => h.proc!.events('sent').filter((l) => l.operation === 'meter-reading').length >= 3), 60_000, 'three readings per home', 200);

    // ── freeze the group; an auction opens and closes meanwhile ──
    const frozen = homes.filter((h) => h.frozen);
    const readingsAtFreeze = new Map(frozen.map((h) => [h.meterId, h.proc!.events('reading').length]));
    const frozenAt = Date.now();
    for (const h of frozen) h.proc!.child.kill('SIGSTOP');
    const now = Date.now();
    const deliveryStart = genesisMs + (Math.floor((now - genesisMs) / INTERVAL_MS) + 3) * INTERVAL_MS;
    const closesAt = new Date(now + 5000).toISOString();
    const post = spawn(process.execPath, [
      TMI, 'aggregator', 'post', '--url', info.urls.aggregator, '--operator-token', info.operatorTokenFile, '--side', 'buy', '--energy-kwh', '40', '--price', '60',
      '--delivery', `${new Date(deliveryStart).toISOString()}/${new Date(deliveryStart + INTERVAL_MS).toISOString()}`, '--closes-at', closesAt,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let postOut = '';
    post.stdout.on('data', (d: Buffer) => (postOut += d.toString()));
    assert.equal(await new Promise((r) => post.on('exit', r)), 0, 'tmi aggregator post');
    const auctionId = (JSON.parse(postOut) as { auctionId: string }).auctionId;
    await new Promise((r) => setTimeout(r, Math.max(0, frozenAt + FREEZE_MS - Date.now())));
    const resumedAt = Date.now();
    for (const h of frozen) h.proc!.child.kill('SIGCONT');

    // ── after the resume ──
    // each frozen home meters the intervals it missed and sends them
    const missed = Math.floor(FREEZE_MS / INTERVAL_MS);
    await waitUntil(() => frozen.every((h) => h.proc!.events('reading').length >= readingsAtFreeze.get(h.meterId)! + missed), 30_000, 'the missed intervals metered', 100);
    const caughtUpMs = Date.now() - resumedAt;
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS)); // readings on chain, validators synced
    const reconnected = frozen.map((h) => ({ h, reconnects: h.proc!.lines.filter((l) => l.event === 'mqtt-connected' && (l.time as number) >= resumedAt).length }));
    const decisions = homes.map((h) => h.proc!.events('decision').find((l) => l.auctionId === auctionId));

    for (const h of homes) h.proc!.child.kill('SIGTERM');
    const codes = await Promise.all(homes.map((h) => h.proc!.exit));
    assert.deepEqual(codes.map((c) => c.code), homes.map(() => 0), 'every HEM stops cleanly');
    up.kill('SIGTERM');
    assert.equal(await upExit, 0, `tmi up stops cleanly: ${upErr.slice(-1000)}`);

    // ── the aggregator's chain ──
    const agg = await openChainStoreAt(upDir);
    const report: string[] = [];
    try {
      const state = agg.state;
      const a = state.sections.auctions.get(auctionId);
      assert.ok(a && (a.status === 'closed' || a.status === 'settled'), `the auction cleared (status ${a?.status})`);
      const winners = new Set((a.awards ?? []).map((w) => w.address));
      for (const h of homes.filter((x) => !x.frozen)) {
        if (decisions[homes.indexOf(h)]?.bid) assert.ok(winners.has(h.address!), `${h.meterId} (running) offered and won`);
      }
      for (const h of frozen) assert.ok(!winners.has(h.address!), `${h.meterId} (frozen) took no part`);
      report.push(`auction ${a.status}: ${winners.size} awards, all to running homes; frozen homes made ${frozen.filter((h) => decisions[homes.indexOf(h)]?.bid).length} bids (closed before they resumed)`);
      for (const h of homes) {
        const sent = h.proc!.events('sent').filter((l: LogLine) => l.operation === 'meter-reading').map((l) => l.seq as number);
        const seqs = [...new Set(sent)].sort((x, y) => x - y);
        assert.deepEqual(seqs, seqs.map((_, i) => i), `${h.meterId}: acknowledged readings seq 0..${seqs.length - 1} without a gap`);
        const head = state.sections.readingHeads.get(h.address!) as { seq: number; interval: number } | undefined;
        assert.ok(head, `${h.meterId}: readings on chain`);
        assert.ok(head.seq >= seqs.length - 2, `${h.meterId}: the chain has its readings up to seq ${head.seq} (sent ${seqs.length})`);
        const intervals = h.proc!.events('reading').map((l) => Date.parse((l.interval as { start: string }).start));
        for (let i = 1; i < intervals.length; i++) assert.equal(intervals[i]! - intervals[i - 1]!, INTERVAL_MS, `${h.meterId}: consecutive intervals`);
      }
      // the validators' chains
      for (const h of homes.filter((x) => x.validator)) {
        const s = await openChainStoreAt(h.dataDir);
        try {
          const common = Math.min(s.head.height, agg.head.height);
          assert.equal(await s.hashAt(common), await agg.hashAt(common), `${h.meterId}: same block at height ${common} as the aggregator node`);
          assert.ok(agg.head.height - s.head.height <= 2 * PATIENCE, `${h.meterId}: caught up (head ${s.head.height}, aggregator ${agg.head.height})`);
          report.push(`${h.meterId}${h.frozen ? ` (frozen, keepalive ${h.keepaliveS} s)` : ' (running)'}: head ${s.head.height} vs aggregator ${agg.head.height}, same hash at ${common}`);
        } finally {
          await s.close({ snapshot: false });
        }
      }
      report.push(`frozen homes metered the ${missed} missed intervals within ${caughtUpMs} ms of SIGCONT; reconnects after resume: ${reconnected.map((r) => `${r.h.meterId} ${r.reconnects}`).join(', ')}; readings per home seq without a gap`);
    } finally {
      await agg.close({ snapshot: false });
    }
    process.stdout.write(report.map((l) => `# freeze: ${l}`).join('\n') + '\n');
  } finally {
    for (const h of homes) if (h.proc) await killHard(h.proc);
    if (up.exitCode === null && up.signalCode === null) up.kill('SIGKILL');
    await upExit;
    await rm(root, { recursive: true, force: true });
  }
});
