/** One object with the headline figures of the dashboard. */
import { efficiency } from './efficiency.js';
import { producers } from './producers.js';
import type { AuctionStatus } from './records.js';
import { ratio, type ReadStore } from './readStore.js';
import { ids } from './records.js';
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
  /**
   * [AN-FIN] the final block: the higher of a chain node's own final checkpoint (fed by the
   * node in the same process) and the one proven on chain; null before any is seen
   */
  finalizedHeight: number | null;
  /** 'node' or 'chain': which gave finalizedHeight */
  finalizedHeightSource: 'node' | 'chain' | null;
  /** the final checkpoint proven on chain by justification transactions */
  finalizedProvenOnChainHeight: number | null;
  /**
   * [AN-FIN] the money of settlements by the block that settled them: in final blocks (at or
   * below finalizedHeight: no reorg can undo it) and in unconfirmed ones (above it, or of a
   * block not known); auctions (payment and penalty) and the P2P market (payment and imbalance)
   */
  settlementsInFinalBlocks: SettlementMoney;
  settlementsInUnconfirmedBlocks: SettlementMoney;
}

/** [AN-FIN] settlements and their money (millicents) in one set of blocks */
export interface SettlementMoney {
  auctionSettlements: number;
  auctionPaymentMc: number;
  auctionPenaltyMc: number;
  p2pSettlements: number;
  p2pPaymentMc: number;
  p2pImbalanceMc: number;
}

const noMoney = (): SettlementMoney => ({ auctionSettlements: 0, auctionPaymentMc: 0, auctionPenaltyMc: 0, p2pSettlements: 0, p2pPaymentMc: 0, p2pImbalanceMc: 0 });

/** [AN-FIN] the final height and its source: the higher of the node's and the chain's proof. */
export function finalityOf(store: ReadStore): { finalizedHeight: number | null; finalizedHeightSource: 'node' | 'chain' | null; finalizedProvenOnChainHeight: number | null } {
  const node = store.get('finality', ids.finality('node'));
  const chain = store.get('finality', ids.finality('chain'));
  const best = node !== undefined && (chain === undefined || node.height > chain.height) ? node : chain;
  return { finalizedHeight: best?.height ?? null, finalizedHeightSource: best?.source ?? null, finalizedProvenOnChainHeight: chain?.height ?? null };
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
  // [AN-FIN] money by the block that settled it
  const fin = finalityOf(store);
  const F = fin.finalizedHeight ?? -1;
  const inFinal = noMoney(), inUnconfirmed = noMoney();
  for (const x of store.range('settlement')) {
    const m = x.height !== null && x.height <= F ? inFinal : inUnconfirmed;
    m.auctionSettlements++;
    m.auctionPaymentMc += x.paymentMc;
    m.auctionPenaltyMc += x.penaltyMc;
  }
  for (const x of store.range('marketSettlement')) {
    const m = x.height !== null && x.height <= F ? inFinal : inUnconfirmed;
    m.p2pSettlements++;
    m.p2pPaymentMc += x.paymentMc;
    m.p2pImbalanceMc += x.penaltyMc;
  }
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
    ...fin,
    settlementsInFinalBlocks: inFinal,
    settlementsInUnconfirmedBlocks: inUnconfirmed,
  };
}
