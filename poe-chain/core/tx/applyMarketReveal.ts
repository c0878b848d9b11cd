/**
 * market-reveal [MKT-SEAL]: a home opens its sealed P2P order.
 *   [TX-MR1] signer = address (codec)
 *   [TX-MR2] the address has that order                                       NO_SUCH_ORDER
 *   [TX-MR3] not yet revealed                                                 DUPLICATE_REVEAL
 *   [TX-MR4] order close ≤ block time < gate of its first interval            REVEAL_NOT_DUE / REVEAL_TOO_LATE
 *   [TX-MR5] orderCommitment(orderId, address, side, energyWh, priceMcPerKWh, salt)
 *            equals its commitment                                            BAD_REVEAL
 * Once revealed, the order stands in every interval of its range, each cleared at its own
 * gate: the seal protects the first clearing; later intervals see an open standing order.
 */
import type { Envelope } from '../../../schemas/types.js';
import { TxError } from '../chainError.js';
import { marketGate, marketOrderClose } from '../genesis.js';
import { orderCommitment } from '../market/orderCommitment.js';
import { orderKey } from './applyMarketOrder.js';
import type { TxContext } from './txContext.js';

export function applyMarketReveal(env: Envelope<'market-reveal'>, ctx: TxContext): void {
  const d = ctx.draft;
  const g = d.genesis;
  const p = env.parameters;
  const key = orderKey(p.address, p.orderId);
  const o = d.s.orders.get(key);
  if (o === undefined) throw new TxError('NO_SUCH_ORDER', { address: p.address, orderId: p.orderId });
  if (o.energyWh !== undefined || o.unrevealed) throw new TxError('DUPLICATE_REVEAL', { address: p.address, orderId: p.orderId });
  if (ctx.time < marketOrderClose(g, o.firstEpoch)) {
    throw new TxError('REVEAL_NOT_DUE', { orderId: p.orderId, from: new Date(marketOrderClose(g, o.firstEpoch)).toISOString() });
  }
  if (ctx.time >= marketGate(g, o.firstEpoch)) {
    throw new TxError('REVEAL_TOO_LATE', { orderId: p.orderId, until: new Date(marketGate(g, o.firstEpoch)).toISOString() });
  }
  const opened = orderCommitment({ orderId: p.orderId, address: p.address, side: o.side, energyWh: p.energyWh, priceMcPerKWh: p.priceMcPerKWh, salt: p.salt });
  if (opened !== o.commitment) throw new TxError('BAD_REVEAL', { address: p.address, orderId: p.orderId });
  d.s.orders.set(key, { ...o, energyWh: p.energyWh, priceMcPerKWh: p.priceMcPerKWh });
}
