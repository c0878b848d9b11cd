/**
 * [HA-ENERGY] [HA-EARN] Home Assistant energy-dashboard figures: energy counters from the
 * readings (total_increasing, kept across a restart) and settled earnings from the chain
 * (counted once per auction, kept after the chain forgets the auction; null without a
 * chain node).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addReading, NO_ENERGY } from '../energyTotals.js';
import { discoveryMessages, statusPayload } from '../adapters/haDiscovery.js';
import { openSettledEarnings, settledEarningsOf } from '../settledEarnings.js';
import { HemStore } from '../hemStore.js';
import type { BidRecord } from '../ems.js';
import type { ChainReader } from '../homePage/homePageData.js';
import type { ChainAuction } from '../../aggregator/aggregator.js';
import { parseHemConfig } from '../hemConfig.js';
import { runHem } from '../runHem.js';
import { generateKeyPair } from '../../wire/keys.js';
import { captureLog, constantProfile, fakeIssuer, memoryDb, startPlainBroker, tempDir, waitFor } from './hemFixtures.js';

test('[HA-ENERGY] energy totals: sums of the readings, grid exchange split into import and export', () => {
  let t = addReading(NO_ENERGY, { producedWh: 100, consumedWh: 300, chargedWh: 0, dischargedWh: 50 }); // import 150
  t = addReading(t, { producedWh: 900, consumedWh: 200, chargedWh: 400, dischargedWh: 0 }); // export 300
  assert.deepEqual(t, { producedWh: 1000, consumedWh: 500, chargedWh: 400, dischargedWh: 50, gridImportWh: 150, gridExportWh: 300 });
});

test('[HA-ENERGY] discovery: energy sensors are total_increasing Wh; settled earnings is a total that may fall', () => {
  const msgs = discoveryMessages('homeassistant', 'tmi_hem_m1', 'tmi-hem/m1/status', 'm1').map((m) => ({ topic: m.topic, c: JSON.parse(m.payload) as Record<string, unknown> }));
  const energy = msgs.filter((m) => m.c.device_class === 'energy' && m.c.state_class === 'total_increasing');
  assert.deepEqual(energy.map((m) => m.topic.split('/')[2]).sort(), [
    'tmi_hem_m1_battery_charged', 'tmi_hem_m1_battery_discharged', 'tmi_hem_m1_energy_consumed', 'tmi_hem_m1_energy_produced', 'tmi_hem_m1_grid_export', 'tmi_hem_m1_grid_import',
  ]);
  for (const m of energy) assert.equal(m.c.unit_of_measurement, 'Wh');
  const earn = msgs.find((m) => m.topic.endsWith('_settled_earnings/config'))!;
  assert.equal(earn.c.state_class, 'total');
  const status = JSON.parse(statusPayload({
    soc: 0.5, lastBidWh: 0, lastBidType: 'none', awardWh: 0, earningsMillicents: 0, queued: 0, connected: true,
    energyWh: { ...NO_ENERGY, producedWh: 1200 }, settledEarningsMillicents: -2500,
  })) as { energyWh: { producedWh: number }; settledEarningsCents: number | null };
  assert.equal(status.energyWh.producedWh, 1200);
  assert.equal(status.settledEarningsCents, -2.5);
  const unknown = JSON.parse(statusPayload({ soc: 0.5, lastBidWh: 0, lastBidType: 'none', awardWh: 0, earningsMillicents: 0, queued: 0, connected: true, settledEarningsMillicents: null })) as Record<string, unknown>;
  assert.equal(unknown.settledEarningsCents, null, 'no chain node: null (unknown), not 0');
  // [HEM-FIN] final and unconfirmed money are separate entities, each read from its own field
  const byKey = (k: string) => msgs.find((m) => m.topic.endsWith(`_${k}/config`))!.c;
  assert.match(String(byKey('settled_earnings').name), /final/);
  assert.deepEqual(
    ['unconfirmed_earnings', 'wallet_final', 'wallet_unconfirmed'].map((k) => [byKey(k).value_template, byKey(k).unit_of_measurement]),
    [['{{ value_json.settledEarningsUnconfirmedCents }}', 'cents'], ['{{ value_json.walletFinalCents }}', 'cents'], ['{{ value_json.walletUnconfirmedChangeCents }}', 'cents']],
  );
  const wallet = JSON.parse(statusPayload({
    soc: 0.5, lastBidWh: 0, lastBidType: 'none', awardWh: 0, earningsMillicents: 0, queued: 0, connected: true,
    settledEarningsMillicents: 1000, settledEarningsUnconfirmedMillicents: 250, walletFinalMillicents: '123456', walletUnconfirmedChangeMillicents: '-2500',
  })) as Record<string, unknown>;
  assert.deepEqual([wallet.settledEarningsCents, wallet.settledEarningsUnconfirmedCents, wallet.walletFinalCents, wallet.walletUnconfirmedChangeCents], [1, 0.25, 123.456, -2.5]);
  const notRead = JSON.parse(statusPayload({ soc: 0.5, lastBidWh: 0, lastBidType: 'none', awardWh: 0, earningsMillicents: 0, queued: 0, connected: true, walletFinalMillicents: null, walletUnconfirmedChangeMillicents: null })) as Record<string, unknown>;
  assert.deepEqual([notRead.walletFinalCents, notRead.walletUnconfirmedChangeCents], [null, null], 'not known: null, never 0');
});

test('[HA-EARN] settled earnings: received − paid − penalties, each auction once, kept after the chain forgets it', async () => {
  assert.equal(settledEarningsOf('sell', { paymentMc: 6000, penaltyMc: 400 }), 5600);
  assert.equal(settledEarningsOf('buy', { paymentMc: 6000, penaltyMc: 0 }), -6000);
  const A = 'a'.repeat(64);
  const delivery = { start: '2026-01-01T10:00:00.000Z', end: '2026-01-01T10:15:00.000Z' };
  const award = { energyWh: 800, priceMcPerKWh: 10_000, powerW: 0, deliverWh: 800 };
  const recs: BidRecord[] = [
    { auctionId: 'a1', decidedAtMs: 1, delivery, reason: null, bid: { type: 'sell', energyWh: 800, priceMcPerKWh: 10_000, address: A, reqId: 'r1' }, award },
    { auctionId: 'a2', decidedAtMs: 2, delivery, reason: null, bid: { type: 'buy', energyWh: 800, priceMcPerKWh: 10_000, address: A, reqId: 'r2' }, award },
    { auctionId: 'a3', decidedAtMs: 3, delivery, reason: null, bid: { type: 'sell', energyWh: 800, priceMcPerKWh: 10_000, address: A, reqId: 'r3' } }, // no award
  ];
  const onChain = new Map<string, ChainAuction>([
    ['a1', { status: 'settled', settlements: [{ address: A, deliveredWh: 600, paymentMc: 6000, penaltyMc: 400, height: 10 }] }],
    ['a2', { status: 'cleared' }], // not settled yet
  ]);
  let finalizedHeight = 9;
  const chain: ChainReader = {
    state: () => { throw new Error('not used'); }, wallet: () => { throw new Error('not used'); }, finalState: () => { throw new Error('not used'); },
    auction: (id) => onChain.get(id), head: () => ({ finalizedHeight }),
  };
  const db = memoryDb();
  const store = await HemStore.open(db);
  const cap = captureLog();
  const s = await openSettledEarnings(store, { log: cap.log });
  assert.equal(s.value(), null, 'no chain node yet: not known');
  assert.equal(s.unconfirmed(), null);
  await s.update(recs, undefined);
  assert.equal(s.value(), null);
  // [HEM-FIN] settled in block 10, final height 9: unconfirmed, not in the settled total
  await s.update(recs, chain);
  assert.equal(s.value(), 0);
  assert.equal(s.unconfirmed(), 5600);
  const before = JSON.parse(statusPayload({ soc: 0.5, lastBidWh: 0, lastBidType: 'none', awardWh: 0, earningsMillicents: 0, queued: 0, connected: true, settledEarningsMillicents: s.value(), settledEarningsUnconfirmedMillicents: s.unconfirmed() })) as Record<string, unknown>;
  assert.deepEqual([before.settledEarningsCents, before.settledEarningsUnconfirmedCents], [0, 5.6]);
  await s.update(recs, chain);
  assert.deepEqual(cap.events('settlement-unconfirmed').map((l) => [l.auctionId, l.height, l.finalizedHeight, l.earnedMc]), [['a1', 10, 9, 5600]], 'logged once');
  // block 10 final: counted, nothing unconfirmed
  finalizedHeight = 10;
  await s.update(recs, chain);
  assert.equal(s.value(), 5600);
  assert.equal(s.unconfirmed(), 0);
  assert.deepEqual(cap.events('settlement-final').map((l) => [l.auctionId, l.height, l.earnedMc]), [['a1', 10, 5600]]);
  await s.update(recs, chain);
  assert.equal(s.value(), 5600, 'counted once');
  onChain.set('a2', { status: 'settled', settlements: [{ address: A, deliveredWh: 800, paymentMc: 8000, penaltyMc: 0, height: 12 }] });
  onChain.delete('a1'); // the chain forgot a1 (retention)
  finalizedHeight = 12;
  await s.update(recs, chain);
  assert.equal(s.value(), 5600 - 8000);
  const again = await openSettledEarnings(store);
  await again.update(recs, chain);
  assert.equal(again.value(), -2400, 'kept in the store, nothing counted twice after a reopen');
  await store.close();
});

test('[HA-ENERGY] a HEM reports its energy totals = the sum of its readings, and keeps them across a restart', async () => {
  const broker = await startPlainBroker();
  const dir = await tempDir();
  const aggregator = generateKeyPair();
  const cfg = parseHemConfig({
    meterId: 'meter-ha', dataDir: dir, broker: { url: broker.url, reconnectMs: 100 }, registry: { url: 'http://127.0.0.1:9' },
    genesisHash: 'ab'.repeat(32), aggregatorAddress: aggregator.address, intervalMs: 400, speed: 2250, adapter: { type: 'sim', initialSoc: 0.8 },
  });
  const issuer = fakeIssuer();
  const sum = (lines: Record<string, unknown>[]) => lines.reduce((t, l) => t + (l.consumedWh as number), 0);
  try {
    const cap1 = captureLog();
    const h1 = await runHem(cfg, { log: cap1.log, issuer, profile: constantProfile(0, 500) });
    await waitFor(() => cap1.events('reading').length >= 2, 5000, 'two readings');
    await h1.stop();
    const first = sum(cap1.events('reading'));
    const cap2 = captureLog();
    const h2 = await runHem(cfg, { log: cap2.log, issuer, profile: constantProfile(0, 500) });
    try {
      assert.equal(h2.ems.status().energyWh?.consumedWh, first, 'restored from the store');
      await waitFor(() => cap2.events('reading').length >= 1, 5000, 'a reading after the restart');
      await h2.ems.meterDue();
      const all = first + sum(cap2.events('reading'));
      assert.equal(h2.ems.status().energyWh?.consumedWh, all, 'consumed Wh total = the sum of every reading line');
      assert.equal(h2.ems.status().settledEarningsMillicents, null, 'no chain node: settled earnings not known');
    } finally {
      await h2.stop();
    }
  } finally {
    await broker.close();
  }
});
