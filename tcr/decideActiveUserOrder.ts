/**
 * [P2P-ACTIVE] An active user's P2P order for one delivery interval: a home without PV or
 * battery whose EV charger or heat pump is flexible. Pure: same inputs, same answer;
 * integers out.
 *
 * The chain takes one order per interval per meter, so the base load's deficit
 * B = ⌊max(0, load − PV)⌋ and the device's orders (evOrders / thermalOrders: the must part
 * M at P_cap, the flexible part F at the urgency price P_flex) become one buy order:
 *
 *   F > 0 and (no clearing price seen yet, or P_flex ≥ the last clearing price p̂):
 *       buy B + M + F at P_flex   — the device would take F at that price, and B and M are
 *                                   worth more to the home than P_flex, so filling them
 *                                   at it is never against its will;
 *   otherwise:
 *       buy B + M at P_cap when M > 0, else B at `buyPriceMcPerKWh` (about the retail
 *       tariff) — F waits for a cheaper interval (its price rises as its time runs out).
 *
 * M is never bid above P_cap nor F above P_flex. B rides at the device's price: below the
 * retail price when P_flex is, and up to P_cap when the device is urgent (the urgency pays
 * for it: one order cannot price its parts apart). When the clearing price is above the
 * order's, nothing fills and the retailer serves B and M as it would anyway.
 *
 * [P2P-ACTIVE-FILL] A fill of f Wh: the base load takes what it uses, so the device is
 * planned max(0, f − B) Wh (within M + F); whatever the fill, the device runs at least its
 * must part (the adapter's rule), bought from the retailer when not from the market.
 */
import type { MarketOrder } from './marketOrder.js';
import type { P2pOrder } from './decideMarketOrder.js';
import { TcrError } from './tcrError.js';

export interface ActiveUserOrderInput {
  /** expected PV and base load (the device excluded) over the delivery interval, Wh */
  readonly forecast: { readonly pvWh: number; readonly loadWh: number };
  /** the device's buy orders for the interval (evOrders / thermalOrders) */
  readonly deviceOrders: readonly MarketOrder[];
  /** P_cap of the device: the price of its must part, millicents/kWh */
  readonly priceCapMcPerKWh: number;
  /** the base deficit's price when it goes alone, millicents/kWh (MarketOrderParams.buyPriceMcPerKWh) */
  readonly buyPriceMcPerKWh: number;
  /** the last clearing price the home has seen, or null */
  readonly lastClearingMcPerKWh: number | null;
  readonly minOrderWh: number;
}

export interface ActiveUserOrderTrace {
  readonly baseDeficitWh: number;
  readonly mustWh: number;
  readonly flexWh: number;
  readonly flexPriceMcPerKWh: number | null;
  readonly lastClearingMcPerKWh: number | null;
  /** all: B + M + F at P_flex; must: B + M (F waits) */
  readonly mode: 'all' | 'must';
}

export type ActiveUserOrderDecision =
  | { readonly order: P2pOrder; readonly reason: null; readonly trace: ActiveUserOrderTrace }
  | { readonly order: null; readonly reason: 'BALANCED' | 'TOO_SMALL'; readonly trace: ActiveUserOrderTrace };

/** [P2P-ACTIVE] the one buy order (module comment). Throws `BAD_FORECAST` / `BAD_REQUEST` for bad inputs. */
export function decideActiveUserOrder(i: ActiveUserOrderInput): ActiveUserOrderDecision {
  for (const k of ['pvWh', 'loadWh'] as const) {
    const v = i.forecast?.[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TcrError('BAD_FORECAST', { field: k, value: String(v), need: 'finite, >= 0' });
  }
  for (const o of i.deviceOrders) {
    if (o.side !== 'buy' || !Number.isSafeInteger(o.energyWh) || o.energyWh < 0 || !Number.isSafeInteger(o.priceMcPerKWh)) {
      throw new TcrError('BAD_REQUEST', { deviceOrder: JSON.stringify(o), need: 'buy, integer energy and price' });
    }
  }
  const baseDeficitWh = Math.floor(Math.max(0, i.forecast.loadWh - i.forecast.pvWh));
  // evOrders / thermalOrders: the must part at P_cap, the flexible part below it
  const must = i.deviceOrders.filter((o) => o.priceMcPerKWh >= i.priceCapMcPerKWh);
  const flex = i.deviceOrders.filter((o) => o.priceMcPerKWh < i.priceCapMcPerKWh);
  const mustWh = must.reduce((n, o) => n + o.energyWh, 0);
  const flexWh = flex.reduce((n, o) => n + o.energyWh, 0);
  const flexPriceMcPerKWh = flex.length ? Math.min(...flex.map((o) => o.priceMcPerKWh)) : null;
  const p = i.lastClearingMcPerKWh;
  const all = flexWh > 0 && flexPriceMcPerKWh !== null && (p === null || flexPriceMcPerKWh >= p);
  const trace: ActiveUserOrderTrace = { baseDeficitWh, mustWh, flexWh, flexPriceMcPerKWh, lastClearingMcPerKWh: p, mode: all ? 'all' : 'must' };
  const energyWh = all ? baseDeficitWh + mustWh + flexWh : baseDeficitWh + mustWh;
  if (baseDeficitWh + mustWh + flexWh === 0) return { order: null, reason: 'BALANCED', trace };
  if (energyWh < i.minOrderWh) return { order: null, reason: 'TOO_SMALL', trace };
  const priceMcPerKWh = all ? flexPriceMcPerKWh! : mustWh > 0 ? i.priceCapMcPerKWh : i.buyPriceMcPerKWh;
  return { order: { side: 'buy', energyWh, priceMcPerKWh }, reason: null, trace };
}

/** [P2P-ACTIVE-FILL] the device's planned energy for a fill of `filledWh`: max(0, f − B), at most M + F. */
export function deviceWhForFill(filledWh: number, trace: Pick<ActiveUserOrderTrace, 'baseDeficitWh' | 'mustWh' | 'flexWh'>): number {
  return Math.min(trace.mustWh + trace.flexWh, Math.max(0, filledWh - trace.baseDeficitWh));
}
