/**
 * `sim` adapter: a simulated home. PV and load come from an energy profile (hem/profiles:
 * seeded generator or a CSV of metered data); the battery is the TCR's model
 * (stepBattery, DESIGN §6 (1)–(7)).
 *
 * [SIM-1] Outside award windows the battery does self-consumption: it charges from PV
 *         surplus and discharges to cover the home's deficit, within its limits.
 * [SIM-2] Inside an award window it follows the setpoint: |powerW| × overlap, charge or
 *         discharge, within its limits (stepBattery cuts what (1), (4), (5) forbid). The
 *         home's own PV and load in that part go to/come from the grid.
 * [SIM-3] Home time runs `speed` × wall-clock time from `origin`:
 *         home(t) = origin.homeMs + (t − origin.wallMs) · speed.
 * [SIM-4] With a flexible device (an active user: simFlexibleLoad.ts), each interval runs
 *         the device ([SIM-FLEX]: what was planned for it, at least its must part); its
 *         consumption is added to the measured and live load (not to forecast()). The P2P
 *         orders for a coming interval come from the device's state carried forward from
 *         the last measured interval through the intervals before it, each running its plan.
 *         No PV (pvPeakW 0) and no battery (zero power) need nothing special: stepBattery
 *         does nothing at zero power.
 */
import type { BatteryParams } from '../../tcr/batteryParams.js';
import { stepBattery, type BatteryState } from '../../tcr/stepBattery.js';
import type { HomeForecast } from '../../tcr/decide.js';
import type { HomeDevices, IntervalMeasurement, LivePower, SetpointWindow } from '../homeDevices.js';
import { homeSeconds, overlapMs, type Interval } from '../meteringInterval.js';
import { flexibleOrders, flexiblePriceCap, initialFlexibleState, isFlexibleState, stepFlexibleLoad, type FlexibleLoadConfig, type FlexibleLoadState } from './simFlexibleLoad.js';

/** PV and load energy over a span of home time. */
export interface EnergyProfile {
  energyWh(homeStartMs: number, homeEndMs: number): { pvWh: number; loadWh: number };
}

export interface TimeOrigin {
  readonly wallMs: number;
  readonly homeMs: number;
}

export interface SimHomeOptions {
  profile: EnergyProfile;
  battery: BatteryParams;
  speed: number;
  origin: TimeOrigin;
  /** SOC at the first start (a restart restores the snapshot instead) */
  initialSoc: number;
  /** snapshot from the store, if any */
  restored?: unknown;
  now?: () => number;
  /** [SIM-4] an active user's EV charger or heat pump */
  flexibleLoad?: FlexibleLoadConfig;
}

interface SimSnapshot {
  soc: number;
  flexible?: FlexibleLoadState;
  /** wall ms at which `flexible` holds (the end of the last measured interval) */
  flexibleAtMs?: number;
}

function isSnapshot(v: unknown): v is SimSnapshot {
  const s = v as SimSnapshot | null;
  return typeof s === 'object' && s !== null && typeof s.soc === 'number' && Number.isFinite(s.soc) && s.soc >= 0 && s.soc <= 1;
}

export function createSimHome(o: SimHomeOptions): HomeDevices {
  let soc = isSnapshot(o.restored) ? o.restored.soc : o.initialSoc;
  const fc = o.flexibleLoad;
  const restoredFlex = isSnapshot(o.restored) && fc && isFlexibleState(fc, o.restored.flexible) ? o.restored : undefined;
  let flex: FlexibleLoadState | undefined = fc ? restoredFlex?.flexible ?? initialFlexibleState(fc) : undefined;
  let flexAtMs: number | undefined = restoredFlex?.flexibleAtMs;
  /** wall start ms → planned device energy, Wh */
  const planned = new Map<number, number>();
  let windows: SetpointWindow[] = [];
  let last: LivePower = { pvW: 0, loadW: 0, batteryW: 0, setpointW: null };
  const now = o.now ?? Date.now;
  const home = (t: number): number => o.origin.homeMs + (t - o.origin.wallMs) * o.speed;

  function profileWh(i: Interval): { pvWh: number; loadWh: number } {
    return o.profile.energyWh(home(i.startMs), home(i.endMs));
  }

  /** [SIM-4] the device state at `startMs` (wall) from the last measured state, each interval before it running its plan */
  function flexAt(startMs: number, intervalMs: number): FlexibleLoadState | undefined {
    if (!fc || !flex) return undefined;
    let s = flex;
    const s0 = flexAtMs ?? startMs;
    const seconds = homeSeconds(intervalMs, o.speed);
    for (let k = s0; k + intervalMs <= startMs; k += intervalMs) s = stepFlexibleLoad(fc, s, home(k), seconds, planned.get(k) ?? 0).state;
    return s;
  }

  function step(req: { chargeWh: number; dischargeWh: number }, seconds: number) {
    const r = stepBattery({ soc }, req, o.battery, seconds);
    soc = r.state.soc;
    return r;
  }

  return {
    kind: 'sim',
    async start() {},

    async measure(i: Interval): Promise<IntervalMeasurement> {
      const totalMs = i.endMs - i.startMs;
      const { pvWh, loadWh: baseWh } = profileWh(i);
      let loadWh = baseWh;
      if (fc && flex) {
        // [SIM-4] intervals the HEM did not measure (it was down) ran their plan or must part
        const s = flexAt(i.startMs, totalMs)!;
        const r = stepFlexibleLoad(fc, s, home(i.startMs), homeSeconds(totalMs, o.speed), planned.get(i.startMs) ?? 0);
        flex = r.state;
        flexAtMs = i.endMs;
        loadWh += r.usedWh;
        for (const k of planned.keys()) if (k <= i.startMs) planned.delete(k);
      }
      let chargedWh = 0;
      let dischargedWh = 0;
      let awardMs = 0;
      // [SIM-2] award windows, in time order
      const active = windows.filter((w) => overlapMs(w, i) > 0).sort((a, b) => a.startMs - b.startMs);
      for (const w of active) {
        const ms = overlapMs(w, i);
        awardMs += ms;
        const s = homeSeconds(ms, o.speed);
        const wh = (Math.abs(w.powerW) * s) / 3600;
        if (wh <= 0) continue;
        const r = step(w.powerW > 0 ? { chargeWh: wh, dischargeWh: 0 } : { chargeWh: 0, dischargeWh: wh }, s);
        chargedWh += r.chargedWh;
        dischargedWh += r.dischargedWh;
      }
      // [SIM-1] self-consumption over the rest of the interval
      const restMs = Math.max(0, totalMs - awardMs);
      if (restMs > 0) {
        const f = restMs / totalMs;
        const net = (pvWh - loadWh) * f;
        const s = homeSeconds(restMs, o.speed);
        const r = step(net > 0 ? { chargeWh: net, dischargeWh: 0 } : { chargeWh: 0, dischargeWh: -net }, s);
        chargedWh += r.chargedWh;
        dischargedWh += r.dischargedWh;
      }
      windows = windows.filter((w) => w.endMs > i.endMs);
      const hs = homeSeconds(totalMs, o.speed);
      const sp = windows.find((w) => w.startMs <= i.endMs && w.endMs > i.endMs);
      last = {
        pvW: (pvWh * 3600) / hs,
        loadW: (loadWh * 3600) / hs,
        batteryW: ((chargedWh - dischargedWh) * 3600) / hs,
        setpointW: sp ? sp.powerW : null,
      };
      return { pvWh, loadWh, chargedWh, dischargedWh, soc };
    },

    batteryState(): BatteryState {
      return { soc };
    },

    forecast(i: Interval): HomeForecast {
      return profileWh(i);
    },

    scheduleSetpoint(w: SetpointWindow) {
      windows = windows.filter((x) => overlapMs(x, w) === 0);
      windows.push(w);
      if (w.startMs <= now() && w.endMs > now()) last = { ...last, setpointW: w.powerW };
    },

    ...(fc
      ? {
          flexibleLoad: {
            type: fc.type,
            priceCapMcPerKWh: flexiblePriceCap(fc),
            orders(i: Interval) {
              const s = flexAt(i.startMs, i.endMs - i.startMs);
              return s ? flexibleOrders(fc, s, home(i.startMs), homeSeconds(i.endMs - i.startMs, o.speed)) : [];
            },
            plan(i: Interval, energyWh: number) {
              if (Number.isFinite(energyWh) && energyWh >= 0) planned.set(i.startMs, energyWh);
            },
          },
        }
      : {}),
    live: () => last,
    snapshot: (): SimSnapshot => ({ soc, ...(flex ? { flexible: flex } : {}), ...(flexAtMs !== undefined ? { flexibleAtMs: flexAtMs } : {}) }),
    async close() {},
  };
}
