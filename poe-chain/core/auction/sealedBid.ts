/**
 * Sealed bids (DESIGN §8): a bid encrypted to the auction's X25519 public key with
 * nacl.box, revealed when `auction-close` publishes the auction's secret key.
 *
 *   [AUC-11] sealed = {epk, nonce, box} (schema `sealedBid`), all base64:
 *            epk   = a fresh ephemeral X25519 public key (one per bid),
 *            nonce = 24 random bytes,
 *            box   = nacl.box(plaintext, nonce, auctionPublicKey, ephemeralSecretKey),
 *            plaintext = UTF-8 of the RFC 8785 canonical JSON of the `openBid` object
 *            ({type, energy, price}).
 *   [AUC-12] opening: a sealed bid whose fields are not well-formed is SEALED_MALFORMED,
 *            one that does not decrypt with the revealed key SEALED_UNDECRYPTABLE, one
 *            whose plaintext is not UTF-8 JSON SEALED_BAD_JSON, one whose JSON is not
 *            an `openBid` SEALED_SCHEMA_INVALID. Such a bid is excluded with that reason.
 *
 * Randomness is an argument (STYLE: pure core); it defaults to nacl.randomBytes.
 */
import type naclModule from 'tweetnacl';
import { requireCjs } from '../../../wire/requireCjs.js';
import { canonicalize } from '../../../wire/canonicalJson.js';
import { compileOnUse } from '../../../schemas/validators.js';
import { openBid as openBidSchema, sealedBid as sealedBidSchema } from '../../../schemas/operations.js';
import type { OpenBid, SealedBid } from '../../../schemas/types.js';
import { AuctionError } from './auctionError.js';

const nacl = requireCjs('tweetnacl') as typeof naclModule;

const validateOpenBid = compileOnUse(openBidSchema);
const validateSealedBid = compileOnUse(sealedBidSchema);

export interface AuctionKeyPair {
  /** X25519 public key, 32 bytes: published in `auction-open` as auctionPublicKey */
  publicKey: Uint8Array;
  /** X25519 secret key, 32 bytes: revealed in `auction-close` as auctionSecretKey */
  secretKey: Uint8Array;
}

export type SealedBidReason = 'SEALED_MALFORMED' | 'SEALED_UNDECRYPTABLE' | 'SEALED_BAD_JSON' | 'SEALED_SCHEMA_INVALID';

export type OpenedBid = { ok: true; bid: OpenBid } | { ok: false; reason: SealedBidReason };

export type RandomBytes = (n: number) => Uint8Array;

/** A fresh auction key pair; from a 32-byte seed (the secret key itself) when given, e.g. in tests. */
export function newAuctionKeyPair(seed?: Uint8Array): AuctionKeyPair {
  if (seed === undefined) return nacl.box.keyPair();
  if (seed.length !== nacl.box.secretKeyLength) throw new AuctionError('INVALID_KEY', { what: 'seed', length: seed.length, expected: 32 });
  return nacl.box.keyPair.fromSecretKey(new Uint8Array(seed));
}

/** base64, the wire form of auctionPublicKey / auctionSecretKey (schema key32). */
export function auctionKeyToWire(key: Uint8Array): string {
  return Buffer.from(key).toString('base64');
}

export function auctionKeyFromWire(key: Uint8Array | string, what = 'key'): Uint8Array {
  const bytes = typeof key === 'string' ? new Uint8Array(Buffer.from(key, 'base64')) : key;
  if (bytes.length !== 32) throw new AuctionError('INVALID_KEY', { what, length: bytes.length, expected: 32 });
  return bytes;
}

/** Whether a revealed secret key belongs to the published public key. */
export function auctionKeysMatch(secretKey: Uint8Array | string, publicKey: Uint8Array | string): boolean {
  const sk = auctionKeyFromWire(secretKey, 'secretKey');
  const pk = auctionKeyFromWire(publicKey, 'publicKey');
  return Buffer.from(nacl.box.keyPair.fromSecretKey(sk).publicKey).equals(Buffer.from(pk));
}

/** [AUC-11] seal an open bid to an auction's public key. Throws INVALID_OPEN_BID on a bid that is not an `openBid`. */
export function sealBid(bid: OpenBid, auctionPublicKey: Uint8Array | string, random: RandomBytes = nacl.randomBytes): SealedBid {
  if (!validateOpenBid(bid)) {
    const e = validateOpenBid.errors?.[0];
    throw new AuctionError('INVALID_OPEN_BID', { path: e?.instancePath || '/', reason: e?.message });
  }
  const pk = auctionKeyFromWire(auctionPublicKey, 'auctionPublicKey');
  const ephemeral = nacl.box.keyPair.fromSecretKey(take(random, 32));
  const nonce = take(random, nacl.box.nonceLength);
  const box = nacl.box(new Uint8Array(Buffer.from(canonicalize(bid), 'utf8')), nonce, pk, ephemeral.secretKey);
  return {
    epk: Buffer.from(ephemeral.publicKey).toString('base64'),
    nonce: Buffer.from(nonce).toString('base64'),
    box: Buffer.from(box).toString('base64'),
  };
}

/** [AUC-12] open a sealed bid with the revealed secret key: the validated open bid, or why not. */
export function openSealedBid(sealed: unknown, auctionSecretKey: Uint8Array | string): OpenedBid {
  const sk = auctionKeyFromWire(auctionSecretKey, 'auctionSecretKey');
  if (!validateSealedBid(sealed)) return { ok: false, reason: 'SEALED_MALFORMED' };
  const s = sealed as SealedBid;
  const epk = Buffer.from(s.epk, 'base64');
  const nonce = Buffer.from(s.nonce, 'base64');
  const box = Buffer.from(s.box, 'base64');
  if (epk.length !== 32 || nonce.length !== nacl.box.nonceLength) return { ok: false, reason: 'SEALED_MALFORMED' };
  const plain = nacl.box.open(new Uint8Array(box), new Uint8Array(nonce), new Uint8Array(epk), sk);
  if (plain === null) return { ok: false, reason: 'SEALED_UNDECRYPTABLE' };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain));
  } catch {
    return { ok: false, reason: 'SEALED_BAD_JSON' };
  }
  if (!validateOpenBid(value)) return { ok: false, reason: 'SEALED_SCHEMA_INVALID' };
  return { ok: true, bid: value as OpenBid };
}

function take(random: RandomBytes, n: number): Uint8Array {
  const b = random(n);
  if (!(b instanceof Uint8Array) || b.length !== n) throw new AuctionError('INVALID_KEY', { what: 'random bytes', length: b?.length, expected: n });
  return b;
}
