/**
 * The device gateway (HDG) seen from the EMS: one small interface, several adapters
 * (`sim`: a simulated home; `mqtt`: devices on a local home bus; `sunspec`: SunSpec
 * devices over Modbus TCP).
 *
 * Power signs: battery power is positive while charging. Energies are Wh of home time
 * (see meteringInterval.ts); times are wall-clock ms since the epoch.
 */
import type { EnergyTotals } from './energyTotals.js';
import type { BatteryState } from '../tcr/stepBattery.js';
import type { HomeForecast } from '../tcr/decide.js';
import type { TcrParams } from '../tcr/tcrParams.js';
import type { Interval } from './meteringInterval.js';
import type { MarketOrder } from '../tcr/marketOrder.js';

/** What the home did over one metering interval. */
export interface IntervalMeasurement {
  /** PV energy produced (P) */
  readonly pvWh: number;
  /** home consumption excluding the battery (C without storage) */
  readonly loadWh: number;
  /** battery energy drawn (AC side) */
  readonly chargedWh: number;
  /** battery energy delivered (AC side) */
  readonly dischargedWh: number;
  /** state of charge at the end of the interval, fraction of capacity */
  readonly soc: number;
}

/** A battery setpoint for a time window, from an award: positive = charge. */
export interface SetpointWindow extends Interval {
  /** home-time power, W */
  readonly powerW: number;
  /** auction that set it, for logs */
  readonly auctionId: string;
}

/** What the HEM shows about itself (Home Assistant entities, logs). */
export interface HemStatus {
  readonly soc: number;
  readonly lastBidWh: number;
  readonly lastBidType: 'buy' | 'sell' | 'none';
  readonly awardWh: number;
  readonly earningsMillicents: number;
  readonly queued: number;
  readonly connected: boolean;
  /** [HA-ENERGY] counters since the HEM was set up (energyTotals.ts) */
  readonly energyWh?: EnergyTotals;
  /** [HA-EARN] settled on chain in final blocks: received − paid − penalties, millicents; null: no chain node */
  readonly settledEarningsMillicents?: number | null;
  /** [HEM-FIN] the same, settled in blocks not final yet; null: no chain node */
  readonly settledEarningsUnconfirmedMillicents?: number | null;
  /** [HEM-FIN] Σ of the home's pseudonym wallets at the final block, millicents (decimal string); null: not known */
  readonly walletFinalMillicents?: string | null;
  /** [HEM-FIN] what blocks not final yet changed of that (head − final), millicents; null: not known */
  readonly walletUnconfirmedChangeMillicents?: string | null;
}

export interface LivePower {
  readonly pvW: number;
  readonly loadW: number;
  readonly batteryW: number;
  readonly setpointW: number | null;
}

/** What the battery can deliver now, as the device says (AC side, W). */
export interface BatteryLimits {
  readonly maxChargeW: number;
  readonly maxDischargeW: number;
}

/** The controller's parameters with the battery's power limits capped by the device's. */
export function withBatteryLimits(tcr: TcrParams, l: BatteryLimits): TcrParams {
  return {
    ...tcr,
    battery: { ...tcr.battery, maxChargeW: Math.min(tcr.battery.maxChargeW, l.maxChargeW), maxDischargeW: Math.min(tcr.battery.maxDischargeW, l.maxDischargeW) },
  };
}

/**
 * [HDG-FLEX] An active user's flexible device (an EV charger, a heat pump): its P2P orders
 * for a coming interval and the energy bought for it. Over an interval the device runs what
 * was planned for it, or at least what it cannot do without (the adapter's rule).
 */
export interface FlexibleLoad {
  readonly type: string;
  /** the device's buy orders for the interval (must part at P_cap, flexible part at its urgency price), from its state projected to the interval's start */
  orders(interval: Interval): MarketOrder[];
  /** P_cap: the price of the must part */
  readonly priceCapMcPerKWh: number;
  /** run `energyWh` (AC) in the interval, within the device's limits */
  plan(interval: Interval, energyWh: number): void;
}

export interface HomeDevices {
  readonly kind: string;
  /** [HDG-FLEX] present for an active user's home; its consumption is in the measured and live load, not in forecast() */
  readonly flexibleLoad?: FlexibleLoad;
  start(): Promise<void>;
  /**
   * Closes the metering interval and says what happened in it; null when the adapter has
   * no data for it (e.g. the HEM was down and a real home cannot be read back in time).
   */
  measure(interval: Interval): Promise<IntervalMeasurement | null>;
  /** Battery state now, for the TCR. */
  batteryState(): BatteryState;
  /** Expected PV and load over a coming interval, home-time Wh (the flexible device's consumption excluded). */
  forecast(interval: Interval): HomeForecast;
  /**
   * [HDG-BID] What the battery can deliver now, for bidding: the device's power limits,
   * or null when an award could not be carried out (no battery control, device not
   * answering, SOC unknown, the last set-point write failed); the EMS then does not bid.
   * Absent: the configured battery (sim, mqtt).
   */
  batteryLimits?(): BatteryLimits | null;
  /** why batteryLimits() is null, in words, for the log */
  batteryLimitsWhy?(): string;
  /** Follow `w` over its window (replaces any window it overlaps). */
  scheduleSetpoint(w: SetpointWindow): void;
  live(): LivePower;
  /** State to persist with each reading (the sim's SOC); restored by the factory. */
  snapshot(): unknown;
  report?(status: HemStatus): void;
  close(): Promise<void>;
}
