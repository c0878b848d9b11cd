/**
 * One transaction against a draft state: the checks every transaction shares, then the
 * operation's own handler (./tx/apply*.ts). Throws TxError; the caller makes it atomic
 * (a block with an invalid transaction is invalid; a producer rolls the draft back).
 *
 *   [TX-1] the operation is a transaction operation                          NOT_A_TX_OPERATION
 *   [DOMAIN-TX] the envelope names this chain: `chain` = its genesis hash    CHAIN_MISSING, WRONG_CHAIN
 *   [TX-2] block time − txWindowMs ≤ date ≤ block time + txFutureMs          DATE_OUT_OF_WINDOW
 *   [TX-3] the transaction id was not seen within the window                 DUPLICATE_TX
 * Replay protection: a transaction id is remembered until its date leaves the window,
 * after which [TX-2] rejects it anyway; so state stays bounded.
 */
import type { AnyEnvelope, Envelope } from '../../schemas/types.js';
import type { Operation } from '../../schemas/envelope.js';
import { TxError } from './chainError.js';
import type { TxContext } from './tx/txContext.js';
import { applyMeterReading } from './tx/applyMeterReading.js';
import { applyBidOffer } from './tx/applyBidOffer.js';
import { applyAuctionOpen } from './tx/applyAuctionOpen.js';
import { applyAuctionClose } from './tx/applyAuctionClose.js';
import { applyCertificate } from './tx/applyCertificate.js';
import { applyRevocation } from './tx/applyRevocation.js';
import { applyTransfer } from './tx/applyTransfer.js';
import { applyBidReveal } from './tx/applyBidReveal.js';
import { applyEvidence } from './tx/applyEvidence.js';
import { applyMarketOrder } from './tx/applyMarketOrder.js';
import { applyMarketReveal } from './tx/applyMarketReveal.js';
import { applyFeederLimit } from './tx/applyFeederLimit.js';
import { applyJustification } from './tx/applyJustification.js';
import { applyVoteEvidence } from './tx/applyVoteEvidence.js';

export const TX_OPERATIONS = [
  'meter-reading', 'bid-offer', 'bid-reveal', 'auction-open', 'auction-close', 'certificate', 'revocation', 'transfer', 'evidence',
  'market-order', 'market-reveal', 'feeder-limit', 'justification', 'vote-evidence',
] as const satisfies readonly Operation[];
export type TxOperation = (typeof TX_OPERATIONS)[number];
export type TxEnvelope = { [O in TxOperation]: Envelope<O> }[TxOperation];

const TX_OPS: ReadonlySet<string> = new Set(TX_OPERATIONS);

export function isTxEnvelope(env: AnyEnvelope): env is TxEnvelope {
  return TX_OPS.has(env.operation);
}

const MINUTE = 60_000;

export function applyTransaction(env: AnyEnvelope, ctx: TxContext): void {
  if (!isTxEnvelope(env)) throw new TxError('NOT_A_TX_OPERATION', { operation: env.operation });
  const d = ctx.draft;
  const g = d.genesis;
  // [DOMAIN-TX] the signature covers `chain`: one made for another chain (a test network with
  // the same keys) or for no chain is refused, so a transfer cannot be replayed across chains
  if (env.chain === undefined) throw new TxError('CHAIN_MISSING', { expected: d.meta.genesisHash, got: 'none' });
  if (env.chain !== d.meta.genesisHash) throw new TxError('WRONG_CHAIN', { expected: d.meta.genesisHash, got: env.chain });
  const date = Date.parse(env.date);
  if (!(date >= ctx.time - g.txWindowMs && date <= ctx.time + g.txFutureMs)) {
    throw new TxError('DATE_OUT_OF_WINDOW', { date: env.date, blockTime: new Date(ctx.time).toISOString() });
  }
  if (d.s.seen.has(ctx.txId)) throw new TxError('DUPLICATE_TX', { txId: ctx.txId });
  switch (env.operation) {
    case 'meter-reading':
      applyMeterReading(env, ctx);
      break;
    case 'bid-offer':
      applyBidOffer(env, ctx);
      break;
    case 'bid-reveal':
      applyBidReveal(env, ctx);
      break;
    case 'auction-open':
      applyAuctionOpen(env, ctx);
      break;
    case 'auction-close':
      applyAuctionClose(env, ctx);
      break;
    case 'certificate':
      applyCertificate(env, ctx);
      break;
    case 'revocation':
      applyRevocation(env, ctx);
      break;
    case 'transfer':
      applyTransfer(env, ctx);
      break;
    case 'evidence':
      applyEvidence(env, ctx);
      break;
    case 'market-order':
      applyMarketOrder(env, ctx);
      break;
    case 'market-reveal':
      applyMarketReveal(env, ctx);
      break;
    case 'feeder-limit':
      applyFeederLimit(env, ctx);
      break;
    case 'justification':
      applyJustification(env, ctx);
      break;
    case 'vote-evidence':
      applyVoteEvidence(env, ctx);
      break;
  }
  // [TX-3] forget it once its date has left the window
  d.s.seen.set(ctx.txId, Math.floor((date + g.txWindowMs) / MINUTE) + 1);
}

/** Drops seen ids whose window has passed at `time` (at most once per chain minute). */
export function pruneSeen(d: TxContext['draft'], time: number): void {
  const minute = Math.floor(time / MINUTE);
  if (minute <= d.meta.seenCutoffMinute) return;
  const drop: string[] = [];
  for (const [id, expiry] of d.s.seen.entries()) if (expiry <= minute) drop.push(id);
  for (const id of drop) d.s.seen.delete(id);
  d.meta.seenCutoffMinute = minute;
}
