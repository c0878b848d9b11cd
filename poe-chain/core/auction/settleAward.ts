/**
 * Settlement of one award after its delivery interval (DESIGN §8).
 *
 *   [AUC-9]  delivered = min(awarded, measured battery flow in the delivery interval)
 *   [AUC-10] payment   = floor(delivered Wh × award price ÷ 1000) millicents
 *            penalty   = floor((awarded − delivered) Wh × penalty rate ÷ 1000) millicents
 *
 * The measured flow comes from the winner's signed meter reading for the interval:
 * dischargedWh when the aggregator bought (the HEM exported), chargedWh when it sold
 * (the HEM imported) — see measuredFlowWh. Who pays whom is the state transition's
 * business: in a buy auction the aggregator pays the HEM, in a sell auction the HEM
 * pays the aggregator; the penalty is always owed by the HEM.
 */
import { paymentMillicents } from '../../../wire/quantities.js';
import { AuctionError, isQuantity } from './auctionError.js';

export interface Settlement {
  deliveredWh: number;
  paymentMc: number;
  penaltyMc: number;
}

export function settleAward(a: { energyWh: number; priceMcPerKWh: number }, measuredWh: number, penaltyMcPerKWh: number): Settlement {
  if (!isQuantity(a?.energyWh)) throw new AuctionError('INVALID_SETTLEMENT', { field: 'energyWh', value: String(a?.energyWh) });
  if (!isQuantity(a.priceMcPerKWh)) throw new AuctionError('INVALID_SETTLEMENT', { field: 'priceMcPerKWh', value: String(a.priceMcPerKWh) });
  if (!isQuantity(measuredWh)) throw new AuctionError('INVALID_SETTLEMENT', { field: 'measuredWh', value: String(measuredWh) });
  if (!isQuantity(penaltyMcPerKWh)) throw new AuctionError('INVALID_SETTLEMENT', { field: 'penaltyMcPerKWh', value: String(penaltyMcPerKWh) });
  // [AUC-9]
  const deliveredWh = Math.min(a.energyWh, measuredWh);
  // [AUC-10]
  return {
    deliveredWh,
    paymentMc: paymentMillicents(deliveredWh, a.priceMcPerKWh),
    penaltyMc: paymentMillicents(a.energyWh - deliveredWh, penaltyMcPerKWh),
  };
}

/** [AUC-9] the battery flow that counts as delivery: discharge for a buy auction, charge for a sell auction. */
export function measuredFlowWh(side: 'buy' | 'sell', reading: { chargedWh: number; dischargedWh: number }): number {
  return side === 'buy' ? reading.dischargedWh : reading.chargedWh;
}
