/**
 * Welfare of a market clearing, at the orders' own prices (whatever the pricing rule):
 *
 *   welfare = Σ over buy fills of bid × Wh − Σ over sell fills of ask × Wh
 *
 * in millicents/kWh × Wh (= 1/1000 millicent; divide by 1000 for millicents). It is what
 * buyers would have paid at most less what sellers asked at least: how much the trades
 * are worth to the homes, the objective of the linear programme in README.md. Summed
 * exactly (bigint), returned as the nearest number (exact below 2^53). Used by the tests
 * and the benchmark; the chain does not need it.
 */
import { MarketError } from './marketError.js';
import type { MarketBook, MarketResult } from './clearMarket.js';

export function marketWelfare(book: MarketBook, result: MarketResult): number {
  const priceOf = new Map<string, number>();
  for (const o of book.orders) priceOf.set(o.orderId, o.priceMcPerKWh);
  let welfare = 0n;
  for (const f of result.fills) {
    const price = priceOf.get(f.orderId);
    if (price === undefined) throw new MarketError('INVALID_BOOK', { field: 'orders', reason: 'a fill names an order the book does not hold', orderId: f.orderId });
    const value = BigInt(price) * BigInt(f.energyWh);
    welfare += f.side === 'buy' ? value : -value;
  }
  return Number(welfare);
}
