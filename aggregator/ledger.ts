/**
 * The VPP's ledger of revenue and costs (pure). One entry per auction: what the
 * aggregator committed to trade, what was delivered and paid on chain, and the
 * imbalance cost it avoided. Money in integer millicents.
 */
import { paymentMillicents } from '../wire/quantities.js';

export interface LedgerEntry {
  auctionId: string;
  side: 'buy' | 'sell';
  deliveryStart: string;
  requestedWh: number;
  awardedWh: number;
  deliveredWh: number;
  /** paid to HEMs (buy) or received from HEMs (sell), as settled on chain */
  energyMc: number;
  /** penalties received from HEMs for shortfall */
  penaltiesMc: number;
  /** imbalance price × awarded energy: what the deviation would have cost unhedged */
  imbalanceAvoidedMc: number;
  status: 'open' | 'closed' | 'cleared' | 'void' | 'settled';
}

export interface LedgerTotals {
  auctions: number;
  boughtWh: number;
  soldWh: number;
  paidMc: number;
  receivedMc: number;
  penaltiesMc: number;
  imbalanceAvoidedMc: number;
  /** receipts − payments + avoided imbalance cost */
  netMc: number;
}

export function ledgerTotals(entries: readonly LedgerEntry[]): LedgerTotals {
  const t: LedgerTotals = { auctions: entries.length, boughtWh: 0, soldWh: 0, paidMc: 0, receivedMc: 0, penaltiesMc: 0, imbalanceAvoidedMc: 0, netMc: 0 };
  for (const e of entries) {
    if (e.side === 'buy') {
      t.boughtWh += e.deliveredWh;
      t.paidMc += e.energyMc;
    } else {
      t.soldWh += e.deliveredWh;
      t.receivedMc += e.energyMc;
    }
    t.penaltiesMc += e.penaltiesMc;
    t.imbalanceAvoidedMc += e.imbalanceAvoidedMc;
  }
  t.netMc = t.receivedMc - t.paidMc + t.penaltiesMc + t.imbalanceAvoidedMc;
  return t;
}

export function imbalanceAvoided(awardedWh: number, imbalancePriceMcPerKWh: number): number {
  return paymentMillicents(awardedWh, imbalancePriceMcPerKWh);
}
