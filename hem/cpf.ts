/**
 * The consumption–production function for display (DESIGN §7): CPF = 1/e^{|P−C|}, P and
 * C in kWh over one metering interval. Consensus never uses this float; it ranks by the
 * integer |P − C| in Wh (scoreWh).
 *
 * [HEM-CPF] P = producedWh (the home's RES); C = consumption including storage =
 * consumedWh + chargedWh − dischargedWh (the battery counts as a load while charging and
 * offsets the load while discharging). So |P − C| is the home's net exchange with the grid:
 * a home that covers itself has CPF 1.
 */
export interface IntervalEnergy {
  readonly producedWh: number;
  readonly consumedWh: number;
  readonly chargedWh: number;
  readonly dischargedWh: number;
}

/** Integer |P − C| in Wh. */
export function scoreWh(r: IntervalEnergy): number {
  return Math.abs(r.producedWh - (r.consumedWh + r.chargedWh - r.dischargedWh));
}

/** 1/e^{|P−C|/1000}, in (0, 1]; rounded to 6 decimals for the wire. */
export function cpf(r: IntervalEnergy): number {
  const v = Math.exp(-scoreWh(r) / 1000);
  return Math.round(v * 1e6) / 1e6;
}
