/**
 * [HA-ENERGY] The home's energy counters since it was set up, for Home Assistant's energy
 * dashboard (sensors with `state_class: total_increasing`): the sums of its readings'
 * figures, and the grid exchange of each interval split into import and export
 * (net = consumed + charged − discharged − produced; > 0 import, < 0 export). Kept in the
 * store (`s:energyTotals`) in the same batch as the reading, so they never count an
 * interval twice or miss one. Pure.
 */
import type { MeterReading } from '../schemas/types.js';

export interface EnergyTotals {
  readonly producedWh: number;
  readonly consumedWh: number;
  readonly chargedWh: number;
  readonly dischargedWh: number;
  readonly gridImportWh: number;
  readonly gridExportWh: number;
}

export const NO_ENERGY: EnergyTotals = { producedWh: 0, consumedWh: 0, chargedWh: 0, dischargedWh: 0, gridImportWh: 0, gridExportWh: 0 };

export function addReading(t: EnergyTotals, r: Pick<MeterReading, 'producedWh' | 'consumedWh' | 'chargedWh' | 'dischargedWh'>): EnergyTotals {
  const net = r.consumedWh + r.chargedWh - r.dischargedWh - r.producedWh;
  return {
    producedWh: t.producedWh + r.producedWh,
    consumedWh: t.consumedWh + r.consumedWh,
    chargedWh: t.chargedWh + r.chargedWh,
    dischargedWh: t.dischargedWh + r.dischargedWh,
    gridImportWh: t.gridImportWh + Math.max(0, net),
    gridExportWh: t.gridExportWh + Math.max(0, -net),
  };
}
