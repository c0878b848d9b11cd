/**
 * The P2P market end to end, with real processes on loopback:
 *
 *   `tmi up` (registry, broker, the aggregator's chain node, the aggregator, analytics) as a
 *   child process; four homes enrolled by the operator, each a `hem` process with a simulated
 *   house at midday in summer: two with PV and a charged battery (they sell), two plain
 *   consumers without PV or battery (they buy). Every home seals an order for the next
 *   interval, reveals it in the window; the chain clears the market at the gate, the
 *   aggregator republishes the clearing signed, the homes steer their fills, and the chain
 *   settles them from the readings of the delivery interval.
 *
 * An operator also posts the VPP's own sell order with `tmi market post` (VPP balancing): the
 * aggregator seals, posts and reveals it, and it stands in the same book.
 *
 * [FEEDER-1] The operator sets feeder F1's limits through the registry's API (admin token,
 * generous enough not to bind): the registry signs the record and the aggregator puts it on
 * chain as a `feeder-limit` transaction.
 *
 * Run until the analytics' wallets show a consumer paying and a seller paid; then everything
 * stops and the aggregator node's chain is opened from disk: a market traded between the
 * homes; every fill settled by [MKT-SETTLE] from the reading on chain; every home's wallet is
 * its settlements + fees; Σ wallets − Σ genesis = Σ block rewards (money conserved); F1's
 * limits on chain are the registry's signed record, relayed by the aggregator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyFeederLimit } from '../../csm-registry/feederLimitRecord.js';
import type { SignedFeederLimit } from '../../schemas/types.js';
import { paymentMillicents } from '../../wire/quantities.js';
import { openChainStoreAt } from '../../poe-chain/store/chainDataDir.js';
import { measuredNetWh } from '../../poe-chain/core/marketContract.js';
import type { ChainState } from '../../poe-chain/core/chainState.js';
import { expectedBalance, spawnProc, stopProc, waitFor, type Proc, startHems, enrolHome, withTmiUp } from './procFixtures.js';
import { TMI } from './tmiUpProcess.js';

const INTERVAL_MS = 6000; // gate 2 s before delivery, reveals in the 1.5 s before it (the `tmi up` genesis)
const SLOT_MS = 200;
const PATIENCE = 4;
const SPEED = 900_000 / INTERVAL_MS; // one interval = 15 minutes of home time
/** home time at the genesis instant: late morning in summer, PV rising */
const HOME_START_H = 11;


interface Home {
  meterId: string;
  kind: 'seller' | 'consumer';
  feeder: string;
  dataDir: string;
  config: string;
  proc?: Proc;
  address?: string;
}

async function balanceOf(analytics: string, address: string): Promise<number | null> {
  try {
    const r = await fetch(`${analytics}/api/wallets/${address}`);
    if (!r.ok) return null;
    return ((await r.json()) as { wallet: { balanceMc: number | null } }).wallet.balanceMc;
  } catch {
    return null;
  }
}

test('P2P market: tmi up + 4 HEM processes, sealed orders clear between homes, settle from readings, money conserved', { timeout: 150_000 }, async (t) => {
  const t0 = Date.now();
  // ── 1. the platform ──
  await withTmiUp('p2p e2e', { intervalMs: INTERVAL_MS, slotMs: SLOT_MS, patience: PATIENCE, saveStdout: true }, async ({ root, upDir, up, info, procs, genesis, registry }) => {
    const genesisMs = genesis.genesisTimeMs;

    // ── 2. four homes: two PV + battery sellers, two plain consumers ──
    // [FEEDER-1] a limit set through the registry's API, signed by the registry (the client checks the signature)
    const f1Limit = await registry.setFeeder('F1', { maxExportWh: 1_000_000, maxImportWh: 1_000_000 });
    assert.ok(verifyFeederLimit(f1Limit, info.registryKey));
    const homes: Home[] = ([
      { meterId: 'home-1', kind: 'seller', feeder: 'F1' },
      { meterId: 'home-2', kind: 'seller', feeder: 'F2' },
      { meterId: 'home-3', kind: 'consumer', feeder: 'F1' },
      { meterId: 'home-4', kind: 'consumer', feeder: 'F2' },
    ] as const).map((h) => ({ ...h, dataDir: join(root, 'homes', h.meterId), config: join(root, 'homes', `${h.meterId}.json`) }));
    const startWall = new Date(genesisMs - Math.round((HOME_START_H * 3_600_000) / SPEED)).toISOString();
    for (const [k, h] of homes.entries()) {
      await enrolHome(registry, { ...h, programme: 'TE' }, `P2P-${k + 1}`);
      const seller = h.kind === 'seller';
      await writeFile(h.config, JSON.stringify({
        meterId: h.meterId,
        dataDir: h.dataDir,
        broker: { url: info.urls.mqtt, reconnectMs: 500 },
        registry: { url: info.urls.registry, publicKey: info.registryKey },
        aggregatorAddress: info.aggregatorKey,
        intervalMs: INTERVAL_MS,
        speed: SPEED,
        adapter: {
          type: 'sim', seed: 8100 + k, initialSoc: seller ? 0.85 : 0.5, pvPeakW: seller ? 6600 : 0,
          profile: { startDate: '2026-01-12', days: 1, intervalMinutes: 15 }, startWall,
        },
        // a plain consumer: no battery to steer
        ...(seller ? {} : { battery: { maxChargeW: 0, maxDischargeW: 0 } }),
        log: { level: 'info' },
      }));
    }
    await startHems(homes, procs);
    const byAddress = new Map(homes.map((h) => [h.address!, h]));

    // ── 3a. the VPP's own order, by the operator: sell 300 Wh at 20,000 mc/kWh, 2 intervals from now ──
    const vppEpoch = Math.floor((Date.now() - genesisMs) / INTERVAL_MS) + 2;
    const vppDelivery = `${new Date(genesisMs + vppEpoch * INTERVAL_MS).toISOString()}/${new Date(genesisMs + (vppEpoch + 1) * INTERVAL_MS).toISOString()}`;
    const vppPost = spawnProc('market-post', [TMI, 'market', 'post', '--url', info.urls.aggregator, '--operator-token', info.operatorTokenFile, '--side', 'sell', '--energy-wh', '300', '--price', '20000', '--delivery', vppDelivery]);
    assert.equal(await vppPost.exit, 0, `tmi market post failed: ${vppPost.err}`);
    const vppOrderId = (JSON.parse(vppPost.out) as { orderId: string }).orderId;

    // ── 3. orders, fills, settlement: until a consumer has paid and a seller has been paid ──
    await waitFor('a P2P fill steered by a seller and one recorded by a consumer', 45_000, () => {
      const fills = (kind: Home['kind']) => homes.filter((h) => h.kind === kind).some((h) => h.proc!.lines.some((l) => l.event === 'market-fill'));
      return fills('seller') && fills('consumer');
    }, 250);
    await waitFor('a consumer paid and a seller paid (analytics wallets)', 30_000, async () => {
      const b = await Promise.all(homes.map((h) => balanceOf(info.urls.analytics, h.address!)));
      return homes.some((h, i) => h.kind === 'consumer' && (b[i] ?? 0) < 0) && homes.some((h, i) => h.kind === 'seller' && (b[i] ?? 0) > 0);
    }, 500);
    for (const h of homes) {
      // a seller's fill steers its battery; a consumer has none to steer
      for (const f of h.proc!.lines.filter((l) => l.event === 'market-fill')) assert.equal(f.steered, h.kind === 'seller', `${h.meterId}: fill ${JSON.stringify(f)}`);
      const decided = h.proc!.lines.filter((l) => l.event === 'market-decision');
      const sides = new Set(decided.map((l) => (l.order as { side?: string } | null)?.side ?? 'none'));
      assert.ok(sides.has(h.kind === 'seller' ? 'sell' : 'buy'), `${h.meterId} ordered on its side (${[...sides].join(', ')})`);
      assert.equal(h.proc!.lines.filter((l) => l.event === 'market-reveal-missed').length, 0, `${h.meterId}: every reveal in its window`);
    }

    // ── 4. stop everything; the aggregator node's chain on disk ──
    const hemCodes = await Promise.all(homes.map((h) => stopProc(h.proc!)));
    assert.deepEqual(hemCodes, homes.map(() => 0), 'HEMs stop cleanly on SIGTERM');
    assert.equal(await stopProc(up), 0, `tmi up stops cleanly: ${up.err.slice(-2000)}`);
    const store = await openChainStoreAt(upDir);
    let state: ChainState;
    const feederLimitTxs: { clientId: string; parameters: SignedFeederLimit }[] = [];
    try {
      state = store.state;
      for (let h = 1; h <= state.meta.height; h++) {
        for (const tx of (await store.blockAt(h))!.parameters.txs) if (tx.operation === 'feeder-limit') feederLimitTxs.push(tx as unknown as { clientId: string; parameters: SignedFeederLimit });
      }
    } finally {
      await store.close({ snapshot: false });
    }
    const g = state.genesis;
    // [FEEDER-1] the registry's record on chain, relayed once by the aggregator
    assert.deepEqual(feederLimitTxs.map((x) => [x.clientId, x.parameters]), [[info.aggregatorKey, f1Limit]]);
    assert.deepEqual(state.sections.feederLimits.get('F1'), { maxExportWh: 1_000_000, maxImportWh: 1_000_000, issuedAt: Date.parse(f1Limit.issuedAt) });

    // ── 5. trades between homes, settled from readings by [MKT-SETTLE] ──
    let between = 0;
    let settledFills = 0;
    for (const [, m] of state.sections.markets.entries()) {
      const fills = m.fills ?? [];
      for (const f of fills) assert.ok(byAddress.has(f.address) || f.address === info.aggregatorKey, `market ${m.epoch}: a fill to a known home or the VPP ${f.address}`);
      const sold = fills.filter((f) => f.side === 'sell' && byAddress.get(f.address)?.kind === 'seller');
      const bought = fills.filter((f) => f.side === 'buy' && byAddress.get(f.address)?.kind === 'consumer');
      if (sold.length > 0 && bought.length > 0 && m.status === 'settled') between++;
      const sideWh = (side: 'buy' | 'sell') => fills.filter((f) => f.side === side).reduce((n, f) => n + f.energyWh, 0);
      assert.equal(sideWh('sell'), sideWh('buy'), `market ${m.epoch}: Wh sold = Wh bought`);
      if (m.epoch === vppEpoch) {
        // the VPP's order was revealed by the aggregator: it is filled or out on price, never NOT_REVEALED
        const vppOut = (m.excluded ?? []).find((x) => x.orderId === vppOrderId);
        const vppFill = fills.find((f) => f.orderId === vppOrderId);
        assert.ok(vppFill !== undefined || (vppOut !== undefined && vppOut.reason !== 'NOT_REVEALED'), `the VPP order in interval ${m.epoch}: ${JSON.stringify(vppOut ?? null)}`);
        t.diagnostic(`VPP order ${vppOrderId}: ${vppFill ? `sold ${vppFill.energyWh} Wh at ${vppFill.priceMcPerKWh}` : `out ${vppOut!.reason}`}`);
      }
      for (const f of fills) {
        if (f.address === info.aggregatorKey) continue;
        const s = f.settlement;
        if (s === undefined) continue;
        settledFills++;
        const h = byAddress.get(f.address)!;
        const reading = state.sections.readings.get(`${f.address}|${m.epoch}`);
        assert.ok(reading, `${h.meterId}: its reading of interval ${m.epoch} is on chain`);
        const measured = Math.max(0, measuredNetWh(f.side, reading) - s.priorWh);
        assert.equal(s.deliveredWh, Math.min(f.energyWh, measured), `${h.meterId}: delivered = min(filled, net ${f.side === 'sell' ? 'export' : 'import'} − prior)`);
        assert.equal(s.paymentMc, paymentMillicents(s.deliveredWh, f.priceMcPerKWh), `${h.meterId}: payment = ⌊delivered × price / 1000⌋`);
        assert.equal(s.penaltyMc + s.uncollectedMc, paymentMillicents(f.energyWh - s.deliveredWh, g.imbalancePriceMcPerKWh), `${h.meterId}: imbalance = ⌊shortfall × rate / 1000⌋`);
        const heard = h.proc!.lines.find((l) => l.event === 'market-fill' && (l.delivery as { start: string }).start === new Date(g.genesisTimeMs + m.epoch * g.intervalMs).toISOString());
        if (heard) assert.deepEqual([heard.energyWh, heard.priceMcPerKWh], [f.energyWh, f.priceMcPerKWh], `${h.meterId}: the fill the HEM applied = the chain's`);
        t.diagnostic(`interval ${m.epoch}: ${h.meterId} ${f.side} ${f.energyWh} Wh at ${f.priceMcPerKWh} mc/kWh, delivered ${s.deliveredWh}, payment ${s.paymentMc} mc, imbalance ${s.penaltyMc} mc`);
      }
    }
    assert.ok(between >= 1, 'a settled market traded between seller and consumer homes');
    assert.notEqual(state.sections.markets.get(String(vppEpoch))?.status ?? 'open', 'open', `the market of interval ${vppEpoch}, which holds the VPP order, cleared`);
    assert.ok(settledFills >= 2);
    const delivered = [...state.sections.markets.entries()].flatMap(([, m]) => m.fills ?? []).filter((f) => f.settlement && f.settlement.deliveredWh === f.energyWh);
    assert.ok(delivered.some((f) => f.side === 'sell') && delivered.some((f) => f.side === 'buy'), 'the homes delivered and took their fills in full');

    // ── 6. wallets: each home's = its settlements and fees; money conserved ──
    for (const h of homes) {
      assert.equal(BigInt(state.sections.wallets.get(h.address!) ?? '0'), expectedBalance(state, h.address!), `${h.meterId}: wallet = P2P (and auction) settlements − fees`);
    }
    let total = 0n;
    for (const [, mc] of state.sections.wallets.entries()) total += BigInt(mc);
    const genesisTotal = g.config.balances.reduce((n, b) => n + BigInt(b.millicents), 0n);
    let rewards = 0n;
    for (const [, mc] of state.sections.rewards.entries()) rewards += BigInt(mc);
    assert.equal(total - genesisTotal, rewards, `Σ wallet changes ${total - genesisTotal} mc = block rewards ${rewards} mc`);
    t.diagnostic(`p2p e2e: ${between} market(s) traded between homes, ${settledFills} fills settled, height ${state.meta.height}, ${Math.round((Date.now() - t0) / 1000)} s`);
  });
});
