import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMqttHome, readSensorValue } from '../adapters/mqttHome.js';
import { captureLog, connectClient, endClient, sleep, startPlainBroker, waitFor } from './hemFixtures.js';

test('readSensorValue: bare numbers, JSON paths, scale; garbage is undefined', () => {
  const spec = { topic: 't' };
  assert.equal(readSensorValue(Buffer.from('1234.5'), spec), 1234.5);
  assert.equal(readSensorValue(Buffer.from('{"power":{"ac":"2.5"}}'), { topic: 't', path: 'power.ac', scale: 1000 }), 2500);
  for (const bad of ['', 'abc', '{"power":null}', '{"x":1}', 'NaN', '[1,2]', '{"power":"1e999"}', 'x'.repeat(5000)]) {
    assert.equal(readSensorValue(Buffer.from(bad), { topic: 't', path: 'power' }), undefined, bad.slice(0, 20));
  }
  assert.equal(readSensorValue(Buffer.from('1e308'), { topic: 't', scale: 1e6 }), undefined, 'overflow after scaling');
});

test('mqtt adapter: integrates power from a home bus, ignores bad values, writes setpoints, announces HA entities', async () => {
  const bus = await startPlainBroker();
  const dev = await connectClient(bus.url, 'devices');
  const seen: { topic: string; payload: string; retain: boolean }[] = [];
  dev.subscribe(['inverter/battery/set', 'homeassistant/#', 'tmi-hem/#'], { qos: 0 });
  dev.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain }));
  await sleep(50);
  const cap = captureLog();
  const home = createMqttHome({
    url: bus.url,
    meterId: 'm-1',
    sensors: {
      pvPower: { topic: 'zigbee2mqtt/pv', path: 'power' },
      loadPower: { topic: 'zigbee2mqtt/house', path: 'power' },
      batteryPower: { topic: 'inverter/battery', path: 'power_kw', scale: 1000 },
      batterySoc: { topic: 'inverter/battery', path: 'soc', scale: 0.01 },
    },
    setpoint: { topic: 'inverter/battery/set', path: 'power' },
    discovery: { prefix: 'homeassistant' },
    speed: 3600, // 1 wall ms = 3.6 home s: 1 W for 1 wall s = 1 Wh
    log: cap.log,
  });
  try {
    await home.start();
    const t0 = Date.now();
    dev.publish('zigbee2mqtt/pv', JSON.stringify({ power: 1000 }));
    dev.publish('zigbee2mqtt/house', JSON.stringify({ power: 400 }));
    dev.publish('inverter/battery', JSON.stringify({ power_kw: -0.2, soc: 55 }));
    await waitFor(() => home.batteryState().soc === 0.55, 2000, 'soc');
    // garbage on the bus changes nothing
    dev.publish('zigbee2mqtt/pv', 'garbage');
    dev.publish('zigbee2mqtt/house', JSON.stringify({ power: -5 }));
    dev.publish('inverter/battery', JSON.stringify({ power_kw: 0, soc: 250 }));
    await waitFor(() => cap.events('bad-device-value').length >= 3, 2000, 'bad values logged');
    assert.equal(home.live().pvW, 1000);
    assert.equal(home.live().loadW, 400);
    assert.equal(home.batteryState().soc, 0.55);
    await sleep(300);
    const end = Date.now();
    const m = await home.measure({ startMs: t0 - 10, endMs: end });
    assert.ok(m, 'measured');
    const wallS = (end - t0) / 1000;
    // 1000 W over ~wallS wall seconds at speed 3600 = 1000 × wallS Wh (hold-last-value)
    assert.ok(Math.abs(m.pvWh - 1000 * wallS) < 1000 * 0.1, `pv ${m.pvWh} vs ${1000 * wallS}`);
    assert.ok(Math.abs(m.loadWh - 400 * wallS) < 400 * 0.1, `load ${m.loadWh}`);
    assert.ok(m.dischargedWh > 0 && m.chargedWh === 0, 'battery discharging (negative power)');
    assert.equal(m.soc, 0.55);
    // forecast: persistence of the last interval's averages
    const f = home.forecast({ startMs: 0, endMs: 1000 });
    assert.ok(Math.abs(f.pvWh - 1000) < 100, `forecast pv ${f.pvWh}`);

    // a setpoint window: set at start, handed back (autoPayload) at the end
    const now = Date.now();
    home.scheduleSetpoint({ startMs: now + 50, endMs: now + 250, powerW: -1500, auctionId: 'A' });
    await waitFor(() => seen.filter((s) => s.topic === 'inverter/battery/set').length >= 2, 2000, 'setpoint + release');
    const sp = seen.filter((s) => s.topic === 'inverter/battery/set').map((s) => s.payload);
    assert.deepEqual(sp, ['{"power":-1500}', '{"mode":"auto"}']);

    // Home Assistant discovery and status
    // a client that comes later (Home Assistant after a restart) gets them as retained messages
    const ha = await connectClient(bus.url, 'home-assistant');
    const configs: { topic: string; payload: string; retain: boolean }[] = [];
    ha.on('message', (topic, payload, packet) => configs.push({ topic, payload: payload.toString(), retain: packet.retain }));
    ha.subscribe('homeassistant/#', { qos: 0 });
    await waitFor(() => configs.length >= 6, 2000, 'retained discovery configs');
    await endClient(ha);
    assert.ok(configs.every((c) => c.retain && c.topic.startsWith('homeassistant/sensor/tmi_hem_m-1_')));
    const soc = configs.find((c) => c.topic === 'homeassistant/sensor/tmi_hem_m-1_soc/config');
    assert.ok(soc);
    assert.equal((JSON.parse(soc.payload) as { state_topic: string }).state_topic, 'tmi-hem/m-1/status');
    home.report?.({ soc: 0.55, lastBidWh: 300, lastBidType: 'sell', awardWh: 200, earningsMillicents: 6000, queued: 0, connected: true });
    const st = await waitFor(() => seen.find((s) => s.topic === 'tmi-hem/m-1/status'), 2000, 'status');
    assert.deepEqual(JSON.parse(st.payload), { socPercent: 55, lastBidWh: 300, lastBidType: 'sell', awardWh: 200, earningsCents: 6, queued: 0, connected: true });
  } finally {
    await home.close();
    await endClient(dev);
    await bus.close();
  }
});

test('mqtt adapter: an interval it never observed has no measurement', async () => {
  const bus = await startPlainBroker();
  const home = createMqttHome({
    url: bus.url, meterId: 'm-2',
    sensors: { pvPower: { topic: 'a' }, loadPower: { topic: 'b' }, batteryPower: { topic: 'c' }, batterySoc: { topic: 'd' } },
    setpoint: { topic: 'e' },
  });
  try {
    await home.start();
    assert.equal(await home.measure({ startMs: Date.now() - 1000, endMs: Date.now() }), null);
  } finally {
    await home.close();
    await bus.close();
  }
});
