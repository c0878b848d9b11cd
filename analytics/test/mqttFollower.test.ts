/**
 * The MQTT follower against the real broker (in-process, loopback, ephemeral port):
 * analytics logs in with the analytics role, a HEM and the aggregator publish signed
 * messages, and the statistics follow.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { createTmiBroker, type TmiBroker } from '../../broker/createTmiBroker.js';
import { createMemoryDirectory } from '../../broker/meterDirectory.js';
import { signAndEncode } from '../../wire/codec.js';
import { generateKeyPair, type KeyPair } from '../../wire/keys.js';
import { makeLoginToken } from '../../wire/loginToken.js';
import { createMqttFollower, type MqttFollower } from '../adapters/mqttFollower.js';
import type { Analytics } from '../createAnalytics.js';
import type { Fact } from '../facts.js';
import { startAnalytics } from './analyticsFixtures.js';

const silent = pino({ level: 'silent' });

async function login(url: string, meterId: string, key: KeyPair): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId: meterId, username: meterId, password: makeLoginToken(key, meterId), reconnectPeriod: 0, connectTimeout: 5000 });
}

async function until(pred: () => Promise<boolean>, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`TIMEOUT ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('MQTT follower (real broker)', () => {
  let broker: TmiBroker;
  let url: string;
  let an: Analytics;
  let apiUrl: string;
  let follower: MqttFollower;
  const meterKey = generateKeyPair();
  const aggMeter = generateKeyPair();
  const aggKey = generateKeyPair();
  const hemMeter = generateKeyPair();
  const pseudonym = generateKeyPair();

  before(async () => {
    const dir = createMemoryDirectory();
    dir.enroll({ meterId: 'analytics-1', publicKey: meterKey.address, role: 'analytics' });
    dir.enroll({ meterId: 'vpp', publicKey: aggMeter.address, role: 'aggregator' });
    dir.certify('vpp', aggKey.address);
    dir.enroll({ meterId: 'hem-1', publicKey: hemMeter.address, role: 'hem' });
    dir.certify('hem-1', pseudonym.address);
    broker = await createTmiBroker({ directory: dir, listeners: { mqtt: { port: 0, host: '127.0.0.1' } }, log: silent });
    url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
    ({ an, url: apiUrl } = await startAnalytics());
    follower = createMqttFollower({ url, meterId: 'analytics-1', meterKey, ingest: (f: Fact[]) => an.ingest(f), log: silent, batchMs: 30, reconnectMs: 0 });
    await follower.ready();
  });

  after(async () => {
    await follower.close();
    await an.close();
    await broker.close();
  });

  it('follows readings, an auction, its bids and result, and the schedule', async () => {
    const agg = await login(url, 'vpp', aggMeter);
    const hem = await login(url, 'hem-1', hemMeter);
    try {
      const now = Date.now();
      const slot = now - (now % 900_000);
      const iso = (ms: number) => new Date(ms).toISOString();
      await hem.publishAsync('tmi/v1/readings', signAndEncode(pseudonym, 'meter-reading', {
        address: pseudonym.address, interval: { start: iso(slot - 900_000), end: iso(slot) }, seq: 1,
        producedWh: 1200, consumedWh: 500, chargedWh: 400, dischargedWh: 0, socPermille: 640,
      }), { qos: 1 });
      await agg.publishAsync('tmi/v1/schedule', signAndEncode(aggKey, 'schedule', {
        day: iso(slot).slice(0, 10), intervalMinutes: 15, netLoadWh: new Array<number>(96).fill(250),
      }), { qos: 1 });
      await agg.publishAsync('tmi/v1/auctions/A-1', signAndEncode(aggKey, 'auction-open', {
        auctionId: 'A-1', side: 'buy', energy: { unit: 'kWh', value: 2 }, limitPrice: { unit: 'cents/kWh', value: 10 },
        delivery: { start: iso(slot + 900_000), end: iso(slot + 1_800_000) }, closesAt: iso(slot + 600_000), pricing: 'pay-as-bid', sealed: false,
      }), { qos: 1, retain: true });
      await hem.publishAsync('tmi/v1/auctions/A-1/bids', signAndEncode(pseudonym, 'bid-offer', {
        auctionId: 'A-1', address: pseudonym.address, cpf: 0.5, feeder: 'F1',
        bid: { type: 'sell', energy: { unit: 'kWh', value: 1.5 }, price: { unit: 'cents/kWh', value: 8.2 } },
      }), { qos: 1 });
      await agg.publishAsync('tmi/v1/auctions/A-1/result', signAndEncode(aggKey, 'auction-result', {
        auctionId: 'A-1', status: 'cleared', clearingPriceMillicentsPerKWh: 8200, awardedWh: 1500,
        awards: [{ address: pseudonym.address, energyWh: 1500, priceMillicentsPerKWh: 8200 }],
      }), { qos: 1, retain: true });

      const summary = async () => (await (await fetch(`${apiUrl}/api/summary`)).json()) as { readings: number; bids: number; auctionsByStatus: { cleared: number }; tradedWh: number };
      await until(async () => {
        const s = await summary();
        return s.readings === 1 && s.bids === 1 && s.auctionsByStatus.cleared === 1;
      }, 'the facts to arrive');
      const s = await summary();
      assert.equal(s.tradedWh, 1500);
      const auction = (await (await fetch(`${apiUrl}/api/auctions/A-1`)).json()) as { auction: { energyWh: number; limitPriceMcPerKWh: number; bidSellWh: number }; bids: { priceMcPerKWh: number }[] };
      // 2 kWh → 2000 Wh; 10 cents/kWh → 10,000 mc/kWh; 8.2 cents/kWh → 8200 mc/kWh (floor, through decimals)
      assert.deepEqual([auction.auction.energyWh, auction.auction.limitPriceMcPerKWh, auction.auction.bidSellWh], [2000, 10_000, 1500]);
      assert.equal(auction.bids[0]?.priceMcPerKWh, 8200);
      const nl = (await (await fetch(`${apiUrl}/api/net-load`)).json()) as { source: string };
      assert.equal(nl.source, 'schedule');
      const st = follower.stats();
      assert.equal(st.connected, true);
      assert.ok(st.messages >= 5);
      assert.deepEqual(st.rejected, {});
      assert.equal(st.ingestErrors, 0);
    } finally {
      await agg.endAsync();
      await hem.endAsync();
    }
  });

  it('the analytics login may not publish: a valid reading it sends is not delivered', async () => {
    const other = generateKeyPair();
    const now = Date.now();
    const start = now - (now % 900_000) - 1_800_000;
    await follower.client.publishAsync('tmi/v1/readings', signAndEncode(other, 'meter-reading', {
      address: other.address, interval: { start: new Date(start).toISOString(), end: new Date(start + 900_000).toISOString() }, seq: 1,
      producedWh: 1, consumedWh: 1, chargedWh: 0, dischargedWh: 0, socPermille: 1,
    }), { qos: 0 });
    await new Promise((r) => setTimeout(r, 300));
    const summary = (await (await fetch(`${apiUrl}/api/summary`)).json()) as { readings: number };
    assert.equal(summary.readings, 1);
  });
});

describe('MQTT follower: garbage on the wire (a bare broker, no edge checks)', () => {
  it('counts what fails to decode by code, maps nothing from it, and keeps following', async () => {
    const aedes = await Aedes.createBroker();
    const server = createServer(aedes.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const ingested: Fact[] = [];
    const follower = createMqttFollower({ url, meterId: 'analytics-x', meterKey: generateKeyPair(), ingest: async (f: Fact[]) => void ingested.push(...f), log: silent, batchMs: 20, reconnectMs: 0 });
    const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    try {
      await follower.ready();
      const k = generateKeyPair();
      const reading = {
        address: k.address, interval: { start: '2026-11-21T10:00:00.000Z', end: '2026-11-21T10:15:00.000Z' }, seq: 1,
        producedWh: 5, consumedWh: 5, chargedWh: 0, dischargedWh: 0, socPermille: 5,
      };
      const good = JSON.parse(signAndEncode(k, 'meter-reading', reading).toString()) as Record<string, unknown>;
      const garbage: (string | Buffer)[] = [
        'not json',
        '[]',
        JSON.stringify({ ...good, operation: 'launch-rockets' }),
        JSON.stringify({ ...good, signature: (JSON.parse(signAndEncode(k, 'meter-reading', { ...reading, seq: 2 }).toString()) as { signature: string }).signature }),
        JSON.stringify({ ...good, parameters: { ...reading, producedWh: -1 } }),
        JSON.stringify({ ...good, extra: 1 }),
        // a meter reading may not exceed 16 KiB
        Buffer.from(JSON.stringify({ ...good, pad: 'x'.repeat(20_000) })),
      ];
      for (const g of garbage) await pub.publishAsync('tmi/v1/readings', g, { qos: 1 });
      await pub.publishAsync('tmi/v1/readings', JSON.stringify(good), { qos: 1 });
      await until(async () => ingested.length === 1, 'the good reading');
      const st = follower.stats();
      assert.equal(st.messages, garbage.length + 1);
      assert.deepEqual(st.rejected, {
        MALFORMED_JSON: 1, NOT_AN_OBJECT: 1, SCHEMA_BAD_VALUE: 1, BAD_SIGNATURE: 1, SCHEMA_OUT_OF_RANGE: 1, SCHEMA_UNKNOWN_FIELD: 1, MESSAGE_TOO_LARGE: 1,
      });
      assert.equal(ingested[0]?.kind, 'reading');
    } finally {
      await pub.endAsync();
      await follower.close();
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
