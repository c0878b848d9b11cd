/**
 * A shiftable appliance (washing machine, dishwasher, dryer) as a flexible load for the
 * P2P market (DESIGN §8b): a run of e Wh per interval for k consecutive intervals that
 * must start within [earliest, latest], counted in delivery intervals.
 *
 * Phases at interval `now`: before (now < earliest), waiting (earliest ≤ now ≤ latest, not
 * started), running (startedAt ≤ now < startedAt + k), done. At `latest` the appliance
 * starts on its own (its "finish by" timer), so a run is never missed.
 *
 * Bid, with the slack σ = (latest − now)/(latest − earliest) (0 when latest = earliest):
 *   waiting:  buy e at P_sh = ⌊P_low + (P_cap − P_low)·(1 − σ)^g⌋ — the run's first interval,
 *             dearer as the latest start approaches, P_cap at latest; nothing if a price
 *             forecast shows a strictly cheaper whole run starting later in the window
 *   running:  buy e at P_cap (a run is not interrupted)
 *   before, done: nothing
 * Decision after the clearing: start iff anything was awarded to the waiting bid (what is
 * bought is used) or now = latest.
 */
import { buyOrders, checkLoadPricing, DEFAULT_LOAD_PRICING, urgencyPriceMcPerKWh, type EnergyRange, type LoadPricing, type MarketOrder } from './marketOrder.js';
import { readDeviceParams, requireParam } from './readDeviceParams.js';
import { TcrError } from './tcrError.js';

export interface ShiftableParams extends LoadPricing {
  /** e: energy drawn in each interval of the run, whole Wh ≥ 1. */
  readonly energyPerIntervalWh: number;
  /** k: intervals in one run, integer ≥ 1. */
  readonly runIntervals: number;
}

/** Defaults: 300 Wh per 15-minute interval for 4 intervals (a 1.2 kWh wash), the shared load pricing. */
export const DEFAULT_SHIFTABLE_PARAMS: ShiftableParams = Object.freeze({
  energyPerIntervalWh: 300,
  runIntervals: 4,
  ...DEFAULT_LOAD_PRICING,
});

/** Interval indices (any integer clock of delivery intervals, e.g. minutes since epoch / 15). */
export interface ShiftableState {
  readonly now: number;
  readonly earliest: number;
  readonly latest: number;
  /** the interval the run started in, or null while not started. */
  readonly startedAt: number | null;
}

export type ShiftablePhase = 'before' | 'waiting' | 'running' | 'done';

export interface ShiftableRequest {
  /** start the run in this interval (ignored unless waiting). */
  readonly start: boolean;
}

export interface ShiftableStepResult {
  readonly state: ShiftableState;
  /** energy drawn in this interval, Wh (e or 0). */
  readonly usedWh: number;
  /** the run started in this interval (asked, or on its own at latest). */
  readonly startedNow: boolean;
}

export type ShiftableReason = 'AWARDED' | 'LATEST_START' | 'NOT_AWARDED' | 'NOT_YET' | 'RUNNING' | 'DONE';

export interface ShiftableDecision {
  readonly start: boolean;
  readonly reason: ShiftableReason;
}

/** Validated appliance parameters; missing fields take the defaults. Throws `BAD_SHIFTABLE_PARAM param=… value=… need=…`. */
export function createShiftableParams(input: Partial<Record<keyof ShiftableParams, unknown>> = {}): ShiftableParams {
  const p = readDeviceParams('BAD_SHIFTABLE_PARAM', DEFAULT_SHIFTABLE_PARAMS, input);
  const need = (param: keyof ShiftableParams, ok: boolean, rule: string): void => requireParam('BAD_SHIFTABLE_PARAM', p, param, ok, rule);
  need('energyPerIntervalWh', Number.isInteger(p.energyPerIntervalWh) && p.energyPerIntervalWh >= 1 && p.energyPerIntervalWh <= 1_000_000_000, 'integer >= 1');
  need('runIntervals', Number.isInteger(p.runIntervals) && p.runIntervals >= 1 && p.runIntervals <= 10_000, 'integer 1..10000');
  checkLoadPricing('BAD_SHIFTABLE_PARAM', p);
  return Object.freeze(p);
}

/**
 * Throws `BAD_SHIFTABLE_STATE field=… value=… need=…` unless: integer indices,
 * earliest ≤ latest, and a run not started has now ≤ latest, a started one
 * earliest ≤ startedAt ≤ min(latest, now).
 */
export function checkShiftableState(state: ShiftableState): void {
  if (typeof state !== 'object' || state === null) throw new TcrError('BAD_SHIFTABLE_STATE', { field: '(state)', need: 'object' });
  const bad = (field: string, value: unknown, need: string): never => {
    throw new TcrError('BAD_SHIFTABLE_STATE', { field, value: String(value), need });
  };
  for (const f of ['now', 'earliest', 'latest'] as const) if (!Number.isSafeInteger(state[f])) bad(f, state[f], 'integer');
  if (state.latest < state.earliest) bad('latest', state.latest, `>= earliest (${state.earliest})`);
  const s = state.startedAt;
  if (s === null) {
    if (state.now > state.latest) bad('now', state.now, `<= latest (${state.latest}) while not started`);
  } else if (!Number.isSafeInteger(s) || s < state.earliest || s > state.latest || s > state.now) {
    bad('startedAt', s, 'null or integer in [earliest, min(latest, now)]');
  }
}

export function shiftablePhase(state: ShiftableState, p: ShiftableParams): ShiftablePhase {
  checkShiftableState(state);
  if (state.startedAt !== null) return state.now < state.startedAt + p.runIntervals ? 'running' : 'done';
  return state.now < state.earliest ? 'before' : 'waiting';
}

/**
 * One interval: draws e if running, or if waiting and asked to start (or at latest, where
 * it starts on its own); 0 otherwise. Returns the state one interval later. A start asked
 * for outside the window is ignored (`startedNow` false). Never mutates its input.
 */
export function stepShiftable(state: ShiftableState, req: ShiftableRequest, p: ShiftableParams): ShiftableStepResult {
  if (typeof req?.start !== 'boolean') throw new TcrError('BAD_REQUEST', { start: String(req?.start), need: 'boolean' });
  const phase = shiftablePhase(state, p);
  const startsNow = phase === 'waiting' && (req.start || state.now >= state.latest);
  const startedAt = startsNow ? state.now : state.startedAt;
  return {
    state: { now: state.now + 1, earliest: state.earliest, latest: state.latest, startedAt },
    usedWh: startsNow || phase === 'running' ? p.energyPerIntervalWh : 0,
    startedNow: startsNow,
  };
}

/** [minWh, maxWh] for this interval: e..e running or at latest, 0..e waiting, 0..0 before or done. The appliance draws 0 or e, nothing between. */
export function shiftableEnergyRange(state: ShiftableState, p: ShiftableParams): EnergyRange {
  const phase = shiftablePhase(state, p);
  const e = p.energyPerIntervalWh;
  if (phase === 'running' || (phase === 'waiting' && state.now >= state.latest)) return { minWh: e, maxWh: e };
  return phase === 'waiting' ? { minWh: 0, maxWh: e } : { minWh: 0, maxWh: 0 };
}

/** σ = (latest − now)/(latest − earliest) for a waiting run (0 when latest = earliest), clamped to [0, 1]. */
export function shiftableSlack(state: ShiftableState): number {
  checkShiftableState(state);
  const span = state.latest - state.earliest;
  if (span === 0) return 0;
  const s = (state.latest - state.now) / span;
  return s <= 0 ? 0 : s >= 1 ? 1 : s;
}

/** P_sh = ⌊P_low + (P_cap − P_low)·(1 − σ)^g⌋. */
export function shiftablePriceMcPerKWh(state: ShiftableState, p: ShiftableParams): number {
  return urgencyPriceMcPerKWh(1 - shiftableSlack(state), p);
}

function checkForecast(forecast: readonly number[]): void {
  if (!Array.isArray(forecast)) throw new TcrError('BAD_FORECAST', { field: 'pricesMcPerKWh', need: 'array' });
  forecast.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TcrError('BAD_FORECAST', { field: `pricesMcPerKWh[${i}]`, value: String(v), need: 'finite, >= 0' });
  });
}

/**
 * With a price forecast (`pricesMcPerKWh[i]` for interval now + i), the start in
 * (now, latest] whose whole run (k intervals, all inside the forecast) costs strictly less
 * than starting now, the cheapest such (earliest on ties); null if none or if the forecast
 * does not cover a run starting now.
 */
export function cheaperStartLater(state: ShiftableState, p: ShiftableParams, pricesMcPerKWh: readonly number[]): number | null {
  checkForecast(pricesMcPerKWh);
  checkShiftableState(state);
  const k = p.runIntervals;
  const runCost = (offset: number): number | null => {
    if (offset + k > pricesMcPerKWh.length) return null;
    let sum = 0;
    for (let j = 0; j < k; j++) sum += pricesMcPerKWh[offset + j] ?? 0;
    return sum;
  };
  const now = runCost(0);
  if (now === null) return null;
  let best: { start: number; cost: number } | null = null;
  for (let s = state.now + 1; s <= state.latest; s++) {
    const c = runCost(s - state.now);
    if (c === null) break;
    if (c < now && (best === null || c < best.cost)) best = { start: s, cost: c };
  }
  return best?.start ?? null;
}

/**
 * The appliance's order for one interval (module comment): running → [buy e at P_cap];
 * waiting → [buy e at P_sh], or none when `pricesMcPerKWh` shows a cheaper run later and
 * now < latest; before or done → none.
 */
export function shiftableOrders(state: ShiftableState, p: ShiftableParams, pricesMcPerKWh?: readonly number[]): MarketOrder[] {
  const phase = shiftablePhase(state, p);
  const e = p.energyPerIntervalWh;
  if (phase === 'running') return buyOrders([{ energyWh: e, priceMcPerKWh: p.priceCapMcPerKWh }], p.minOrderWh);
  if (phase !== 'waiting') return [];
  if (pricesMcPerKWh !== undefined && state.now < state.latest && cheaperStartLater(state, p, pricesMcPerKWh) !== null) return [];
  return buyOrders([{ energyWh: e, priceMcPerKWh: shiftablePriceMcPerKWh(state, p) }], p.minOrderWh);
}

/**
 * Start now or wait, after the interval's clearing: start iff waiting and either any of
 * its bid was awarded (`awardedWh` > 0: energy bought is used) or now = latest.
 */
export function decideShiftable(state: ShiftableState, p: ShiftableParams, awardedWh: number): ShiftableDecision {
  if (typeof awardedWh !== 'number' || !Number.isFinite(awardedWh) || awardedWh < 0) {
    throw new TcrError('BAD_REQUEST', { awardedWh: String(awardedWh), need: 'finite, >= 0' });
  }
  const phase = shiftablePhase(state, p);
  if (phase === 'before') return { start: false, reason: 'NOT_YET' };
  if (phase === 'running') return { start: false, reason: 'RUNNING' };
  if (phase === 'done') return { start: false, reason: 'DONE' };
  if (state.now >= state.latest) return { start: true, reason: 'LATEST_START' };
  return awardedWh > 0 ? { start: true, reason: 'AWARDED' } : { start: false, reason: 'NOT_AWARDED' };
}
