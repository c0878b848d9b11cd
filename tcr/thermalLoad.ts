/**
 * A heat pump or water heater as a flexible load for the P2P market (DESIGN §8b): a
 * first-order thermal model, one interval step and the bid curve.
 *
 * Units: T in °C (differences in K), C in Wh/K (heat to raise the store by 1 K), UA in
 * W/K (heat lost per kelvin above the ambient), P_el in W (electric, AC), COP
 * dimensionless (heat out per electric energy in), Δt in hours. Over one interval
 *
 *   T_{t+1} = T_t + Δt·(COP·P_el − UA·(T_t − T_amb))/C
 *
 * with T_amb the outdoor temperature for a heat pump heating a house, the room around the
 * tank for a water heater. One explicit step is only meaningful when UA·Δt ≤ C (the
 * losses of one interval cannot carry T past T_amb); functions taking an interval check it.
 *
 * Energies over the interval, with the loss L = UA·(T_t − T_amb)·Δt (Wh of heat) and
 * M = P_el,max·Δt:
 *   must = (C·(T_min − T_t) + L)/COP   electric Wh that leave T_{t+1} = T_min
 *   top  = (C·(T_max − T_t) + L)/COP   electric Wh that leave T_{t+1} = T_max
 *   maxWh = ⌊clamp(top, 0, M)⌋,  minWh = min(⌈max(0, must)⌉, maxWh)
 * The must-run part is rounded UP so that T stays ≥ T_min (the band has room above it);
 * everything else is floored (DESIGN §5).
 *
 * Bid curve, with the place in the band u = (T_t − T_min)/(T_max − T_min) clamped to [0, 1]:
 *   T_t ≥ T_max: no order (the thermostat is off)
 *   otherwise:   buy minWh at P_cap, buy maxWh − minWh at P_th = ⌊P_low + (P_cap − P_low)·(1 − u)^e⌋
 * P_th falls as T rises through the band; the quantity never rises with T.
 */
import { buyOrders, checkLoadPricing, DEFAULT_LOAD_PRICING, urgencyPriceMcPerKWh, type EnergyRange, type LoadPricing, type MarketOrder } from './marketOrder.js';
import { readDeviceParams, requireParam } from './readDeviceParams.js';
import { checkInterval } from './stepBattery.js';
import { TcrError } from './tcrError.js';

export interface ThermalParams extends LoadPricing {
  /** C: heat capacity of the store (house or tank), Wh/K. */
  readonly heatCapacityWhPerK: number;
  /** UA: heat loss coefficient, W/K. */
  readonly uaWPerK: number;
  /** COP: heat delivered per electric energy drawn (1 for a resistive heater). */
  readonly cop: number;
  /** P_el,max: the most electric power drawn, W. */
  readonly maxElectricW: number;
  /** T_min: lower end of the comfort band, °C. */
  readonly tMinC: number;
  /** T_max: upper end of the comfort band, °C. */
  readonly tMaxC: number;
}

/**
 * Defaults: a heat pump heating a house — C 10 kWh/K, UA 200 W/K, COP 3, 3 kW electric,
 * band 19–23 °C — with the shared load pricing. A 200-litre water heater would be about
 * C 232 Wh/K, UA 2 W/K, COP 1 (resistive) or 2.5 (heat-pump tank), band 50–60 °C.
 */
export const DEFAULT_THERMAL_PARAMS: ThermalParams = Object.freeze({
  heatCapacityWhPerK: 10_000,
  uaWPerK: 200,
  cop: 3,
  maxElectricW: 3_000,
  tMinC: 19,
  tMaxC: 23,
  ...DEFAULT_LOAD_PRICING,
});

export interface ThermalState {
  /** T_t, °C. */
  readonly tempC: number;
}

export interface ThermalRequest {
  /** electric energy asked for in this interval, Wh AC, ≥ 0. */
  readonly electricWh: number;
}

/** What cut a request short: the electric power, or the band (T_{t+1} would pass T_max). */
export type ThermalLimit = 'none' | 'power' | 'band';

export interface ThermalStepResult {
  readonly state: ThermalState;
  /** electric energy drawn, Wh (not rounded). */
  readonly usedWh: number;
  /** COP·usedWh, Wh of heat. */
  readonly heatWh: number;
  /** average electric power, W. */
  readonly powerW: number;
  readonly limitedBy: ThermalLimit;
}

/** Temperatures accepted anywhere (parameters, state, ambient), °C. */
export const THERMAL_TEMP_RANGE_C = Object.freeze({ min: -100, max: 200 });

const MAX_W = 1_000_000_000;

function inRange(t: number): boolean {
  return Number.isFinite(t) && t >= THERMAL_TEMP_RANGE_C.min && t <= THERMAL_TEMP_RANGE_C.max;
}

/** Validated thermal load parameters; missing fields take the defaults. Throws `BAD_THERMAL_PARAM param=… value=… need=…`. */
export function createThermalParams(input: Partial<Record<keyof ThermalParams, unknown>> = {}): ThermalParams {
  const p = readDeviceParams('BAD_THERMAL_PARAM', DEFAULT_THERMAL_PARAMS, input);
  const need = (param: keyof ThermalParams, ok: boolean, rule: string): void => requireParam('BAD_THERMAL_PARAM', p, param, ok, rule);
  const { min, max } = THERMAL_TEMP_RANGE_C;
  need('heatCapacityWhPerK', p.heatCapacityWhPerK > 0 && p.heatCapacityWhPerK <= 1e9, '0 < C <= 1e9 Wh/K');
  need('uaWPerK', p.uaWPerK >= 0 && p.uaWPerK <= 1e9, '0 <= UA <= 1e9 W/K');
  need('cop', p.cop > 0 && p.cop <= 10, '0 < COP <= 10');
  need('maxElectricW', p.maxElectricW >= 0 && p.maxElectricW <= MAX_W, `0 <= maxElectricW <= ${MAX_W}`);
  need('tMinC', inRange(p.tMinC), `${min} <= tMinC <= ${max}`);
  need('tMaxC', inRange(p.tMaxC) && p.tMaxC > p.tMinC, `tMinC < tMaxC <= ${max}`);
  checkLoadPricing('BAD_THERMAL_PARAM', p);
  return Object.freeze(p);
}

/** Throws `BAD_THERMAL_STATE field=… value=… need=…` for a temperature that is not a number in range. */
export function checkThermalState(state: ThermalState, ambientC: number): void {
  const t = state?.tempC;
  const { min, max } = THERMAL_TEMP_RANGE_C;
  if (typeof t !== 'number' || !inRange(t)) throw new TcrError('BAD_THERMAL_STATE', { field: 'tempC', value: String(t), need: `${min} <= tempC <= ${max}` });
  if (typeof ambientC !== 'number' || !inRange(ambientC)) {
    throw new TcrError('BAD_THERMAL_STATE', { field: 'ambientC', value: String(ambientC), need: `${min} <= ambientC <= ${max}` });
  }
}

/** Checks the interval and UA·Δt ≤ C (one explicit step of the model); returns Δt in hours. */
function thermalHours(p: ThermalParams, intervalS: number): number {
  checkInterval(intervalS);
  const hours = intervalS / 3600;
  if (p.uaWPerK * hours > p.heatCapacityWhPerK) {
    throw new TcrError('BAD_INTERVAL', { intervalS, need: `UA·Δt <= C (${p.uaWPerK} W/K × ${hours} h <= ${p.heatCapacityWhPerK} Wh/K)` });
  }
  return hours;
}

/** The exact (not rounded) must and top energies and M of the module comment, Wh. */
function thermalEnergies(tempC: number, p: ThermalParams, hours: number, ambientC: number): { must: number; top: number; max: number } {
  const lossWh = p.uaWPerK * (tempC - ambientC) * hours;
  return {
    must: (p.heatCapacityWhPerK * (p.tMinC - tempC) + lossWh) / p.cop,
    top: (p.heatCapacityWhPerK * (p.tMaxC - tempC) + lossWh) / p.cop,
    max: p.maxElectricW * hours,
  };
}

/**
 * Runs the model for one interval with the electric energy asked, cut to P_el,max·Δt and
 * to what leaves T_{t+1} ≤ T_max (the thermostat stops there). Nothing keeps T ≥ T_min
 * here: that is what the must-run order buys. Never mutates its input.
 */
export function stepThermal(state: ThermalState, req: ThermalRequest, p: ThermalParams, intervalS: number, ambientC: number): ThermalStepResult {
  checkThermalState(state, ambientC);
  const hours = thermalHours(p, intervalS);
  const asked = req?.electricWh;
  if (typeof asked !== 'number' || !Number.isFinite(asked) || asked < 0) {
    throw new TcrError('BAD_REQUEST', { electricWh: String(asked), need: 'finite, >= 0' });
  }
  const t = state.tempC;
  const e = thermalEnergies(t, p, hours, ambientC);
  const bandWh = Math.max(0, e.top);
  const used = Math.min(asked, e.max, bandWh);
  const limitedBy: ThermalLimit = used >= asked ? 'none' : bandWh <= e.max ? 'band' : 'power';
  const heatWh = p.cop * used;
  let next = t + (heatWh - p.uaWPerK * (t - ambientC) * hours) / p.heatCapacityWhPerK;
  // used ≤ top means T_{t+1} ≤ T_max exactly; the clamp only absorbs floating-point excess.
  if (used > 0) next = Math.min(next, p.tMaxC);
  return { state: { tempC: next }, usedWh: used, heatWh, powerW: used / hours, limitedBy };
}

/**
 * [minWh, maxWh]: the least electric energy that keeps T_{t+1} ≥ T_min (rounded up, all
 * of M if even that is not enough) and the most that keeps T_{t+1} ≤ T_max and P_el ≤ P_el,max.
 */
export function thermalEnergyRange(state: ThermalState, p: ThermalParams, intervalS: number, ambientC: number): EnergyRange {
  checkThermalState(state, ambientC);
  const e = thermalEnergies(state.tempC, p, thermalHours(p, intervalS), ambientC);
  const maxWh = Math.floor(Math.min(Math.max(0, e.top), e.max));
  return { minWh: Math.min(Math.ceil(Math.max(0, e.must)), maxWh), maxWh };
}

/** u = (T − T_min)/(T_max − T_min), clamped to [0, 1]. */
export function thermalBandPosition(tempC: number, p: ThermalParams): number {
  const u = (tempC - p.tMinC) / (p.tMaxC - p.tMinC);
  return u <= 0 ? 0 : u >= 1 ? 1 : u;
}

/** P_th = ⌊P_low + (P_cap − P_low)·(1 − u)^e⌋: P_cap at or below T_min, P_low at T_max. */
export function thermalPriceMcPerKWh(tempC: number, p: ThermalParams): number {
  return urgencyPriceMcPerKWh(1 - thermalBandPosition(tempC, p), p);
}

/** The load's orders for one interval: [buy minWh at P_cap] then [buy maxWh − minWh at P_th]; none at or above T_max. */
export function thermalOrders(state: ThermalState, p: ThermalParams, intervalS: number, ambientC: number): MarketOrder[] {
  const r = thermalEnergyRange(state, p, intervalS, ambientC);
  if (state.tempC >= p.tMaxC) return [];
  return buyOrders([
    { energyWh: r.minWh, priceMcPerKWh: p.priceCapMcPerKWh },
    { energyWh: r.maxWh - r.minWh, priceMcPerKWh: thermalPriceMcPerKWh(state.tempC, p) },
  ], p.minOrderWh);
}
