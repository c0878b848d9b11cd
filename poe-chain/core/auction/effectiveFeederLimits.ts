/**
 * [FEEDER-2] The feeder limits an auction clears under: the registry's limits on chain
 * ([FEEDER-1], the `feederLimits` section at clearing time), tightened by the auction-open's
 * own limits. Per feeder and direction:
 *   registry and own  → min(registry, own)   (an auction-open can lower a limit, never raise it)
 *   registry only     → registry
 *   own only          → own (the aggregator's own restriction on a feeder the registry has not limited)
 * Feeders in neither stay unlimited. Pure; the result is sorted by feeder (UTF-16 code units).
 */
import type { ClearingFeederLimit } from './clearAuction.js';

export interface FeederLimitPair {
  maxExportWh: number;
  maxImportWh: number;
}

export function effectiveFeederLimits(
  registry: Iterable<readonly [string, FeederLimitPair]>,
  own: readonly ClearingFeederLimit[],
): ClearingFeederLimit[] {
  const out = new Map<string, ClearingFeederLimit>();
  for (const [feeder, l] of registry) out.set(feeder, { feeder, maxExportWh: l.maxExportWh, maxImportWh: l.maxImportWh });
  for (const l of own) {
    const r = out.get(l.feeder);
    out.set(
      l.feeder,
      r === undefined
        ? { feeder: l.feeder, maxExportWh: l.maxExportWh, maxImportWh: l.maxImportWh }
        : { feeder: l.feeder, maxExportWh: Math.min(r.maxExportWh, l.maxExportWh), maxImportWh: Math.min(r.maxImportWh, l.maxImportWh) },
    );
  }
  return [...out.values()].sort((x, y) => (x.feeder < y.feeder ? -1 : x.feeder > y.feeder ? 1 : 0));
}
