/**
 * The controller's decision for one auction (DESIGN §1 step 2, §6, §8).
 *
 * Aggregator side `buy`  → the home may offer to SELL (discharge, export).
 * Aggregator side `sell` → the home may bid to BUY (charge, import).
 *
 * The home's own needs over the delivery interval come first [TCR-HOME]:
 *  - offer: the expected deficit D = max(0, load − PV) is served by the battery first.
 *    The curve is read at the SOC left after serving D, with D taken off the interval's
 *    discharge capacity r_dis,max·Δt. If the battery cannot serve all of D, nothing is
 *    offered (every Wh it could deliver is the home's own). A PV surplus adds nothing
 *    (it is exported anyway and is not battery delivery).
 *  - bid: the expected surplus S = max(0, PV − load) charges the battery first. The curve
 *    is read at the SOC after absorbing S (as far as (1) and (4) allow), with the absorbed
 *    energy taken off r_ch,max·Δt. A deficit is imported anyway and does not change the bid.
 *
 * A bid is made only where it can be accepted [TCR-LIMIT]: offer only if P_off ≤ the
 * aggregator's limit, bid only if P_bid ≥ the limit. The home quotes its own curve price
 * (truthful); the auction's pricing rule sets what it is paid. Quantity ≤ the auction's
 * energy. Integers out: Wh and millicents/kWh, floored (P_off rests on ⌈C_d⌉, see curves.ts).
 */
import type { AuctionOpen } from '../schemas/types.js';
import { energyToWh, priceToMillicentsPerKWh } from '../wire/quantities.js';
import { bidPriceMcPerKWh, bidQuantityWh, offerPriceMcPerKWh, offerQuantityWh } from './curves.js';
import { MAX_INTERVAL_S, stepBattery, checkState, type BatteryState } from './stepBattery.js';
import type { TcrParams } from './tcrParams.js';
import { TcrError } from './tcrError.js';

/** Short forecast of the home over the delivery interval, Wh. */
export interface HomeForecast {
  readonly pvWh: number;
  readonly loadWh: number;
}

export interface TcrBid {
  readonly type: 'sell' | 'buy';
  readonly energyWh: number;
  readonly priceMcPerKWh: number;
}

export type NoBidReason =
  | 'BAD_DELIVERY_INTERVAL' // delivery.end ≤ start, unparsable, or longer than a day
  | 'NOTHING_ASKED' // the auction's energy is 0 Wh
  | 'HOME_NEEDS_IT' // the battery cannot even cover the home's own deficit
  | 'BATTERY_EMPTY' // offer curve gives 0 (SOC at SOC_min or no discharge capacity left)
  | 'BATTERY_FULL' // bid curve gives 0 (SOC at SOC_max or no charge capacity left)
  | 'PRICE_ABOVE_LIMIT' // our lowest selling price > the aggregator's buying limit
  | 'PRICE_BELOW_LIMIT' // our highest buying price < the aggregator's selling limit
  | 'TOO_SMALL'; // quantity under curves.minBidWh after flooring

/** What the decision was based on (for logs and the home's state message). */
export interface DecisionTrace {
  readonly intervalS?: number;
  readonly auctionWh?: number;
  readonly limitMcPerKWh?: number;
  /** home's own use of the battery before the market: D (offer) or S absorbed (bid), Wh. */
  readonly homeWh?: number;
  /** SOC after the home's own use, where the curves are read. */
  readonly projectedSoc?: number;
  /** curve quantity before the auction cap and flooring, Wh. */
  readonly curveWh?: number;
  /** curve price, millicents/kWh. */
  readonly priceMcPerKWh?: number;
}

export type Decision =
  | { readonly bid: TcrBid; readonly reason: null; readonly trace: DecisionTrace }
  | { readonly bid: null; readonly reason: NoBidReason; readonly trace: DecisionTrace };

function checkForecast(f: HomeForecast): void {
  for (const k of ['pvWh', 'loadWh'] as const) {
    const v = f?.[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new TcrError('BAD_FORECAST', { field: k, value: String(v), need: 'finite, >= 0' });
    }
  }
}

/** Length of the delivery interval in seconds, or null if it is not a usable interval. */
export function deliverySeconds(a: AuctionOpen): number | null {
  const s = (Date.parse(a.delivery.end) - Date.parse(a.delivery.start)) / 1000;
  return Number.isFinite(s) && s > 0 && s <= MAX_INTERVAL_S ? s : null;
}

/**
 * Decides the bid or offer for `auction` from the battery `state`. Pure: same inputs,
 * same answer. Throws `TcrError` only for a bad state or forecast (caller mistakes).
 */
export function decide(auction: AuctionOpen, state: BatteryState, params: TcrParams, forecast: HomeForecast): Decision {
  checkState(state);
  checkForecast(forecast);
  const { battery: b, curves: c } = params;
  const intervalS = deliverySeconds(auction);
  if (intervalS === null) return { bid: null, reason: 'BAD_DELIVERY_INTERVAL', trace: {} };
  const auctionWh = energyToWh(auction.energy);
  const limitMcPerKWh = priceToMillicentsPerKWh(auction.limitPrice);
  const base = { intervalS, auctionWh, limitMcPerKWh };
  if (auctionWh === 0) return { bid: null, reason: 'NOTHING_ASKED', trace: base };

  if (auction.side === 'buy') {
    // [TCR-HOME] serve the home's deficit first.
    const deficitWh = Math.max(0, forecast.loadWh - forecast.pvWh);
    const home = stepBattery(state, { chargeWh: 0, dischargeWh: deficitWh }, b, intervalS);
    const projectedSoc = home.state.soc;
    const trace0 = { ...base, homeWh: deficitWh, projectedSoc };
    if (home.dischargedWh < deficitWh) return { bid: null, reason: 'HOME_NEEDS_IT', trace: trace0 };
    const curveWh = offerQuantityWh(projectedSoc, b, c, intervalS, deficitWh);
    const priceMcPerKWh = offerPriceMcPerKWh(projectedSoc, b, c);
    const trace = { ...trace0, curveWh, priceMcPerKWh };
    if (curveWh <= 0) return { bid: null, reason: 'BATTERY_EMPTY', trace };
    // [TCR-LIMIT] aggregator buys at most at its limit: offer only if our price ≤ limit.
    if (priceMcPerKWh > limitMcPerKWh) return { bid: null, reason: 'PRICE_ABOVE_LIMIT', trace };
    const energyWh = Math.floor(Math.min(curveWh, auctionWh));
    if (energyWh < c.minBidWh) return { bid: null, reason: 'TOO_SMALL', trace };
    return { bid: { type: 'sell', energyWh, priceMcPerKWh }, reason: null, trace };
  }

  // [TCR-HOME] the home's surplus charges the battery first.
  const surplusWh = Math.max(0, forecast.pvWh - forecast.loadWh);
  const home = stepBattery(state, { chargeWh: surplusWh, dischargeWh: 0 }, b, intervalS);
  const projectedSoc = home.state.soc;
  const curveWh = bidQuantityWh(projectedSoc, b, c, intervalS, home.chargedWh);
  const priceMcPerKWh = bidPriceMcPerKWh(projectedSoc, b, c);
  const trace = { ...base, homeWh: home.chargedWh, projectedSoc, curveWh, priceMcPerKWh };
  if (curveWh <= 0) return { bid: null, reason: 'BATTERY_FULL', trace };
  // [TCR-LIMIT] aggregator sells at least at its limit: bid only if our price ≥ limit.
  if (priceMcPerKWh < limitMcPerKWh) return { bid: null, reason: 'PRICE_BELOW_LIMIT', trace };
  const energyWh = Math.floor(Math.min(curveWh, auctionWh));
  if (energyWh < c.minBidWh) return { bid: null, reason: 'TOO_SMALL', trace };
  return { bid: { type: 'buy', energyWh, priceMcPerKWh }, reason: null, trace };
}
