/**
 * An electric-vehicle charger as a flexible load for the P2P market (DESIGN §8b): one
 * interval of charging and the bid curve.
 *
 * Energies are on the AC side (what the charger draws and the meter sees); the car's
 * battery receives η·E. Over an interval Δt, with n intervals left before departure
 * (this one included):
 *
 *   M     = ⌊r_ev,max·Δt⌋                      the most whole Wh the charger draws in Δt
 *   E     = ⌊energyNeededWh⌋                   still to draw before departure, whole Wh
 *   total = min(M, E)                          the most it wants now
 *   must  = min(max(0, E − (n − 1)·M), total)  cannot wait: n − 1 later intervals hold (n − 1)·M at most
 *   flex  = total − must
 *   σ     = (n·M − E)/(n·M), clamped to [0, 1] slack: the share of the remaining capacity not needed
 *   P_flex = ⌊P_low + (P_cap − P_low)·(1 − σ)^e⌋
 *
 * Orders: buy `must` at P_cap, buy `flex` at P_flex (either left out when under
 * minOrderWh). Both the quantity bought at any price and P_flex rise with urgency (fewer
 * intervals left, or more energy needed), and the orders never ask for more than the
 * charger's power (M) or the car's need (E).
 */
import { buyOrders, checkLoadPricing, DEFAULT_LOAD_PRICING, urgencyPriceMcPerKWh, type EnergyRange, type LoadPricing, type MarketOrder } from './marketOrder.js';
import { readDeviceParams, requireParam } from './readDeviceParams.js';
import { checkInterval } from './stepBattery.js';
import { TcrError } from './tcrError.js';

export interface EvParams extends LoadPricing {
  /** Cap_ev: the car battery's usable energy, Wh. */
  readonly capacityWh: number;
  /** r_ev,max: the most the charger draws, W (AC). */
  readonly maxChargeW: number;
  /** η_ev: share of the drawn energy stored in the car, (0, 1]. */
  readonly efficiency: number;
}

/**
 * Defaults: a 60 kWh car on a 7.2 kW wallbox (1,800 Wh per 15 minutes), 90 % from grid
 * to cell, the shared load pricing (P_cap 30 c/kWh, P_low 5 c/kWh, linear).
 */
export const DEFAULT_EV_PARAMS: EvParams = Object.freeze({
  capacityWh: 60_000,
  maxChargeW: 7_200,
  efficiency: 0.9,
  ...DEFAULT_LOAD_PRICING,
});

export interface EvState {
  /** E: energy still to draw (AC) before departure, Wh, 0 ≤ E ≤ Cap_ev/η_ev. */
  readonly energyNeededWh: number;
  /** n: intervals left before departure, this one included (integer ≥ 0; 0 = gone or late). */
  readonly intervalsLeft: number;
  readonly plugged: boolean;
}

export interface EvRequest {
  /** energy asked for in this interval (e.g. what the market awarded), Wh AC, ≥ 0. */
  readonly chargeWh: number;
}

/** What cut a request short: the charger's power, the car's need, or no session (unplugged or n = 0). */
export type EvLimit = 'none' | 'power' | 'need' | 'unplugged';

export interface EvStepResult {
  readonly state: EvState;
  /** energy drawn, Wh AC (not rounded). */
  readonly chargedWh: number;
  /** η_ev·chargedWh, Wh into the car. */
  readonly storedWh: number;
  /** average power over the interval, W. */
  readonly chargeRateW: number;
  readonly limitedBy: EvLimit;
}

const MAX_WH = 1_000_000_000;
const MAX_W = 1_000_000_000;
/** Largest intervalsLeft accepted: more than a week of one-minute intervals. */
export const MAX_EV_INTERVALS = 100_000;

/** Validated EV charger parameters; missing fields take the defaults. Throws `BAD_EV_PARAM param=… value=… need=…`. */
export function createEvParams(input: Partial<Record<keyof EvParams, unknown>> = {}): EvParams {
  const p = readDeviceParams('BAD_EV_PARAM', DEFAULT_EV_PARAMS, input);
  const need = (param: keyof EvParams, ok: boolean, rule: string): void => requireParam('BAD_EV_PARAM', p, param, ok, rule);
  need('capacityWh', p.capacityWh > 0 && p.capacityWh <= MAX_WH, `0 < capacityWh <= ${MAX_WH}`);
  need('maxChargeW', p.maxChargeW >= 0 && p.maxChargeW <= MAX_W, `0 <= maxChargeW <= ${MAX_W}`);
  need('efficiency', p.efficiency > 0 && p.efficiency <= 1, '0 < efficiency <= 1');
  checkLoadPricing('BAD_EV_PARAM', p);
  return Object.freeze(p);
}

/** Throws `BAD_EV_STATE field=… value=… need=…` unless `state` is a possible state for `p`. */
export function checkEvState(state: EvState, p: EvParams): void {
  if (typeof state !== 'object' || state === null) throw new TcrError('BAD_EV_STATE', { field: '(state)', need: 'object' });
  const top = p.capacityWh / p.efficiency;
  const e = state.energyNeededWh;
  if (typeof e !== 'number' || !Number.isFinite(e) || e < 0 || e > top) {
    throw new TcrError('BAD_EV_STATE', { field: 'energyNeededWh', value: String(e), need: `0 <= energyNeededWh <= capacityWh/efficiency = ${top}` });
  }
  const n = state.intervalsLeft;
  if (!Number.isInteger(n) || n < 0 || n > MAX_EV_INTERVALS) {
    throw new TcrError('BAD_EV_STATE', { field: 'intervalsLeft', value: String(n), need: `integer 0..${MAX_EV_INTERVALS}` });
  }
  if (typeof state.plugged !== 'boolean') throw new TcrError('BAD_EV_STATE', { field: 'plugged', value: String(state.plugged), need: 'boolean' });
}

/**
 * n from the clock and the departure time (both arguments): the whole intervals of
 * `intervalS` that end by `departureMs`, counted from `nowMs` (the start of the interval
 * being bid for). 0 once departure is less than one interval away.
 */
export function evIntervalsLeft(nowMs: number, departureMs: number, intervalS: number): number {
  checkInterval(intervalS);
  if (!Number.isFinite(nowMs) || !Number.isFinite(departureMs)) {
    throw new TcrError('BAD_EV_STATE', { field: 'departureMs', value: `${departureMs} now=${nowMs}`, need: 'finite' });
  }
  return Math.min(MAX_EV_INTERVALS, Math.max(0, Math.floor((departureMs - nowMs) / (intervalS * 1000))));
}

/** Energy to draw (AC) to take the car from `soc` to `targetSoc`: (target − soc)·Cap_ev/η_ev, ≥ 0, not rounded. */
export function evEnergyNeededWh(soc: number, targetSoc: number, p: EvParams): number {
  for (const [field, v] of [['soc', soc], ['targetSoc', targetSoc]] as const) {
    if (!Number.isFinite(v) || v < 0 || v > 1) throw new TcrError('BAD_EV_STATE', { field, value: String(v), need: '0 <= soc <= 1' });
  }
  return (Math.max(0, targetSoc - soc) * p.capacityWh) / p.efficiency;
}

/** M = ⌊r_ev,max·Δt⌋, the most whole Wh the charger draws in one interval. */
export function evMaxIntervalWh(p: EvParams, intervalS: number): number {
  checkInterval(intervalS);
  return Math.floor((p.maxChargeW * intervalS) / 3600);
}

function session(state: EvState): boolean {
  return state.plugged && state.intervalsLeft > 0;
}

/**
 * Charges for one interval what is asked, cut to the charger's power r_ev,max·Δt and to
 * the energy still needed; returns the new state (n − 1 intervals left) and what was
 * drawn. Unplugged or past departure, nothing is drawn. Never mutates its input; a bad
 * state, interval or request throws a `TcrError`.
 */
export function stepEv(state: EvState, req: EvRequest, p: EvParams, intervalS: number): EvStepResult {
  checkEvState(state, p);
  checkInterval(intervalS);
  const asked = req?.chargeWh;
  if (typeof asked !== 'number' || !Number.isFinite(asked) || asked < 0) {
    throw new TcrError('BAD_REQUEST', { chargeWh: String(asked), need: 'finite, >= 0' });
  }
  const hours = intervalS / 3600;
  const next = (needWh: number): EvState => ({
    energyNeededWh: needWh, intervalsLeft: Math.max(0, state.intervalsLeft - 1), plugged: state.plugged,
  });
  if (!session(state)) {
    return { state: next(state.energyNeededWh), chargedWh: 0, storedWh: 0, chargeRateW: 0, limitedBy: asked > 0 ? 'unplugged' : 'none' };
  }
  const powerWh = p.maxChargeW * hours;
  const needWh = state.energyNeededWh;
  const done = Math.min(asked, powerWh, needWh);
  const limitedBy: EvLimit = done >= asked ? 'none' : needWh <= powerWh ? 'need' : 'power';
  return {
    state: next(done === needWh ? 0 : Math.max(0, needWh - done)),
    chargedWh: done,
    storedWh: done * p.efficiency,
    chargeRateW: done / hours,
    limitedBy,
  };
}

/** The EV's part of one interval, whole Wh: must, flex (= total − must), M, E, slack σ and P_flex. */
export interface EvBidParts {
  readonly mustWh: number;
  readonly flexWh: number;
  readonly intervalWh: number;
  readonly neededWh: number;
  readonly slack: number;
  readonly flexPriceMcPerKWh: number;
}

/** The pieces of the EV's bid curve (module comment). No session or nothing needed → zeros, σ = 1. */
export function evBidParts(state: EvState, p: EvParams, intervalS: number): EvBidParts {
  checkEvState(state, p);
  const m = evMaxIntervalWh(p, intervalS);
  const e = Math.floor(state.energyNeededWh);
  const n = state.intervalsLeft;
  if (!session(state) || m === 0 || e === 0) {
    return { mustWh: 0, flexWh: 0, intervalWh: m, neededWh: e, slack: 1, flexPriceMcPerKWh: p.priceLowMcPerKWh };
  }
  const total = Math.min(m, e);
  const must = Math.min(Math.max(0, e - (n - 1) * m), total);
  const room = n * m;
  const slack = Math.min(1, Math.max(0, (room - e) / room));
  return { mustWh: must, flexWh: total - must, intervalWh: m, neededWh: e, slack, flexPriceMcPerKWh: urgencyPriceMcPerKWh(1 - slack, p) };
}

/** [minWh, maxWh] = [must, must + flex]: the least the EV must draw now to leave on time, the most it may. */
export function evEnergyRange(state: EvState, p: EvParams, intervalS: number): EnergyRange {
  const b = evBidParts(state, p, intervalS);
  return { minWh: b.mustWh, maxWh: b.mustWh + b.flexWh };
}

/** The EV's orders for one interval: [buy must at P_cap] then [buy flex at P_flex], each only if ≥ minOrderWh. */
export function evOrders(state: EvState, p: EvParams, intervalS: number): MarketOrder[] {
  const b = evBidParts(state, p, intervalS);
  return buyOrders([
    { energyWh: b.mustWh, priceMcPerKWh: p.priceCapMcPerKWh },
    { energyWh: b.flexWh, priceMcPerKWh: b.flexPriceMcPerKWh },
  ], p.minOrderWh);
}
