/**
 * Self-consumption per home and overall.
 *
 * [AN-SC] For one reading: selfConsumed = min(P, C + charged): PV used by the home's load
 * or stored in its battery, never more than was produced. Ratio = Σ selfConsumed / Σ P
 * over the readings of a home (or of all homes); null when nothing was produced.
 */
import type { HomeAgg } from './records.js';
import { ratio, type ReadStore } from './readStore.js';

export interface SelfConsumptionRow extends HomeAgg {
  ratio: number | null;
}

export interface SelfConsumption {
  overall: { homes: number; readings: number; producedWh: number; selfConsumedWh: number; ratio: number | null };
  items: SelfConsumptionRow[];
}

export function selfConsumption(store: ReadStore): SelfConsumption {
  const homes = store.range('home');
  let producedWh = 0;
  let selfConsumedWh = 0;
  let readings = 0;
  for (const h of homes) {
    producedWh += h.producedWh;
    selfConsumedWh += h.selfConsumedWh;
    readings += h.readings;
  }
  return {
    overall: { homes: homes.length, readings, producedWh, selfConsumedWh, ratio: ratio(selfConsumedWh, producedWh) },
    items: homes.map((h) => ({ ...h, ratio: ratio(h.selfConsumedWh, h.producedWh) })),
  };
}
