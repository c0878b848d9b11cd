/**
 * Preload for a process whose wall clock is wrong, as on a home device without NTP:
 * `node --import <dist>/hem/test/skewedClock.js …` shifts Date.now() and `new Date()`
 * (no argument) by TMI_TEST_CLOCK_SKEW_MS, or by the number in the file
 * TMI_TEST_CLOCK_SKEW_FILE, read again every 100 ms (so a test can set the clock right
 * later, as NTP would, or make it jump). Test use only.
 */
import { readFileSync } from 'node:fs';

const file = process.env.TMI_TEST_CLOCK_SKEW_FILE;
let skew = Number(process.env.TMI_TEST_CLOCK_SKEW_MS ?? '0') || 0;
function reread(): void {
  if (!file) return;
  try {
    const v = Number(readFileSync(file, 'utf8').trim());
    if (Number.isFinite(v)) skew = v;
  } catch {
    /* keep the last value */
  }
}
reread();
if (file) setInterval(reread, 100).unref();

if (file || skew !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  class SkewedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(realNow() + skew);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return realNow() + skew;
    }
  }
  globalThis.Date = SkewedDate as DateConstructor;
}
export {};
