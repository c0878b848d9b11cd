/**
 * The one way the device parameter constructors read their input (EV charger, thermal
 * load, shiftable appliance, active user): an object of known keys, each a finite number,
 * missing keys taking the defaults. Each constructor then checks its own rules with
 * `requireParam`. Errors: `<CODE> param=… value=… need=…`.
 */
import { TcrError, type TcrErrorCode } from './tcrError.js';

/** Reads `input` against `defaults`: unknown keys and non-finite values throw `code`. */
export function readDeviceParams<K extends string>(
  code: TcrErrorCode, defaults: Readonly<Record<K, number>>, input: unknown,
): Record<K, number> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TcrError(code, { param: '(input)', need: 'object' });
  }
  const keys = Object.keys(defaults) as K[];
  for (const k of Object.keys(input)) {
    if (!(keys as string[]).includes(k)) throw new TcrError(code, { param: k, need: 'known key' });
  }
  const given = input as Partial<Record<K, unknown>>;
  const out = {} as Record<K, number>;
  for (const k of keys) {
    const v = given[k] ?? defaults[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TcrError(code, { param: k, value: String(v), need: 'finite number' });
    out[k] = v;
  }
  return out;
}

/** Throws `code param=… value=… need=rule` unless `ok`. */
export function requireParam<K extends string>(code: TcrErrorCode, p: Readonly<Record<K, number>>, param: K, ok: boolean, rule: string): void {
  if (!ok) throw new TcrError(code, { param, value: p[param], need: rule });
}
