/**
 * Offer (discharge) and bid (charge) curves of the transactive controller: quantity and
 * price as functions of the state of charge (DESIGN §6, Siano et al. Figs. 4–5).
 *
 * With the normalised state of charge  s = (SOC − SOC_min)/(SOC_max − SOC_min) ∈ [0, 1]
 * and an interval Δt:
 *
 *   offer quantity  Q_off(SOC) = min( s^a · (r_dis,max·Δt − reserved),  (SOC − SOC_min)·Cap·η_dis )
 *   bid quantity    Q_bid(SOC) = min( (1 − s)^b · (r_ch,max·Δt − reserved), (SOC_max − SOC)·Cap/η_ch )
 *   offer price     P_off(SOC) = ⌈C_d⌉ + ⌊ m + k·(1 − s)^c ⌋           (≥ C_d always)
 *   bid price       P_bid(SOC) = ⌊ P_full + (P_empty − P_full)·(1 − s)^d ⌋
 *
 * Q_off rises with SOC from 0 at SOC_min to the most the battery can deliver at SOC_max;
 * Q_bid falls from the most it can take near SOC_min to 0 at SOC_max. Both are bounded by
 * the rate limits (4)–(5) and by the energy the window (1) allows after efficiency, so a
 * quantity on the curve can always be delivered within one interval. P_off rises as SOC
 * falls (scarcity: the last kWh is worth more to the home); P_bid falls as SOC rises.
 */
import { degradationCostMcPerKWh, type BatteryParams } from './batteryParams.js';
import { maxChargeWh, maxDischargeWh } from './stepBattery.js';
import { TcrError } from './tcrError.js';

export interface CurveParams {
  /** a: exponent of the offer quantity curve (1 = linear, > 1 holds back energy at mid SOC). */
  readonly offerQuantityExponent: number;
  /** b: exponent of the bid quantity curve. */
  readonly bidQuantityExponent: number;
  /** m: margin over C_d at full SOC, millicents/kWh. */
  readonly offerMarginMcPerKWh: number;
  /** k: scarcity premium added as SOC falls to SOC_min, millicents/kWh. */
  readonly offerScarcityMcPerKWh: number;
  /** c: exponent of the scarcity premium. */
  readonly offerPriceExponent: number;
  /** P_empty: willingness to pay for charge at SOC_min, millicents/kWh. */
  readonly bidPriceEmptyMcPerKWh: number;
  /** P_full: willingness to pay for charge at SOC_max, millicents/kWh. */
  readonly bidPriceFullMcPerKWh: number;
  /** d: exponent of the bid price curve. */
  readonly bidPriceExponent: number;
  /** smallest bid or offer worth sending, Wh (integer ≥ 1). */
  readonly minBidWh: number;
}

/**
 * Defaults: linear quantities; offer from C_d + 1 c/kWh (full) to C_d + 21 c/kWh (empty),
 * quadratic; bid from 25 c/kWh (empty, about a retail tariff the home would otherwise pay)
 * down to 5 c/kWh (full), linear; nothing under 1 Wh.
 */
export const DEFAULT_CURVE_PARAMS: CurveParams = Object.freeze({
  offerQuantityExponent: 1,
  bidQuantityExponent: 1,
  offerMarginMcPerKWh: 1_000,
  offerScarcityMcPerKWh: 20_000,
  offerPriceExponent: 2,
  bidPriceEmptyMcPerKWh: 25_000,
  bidPriceFullMcPerKWh: 5_000,
  bidPriceExponent: 1,
  minBidWh: 1,
});

/** Largest price the schemas carry (millicents/kWh). */
export const MAX_PRICE_MC_PER_KWH = 100_000_000;

const CURVE_KEYS = Object.keys(DEFAULT_CURVE_PARAMS) as (keyof CurveParams)[];

export function createCurveParams(input: Partial<Record<keyof CurveParams, unknown>> = {}): CurveParams {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TcrError('BAD_CURVE_PARAM', { param: '(input)', need: 'object' });
  }
  for (const k of Object.keys(input)) {
    if (!(CURVE_KEYS as string[]).includes(k)) throw new TcrError('BAD_CURVE_PARAM', { param: k, need: 'known key' });
  }
  const out = {} as Record<keyof CurveParams, number>;
  for (const k of CURVE_KEYS) {
    const v = input[k] ?? DEFAULT_CURVE_PARAMS[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new TcrError('BAD_CURVE_PARAM', { param: k, value: String(v), need: 'finite number' });
    }
    out[k] = v;
  }
  const need = (ok: boolean, param: keyof CurveParams, rule: string): void => {
    if (!ok) throw new TcrError('BAD_CURVE_PARAM', { param, value: out[param], need: rule });
  };
  for (const k of ['offerQuantityExponent', 'bidQuantityExponent', 'offerPriceExponent', 'bidPriceExponent'] as const) {
    need(out[k] > 0 && out[k] <= 10, k, '0 < exponent <= 10');
  }
  for (const k of ['offerMarginMcPerKWh', 'offerScarcityMcPerKWh', 'bidPriceEmptyMcPerKWh', 'bidPriceFullMcPerKWh'] as const) {
    need(out[k] >= 0 && out[k] <= MAX_PRICE_MC_PER_KWH, k, `0 <= price <= ${MAX_PRICE_MC_PER_KWH}`);
  }
  need(out.bidPriceEmptyMcPerKWh >= out.bidPriceFullMcPerKWh, 'bidPriceEmptyMcPerKWh', '>= bidPriceFullMcPerKWh');
  need(Number.isInteger(out.minBidWh) && out.minBidWh >= 1 && out.minBidWh <= 1_000_000_000, 'minBidWh', 'integer >= 1');
  return Object.freeze(out);
}

/** s = (SOC − SOC_min)/(SOC_max − SOC_min), clamped to [0, 1]. */
export function normalizedSoc(soc: number, b: BatteryParams): number {
  const s = (soc - b.socMin) / (b.socMax - b.socMin);
  return s <= 0 ? 0 : s >= 1 ? 1 : s;
}

/**
 * Q_off (Wh, not rounded): energy offered for discharge over `intervalS` from `soc`,
 * with `reservedWh` of the interval's discharge capacity (5) kept back for the home.
 */
export function offerQuantityWh(soc: number, b: BatteryParams, c: CurveParams, intervalS: number, reservedWh = 0): number {
  const rateWh = Math.max(0, (b.maxDischargeW * intervalS) / 3600 - reservedWh);
  const energyWh = maxDischargeWh(soc, b, intervalS).wh; // ≥ this bound is (1) after η_dis
  return Math.max(0, Math.min(normalizedSoc(soc, b) ** c.offerQuantityExponent * rateWh, energyWh));
}

/** Q_bid (Wh, not rounded): energy bid for charging over `intervalS` from `soc`, `reservedWh` of (4) kept back. */
export function bidQuantityWh(soc: number, b: BatteryParams, c: CurveParams, intervalS: number, reservedWh = 0): number {
  const rateWh = Math.max(0, (b.maxChargeW * intervalS) / 3600 - reservedWh);
  const roomWh = maxChargeWh(soc, b, intervalS).wh;
  return Math.max(0, Math.min((1 - normalizedSoc(soc, b)) ** c.bidQuantityExponent * rateWh, roomWh));
}

/** P_off (integer millicents/kWh): the lowest price at which the battery sells at `soc`; always ≥ C_d. */
export function offerPriceMcPerKWh(soc: number, b: BatteryParams, c: CurveParams): number {
  const scarcity = (1 - normalizedSoc(soc, b)) ** c.offerPriceExponent;
  return degradationCostMcPerKWh(b) + Math.floor(c.offerMarginMcPerKWh + c.offerScarcityMcPerKWh * scarcity);
}

/** P_bid (integer millicents/kWh): the highest price the battery pays for charge at `soc`. */
export function bidPriceMcPerKWh(soc: number, b: BatteryParams, c: CurveParams): number {
  const want = (1 - normalizedSoc(soc, b)) ** c.bidPriceExponent;
  return Math.floor(c.bidPriceFullMcPerKWh + (c.bidPriceEmptyMcPerKWh - c.bidPriceFullMcPerKWh) * want);
}
