/**
 * The EMS against a plain in-process aedes broker (no auth): readings every interval,
 * bids equal to decide(), awards executed on the sim battery, under-delivery, garbage
 * input, store-and-forward across a broker outage and a HEM restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { generateKeyPair, publicKeyObject, type KeyPair } from '../../wire/keys.js';
import { createCodec, signAndEncode } from '../../wire/codec.js';
import type { AnyEnvelope, AuctionOpen, BidOffer, MeterReading } from '../../schemas/types.js';
import { decide } from '../../tcr/decide.js';
import { createTcrParams } from '../../tcr/tcrParams.js';
import { parseHemConfig } from '../hemConfig.js';
import { runHem, type HemHandle } from '../runHem.js';
import type { EnergyProfile } from '../adapters/simHome.js';
import type { CertificateIssuer } from '../pseudonyms.js';
import {
  captureLog, connectClient, constantProfile, endClient, fakeIssuer, sleep, startPlainBroker, tempDir, waitFor, type LogCapture, type PlainBroker,
} from './hemFixtures.js';

const INTERVAL_MS = 400;
const SPEED = 2250; // 0.4 s wall = 900 s home

interface Started {
  hem: HemHandle;
  cap: LogCapture;
  dir: string;
}

async function startHem(
  brokerUrl: string,
  aggregator: KeyPair,
  o: { dir?: string; profile?: EnergyProfile; initialSoc?: number; underDeliverFactor?: number; issuer?: CertificateIssuer; cap?: LogCapture } = {},
): Promise<Started> {
  const dir = o.dir ?? (await tempDir());
  const cap = o.cap ?? captureLog();
  const cfg = parseHemConfig({
    meterId: 'meter-t1',
    dataDir: dir,
    broker: { url: brokerUrl, reconnectMs: 100 },
    registry: { url: 'http://127.0.0.1:9' },
    genesisHash: 'ab'.repeat(32), aggregatorAddress: aggregator.address,
    intervalMs: INTERVAL_MS,
    speed: SPEED,
    underDeliverFactor: o.underDeliverFactor ?? 1,
    adapter: { type: 'sim', initialSoc: o.initialSoc ?? 0.8 },
  });
  const hem = await runHem(cfg, { log: cap.log, issuer: o.issuer ?? fakeIssuer(), profile: o.profile ?? constantProfile(0, 500) });
  return { hem, cap, dir };
}

function recorder(c: MqttClient, filter: string, meterKey?: () => KeyPair | undefined): AnyEnvelope[] {
  const codec = createCodec({
    replayCheck: false,
    resolveKey: (id) => (id === 'meter-t1' && meterKey?.() ? publicKeyObject(meterKey()!.publicKey) : undefined),
  });
  const got: AnyEnvelope[] = [];
  c.subscribe(filter, { qos: 1 });
  const pattern = filter.split('/');
  const matches = (topic: string) => {
    const t = topic.split('/');
    return t.length === pattern.length && pattern.every((p, i) => p === '+' || p === t[i]);
  };
  c.on('message', (topic, payload) => {
    if (!matches(topic)) return;
    try {
      got.push(codec.decode(payload));
    } catch {
      /* not ours */
    }
  });
  return got;
}

function auctionOpen(id: string, side: 'buy' | 'sell', deliveryStart: number, o: Partial<AuctionOpen> = {}): AuctionOpen {
  return {
    auctionId: id,
    side,
    energy: { unit: 'Wh', value: 600 },
    limitPrice: { unit: 'cents/kWh', value: 100 },
    delivery: { start: new Date(deliveryStart).toISOString(), end: new Date(deliveryStart + INTERVAL_MS).toISOString() },
    closesAt: new Date(Date.now() + 5000).toISOString(),
    pricing: 'pay-as-bid',
    sealed: false,
    ...o,
  };
}

const nextIntervalStart = (k = 1) => (Math.floor(Date.now() / INTERVAL_MS) + k) * INTERVAL_MS;

async function withBroker(f: (b: PlainBroker, agg: KeyPair, c: MqttClient) => Promise<void>): Promise<void> {
  const b = await startPlainBroker();
  const agg = generateKeyPair();
  const c = await connectClient(b.url);
  try {
    await f(b, agg, c);
  } finally {
    await endClient(c);
    await b.close();
  }
}

test('publishes a signed reading every interval with consecutive seq, and its certificate on chain', async () => {
  await withBroker(async (b, agg, c) => {
    const readings = recorder(c, 'tmi/v1/readings');
    const txs = recorder(c, 'tmi/v1/chain/txs');
    let meterKey: KeyPair | undefined;
    const states = recorder(c, 'tmi/v1/meters/meter-t1/state', () => meterKey);
    const { hem } = await startHem(b.url, agg);
    meterKey = hem.meterKey;
    try {
      await waitFor(() => readings.length >= 4, 6000, '4 readings');
      const addr = hem.pseudonyms.current()?.key.address;
      const rs = readings.map((e) => e.parameters as MeterReading);
      assert.deepEqual(rs.map((r) => r.seq).slice(0, 4), [0, 1, 2, 3]);
      for (const [k, r] of rs.entries()) {
        assert.equal(r.address, addr);
        assert.equal(Date.parse(r.interval.end) - Date.parse(r.interval.start), INTERVAL_MS);
        assert.equal(Date.parse(r.interval.start) % INTERVAL_MS, 0, 'aligned to the interval grid');
        if (k > 0) assert.equal(r.interval.start, rs[k - 1]!.interval.end, 'consecutive intervals');
        // load 500 W for 900 s home time = 125 Wh; the battery covers it (self-consumption)
        assert.equal(r.consumedWh, 125);
        assert.equal(r.producedWh, 0);
        assert.ok(r.dischargedWh >= 124 && r.dischargedWh <= 125, `discharged ${r.dischargedWh}`);
      }
      const tx = txs.find((e) => e.operation === 'tx');
      assert.ok(tx, 'certificate tx published');
      const inner = createCodec({ replayCheck: false }).decodeValue((tx.parameters as { tx: unknown }).tx);
      assert.equal(inner.operation, 'certificate');
      assert.equal(inner.clientId, addr);
      assert.ok(states.length >= 1, 'state published');
      assert.equal(states[0]!.clientId, 'meter-t1');
    } finally {
      await hem.stop();
    }
  });
});

test('[HEM-HALT] after halt() nothing more is metered or sent, neither by the timer nor by a catch-up', async () => {
  await withBroker(async (b, agg, c) => {
    const readings = recorder(c, 'tmi/v1/readings');
    const { hem, cap } = await startHem(b.url, agg);
    try {
      await waitFor(() => readings.length >= 2, 6000, '2 readings');
      hem.ems.halt();
      const metered = cap.events('reading').length;
      await sleep(3 * INTERVAL_MS);
      await hem.ems.meterDue(); // three intervals have ended since: none is metered
      const after = cap.events('reading').length;
      assert.ok(after <= metered + 1, `intervals metered after halt: ${after - metered} (at most the one in flight)`);
      await sleep(200);
      assert.ok(readings.length <= after, `readings at the broker ${readings.length}, metered ${after}`);
    } finally {
      await hem.stop();
    }
  });
});

test('answers an auction-open within 1 s with exactly what decide() returns; awards drive the battery', async () => {
  await withBroker(async (b, agg, c) => {
    const bids = recorder(c, 'tmi/v1/auctions/+/bids');
    const readings = recorder(c, 'tmi/v1/readings');
    const { hem, cap } = await startHem(b.url, agg, { initialSoc: 0.8 });
    try {
      await waitFor(() => hem.pseudonyms.current() && hem.ems.session?.connected, 3000, 'certificate and session');
      await sleep(150); // subscriptions in place
      const delivery = nextIntervalStart(2);
      const a = auctionOpen('A-1', 'buy', delivery);
      const t0 = Date.now();
      c.publish('tmi/v1/auctions/A-1', signAndEncode(agg, 'auction-open', a), { qos: 1, retain: true });
      const bidEnv = await waitFor(() => bids.find((e) => (e.parameters as BidOffer).auctionId === 'A-1'), 2000, 'bid');
      assert.ok(Date.now() - t0 < 1000, `answered in ${Date.now() - t0} ms`);
      const bid = bidEnv.parameters as BidOffer;
      const cert = hem.pseudonyms.current()!.record.cert!;
      assert.equal(bid.address, cert.address);
      assert.equal(bidEnv.clientId, cert.address);
      assert.equal(bid.feeder, cert.feeder);
      // recompute from the logged inputs
      const d = cap.events('decision').find((e) => e.auctionId === 'A-1')!;
      const homeA = { ...a, delivery: { start: a.delivery.start, end: new Date(delivery + INTERVAL_MS * SPEED).toISOString() } };
      const expect = decide(homeA, { soc: d.soc as number }, createTcrParams(), d.forecast as { pvWh: number; loadWh: number });
      assert.ok(expect.bid, `TCR bids (${expect.reason})`);
      assert.deepEqual(bid.bid, {
        type: expect.bid.type,
        energy: { unit: 'Wh', value: expect.bid.energyWh },
        price: { unit: 'millicents/kWh', value: expect.bid.priceMcPerKWh },
      });
      // a retained redelivery is not answered twice
      c.publish('tmi/v1/auctions/A-1', signAndEncode(agg, 'auction-open', a), { qos: 1, retain: true });
      await sleep(200);
      assert.equal(bids.filter((e) => (e.parameters as BidOffer).auctionId === 'A-1').length, 1);

      // award 400 Wh: the battery discharges it over the delivery interval
      const result = {
        auctionId: 'A-1', status: 'cleared' as const, awards: [{ address: bid.address, energyWh: 400, priceMillicentsPerKWh: 30_000 }],
      };
      c.publish('tmi/v1/auctions/A-1/result', signAndEncode(agg, 'auction-result', result), { qos: 1, retain: true });
      const r = await waitFor(
        () => readings.map((e) => e.parameters as MeterReading).find((x) => Date.parse(x.interval.start) === delivery),
        4000, 'reading of the delivery interval',
      );
      assert.ok(Math.abs(r.dischargedWh - 400) <= 1, `delivered ${r.dischargedWh} Wh of 400`);
      assert.equal(cap.events('award').length, 1);
      assert.equal(hem.ems.status().awardWh, 400);
    } finally {
      await hem.stop();
    }
  });
});

test('[SETTLE-1] two auctions for one delivery interval: the setpoint is the sum of both awards', async () => {
  await withBroker(async (b, agg, c) => {
    const bids = recorder(c, 'tmi/v1/auctions/+/bids');
    const readings = recorder(c, 'tmi/v1/readings');
    const { hem, cap } = await startHem(b.url, agg, { initialSoc: 0.9 });
    try {
      await waitFor(() => hem.pseudonyms.current() && hem.ems.session?.connected, 3000, 'certificate and session');
      await sleep(150); // subscriptions in place
      const delivery = nextIntervalStart(2);
      for (const id of ['D-1', 'D-2']) c.publish(`tmi/v1/auctions/${id}`, signAndEncode(agg, 'auction-open', auctionOpen(id, 'buy', delivery)), { qos: 1, retain: true });
      const both = await waitFor(() => {
        const got = ['D-1', 'D-2'].map((id) => bids.find((e) => (e.parameters as BidOffer).auctionId === id));
        return got.every((x) => x !== undefined) ? (got as AnyEnvelope[]) : undefined;
      }, 2000, 'bids in both auctions');
      const address = (both[0]!.parameters as BidOffer).address;
      const awards: [string, number][] = [['D-1', 200], ['D-2', 250]];
      for (const [id, wh] of awards) {
        c.publish(`tmi/v1/auctions/${id}/result`, signAndEncode(agg, 'auction-result', {
          auctionId: id, status: 'cleared', awards: [{ address, energyWh: wh, priceMillicentsPerKWh: 30_000 }],
        }), { qos: 1, retain: true });
      }
      await waitFor(() => cap.events('award').length === 2, 2000, 'both awards scheduled');
      const r = await waitFor(
        () => readings.map((e) => e.parameters as MeterReading).find((x) => Date.parse(x.interval.start) === delivery),
        4000, 'reading of the delivery interval',
      );
      // the last award alone would be 250 Wh
      assert.ok(Math.abs(r.dischargedWh - 450) <= 1, `delivered ${r.dischargedWh} Wh of 200 + 250`);
    } finally {
      await hem.stop();
    }
  });
});

test('underDeliverFactor makes the HEM deliver only that fraction of an award (charge side)', async () => {
  await withBroker(async (b, agg, c) => {
    const bids = recorder(c, 'tmi/v1/auctions/+/bids');
    const readings = recorder(c, 'tmi/v1/readings');
    const { hem } = await startHem(b.url, agg, { initialSoc: 0.3, underDeliverFactor: 0.5, profile: constantProfile(0, 0) });
    try {
      await waitFor(() => hem.pseudonyms.current() && hem.ems.session?.connected, 3000, 'certificate and session');
      await sleep(150); // subscriptions in place
      const delivery = nextIntervalStart(2);
      const a = auctionOpen('S-1', 'sell', delivery, { limitPrice: { unit: 'cents/kWh', value: 1 } });
      c.publish('tmi/v1/auctions/S-1', signAndEncode(agg, 'auction-open', a), { qos: 1, retain: true });
      const bidEnv = await waitFor(() => bids.find((e) => (e.parameters as BidOffer).auctionId === 'S-1'), 2000, 'bid');
      const bid = bidEnv.parameters as BidOffer;
      assert.equal(bid.bid?.type, 'buy');
      const award = Math.min(300, bid.bid!.energy.value);
      c.publish('tmi/v1/auctions/S-1/result', signAndEncode(agg, 'auction-result', {
        auctionId: 'S-1', status: 'cleared', awards: [{ address: bid.address, energyWh: award, priceMillicentsPerKWh: 10_000 }],
      }), { qos: 1 });
      const r = await waitFor(
        () => readings.map((e) => e.parameters as MeterReading).find((x) => Date.parse(x.interval.start) === delivery),
        4000, 'reading of the delivery interval',
      );
      assert.ok(Math.abs(r.chargedWh - award / 2) <= 1, `charged ${r.chargedWh} Wh, expected ${award / 2}`);
    } finally {
      await hem.stop();
    }
  });
});

test('drops garbage, auctions not signed by the aggregator, and topic mismatches', async () => {
  await withBroker(async (b, agg, c) => {
    const bids = recorder(c, 'tmi/v1/auctions/+/bids');
    const { hem, cap } = await startHem(b.url, agg);
    try {
      await waitFor(() => hem.pseudonyms.current() && hem.ems.session?.connected, 3000, 'certificate and session');
      await sleep(150); // subscriptions in place
      const mallory = generateKeyPair();
      const a = auctionOpen('G-1', 'buy', nextIntervalStart(2));
      c.publish('tmi/v1/auctions/G-1', Buffer.from('{"not":"an envelope"'), { qos: 1 });
      c.publish('tmi/v1/auctions/G-1', Buffer.from(JSON.stringify({ operation: 'auction-open', pad: 'x'.repeat(300_000) })), { qos: 1 });
      c.publish('tmi/v1/auctions/G-1', signAndEncode(mallory, 'auction-open', a), { qos: 1 });
      c.publish('tmi/v1/auctions/OTHER', signAndEncode(agg, 'auction-open', a), { qos: 1 });
      const tampered = JSON.parse(signAndEncode(agg, 'auction-open', a).toString()) as { parameters: AuctionOpen };
      tampered.parameters.limitPrice.value = 99;
      c.publish('tmi/v1/auctions/G-1', Buffer.from(JSON.stringify(tampered)), { qos: 1 });
      await waitFor(() => cap.events('rejected-input').length >= 5, 3000, `5 rejections, got ${JSON.stringify(cap.events('rejected-input'))}`);
      const codes = cap.events('rejected-input').map((e) => e.code);
      assert.ok(codes.includes('MALFORMED_JSON'));
      assert.ok(codes.includes('MESSAGE_TOO_LARGE'));
      assert.ok(codes.includes('BAD_SIGNATURE'));
      assert.equal(codes.filter((x) => x === 'NOT_AGGREGATOR_OR_TOPIC').length, 2);
      await sleep(200);
      assert.equal(bids.length, 0, 'no bid on any of them');
      assert.equal(cap.events('decision').length, 0);
    } finally {
      await hem.stop();
    }
  });
});

test('store-and-forward: readings made while the broker is down arrive in order after a HEM restart', async () => {
  const b = await startPlainBroker();
  const port = b.port;
  const agg = generateKeyPair();
  const issuer = fakeIssuer();
  const c = await connectClient(b.url, 'watcher');
  const readings = recorder(c, 'tmi/v1/readings');
  let s = await startHem(b.url, agg, { issuer });
  let b2: PlainBroker | undefined;
  try {
    await waitFor(() => readings.length >= 2, 4000, 'first readings');
    await endClient(c);
    await b.close(); // broker gone
    const before = readings.length;
    await waitFor(() => s.hem.store.queued >= 3, 4000, 'queued readings');
    await s.hem.stop(); // the HEM stops with a non-empty outbox
    b2 = await startPlainBroker(port);
    const c2 = await connectClient(b2.url, 'watcher2');
    const after = recorder(c2, 'tmi/v1/readings');
    s = await startHem(b2.url, agg, { dir: s.dir, issuer, cap: s.cap });
    await waitFor(() => s.hem.store.queued === 0 && after.length >= 4, 6000, 'outbox drained');
    const seqs = [...readings.slice(0, before), ...after].map((e) => (e.parameters as MeterReading).seq);
    const expected = Array.from({ length: seqs.length }, (_, i) => i);
    assert.deepEqual(seqs, expected, 'no reading lost, none duplicated, in order');
    for (const e of after) assert.ok(Math.abs(Date.parse(e.date) - Date.now()) < 120_000, 'every sent envelope is within the skew window');
    await endClient(c2);
  } finally {
    await s.hem.stop().catch(() => undefined);
    await b2?.close();
  }
});
