import { DEFAULT_PV_PARAMS } from './generateProfile.js';
import type { PvParams } from './pvModel.js';

/** The calibrated PV model with another array size; the inverter limit scales in proportion. */
export function scaledPv(peakW: number): PvParams {
  const k = peakW / DEFAULT_PV_PARAMS.peakPowerW;
  return { ...DEFAULT_PV_PARAMS, peakPowerW: peakW, inverterMaxW: Math.round(DEFAULT_PV_PARAMS.inverterMaxW * k) };
}
