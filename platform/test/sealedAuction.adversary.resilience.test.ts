/**
 * [SEALED] Attacks with real processes on a sealed auction: `tmi up` (registry, broker, the
 * aggregator's chain node, aggregator, analytics) and three `hem` processes on loopback; an
 * operator posts a sealed auction with `tmi aggregator post --sealed`.
 *
 *   - what the aggregator holds before the close: `GET /admin/auctions` and the messages on
 *     the bids topic (a subscriber there sees what the aggregator could) carry commitments
 *     only, and no key or salt;
 *   - a withheld reveal: one home is killed with -9 after its bid and before the close, so
 *     it never reveals; the others reveal by themselves; the chain clears the auction at
 *     closesAt + revealWindowMs with no auction-close: the withheld bid is excluded
 *     NOT_REVEALED with the fee, the others are cleared as without it;
 *   - a misbehaving close: whoever holds the aggregator's key (`tmi up` keeps it in
 *     <data>/keys/aggregator.json) logs in as the aggregator and publishes an `auction-close`
 *     of the sealed auction on the auction's topic, where the aggregator publishes its auction
 *     transactions, 2 s before closesAt and 2 s after: neither reaches the chain (a node's
 *     admission refuses both SEALED_CLOSED_BY_CHAIN), and the chain still clears the auction
 *     at the first block at or after closesAt + revealWindowMs.
 * Checked from the chain database on disk after a clean stop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { openChainStoreAt } from '../../poe-chain/store/chainDataDir.js';
import { createGenesisState, type ChainState } from '../../poe-chain/core/chainState.js';
import { validateAndApplyBlock } from '../../poe-chain/core/validateAndApplyBlock.js';
import { Mempool } from '../../poe-chain/node/mempool.js';
import { encode, signEnvelope } from '../../wire/codec.js';
import { readKeyFile } from '../../wire/keyFile.js';
import type { Envelope } from '../../schemas/types.js';
import { loginOptions } from '../mqttLogin.js';
import { platformPaths } from '../dataDir.js';
import { TOPICS as AGGREGATOR_TOPICS } from '../../aggregator/aggregator.js';
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



test('[SEALED] sealed auction with real processes: commitments only before the close, reveals by the HEMs, a killed HEM affects only its own bid, closes signed with the aggregator\'s key never reach the chain', { timeout: 150_000 }, async (t) => {
  await withTmiUp('sealed', { intervalMs: INTERVAL_MS, slotMs: SLOT_MS, patience: PATIENCE }, async ({ root, upDir, up, info, procs, genesis, registry }) => {
    const genesisMs = genesis.genesisTimeMs;
    const genesisHash = genesis.hash; // [DOMAIN-TX] the close names this chain, so only the sealed rule can refuse it

    const homes: Home[] = ([
      { meterId: 'home-1', programme: 'TE', feeder: 'F1', underDeliverFactor: 1 },
      { meterId: 'home-2', programme: 'TE', feeder: 'F2', underDeliverFactor: 1 },
      { meterId: 'home-3', programme: 'TE', feeder: 'F1', underDeliverFactor: 1 },
    ] as const).map((h) => ({ ...h, dataDir: join(root, 'homes', h.meterId), config: join(root, 'homes', `${h.meterId}.json`) }));
    const startWall = new Date(genesisMs - Math.round((HOME_START_H * 3_600_000) / SPEED)).toISOString();
    for (const [k, h] of homes.entries()) {
      await enrolHome(registry, h, `SB-${k + 1}`);
      await writeFile(h.config, JSON.stringify({
        meterId: h.meterId, dataDir: h.dataDir,
        broker: { url: info.urls.mqtt, reconnectMs: 500 },
        registry: { url: info.urls.registry, publicKey: info.registryKey },
        aggregatorAddress: info.aggregatorKey,
        intervalMs: INTERVAL_MS, speed: SPEED, underDeliverFactor: h.underDeliverFactor,
        adapter: { type: 'sim', seed: 8200 + k, initialSoc: 0.9, pvPeakW: 4000, profile: { startDate: '2026-06-21', days: 1, intervalMinutes: 15 }, startWall },
        log: { level: 'info' },
      }));
    }
    await startHems(homes, procs);
    await waitFor('two readings from every home', 40_000, () => homes.every((h) => h.proc!.lines.filter((l) => l.event === 'reading').length >= 2), 250);

    const now = Date.now();
    const deliveryStart = genesisMs + (Math.floor((now - genesisMs) / INTERVAL_MS) + 4) * INTERVAL_MS;
    const closesAtMs = now + 6000;
    const post = spawnProc('post', [
      TMI, 'aggregator', 'post', '--url', info.urls.aggregator, '--operator-token', info.operatorTokenFile, '--side', 'buy', '--sealed',
      '--energy-kwh', String(ENERGY_KWH), '--price', String(LIMIT_CENTS), '--delivery', `${new Date(deliveryStart).toISOString()}/${new Date(deliveryStart + INTERVAL_MS).toISOString()}`,
      '--closes-at', new Date(closesAtMs).toISOString(),
    ]);
    assert.equal(await post.exit, 0, `tmi aggregator post failed: ${post.err}`);
    const auctionId = (JSON.parse(post.out) as { auctionId: string }).auctionId;
    const decided = await waitFor('a sealed bid from every home', 15_000, () => {
      const d = homes.map((h) => h.proc!.lines.find((l) => l.event === 'decision' && l.auctionId === auctionId));
      return d.every((x) => x) ? (d as Record<string, unknown>[]) : undefined;
    });
    assert.ok(decided.every((d) => d.bid !== null), `every home offers: ${JSON.stringify(decided.map((d) => d.reason))}`);
    // what the aggregator holds before the close
    const held = await (await fetch(`${info.urls.aggregator}/admin/auctions`, { headers: { authorization: `Bearer ${(await readFile(info.operatorTokenFile, "utf8")).trim()}` } })).json() as { items: Record<string, unknown>[] };
    const mine = held.items.find((x) => x.auctionId === auctionId)!;
    assert.deepEqual(Object.keys(mine).sort(), ['auctionId', 'imbalancePriceMcPerKWh', 'open', 'origin', 'status']);
    assert.equal((mine.open as Record<string, unknown>).auctionPublicKey, undefined);
    t.diagnostic(`the aggregator holds for ${auctionId}: ${Object.keys(mine).sort().join(', ')}; open = ${Object.keys(mine.open as object).sort().join(', ')}`);
    // the withholder: killed with -9 after its bid went out (outbox sent) and before the close
    const withholder = homes[1]!;
    await new Promise((r) => setTimeout(r, 1000)); // its bid is on the wire within 1 s of the open (the others' are)
    assert.ok(Date.now() < closesAtMs - 1000, 'still before the close');
    withholder.proc!.child.kill('SIGKILL');
    await withholder.proc!.exit;
    // a misbehaving close, signed with the aggregator's key and published as the aggregator
    // publishes its auction transactions: early (before closesAt) and late (in the reveal window)
    const aggregatorKey = await readKeyFile(platformPaths(upDir).aggregatorKey);
    const closes: { env: Envelope<'auction-close'>; at: number }[] = [];
    const publishClose = async (at: number) => {
      await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
      const client = await mqtt.connectAsync(info.urls.mqtt, loginOptions({ url: info.urls.mqtt, meterId: 'aggregator', key: aggregatorKey, extra: { reconnectPeriod: 0 } }));
      try {
        const env = signEnvelope(aggregatorKey, 'auction-close', { auctionId }, { chain: genesisHash });
        await client.publishAsync(AGGREGATOR_TOPICS.auction(auctionId), encode(env), { qos: 1 });
        closes.push({ env, at: Date.now() });
      } finally {
        await client.endAsync();
      }
    };
    await publishClose(closesAtMs - 2000);
    await publishClose(closesAtMs + 2000);
    // after closesAt + the reveal window, plus a few blocks
    await new Promise((r) => setTimeout(r, Math.max(0, closesAtMs + genesis.revealWindowMs + 3000 - Date.now())));
    const revealed = homes.filter((h) => h.proc!.lines.some((l) => l.event === 'reveal' && l.auctionId === auctionId));
    assert.deepEqual(revealed.map((h) => h.meterId), ['home-1', 'home-3'], 'the live HEMs revealed by themselves');
    for (const h of homes) if (h !== withholder) assert.equal(await stopProc(h.proc!), 0);
    assert.equal(await stopProc(up), 0, `tmi up stops cleanly: ${up.err.slice(-2000)}`);

    const store = await openChainStoreAt(upDir);
    let state: ChainState;
    try {
      state = store.state;
      const a = state.sections.auctions.get(auctionId)!;
      assert.ok(a.sealed);
      assert.ok(a.status === 'closed' || a.status === 'settled', `cleared (${a.status})`);
      const blk = await store.blockAt(a.closedHeight!);
      const prev = await store.blockAt(a.closedHeight! - 1);
      const end = closesAtMs + genesis.revealWindowMs;
      assert.ok(Date.parse(blk!.date) >= end && Date.parse(prev!.date) < end, 'cleared by the first block at or after closesAt + revealWindowMs');
      assert.ok(!blk!.parameters.txs.some((x) => (x as { operation: string }).operation === 'auction-close'), 'no auction-close');
      // the misbehaving closes: on no block, and refused by a node's admission on the state of
      // the chain when each was published
      assert.equal(closes.length, 2, 'both closes published (PUBACK)');
      let st = createGenesisState(store.genesis);
      const refused: string[] = [];
      let closesOnChain = 0;
      const admitClosesBefore = (t: number) => {
        while (refused.length < closes.length && closes[refused.length]!.at < t) {
          const c = closes[refused.length]!;
          refused.push(new Mempool(st, { now: () => c.at }).admit(c.env).code ?? 'ADMITTED');
        }
      };
      for (let hgt = 1; hgt <= store.head.height; hgt++) {
        const b = (await store.blockAt(hgt))!;
        admitClosesBefore(Date.parse(b.date));
        closesOnChain += (b.parameters.txs as { operation: string }[]).filter((x) => x.operation === 'auction-close').length;
        st = validateAndApplyBlock(st, b, { now: Number.MAX_SAFE_INTEGER }).state;
      }
      admitClosesBefore(Infinity);
      assert.equal(closesOnChain, 0, 'no auction-close on chain');
      assert.deepEqual(refused, ['SEALED_CLOSED_BY_CHAIN', 'SEALED_CLOSED_BY_CHAIN']);
      t.diagnostic(`misbehaving closes signed with the aggregator's key at closesAt ${closes.map((c) => `${c.at - closesAtMs >= 0 ? '+' : ''}${c.at - closesAtMs} ms`).join(' and ')}: ${refused.join(', ')}, none on chain`);
      const ex = a.excluded!.find((e) => e.address === withholder.address);
      assert.deepEqual([ex?.reason, ex?.penaltyMc], ['NOT_REVEALED', 10_000]);
      // the others: cleared at their revealed bids (the auction wants more than all offer: every revealed offer in full)
      for (const [i, h] of homes.entries()) {
        if (h === withholder) continue;
        const d = decided[i]!.bid as { energyWh: number; priceMcPerKWh: number };
        const w = a.awards!.find((x) => x.address === h.address);
        assert.deepEqual([w?.energyWh, w?.priceMcPerKWh], [d.energyWh, d.priceMcPerKWh], `${h.meterId}: awarded its revealed bid`);
      }
      // every sealed bid on chain was a commitment, every reveal opens one
      let commitments = 0;
      let reveals = 0;
      for (let hgt = 1; hgt <= store.head.height; hgt++) {
        for (const x of (await store.blockAt(hgt))!.parameters.txs as { operation: string; parameters: Record<string, unknown> }[]) {
          if (x.operation === 'bid-offer' && x.parameters.auctionId === auctionId) {
            assert.equal(x.parameters.bid, undefined);
            commitments++;
          }
          if (x.operation === 'bid-reveal' && x.parameters.auctionId === auctionId) reveals++;
        }
      }
      assert.deepEqual([commitments, reveals], [3, 2]);
      t.diagnostic(`sealed auction: 3 commitments, 2 reveals; cleared in block ${a.closedHeight} (block time ${Date.parse(blk!.date) - end} ms after closesAt + revealWindowMs); awards ${a.awards!.map((w) => `${w.energyWh} Wh @ ${w.priceMcPerKWh}`).join(', ')}; withheld: NOT_REVEALED, fee 10000 mc`);
    } finally {
      await store.close({ snapshot: false });
    }
  });
});
