import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadHemConfig, parseHemConfig } from '../hemConfig.js';
import { tempDir } from './hemFixtures.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('the example configs are valid and get their defaults', async () => {
  const cfg = await loadHemConfig(join(root, 'hem/examples/hem.json'));
  assert.equal(cfg.meterId, 'meter-0001');
  assert.equal(cfg.intervalMs, 900_000);
  assert.equal(cfg.adapter.type, 'sim');
  assert.equal(cfg.tcr.battery.capacityWh, 10_000);
  const m = await loadHemConfig(join(root, 'hem/examples/hem-mqtt.json'));
  assert.equal(m.adapter.type, 'mqtt');
  assert.equal(m.meterKeyFile, '/var/lib/tmi-hem/meter-key.json');
  assert.equal(m.underDeliverFactor, 1);
  const s = await loadHemConfig(join(root, 'hem/examples/hem-sunspec.json'));
  assert.deepEqual(s.adapter, { type: 'sunspec', host: '192.168.1.50', port: 502, unitId: 1, pollMs: 5000, batteryCoupling: 'dc' });
  const rtu = await loadHemConfig(join(root, 'hem/examples/hem-sunspec-rtu.json'));
  assert.deepEqual(rtu.adapter, { type: 'sunspec', transport: 'rtu', path: '/dev/ttyUSB0', baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1, unitId: 1, pollMs: 5000 });
});

const good = {
  meterId: 'm1', dataDir: 'data', broker: { url: 'mqtt://127.0.0.1:1883' }, registry: { url: 'http://127.0.0.1:8470' },
  aggregatorAddress: 'a'.repeat(64), adapter: { type: 'sim' },
};

test('bad configs fail with BAD_CONFIG and the path of the problem', () => {
  const cases: [unknown, RegExp][] = [
    [null, /BAD_CONFIG path=\/ reason=must be object/],
    [{ ...good, meterId: 'a/b' }, /path=\/meterId/],
    [{ ...good, extra: 1 }, /path=\/extra reason=must NOT have additional properties/],
    [{ ...good, broker: { url: 'http://x' } }, /path=\/broker\/url/],
    [{ ...good, aggregatorAddress: 'xyz' }, /path=\/aggregatorAddress/],
    [{ ...good, underDeliverFactor: 1.5 }, /path=\/underDeliverFactor/],
    [{ ...good, adapter: { type: 'modbus' } }, /path=\/adapter\/type .*\(sim\|mqtt\|sunspec\)/],
    [{ ...good, adapter: { type: 'sunspec' } }, /path=\/adapter\/host reason=must have required property/],
    [{ ...good, adapter: { type: 'sunspec', host: '192.168.1.20', baseAddress: 40001 } }, /path=\/adapter\/baseAddress/],
    // Modbus RTU: the transport, the serial port and its line settings, each named
    [{ ...good, adapter: { type: 'sunspec', transport: 'serial', path: '/dev/ttyUSB0' } }, /path=\/adapter\/transport .*\(tcp\|rtu\)/],
    [{ ...good, adapter: { type: 'sunspec', transport: 'rtu' } }, /path=\/adapter\/path reason=must have required property/],
    [{ ...good, adapter: { type: 'sunspec', transport: 'rtu', path: 'ttyUSB0' } }, /path=\/adapter\/path reason=must match pattern/],
    [{ ...good, adapter: { type: 'sunspec', transport: 'rtu', path: '/dev/ttyUSB0', host: '192.168.1.20' } }, /path=\/adapter\/host reason=must NOT have additional properties/],
    [{ ...good, adapter: { type: 'sunspec', transport: 'rtu', path: '/dev/ttyUSB0', port: 502 } }, /path=\/adapter\/port reason=must NOT have additional properties/],
    [{ ...good, adapter: { type: 'sunspec', transport: 'rtu', path: '/dev/ttyUSB0', baudRate: 9601 } }, /path=\/adapter\/baudRate .*\(1200\|2400\|/],
    [{ ...good, adapter: { type: 'sunspec', transport: 'rtu', path: '/dev/ttyUSB0', parity: 'mark' } }, /path=\/adapter\/parity .*\(none\|even\|odd\)/],
    [{ ...good, adapter: { type: 'sunspec', transport: 'rtu', path: '/dev/ttyUSB0', dataBits: 6 } }, /path=\/adapter\/dataBits .*\(7\|8\)/],
    [{ ...good, adapter: { type: 'sunspec', transport: 'rtu', path: '/dev/ttyUSB0', stopBits: 1.5 } }, /path=\/adapter\/stopBits/],
    [{ ...good, adapter: { type: 'sunspec', transport: 'rtu', path: '/dev/ttyUSB0', unitId: 0 } }, /path=\/adapter\/unitId reason=must be >= 1/],
    [{ ...good, adapter: { type: 'sunspec', host: '192.168.1.20', path: '/dev/ttyUSB0' } }, /path=\/adapter\/path reason=must NOT have additional properties/],
    [{ ...good, adapter: { type: 'sunspec', host: '192.168.1.20', baudRate: 9600 } }, /path=\/adapter\/baudRate reason=must NOT have additional properties/],
    [{ ...good, adapter: { type: 'sim', initialSoc: 2 } }, /path=\/adapter\/initialSoc/],
    [{ ...good, adapter: { type: 'mqtt', url: 'mqtt://h' } }, /path=\/adapter\/sensors/],
    [{ ...good, battery: { capacityWh: -1 } }, /BAD_BATTERY_PARAM param=capacityWh/],
    [{ ...good, curves: { nope: 1 } }, /BAD_CURVE_PARAM param=nope/],
    [{ ...good, skewMs: 60_000, resignAfterMs: 90_000 }, /path=\/resignAfterMs/],
    [{ ...good, registry: undefined }, /path=\/registry reason=must have required property/],
    [{ ...good, market: { nope: 1 } }, /path=\/market\/nope/],
    [{ ...good, market: { floorPriceMcPerKWh: 1.5 } }, /path=\/market\/floorPriceMcPerKWh/],
    [{ ...good, market: { sellAboveSoc: 1.2 } }, /path=\/market\/sellAboveSoc/],
    [{ ...good, market: { revealWindowMs: 1000, revealMarginMs: 1000 } }, /path=\/market\/revealMarginMs/],
  ];
  for (const [v, re] of cases) assert.throws(() => parseHemConfig(v, '/base'), re, JSON.stringify(v)?.slice(0, 80));
});

test('[P2P] the market section: on by default with the documented defaults; the timing follows the interval', () => {
  const cfg = parseHemConfig(good, '/base');
  assert.deepEqual(cfg.market, { floorPriceMcPerKWh: 4_000, buyPriceMcPerKWh: 25_000, sellAboveSoc: 0.5, batteryShare: 0.5, minOrderWh: 10, enabled: true, leadMs: 60_000 });
  const short = parseHemConfig({ ...good, intervalMs: 6000, market: { enabled: false, buyPriceMcPerKWh: 30_000, gateClosureMs: 2000 } }, '/base');
  assert.equal(short.market.enabled, false);
  assert.equal(short.market.buyPriceMcPerKWh, 30_000);
  assert.equal(short.market.gateClosureMs, 2000);
  assert.equal(short.market.leadMs, 6000, "one interval ahead at short intervals");
});

test('a sunspec adapter config is taken as written', () => {
  const adapter = { type: 'sunspec', host: '192.168.1.20', port: 1502, unitId: 3, baseAddress: 40000, pollMs: 2000, invertMeter: true, batteryCoupling: 'dc' };
  assert.deepEqual(parseHemConfig({ ...good, adapter }, '/base').adapter, adapter);
  const tcp = { ...adapter, transport: 'tcp' };
  assert.deepEqual(parseHemConfig({ ...good, adapter: tcp }, '/base').adapter, tcp);
  const rtu = { type: 'sunspec', transport: 'rtu', path: '/dev/serial/by-id/usb-FTDI_FT232R-if00-port0', baudRate: 19200, parity: 'even', dataBits: 8, stopBits: 1, unitId: 126, timeoutMs: 1000 };
  assert.deepEqual(parseHemConfig({ ...good, adapter: rtu }, '/base').adapter, rtu);
});

test('relative paths resolve against the config file; unreadable or non-JSON files are clear errors', async () => {
  const dir = await tempDir();
  const f = join(dir, 'hem.json');
  await writeFile(f, JSON.stringify(good));
  const cfg = await loadHemConfig(f);
  assert.equal(cfg.dataDir, join(dir, 'data'));
  assert.equal(cfg.meterKeyFile, join(dir, 'data', 'meter-key.json'));
  await writeFile(f, '{ not json');
  await assert.rejects(loadHemConfig(f), /BAD_CONFIG .*not JSON/);
  await assert.rejects(loadHemConfig(join(dir, 'missing.json')), /BAD_CONFIG .*ENOENT/);
});

test('[P2P-UNTIL] market.until: parsed to ms; a time that does not parse is BAD_CONFIG naming /market', () => {
  const base = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
  const cfg = parseHemConfig({ ...base, market: { until: '2026-12-07T00:00:00.000Z' } }, '/base');
  assert.equal(cfg.market.untilMs, Date.parse('2026-12-07T00:00:00.000Z'));
  assert.throws(() => parseHemConfig({ ...base, market: { until: 'tomorrow at noon!!!!' } }, '/base'), (e: Error) => /BAD_CONFIG/.test(e.message) && /market/.test(e.message));
});
