import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seasonalMeanForecast, seasonalNaiveForecast, forecastError } from '../core/forecast.js';
import { detectDeviation } from '../core/deviation.js';
import { parsePriceCsv, priceAt, defaultPriceAt, PriceSeriesError } from '../core/priceSeries.js';

test('seasonal mean weights the same weekday and falls back to the prior', () => {
  // 3 days of 2 slots; target weekday 2; day 0 is weekday 2 (weight 2)
  const history = [[100, 10], [200, undefined], [400, 30]];
  const f = seasonalMeanForecast(history, [2, 3, 4], 2, [7, 8], { slotsPerDay: 2 });
  // slot 0: (2·100 + 200 + 400) / 4 = 200; slot 1: (2·10 + 30) / 3 = 16.67 → floor 16
  assert.deepEqual(f, [200, 16]);
  assert.deepEqual(seasonalMeanForecast([], [], 0, [7, 8], { slotsPerDay: 2 }), [7, 8]);
  assert.deepEqual(seasonalNaiveForecast(history, [7, 8]), [400, 30]);
  assert.throws(() => seasonalMeanForecast([], [], 0, [1], { slotsPerDay: 2 }), /BAD_PRIOR/);
  assert.deepEqual(forecastError([10, 20], [12, undefined]), { maeWh: 2, biasWh: 2, n: 1 });
});

test('deviation: short → buy, long → sell, within threshold → nothing', () => {
  assert.deepEqual(detectDeviation(1000, 1600, { thresholdWh: 500 }), { side: 'buy', energyWh: 600, deviationWh: 600 });
  assert.deepEqual(detectDeviation(1000, 300, { thresholdWh: 500 }), { side: 'sell', energyWh: 700, deviationWh: -700 });
  assert.equal(detectDeviation(1000, 1500, { thresholdWh: 500 }), null);
  // the relative threshold wins when larger: 10% of 10,000 = 1,000
  assert.equal(detectDeviation(10_000, 10_900, { thresholdWh: 500, thresholdFraction: 0.1 }), null);
  assert.deepEqual(detectDeviation(0, 9_000, { thresholdWh: 100, maxEnergyWh: 5_000 }), { side: 'buy', energyWh: 5_000, deviationWh: 9_000 });
});

test('price CSV parses to integer millicents and is looked up by time', () => {
  const s = parsePriceCsv('start,buy_cents_per_kwh,sell_cents_per_kwh\n2026-11-21T00:00:00.000Z,24.5,6.1\n2026-11-21T12:00:00.000Z,8.2,2\n');
  assert.deepEqual(s.map((p) => [p.buyMcPerKWh, p.sellMcPerKWh]), [[24_500, 6_100], [8_200, 2_000]]);
  assert.equal(priceAt(s, Date.parse('2026-11-21T11:59:59Z')).buyMcPerKWh, 24_500);
  assert.equal(priceAt(s, Date.parse('2026-11-21T12:00:00Z')).buyMcPerKWh, 8_200);
  assert.equal(priceAt(s, Date.parse('2026-11-20T00:00:00Z')).buyMcPerKWh, 24_500);
  const bad: [string, string][] = [
    ['a,b,c\n', 'BAD_HEADER'],
    ['start,buy_cents_per_kwh,sell_cents_per_kwh\n', 'EMPTY'],
    ['start,buy_cents_per_kwh,sell_cents_per_kwh\nnot-a-date,1,1\n', 'BAD_DATE'],
    ['start,buy_cents_per_kwh,sell_cents_per_kwh\n2026-11-21T00:00:00Z,-1,1\n', 'BAD_PRICE'],
    ['start,buy_cents_per_kwh,sell_cents_per_kwh\n2026-11-21T00:00:00Z,1\n', 'BAD_ROW'],
    ['start,buy_cents_per_kwh,sell_cents_per_kwh\n2026-11-21T01:00:00Z,1,1\n2026-11-21T00:00:00Z,1,1\n', 'NOT_ASCENDING'],
  ];
  for (const [text, code] of bad) assert.throws(() => parsePriceCsv(text), (e: unknown) => e instanceof PriceSeriesError && e.code === code, code);
});

test('the default price shape peaks in the evening and dips at solar noon', () => {
  const at = (h: number) => defaultPriceAt(h * 60).buyMcPerKWh;
  assert.ok(at(19) > at(13));
  assert.ok(at(19) > at(3));
  assert.ok(defaultPriceAt(13 * 60).sellMcPerKWh >= 1000);
  for (let m = 0; m < 1440; m += 15) assert.ok(defaultPriceAt(m).buyMcPerKWh > defaultPriceAt(m).sellMcPerKWh);
});

test('the example price series (aggregator/examples/prices.csv) parses: 24 hourly rows, evening peak', async () => {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(new URL('../../../aggregator/examples/prices.csv', import.meta.url), 'utf8');
  const s = parsePriceCsv(text);
  assert.equal(s.length, 24);
  const at = (h: number) => priceAt(s, Date.parse(`2026-11-21T${String(h).padStart(2, '0')}:30:00Z`)).buyMcPerKWh;
  assert.ok(at(19) > at(13) && at(19) > at(3));
});
