/**
 * The flexible device of an active user in the `sim` adapter: an EV charger or a heat pump
 * heating a hot-water tank, run with the TCR's models (tcr/evCharger.ts `stepEv`,
 * tcr/thermalLoad.ts `stepThermal`). Pure: state in, state out; the adapter keeps the state
 * (simHome.ts). Times are home time (ms, local time of the profiles' site written as UTC).
 *
 * [SIM-EV] The car is plugged in from `arriveHour` to `departHour` (the session crosses
 *          midnight) and needs `needWh` (AC) by departure. What it draws counts per session:
 *          a new session (a new departure) starts with the whole need.
 * [SIM-HP] The heat pump keeps a hot-water tank in its band (the thermal model with tank
 *          parameters, in a room at `ambientC`); a hot-water draw takes `drawHeatWh` of heat
 *          out at the start of the interval holding each of `drawHours`.
 * [SIM-FLEX] Over an interval the device runs max(must, planned), cut by its own limits:
 *          planned = the energy bought for it in the P2P market (0 when nothing was bought),
 *          must = what it cannot do without (the EV's must part, the tank's T_min).
 */
import { createEvParams, evBidParts, evIntervalsLeft, evOrders, stepEv, type EvParams, type EvState } from '../../tcr/evCharger.js';
import type { MarketOrder } from '../../tcr/marketOrder.js';
import { createThermalParams, stepThermal, THERMAL_TEMP_RANGE_C, thermalEnergyRange, thermalOrders, type ThermalParams } from '../../tcr/thermalLoad.js';

export type FlexibleLoadConfig =
  | { readonly type: 'ev'; readonly needWh: number; readonly arriveHour: number; readonly departHour: number; readonly maxChargeW: number }
  | { readonly type: 'heat-pump'; readonly initialTempC: number; readonly ambientC: number; readonly drawHeatWh: number; readonly drawHours: readonly number[] };

export type FlexibleLoadState =
  | { readonly type: 'ev'; readonly departMs: number | null; readonly drawnWh: number }
  | { readonly type: 'heat-pump'; readonly tempC: number };

/** A 60 kWh car on a 7.2 kW wallbox, home 18:00–07:00, 12 kWh to draw each night. */
export const DEFAULT_EV_LOAD: FlexibleLoadConfig = Object.freeze({ type: 'ev', needWh: 12_000, arriveHour: 18, departHour: 7, maxChargeW: 7_200 });

/** A heat-pump water heater: 232 Wh/K (200 l), 2 W/K, COP 2.5, 1.5 kW, 50–60 °C; draws at 07:00 and 19:00. */
export const DEFAULT_HEAT_PUMP_LOAD: FlexibleLoadConfig = Object.freeze({ type: 'heat-pump', initialTempC: 52, ambientC: 20, drawHeatWh: 3_000, drawHours: Object.freeze([7, 19]) });

const TANK: Partial<ThermalParams> = { heatCapacityWhPerK: 232, uaWPerK: 2, cop: 2.5, maxElectricW: 1_500, tMinC: 50, tMaxC: 60 };
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export function evParamsOf(c: Extract<FlexibleLoadConfig, { type: 'ev' }>): EvParams {
  return createEvParams({ maxChargeW: c.maxChargeW });
}

export function tankParams(): ThermalParams {
  return createThermalParams(TANK);
}

export function initialFlexibleState(c: FlexibleLoadConfig): FlexibleLoadState {
  return c.type === 'ev' ? { type: 'ev', departMs: null, drawnWh: 0 } : { type: 'heat-pump', tempC: c.initialTempC };
}

export function isFlexibleState(c: FlexibleLoadConfig, v: unknown): v is FlexibleLoadState {
  const s = v as Record<string, unknown> | null;
  if (typeof s !== 'object' || s === null || s.type !== c.type) return false;
  if (c.type === 'ev') return (s.departMs === null || Number.isFinite(s.departMs)) && typeof s.drawnWh === 'number' && s.drawnWh >= 0;
  return typeof s.tempC === 'number' && s.tempC >= THERMAL_TEMP_RANGE_C.min && s.tempC <= THERMAL_TEMP_RANGE_C.max;
}

/** [SIM-EV] the session holding home time `h`: its departure, or null when the car is away. */
export function evSession(c: Extract<FlexibleLoadConfig, { type: 'ev' }>, h: number): number | null {
  const day = Math.floor(h / DAY_MS) * DAY_MS;
  const hour = (h - day) / HOUR_MS;
  if (hour < c.departHour) return day + c.departHour * HOUR_MS;
  if (hour >= c.arriveHour) return day + DAY_MS + c.departHour * HOUR_MS;
  return null;
}

/** The EV's state for the interval starting at home time `h`. */
function evStateAt(c: Extract<FlexibleLoadConfig, { type: 'ev' }>, p: EvParams, s: Extract<FlexibleLoadState, { type: 'ev' }>, h: number, intervalS: number): { ev: EvState; departMs: number | null; drawnWh: number } {
  const departMs = evSession(c, h);
  const drawnWh = departMs !== null && departMs === s.departMs ? s.drawnWh : 0;
  const energyNeededWh = departMs === null ? 0 : Math.min(p.capacityWh / p.efficiency, Math.max(0, c.needWh - drawnWh));
  return { ev: { energyNeededWh, intervalsLeft: departMs === null ? 0 : evIntervalsLeft(h, departMs, intervalS), plugged: departMs !== null }, departMs, drawnWh };
}

/** [SIM-HP] the tank's temperature at the start of the interval at `h`, after the draws it holds. */
function tankAt(c: Extract<FlexibleLoadConfig, { type: 'heat-pump' }>, p: ThermalParams, tempC: number, h: number, intervalS: number): number {
  const sinceMidnight = h - Math.floor(h / DAY_MS) * DAY_MS;
  let t = tempC;
  for (const hour of c.drawHours) {
    const at = hour * HOUR_MS;
    if (at >= sinceMidnight && at < sinceMidnight + intervalS * 1000) t -= c.drawHeatWh / p.heatCapacityWhPerK;
  }
  return Math.max(c.ambientC, t);
}

/** The device's P2P orders for the interval at `h` (evOrders / thermalOrders: must at P_cap, flex at the urgency price). */
export function flexibleOrders(c: FlexibleLoadConfig, s: FlexibleLoadState, h: number, intervalS: number): MarketOrder[] {
  if (c.type === 'ev' && s.type === 'ev') {
    const p = evParamsOf(c);
    return evOrders(evStateAt(c, p, s, h, intervalS).ev, p, intervalS);
  }
  if (c.type === 'heat-pump' && s.type === 'heat-pump') {
    const p = tankParams();
    return thermalOrders({ tempC: tankAt(c, p, s.tempC, h, intervalS) }, p, intervalS, c.ambientC);
  }
  return [];
}

/** P_cap of the device's orders (its must part's price). */
export function flexiblePriceCap(c: FlexibleLoadConfig): number {
  return c.type === 'ev' ? evParamsOf(c).priceCapMcPerKWh : tankParams().priceCapMcPerKWh;
}

/** [SIM-FLEX] one interval at `h`: runs max(must, planned) within the device's limits. */
export function stepFlexibleLoad(c: FlexibleLoadConfig, s: FlexibleLoadState, h: number, intervalS: number, plannedWh: number): { state: FlexibleLoadState; usedWh: number; mustWh: number } {
  if (c.type === 'ev' && s.type === 'ev') {
    const p = evParamsOf(c);
    const at = evStateAt(c, p, s, h, intervalS);
    const mustWh = evBidParts(at.ev, p, intervalS).mustWh;
    const r = stepEv(at.ev, { chargeWh: Math.max(mustWh, plannedWh) }, p, intervalS);
    return { state: { type: 'ev', departMs: at.departMs, drawnWh: at.drawnWh + r.chargedWh }, usedWh: r.chargedWh, mustWh };
  }
  if (c.type === 'heat-pump' && s.type === 'heat-pump') {
    const p = tankParams();
    const tempC = tankAt(c, p, s.tempC, h, intervalS);
    const mustWh = tempC >= p.tMaxC ? 0 : thermalEnergyRange({ tempC }, p, intervalS, c.ambientC).minWh;
    const r = stepThermal({ tempC }, { electricWh: Math.max(mustWh, plannedWh) }, p, intervalS, c.ambientC);
    return { state: { type: 'heat-pump', tempC: r.state.tempC }, usedWh: r.usedWh, mustWh };
  }
  throw new RangeError(`BAD_FLEXIBLE_STATE config=${c.type} state=${s.type}`);
}
