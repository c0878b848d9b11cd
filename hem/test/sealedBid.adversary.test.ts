/**
 * [SEALED] Sealed bids nobody can read before the close, the aggregator included; the HEM
 * reveals by itself, with the salt it keeps across a restart.
 *
 * Real parts on loopback: an aedes broker, the real aggregator (createAggregator) that
 * opens a sealed auction, a real HEM (runHem, sim house) that bids, is restarted between
 * its bid and the close, and reveals after the close. A watcher subscribed to the bids
 * topic records everything anyone (the aggregator too) can receive there.
 *
 * Checked: before closesAt the bids topic carries only a commitment; the aggregator's
 * records hold the auction parameters and nothing else (no key, no salt, no bid); a
 * search of the bids around the true one with any salt but the HEM's opens nothing, the
 * HEM's salt opens exactly the true bid; after closesAt the restarted HEM publishes a
 * bid-reveal that opens the commitment and equals its decision.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { generateKeyPair, type KeyPair } from '../../wire/keys.js';
import { createCodec } from '../../wire/codec.js';
import type { AnyEnvelope, BidOffer, BidReveal, OpenBid } from '../../schemas/types.js';
import { parseHemConfig } from '../hemConfig.js';
import { runHem, type HemHandle } from '../runHem.js';
import { createAggregator } from '../../aggregator/aggregator.js';
import { revealOpens } from '../../poe-chain/core/auction/sealedBid.js';
import { captureLog, connectClient, constantProfile, endClient, fakeIssuer, sleep, startPlainBroker, tempDir, waitFor, type LogCapture } from './hemFixtures.js';

const INTERVAL_MS = 400;
const SPEED = 2250;

async function startHem(url: string, aggregator: KeyPair, dir: string, cap: LogCapture): Promise<HemHandle> {
  const cfg = parseHemConfig({
    meterId: 'meter-s1', dataDir: dir, broker: { url, reconnectMs: 100 }, registry: { url: 'http://127.0.0.1:9' },
    genesisHash: 'ab'.repeat(32), aggregatorAddress: aggregator.address, intervalMs: INTERVAL_MS, speed: SPEED, adapter: { type: 'sim', initialSoc: 0.8 },
  });
  return runHem(cfg, { log: cap.log, issuer: fakeIssuer(), profile: constantProfile(0, 500) });
}

function record(c: MqttClient, filter: string): { at: number; env: AnyEnvelope }[] {
  const codec = createCodec({ replayCheck: false });
  const got: { at: number; env: AnyEnvelope }[] = [];
  c.subscribe(filter, { qos: 1 });
  c.on('message', (_topic, payload) => {
    try {
      got.push({ at: Date.now(), env: codec.decode(payload) });
    } catch {
      /* not an envelope */
    }
  });
  return got;
}

test('[SEALED] before the close nobody, the aggregator included, can read a sealed bid; the HEM reveals after it, across a restart', async () => {
  const b = await startPlainBroker();
  const aggKey = generateKeyPair();
  const watcher = await connectClient(b.url);
  const aggMqtt = await connectClient(b.url, 'aggregator');
  const seen = record(watcher, 'tmi/v1/auctions/+/bids');
  const dir = await tempDir();
  const cap = captureLog();
  let hem = await startHem(b.url, aggKey, dir, cap);
  const agg = await createAggregator({
    key: aggKey, genesisHash: 'ab'.repeat(32), mqtt: aggMqtt, chain: { auction: async () => undefined, finalizedHeight: async () => 0 },
    config: { originMs: 0, intervalMs: INTERVAL_MS, slotsPerDay: 96, deviation: { thresholdWh: 1e9 }, prices: () => ({ buyMcPerKWh: 100_000, sellMcPerKWh: 1 }), priorNetLoadWh: new Array(96).fill(0), autoAuctions: false, resultTimeoutMs: 100 },
  });
  try {
    await waitFor(() => hem.pseudonyms.current() && hem.ems.session?.connected, 3000, 'certificate and session');
    await sleep(150);
    const closesAtMs = Date.now() + 2500;
    const deliveryStart = (Math.floor(closesAtMs / INTERVAL_MS) + 2) * INTERVAL_MS;
    const rec = await agg.openAuction({ side: 'buy', energyWh: 600, limitPriceMcPerKWh: 100_000, delivery: { startMs: deliveryStart, endMs: deliveryStart + INTERVAL_MS }, closesAtMs, sealed: true });
    const bidEnv = await waitFor(() => seen.find((x) => x.env.operation === 'bid-offer')?.env, 2000, 'sealed bid');
    const bid = bidEnv.parameters as BidOffer;
    // 1. on the wire before the close: a commitment only
    assert.deepEqual(Object.keys(bid.sealed ?? {}), ['commitment']);
    assert.equal(bid.bid, undefined);
    // 2. what the aggregator holds: the auction's parameters, no key, no salt, no bid
    const held = JSON.parse(JSON.stringify(agg.auctions().find((x) => x.auctionId === rec.auctionId)));
    assert.deepEqual(Object.keys(held).sort(), ['auctionId', 'imbalancePriceMcPerKWh', 'open', 'origin', 'status']);
    assert.equal(held.open.auctionPublicKey, undefined);
    // the HEM's decision (its log) is the true bid; its salt is in its store only
    const decision = cap.events('decision').find((e) => e.auctionId === rec.auctionId)!;
    const d = decision.bid as { type: 'sell'; energyWh: number; priceMcPerKWh: number };
    const truth: OpenBid = { type: d.type, energy: { unit: 'Wh', value: d.energyWh }, price: { unit: 'millicents/kWh', value: d.priceMcPerKWh } };
    const stored = (await hem.store.get<{ seal?: { salt: string; revealed?: boolean } }>(`b:${rec.auctionId}`))!;
    assert.match(stored.seal!.salt, /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(held).includes(stored.seal!.salt), 'the aggregator holds no salt');
    // 3. a search of the bids around the true one: nothing opens without the HEM's salt
    let withoutSalt = 0;
    let withSalt = 0;
    for (let wh = Math.max(0, d.energyWh - 40); wh <= d.energyWh + 40; wh++) {
      for (let mc = Math.max(0, d.priceMcPerKWh - 400); mc <= d.priceMcPerKWh + 400; mc += 50) {
        const guess: OpenBid = { type: 'sell', energy: { unit: 'Wh', value: wh }, price: { unit: 'millicents/kWh', value: mc } };
        const r = { auctionId: rec.auctionId, address: bid.address, bid: guess };
        if (revealOpens(bid.sealed!, { ...r, salt: '00'.repeat(32) }) || revealOpens(bid.sealed!, { ...r, salt: aggKey.address })) withoutSalt++;
        if (revealOpens(bid.sealed!, { ...r, salt: stored.seal!.salt })) withSalt++;
      }
    }
    assert.equal(withoutSalt, 0);
    assert.equal(withSalt, 1, 'the HEM\'s salt opens the true bid, and only it');
    assert.equal(seen.filter((x) => x.env.operation === 'bid-reveal').length, 0, 'no reveal before the close');
    // 4. the HEM restarts between its bid and the close: the salt survives in its store
    await hem.stop();
    hem = await startHem(b.url, aggKey, dir, cap);
    const reveal = await waitFor(() => seen.find((x) => x.env.operation === 'bid-reveal'), Math.max(0, closesAtMs - Date.now()) + 3000, 'reveal after the close');
    assert.ok(Date.parse(reveal.env.date) >= closesAtMs, `revealed at ${reveal.env.date}, closesAt ${new Date(closesAtMs).toISOString()}`);
    const r = reveal.env.parameters as BidReveal;
    assert.equal(reveal.env.clientId, bid.address);
    assert.ok(revealOpens(bid.sealed!, r), 'the reveal opens the commitment');
    assert.deepEqual(r.bid, truth);
    await sleep(300);
    assert.equal(seen.filter((x) => x.env.operation === 'bid-reveal').length, 1, 'revealed once');
    assert.equal((await hem.store.get<{ seal?: { revealed?: boolean } }>(`b:${rec.auctionId}`))!.seal!.revealed, true);
  } finally {
    await agg.stop();
    await hem.stop();
    await endClient(watcher);
    await endClient(aggMqtt);
    await b.close();
  }
});
