/** Settlement [AUC-9] [AUC-10] with hand-computed answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measuredFlowWh, settleAward } from '../../core/auction/settleAward.js';
import { AuctionError } from '../../core/auction/auctionError.js';

// an award of 4 kWh at 8.2 cents/kWh, penalty 5 cents/kWh
const award = { energyWh: 4_000, priceMcPerKWh: 8_200 };
const penalty = 5_000;

test('full delivery: paid for the award, no penalty', () => {
  // delivered = min(4000, 4500) = 4000; payment = 4000 × 8200 / 1000 = 32800 mc; shortfall 0
  assert.deepEqual(settleAward(award, 4_500, penalty), { deliveredWh: 4_000, paymentMc: 32_800, penaltyMc: 0 });
  assert.deepEqual(settleAward(award, 4_000, penalty), { deliveredWh: 4_000, paymentMc: 32_800, penaltyMc: 0 });
});

test('partial delivery: paid for what was delivered, penalty on the shortfall', () => {
  // delivered 2500; payment = 2500 × 8200 / 1000 = 20500; shortfall 1500 × 5000 / 1000 = 7500
  assert.deepEqual(settleAward(award, 2_500, penalty), { deliveredWh: 2_500, paymentMc: 20_500, penaltyMc: 7_500 });
});

test('no delivery: no payment, penalty on the whole award', () => {
  // shortfall 4000 × 5000 / 1000 = 20000
  assert.deepEqual(settleAward(award, 0, penalty), { deliveredWh: 0, paymentMc: 0, penaltyMc: 20_000 });
});

test('rounding is floor, on payment and penalty alike', () => {
  // 333 × 8201 / 1000 = 2730.933 → 2730; shortfall 3667 × 1 / 1000 = 3.667 → 3
  assert.deepEqual(settleAward({ energyWh: 4_000, priceMcPerKWh: 8_201 }, 333, 1), { deliveredWh: 333, paymentMc: 2_730, penaltyMc: 3 });
  // large values stay exact: 1e9 Wh × 1e8 mc/kWh / 1000 = 1e14
  assert.equal(settleAward({ energyWh: 1_000_000_000, priceMcPerKWh: 100_000_000 }, 1_000_000_000, 0).paymentMc, 100_000_000_000_000);
});

test('the delivered flow is discharge for a buy auction, charge for a sell auction', () => {
  const reading = { chargedWh: 1_200, dischargedWh: 3_400 };
  assert.equal(measuredFlowWh('buy', reading), 3_400);
  assert.equal(measuredFlowWh('sell', reading), 1_200);
});

test('rejects non-integer or negative quantities with INVALID_SETTLEMENT', () => {
  const bad: [() => unknown, string][] = [
    [() => settleAward(award, -1, penalty), 'measuredWh'],
    [() => settleAward(award, 1.5, penalty), 'measuredWh'],
    [() => settleAward(award, 10, Number.NaN), 'penaltyMcPerKWh'],
    [() => settleAward({ energyWh: -4, priceMcPerKWh: 1 }, 0, 0), 'energyWh'],
    [() => settleAward({ energyWh: 4, priceMcPerKWh: 2 ** 53 }, 0, 0), 'priceMcPerKWh'],
    [() => settleAward(null as unknown as typeof award, 0, 0), 'energyWh'],
  ];
  for (const [fn, field] of bad) {
    assert.throws(fn, (e: unknown) => e instanceof AuctionError && e.code === 'INVALID_SETTLEMENT' && e.message.includes(`field=${field}`));
  }
});
