/**
 * transfer: moves millicents from the signer's wallet to another.
 *   [TX-T1] to ≠ signer                         SELF_TRANSFER
 *   [TX-T2] the signer is not revoked           ADDRESS_REVOKED
 *   [TX-T3] balance − reserved ≥ amount (no overdraft; [MKT-CREDIT] what is held for
 *           unsettled P2P purchases cannot be sent away)          INSUFFICIENT_FUNDS
 */
import type { Envelope } from '../../../schemas/types.js';
import { TxError } from '../chainError.js';
import type { TxContext } from './txContext.js';

export function applyTransfer(env: Envelope<'transfer'>, ctx: TxContext): void {
  const d = ctx.draft;
  const from = env.clientId;
  const p = env.parameters;
  if (p.to === from) throw new TxError('SELF_TRANSFER', { address: from });
  if (d.s.revoked.has(from)) throw new TxError('ADDRESS_REVOKED', { address: from });
  const amount = BigInt(p.amountMillicents);
  const balance = d.balance(from);
  const reserved = d.reserved(from);
  if (balance - reserved < amount) {
    throw new TxError('INSUFFICIENT_FUNDS', { address: from, balance: balance.toString(), reserved: reserved.toString(), amount: amount.toString() });
  }
  d.credit(from, -amount);
  d.credit(p.to, amount);
}
