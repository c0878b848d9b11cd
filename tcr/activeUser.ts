/**
 * An active user (DESIGN §8b: "prosumers and active users can start an auction"): a home
 * without PV or battery. For one delivery interval it
 *   - buys its forecast load L (its whole deficit, there is no PV) at P_cap, and
 *   - offers curtailment of the flexible part F ≤ L of that load (e.g. the flexible part
 *     of a heat pump or an EV, `thermalEnergyRange` / `evEnergyRange` max − min) as a
 *     sell order at VOLL, its value of lost load: it gives up F only when the market
 *     pays at least what F is worth to it.
 * Orders: [buy ⌊L⌋ at P_cap], [sell ⌊F⌋ at VOLL], each only if ≥ minOrderWh.
 *
 * At a clearing price p the user ends up: p ≤ P_cap and p < VOLL → buys L (keeps F);
 * p ≥ VOLL → sells F (sheds F; if also p ≤ P_cap it buys L, net L − F); p > P_cap → its
 * buy is not filled and the retailer serves what it still uses.
 *
 * The sale nets against the buy at the meter: with no PV or battery the home cannot
 * export, so a sale is kept only out of energy it has bought (`roomLeft`). Given the room
 * left for the interval, the orders are cut to it: buy ⌊min(L, buy room)⌋, sell
 * ⌊min(F, sell room)⌋ — after its buy has filled, the user offers curtailment up to what
 * it bought; before, none.
 */
import { MAX_PRICE_MC_PER_KWH } from './curves.js';
import { DEFAULT_LOAD_PRICING, type MarketOrder } from './marketOrder.js';
import { readDeviceParams, requireParam } from './readDeviceParams.js';
import type { Room } from './commitments.js';
import { TcrError } from './tcrError.js';

export interface ActiveUserParams {
  /** P_cap: the most paid for the load, millicents/kWh (about the retail tariff). */
  readonly priceCapMcPerKWh: number;
  /** VOLL: value of the flexible load to the user; curtailment is sold at this price, millicents/kWh. */
  readonly valueOfLostLoadMcPerKWh: number;
  /** smallest order worth sending, Wh (integer ≥ 1). */
  readonly minOrderWh: number;
}

/** Defaults: P_cap 30 c/kWh (as the devices), VOLL 60 c/kWh (sheds only when energy is scarce), 1 Wh. */
export const DEFAULT_ACTIVE_USER_PARAMS: ActiveUserParams = Object.freeze({
  priceCapMcPerKWh: DEFAULT_LOAD_PRICING.priceCapMcPerKWh,
  valueOfLostLoadMcPerKWh: 60_000,
  minOrderWh: 1,
});

export interface ActiveUserForecast {
  /** L: expected consumption over the interval, Wh. */
  readonly loadWh: number;
  /** F: the part of L the user can shed, Wh, 0 ≤ F ≤ L. */
  readonly curtailableWh: number;
}

/** Validated parameters; missing fields take the defaults. Throws `BAD_ACTIVE_USER_PARAM param=… value=… need=…`. */
export function createActiveUserParams(input: Partial<Record<keyof ActiveUserParams, unknown>> = {}): ActiveUserParams {
  const p = readDeviceParams('BAD_ACTIVE_USER_PARAM', DEFAULT_ACTIVE_USER_PARAMS, input);
  const need = (param: keyof ActiveUserParams, ok: boolean, rule: string): void => requireParam('BAD_ACTIVE_USER_PARAM', p, param, ok, rule);
  for (const k of ['priceCapMcPerKWh', 'valueOfLostLoadMcPerKWh'] as const) {
    need(k, Number.isInteger(p[k]) && p[k] >= 0 && p[k] <= MAX_PRICE_MC_PER_KWH, `integer 0..${MAX_PRICE_MC_PER_KWH}`);
  }
  need('minOrderWh', Number.isInteger(p.minOrderWh) && p.minOrderWh >= 1 && p.minOrderWh <= 1_000_000_000, 'integer >= 1');
  return Object.freeze(p);
}

function checkActiveUserForecast(f: ActiveUserForecast): void {
  for (const k of ['loadWh', 'curtailableWh'] as const) {
    const v = f?.[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TcrError('BAD_FORECAST', { field: k, value: String(v), need: 'finite, >= 0' });
  }
  if (f.curtailableWh > f.loadWh) throw new TcrError('BAD_FORECAST', { field: 'curtailableWh', value: f.curtailableWh, need: `<= loadWh (${f.loadWh})` });
}

/**
 * [buy ⌊L⌋ at P_cap], [sell ⌊F⌋ at VOLL] (module comment), each cut to `room` when given
 * (`roomLeft(…)` for the interval). Throws `BAD_FORECAST` for a bad forecast.
 */
export function activeUserOrders(forecast: ActiveUserForecast, p: ActiveUserParams, room?: Pick<Room, 'sellWh' | 'buyWh'>): MarketOrder[] {
  checkActiveUserForecast(forecast);
  if (room !== undefined) {
    for (const k of ['sellWh', 'buyWh'] as const) {
      if (!Number.isSafeInteger(room[k]) || room[k] < 0) throw new TcrError('BAD_COMMITMENT', { field: k, value: String(room[k]), need: 'integer >= 0' });
    }
  }
  const orders: MarketOrder[] = [
    { side: 'buy', energyWh: Math.floor(Math.min(forecast.loadWh, room?.buyWh ?? Infinity)), priceMcPerKWh: p.priceCapMcPerKWh },
    { side: 'sell', energyWh: Math.floor(Math.min(forecast.curtailableWh, room?.sellWh ?? Infinity)), priceMcPerKWh: p.valueOfLostLoadMcPerKWh },
  ];
  return orders.filter((o) => o.energyWh >= p.minOrderWh);
}
