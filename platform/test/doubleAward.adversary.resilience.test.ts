/**
 * [SETTLE-1] Attack with real processes: two auctions for one delivery interval (an
 * operator's VPP post and a second post, as a deviation auction would be), and the homes
 * win both. Before [SETTLE-1] each award was settled against the same reading, so one
 * discharge was paid twice, and the HEM took the second award's setpoint in place of the
 * first.
 *
 *   `tmi up` (registry, broker, the aggregator's chain node, aggregator, analytics) and
 *   three `hem` processes (simulated houses, TE) on loopback; both auctions posted with
 *   `tmi aggregator post`; the chain clears both at their close and settles them from the
 *   signed readings of the delivery interval.
 *
 * Checked from the chain database on disk: per home, the Wh paid across both auctions
 * equal min(Σ awarded, measured discharge) and never exceed the measurement; the awards
 * share it in bid inclusion order; each HEM scheduled the sum of its awards (its measured
 * discharge exceeds its larger award); `tmi wallet` = payments − penalties.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { paymentMillicents } from '../../wire/quantities.js';
import { deliveryKey } from '../../poe-chain/core/auctionContract.js';
import { openChainStoreAt } from '../../poe-chain/store/chainDataDir.js';
import type { ChainState } from '../../poe-chain/core/chainState.js';
import { expectedBalance, spawnProc, stopProc, waitFor, type Proc, startHems, enrolHome, withTmiUp } from './procFixtures.js';
import { TMI } from './tmiUpProcess.js';

const INTERVAL_MS = 4000;
const SLOT_MS = 200;
const PATIENCE = 4;
const SPEED = 900_000 / INTERVAL_MS; // one interval = 15 minutes of home time
/** home time at the genesis instant: early evening in winter (no PV, batteries serve the home) */
const HOME_START_H = 18.5;
const LIMIT_CENTS = 60; // above any default offer price (C_d 20 + margin 1 + scarcity ≤ 20 c/kWh)
const ENERGY_KWH = 20; // more than five batteries offer in one interval: every offer is awarded



interface Home {
  meterId: string;
  programme: 'TE' | 'RE+TE';
  feeder: string;
  underDeliverFactor: number;
  dataDir: string;
  config: string;
  proc?: Proc;
  address?: string;
}



test('[SETTLE-1] two auctions for one interval, real processes: each home is paid once for what it delivered', { timeout: 150_000 }, async (t) => {
  await withTmiUp('double-award', { intervalMs: INTERVAL_MS, slotMs: SLOT_MS, patience: PATIENCE }, async ({ root, upDir, up, info, procs, genesis, registry }) => {
    const genesisMs = genesis.genesisTimeMs;

    const homes: Home[] = ([
      { meterId: 'home-1', programme: 'TE', feeder: 'F1', underDeliverFactor: 1 },
      { meterId: 'home-2', programme: 'TE', feeder: 'F2', underDeliverFactor: 1 },
      { meterId: 'home-3', programme: 'TE', feeder: 'F1', underDeliverFactor: 1 },
    ] as const).map((h) => ({ ...h, dataDir: join(root, 'homes', h.meterId), config: join(root, 'homes', `${h.meterId}.json`) }));
    const startWall = new Date(genesisMs - Math.round((HOME_START_H * 3_600_000) / SPEED)).toISOString();
    for (const [k, h] of homes.entries()) {
      await enrolHome(registry, h, `DA-${k + 1}`);
      await writeFile(h.config, JSON.stringify({
        meterId: h.meterId, dataDir: h.dataDir,
        broker: { url: info.urls.mqtt, reconnectMs: 500 },
        registry: { url: info.urls.registry, publicKey: info.registryKey },
        aggregatorAddress: info.aggregatorKey,
        intervalMs: INTERVAL_MS, speed: SPEED, underDeliverFactor: h.underDeliverFactor,
        adapter: { type: 'sim', seed: 8100 + k, initialSoc: 0.9, pvPeakW: 4000, profile: { startDate: '2026-06-21', days: 1, intervalMinutes: 15 }, startWall },
        log: { level: 'info' },
      }));
    }
    await startHems(homes, procs);
    await waitFor('two readings from every home', 40_000, () => homes.every((h) => h.proc!.lines.filter((l) => l.event === 'reading').length >= 2), 250);

    // ── two posts for the same delivery interval ──
    const now = Date.now();
    const deliveryStart = genesisMs + (Math.floor((now - genesisMs) / INTERVAL_MS) + 4) * INTERVAL_MS;
    const delivery = `${new Date(deliveryStart).toISOString()}/${new Date(deliveryStart + INTERVAL_MS).toISOString()}`;
    const closesAt = new Date(now + 6000).toISOString();
    const ids: string[] = [];
    for (const label of ['vpp', 'second']) {
      const post = spawnProc(`post-${label}`, [
        TMI, 'aggregator', 'post', '--url', info.urls.aggregator, '--operator-token', info.operatorTokenFile, '--side', 'buy',
        '--energy-kwh', String(ENERGY_KWH), '--price', String(LIMIT_CENTS), '--delivery', delivery, '--closes-at', closesAt,
      ]);
      assert.equal(await post.exit, 0, `tmi aggregator post failed: ${post.err}`);
      ids.push((JSON.parse(post.out) as { auctionId: string }).auctionId);
    }
    const deliveryEpoch = (deliveryStart - genesisMs) / INTERVAL_MS;
    const awardsOf = (h: Home) => h.proc!.lines.filter((l) => l.event === 'award' && ids.includes(l.auctionId as string));
    // wait until every home that won both has scheduled both awards and the delivery interval is metered
    await waitFor('awards scheduled', 20_000, () => homes.some((h) => awardsOf(h).length === 2));
    // the readings of the delivery interval reach the chain at its end; settlement by then + settleGraceMs (2 intervals) at the latest
    await new Promise((r) => setTimeout(r, Math.max(0, deliveryStart + 4 * INTERVAL_MS - Date.now())));
    const hemCodes = await Promise.all(homes.map((h) => stopProc(h.proc!)));
    assert.deepEqual(hemCodes, homes.map(() => 0), 'HEMs stop cleanly');
    assert.equal(await stopProc(up), 0, `tmi up stops cleanly: ${up.err.slice(-2000)}`);

    // ── the chain on disk ──
    const store = await openChainStoreAt(upDir);
    let state: ChainState;
    try {
      state = store.state;
    } finally {
      await store.close({ snapshot: false });
    }
    const auctions = ids.map((id) => state.sections.auctions.get(id)!);
    for (const [k, a] of auctions.entries()) {
      assert.ok(a, `${ids[k]} on chain`);
      assert.equal(a.status, 'settled', `${ids[k]} settled (${a.status})`);
    }
    let doubleWinners = 0;
    for (const h of homes) {
      const mine = auctions.flatMap((a) => (a.awards ?? []).filter((w) => w.address === h.address));
      if (mine.length === 0) continue;
      const reading = state.sections.readings.get(`${h.address}|${deliveryEpoch}`);
      assert.ok(reading, `${h.meterId}: its reading of the delivery interval is on chain`);
      const awarded = mine.reduce((s, w) => s + w.energyWh, 0);
      const paid = mine.reduce((s, w) => s + w.settlement!.deliveredWh, 0);
      // the rule: one measurement, paid once, shared in bid inclusion order
      assert.equal(paid, Math.min(awarded, reading.dischargedWh), `${h.meterId}: paid ${paid} Wh = min(awarded ${awarded}, measured ${reading.dischargedWh})`);
      const ordered = [...mine].sort((x, y) => x.inclusion - y.inclusion);
      let prior = 0;
      for (const w of ordered) {
        assert.equal(w.settlement!.priorWh, prior, `${h.meterId}: priorWh`);
        assert.equal(w.settlement!.deliveredWh, Math.min(w.energyWh, Math.max(0, reading.dischargedWh - prior)));
        assert.equal(w.settlement!.paymentMc, paymentMillicents(w.settlement!.deliveredWh, w.priceMcPerKWh));
        prior += w.settlement!.deliveredWh;
      }
      const cert = state.sections.certs.get(h.address!);
      assert.equal(state.sections.deliveries.get(deliveryKey(deliveryEpoch, 'buy', cert?.tag ?? h.address!))?.deliveredWh, paid, `${h.meterId}: deliveries record`);
      const wallet = spawnProc('wallet', [TMI, 'wallet', h.address!, '--data', upDir]);
      assert.equal(await wallet.exit, 0, `tmi wallet: ${wallet.err}`);
      assert.equal(BigInt((JSON.parse(wallet.out) as { millicents: string }).millicents), expectedBalance(state, h.address!), `${h.meterId}: wallet = payments − penalties`);
      if (mine.length === 2) {
        doubleWinners++;
        // the HEM scheduled the sum: it discharged more than its larger award alone
        const larger = Math.max(...mine.map((w) => w.energyWh));
        t.diagnostic(`${h.meterId}: awarded ${mine.map((w) => w.energyWh).join(' + ')} Wh, measured ${reading.dischargedWh} Wh, paid ${mine.map((w) => w.settlement!.deliveredWh).join(' + ')} Wh (old rule: ${mine.map((w) => Math.min(w.energyWh, reading.dischargedWh)).join(' + ')}), penalties ${mine.map((w) => w.settlement!.penaltyMc).join(' + ')} mc`);
        assert.ok(reading.dischargedWh > larger, `${h.meterId}: discharged ${reading.dischargedWh} Wh > the larger award ${larger} Wh (setpoint = sum)`);
        assert.ok(paid <= reading.dischargedWh);
      }
    }
    assert.ok(doubleWinners >= 1, 'at least one home won both auctions');
  });
});
