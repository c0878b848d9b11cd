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
 */
import type { BatteryParams } from '../../tcr/batteryParams.js';
import { stepBattery, type BatteryState } from '../../tcr/stepBattery.js';
import type { HomeForecast } from '../../tcr/decide.js';
import type { HomeDevices, IntervalMeasurement, LivePower, SetpointWindow } from '../homeDevices.js';
import { homeSeconds, overlapMs, type Interval } from '../meteringInterval.js';

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
}

interface SimSnapshot {
  soc: number;
}

function isSnapshot(v: unknown): v is SimSnapshot {
  const s = v as SimSnapshot | null;
  return typeof s === 'object' && s !== null && typeof s.soc === 'number' && Number.isFinite(s.soc) && s.soc >= 0 && s.soc <= 1;
}

export function createSimHome(o: SimHomeOptions): HomeDevices {
  let soc = isSnapshot(o.restored) ? o.restored.soc : o.initialSoc;
  let windows: SetpointWindow[] = [];
  let last: LivePower = { pvW: 0, loadW: 0, batteryW: 0, setpointW: null };
  const now = o.now ?? Date.now;
  const home = (t: number): number => o.origin.homeMs + (t - o.origin.wallMs) * o.speed;

  function profileWh(i: Interval): { pvWh: number; loadWh: number } {
    return o.profile.energyWh(home(i.startMs), home(i.endMs));
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
      const { pvWh, loadWh } = profileWh(i);
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

    live: () => last,
    snapshot: (): SimSnapshot => ({ soc }),
    async close() {},
  };
}
