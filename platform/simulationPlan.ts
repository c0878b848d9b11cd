/**
 * The simulated community (pure): which homes, of which kind, on which feeders, in which
 * programme, with which battery, and the aggregator's prior for its first schedule.
 * Seeded: the same options give the same plan.
 *
 * [PLAN-KIND] Four kinds of home:
 *   pv-battery   PV and a battery (programmes cycle RE+TE, TE, RE, TE among them: the RE and
 *                RE+TE homes run chain nodes; RE alone does not trade)
 *   pv-only      PV, no battery (TE): sells its surplus, buys its deficit
 *   active-user  no PV, no battery, an EV charger or a heat pump whose consumption is
 *                flexible (TE; alternately EV and heat pump)
 *   consumer     no PV, no battery, plain load (TE): buys its deficit
 * With 4 homes or more each of pv-only, active-user and consumer is max(1, round(n/6))
 * homes and the rest are pv-battery (24 → 12 pv-battery, 4 pv-only, 4 active users (2 EV,
 * 2 heat pump), 4 consumers; 8 → 5, 1, 1, 1); with fewer, every home is pv-battery. Which
 * home gets which kind is a shuffle seeded by the plan's seed, home-01 always pv-battery.
 * Without a battery a home has battery power 0 (the HEM's "no battery"); without PV, pvPeakW 0.
 */
import { generateProfile } from '../hem/profiles/generateProfile.js';
import { scaledPv } from '../hem/profiles/scaledPv.js';
import { createBatteryParams, type BatteryParams } from '../tcr/batteryParams.js';
import { stepBattery } from '../tcr/stepBattery.js';
import { mulberry32 } from '../hem/profiles/rng.js';
import { DEFAULT_EV_LOAD, DEFAULT_HEAT_PUMP_LOAD, initialFlexibleState, stepFlexibleLoad, type FlexibleLoadConfig } from '../hem/adapters/simFlexibleLoad.js';

export const HOME_KINDS = ['pv-battery', 'pv-only', 'active-user', 'consumer'] as const;
export type HomeKind = (typeof HOME_KINDS)[number];

export interface PlanOptions {
  homes: number;
  seed: number;
  /** first simulated day, YYYY-MM-DD (local time of the profiles' site) */
  date: string;
  feeders?: number;
}

export interface PlannedHome {
  meterId: string;
  kind: HomeKind;
  /** an active user's flexible device (hem.json adapter.flexibleLoad) */
  flexibleLoad?: FlexibleLoadConfig;
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

/** programmes of the pv-battery homes, in turn */
const PROGRAMMES = ['RE+TE', 'TE', 'RE', 'TE'] as const;
const NO_BATTERY = { capacityWh: 5_000, maxChargeW: 0, maxDischargeW: 0 } as const;
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


/** [PLAN-KIND] how many homes of each kind */
export function kindCounts(homes: number): Record<HomeKind, number> {
  if (homes < 4) return { 'pv-battery': homes, 'pv-only': 0, 'active-user': 0, consumer: 0 };
  const k = Math.max(1, Math.round(homes / 6));
  return { 'pv-battery': homes - 3 * k, 'pv-only': k, 'active-user': k, consumer: k };
}

/** [PLAN-KIND] the kind of each home, in meter order: a seeded shuffle, the first home pv-battery */
export function homeKinds(homes: number, seed: number): HomeKind[] {
  const c = kindCounts(homes);
  const rest: HomeKind[] = HOME_KINDS.flatMap((k) => Array.from({ length: c[k] - (k === 'pv-battery' && homes > 0 ? 1 : 0) }, () => k));
  const rnd = mulberry32(seed ^ 0x6b696e64);
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  return homes > 0 ? ['pv-battery', ...rest] : [];
}

/**
 * The flexible device's consumption per 15-min slot of the day when it runs only its must
 * part (what it does with no P2P fill): the prior's share of an active user's device.
 * Starts from the device's first state at midnight; a day of warm-up first, so the EV's
 * session and the tank are as on any other day.
 */
export function flexibleLoadWh(c: FlexibleLoadConfig, date: string): number[] {
  const day0 = Date.parse(`${date}T00:00:00.000Z`);
  let s = initialFlexibleState(c);
  for (let k = 0; k < 96; k++) s = stepFlexibleLoad(c, s, day0 - 86_400_000 + k * 900_000, 900, 0).state;
  return Array.from({ length: 96 }, (_, k) => {
    const r = stepFlexibleLoad(c, s, day0 + k * 900_000, 900, 0);
    s = r.state;
    return r.usedWh;
  });
}

export function planSimulation(o: PlanOptions): Plan {
  const nFeeders = o.feeders ?? 4;
  const homes: PlannedHome[] = [];
  const kinds = homeKinds(o.homes, o.seed);
  let batteries = 0;
  let actives = 0;
  for (let i = 0; i < o.homes; i++) {
    const kind = kinds[i]!;
    const hasPv = kind === 'pv-battery' || kind === 'pv-only';
    const b = kind === 'pv-battery' ? BATTERIES[batteries % BATTERIES.length]! : NO_BATTERY;
    const programme = kind === 'pv-battery' ? PROGRAMMES[batteries % PROGRAMMES.length]! : 'TE';
    const flexibleLoad = kind === 'active-user' ? (actives++ % 2 === 0 ? DEFAULT_EV_LOAD : DEFAULT_HEAT_PUMP_LOAD) : undefined;
    homes.push({
      meterId: `home-${String(i + 1).padStart(2, '0')}`,
      kind,
      ...(flexibleLoad ? { flexibleLoad } : {}),
      feeder: `F${(i % nFeeders) + 1}`,
      programme,
      seed: o.seed * 1000 + i,
      battery: { ...b },
      pvPeakW: hasPv ? PV_SIZES[i % PV_SIZES.length]! : 0,
      initialSoc: 0.3 + 0.4 * ((i * 7) % 10) / 10,
      // one battery home under-delivers its awards (penalties)
      underDeliverFactor: kind === 'pv-battery' && batteries === 1 ? 0.5 : 1,
    });
    if (kind === 'pv-battery') batteries++;
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
    if (h.flexibleLoad) flexibleLoadWh(h.flexibleLoad, o.date).forEach((v, j) => (prior[j] = (prior[j] ?? 0) + v));
  }
  for (let j = 0; j < prior.length; j++) prior[j] = Math.floor(prior[j]!);
  return { homes, feeders, priorNetLoadWh: prior };
}
