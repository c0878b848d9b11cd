/** The worked example of tcr/README.md, reproduced exactly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createTcrParams, decide, stepBattery } from '../index.js';
import { auction } from './arbitraries.js';

const readme = readFileSync(new URL('../../../tcr/README.md', import.meta.url), 'utf8');
const params = createTcrParams();

function cents(c: number): number {
  return c * 1000;
}

test('worked example: offer — sell 759 Wh at 22,527 millicents/kWh', () => {
  const a = { ...auction('buy', 0, 0), energy: { unit: 'kWh' as const, value: 2 }, limitPrice: { unit: 'cents/kWh' as const, value: 30 } };
  const d = decide(a, { soc: 0.7 }, params, { pvWh: 300, loadWh: 500 });
  assert.deepEqual(d.bid, { type: 'sell', energyWh: 759, priceMcPerKWh: 22_527 });
  assert.equal(d.trace.homeWh, 200);
  assert.ok(Math.abs((d.trace.projectedSoc ?? 0) - (0.7 - 200 / 9_500)) < 1e-15);
  assert.ok(Math.abs((d.trace.curveWh ?? 0) - 759.868_421) < 1e-6);
  assert.match(readme, /offer \*\*sell 759 Wh at 22,527 millicents\/kWh\*\*/);

  const low = decide({ ...a, limitPrice: { unit: 'cents/kWh', value: 20 } }, { soc: 0.7 }, params, { pvWh: 300, loadWh: 500 });
  assert.equal(low.bid, null);
  assert.equal(low.reason, 'PRICE_ABOVE_LIMIT');
  assert.equal(cents(20), 20_000);
  assert.match(readme, /no offer, PRICE_ABOVE_LIMIT/);
});

test('worked example: bid — buy 678 Wh at 19,287 millicents/kWh', () => {
  const a = { ...auction('sell', 0, 0), energy: { unit: 'kWh' as const, value: 3 }, limitPrice: { unit: 'cents/kWh' as const, value: 10 } };
  const d = decide(a, { soc: 0.3 }, params, { pvWh: 400, loadWh: 100 });
  assert.deepEqual(d.bid, { type: 'buy', energyWh: 678, priceMcPerKWh: 19_287 });
  assert.equal(d.trace.homeWh, 300);
  assert.ok(Math.abs((d.trace.projectedSoc ?? 0) - 0.3285) < 1e-15);
  assert.match(readme, /bid \*\*buy 678 Wh at 19,287 millicents\/kWh\*\*/);

  const high = decide({ ...a, limitPrice: { unit: 'cents/kWh', value: 20 } }, { soc: 0.3 }, params, { pvWh: 400, loadWh: 100 });
  assert.equal(high.bid, null);
  assert.equal(high.reason, 'PRICE_BELOW_LIMIT');
  assert.match(readme, /no bid, PRICE_BELOW_LIMIT/);
});

test('worked example: step — home 200 Wh + offer 759 Wh in one interval', () => {
  const r = stepBattery({ soc: 0.7 }, { chargeWh: 0, dischargeWh: 959 }, params.battery, 900);
  assert.equal(r.dischargedWh, 959);
  assert.equal(r.limitedBy, 'none');
  assert.ok(Math.abs(r.state.soc - (0.7 - 959 / 9_500)) < 1e-15);
  assert.equal(r.dischargeRateW, 3_836);
  assert.equal(r.degradationCostMc, 19_180);
  assert.match(readme, /degradation cost ⌊959 × 20,000\/1,000⌋ = \*\*19,180 millicents\*\*/);
});
