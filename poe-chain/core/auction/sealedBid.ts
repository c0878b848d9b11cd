/**
 * Sealed bids by commit–reveal [SEALED] (DESIGN §8; the closed-order-book auction of
 * Christidis's thesis): nobody, the aggregator included, can read a sealed bid before its
 * bidder reveals it after the close, and nobody but the bidder can open it.
 *
 *   [AUC-11] sealed = {commitment}, commitment = hex SHA-256("TMI/v1/bid-commitment" ‖ 0x00 ‖
 *            RFC 8785 canonical JSON of {auctionId, address, bid, salt}), bid = the `openBid`
 *            {type, energy, price}, salt = 32 random bytes (hex) the bidder keeps until it
 *            reveals. The auction id and the address bind the commitment to one auction and
 *            one bidder (a commitment copied into another auction or by another bidder
 *            cannot be revealed); the salt makes it unguessable from the few plausible bids.
 *   [AUC-12] a `bid-reveal` {auctionId, address, bid, salt} opens it when its commitment is
 *            the bid's. A sealed bid not revealed within the reveal window is excluded
 *            NOT_REVEALED (its bidder pays the genesis `unrevealedPenaltyMc`).
 *
 * Randomness is an argument (STYLE: pure core); it defaults to node:crypto.
 */
import { randomBytes } from 'node:crypto';
import { canonicalize } from '../../../wire/canonicalJson.js';
import type { OpenBid, SealedBid } from '../../../schemas/types.js';
import { taggedHash } from '../hashing.js';

export const COMMITMENT_DOMAIN = 'TMI/v1/bid-commitment';

export interface RevealedBid {
  auctionId: string;
  address: string;
  bid: OpenBid;
  /** 64 hex characters */
  salt: string;
}

/** [AUC-11] the commitment of a bid, hex. */
export function bidCommitment(r: RevealedBid): string {
  return taggedHash(COMMITMENT_DOMAIN, canonicalize({ auctionId: r.auctionId, address: r.address, bid: r.bid, salt: r.salt })).toString('hex');
}

/** A fresh salt: 32 random bytes, hex. */
export function newSalt(random: (n: number) => Uint8Array = randomBytes): string {
  return Buffer.from(random(32)).toString('hex');
}

/** [AUC-11] seals a bid: the wire `sealed` object and the salt the bidder must keep to reveal it. */
export function sealBid(auctionId: string, address: string, bid: OpenBid, random?: (n: number) => Uint8Array): { sealed: SealedBid; salt: string } {
  const salt = newSalt(random);
  return { sealed: { commitment: bidCommitment({ auctionId, address, bid, salt }) }, salt };
}

/** [AUC-12] does the reveal open this sealed bid? */
export function revealOpens(sealed: SealedBid, r: RevealedBid): boolean {
  return bidCommitment(r) === sealed.commitment;
}
