import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { energyToWh, paymentMillicents, priceToMillicentsPerKWh, scaleFloor } from '../quantities.js';

test('wire quantities convert exactly through their decimal form, then floor', () => {
  assert.equal(energyToWh({ unit: 'kWh', value: 10 }), 10_000);
  assert.equal(energyToWh({ unit: 'kWh', value: 8.2 }), 8_200); // 8.2*1000 = 8199.999… in binary
  assert.equal(energyToWh({ unit: 'kWh', value: 0.0015 }), 1); // floor of 1.5 Wh
  assert.equal(energyToWh({ unit: 'kWh', value: 1e-7 }), 0);
  assert.equal(energyToWh({ unit: 'Wh', value: 12.9 }), 12);
  assert.equal(priceToMillicentsPerKWh({ unit: 'cents/kWh', value: 8.2 }), 8_200);
  assert.equal(priceToMillicentsPerKWh({ unit: 'cents/kWh', value: 0.1 + 0.2 }), 300); // 0.30000000000000004
  assert.equal(priceToMillicentsPerKWh({ unit: 'millicents/kWh', value: 999 }), 999);
  assert.equal(scaleFloor(1.5e21, 3), 1.5e24);
  assert.throws(() => scaleFloor(-1, 3), /OUT_OF_RANGE/);
});

test('scaleFloor agrees with exact decimal arithmetic on random values', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 999_999 }), (i, f) => {
      const text = `${i}.${String(f).padStart(6, '0')}`;
      const v = Number(text);
      const expected = Math.floor(Number(text.replace('.', '').replace(/^0+(?=\d)/, '')) / 1000);
      // the decimal form JSON carries for v may be shorter than text, never different in value
      assert.equal(scaleFloor(v, 3), expected);
    }),
    { numRuns: 2000 },
  );
});

test('payment = floor(Wh × millicents/kWh ÷ 1000), exact for large values', () => {
  assert.equal(paymentMillicents(10_000, 8_200), 82_000);
  assert.equal(paymentMillicents(1, 999), 0);
  assert.equal(paymentMillicents(1_000_000_000, 100_000_000), 100_000_000_000_000);
});
