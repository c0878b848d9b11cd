/**
 * Several devices, two markets: no over-commitment. For one delivery interval, what a home
 * can still sell and still buy given what it has already sold and bought in the
 * aggregator's auctions and in the P2P market, such that its battery keeps (1)–(5)
 * (DESIGN §6), the EV its power and its need, and the thermal load its band.
 *
 * Everything is AC energy over the interval, Wh; I is the home's net import (negative =
 * export). With the forecast PV and base load (the base load includes a curtailable part F,
 * which may be shed) and each device's range for the interval:
 *
 *   I_min = base − PV − F − E_dis,max + EV_min + TH_min + SH_min
 *   I_max = base − PV     + E_ch,max  + EV_max + TH_max + SH_max
 *
 * E_dis,max / E_ch,max from `maxDischargeWh` / `maxChargeWh` (the limits `stepBattery`
 * applies), EV_min..max from `evEnergyRange`, TH from `thermalEnergyRange`, SH from
 * `shiftableEnergyRange` (0 or e, nothing between). PV is taken as forecast (never curtailed).
 *
 * Commitments net at the meter: N = Σ bought − Σ sold over both markets. The retailer
 * covers what is not committed in either direction, so a net seller (N < 0) must be able
 * to export at least −N (I_min ≤ N) and a net buyer (N > 0) to take at least N (I_max ≥ N):
 *
 *   feasible  ⇔  min(0, I_min) ≤ N ≤ max(0, I_max)
 *   sell room = max(0, ⌊N − min(0, I_min)⌋),   buy room = max(0, ⌊max(0, I_max) − N⌋)
 *
 * `dispatchInterval` gives the set-points that meet N: it starts from I_min and gives back,
 * in order, the shed load, the battery discharge, the EV's and the thermal load's flexible
 * parts, then charges the battery, stopping at clamp(N, I_min, I_max); a waiting shiftable
 * appliance starts only when that target needs it (when 0-or-e leaves a gap, the target
 * moves the way the retailer can cover: up for a buyer, down for a seller).
 */
import type { BatteryParams } from './batteryParams.js';
import { evEnergyRange, type EvParams, type EvState } from './evCharger.js';
import type { EnergyRange, OrderSide } from './marketOrder.js';
import { shiftableEnergyRange, shiftablePhase, type ShiftableParams, type ShiftableState } from './shiftableLoad.js';
import { checkInterval, checkState, maxChargeWh, maxDischargeWh, type BatteryRequest, type BatteryState } from './stepBattery.js';
import { TcrError } from './tcrError.js';
import { thermalEnergyRange, type ThermalParams, type ThermalState } from './thermalLoad.js';

export interface HomeDevices {
  readonly battery?: { readonly params: BatteryParams; readonly state: BatteryState };
  readonly ev?: { readonly params: EvParams; readonly state: EvState };
  readonly thermal?: { readonly params: ThermalParams; readonly state: ThermalState; readonly ambientC: number };
  readonly shiftable?: { readonly params: ShiftableParams; readonly state: ShiftableState };
}

/** The home's forecast for the interval, Wh. */
export interface IntervalForecast {
  readonly pvWh: number;
  /** consumption of everything but the devices above. */
  readonly baseLoadWh: number;
  /** F: the part of the base load that may be shed (0 if absent), 0 ≤ F ≤ baseLoadWh. */
  readonly curtailableWh?: number;
}

export type Market = 'auction' | 'p2p';

/** One accepted trade for the interval: an award of the aggregator's auction or a P2P fill. */
export interface Commitment {
  readonly market: Market;
  readonly side: OrderSide;
  /** whole Wh ≥ 0. */
  readonly energyWh: number;
}

export interface CommitmentTotals {
  readonly auctionSoldWh: number;
  readonly auctionBoughtWh: number;
  readonly p2pSoldWh: number;
  readonly p2pBoughtWh: number;
  /** N = Σ bought − Σ sold. */
  readonly netImportWh: number;
}

/** I_min..I_max and the parts they are made of, Wh. */
export interface ImportRange {
  readonly minWh: number;
  readonly maxWh: number;
  /** base − PV. */
  readonly fixedWh: number;
  readonly curtailableWh: number;
  readonly batteryChargeMaxWh: number;
  readonly batteryDischargeMaxWh: number;
  readonly ev: EnergyRange;
  readonly thermal: EnergyRange;
  readonly shiftable: EnergyRange;
}

export interface Room {
  /** the most the home can still sell in the interval, whole Wh. */
  readonly sellWh: number;
  /** the most the home can still buy in the interval, whole Wh. */
  readonly buyWh: number;
  /** by how much the commitments already lie outside the feasible range, Wh (0 = none). */
  readonly overCommittedWh: number;
  readonly totals: CommitmentTotals;
  readonly range: ImportRange;
}

/** Set-points for the interval that meet the commitments. */
export interface Dispatch {
  /** I: planned net import (negative = export), Wh. */
  readonly importWh: number;
  /** the battery's request for `stepBattery` (one direction only). */
  readonly battery: BatteryRequest;
  readonly evWh: number;
  readonly thermalWh: number;
  /** a waiting appliance starts its run in this interval (asked, or on its own at latest). */
  readonly shiftableStart: boolean;
  readonly shiftableWh: number;
  /** load shed out of F. */
  readonly curtailedWh: number;
  /** false when the commitments already lie outside the feasible range (best effort then). */
  readonly feasible: boolean;
}

const NONE: EnergyRange = Object.freeze({ minWh: 0, maxWh: 0 });

function checkIntervalForecast(f: IntervalForecast): void {
  for (const k of ['pvWh', 'baseLoadWh', 'curtailableWh'] as const) {
    const v = f?.[k];
    if (k === 'curtailableWh' && v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TcrError('BAD_FORECAST', { field: k, value: String(v), need: 'finite, >= 0' });
  }
  if ((f.curtailableWh ?? 0) > f.baseLoadWh) {
    throw new TcrError('BAD_FORECAST', { field: 'curtailableWh', value: f.curtailableWh, need: `<= baseLoadWh (${f.baseLoadWh})` });
  }
}

/** Sums the commitments per market and direction. Throws `BAD_COMMITMENT index=… field=… value=… need=…`. */
export function commitmentTotals(commitments: readonly Commitment[]): CommitmentTotals {
  if (!Array.isArray(commitments)) throw new TcrError('BAD_COMMITMENT', { field: '(commitments)', need: 'array' });
  const t = { auctionSoldWh: 0, auctionBoughtWh: 0, p2pSoldWh: 0, p2pBoughtWh: 0 };
  commitments.forEach((c: Commitment, index) => {
    const bad = (field: string, value: unknown, need: string): never => {
      throw new TcrError('BAD_COMMITMENT', { index, field, value: String(value), need });
    };
    if (typeof c !== 'object' || c === null) bad('(commitment)', c, 'object');
    if (c.market !== 'auction' && c.market !== 'p2p') bad('market', c.market, 'auction or p2p');
    if (c.side !== 'buy' && c.side !== 'sell') bad('side', c.side, 'buy or sell');
    if (!Number.isSafeInteger(c.energyWh) || c.energyWh < 0) bad('energyWh', c.energyWh, 'integer >= 0');
    const key = `${c.market}${c.side === 'buy' ? 'Bought' : 'Sold'}Wh` as keyof typeof t;
    t[key] += c.energyWh;
  });
  return { ...t, netImportWh: t.auctionBoughtWh + t.p2pBoughtWh - t.auctionSoldWh - t.p2pSoldWh };
}

/** I_min and I_max of the module comment, with their parts. Throws on a bad forecast, state or interval. */
export function homeImportRange(devices: HomeDevices, forecast: IntervalForecast, intervalS: number): ImportRange {
  checkInterval(intervalS);
  checkIntervalForecast(forecast);
  let chMax = 0;
  let disMax = 0;
  if (devices.battery) {
    checkState(devices.battery.state);
    chMax = maxChargeWh(devices.battery.state.soc, devices.battery.params, intervalS).wh;
    disMax = maxDischargeWh(devices.battery.state.soc, devices.battery.params, intervalS).wh;
  }
  const ev = devices.ev ? evEnergyRange(devices.ev.state, devices.ev.params, intervalS) : NONE;
  const th = devices.thermal ? thermalEnergyRange(devices.thermal.state, devices.thermal.params, intervalS, devices.thermal.ambientC) : NONE;
  const sh = devices.shiftable ? shiftableEnergyRange(devices.shiftable.state, devices.shiftable.params) : NONE;
  const fixedWh = forecast.baseLoadWh - forecast.pvWh;
  const curtailableWh = forecast.curtailableWh ?? 0;
  return {
    minWh: fixedWh - curtailableWh - disMax + ev.minWh + th.minWh + sh.minWh,
    maxWh: fixedWh + chMax + ev.maxWh + th.maxWh + sh.maxWh,
    fixedWh, curtailableWh, batteryChargeMaxWh: chMax, batteryDischargeMaxWh: disMax, ev, thermal: th, shiftable: sh,
  };
}

/** The room left to sell and to buy in the interval (module comment). */
export function roomLeft(devices: HomeDevices, forecast: IntervalForecast, commitments: readonly Commitment[], intervalS: number): Room {
  const totals = commitmentTotals(commitments);
  const range = homeImportRange(devices, forecast, intervalS);
  const n = totals.netImportWh;
  const lo = Math.min(0, range.minWh);
  const hi = Math.max(0, range.maxWh);
  // the largest whole Wh that keeps N within [lo, hi], checked on N itself: the float
  // difference can round up to the next integer
  let sellWh = Math.max(0, Math.floor(n - lo));
  if (sellWh > 0 && n - sellWh < lo) sellWh -= 1;
  let buyWh = Math.max(0, Math.floor(hi - n));
  if (buyWh > 0 && n + buyWh > hi) buyWh -= 1;
  return {
    sellWh,
    buyWh,
    overCommittedWh: Math.max(0, lo - n, n - hi),
    totals,
    range,
  };
}

/** Set-points that meet the commitments (module comment). */
export function dispatchInterval(devices: HomeDevices, forecast: IntervalForecast, commitments: readonly Commitment[], intervalS: number): Dispatch {
  const room = roomLeft(devices, forecast, commitments, intervalS);
  const r = room.range;
  const n = room.totals.netImportWh;
  let target = Math.min(Math.max(n, r.minWh), r.maxWh);
  let least = r.minWh; // I with every part at its least
  let optionalOn = false;
  const e = r.shiftable.maxWh - r.shiftable.minWh;
  if (e > 0) {
    // a waiting appliance that may start now: 0 or e, nothing between
    const topWithout = r.maxWh - e;
    if (target > topWithout) {
      if (target >= r.minWh + e) optionalOn = true;
      else if (n >= 0) { optionalOn = true; target = r.minWh + e; }
      else target = topWithout;
    }
    if (optionalOn) least += e;
  }
  let d = Math.max(0, target - least);
  const take = (most: number): number => {
    const x = Math.min(d, Math.max(0, most));
    d -= x;
    return x;
  };
  const restored = take(r.curtailableWh);
  const lessDischarge = take(r.batteryDischargeMaxWh);
  const evWh = r.ev.minWh + take(r.ev.maxWh - r.ev.minWh);
  const thermalWh = r.thermal.minWh + take(r.thermal.maxWh - r.thermal.minWh);
  const chargeWh = take(r.batteryChargeMaxWh);
  const dischargeWh = r.batteryDischargeMaxWh - lessDischarge;
  const curtailedWh = r.curtailableWh - restored;
  const shiftableWh = r.shiftable.minWh + (optionalOn ? e : 0);
  const shiftableStart = devices.shiftable !== undefined && shiftableWh > 0
    && shiftablePhase(devices.shiftable.state, devices.shiftable.params) === 'waiting';
  return {
    importWh: r.fixedWh - curtailedWh + evWh + thermalWh + shiftableWh + chargeWh - dischargeWh,
    battery: { chargeWh, dischargeWh: chargeWh > 0 ? 0 : dischargeWh },
    evWh, thermalWh, shiftableStart, shiftableWh, curtailedWh,
    feasible: room.overCommittedWh === 0,
  };
}
