/**
 * [HEM-CLOCK] Is the HEM's clock right? Everything it signs carries its wall-clock time and
 * the platform refuses a date too far off: the broker refuses a login token outside ±60 s
 * (CONNACK 4, "bad user name or password") and a message outside ±120 s (`STALE_DATE` on
 * the errors topic); the registry refuses a certificate request outside ±120 s. A home
 * device without a battery-backed clock (a Raspberry Pi) can boot with a clock that is
 * minutes off, so the HEM compares its clock with the registry's HTTP `Date` header at
 * start, after a refused login and after a `STALE_DATE`, and says so plainly.
 */
import { defaultHttpTransport } from '../csm-registry/httpTransport.js';

export interface ClockReading {
  /** local clock − reference clock, ms (positive: the HEM is ahead) */
  offsetMs: number;
  /** round trip of the request, ms (the offset is known to about ±(rtt/2 + 500 ms)) */
  rttMs: number;
}

export interface ClockVerdict {
  level: 'ok' | 'warn' | 'error';
  message: string;
}

/**
 * Offset from an HTTP Date header (RFC 9110: whole seconds, so the server's time was in
 * [date, date + 1 s) when it answered), taking the middle of both intervals.
 */
export function clockOffset(dateHeader: string | null | undefined, sentAtMs: number, receivedAtMs: number): number | undefined {
  if (!dateHeader) return undefined;
  const serverMs = Date.parse(dateHeader);
  if (!Number.isFinite(serverMs)) return undefined;
  return Math.round((sentAtMs + receivedAtMs) / 2 - (serverMs + 500));
}

/** Asks `GET <url>/v1/health` and reads its Date header; undefined when unreachable. */
export async function readClock(registryUrl: string, now: () => number, timeoutMs = 5000): Promise<ClockReading | undefined> {
  const sent = now();
  try {
    const res = await defaultHttpTransport({ method: 'GET', url: new URL('/v1/health', registryUrl).href, timeoutMs, maxResponseBytes: 64 * 1024 });
    const received = now();
    const offsetMs = clockOffset(res.headers.date, sent, received);
    return offsetMs === undefined ? undefined : { offsetMs, rttMs: received - sent };
  } catch {
    return undefined;
  }
}

/** What to tell the operator about an offset, given the platform's tolerances. */
export function judgeClock(offsetMs: number, t: { loginSkewMs: number; messageSkewMs: number; warnMs?: number }): ClockVerdict {
  const abs = Math.abs(offsetMs);
  const side = offsetMs > 0 ? 'ahead of' : 'behind';
  const by = `${(abs / 1000).toFixed(1)} s ${side} the registry's`;
  const fix = 'set the clock (enable NTP, e.g. `timedatectl set-ntp true`); the HEM keeps retrying and recovers by itself once the clock is right';
  if (abs > t.messageSkewMs) {
    return { level: 'error', message: `the clock is ${by}: the broker refuses logins (beyond ±${t.loginSkewMs / 1000} s) and messages, the registry refuses certificate requests (beyond ±${t.messageSkewMs / 1000} s); ${fix}` };
  }
  if (abs > t.loginSkewMs) {
    return { level: 'error', message: `the clock is ${by}: the broker refuses logins beyond ±${t.loginSkewMs / 1000} s; ${fix}` };
  }
  if (abs > (t.warnMs ?? 10_000)) {
    return { level: 'warn', message: `the clock is ${by}: still accepted (logins ±${t.loginSkewMs / 1000} s, messages ±${t.messageSkewMs / 1000} s), but set the clock (enable NTP)` };
  }
  return { level: 'ok', message: `the clock agrees with the registry's (${offsetMs} ms)` };
}

/** Meaning of a refused CONNACK (MQTT 3.1.1 return codes) as the TMI broker uses them. */
export function loginRefusal(returnCode: number): string {
  switch (returnCode) {
    case 1:
      return 'unacceptable protocol version (the broker speaks MQTT 3.1.1)';
    case 2:
      return 'client id refused: it must equal the meter id';
    case 3:
      return 'server unavailable: the broker cannot reach the registry just now; retrying';
    case 4:
      return 'login token refused: either the meter key is not the key enrolled for this meter, or the clock is off by more than ±60 s';
    case 5:
      return 'not authorised: the meter is not enrolled, or it is revoked';
    default:
      return `refused with return code ${returnCode}`;
  }
}

export interface ClockWatchOptions {
  registryUrl: string;
  now: () => number;
  loginSkewMs: number;
  messageSkewMs: number;
  /** least time between two checks (default 60 s) */
  everyMs?: number;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void; debug(o: object, m: string): void };
  read?: (url: string, now: () => number) => Promise<ClockReading | undefined>;
}

/**
 * [HEM-CLOCK] Checks the clock when asked (start, refused login, STALE_DATE), at most
 * once per `everyMs`, and logs `clock-skew` (warn/error, with what to do) or
 * `clock-checked` (info) with the offset.
 */
export function createClockWatch(o: ClockWatchOptions): { check(why: string): Promise<ClockReading | undefined> } {
  const everyMs = o.everyMs ?? 60_000;
  const read = o.read ?? ((url: string, now: () => number) => readClock(url, now));
  let last = -Infinity;
  let running: Promise<ClockReading | undefined> | undefined;
  return {
    check(why) {
      if (running) return running;
      const t = o.now();
      if (t - last < everyMs && t >= last) return Promise.resolve(undefined);
      last = t;
      running = read(o.registryUrl, o.now)
        .then((r) => {
          if (!r) {
            o.log.debug({ event: 'clock-unchecked', why }, 'could not read the registry clock');
            return undefined;
          }
          const v = judgeClock(r.offsetMs, { loginSkewMs: o.loginSkewMs, messageSkewMs: o.messageSkewMs });
          const line = { event: v.level === 'ok' ? 'clock-checked' : 'clock-skew', offsetMs: r.offsetMs, rttMs: r.rttMs, why, reference: 'registry' };
          if (v.level === 'error') o.log.error(line, v.message);
          else if (v.level === 'warn') o.log.warn(line, v.message);
          else o.log.info(line, v.message);
          return r;
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
  };
}
