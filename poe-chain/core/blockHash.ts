/**
 * Block hash and header signature (README "Blocks").
 *
 *   blockHash       = SHA-256("TMI/v1/block" ‖ 0x00 ‖ canonical JSON of the header)
 *   headerSignature = Ed25519(producer, "TMI/v1/header-signature" ‖ 0x00 ‖ genesis hash (32 bytes)
 *                             ‖ canonical JSON of the header)
 *
 * [DOMAIN] The signature covers the chain's genesis hash: a header signed for another chain
 * (a test network with the same keys) verifies nowhere else, so it can be neither imported
 * nor used as equivocation evidence here.
 *
 * The header commits to the transactions (txRoot) and to the resulting state
 * (stateRoot), so a signed header alone identifies a block: two valid signed headers
 * of one producer for one slot with different hashes prove equivocation.
 */
import { canonicalBytes } from '../../wire/canonicalJson.js';
import { PublicKeyCache, signBytes, verifyBytes, type KeyPair } from '../../wire/keys.js';
import type { BlockHeader, SignedHeader } from '../../schemas/types.js';
import { DOMAIN, tagged, taggedHash } from './hashing.js';

export function blockHash(header: BlockHeader): string {
  return taggedHash(DOMAIN.block, canonicalBytes(header)).toString('hex');
}

/** The bytes a producer signs for a header of the chain whose genesis hash is `chain` (hex). */
export function headerSigningBytes(header: BlockHeader, chain: string): Buffer {
  return tagged(DOMAIN.header, Buffer.concat([Buffer.from(chain, 'hex'), canonicalBytes(header)]));
}

export function signHeader(kp: KeyPair, header: BlockHeader, chain: string): string {
  return signBytes(kp, headerSigningBytes(header, chain)).toString('base64');
}

const keys = new PublicKeyCache(10_000);

/** Whether headerSignature is the header producer's signature of the header, on the chain `chain`. */
export function verifyHeaderSignature(h: SignedHeader, chain: string): boolean {
  try {
    return verifyBytes(keys.get(h.header.producer), headerSigningBytes(h.header, chain), Buffer.from(h.headerSignature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * [POE-7.equivocation] Why two signed headers are not evidence of equivocation, or
 * undefined if they are: same producer, same slot, same place in the slot [SUB], different
 * hashes, both signatures valid.
 */
export function equivocationProblem(a: SignedHeader, b: SignedHeader, chain: string): string | undefined {
  if (a.header.producer !== b.header.producer) return 'different producers';
  if (a.header.slot !== b.header.slot) return 'different slots';
  // [SUB] a producer's blocks at one slot are a chain, one per place: two places are not a conflict
  if ((a.header.sub ?? 0) !== (b.header.sub ?? 0)) return 'different places in the slot';
  if (blockHash(a.header) === blockHash(b.header)) return 'same block';
  if (!verifyHeaderSignature(a, chain)) return 'bad signature a';
  if (!verifyHeaderSignature(b, chain)) return 'bad signature b';
  return undefined;
}
