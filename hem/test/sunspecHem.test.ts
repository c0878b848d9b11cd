/**
 * A HEM whose device gateway is the `sunspec` adapter, against a SunSpec device served
 * by pymodbus (sunspecDevice.ts) and a plain in-process broker, over Modbus TCP and over
 * Modbus RTU (a virtual serial pair): it meters the device, bids within the battery's own
 * limits, carries an award out through model 124; and when the device cannot deliver (SOC
 * not implemented, or no answer from its unit id on the serial line) it does not bid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { generateKeyPair, type KeyPair } from '../../wire/keys.js';
import { createCodec, signAndEncode } from '../../wire/codec.js';
import type { AnyEnvelope, AuctionOpen, BidOffer, MeterReading } from '../../schemas/types.js';
import { decide } from '../../tcr/decide.js';
import { createTcrParams } from '../../tcr/tcrParams.js';
import { parseHemConfig } from '../hemConfig.js';
import { runHem } from '../runHem.js';
import { withBatteryLimits } from '../homeDevices.js';
import { captureLog, connectClient, endClient, fakeIssuer, sleep, startPlainBroker, tempDir, waitFor } from './hemFixtures.js';
import { skipWithout } from '../../testkit/osComponents.js';
import { SUNSPEC_RTU, SUNSPEC_TCP, regs, startSunSpecDevice, startSunSpecRtuDevice, sunspecMap, type DeviceWrite } from './sunspecDevice.js';

// [OSC-1] [OSC-2] skipped without pymodbus (and socat for RTU), naming them; under CI they
// run, and the device's start fails with MISSING_OS_COMPONENT
const opts = { skip: skipWithout(...SUNSPEC_TCP) };
const rtuOpts = { skip: skipWithout(...SUNSPEC_RTU) };

const INTERVAL_MS = 400;
const SPEED = 2250; // 0.4 s wall = 900 s home

const COMMON = { id: 1, regs: regs(66, {}) };
const INVERTER = { id: 103, regs: regs(50, { 12: 2500, 13: 0 }) }; // 2500 W
const METER = { id: 203, regs: regs(105, { 16: 300, 20: 0 }) }; // 300 W import
const storage = (chaState: number) => ({ id: 124, regs: regs(24, { 0: 500, 6: chaState, 16: 1, 20: -2, 23: -2 }) }); // WChaMax 5000 W
const BATTERY = { id: 802, regs: regs(62, { 1: 1000, 2: 400, 3: 350, 9: 500, 45: -1000, 51: 1, 52: 1, 54: -1, 61: 0 }) };

function recorder(c: MqttClient, filter: string): AnyEnvelope[] {
  const codec = createCodec({ replayCheck: false });
  const got: AnyEnvelope[] = [];
  c.subscribe(filter, { qos: 1 });
  const re = new RegExp('^' + filter.replace(/\+/g, '[^/]+') + '$');
  c.on('message', (topic, payload) => {
    if (!re.test(topic)) return;
    try {
      got.push(codec.decode(payload));
    } catch {
      /* not ours */
    }
  });
  return got;
}

const nextIntervalStart = (k: number) => (Math.floor(Date.now() / INTERVAL_MS) + k) * INTERVAL_MS;

function auctionOpen(id: string, deliveryStart: number): AuctionOpen {
  return {
    auctionId: id,
    side: 'buy',
    energy: { unit: 'Wh', value: 5000 },
    limitPrice: { unit: 'cents/kWh', value: 100 },
    delivery: { start: new Date(deliveryStart).toISOString(), end: new Date(deliveryStart + INTERVAL_MS).toISOString() },
    closesAt: new Date(Date.now() + 5000).toISOString(),
    pricing: 'pay-as-bid',
    sealed: false,
  };
}

/** The device under test and the HEM's adapter config that reaches it. */
interface Device {
  writes: DeviceWrite[];
  adapter: Record<string, unknown>;
  stop(): Promise<void>;
}

const tcpDevice = async (map: Record<string, number>): Promise<Device> => {
  const d = await startSunSpecDevice(map);
  return { writes: d.writes, adapter: { type: 'sunspec', host: '127.0.0.1', port: d.port, pollMs: 200 }, stop: () => d.stop() };
};

/** on Modbus RTU at unit 1; the HEM asks `unitId` */
const rtuDevice = (unitId = 1) => async (map: Record<string, number>): Promise<Device> => {
  const d = await startSunSpecRtuDevice(map, { unit: 1 });
  const { path, baudRate, parity, dataBits, stopBits } = d.line;
  return { writes: d.writes, adapter: { type: 'sunspec', transport: 'rtu', path, baudRate, parity, dataBits, stopBits, unitId, pollMs: 200, timeoutMs: 300 }, stop: () => d.stop() };
};

async function withHem(
  device: (map: Record<string, number>) => Promise<Device>,
  map: Record<string, number>,
  f: (x: { d: Device; c: MqttClient; agg: KeyPair; hem: Awaited<ReturnType<typeof runHem>>; cap: ReturnType<typeof captureLog> }) => Promise<void>,
): Promise<void> {
  const d = await device(map);
  const b = await startPlainBroker();
  const agg = generateKeyPair();
  const c = await connectClient(b.url);
  const cap = captureLog();
  const cfg = parseHemConfig({
    meterId: 'meter-ss',
    dataDir: await tempDir(),
    broker: { url: b.url, reconnectMs: 100 },
    registry: { url: 'http://127.0.0.1:9' },
    genesisHash: 'ab'.repeat(32), aggregatorAddress: agg.address,
    intervalMs: INTERVAL_MS,
    speed: SPEED,
    adapter: d.adapter,
  });
  const hem = await runHem(cfg, { log: cap.log, issuer: fakeIssuer() });
  try {
    await waitFor(() => hem.pseudonyms.current() && hem.ems.session?.connected, 3000, 'certificate and session');
    await sleep(150); // subscriptions in place
    await f({ d, c, agg, hem, cap });
  } finally {
    await hem.stop();
    await endClient(c);
    await b.close();
    await d.stop();
  }
}

const meterBidAward = (device: (map: Record<string, number>) => Promise<Device>, auctionId: string) => async () => {
  await withHem(device, sunspecMap(40000, [COMMON, INVERTER, METER, storage(5000), BATTERY]), async ({ d, c, agg, hem, cap }) => {
    const bids = recorder(c, 'tmi/v1/auctions/+/bids');
    const readings = recorder(c, 'tmi/v1/readings');
    // readings: 900 s home time at PV 2500 W, load 300 + 2500 − 1000 W, charging 1000 W
    const r = await waitFor(() => readings.map((e) => e.parameters as MeterReading)[0], 4000, 'a reading');
    // at 2,250× a millisecond of timer jitter at the interval's edge is 2.25 s of home time
    // (about 1 Wh at 1,800 W): each energy within 2 Wh of the integral (one run in many read 449 and 249)
    const want = { producedWh: 625, consumedWh: 450, chargedWh: 250 };
    for (const [k, v] of Object.entries(want)) assert.ok(Math.abs(r[k as keyof typeof want] - v) <= 2, `${k} ${r[k as keyof typeof want]} ≈ ${v}`);
    assert.deepEqual([r.dischargedWh, r.socPermille], [0, 500]);

    const delivery = nextIntervalStart(2);
    const a = auctionOpen(auctionId, delivery);
    c.publish(`tmi/v1/auctions/${auctionId}`, signAndEncode(agg, 'auction-open', a), { qos: 1, retain: true });
    const bid = (await waitFor(() => bids.find((e) => (e.parameters as BidOffer).auctionId === auctionId), 2000, 'bid')).parameters as BidOffer;
    const dl = cap.events('decision').find((e) => e.auctionId === auctionId)!;
    assert.equal(dl.soc, 0.5, 'the SOC the device reported');
    const homeA = { ...a, delivery: { start: a.delivery.start, end: new Date(delivery + INTERVAL_MS * SPEED).toISOString() } };
    // the device's limits (802: discharge ≤ 3500 W) replace the configured 5000 W
    const expect = decide(homeA, { soc: 0.5 }, withBatteryLimits(createTcrParams(), { maxChargeW: 4000, maxDischargeW: 3500 }), dl.forecast as { pvWh: number; loadWh: number });
    assert.ok(expect.bid, `TCR bids (${expect.reason})`);
    assert.deepEqual(bid.bid, { type: expect.bid.type, energy: { unit: 'Wh', value: expect.bid.energyWh }, price: { unit: 'millicents/kWh', value: expect.bid.priceMcPerKWh } });
    assert.ok(expect.bid.energyWh <= 3500 * 0.25, `offer ${expect.bid.energyWh} Wh within 3500 W × 15 min`);

    // award 400 Wh → discharge 1600 W over the delivery interval → OutWRte 32 %, InWRte −32 %
    const result = { auctionId, status: 'cleared' as const, awards: [{ address: bid.address, energyWh: 400, priceMillicentsPerKWh: 30_000 }] };
    c.publish(`tmi/v1/auctions/${auctionId}/result`, signAndEncode(agg, 'auction-result', result), { qos: 1, retain: true });
    const st = 40000 + 2 + 68 + 52 + 107 + 2; // header, models 1, 103 and 203 (each ID + L + data), then 124's ID and L
    await waitFor(() => d.writes.find((w) => w.address === st + 3 && w.values[0] === 3), 4000, 'StorCtl_Mod = 3');
    assert.deepEqual(d.writes.find((w) => w.address === st + 10), { address: st + 10, values: [3200, 0x10000 - 3200] });
    await waitFor(() => d.writes.find((w) => w.address === st + 3 && w.values[0] === 0), 4000, 'StorCtl_Mod = 0 after the window');
    assert.ok(Date.now() >= delivery + INTERVAL_MS - 50, 'released at the end of the delivery interval');
    assert.equal(cap.events('setpoint-failed').length, 0);
    void hem;
  });
};

test('a HEM on a SunSpec device meters it, bids within the battery\'s limits and carries the award out through model 124', opts, meterBidAward(tcpDevice, 'S-1'));

test('the same over Modbus RTU: a HEM on a serial line meters the device, bids and writes the award through model 124', rtuOpts, meterBidAward(rtuDevice(), 'R-1'));

test('a HEM whose device cannot deliver (SOC not implemented) does not bid and says why; it meters nothing it cannot measure', opts, async () => {
  await withHem(tcpDevice, sunspecMap(40000, [COMMON, INVERTER, METER, storage(0xffff)]), async ({ c, agg, cap }) => {
    const bids = recorder(c, 'tmi/v1/auctions/+/bids');
    const readings = recorder(c, 'tmi/v1/readings');
    const a = auctionOpen('S-2', nextIntervalStart(2));
    c.publish('tmi/v1/auctions/S-2', signAndEncode(agg, 'auction-open', a), { qos: 1, retain: true });
    const nb = await waitFor(() => cap.events('no-bid').find((e) => e.auctionId === 'S-2'), 2000, 'no-bid');
    assert.equal(nb.reason, 'DEVICE_CANNOT_DELIVER');
    assert.match(String(nb.why), /SUNSPEC_NOT_IMPLEMENTED model=124 point=ChaState/);
    await waitFor(() => cap.events('sunspec-no-reading').length >= 2, 3000, 'intervals not metered');
    await sleep(300);
    assert.equal(bids.length, 0, 'no bid');
    assert.equal(cap.events('decision').length, 0);
    assert.equal(readings.length, 0, 'no reading without the battery flows');
    assert.ok(cap.events('sunspec-no-reading').some((e) => (e.missing as string[]).includes('battery power')));
  });
});

test('over Modbus RTU, no answer from the configured unit id: the HEM keeps running, meters nothing and does not bid, saying why', rtuOpts, async () => {
  await withHem(rtuDevice(7), sunspecMap(40000, [COMMON, INVERTER, METER, storage(5000), BATTERY]), async ({ d, c, agg, cap }) => {
    const bids = recorder(c, 'tmi/v1/auctions/+/bids');
    const readings = recorder(c, 'tmi/v1/readings');
    const a = auctionOpen('R-2', nextIntervalStart(2));
    c.publish('tmi/v1/auctions/R-2', signAndEncode(agg, 'auction-open', a), { qos: 1, retain: true });
    const nb = await waitFor(() => cap.events('no-bid').find((e) => e.auctionId === 'R-2'), 2000, 'no-bid');
    assert.equal(nb.reason, 'DEVICE_CANNOT_DELIVER');
    assert.match(String(nb.why), /SUNSPEC_UNREACHABLE path=\S+ unitId=7 reason=ETIMEDOUT/);
    const err = cap.events('sunspec-error')[0];
    assert.deepEqual(err?.codes, ['SUNSPEC_UNREACHABLE']);
    await waitFor(() => cap.events('sunspec-no-reading').length >= 2, 3000, 'intervals not metered');
    assert.equal(bids.length, 0, 'no bid');
    assert.equal(readings.length, 0, 'no reading');
    assert.deepEqual(d.writes, [], 'nothing written to the device');
  });
});
