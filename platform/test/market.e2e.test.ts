/**
 * The market end to end, with real processes on loopback:
 *
 *   `tmi up` (registry, broker, the aggregator's chain node, the aggregator, analytics) as
 *   a child process; five homes enrolled by the operator through the registry, each a
 *   `hem` process with a simulated house (two RE+TE homes run validator chain nodes; one
 *   home delivers only half of what it is awarded); an operator posts a VPP bid with
 *   `tmi aggregator post`; the homes offer; the chain clears the auction at its close and
 *   settles it from the signed readings of the delivery interval.
 *
 * After the run everything is stopped and the chain databases are opened from disk: the
 * aggregator node's and each validator home's hold the same clearing in the same block;
 * every settlement follows [AUC-9]/[AUC-10] from the reading on chain; `tmi wallet` shows
 * payments − penalties + block rewards for every winner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { paymentMillicents } from '../../wire/quantities.js';
import { openChainStoreAt } from '../../poe-chain/store/chainDataDir.js';
import { auctionView } from '../../poe-chain/node/chainQueries.js';
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


async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const r = await fetch(url);
    return r.ok ? ((await r.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}


interface AnalyticsAuction {
  auction: { auctionId: string; status: string; bids: number };
  awards: { address: string; energyWh: number; priceMcPerKWh: number }[];
  bids: { address: string; type?: string; energyWh?: number; priceMcPerKWh?: number; height?: number }[];
  settlements: { address: string; deliveredWh: number; paymentMc: number; penaltyMc: number }[];
}

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

/** an auction-close of `auctionId`, bare or wrapped in a `tx` */
function isCloseOf(t: { operation: string; parameters: unknown }, auctionId: string): boolean {
  if (t.operation === 'auction-close') return (t.parameters as { auctionId?: string }).auctionId === auctionId;
  if (t.operation === 'tx') {
    const inner = (t.parameters as { tx?: { operation: string; parameters: unknown } }).tx;
    return inner !== undefined && isCloseOf(inner, auctionId);
  }
  return false;
}


test('market: tmi up + 5 HEM processes, a posted VPP bid clears on every node, settles from readings, wallets add up', { timeout: 150_000 }, async (t) => {
  // ── 1. the platform ──
  await withTmiUp('market e2e', { intervalMs: INTERVAL_MS, slotMs: SLOT_MS, patience: PATIENCE }, async ({ root, upDir, up, info, procs, genesis, registry }) => {
    const genesisMs = genesis.genesisTimeMs;
    assert.equal(genesis.intervalMs, INTERVAL_MS);

    // ── 2. the operator enrols five homes; each runs a HEM process ──
    const homes: Home[] = ([
      { meterId: 'home-1', programme: 'RE+TE', feeder: 'F1', underDeliverFactor: 1 },
      { meterId: 'home-2', programme: 'RE+TE', feeder: 'F2', underDeliverFactor: 1 },
      { meterId: 'home-3', programme: 'TE', feeder: 'F1', underDeliverFactor: 0.5 },
      { meterId: 'home-4', programme: 'TE', feeder: 'F2', underDeliverFactor: 1 },
      { meterId: 'home-5', programme: 'TE', feeder: 'F1', underDeliverFactor: 1 },
    ] as const).map((h) => ({ ...h, dataDir: join(root, 'homes', h.meterId), config: join(root, 'homes', `${h.meterId}.json`) }));
    const startWall = new Date(genesisMs - Math.round((HOME_START_H * 3_600_000) / SPEED)).toISOString();
    for (const [k, h] of homes.entries()) {
      await enrolHome(registry, h, `E2E-${k + 1}`);
      await writeFile(h.config, JSON.stringify({
        meterId: h.meterId,
        dataDir: h.dataDir,
        broker: { url: info.urls.mqtt, reconnectMs: 500 },
        registry: { url: info.urls.registry, publicKey: info.registryKey },
        aggregatorAddress: info.aggregatorKey,
        intervalMs: INTERVAL_MS,
        speed: SPEED,
        underDeliverFactor: h.underDeliverFactor,
        ...(h.programme !== 'TE' ? { chain: { genesis: info.genesis, produce: true } } : {}),
        adapter: {
          type: 'sim', seed: 7000 + k, initialSoc: 0.85, pvPeakW: 4000,
          profile: { startDate: '2026-06-21', days: 1, intervalMinutes: 15 }, startWall,
        },
        log: { level: 'info' },
      }));
    }
    await startHems(homes, procs);
    const byAddress = new Map(homes.map((h) => [h.address!, h]));
    // each home queues its certificate tx before its first reading (outbox order) and the
    // chain takes it in the next slot; two readings later it is certainly on chain
    await waitFor('two readings from every home', 40_000, () => homes.every((h) => h.proc!.lines.filter((l) => l.event === 'reading').length >= 2), 250);

    // ── 3. the operator posts a VPP bid for the interval four ahead ──
    const now = Date.now();
    const deliveryStart = genesisMs + (Math.floor((now - genesisMs) / INTERVAL_MS) + 4) * INTERVAL_MS;
    const delivery = { start: new Date(deliveryStart).toISOString(), end: new Date(deliveryStart + INTERVAL_MS).toISOString() };
    // closesAt leaves room for starting the CLI on a busy machine (the aggregator refuses a
    // close in the past) and for the homes' answers (within 1 s when idle); the delivery
    // starts ≥ 12 s from now, so the result reaches the homes before it
    const closesAt = new Date(now + 6000).toISOString();
    const post = spawnProc('post', [
      TMI, 'aggregator', 'post', '--url', info.urls.aggregator, '--operator-token', info.operatorTokenFile, '--side', 'buy',
      '--energy-kwh', String(ENERGY_KWH), '--price', String(LIMIT_CENTS), '--delivery', `${delivery.start}/${delivery.end}`, '--closes-at', closesAt,
    ]);
    assert.equal(await post.exit, 0, `tmi aggregator post failed: ${post.err}`);
    const posted = JSON.parse(post.out) as { auctionId: string; open: { delivery: { start: string; end: string } } };
    const auctionId = posted.auctionId;
    assert.deepEqual(posted.open.delivery, delivery);
    const deliveryEpoch = (deliveryStart - genesisMs) / INTERVAL_MS;

    // ── 4. the homes answer; the chain clears at the close ──
    const decisions = await waitFor('a decision from every home', 15_000, () => {
      const d = homes.map((h) => h.proc!.lines.find((l) => l.event === 'decision' && l.auctionId === auctionId));
      return d.every((x) => x) ? d as Record<string, unknown>[] : undefined;
    });
    const bidders = homes.filter((_, i) => decisions[i]!.bid !== null);
    const underDeliverer = homes.find((h) => h.underDeliverFactor < 1)!;
    assert.ok(bidders.includes(underDeliverer), `the under-delivering home offers (decision: ${JSON.stringify(decisions[homes.indexOf(underDeliverer)])})`);
    assert.ok(bidders.length >= 3, `at least three homes offer (decisions: ${JSON.stringify(decisions.map((d) => d.reason ?? d.bid))})`);
    // analytics ingests the wire (bids) and the chain (result) on two paths: wait until it has both
    let seen: AnalyticsAuction | undefined;
    const cleared = await waitFor('the auction cleared with every bid (analytics)', 30_000, async () => {
      seen = (await getJson<AnalyticsAuction>(`${info.urls.analytics}/api/auctions/${auctionId}`)) ?? seen;
      return seen && seen.auction.status === 'cleared' && seen.awards.length > 0 && seen.bids.length >= bidders.length ? seen : undefined;
    }, 200).catch((err: Error) => {
      if (seen?.auction.status !== 'cleared') throw err;
      return seen; // cleared, bids missing: the assertions below say which
    });
    // the bids analytics saw on the wire are the homes' decisions
    assert.deepEqual(
      cleared.bids.map((b) => b.address).sort(),
      bidders.map((h) => h.address!).sort(),
      'the bids seen by analytics are the offers the homes decided',
    );
    for (const [i, h] of homes.entries()) {
      const d = decisions[i]!.bid as { energyWh: number; priceMcPerKWh: number } | null;
      const b = cleared.bids.find((x) => x.address === h.address);
      if (d) assert.deepEqual({ energyWh: b?.energyWh, priceMcPerKWh: b?.priceMcPerKWh }, { energyWh: d.energyWh, priceMcPerKWh: d.priceMcPerKWh }, `${h.meterId}: bid on the wire = decide()`);
    }
    // the auction asks for more than was offered, so every offer that reached the chain is
    // awarded in full at its own price (pay-as-bid): awards = offers shows they all did
    assert.deepEqual(
      cleared.awards.map((w) => [w.address, w.energyWh, w.priceMcPerKWh]).sort(),
      bidders.map((h) => {
        const d = decisions[homes.indexOf(h)]!.bid as { energyWh: number; priceMcPerKWh: number };
        return [h.address, d.energyWh, d.priceMcPerKWh];
      }).sort(),
      'awards = offers',
    );

    // ── 5. after delivery the readings settle every award ──
    const settledView = await waitFor('settlement of every award (analytics)', 40_000, async () => {
      const a = await getJson<AnalyticsAuction>(`${info.urls.analytics}/api/auctions/${auctionId}`);
      return a && a.settlements.length === a.awards.length ? a : undefined;
    }, 250);
    for (const h of homes) assert.ok(h.proc!.lines.some((l) => l.event === 'award' && l.auctionId === auctionId) === bidders.includes(h), `${h.meterId}: award executed iff it offered`);

    // ── 6. stop everything; the chain databases on disk ──
    const hemCodes = await Promise.all(homes.map((h) => stopProc(h.proc!)));
    assert.deepEqual(hemCodes, homes.map(() => 0), 'HEMs stop cleanly on SIGTERM');
    assert.equal(await stopProc(up), 0, `tmi up stops cleanly: ${up.err.slice(-2000)}`);

    const nodes = [{ name: 'aggregator node', dir: upDir }, ...homes.filter((h) => h.programme !== 'TE').map((h) => ({ name: h.meterId, dir: h.dataDir }))];
    const views: { name: string; awards: unknown; closedHeight: number; closeBlock: string; tip: { height: number; hash: string } }[] = [];
    let upState: ChainState | undefined;
    for (const n of nodes) {
      const store = await openChainStoreAt(n.dir);
      try {
        const a = store.state.sections.auctions.get(auctionId);
        assert.ok(a, `${n.name}: the auction is in the chain state`);
        assert.ok(a.status === 'closed' || a.status === 'settled', `${n.name}: cleared (status ${a.status})`);
        const closedHeight = a.closedHeight!;
        const block = await store.blockAt(closedHeight);
        assert.ok(block, `${n.name}: block ${closedHeight}`);
        // [CLOSE] the first block dated at or after closesAt clears it (holding the aggregator's close when it came in time)
        const prev = await store.blockAt(closedHeight - 1);
        assert.ok(Date.parse(block.date) >= Date.parse(closesAt) && Date.parse(prev!.date) < Date.parse(closesAt), `${n.name}: block ${closedHeight} is the first at or after closesAt`);
        if (!block.parameters.txs.some((t) => isCloseOf(t, auctionId))) t.diagnostic(`${n.name}: cleared by the chain's clock without the auction-close in block ${closedHeight}`);
        views.push({
          name: n.name,
          awards: (a.awards ?? []).map((w) => ({ address: w.address, feeder: w.feeder, reqId: w.reqId, energyWh: w.energyWh, priceMcPerKWh: w.priceMcPerKWh })),
          closedHeight,
          closeBlock: (await store.hashAt(closedHeight))!,
          tip: { height: store.head.height, hash: store.head.hash },
        });
        if (n.dir === upDir) upState = store.state;
      } finally {
        await store.close({ snapshot: false });
      }
    }
    process.stdout.write(`# market e2e: ${bidders.length} offers; close in block ${views[0]!.closedHeight}; tips ${views.map((v) => `${v.name} ${v.tip.height}/${v.tip.hash.slice(0, 8)}`).join(', ')}\n`);
    for (const v of views.slice(1)) {
      assert.deepEqual(v.awards, views[0]!.awards, `${v.name}: same awards as the aggregator node`);
      assert.equal(v.closedHeight, views[0]!.closedHeight, `${v.name}: same closing height`);
      assert.equal(v.closeBlock, views[0]!.closeBlock, `${v.name}: same block holds the close`);
    }

    // ── 7. settlement by the rules, and the wallets ──
    const state = upState!;
    const penaltyRate = state.genesis.penaltyMcPerKWh;
    const entry = state.sections.auctions.get(auctionId)!;
    assert.equal(entry.status, 'settled', 'every award settled on the aggregator node');
    assert.equal(entry.deliveryEpoch, deliveryEpoch);
    const view = auctionView(state, auctionId)!;
    assert.equal(view.settlements?.length, entry.awards!.length);
    for (const w of entry.awards!) {
      const h = byAddress.get(w.address);
      assert.ok(h, `award to a known home ${w.address}`);
      const reading = state.sections.readings.get(`${w.address}|${deliveryEpoch}`);
      assert.ok(reading, `${h.meterId}: its reading of the delivery interval is on chain`);
      const delivered = Math.min(w.energyWh, reading.dischargedWh);
      const s = w.settlement!;
      assert.equal(s.deliveredWh, delivered, `${h.meterId}: delivered = min(awarded, measured discharge)`);
      assert.equal(s.paymentMc, paymentMillicents(delivered, w.priceMcPerKWh), `${h.meterId}: payment = floor(delivered × price / 1000)`);
      assert.equal(s.penaltyMc, Math.floor(((w.energyWh - delivered) * penaltyRate) / 1000), `${h.meterId}: penalty = floor(shortfall × rate / 1000)`);
      if (h.underDeliverFactor < 1) {
        assert.ok(s.deliveredWh <= Math.ceil(w.energyWh * h.underDeliverFactor) + 1, `${h.meterId}: delivered ${s.deliveredWh} of ${w.energyWh}`);
        assert.ok(s.penaltyMc > 0, `${h.meterId}: penalty for the shortfall`);
      } else {
        assert.ok(s.deliveredWh >= w.energyWh - 1, `${h.meterId}: delivered ${s.deliveredWh} of ${w.energyWh}`);
      }
      assert.deepEqual(view.settlements!.find((x) => x.address === w.address), { address: w.address, deliveredWh: s.deliveredWh, paymentMc: s.paymentMc, penaltyMc: s.penaltyMc, height: s.height });
    }
    // the analytics API reports the same settlements as the chain state
    assert.deepEqual(
      settledView.settlements.map((x) => [x.address, x.deliveredWh, x.paymentMc, x.penaltyMc]).sort(),
      view.settlements!.map((x) => [x.address, x.deliveredWh, x.paymentMc, x.penaltyMc]).sort(),
      'analytics settlements = chain state',
    );
    for (const w of entry.awards!) {
      const out = spawnProc('wallet', [TMI, 'wallet', w.address, '--data', upDir]);
      assert.equal(await out.exit, 0, `tmi wallet: ${out.err}`);
      const wallet = JSON.parse(out.out) as { millicents: string; height: number };
      assert.equal(wallet.height, state.meta.height);
      assert.equal(BigInt(wallet.millicents), expectedBalance(state, w.address), `${byAddress.get(w.address)!.meterId}: wallet = payments − penalties + rewards`);
      const h = byAddress.get(w.address)!;
      process.stdout.write(`#   ${h.meterId} (${h.programme}, ×${h.underDeliverFactor}): awarded ${w.energyWh} Wh at ${w.priceMcPerKWh} mc/kWh, delivered ${w.settlement!.deliveredWh}, payment ${w.settlement!.paymentMc} mc, penalty ${w.settlement!.penaltyMc} mc, rewards ${state.sections.rewards.get(w.address) ?? '0'} mc, wallet ${wallet.millicents} mc\n`);
    }
    // Proof of Energy handed production to the validator homes: their pseudonyms earned block rewards
    const validatorRewards = homes.filter((h) => h.programme !== 'TE').map((h) => BigInt(state.sections.rewards.get(h.address!) ?? '0'));
    assert.ok(validatorRewards.some((r) => r > 0n), `a validator home produced blocks (rewards ${validatorRewards.join(', ')})`);
  });
});
