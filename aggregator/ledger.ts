/**
 * The VPP's ledger of revenue and costs (pure). One entry per auction: what the
 * aggregator committed to trade, what was delivered and paid on chain, and the
 * imbalance cost it avoided. Money in integer millicents. [AGG-FIN-2] Money settled in a
 * block that is not final yet is kept apart (`unconfirmed…`): the figures without that
 * prefix are money no reorg can take back.
 */
import { paymentMillicents } from '../wire/quantities.js';

export interface LedgerEntry {
  auctionId: string;
  side: 'buy' | 'sell';
  deliveryStart: string;
  requestedWh: number;
  awardedWh: number;
  /** delivered Wh as settled in final blocks */
  deliveredWh: number;
  /** [AGG-FIN-2] delivered Wh settled in blocks not final yet */
  unconfirmedDeliveredWh: number;
  /** paid to HEMs (buy) or received from HEMs (sell), as settled on chain in final blocks [AGG-FIN-2] */
  energyMc: number;
  /** penalties received from HEMs for shortfall, settled in final blocks */
  penaltiesMc: number;
  /** [AGG-FIN-2] the same money settled in blocks not final yet (a reorg could still undo it) */
  unconfirmedEnergyMc: number;
  unconfirmedPenaltiesMc: number;
  /** imbalance price × awarded energy: what the deviation would have cost unhedged */
  imbalanceAvoidedMc: number;
  /** [AGG-FIN-1] height of the block that cleared the auction (its result is reported once final) */
  resultHeight: number | null;
  /** [AGG-FIN-2] height of the block of the last settlement seen */
  settledHeight: number | null;
  /**
   * `cleared`/`void`: the result is in a final block; `settled-unconfirmed`: every award is
   * settled on chain but not every settlement is final yet; `settled`: all settled in final blocks
   */
  status: 'open' | 'closed' | 'cleared' | 'void' | 'settled-unconfirmed' | 'settled';
}

export interface LedgerTotals {
  auctions: number;
  boughtWh: number;
  soldWh: number;
  paidMc: number;
  receivedMc: number;
  penaltiesMc: number;
  imbalanceAvoidedMc: number;
  /** receipts − payments + avoided imbalance cost (money settled in final blocks only) */
  netMc: number;
  /** [AGG-FIN-2] money settled in blocks not final yet: not in the figures above */
  unconfirmed: { paidMc: number; receivedMc: number; penaltiesMc: number };
}

export function ledgerTotals(entries: readonly LedgerEntry[]): LedgerTotals {
  const t: LedgerTotals = {
    auctions: entries.length, boughtWh: 0, soldWh: 0, paidMc: 0, receivedMc: 0, penaltiesMc: 0, imbalanceAvoidedMc: 0, netMc: 0,
    unconfirmed: { paidMc: 0, receivedMc: 0, penaltiesMc: 0 },
  };
  for (const e of entries) {
    if (e.side === 'buy') {
      t.boughtWh += e.deliveredWh;
      t.paidMc += e.energyMc;
      t.unconfirmed.paidMc += e.unconfirmedEnergyMc;
    } else {
      t.soldWh += e.deliveredWh;
      t.receivedMc += e.energyMc;
      t.unconfirmed.receivedMc += e.unconfirmedEnergyMc;
    }
    t.penaltiesMc += e.penaltiesMc;
    t.unconfirmed.penaltiesMc += e.unconfirmedPenaltiesMc;
    t.imbalanceAvoidedMc += e.imbalanceAvoidedMc;
  }
  t.netMc = t.receivedMc - t.paidMc + t.penaltiesMc + t.imbalanceAvoidedMc;
  return t;
}

export function imbalanceAvoided(awardedWh: number, imbalancePriceMcPerKWh: number): number {
  return paymentMillicents(awardedWh, imbalancePriceMcPerKWh);
}
