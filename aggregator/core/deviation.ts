/**
 * Deviation rule: when metered aggregated net load departs from the schedule by more than
 * a threshold, the aggregator trades the difference for the next delivery interval. Pure.
 *
 * Net load = consumption − production. actual > schedule: the VPP is short (it draws more
 * than it committed) → it BUYS energy from its batteries (they discharge). actual <
 * schedule: it is long → it SELLS energy to its batteries (they charge).
 */
export interface DeviationDecision {
  side: 'buy' | 'sell';
  energyWh: number;
  deviationWh: number;
}

export interface DeviationOptions {
  /** absolute threshold in Wh */
  thresholdWh: number;
  /** relative threshold as a fraction of |schedule| (the larger of the two applies) */
  thresholdFraction?: number;
  /** cap on one auction's energy */
  maxEnergyWh?: number;
}

export function detectDeviation(scheduledWh: number, actualWh: number, o: DeviationOptions): DeviationDecision | null {
  const deviationWh = actualWh - scheduledWh;
  const threshold = Math.max(o.thresholdWh, Math.floor(Math.abs(scheduledWh) * (o.thresholdFraction ?? 0)));
  if (Math.abs(deviationWh) <= threshold) return null;
  const energyWh = Math.min(Math.abs(deviationWh), o.maxEnergyWh ?? Number.MAX_SAFE_INTEGER);
  return { side: deviationWh > 0 ? 'buy' : 'sell', energyWh, deviationWh };
}
