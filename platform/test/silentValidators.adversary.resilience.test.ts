/**
 * [LIVE] Attack (or fault): ranked validators that run no chain node, then the only
 * validator that does is killed with -9. Real processes: `tmi up` (registry, the TMI broker,
 * the aggregator and its producing chain node) and four `tmi hem` processes with simulated
 * homes, all RE+TE: three run no chain node (ranked by their readings, never producing),
 * one runs a validator node and is killed mid-run. An auction is posted meanwhile.
 *
 * Checked on the aggregator's chain afterwards, against the rule itself (not a count in a
 * window): while validators are ranked, no gap between consecutive blocks exceeds
 * (n + 1)·W slots, n = the validators ranked in that epoch; the auction clears on time, in
 * the first block at or after its closesAt [CLOSE], so at most (n + 1)·W slots after the last
 * block before closesAt: its time ≤ closesAt + ((n + 1)·W + 1)·S (one slot S more for a
 * closesAt between slot starts); every home's readings reach the chain.
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
import { createGenesisState } from '../../poe-chain/core/chainState.js';
import { slotTime } from '../../poe-chain/core/genesis.js';
import { rankingForEpoch } from '../../poe-chain/core/rankingForEpoch.js';
import { validateAndApplyBlock } from '../../poe-chain/core/validateAndApplyBlock.js';
import { killHard, spawnHem, waitUntil, type HemProcess } from '../../hem/test/resilienceFixtures.js';
import { killOnExit } from '../../broker/test/redisFixtures.js';
import { startUp, stopUp, TMI } from './tmiUpProcess.js';

const INTERVAL_MS = 4000;
const SLOT_MS = 200;
const PATIENCE = 4;
const SPEED = 900_000 / INTERVAL_MS;

interface Home { meterId: string; node: boolean; dataDir: string; config: string; proc?: HemProcess; address?: string }

test('[LIVE] ranked validators without a node, then the last live validator killed: no gap beyond (n + 1)·W, the auction clears', { timeout: 300_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'tmi-silent-'));
  const upDir = join(root, 'up');
  const homes: Home[] = [
    { meterId: 'silent-1', node: false },
    { meterId: 'silent-2', node: false },
    { meterId: 'silent-3', node: false },
    { meterId: 'live-1', node: true },
  ].map((h) => ({ ...h, dataDir: join(root, 'homes', h.meterId), config: join(root, 'homes', `${h.meterId}.json`) }));
  const up = await startUp(upDir, { intervalMs: INTERVAL_MS, slotMs: SLOT_MS, patience: PATIENCE });
  killOnExit(up.child);
  try {
    const info = up.info;
    const admin = new RegistryClient({ url: info.urls.registry, adminToken: (await readFile(info.adminTokenFile, 'utf8')).trim() });
    const genesisMs = Date.parse((JSON.parse(await readFile(info.genesis, 'utf8')) as { genesisTime: string }).genesisTime);
    const startWall = new Date(genesisMs - Math.round((11 * 3_600_000) / SPEED)).toISOString();
    for (const [k, h] of homes.entries()) {
      await mkdir(h.dataDir, { recursive: true, mode: 0o700 });
      const key = generateKeyPair();
      await writeKeyFile(join(h.dataDir, 'meter-key.json'), key, h.meterId);
      await admin.enroll({ meterId: h.meterId, serial: `SV-${k}`, meterType: 'sim', publicKey: key.address, feeder: 'F1', programme: 'RE+TE' });
      await writeFile(h.config, JSON.stringify({
        meterId: h.meterId, dataDir: h.dataDir, broker: { url: info.urls.mqtt, reconnectMs: 300, keepaliveS: 30 },
        registry: { url: info.urls.registry, publicKey: info.registryKey }, aggregatorAddress: info.aggregatorKey, intervalMs: INTERVAL_MS, speed: SPEED,
        ...(h.node ? { chain: { genesis: info.genesis, produce: true } } : {}),
        adapter: { type: 'sim', seed: 700 + k, initialSoc: 0.6, pvPeakW: 3000 + 500 * k, profile: { startDate: '2026-06-21', days: 1, intervalMinutes: 15 }, startWall },
      }));
      h.proc = spawnHem(h.meterId, h.config);
    }
    await waitUntil(() => {
      for (const h of homes) if (!h.proc!.running()) throw new Error(`${h.meterId} exited: ${h.proc!.stderr().slice(-1000)}`);
      return homes.every((h) => (h.address = h.proc!.lines.find((l) => l.event === 'pseudonym-certified')?.address as string | undefined));
    }, 40_000, 'pseudonyms', 100);
    // readings for a few intervals: the silent homes get ranked
    await waitUntil(() => homes.every((h) => h.proc!.events('sent').filter((l) => l.operation === 'meter-reading').length >= 4), 60_000, 'four readings per home', 200);
    // the last validator that runs a node is killed; an auction is posted
    const live = homes.find((h) => h.node)!;
    await killHard(live.proc!);
    const now = Date.now();
    const deliveryStart = genesisMs + (Math.floor((now - genesisMs) / INTERVAL_MS) + 3) * INTERVAL_MS;
    const post = spawn(process.execPath, [
      TMI, 'aggregator', 'post', '--url', info.urls.aggregator!, '--operator-token', info.operatorTokenFile, '--side', 'buy', '--energy-kwh', '5', '--price', '60',
      '--delivery', `${new Date(deliveryStart).toISOString()}/${new Date(deliveryStart + INTERVAL_MS).toISOString()}`, '--closes-at', new Date(now + 5000).toISOString(),
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let postOut = '';
    post.stdout.on('data', (d: Buffer) => (postOut += d.toString()));
    assert.equal(await new Promise((r) => post.on('exit', r)), 0, 'tmi aggregator post');
    const auctionId = (JSON.parse(postOut) as { auctionId: string }).auctionId;
    await new Promise((r) => setTimeout(r, 5 * INTERVAL_MS));
    for (const h of homes.filter((x) => x !== live)) h.proc!.child.kill('SIGTERM');
    await Promise.all(homes.filter((x) => x !== live).map((h) => h.proc!.exit));
    assert.equal((await stopUp(up, 'SIGTERM')).code, 0, `tmi up stops cleanly: ${up.lines.slice(-5).join('\n')}`);

    // ── the aggregator's chain ──
    const agg = await openChainStoreAt(upDir);
    try {
      // replay the chain: for each block, the validators ranked in its epoch on its parent state
      const blocks: { slot: number; producer: string; ranked: number }[] = [];
      let cleared: { slot: number; time: number; ranked: number } | undefined;
      let st = createGenesisState(agg.genesis);
      for (let h = 1; h <= agg.head.height; h++) {
        const b = (await agg.blockAt(h))!;
        const hd = b.parameters.header;
        const ranked = rankingForEpoch(st, hd.epoch).ranking.length;
        blocks.push({ slot: hd.slot, producer: hd.producer, ranked });
        const wasOpen = st.sections.auctions.get(auctionId)?.status === 'open';
        st = validateAndApplyBlock(st, b, { now: Number.MAX_SAFE_INTEGER }).state;
        if (wasOpen && st.sections.auctions.get(auctionId)?.status !== 'open') cleared = { slot: hd.slot, time: slotTime(agg.genesis, hd.slot), ranked };
      }
      const state = agg.state;
      let worst = { gap: 0, bound: 0, at: 0 };
      let rankedEpochs = 0;
      const silentAddresses = homes.filter((h) => !h.node).map((h) => h.address!);
      for (let i = 1; i < blocks.length; i++) {
        const b = blocks[i]!;
        const n = b.ranked;
        if (n === 0) continue;
        rankedEpochs++;
        const gap = b.slot - blocks[i - 1]!.slot;
        const bound = (n + 1) * PATIENCE;
        if (worst.bound === 0 || gap - bound > worst.gap - worst.bound) worst = { gap, bound, at: b.slot };
        assert.ok(gap <= bound, `gap of ${gap} slots before slot ${b.slot} with ${n} ranked (bound ${bound})`);
      }
      assert.ok(rankedEpochs > 5, `blocks made while validators were ranked: ${rankedEpochs}`);
      const a = state.sections.auctions.get(auctionId);
      assert.ok(a && (a.status === 'closed' || a.status === 'settled'), `the auction cleared (status ${a?.status})`);
      // [LIVE] [CLOSE] on time: the first block at or after closesAt, within the gap bound
      assert.ok(cleared, 'a block cleared the auction');
      const clearBoundMs = ((cleared.ranked + 1) * PATIENCE + 1) * SLOT_MS;
      assert.ok(cleared.time >= a.closesAt, 'not before closesAt');
      assert.ok(cleared.time <= a.closesAt + clearBoundMs, `cleared ${cleared.time - a.closesAt} ms after closesAt (bound ${clearBoundMs} ms with ${cleared.ranked} ranked)`);
      for (const address of silentAddresses) assert.ok(state.sections.readingHeads.get(address), 'readings on chain');
      const silentProduced = blocks.filter((b) => silentAddresses.includes(b.producer)).length;
      assert.equal(silentProduced, 0, 'the silent validators made no block');
      process.stdout.write(`# silent validators: ${blocks.length} blocks, ${rankedEpochs} made while validators were ranked; worst gap ${worst.gap} slots (bound ${worst.bound}) at slot ${worst.at}; auction ${a.status}, cleared at slot ${cleared.slot}, ${cleared.time - a.closesAt} ms after closesAt (bound ${clearBoundMs} ms, ${cleared.ranked} ranked)\n`);
    } finally {
      await agg.close({ snapshot: false });
    }
  } finally {
    for (const h of homes) if (h.proc) await killHard(h.proc);
    await stopUp(up, 'SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
});

