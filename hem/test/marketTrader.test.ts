/**
 * [P2P] The HEM in the peer-to-peer market against a plain in-process aedes broker: real
 * HEMs (runHem, sim houses) post sealed orders, reveal them in the window, apply a fill from
 * a market-result signed by the pinned aggregator key (and ignore one signed by another key),
 * and reveal after a restart between the order and the order close. A watcher records what
 * anyone can read on tmi/v1/market/orders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { generateKeyPair, type KeyPair } from '../../wire/keys.js';
import { createCodec, signAndEncode } from '../../wire/codec.js';
import type { AnyEnvelope, AuctionOpen, MarketOrder, MarketResult, MarketReveal, MeterReading } from '../../schemas/types.js';
import { orderCommitment } from '../../poe-chain/core/market/orderCommitment.js';
import { decideMarketOrder, DEFAULT_MARKET_ORDER_PARAMS } from '../../tcr/decideMarketOrder.js';
import { createTcrParams } from '../../tcr/tcrParams.js';
import { parseHemConfig } from '../hemConfig.js';
import { runHem, type HemHandle } from '../runHem.js';
import { gateMs, intervalToDecide, marketTiming, orderCloseMs } from '../marketTrader.js';
import type { EnergyProfile } from '../adapters/simHome.js';
import { captureLog, connectClient, constantProfile, endClient, fakeIssuer, sleep, startPlainBroker, tempDir, waitFor, type LogCapture } from './hemFixtures.js';

const INTERVAL_MS = 4000;
const SPEED = 225; // 4 s wall = 15 min home
// chain timing of this test: gate 500 ms before delivery, reveals in the 2.5 s before the gate
const MARKET = { gateClosureMs: 500, revealWindowMs: 2500, leadMs: 400, revealMarginMs: 100 };

interface Home {
  hem: HemHandle;
  cap: LogCapture;
  dir: string;
}

async function startHem(url: string, aggregator: KeyPair, o: { meterId: string; dir?: string; cap?: LogCapture; profile: EnergyProfile; battery?: Record<string, number>; initialSoc?: number }): Promise<Home> {
  const dir = o.dir ?? (await tempDir());
  const cap = o.cap ?? captureLog();
  const cfg = parseHemConfig({
    meterId: o.meterId, dataDir: dir, broker: { url, reconnectMs: 100 }, registry: { url: 'http://127.0.0.1:9' },
    genesisHash: 'ab'.repeat(32), aggregatorAddress: aggregator.address, intervalMs: INTERVAL_MS, speed: SPEED, adapter: { type: 'sim', initialSoc: o.initialSoc ?? 0.5 },
    ...(o.battery ? { battery: o.battery } : {}), market: MARKET,
  });
  const hem = await runHem(cfg, { log: cap.log, issuer: fakeIssuer({ programme: 'TE' }), profile: o.profile });
  return { hem, cap, dir };
}

function record(c: MqttClient, filter: string): { at: number; env: AnyEnvelope }[] {
  const codec = createCodec({ replayCheck: false });
  const got: { at: number; env: AnyEnvelope }[] = [];
  c.subscribe(filter, { qos: 1 });
  const prefix = filter.replace(/[+#].*$/, '');
  c.on('message', (topic, payload) => {
    if (!topic.startsWith(prefix)) return;
    try {
      got.push({ at: Date.now(), env: codec.decode(payload) });
    } catch {
      /* not an envelope */
    }
  });
  return got;
}

const timing = marketTiming(MARKET, INTERVAL_MS);

test('[P2P-WHEN] market timing: a `tmi up` genesis by default, the genesis when given; one interval decided per tick', () => {
  const I = 900_000;
  const t = marketTiming({ leadMs: 60_000 }, I);
  assert.deepEqual(t, { intervalMs: I, gateClosureMs: 300_000, revealWindowMs: 60_000, leadMs: 60_000, revealMarginMs: 5000 });
  // a tick at the start of interval k (or a little after) decides interval k + 1, whose orders close 9 minutes later
  const k = 1_000 * I;
  assert.equal(intervalToDecide(t, k), k + I);
  assert.equal(intervalToDecide(t, k + 30_000), k + I);
  assert.equal(orderCloseMs(t, k + I) - k, 540_000);
  assert.equal(gateMs(t, k + I), k + I - 300_000);
  // consecutive ticks decide consecutive intervals
  assert.equal(intervalToDecide(t, k + I), k + 2 * I);
  // a genesis' own fields win over the defaults, the config's over both
  assert.equal(marketTiming({ leadMs: 1 }, I, { gateClosureMs: 100_000, revealWindowMs: 30_000 }).revealMarginMs, 5000);
  assert.equal(marketTiming({ leadMs: 1, gateClosureMs: 7 }, I, { gateClosureMs: 100_000, revealWindowMs: 30_000 }).gateClosureMs, 7);
  // short simulated intervals keep the proportions (6 s: gate 2 s, reveals 1.5 s, margin 375 ms)
  assert.deepEqual(marketTiming({ leadMs: 1500 }, 6000), { intervalMs: 6000, gateClosureMs: 2000, revealWindowMs: 1500, leadMs: 1500, revealMarginMs: 375 });
});

test('[P2P] HEMs post sealed orders, reveal in the window, apply a fill signed by the aggregator and ignore one signed by another key', { timeout: 60_000 }, async () => {
  const b = await startPlainBroker();
  const agg = generateKeyPair();
  const watcher = await connectClient(b.url);
  const orders = record(watcher, 'tmi/v1/market/orders');
  const readings = record(watcher, 'tmi/v1/readings');
  // a battery home with a PV surplus (sells), a plain consumer without PV or battery (buys)
  const seller = await startHem(b.url, agg, { meterId: 'meter-s', profile: constantProfile(2000, 500) });
  const buyer = await startHem(b.url, agg, { meterId: 'meter-c', profile: constantProfile(0, 500), battery: { maxChargeW: 0, maxDischargeW: 0 } });
  try {
    await waitFor(() => [seller, buyer].every((h) => h.hem.pseudonyms.current()?.record.cert && h.hem.ems.session?.connected), 3000, 'certificates and sessions');
    await sleep(150); // subscriptions in place
    // the first interval both decide with a certified pseudonym
    const orderOf = (h: Home, after: number) => orders.find((x) => x.env.operation === 'market-order' && x.env.clientId === h.hem.pseudonyms.current()!.key.address && Date.parse((x.env.parameters as MarketOrder).delivery.start) >= after);
    const after = intervalToDecide(timing, Date.now());
    const [sellEnv, buyEnv] = await waitFor(() => {
      const s = orderOf(seller, after), c = orderOf(buyer, after);
      return s && c && (s.env.parameters as MarketOrder).delivery.start === (c.env.parameters as MarketOrder).delivery.start ? [s, c] : undefined;
    }, 3 * INTERVAL_MS, 'an order from each home for one interval');
    const sell = sellEnv.env.parameters as MarketOrder;
    const buy = buyEnv.env.parameters as MarketOrder;
    const start = Date.parse(sell.delivery.start);
    assert.equal(Date.parse(sell.delivery.end) - start, INTERVAL_MS);
    assert.deepEqual([sell.side, buy.side, sell.intervals], ['sell', 'buy', 1]);
    assert.equal(sell.feeder, seller.hem.pseudonyms.current()!.record.cert!.feeder);
    // 1. on the wire before the order close: a commitment only, sent in time
    assert.deepEqual(Object.keys(sell).sort(), ['address', 'commitment', 'delivery', 'feeder', 'intervals', 'orderId', 'side']);
    assert.ok(sellEnv.at < orderCloseMs(timing, start) && buyEnv.at < orderCloseMs(timing, start), 'orders before the order close');
    // 2. the reveals: in [order close, gate), opening the commitments to the logged decisions
    const revealOf = (o: MarketOrder) => orders.find((x) => x.env.operation === 'market-reveal' && (x.env.parameters as MarketReveal).orderId === o.orderId && x.env.clientId === o.address);
    // (an order made at a HEM's start, mid-interval, may close up to leadMs + I later)
    const [sr, br] = await waitFor(() => (revealOf(sell) && revealOf(buy) ? [revealOf(sell)!, revealOf(buy)!] as const : undefined), gateMs(timing, start) - Date.now() + 2000, 'both reveals');
    for (const [o, r, h] of [[sell, sr, seller], [buy, br, buyer]] as const) {
      assert.ok(r.at >= orderCloseMs(timing, start) && r.at < gateMs(timing, start), `${o.side}: revealed at ${r.at - start} ms, window [${orderCloseMs(timing, start) - start}, ${gateMs(timing, start) - start})`);
      const rv = r.env.parameters as MarketReveal;
      assert.equal(orderCommitment({ ...rv, side: o.side }), o.commitment, 'the reveal opens the commitment');
      const d = h.cap.events('market-decision').find((e) => (e.delivery as { start: string }).start === o.delivery.start)!;
      assert.deepEqual({ energyWh: rv.energyWh, priceMcPerKWh: rv.priceMcPerKWh }, { energyWh: (d.order as { energyWh: number }).energyWh, priceMcPerKWh: (d.order as { priceMcPerKWh: number }).priceMcPerKWh });
      // the decision line recomputes: decideMarketOrder from its logged inputs
      const again = decideMarketOrder({
        state: { soc: d.soc as number }, params: createTcrParams(h === buyer ? { battery: { maxChargeW: 0, maxDischargeW: 0 } } : {}), hasBattery: d.hasBattery as boolean,
        intervalS: 900, forecast: d.forecast as { pvWh: number; loadWh: number }, awardWh: d.awardWh as number, market: DEFAULT_MARKET_ORDER_PARAMS,
      });
      assert.deepEqual(again.order, d.order);
    }
    const sellRv = sr.env.parameters as MarketReveal;
    // [P2P-AUCTION] an auction for the same interval sees the open order: the sale as more
    // load, and no charging against it
    const auction = (auctionId: string, side: 'buy' | 'sell'): AuctionOpen => ({
      auctionId, side, energy: { unit: 'Wh', value: 5000 }, limitPrice: { unit: 'cents/kWh', value: side === 'buy' ? 100 : 1 }, delivery: sell.delivery,
      closesAt: new Date(start - 100).toISOString(), pricing: 'pay-as-bid', sealed: false,
    });
    for (const [id, side] of [['A-buy', 'buy'], ['A-sell', 'sell']] as const) watcher.publish(`tmi/v1/auctions/${id}`, signAndEncode(agg, 'auction-open', auction(id, side)), { qos: 1 });
    const [ab, as] = await waitFor(() => {
      const f = (id: string) => seller.cap.events('decision').find((e) => e.auctionId === id);
      return f('A-buy') && f('A-sell') ? [f('A-buy')!, f('A-sell')!] : undefined;
    }, 2000, 'the seller decides both auctions');
    assert.deepEqual(ab.p2p, { side: 'sell', energyWh: sellRv.energyWh });
    assert.equal((ab.forecast as { loadWh: number }).loadWh, 125 + sellRv.energyWh, 'the P2P sale counts as load');
    assert.deepEqual([as.bid, as.reason], [null, 'BATTERY_FULL'], 'no charging bid against a P2P sale');
    const buyRv = br.env.parameters as MarketReveal;
    assert.equal(buyRv.priceMcPerKWh, 25_000, 'the consumer bids the buy price');
    assert.equal(buyRv.energyWh, 125, 'its deficit: 500 W for 15 min');

    // 3. the clearing: first a result signed by another key (ignored), then the aggregator's
    const fillWh = 100; // less than the seller's 375 Wh surplus: the battery stores the rest
    const result = (fills: MarketResult['fills']): MarketResult => ({ delivery: sell.delivery, volumeWh: fillWh, clearingPriceMcPerKWh: 15_000, fills, height: 7 });
    const epoch = Math.floor(start / INTERVAL_MS);
    const forged = result([{ orderId: sell.orderId, address: sell.address, side: 'sell', energyWh: 999, priceMcPerKWh: 90_000 }]);
    watcher.publish(`tmi/v1/market/results/${epoch}`, signAndEncode(generateKeyPair(), 'market-result', forged), { qos: 1 });
    await waitFor(() => seller.cap.events('rejected-input').some((e) => e.code === 'NOT_AGGREGATOR_OR_TOPIC' && e.operation === 'market-result'), 2000, 'the forged result refused');
    const fills: MarketResult['fills'] = [
      { orderId: sell.orderId, address: sell.address, side: 'sell', energyWh: fillWh, priceMcPerKWh: 15_000 },
      { orderId: buy.orderId, address: buy.address, side: 'buy', energyWh: fillWh, priceMcPerKWh: 15_000 },
    ];
    watcher.publish(`tmi/v1/market/results/${epoch}`, signAndEncode(agg, 'market-result', result(fills)), { qos: 1, retain: true });
    const sf = await waitFor(() => seller.cap.events('market-fill')[0], 2000, 'the seller applies its fill');
    const bf = await waitFor(() => buyer.cap.events('market-fill')[0], 2000, 'the consumer records its fill');
    assert.equal(sf.energyWh, fillWh);
    assert.equal(sf.steered, true);
    assert.equal(sf.batteryWh, 375 - fillWh, 'PV − load − fill goes into the battery');
    assert.deepEqual([bf.energyWh, bf.steered, bf.batteryWh], [fillWh, false, 0], 'nothing to steer without a battery');
    assert.equal(seller.cap.events('market-fill').length, 1, 'the forged fill was not applied');
    // 4. the delivery interval's reading: the seller's net export is its fill
    const r = await waitFor(() => readings.map((x) => x.env.parameters as MeterReading).find((x) => x.address === sell.address && Date.parse(x.interval.start) === start), 3 * INTERVAL_MS, 'the seller\'s reading of the delivery interval');
    const netExport = r.producedWh + r.dischargedWh - r.consumedWh - r.chargedWh;
    assert.ok(Math.abs(netExport - fillWh) <= 1, `net export ${netExport} Wh for a ${fillWh} Wh fill (${JSON.stringify(r)})`);
    const rec = seller.hem.ems.history().market!.records.find((x) => x.delivery.start === sell.delivery.start)!;
    assert.equal(rec.outcome?.filledWh, fillWh);
    assert.equal(rec.seal?.revealed, true);
    assert.equal(sellRv.energyWh, rec.order?.energyWh);
  } finally {
    await seller.hem.stop();
    await buyer.hem.stop();
    await endClient(watcher);
    await b.close();
  }
});

test('[P2P-SEAL] a HEM restarted between its order and the order close still reveals, once, in the window', { timeout: 60_000 }, async () => {
  const b = await startPlainBroker();
  const agg = generateKeyPair();
  const watcher = await connectClient(b.url);
  const orders = record(watcher, 'tmi/v1/market/orders');
  const dir = await tempDir();
  const cap = captureLog();
  const profile = constantProfile(0, 500);
  let home = await startHem(b.url, agg, { meterId: 'meter-r', dir, cap, profile, initialSoc: 0.85 });
  try {
    await waitFor(() => home.hem.pseudonyms.current()?.record.cert && home.hem.ems.session?.connected, 3000, 'certificate and session');
    const after = intervalToDecide(timing, Date.now() + 100);
    const first = await waitFor(() => orders.find((x) => x.env.operation === 'market-order' && Date.parse((x.env.parameters as MarketOrder).delivery.start) >= after), 3 * INTERVAL_MS, 'an order');
    const o = first.env.parameters as MarketOrder;
    const start = Date.parse(o.delivery.start);
    await home.hem.stop();
    // down across the order close + margin: only a restart can reveal it now
    await sleep(Math.max(0, orderCloseMs(timing, start) + timing.revealMarginMs + 200 - Date.now()));
    assert.equal(orders.filter((x) => x.env.operation === 'market-reveal' && (x.env.parameters as MarketReveal).orderId === o.orderId).length, 0, 'not revealed while down');
    home = await startHem(b.url, agg, { meterId: 'meter-r', dir, cap, profile });
    const rv = await waitFor(() => orders.find((x) => x.env.operation === 'market-reveal' && (x.env.parameters as MarketReveal).orderId === o.orderId), gateMs(timing, start) - Date.now() + 1000, 'the reveal after the restart');
    assert.ok(rv.at < gateMs(timing, start), `revealed ${gateMs(timing, start) - rv.at} ms before the gate`);
    assert.equal(orderCommitment({ ...(rv.env.parameters as MarketReveal), side: o.side }), o.commitment);
    await sleep(INTERVAL_MS);
    assert.equal(orders.filter((x) => x.env.operation === 'market-reveal' && (x.env.parameters as MarketReveal).orderId === o.orderId).length, 1, 'revealed once');
    assert.equal(orders.filter((x) => x.env.operation === 'market-order' && (x.env.parameters as MarketOrder).orderId === o.orderId).length, 1, 'one order for the interval, also after the restart');
  } finally {
    await home.hem.stop();
    await endClient(watcher);
    await b.close();
  }
});
