/**
 * Orders for the P2P market (DESIGN §8b) and the price rule the flexible loads share.
 *
 * An order is for one delivery interval: `buy` = the most the home pays per kWh,
 * `sell` = the least it accepts. Integers at the edge: Wh and millicents/kWh, floored.
 *
 * Every flexible load prices its energy by urgency x ∈ [0, 1] (0: nothing presses, 1: it
 * must run now):
 *   P(x) = ⌊P_low + (P_cap − P_low)·x^e⌋
 * so P(0) = P_low, P(1) = P_cap, and P never falls as x rises. What must run is bought
 * at P_cap, the most the home pays for energy at all (about the retail tariff: above it
 * the home buys from its retailer instead).
 */
import { MAX_PRICE_MC_PER_KWH } from './curves.js';
import { requireParam } from './readDeviceParams.js';
import type { TcrErrorCode } from './tcrError.js';

export type OrderSide = 'buy' | 'sell';

export interface MarketOrder {
  readonly side: OrderSide;
  /** Wh, integer ≥ 1. */
  readonly energyWh: number;
  /** millicents/kWh, integer. */
  readonly priceMcPerKWh: number;
}

/** The least and the most a device draws in one interval (AC Wh) within its own limits. */
export interface EnergyRange {
  readonly minWh: number;
  readonly maxWh: number;
}

/** Price parameters every flexible load has. */
export interface LoadPricing {
  /** P_cap: the most paid for energy that must be bought, millicents/kWh. */
  readonly priceCapMcPerKWh: number;
  /** P_low: the price of energy nothing presses for, millicents/kWh. */
  readonly priceLowMcPerKWh: number;
  /** e: exponent of the urgency price (1 = linear, > 1 stays low longer). */
  readonly priceExponent: number;
  /** smallest order worth sending, Wh (integer ≥ 1). */
  readonly minOrderWh: number;
}

/** 30 c/kWh cap (a retail tariff), 5 c/kWh when nothing presses, linear, nothing under 1 Wh. */
export const DEFAULT_LOAD_PRICING: LoadPricing = Object.freeze({
  priceCapMcPerKWh: 30_000,
  priceLowMcPerKWh: 5_000,
  priceExponent: 1,
  minOrderWh: 1,
});

/** Checks the pricing fields of a device's parameters, throwing `code param=… value=… need=…`. */
export function checkLoadPricing(code: TcrErrorCode, p: Readonly<Record<keyof LoadPricing, number>>): void {
  requireParam(code, p, 'priceCapMcPerKWh', Number.isInteger(p.priceCapMcPerKWh) && p.priceCapMcPerKWh >= 0 && p.priceCapMcPerKWh <= MAX_PRICE_MC_PER_KWH,
    `integer 0..${MAX_PRICE_MC_PER_KWH}`);
  requireParam(code, p, 'priceLowMcPerKWh', Number.isInteger(p.priceLowMcPerKWh) && p.priceLowMcPerKWh >= 0 && p.priceLowMcPerKWh <= p.priceCapMcPerKWh,
    'integer 0..priceCapMcPerKWh');
  requireParam(code, p, 'priceExponent', p.priceExponent > 0 && p.priceExponent <= 10, '0 < exponent <= 10');
  requireParam(code, p, 'minOrderWh', Number.isInteger(p.minOrderWh) && p.minOrderWh >= 1 && p.minOrderWh <= 1_000_000_000, 'integer >= 1');
}

/** P(x) = ⌊P_low + (P_cap − P_low)·x^e⌋, x clamped to [0, 1]. */
export function urgencyPriceMcPerKWh(x: number, p: LoadPricing): number {
  const u = x <= 0 ? 0 : x >= 1 ? 1 : x;
  return Math.min(p.priceCapMcPerKWh, Math.floor(p.priceLowMcPerKWh + (p.priceCapMcPerKWh - p.priceLowMcPerKWh) * u ** p.priceExponent));
}

/** Buy orders for the parts given (whole Wh), leaving out any under `minOrderWh`. */
export function buyOrders(parts: readonly { energyWh: number; priceMcPerKWh: number }[], minOrderWh: number): MarketOrder[] {
  return parts.filter((o) => o.energyWh >= minOrderWh).map((o) => ({ side: 'buy', energyWh: o.energyWh, priceMcPerKWh: o.priceMcPerKWh }));
}
