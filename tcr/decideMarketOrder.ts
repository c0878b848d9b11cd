/**
 * The controller's order in the peer-to-peer market for one delivery interval (DESIGN §8b,
 * poe-chain/core/market/README.md). Pure: same inputs, same answer; integers out.
 *
 * The P2P market settles a home on its **net** flow of the interval (sell: net export
 * max(0, P + discharged − C − charged), buy: net import), after what the aggregator's awards
 * already took of it ([MKT-SETTLE]). So an order is a change of the home's net flow, and for
 * a battery home the battery makes it: with S = max(0, PV − load), D = max(0, load − PV) and
 * the awards' committed battery energy a (+ charge, − discharge; Ca = max(0, a),
 * Da = max(0, −a)):
 *
 * [P2P-SIDE] A battery home sells when an award already discharges it (Da > 0), or when no
 *          award charges it and it has a PV surplus or a normalised SOC at or above
 *          `sellAboveSoc`; otherwise it buys. A home without a battery sells its surplus and
 *          buys its deficit.
 * [P2P-SELL] own = D + Da: the battery first covers the home's deficit and the discharge
 *          awards (an award's set point replaces self-consumption, so the deficit is the
 *          battery's too). If it cannot (stepBattery cuts it), no order (HOME_NEEDS_IT).
 *          At the SOC left after that, the offer curve gives Q_off (its rate less own) and
 *          P_off (≥ C_d); the order is ⌊S + share·Q_off⌋ Wh at P_off: the surplus it would
 *          otherwise store, and battery energy. Battery request: discharge own + E − S.
 * [P2P-BUY] own = S + Ca: the battery first stores the surplus and the charge awards (BATTERY_FULL
 *          if it cannot). At the SOC after that, the bid curve gives Q_bid and P_bid; the
 *          order is ⌊D + share·Q_bid⌋ Wh at P_bid: the deficit it would otherwise cover from
 *          the battery, and charge. Battery request: charge own + E − D.
 * [P2P-PLAIN] Without a battery: sell ⌊S⌋ at `floorPriceMcPerKWh` (about a feed-in tariff),
 *          buy ⌊D⌋ at up to `buyPriceMcPerKWh` (about the retail tariff).
 * [P2P-EXACT] A battery order is made only if stepBattery does the whole battery request
 *          (limitedBy 'none') from the given state: never more than the battery can do on top
 *          of the home's own use and the awards. Nothing under `minOrderWh`.
 * [P2P-SHARE] `batteryShare` (0..1) of the curve quantity goes to the P2P market; the rest of
 *          the interval's battery stays for the aggregator's auctions of the same interval.
 *
 * `fillBatteryWh` turns a fill into the battery energy it adds to the interval's set point;
 * `projectSoc` carries the SOC from now to the start of the delivery interval.
 */
import type { BatteryParams } from './batteryParams.js';
import { bidPriceMcPerKWh, bidQuantityWh, MAX_PRICE_MC_PER_KWH, normalizedSoc, offerPriceMcPerKWh, offerQuantityWh } from './curves.js';
import type { HomeForecast } from './decide.js';
import { checkInterval, checkState, stepBattery, type BatteryRequest, type BatteryState } from './stepBattery.js';
import type { TcrParams } from './tcrParams.js';
import { TcrError } from './tcrError.js';

/** How a home prices and sizes its P2P orders. */
export interface MarketOrderParams {
  /** [P2P-PLAIN] a home without a battery sells its surplus at this price, millicents/kWh */
  readonly floorPriceMcPerKWh: number;
  /** [P2P-PLAIN] a home without a battery buys its deficit at up to this price, millicents/kWh */
  readonly buyPriceMcPerKWh: number;
  /** [P2P-SIDE] normalised SOC at or above which a battery home sells without a PV surplus */
  readonly sellAboveSoc: number;
  /** [P2P-SHARE] fraction of the curve quantity offered or bid in the P2P market */
  readonly batteryShare: number;
  /** smallest order, Wh (integer ≥ 1) */
  readonly minOrderWh: number;
}

/** Defaults: a feed-in-like floor of 4 c/kWh, a retail-like 25 c/kWh, half the battery. */
export const DEFAULT_MARKET_ORDER_PARAMS: MarketOrderParams = Object.freeze({
  floorPriceMcPerKWh: 4_000,
  buyPriceMcPerKWh: 25_000,
  sellAboveSoc: 0.5,
  batteryShare: 0.5,
  minOrderWh: 10,
});

const KEYS = Object.keys(DEFAULT_MARKET_ORDER_PARAMS) as (keyof MarketOrderParams)[];

/** Validated parameters; missing fields take the defaults. Throws `BAD_MARKET_PARAM`. */
export function createMarketOrderParams(input: Partial<Record<keyof MarketOrderParams, unknown>> = {}): MarketOrderParams {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new TcrError('BAD_MARKET_PARAM', { param: '(input)', need: 'object' });
  for (const k of Object.keys(input)) {
    if (!(KEYS as string[]).includes(k)) throw new TcrError('BAD_MARKET_PARAM', { param: k, need: 'known key' });
  }
  const out = {} as Record<keyof MarketOrderParams, number>;
  for (const k of KEYS) {
    const v = input[k] ?? DEFAULT_MARKET_ORDER_PARAMS[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TcrError('BAD_MARKET_PARAM', { param: k, value: String(v), need: 'finite number' });
    out[k] = v;
  }
  const need = (ok: boolean, param: keyof MarketOrderParams, rule: string): void => {
    if (!ok) throw new TcrError('BAD_MARKET_PARAM', { param, value: out[param], need: rule });
  };
  for (const k of ['floorPriceMcPerKWh', 'buyPriceMcPerKWh'] as const) {
    need(Number.isInteger(out[k]) && out[k] >= 0 && out[k] <= MAX_PRICE_MC_PER_KWH, k, `integer 0..${MAX_PRICE_MC_PER_KWH}`);
  }
  need(out.sellAboveSoc >= 0 && out.sellAboveSoc <= 1, 'sellAboveSoc', '0 <= sellAboveSoc <= 1');
  need(out.batteryShare >= 0 && out.batteryShare <= 1, 'batteryShare', '0 <= batteryShare <= 1');
  need(Number.isInteger(out.minOrderWh) && out.minOrderWh >= 1 && out.minOrderWh <= 1_000_000_000, 'minOrderWh', 'integer 1..1000000000');
  return Object.freeze(out);
}

export interface MarketOrderInput {
  /** battery state at the start of the delivery interval (projectSoc) */
  readonly state: BatteryState;
  readonly params: TcrParams;
  /** false: no battery to steer (PV only, or a plain consumer) */
  readonly hasBattery: boolean;
  /** length of the delivery interval, home-time seconds */
  readonly intervalS: number;
  /** expected PV and load over the delivery interval, Wh */
  readonly forecast: HomeForecast;
  /** battery energy already committed to the aggregator's awards in the interval, Wh (+ charge, − discharge) */
  readonly awardWh: number;
  readonly market: MarketOrderParams;
}

export interface P2pOrder {
  /** the home's side: sell = it exports, buy = it imports */
  readonly side: 'sell' | 'buy';
  readonly energyWh: number;
  /** sell: the least it accepts; buy: the most it pays */
  readonly priceMcPerKWh: number;
}

export type NoOrderReason =
  | 'BALANCED' // no battery, and neither a surplus nor a deficit worth an order
  | 'HOME_NEEDS_IT' // the battery cannot even cover the home's deficit and the discharge awards
  | 'BATTERY_FULL' // cannot store the surplus and the charge awards, or the bid curve gives nothing
  | 'BATTERY_EMPTY' // no surplus and the offer curve gives nothing
  | 'BATTERY_LIMIT' // the battery could not do the whole request (never expected; [P2P-EXACT])
  | 'TOO_SMALL'; // under minOrderWh after flooring

/** What the decision was based on (logs, the home page). */
export interface MarketOrderTrace {
  readonly intervalS: number;
  readonly surplusWh: number;
  readonly deficitWh: number;
  readonly awardWh: number;
  /** [P2P-SELL]/[P2P-BUY] the battery's committed use before the market, Wh */
  readonly ownWh?: number;
  /** SOC after that use, where the curves are read */
  readonly projectedSoc?: number;
  /** curve quantity before the share and flooring, Wh */
  readonly curveWh?: number;
  readonly curvePriceMcPerKWh?: number;
  /** the battery request that makes the whole order (with own), Wh; absent without a battery */
  readonly batteryRequest?: BatteryRequest;
}

export type MarketOrderDecision =
  | { readonly order: P2pOrder; readonly reason: null; readonly trace: MarketOrderTrace }
  | { readonly order: null; readonly reason: NoOrderReason; readonly trace: MarketOrderTrace };

function checkForecast(f: HomeForecast): void {
  for (const k of ['pvWh', 'loadWh'] as const) {
    const v = f?.[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TcrError('BAD_FORECAST', { field: k, value: String(v), need: 'finite, >= 0' });
  }
}

/**
 * Decides the home's P2P order for one delivery interval. Throws `TcrError` only for a bad
 * state, interval, forecast or award (caller mistakes); "no order" is returned with a reason.
 */
export function decideMarketOrder(i: MarketOrderInput): MarketOrderDecision {
  checkState(i.state);
  checkInterval(i.intervalS);
  checkForecast(i.forecast);
  if (!Number.isFinite(i.awardWh)) throw new TcrError('BAD_REQUEST', { awardWh: String(i.awardWh), need: 'finite' });
  const m = i.market;
  const surplusWh = Math.max(0, i.forecast.pvWh - i.forecast.loadWh);
  const deficitWh = Math.max(0, i.forecast.loadWh - i.forecast.pvWh);
  const base = { intervalS: i.intervalS, surplusWh, deficitWh, awardWh: i.awardWh };

  if (!i.hasBattery) {
    // [P2P-PLAIN]
    const sell = surplusWh > 0;
    const energyWh = Math.floor(sell ? surplusWh : deficitWh);
    if (surplusWh === 0 && deficitWh === 0) return { order: null, reason: 'BALANCED', trace: base };
    if (energyWh < m.minOrderWh) return { order: null, reason: 'TOO_SMALL', trace: base };
    return { order: { side: sell ? 'sell' : 'buy', energyWh, priceMcPerKWh: sell ? m.floorPriceMcPerKWh : m.buyPriceMcPerKWh }, reason: null, trace: base };
  }

  const { battery: b, curves: c } = i.params;
  const chargeAwardWh = Math.max(0, i.awardWh);
  const dischargeAwardWh = Math.max(0, -i.awardWh);
  // [P2P-SIDE]
  const sell = dischargeAwardWh > 0 || (chargeAwardWh === 0 && (surplusWh > 0 || normalizedSoc(i.state.soc, b) >= m.sellAboveSoc));

  if (sell) {
    // [P2P-SELL]
    const ownWh = deficitWh + dischargeAwardWh;
    const home = stepBattery(i.state, { chargeWh: 0, dischargeWh: ownWh }, b, i.intervalS);
    const projectedSoc = home.state.soc;
    if (home.limitedBy !== 'none') return { order: null, reason: 'HOME_NEEDS_IT', trace: { ...base, ownWh, projectedSoc } };
    const curveWh = offerQuantityWh(projectedSoc, b, c, i.intervalS, ownWh);
    const curvePriceMcPerKWh = offerPriceMcPerKWh(projectedSoc, b, c);
    const trace = { ...base, ownWh, projectedSoc, curveWh, curvePriceMcPerKWh };
    if (surplusWh === 0 && curveWh * m.batteryShare <= 0) return { order: null, reason: 'BATTERY_EMPTY', trace };
    // [P2P-EXACT] float rounding can put the floored total an ulp past a limit: one Wh less then
    for (let energyWh = Math.floor(surplusWh + m.batteryShare * curveWh), tries = 0; tries < 3; energyWh--, tries++) {
      if (energyWh < m.minOrderWh) return { order: null, reason: 'TOO_SMALL', trace };
      const batteryRequest = { chargeWh: 0, dischargeWh: Math.max(0, ownWh + energyWh - surplusWh) };
      if (stepBattery(i.state, batteryRequest, b, i.intervalS).limitedBy !== 'none') continue;
      return { order: { side: 'sell', energyWh, priceMcPerKWh: curvePriceMcPerKWh }, reason: null, trace: { ...trace, batteryRequest } };
    }
    return { order: null, reason: 'BATTERY_LIMIT', trace };
  }

  // [P2P-BUY]
  const ownWh = surplusWh + chargeAwardWh;
  const home = stepBattery(i.state, { chargeWh: ownWh, dischargeWh: 0 }, b, i.intervalS);
  const projectedSoc = home.state.soc;
  if (home.limitedBy !== 'none') return { order: null, reason: 'BATTERY_FULL', trace: { ...base, ownWh, projectedSoc } };
  const curveWh = bidQuantityWh(projectedSoc, b, c, i.intervalS, ownWh);
  const curvePriceMcPerKWh = bidPriceMcPerKWh(projectedSoc, b, c);
  const trace = { ...base, ownWh, projectedSoc, curveWh, curvePriceMcPerKWh };
  if (deficitWh === 0 && curveWh * m.batteryShare <= 0) return { order: null, reason: 'BATTERY_FULL', trace };
  for (let energyWh = Math.floor(deficitWh + m.batteryShare * curveWh), tries = 0; tries < 3; energyWh--, tries++) {
    if (energyWh < m.minOrderWh) return { order: null, reason: 'TOO_SMALL', trace };
    const batteryRequest = { chargeWh: Math.max(0, ownWh + energyWh - deficitWh), dischargeWh: 0 };
    if (stepBattery(i.state, batteryRequest, b, i.intervalS).limitedBy !== 'none') continue;
    return { order: { side: 'buy', energyWh, priceMcPerKWh: curvePriceMcPerKWh }, reason: null, trace: { ...trace, batteryRequest } };
  }
  return { order: null, reason: 'BATTERY_LIMIT', trace };
}

/**
 * [P2P-FILL] The battery energy (Wh, + charge, − discharge) a fill of `filledWh` adds to the
 * delivery interval's set point, on top of the awards' (awardWh, as in decideMarketOrder):
 * a sell makes net export = filled, so the battery takes PV − load − filled (a discharge when
 * negative); a buy makes net import = filled, so the battery takes PV − load + filled. With a
 * discharge award a sell never charges (nor a buy with a charge award discharges): the award
 * is measured on the battery's own flow. A partial fill lies between no fill and the whole
 * order, so it is within what the decision checked, or errs on the safe side (more export for
 * a sell, more import for a buy).
 */
export function fillBatteryWh(side: 'sell' | 'buy', filledWh: number, forecast: HomeForecast, awardWh: number): number {
  const net = forecast.pvWh - forecast.loadWh;
  if (side === 'sell') {
    const wh = net - filledWh;
    return awardWh < 0 ? Math.min(0, wh) : wh;
  }
  const wh = net + filledWh;
  return awardWh > 0 ? Math.max(0, wh) : wh;
}

/** One stretch of time before the delivery interval, for projectSoc. */
export interface SocStep {
  readonly intervalS: number;
  readonly forecast: HomeForecast;
  /** battery energy of the set point over the stretch (+ charge), or null: self-consumption */
  readonly setpointWh: number | null;
}

/**
 * The SOC at the end of `steps` from `state`: each stretch follows its set point, or does
 * self-consumption (charges the surplus, covers the deficit), as the sim adapter does.
 */
export function projectSoc(state: BatteryState, b: BatteryParams, steps: readonly SocStep[]): BatteryState {
  let s = state;
  for (const x of steps) {
    if (!(x.intervalS > 0)) continue;
    const wh = x.setpointWh ?? x.forecast.pvWh - x.forecast.loadWh;
    if (!Number.isFinite(wh)) continue;
    s = stepBattery(s, wh > 0 ? { chargeWh: wh, dischargeWh: 0 } : { chargeWh: 0, dischargeWh: -wh }, b, Math.min(x.intervalS, 86_400)).state;
  }
  return s;
}
