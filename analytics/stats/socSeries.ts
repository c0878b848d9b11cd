/**
 * Battery state of charge per pseudonym over time, from the socPermille of the readings on
 * chain [AN-ONCHAIN], on one time axis (the slots with such readings) so that a chart can
 * draw every pseudonym at once.
 */
import { ids } from './records.js';
import { iso, type ReadStore } from './readStore.js';

export interface SocSeries {
  times: string[];
  /** mean SOC of the readings on chain of each slot, permille (floor) */
  meanSocPermille: (number | null)[];
  homes: { address: string; socPermille: (number | null)[] }[];
}

export function socSeries(store: ReadStore, q: { from?: number; to?: number; limit: number; homes: number }): SocSeries {
  const all = store.range('slot', {
    ...(q.from !== undefined ? { gte: ids.slot(q.from) } : {}),
    ...(q.to !== undefined ? { lt: ids.slot(q.to) } : {}),
  }).filter((s) => s.readings > 0);
  const slots = all.slice(Math.max(0, all.length - q.limit));
  const byHome = new Map<string, (number | null)[]>();
  slots.forEach((s, i) => {
    const prefix = ids.slot(s.start);
    for (const r of store.range('reading', { gte: `${prefix}|`, lt: `${prefix}}` })) {
      if (r.height === null) continue; // [AN-ONCHAIN] readings on chain only
      let series = byHome.get(r.address);
      if (series === undefined) {
        series = new Array<number | null>(slots.length).fill(null);
        byHome.set(r.address, series);
      }
      series[i] = r.socPermille;
    }
  });
  // the homes with the most points, then by address
  const homes = [...byHome.entries()]
    .map(([address, socPermille]) => ({ address, socPermille, n: socPermille.filter((v) => v !== null).length }))
    .sort((a, b) => b.n - a.n || (a.address < b.address ? -1 : 1))
    .slice(0, q.homes)
    .sort((a, b) => (a.address < b.address ? -1 : 1))
    .map(({ address, socPermille }) => ({ address, socPermille }));
  return {
    times: slots.map((s) => iso(s.start) as string),
    meanSocPermille: slots.map((s) => Math.floor(s.socPermilleSum / s.readings)),
    homes,
  };
}
