/**
 * Battery parameters of DESIGN §6 (Siano et al. §V-D) and their validated constructor.
 *
 *   Cap            capacityWh              usable-or-not, the nameplate energy of the cell stack
 *   SOC_min/max    socMin, socMax          fractions of Cap, 0 ≤ socMin < socMax ≤ 1   (1)
 *   η_ch, η_dis    etaCh, etaDis           one-way efficiencies, 0 < η ≤ 1
 *   r_ch,max       maxChargeW              AC-side power drawn when charging          (4)
 *   r_dis,max      maxDischargeW           AC-side power delivered when discharging   (5)
 *   C_battery      batteryCostMillicents   replacement cost of the battery
 *   L_ET           lifetimeThroughputWh    lifetime energy throughput (discharged)
 *   C_d = C_battery / L_ET                                                          (8)
 */
import { TcrError } from './tcrError.js';

export interface BatteryParams {
  readonly capacityWh: number;
  readonly socMin: number;
  readonly socMax: number;
  readonly etaCh: number;
  readonly etaDis: number;
  readonly maxChargeW: number;
  readonly maxDischargeW: number;
  readonly batteryCostMillicents: number;
  readonly lifetimeThroughputWh: number;
}

/**
 * Defaults: a 10 kWh home battery, 10–90 % window, 95 % one-way efficiency, 5 kW both
 * ways, 6,800 (currency units) replacement cost over 34 MWh of lifetime throughput
 * (≈ 4,250 full cycles of the 8 kWh window) → C_d = 20 cents/kWh = 20,000 millicents/kWh.
 */
export const DEFAULT_BATTERY_PARAMS: BatteryParams = Object.freeze({
  capacityWh: 10_000,
  socMin: 0.1,
  socMax: 0.9,
  etaCh: 0.95,
  etaDis: 0.95,
  maxChargeW: 5_000,
  maxDischargeW: 5_000,
  batteryCostMillicents: 680_000_000,
  lifetimeThroughputWh: 34_000_000,
});

const KEYS = Object.keys(DEFAULT_BATTERY_PARAMS) as (keyof BatteryParams)[];

/** Largest accepted values (sanity bounds, far above any home battery). */
const MAX_WH = 1_000_000_000;
const MAX_W = 1_000_000_000;
const MAX_COST_MC = 1e15;

function finite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new TcrError('BAD_BATTERY_PARAM', { param: name, value: String(v), need: 'finite number' });
  }
  return v;
}

/**
 * Builds battery parameters from a partial input (missing fields take the defaults).
 * Throws `BAD_BATTERY_PARAM param=… value=… need=…` on any unknown key or bad value.
 */
export function createBatteryParams(input: Partial<Record<keyof BatteryParams, unknown>> = {}): BatteryParams {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TcrError('BAD_BATTERY_PARAM', { param: '(input)', need: 'object' });
  }
  for (const k of Object.keys(input)) {
    if (!(KEYS as string[]).includes(k)) throw new TcrError('BAD_BATTERY_PARAM', { param: k, need: 'known key' });
  }
  const get = (k: keyof BatteryParams): number => finite(k, input[k] ?? DEFAULT_BATTERY_PARAMS[k]);
  const p: BatteryParams = {
    capacityWh: get('capacityWh'),
    socMin: get('socMin'),
    socMax: get('socMax'),
    etaCh: get('etaCh'),
    etaDis: get('etaDis'),
    maxChargeW: get('maxChargeW'),
    maxDischargeW: get('maxDischargeW'),
    batteryCostMillicents: get('batteryCostMillicents'),
    lifetimeThroughputWh: get('lifetimeThroughputWh'),
  };
  const need = (ok: boolean, param: keyof BatteryParams, rule: string): void => {
    if (!ok) throw new TcrError('BAD_BATTERY_PARAM', { param, value: p[param], need: rule });
  };
  need(p.capacityWh > 0 && p.capacityWh <= MAX_WH, 'capacityWh', `0 < capacityWh <= ${MAX_WH}`);
  need(p.socMin >= 0 && p.socMin < 1, 'socMin', '0 <= socMin < 1');
  need(p.socMax > p.socMin && p.socMax <= 1, 'socMax', 'socMin < socMax <= 1');
  need(p.etaCh > 0 && p.etaCh <= 1, 'etaCh', '0 < etaCh <= 1');
  need(p.etaDis > 0 && p.etaDis <= 1, 'etaDis', '0 < etaDis <= 1');
  need(p.maxChargeW >= 0 && p.maxChargeW <= MAX_W, 'maxChargeW', `0 <= maxChargeW <= ${MAX_W}`);
  need(p.maxDischargeW >= 0 && p.maxDischargeW <= MAX_W, 'maxDischargeW', `0 <= maxDischargeW <= ${MAX_W}`);
  need(
    Number.isInteger(p.batteryCostMillicents) && p.batteryCostMillicents >= 0 && p.batteryCostMillicents <= MAX_COST_MC,
    'batteryCostMillicents', `integer 0..${MAX_COST_MC}`,
  );
  need(
    Number.isInteger(p.lifetimeThroughputWh) && p.lifetimeThroughputWh > 0 && p.lifetimeThroughputWh <= 1e15,
    'lifetimeThroughputWh', 'integer 1..1e15',
  );
  need(
    (p.batteryCostMillicents * 1000) / p.lifetimeThroughputWh <= 100_000_000, 'batteryCostMillicents',
    'C_d = cost/L_ET <= 100000000 millicents/kWh',
  );
  return Object.freeze(p);
}

/** C_d (8) exactly, in millicents per kWh discharged: C_battery / L_ET × 1000 Wh/kWh. */
export function degradationCostExactMcPerKWh(p: BatteryParams): number {
  return (p.batteryCostMillicents * 1000) / p.lifetimeThroughputWh;
}

/**
 * C_d (8) as an integer price, rounded UP so that an offer priced at or above it never
 * sells below the true degradation cost. (Every other integer the controller emits is
 * floored, DESIGN §5; this floor-of-prices is the one place where up is the safe side.)
 */
export function degradationCostMcPerKWh(p: BatteryParams): number {
  const num = BigInt(p.batteryCostMillicents) * 1000n;
  const den = BigInt(p.lifetimeThroughputWh);
  return Number((num + den - 1n) / den); // exact integer ceiling
}

/** Cost_degr (7) = E_dis · C_d, in millicents, floored. */
export function degradationCostMc(dischargedWh: number, p: BatteryParams): number {
  return Math.floor((dischargedWh * degradationCostExactMcPerKWh(p)) / 1000);
}
