/**
 * Market efficiency per slot (Christidis, eqs. 3.1–3.2):
 *
 *   [AN-ME] M_i = E_traded / E_imported
 *   [AN-AE] A_i = E_traded / min(E_buy, E_sell)
 *
 * E_traded   = energy awarded in the cleared auctions delivering in slot i;
 * E_imported = Σ over the homes' readings of slot i of max(0, C + charged − P − discharged);
 * E_buy      = energy bid to buy in the slot's auctions: the aggregator's quantity when it
 *              buys, the HEMs' buy bids when it sells;
 * E_sell     = energy offered to sell: the HEMs' offers when the aggregator buys, its
 *              quantity when it sells.
 * A ratio with a zero denominator is null. Overall: Σ E_traded / Σ E_imported and
 * Σ E_traded / Σ min(E_buy, E_sell) over the slots listed.
 */
import { ids } from './records.js';
import { iso, ratio, type ReadStore } from './readStore.js';

export interface EfficiencyRow {
  start: string;
  end: string;
  tradedWh: number;
  importedWh: number;
  buyWh: number;
  sellWh: number;
  marketEfficiency: number | null;
  allocativeEfficiency: number | null;
}

export interface Efficiency {
  overall: { slots: number; tradedWh: number; importedWh: number; matchableWh: number; marketEfficiency: number | null; allocativeEfficiency: number | null };
  items: EfficiencyRow[];
}

export function efficiency(store: ReadStore, q: { from?: number; to?: number; limit: number }): Efficiency {
  const all = store.range('slot', {
    ...(q.from !== undefined ? { gte: ids.slot(q.from) } : {}),
    ...(q.to !== undefined ? { lt: ids.slot(q.to) } : {}),
  });
  const slots = all.slice(Math.max(0, all.length - q.limit));
  let tradedWh = 0;
  let importedWh = 0;
  let matchableWh = 0;
  const items = slots.map((s) => {
    const matchable = Math.min(s.buyWh, s.sellWh);
    tradedWh += s.tradedWh;
    importedWh += s.importedWh;
    matchableWh += matchable;
    return {
      start: iso(s.start) as string,
      end: iso(s.end) as string,
      tradedWh: s.tradedWh,
      importedWh: s.importedWh,
      buyWh: s.buyWh,
      sellWh: s.sellWh,
      marketEfficiency: ratio(s.tradedWh, s.importedWh),
      allocativeEfficiency: ratio(s.tradedWh, matchable),
    };
  });
  return {
    overall: {
      slots: items.length, tradedWh, importedWh, matchableWh,
      marketEfficiency: ratio(tradedWh, importedWh),
      allocativeEfficiency: ratio(tradedWh, matchableWh),
    },
    items,
  };
}
