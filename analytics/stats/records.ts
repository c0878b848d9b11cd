/**
 * What analytics stores: entity records (one per auction, bid, reading, block, …) and
 * additive aggregates (per slot, home, producer, account) kept up to date by the reducer.
 * All quantities are integers in chain units (DESIGN §5); times in ms since the epoch.
 *
 * A "slot" here is a metering/delivery interval, identified by its start.
 */
import type { AwardFact, MarketOrderFact, RankingEntry } from '../facts.js';

export interface BlockRecord {
  height: number;
  slot: number;
  epoch: number;
  hash: string;
  producer: string;
  txCount: number;
  time: number;
  rewardMc: number;
}

export interface ReadingRecord {
  address: string;
  intervalStart: number;
  intervalEnd: number;
  producedWh: number;
  consumedWh: number;
  chargedWh: number;
  dischargedWh: number;
  socPermille: number;
  height: number | null;
}

export type AuctionStatus = 'unknown' | 'open' | 'closed' | 'cleared' | 'void';

export interface AuctionRecord {
  auctionId: string;
  /** derived from the fields below (see auctionStatus) */
  status: AuctionStatus;
  /** from auction-open; null until it is seen */
  side: 'buy' | 'sell' | null;
  energyWh: number | null;
  limitPriceMcPerKWh: number | null;
  deliveryStart: number | null;
  deliveryEnd: number | null;
  closesAt: number | null;
  pricing: 'pay-as-bid' | 'uniform' | null;
  sealed: boolean | null;
  openedAt: number | null;
  closedAt: number | null;
  /** from auction-result */
  result: 'cleared' | 'void' | null;
  clearingPriceMcPerKWh: number | null;
  awardedWh: number;
  awards: AwardFact[];
  excludedCount: number;
  resultHeight: number | null;
  resultAt: number | null;
  /** bids seen (sums kept by the reducer) */
  bids: number;
  sealedUnopened: number;
  bidBuyWh: number;
  bidSellWh: number;
}

export interface BidRecord {
  auctionId: string;
  address: string;
  reqId: string;
  feeder: string | null;
  cpf: number | null;
  sealed: boolean;
  type: 'buy' | 'sell' | null;
  energyWh: number | null;
  priceMcPerKWh: number | null;
  time: number;
  height: number | null;
}

export interface SettlementRecord {
  auctionId: string;
  address: string;
  deliveredWh: number;
  paymentMc: number;
  penaltyMc: number;
  height: number | null;
}

export interface WalletRecord {
  address: string;
  balanceMc: number;
  height: number | null;
  /** the aggregator's wallet: the market's clearing account [AN-WM] */
  clearingAccount?: true;
}

export interface RankingRecord {
  epoch: number;
  ranking: RankingEntry[];
  height: number | null;
  /** [AN-POE] what decided first place, and how many tied with it on energy (null: not known) */
  decidedBy?: string | null;
  tiedAtTop?: number | null;
}

export interface ScheduleRecord {
  day: string;
  intervalMinutes: number;
  netLoadWh: number[];
  time: number | null;
  /** wall-clock start of slot 0 and slot length, if not the calendar day and intervalMinutes */
  startMs?: number;
  stepMs?: number;
}

/** [AN-FIN] the highest final checkpoint seen from one source (`chain`: proven on chain; `node`: a node's gadget). */
export interface FinalityRecord {
  source: 'chain' | 'node';
  round: number;
  height: number;
  hash: string;
  time: number | null;
}

/** [AN-P2P] the P2P market of one delivery interval. */
export interface MarketRecord {
  interval: number;
  /** null until its clearing is seen (a settlement may arrive first) */
  intervalStart: number | null;
  intervalEnd: number | null;
  /** 'cleared' once its clearing is seen; 'settled' when every fill has a settlement (or there are none) */
  status: 'unknown' | 'cleared' | 'settled';
  clearingPriceMcPerKWh: number | null;
  priceRange: { lowMcPerKWh: number; highMcPerKWh: number } | null;
  volumeWh: number;
  fills: MarketOrderFact[];
  /** revealed orders standing in the interval, at their own prices */
  book: MarketOrderFact[];
  excludedCount: number;
  clearedHeight: number | null;
  clearedAt: number | null;
  /** sums over the market-settlement records of the interval (kept by the reducer) */
  settledFills: number;
  deliveredWh: number;
  paymentMc: number;
  penaltyMc: number;
}

/** [AN-P2P] the settlement of one P2P fill. */
export interface MarketSettlementRecord {
  interval: number;
  orderId: string;
  address: string;
  side: 'buy' | 'sell';
  filledWh: number;
  deliveredWh: number;
  paymentMc: number;
  penaltyMc: number;
  uncollectedMc: number;
  height: number | null;
}

/** [AN-P2P] P2P activity of one address, over the cleared intervals. */
export interface TraderAgg {
  address: string;
  /** fills received, and the energy they bought / sold */
  fills: number;
  boughtWh: number;
  soldWh: number;
  /** orders of the address in the books (an order standing in n intervals counts n times), and their revealed energy */
  buyOrders: number;
  sellOrders: number;
  revealedBuyWh: number;
  revealedSellWh: number;
}

/** Sums over the readings on chain [AN-ONCHAIN] and the auctions of one slot. */
export interface SlotAgg {
  start: number;
  end: number;
  readings: number;
  producedWh: number;
  consumedWh: number;
  chargedWh: number;
  dischargedWh: number;
  /** Σ min(P, C + charged) */
  selfConsumedWh: number;
  /** Σ max(0, C + charged − P − discharged) */
  importedWh: number;
  /** Σ max(0, P + discharged − C − charged) */
  exportedWh: number;
  /** Σ (C + charged − P − discharged) = importedWh − exportedWh */
  netLoadWh: number;
  /** Σ socPermille, to show a mean SOC */
  socPermilleSum: number;
  auctions: number;
  clearedAuctions: number;
  /** Σ awarded energy of cleared auctions delivering in the slot */
  tradedWh: number;
  /** Σ energyWh × priceMcPerKWh over those awards (for the volume-weighted mean price) */
  tradedValue: number;
  /** total energy bid to buy / offered to sell in the slot's auctions (aggregator + HEMs) */
  buyWh: number;
  sellWh: number;
}

/** Sums over the readings on chain [AN-ONCHAIN] of one home (pseudonym address). */
export interface HomeAgg {
  address: string;
  readings: number;
  producedWh: number;
  consumedWh: number;
  chargedWh: number;
  dischargedWh: number;
  selfConsumedWh: number;
  importedWh: number;
  exportedWh: number;
}

export interface ProducerAgg {
  address: string;
  blocks: number;
  txs: number;
  rewardMc: number;
}

/** Market activity of one address: awards won and settlements. */
export interface AccountAgg {
  address: string;
  awards: number;
  awardedWh: number;
  /** Σ floor(energyWh × price / 1000) over awards: what the awards are worth */
  awardValueMc: number;
  settlements: number;
  deliveredWh: number;
  paymentMc: number;
  penaltyMc: number;
}

export interface RecordTypes {
  block: BlockRecord;
  reading: ReadingRecord;
  auction: AuctionRecord;
  bid: BidRecord;
  settlement: SettlementRecord;
  wallet: WalletRecord;
  ranking: RankingRecord;
  schedule: ScheduleRecord;
  market: MarketRecord;
  marketSettlement: MarketSettlementRecord;
  finality: FinalityRecord;
  slot: SlotAgg;
  home: HomeAgg;
  producer: ProducerAgg;
  account: AccountAgg;
  trader: TraderAgg;
}

export type RecordKind = keyof RecordTypes;
export const RECORD_KINDS: readonly RecordKind[] = [
  'block', 'reading', 'auction', 'bid', 'settlement', 'wallet', 'ranking', 'schedule', 'market', 'marketSettlement', 'slot', 'home', 'producer', 'account',
  'trader', 'finality',
];

/** A change to one record: value null deletes it. */
export type Change = { [K in RecordKind]: { kind: K; id: string; value: RecordTypes[K] | null } }[RecordKind];

/** Read access to the records, as the reducer sees them. */
export interface RecordView {
  get<K extends RecordKind>(kind: K, id: string): RecordTypes[K] | undefined;
}

// ── record ids: fixed-width numbers so that ids sort in time order ─────────────────
const pad = (n: number): string => String(n).padStart(16, '0');
export const ids = {
  block: (height: number): string => pad(height),
  reading: (intervalStart: number, address: string): string => `${pad(intervalStart)}|${address}`,
  auction: (auctionId: string): string => auctionId,
  bid: (auctionId: string, address: string, reqId: string): string => `${auctionId}|${address}|${reqId}`,
  settlement: (auctionId: string, address: string): string => `${auctionId}|${address}`,
  wallet: (address: string): string => address,
  ranking: (epoch: number): string => pad(epoch),
  /** [AN-CLK] one per calendar day; on compressed time one per simulated day (several per wall-clock date), by its start */
  schedule: (day: string, startMs?: number): string => (startMs === undefined ? day : `${day}|${pad(startMs)}`),
  slot: (start: number): string => pad(start),
  home: (address: string): string => address,
  producer: (address: string): string => address,
  account: (address: string): string => address,
  market: (interval: number): string => pad(interval),
  marketSettlement: (interval: number, address: string, orderId: string): string => `${pad(interval)}|${address}|${orderId}`,
  trader: (address: string): string => address,
  finality: (source: 'chain' | 'node'): string => source,
};
