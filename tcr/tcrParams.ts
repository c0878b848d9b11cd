/**
 * The parameters of one controller: its battery (DESIGN §6 (1)–(8)) and its curves.
 */
import { createBatteryParams, degradationCostMcPerKWh, type BatteryParams } from './batteryParams.js';
import { createCurveParams, MAX_PRICE_MC_PER_KWH, type CurveParams } from './curves.js';
import { TcrError } from './tcrError.js';

/** Battery and curve parameters of one controller. */
export interface TcrParams {
  readonly battery: BatteryParams;
  readonly curves: CurveParams;
}

/** Cross-checks battery and curve parameters together (the highest offer price must fit the schema). */
function checkTcrParams(p: TcrParams): TcrParams {
  const top = degradationCostMcPerKWh(p.battery) + p.curves.offerMarginMcPerKWh + p.curves.offerScarcityMcPerKWh;
  if (top > MAX_PRICE_MC_PER_KWH) {
    throw new TcrError('BAD_CURVE_PARAM', { param: 'offerScarcityMcPerKWh', value: top, need: `C_d + m + k <= ${MAX_PRICE_MC_PER_KWH}` });
  }
  return p;
}

export interface TcrParamsInput {
  battery?: Partial<Record<keyof BatteryParams, unknown>>;
  curves?: Partial<Record<keyof CurveParams, unknown>>;
}

/** Validated parameters; missing fields take the defaults. Throws `BAD_BATTERY_PARAM` / `BAD_CURVE_PARAM`. */
export function createTcrParams(input: TcrParamsInput = {}): TcrParams {
  if (typeof input !== 'object' || input === null) throw new TcrError('BAD_CURVE_PARAM', { param: '(input)', need: 'object' });
  for (const k of Object.keys(input)) {
    if (k !== 'battery' && k !== 'curves') throw new TcrError('BAD_CURVE_PARAM', { param: k, need: 'battery or curves' });
  }
  return Object.freeze(checkTcrParams({ battery: createBatteryParams(input.battery), curves: createCurveParams(input.curves) }));
}
