/** One object with the headline figures of the dashboard. */
import { efficiency } from './efficiency.js';
import { producers } from './producers.js';
import type { AuctionStatus } from './records.js';
import { ratio, type ReadStore } from './readStore.js';
import { selfConsumption } from './selfConsumption.js';

export interface Summary {
  height: number | null;
  blocks: number;
  producers: number;
  auctions: number;
  auctionsByStatus: Record<AuctionStatus, number>;
  /** bids seen (on MQTT or on chain), including any the chain refused */
  bids: number;
  /** bids seen in a block */
  bidsOnChain: number;
  /** readings seen (on MQTT or on chain) */
  readings: number;
  /** readings seen in a block */
  readingsOnChain: number;
  /** distinct pseudonyms with readings on chain (a home has one pseudonym per day) */
  pseudonyms: number;
  /** = pseudonyms (the name of earlier versions) */
  homes: number;
  /** metering intervals with readings on chain or auctions */
  slots: number;
  /** energy awarded in the aggregator's auctions (the name of earlier versions) */
  tradedWh: number;
  /** [AN-P2P] P2P market: intervals whose clearing was seen, energy traded between traders (Σ volume), fills */
  p2pIntervalsCleared: number;
  p2pTradedWh: number;
  p2pFills: number;
  /** volume-weighted mean award price over every cleared auction, floor */
  meanPriceMcPerKWh: number | null;
  selfConsumption: number | null;
  marketEfficiency: number | null;
  allocativeEfficiency: number | null;
  wallets: number;
  settlements: number;
}

export function summary(store: ReadStore): Summary {
  const byStatus: Record<AuctionStatus, number> = { unknown: 0, open: 0, closed: 0, cleared: 0, void: 0 };
  for (const a of store.range('auction')) byStatus[a.status]++;
  let tradedWh = 0;
  let tradedValue = 0;
  for (const s of store.range('slot')) {
    tradedWh += s.tradedWh;
    tradedValue += s.tradedValue;
  }
  const eff = efficiency(store, { limit: Number.MAX_SAFE_INTEGER }).overall;
  let p2pIntervalsCleared = 0, p2pTradedWh = 0, p2pFills = 0;
  for (const m of store.range('market')) {
    if (m.status === 'unknown') continue;
    p2pIntervalsCleared++;
    p2pTradedWh += m.volumeWh;
    p2pFills += m.fills.length;
  }
  const p = producers(store);
  const mean = ratio(tradedValue, tradedWh);
  return {
    height: p.height,
    blocks: p.totalBlocks,
    producers: p.items.length,
    auctions: store.count('auction'),
    auctionsByStatus: byStatus,
    bids: store.count('bid'),
    bidsOnChain: store.range('bid').filter((b) => b.height !== null).length,
    readings: store.count('reading'),
    readingsOnChain: store.range('reading').filter((r) => r.height !== null).length,
    pseudonyms: store.count('home'),
    homes: store.count('home'),
    slots: store.count('slot'),
    tradedWh,
    p2pIntervalsCleared,
    p2pTradedWh,
    p2pFills,
    meanPriceMcPerKWh: mean === null ? null : Math.floor(mean),
    selfConsumption: selfConsumption(store).overall.ratio,
    marketEfficiency: eff.marketEfficiency,
    allocativeEfficiency: eff.allocativeEfficiency,
    wallets: store.count('wallet'),
    settlements: store.count('settlement'),
  };
}
