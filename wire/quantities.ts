/**
 * Wire quantities → chain integers (DESIGN §5). One rounding rule everywhere: floor.
 *
 * A wire value such as {"unit":"kWh","value":8.2} is converted through its shortest
 * decimal representation (what JSON carries), so 8.2 kWh is exactly 8200 Wh and never
 * 8199 through binary floating point. Digits beyond the integer unit are dropped (floor).
 */
import type { Energy, Price } from '../schemas/types.js';

/** floor(value × 10^decimals), computed on the decimal digits of value (value ≥ 0). */
export function scaleFloor(value: number, decimals: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`OUT_OF_RANGE value=${value}`);
  const s = value.toString();
  let mantissa: string;
  let exp = 0;
  const e = s.indexOf('e');
  if (e >= 0) {
    mantissa = s.slice(0, e);
    exp = Number(s.slice(e + 1));
  } else mantissa = s;
  const dot = mantissa.indexOf('.');
  const intPart = dot >= 0 ? mantissa.slice(0, dot) : mantissa;
  const fracPart = dot >= 0 ? mantissa.slice(dot + 1) : '';
  const digits = intPart + fracPart;
  const shift = decimals + exp - fracPart.length; // value×10^decimals = digits × 10^shift
  if (shift >= 0) return Number(digits + '0'.repeat(shift));
  const keep = digits.length + shift;
  return keep <= 0 ? 0 : Number(digits.slice(0, keep));
}

export function energyToWh(q: Energy): number {
  return q.unit === 'Wh' ? Math.floor(q.value) : scaleFloor(q.value, 3);
}

export function priceToMillicentsPerKWh(p: Price): number {
  return p.unit === 'millicents/kWh' ? Math.floor(p.value) : scaleFloor(p.value, 3);
}

export function whToEnergy(whValue: number): Energy {
  return { unit: 'Wh', value: whValue };
}

export function millicentsToPrice(m: number): Price {
  return { unit: 'millicents/kWh', value: m };
}

/** payment in millicents for energy (Wh) at price (millicents/kWh): floor(Wh × price / 1000). */
export function paymentMillicents(energyWh: number, priceMcPerKWh: number): number {
  const p = BigInt(energyWh) * BigInt(priceMcPerKWh);
  return Number(p / 1000n);
}
