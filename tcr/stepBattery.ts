/**
 * One interval of the battery model, DESIGN §6 equations (1)–(7).
 *
 *   (6) SOC_t = SOC_{t−1} + γ·η_ch·E_ch/Cap − χ·E_dis/(η_dis·Cap),  γ, χ ∈ {0,1}, γ·χ = 0
 *
 * E_ch is the energy drawn on the AC side while charging and E_dis the energy delivered
 * on the AC side while discharging, so the average rates over an interval Δt are
 *   (2) r_ch  = (SOC_t − SOC_{t−1})·Cap/η_ch / Δt = E_ch/Δt
 *   (3) r_dis = (SOC_{t−1} − SOC_t)·Cap·η_dis / Δt = E_dis/Δt
 * and the request is clamped so that (1), (4) and (5) hold at the end of the interval:
 *   E_ch  ≤ min(r_ch,max·Δt,  (SOC_max − SOC_{t−1})·Cap/η_ch)
 *   E_dis ≤ min(r_dis,max·Δt, (SOC_{t−1} − SOC_min)·Cap·η_dis)
 */
import { degradationCostMc, type BatteryParams } from './batteryParams.js';
import { TcrError } from './tcrError.js';

/** State of charge as a fraction of Cap, 0 ≤ soc ≤ 1. */
export interface BatteryState {
  readonly soc: number;
}

export interface BatteryRequest {
  /** E_ch requested, Wh drawn from the AC side (≥ 0). */
  readonly chargeWh: number;
  /** E_dis requested, Wh delivered to the AC side (≥ 0). */
  readonly dischargeWh: number;
}

export type StepLimit = 'none' | 'rate' | 'soc';

export interface StepResult {
  readonly state: BatteryState;
  /** E_ch actually drawn (Wh, not rounded). */
  readonly chargedWh: number;
  /** E_dis actually delivered (Wh, not rounded). */
  readonly dischargedWh: number;
  /** average r_ch over the interval (W). */
  readonly chargeRateW: number;
  /** average r_dis over the interval (W). */
  readonly dischargeRateW: number;
  /** Cost_degr (7) of the discharge, millicents, floored. */
  readonly degradationCostMc: number;
  /** what cut the request short, if anything ('rate' (4)/(5) or 'soc' (1)). */
  readonly limitedBy: StepLimit;
}

/** Largest interval accepted: one day. */
export const MAX_INTERVAL_S = 86_400;

export function checkInterval(intervalS: number): void {
  if (!Number.isFinite(intervalS) || intervalS <= 0 || intervalS > MAX_INTERVAL_S) {
    throw new TcrError('BAD_INTERVAL', { intervalS, need: `0 < intervalS <= ${MAX_INTERVAL_S}` });
  }
}

export function checkState(state: BatteryState): void {
  if (typeof state !== 'object' || state === null || !Number.isFinite(state.soc) || state.soc < 0 || state.soc > 1) {
    throw new TcrError('BAD_STATE', { soc: String(state?.soc), need: '0 <= soc <= 1' });
  }
}

/** Largest E_ch (Wh) possible from `soc` over `intervalS`: min of (4) and headroom to SOC_max (1). */
export function maxChargeWh(soc: number, p: BatteryParams, intervalS: number): { wh: number; limitedBy: StepLimit } {
  const rateWh = (p.maxChargeW * intervalS) / 3600;
  const roomWh = (Math.max(0, p.socMax - soc) * p.capacityWh) / p.etaCh;
  return roomWh < rateWh ? { wh: roomWh, limitedBy: 'soc' } : { wh: rateWh, limitedBy: 'rate' };
}

/** Largest E_dis (Wh) possible from `soc` over `intervalS`: min of (5) and the energy above SOC_min (1). */
export function maxDischargeWh(soc: number, p: BatteryParams, intervalS: number): { wh: number; limitedBy: StepLimit } {
  const rateWh = (p.maxDischargeW * intervalS) / 3600;
  const aboveWh = Math.max(0, soc - p.socMin) * p.capacityWh * p.etaDis;
  return aboveWh < rateWh ? { wh: aboveWh, limitedBy: 'soc' } : { wh: rateWh, limitedBy: 'rate' };
}

/**
 * Applies a charge or discharge request for one interval and returns the new state and
 * what was actually done. Never mutates its input. Requests beyond the limits are cut
 * (never an error); a request for both directions at once (γ = χ = 1), a negative or
 * non-finite request, a bad state or interval throws a `TcrError`.
 *
 * A state outside [SOC_min, SOC_max] (e.g. after a change of limits) is accepted: it may
 * only move back towards the window (no discharge below SOC_min, no charge above SOC_max).
 */
export function stepBattery(state: BatteryState, req: BatteryRequest, p: BatteryParams, intervalS: number): StepResult {
  checkState(state);
  checkInterval(intervalS);
  const { chargeWh, dischargeWh } = req;
  if (!Number.isFinite(chargeWh) || chargeWh < 0 || !Number.isFinite(dischargeWh) || dischargeWh < 0) {
    throw new TcrError('BAD_REQUEST', { chargeWh, dischargeWh, need: 'finite, >= 0' });
  }
  // [TCR-6] γ and χ are never both 1.
  if (chargeWh > 0 && dischargeWh > 0) throw new TcrError('BOTH_DIRECTIONS', { chargeWh, dischargeWh });
  const soc = state.soc;
  const hours = intervalS / 3600;

  if (chargeWh > 0) {
    const max = maxChargeWh(soc, p, intervalS);
    const done = Math.min(chargeWh, max.wh);
    // (6) with γ = 1; the clamp only absorbs floating-point excess so that (1) holds exactly.
    const next = Math.min(soc + (p.etaCh * done) / p.capacityWh, Math.max(soc, p.socMax));
    return {
      state: { soc: next },
      chargedWh: done,
      dischargedWh: 0,
      chargeRateW: done / hours,
      dischargeRateW: 0,
      degradationCostMc: 0,
      limitedBy: done < chargeWh ? max.limitedBy : 'none',
    };
  }
  if (dischargeWh > 0) {
    const max = maxDischargeWh(soc, p, intervalS);
    const done = Math.min(dischargeWh, max.wh);
    // (6) with χ = 1.
    const next = Math.max(soc - done / (p.etaDis * p.capacityWh), Math.min(soc, p.socMin));
    return {
      state: { soc: next },
      chargedWh: 0,
      dischargedWh: done,
      chargeRateW: 0,
      dischargeRateW: done / hours,
      degradationCostMc: degradationCostMc(done, p), // (7)
      limitedBy: done < dischargeWh ? max.limitedBy : 'none',
    };
  }
  return { state: { soc }, chargedWh: 0, dischargedWh: 0, chargeRateW: 0, dischargeRateW: 0, degradationCostMc: 0, limitedBy: 'none' };
}
