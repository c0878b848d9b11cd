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
 *                       // auction.feederLimits only tighten them [AUC-17]
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
 *
 *   [AUD-1] the chain's own range checks apply: an auction-open the chain refuses
 *           (BAD_AUCTION: energy not in (0, 1 GWh], limit above 10^8 mc/kWh, sealed
 *           without a public key, a feeder listed twice) is an INVALID_AUDIT_INPUT error;
 *           an open bid the chain refuses as out of range (bidQuantities, [TX-B6]) never
 *           reaches the chain: it is listed in `refused` with BID_OUT_OF_RANGE and takes
 *           no part in the clearing; a sealed bid that opens out of range is excluded
 *           OUT_OF_RANGE, as the contract does at close ([AC-1]).
 *   [AUD-2] money is exact: payments are bigint (floor(Wh × mc/kWh ÷ 1000) in integers),
 *           never a float.
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
import { AuctionError } from './auctionError.js';
import type { ClearingExclusion } from './clearAuction.js';
import { clearAuction, type ClearingOffer } from './clearAuction.js';
import { auctionResultParams, clearingAuctionFromOpen, clearingOfferFromBid, voidAuctionResultParams, type WireBid } from './wireAuction.js';
import { bidQuantities, MAX_BID_WH, MAX_PRICE_MC_PER_KWH } from '../tx/applyBidOffer.js';

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
  /** floor(energyWh × priceMcPerKWh ÷ 1000), exact: owed on full delivery (to the HEM in a buy auction, by it in a sell auction) */
  paymentMc: bigint;
}

/** A bid the chain would refuse as a transaction, so never on chain [AUD-1]. */
export interface AuditRefusal {
  address: string;
  reqId: string;
  /** the chain's transaction error code */
  code: 'BID_OUT_OF_RANGE';
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
  totalPaymentMc: bigint;
  awards: AuditAward[];
  excluded: ClearingExclusion[];
  /** bids the chain refuses before any clearing; not in `excluded`, not in the auction-result */
  refused: AuditRefusal[];
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
  // [AUD-1] the auction-open as the chain checks it ([TX-A3], the parts that need no chain clock)
  const refuse = (reason: string): never => bad('/auction', `the chain refuses this auction-open: BAD_AUCTION ${reason}`);
  if (!(auction.energyWh > 0 && auction.energyWh <= MAX_BID_WH)) refuse(`energy out of range (${auction.energyWh} Wh; 0 < energy ≤ ${MAX_BID_WH} Wh)`);
  if (!(auction.limitPriceMcPerKWh <= MAX_PRICE_MC_PER_KWH)) refuse(`limit price out of range (${auction.limitPriceMcPerKWh} mc/kWh > ${MAX_PRICE_MC_PER_KWH})`);
  const listed = open.feederLimits ?? [];
  if (new Set(listed.map((f) => f.feeder)).size !== listed.length) refuse('feeder listed twice');
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

  // as clearWireAuction, with the chain's range checks [AUD-1]: excluded = the bids that are
  // not offers, in chain order, then the clearing's exclusions
  const refused: AuditRefusal[] = [];
  const offers: ClearingOffer[] = [];
  const rejected: { inclusion: number; e: ClearingExclusion }[] = [];
  const revealOf = new Map(reveals.map((r) => [r.address, r]));
  for (const b of bids) {
    if (b.params.bid !== undefined && bidQuantities(b.params.bid) === undefined) {
      refused.push({ address: b.params.address, reqId: b.reqId, code: 'BID_OUT_OF_RANGE' });
      continue;
    }
    const r = clearingOfferFromBid(open, b, revealOf.get(b.params.address));
    if (!r.ok) rejected.push({ inclusion: b.inclusion, e: r.exclusion });
    else if (!(r.offer.energyWh <= MAX_BID_WH && r.offer.priceMcPerKWh <= MAX_PRICE_MC_PER_KWH)) {
      rejected.push({ inclusion: b.inclusion, e: { address: r.offer.address, reqId: r.offer.reqId, reason: 'OUT_OF_RANGE' } });
    } else offers.push(r.offer);
  }
  rejected.sort((x, y) =>
    x.inclusion !== y.inclusion ? (x.inclusion < y.inclusion ? -1 : 1)
    : x.e.reqId !== y.e.reqId ? (x.e.reqId < y.e.reqId ? -1 : 1)
    : x.e.address < y.e.address ? -1 : x.e.address > y.e.address ? 1 : 0);
  const cleared = clearAuction(auction, offers);
  const result = { ...cleared, excluded: [...rejected.map((r) => r.e), ...cleared.excluded] };

  // [AUD-2]
  let total = 0n;
  const awards: AuditAward[] = result.awards.map((a) => {
    const paymentMc = (BigInt(a.energyWh) * BigInt(a.priceMcPerKWh)) / 1000n;
    total += paymentMc;
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
    totalPaymentMc: total,
    awards,
    excluded: result.excluded,
    refused,
    feeders,
  };
}
