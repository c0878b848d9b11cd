/**
 * What the chain node offers the services in its process (the aggregator, analytics): the
 * views of the chain they read. Types only; they live here, below their users, so that
 * the node depends on none of them.
 */
import type { AuctionOpen, AuctionResult, MeterReading } from '../../schemas/types.js';
import type { TxEnvelope } from '../core/applyTransaction.js';

/** Each transaction the node admitted to its mempool. */
export interface PendingTxEvent {
  txId: string;
  envelope: TxEnvelope;
}

/** The contract's record of an auction, once its open is on chain. */
export interface ChainAuction {
  status: 'open' | 'closed' | 'cleared' | 'void' | 'settled';
  result?: AuctionResult;
  /** each settled award; `height` = the block that settled it (final once at or below the final height) */
  settlements?: { address: string; deliveredWh: number; paymentMc: number; penaltyMc: number; height: number }[];
}

/** [FEEDER-1] a feeder's limits on chain: the registry's latest record there. */
export interface ChainFeederLimit {
  feeder: string;
  maxExportWh: number;
  maxImportWh: number;
  /** the record's issuedAt, ISO */
  issuedAt: string;
}

export interface ChainView {
  /** the contract's record of an auction, once its open is on chain (at the head: may still be reverted) */
  auction(auctionId: string): Promise<ChainAuction | undefined>;
  /**
   * [FIN] the height of the final block: a block at or below it never reverts (a node's
   * `head().finalizedHeight`; a bare state's on-chain proof `meta.finalized`). What the
   * aggregator reports as published, paid or settled waits for it (aggregator/README.md
   * "Waits for finality").
   */
  finalizedHeight(): Promise<number>;
  /** [CLOSE] the auctions on chain not yet settled or void (open, or cleared with awards to settle) */
  activeAuctions?(): Promise<{ auctionId: string; open: AuctionOpen }[]>;
  /** [FEEDER-1] the registry's feeder limits on chain (`feederLimits` section), by feeder */
  feederLimits?(): Promise<ChainFeederLimit[]>;
}

/** Subscribes to the meter readings the node admits; returns the unsubscribe. */
export type ReadingFeed = (onReading: (r: MeterReading) => void) => () => void;
