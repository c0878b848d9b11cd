/**
 * The audit input: one JSON document holding an auction, its bids in inclusion order,
 * the feeder limits and optionally its close, cleared with exactly the chain's code
 * (clearWireAuction → clearAuction). Used by `tmi auction clear`. Pure: the caller
 * reads the file.
 *
 * Format (wire units, as in the schemas):
 *   {
 *     "auction": <auction-open parameters> | <signed auction-open envelope>,
 *     "close"?: <auction-close parameters> | <signed auction-close envelope>,
 *     "feederLimits"?: [{"feeder", "maxExportWh", "maxImportWh"}],   // the registry's;
 *                       // replaces auction.feederLimits [AUC-17]
 *     "aggregatorPublicKey"?: "<hex Ed25519 key>",   // signer of a signed auction whose
 *                       // clientId is not an address
 *     "bids": [ {"inclusion"?: n, "envelope": <signed bid-offer envelope>}
 *             | {"inclusion"?: n, "reqId": "<wire reqId>", "parameters": <bid-offer parameters>} ],
 *     "reveals"?: [ {"envelope": <signed bid-reveal envelope>} | {"parameters": <bid-reveal parameters>} ]
 *                       // [SEALED] the bidders' reveals of a sealed auction's bids
 *   }
 * inclusion defaults to the bid's index in `bids`. Signed envelopes are verified
 * (signature and, for bid-offers, address = signer) unless verify is false; dates and
 * replay are not checked (an audit reads old messages).
 */
import type { KeyObject } from 'node:crypto';
import { compileOnUse, envelopeValidator } from '../../../schemas/validators.js';
import { auctionCloseParams, auctionOpenParams, bidOfferParams, bidRevealParams, feederLimit } from '../../../schemas/operations.js';
import { address as addressSchema, reqId as reqIdSchema } from '../../../schemas/common.js';
import type { AuctionClose, AuctionOpen, AuctionResult, BidOffer, BidReveal, FeederLimit } from '../../../schemas/types.js';
import type { Operation } from '../../../schemas/envelope.js';
import { createCodec, schemaError } from '../../../wire/codec.js';
import { isWireError } from '../../../wire/errors.js';
import { isAddress, publicKeyObject } from '../../../wire/keys.js';
import { paymentMillicents } from '../../../wire/quantities.js';
import { AuctionError } from './auctionError.js';
import type { ClearingExclusion } from './clearAuction.js';
import { auctionResultParams, clearingAuctionFromOpen, clearWireAuction, voidAuctionResultParams, type WireBid } from './wireAuction.js';

export const MAX_AUDIT_BIDS = 1_000_000;

export const auditInputSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['auction', 'bids'],
  properties: {
    auction: { type: 'object' },
    close: { type: 'object' },
    feederLimits: { type: 'array', maxItems: 1000, items: feederLimit },
    aggregatorPublicKey: addressSchema,
    bids: {
      type: 'array',
      maxItems: MAX_AUDIT_BIDS,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          inclusion: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
          envelope: { type: 'object' },
          reqId: reqIdSchema,
          parameters: { type: 'object' },
        },
        oneOf: [
          { required: ['envelope'], not: { anyOf: [{ required: ['reqId'] }, { required: ['parameters'] }] } },
          { required: ['reqId', 'parameters'], not: { required: ['envelope'] } },
        ],
      },
    },
    reveals: {
      type: 'array',
      maxItems: MAX_AUDIT_BIDS,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { envelope: { type: 'object' }, parameters: { type: 'object' } },
        oneOf: [{ required: ['envelope'], not: { required: ['parameters'] } }, { required: ['parameters'], not: { required: ['envelope'] } }],
      },
    },
  },
} as const;

const validateInput = compileOnUse(auditInputSchema);
const validateOpen = compileOnUse(auctionOpenParams);
const validateClose = compileOnUse(auctionCloseParams);
const validateBid = compileOnUse(bidOfferParams);
const validateReveal = compileOnUse(bidRevealParams);

export interface AuditOptions {
  /** verify signatures of signed envelopes (default true) */
  verify?: boolean;
}

export interface AuditAward {
  address: string;
  feeder: string;
  reqId: string;
  energyWh: number;
  priceMcPerKWh: number;
  /** floor(energyWh × priceMcPerKWh ÷ 1000): owed on full delivery (to the HEM in a buy auction, by it in a sell auction) */
  paymentMc: number;
}

export interface AuditReport {
  auctionId: string;
  side: 'buy' | 'sell';
  pricing: 'pay-as-bid' | 'uniform';
  sealed: boolean;
  energyWh: number;
  limitPriceMcPerKWh: number;
  status: 'cleared' | 'void';
  reason?: string;
  awardedWh: number;
  clearingPriceMcPerKWh: number | null;
  totalPaymentMc: number;
  awards: AuditAward[];
  excluded: ClearingExclusion[];
  /** energy awarded per feeder, with the limit that applied (null = unlimited) */
  feeders: { feeder: string; awardedWh: number; limitWh: number | null }[];
}

/** The report as `auction-result` parameters, what the aggregator publishes. */
export function auditAuctionResult(r: AuditReport): AuctionResult {
  if (r.status === 'void') return voidAuctionResultParams(r.auctionId, r.reason ?? 'void');
  return auctionResultParams(r.auctionId, r);
}

function bad(path: string, reason: string): never {
  throw new AuctionError('INVALID_AUDIT_INPUT', { path, reason });
}

/** Parse, check and clear an audit input. Throws AuctionError INVALID_AUDIT_INPUT on a bad document. */
export function auditAuction(input: unknown, o: AuditOptions = {}): AuditReport {
  const verify = o.verify ?? true;
  if (!validateInput(input)) {
    const e = validateInput.errors?.[0];
    bad(e?.instancePath || '/', e?.message ?? 'invalid');
  }
  const doc = input as {
    auction: Record<string, unknown>;
    close?: Record<string, unknown>;
    feederLimits?: FeederLimit[];
    aggregatorPublicKey?: string;
    bids: { inclusion?: number; envelope?: Record<string, unknown>; reqId?: string; parameters?: Record<string, unknown> }[];
    reveals?: { envelope?: Record<string, unknown>; parameters?: Record<string, unknown> }[];
  };

  let aggregatorKey: KeyObject | undefined;
  if (doc.aggregatorPublicKey !== undefined) aggregatorKey = publicKeyObject(Buffer.from(doc.aggregatorPublicKey, 'hex'));
  const codec = createCodec({ replayCheck: false, resolveKey: () => aggregatorKey });

  const decode = <O extends Operation>(value: Record<string, unknown>, op: O, path: string): { clientId: string; reqId: string; parameters: unknown } => {
    if (value.operation !== op) bad(`${path}/operation`, `expected '${op}'`);
    try {
      if (verify) return codec.decodeValue(value, { replayCheck: false }) as { clientId: string; reqId: string; parameters: unknown };
      const v = envelopeValidator(op);
      if (!v(value)) throw schemaError(v, value);
      return value as { clientId: string; reqId: string; parameters: unknown };
    } catch (err) {
      if (isWireError(err)) {
        const hint = err.code === 'UNKNOWN_SIGNER' ? ' (give aggregatorPublicKey, or --no-verify)' : '';
        bad(path, err.message + hint);
      }
      throw err;
    }
  };
  const params = <T>(value: Record<string, unknown>, validate: typeof validateOpen, path: string): T => {
    if (!validate(value)) {
      const e = validate.errors?.[0];
      bad(`${path}${e?.instancePath ?? ''}`, e?.message ?? 'invalid');
    }
    return value as T;
  };

  // the auction
  let open: AuctionOpen;
  let auctionSigner: string | undefined;
  if ('operation' in doc.auction) {
    const env = decode(doc.auction, 'auction-open', '/auction');
    open = env.parameters as AuctionOpen;
    auctionSigner = env.clientId;
    if (verify && doc.aggregatorPublicKey !== undefined && isAddress(env.clientId) && env.clientId !== doc.aggregatorPublicKey) {
      bad('/auction/clientId', 'signer is not aggregatorPublicKey');
    }
  } else open = params<AuctionOpen>(doc.auction, validateOpen, '/auction');

  // its close
  let close: AuctionClose | undefined;
  if (doc.close !== undefined) {
    if ('operation' in doc.close) {
      const env = decode(doc.close, 'auction-close', '/close');
      if (auctionSigner !== undefined && env.clientId !== auctionSigner) bad('/close/clientId', 'close not signed by the auction signer');
      close = env.parameters as AuctionClose;
    } else close = params<AuctionClose>(doc.close, validateClose, '/close');
    if (close.auctionId !== open.auctionId) bad('/close/auctionId', `is ${close.auctionId}, auction is ${open.auctionId}`);
  }

  // the bids
  const bids: WireBid[] = doc.bids.map((b, i) => {
    const path = `/bids/${i}`;
    const inclusion = b.inclusion ?? i;
    if (b.envelope !== undefined) {
      const env = decode(b.envelope, 'bid-offer', `${path}/envelope`);
      return { reqId: env.reqId, inclusion, params: env.parameters as BidOffer };
    }
    return { reqId: b.reqId as string, inclusion, params: params<BidOffer>(b.parameters ?? {}, validateBid, `${path}/parameters`) };
  });

  const auction = clearingAuctionFromOpen(open, doc.feederLimits);
  const base = {
    auctionId: open.auctionId,
    side: open.side,
    pricing: open.pricing,
    sealed: open.sealed,
    energyWh: auction.energyWh,
    limitPriceMcPerKWh: auction.limitPriceMcPerKWh,
  };

  // [SEALED] the bidders' reveals
  const reveals: BidReveal[] = (doc.reveals ?? []).map((r, i) => {
    const path = `/reveals/${i}`;
    if (r.envelope !== undefined) return decode(r.envelope, 'bid-reveal', `${path}/envelope`).parameters as BidReveal;
    return params<BidReveal>(r.parameters ?? {}, validateReveal, `${path}/parameters`);
  });
  void close;

  const result = clearWireAuction(open, bids, {
    ...(doc.feederLimits !== undefined ? { feederLimits: doc.feederLimits } : {}),
    reveals,
  });

  let total = 0n;
  const awards: AuditAward[] = result.awards.map((a) => {
    const paymentMc = paymentMillicents(a.energyWh, a.priceMcPerKWh);
    total += BigInt(paymentMc);
    return { ...a, paymentMc };
  });
  const perFeeder = new Map<string, number>();
  for (const a of result.awards) perFeeder.set(a.feeder, (perFeeder.get(a.feeder) ?? 0) + a.energyWh);
  const limitOf = new Map(auction.feederLimits.map((l) => [l.feeder, open.side === 'buy' ? l.maxExportWh : l.maxImportWh]));
  const feeders = [...perFeeder.keys()].sort().map((f) => ({ feeder: f, awardedWh: perFeeder.get(f)!, limitWh: limitOf.get(f) ?? null }));

  return {
    ...base,
    status: 'cleared',
    awardedWh: result.awardedWh,
    clearingPriceMcPerKWh: result.clearingPriceMcPerKWh,
    totalPaymentMc: Number(total),
    awards,
    excluded: result.excluded,
    feeders,
  };
}
