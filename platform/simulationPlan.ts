/**
 * The simulated community (pure): which homes, on which feeders, in which programme,
 * with which battery, and the aggregator's prior for its first schedule. Seeded: the
 * same options give the same plan.
 */
import { generateProfile } from '../hem/profiles/generateProfile.js';
import { scaledPv } from '../hem/profiles/scaledPv.js';
import { createBatteryParams, type BatteryParams } from '../tcr/batteryParams.js';
import { stepBattery } from '../tcr/stepBattery.js';

export interface PlanOptions {
  homes: number;
  seed: number;
  /** first simulated day, YYYY-MM-DD (local time of the profiles' site) */
  date: string;
  feeders?: number;
}

export interface PlannedHome {
  meterId: string;
  feeder: string;
  programme: 'TE' | 'RE' | 'RE+TE';
  seed: number;
  battery: { capacityWh: number; maxChargeW: number; maxDischargeW: number };
  /** PV array, W peak */
  pvPeakW: number;
  initialSoc: number;
  /** 1 = delivers every award in full; the plan makes one home under-deliver (penalties) */
  underDeliverFactor: number;
}

export interface Plan {
  homes: PlannedHome[];
  feeders: { feeder: string; maxExportWh: number; maxImportWh: number }[];
  /** expected aggregated net load per 15-min slot, after battery self-consumption (Wh) */
  priorNetLoadWh: number[];
}

const PROGRAMMES = ['RE+TE', 'TE', 'RE', 'TE'] as const;
const BATTERIES = [
  { capacityWh: 10_000, maxChargeW: 5_000, maxDischargeW: 5_000 },
  { capacityWh: 13_500, maxChargeW: 5_000, maxDischargeW: 5_000 },
  { capacityWh: 5_000, maxChargeW: 2_500, maxDischargeW: 2_500 },
] as const;

/** typical rooftop systems (W peak); the calibrated home's 1,040 W is at the small end */
const PV_SIZES = [5_000, 3_000, 6_600, 1_040, 4_000] as const;

/** Net load of one home over a profile, its battery doing self-consumption (Wh per slot). */
export function selfConsumptionNetLoad(pvWh: readonly number[], loadWh: readonly number[], battery: BatteryParams, initialSoc: number, intervalS: number): number[] {
  let state = { soc: initialSoc };
  return pvWh.map((pv, k) => {
    const load = loadWh[k] ?? 0;
    const surplus = pv - load;
    const step = stepBattery(state, surplus > 0 ? { chargeWh: surplus, dischargeWh: 0 } : { chargeWh: 0, dischargeWh: -surplus }, battery, intervalS);
    state = step.state;
    return load - pv + step.chargedWh - step.dischargedWh;
  });
}


export function planSimulation(o: PlanOptions): Plan {
  const nFeeders = o.feeders ?? 4;
  const homes: PlannedHome[] = [];
  for (let i = 0; i < o.homes; i++) {
    const b = BATTERIES[i % BATTERIES.length]!;
    homes.push({
      meterId: `home-${String(i + 1).padStart(2, '0')}`,
      feeder: `F${(i % nFeeders) + 1}`,
      programme: PROGRAMMES[i % PROGRAMMES.length]!,
      seed: o.seed * 1000 + i,
      battery: { ...b },
      pvPeakW: PV_SIZES[i % PV_SIZES.length]!,
      initialSoc: 0.3 + 0.4 * ((i * 7) % 10) / 10,
      underDeliverFactor: i === 1 ? 0.5 : 1,
    });
  }
  // feeder limits sized so that the busiest feeders bind now and then
  const perFeeder = Math.ceil(o.homes / nFeeders);
  const feeders = Array.from({ length: nFeeders }, (_, f) => ({
    feeder: `F${f + 1}`,
    maxExportWh: 250 * perFeeder,
    maxImportWh: 300 * perFeeder,
  }));
  // The aggregator's first schedule: the expected net load of each home, the mean of
  // three other days' weather and appliance use (other seeds; the generator's randomness
  // is indexed by the day within its period, so another seed is another day).
  const prior = new Array<number>(96).fill(0);
  const SAMPLES = 3;
  for (const h of homes) {
    for (let k = 1; k <= SAMPLES; k++) {
      const p = generateProfile({ period: { startDate: o.date, days: 1, intervalMinutes: 15 }, seed: h.seed + 1_000_003 * k, pv: scaledPv(h.pvPeakW) });
      const net = selfConsumptionNetLoad(p.pvWh, p.loadWh, createBatteryParams(h.battery), h.initialSoc, 900);
      net.forEach((v, j) => (prior[j] = (prior[j] ?? 0) + v / SAMPLES));
    }
  }
  for (let j = 0; j < prior.length; j++) prior[j] = Math.floor(prior[j]!);
  return { homes, feeders, priorNetLoadWh: prior };
}
