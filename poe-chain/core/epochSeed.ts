/**
 * [SEED] The tie-break seed, which no single producer can choose (README "Election").
 *
 * The first block of each epoch e carries its producer's ECVRF proof (core/vrf.ts) over
 *   alpha = "TMI/v1/seed-input" ‖ 0x00 ‖ genesis hash (32) ‖ uint64be(e) ‖ previous seed (32)
 * and the epoch's new seed is SHA-256("TMI/v1/seed" ‖ 0x00 ‖ beta). A VRF output is unique
 * for a key and an input, so the producer cannot grind it by trying block contents, nonces
 * or signatures: the seed depends only on WHO makes the first block. The ranking of epoch
 * e uses the seed made at the first block of epoch e − 2 (seedForEpoch), before the
 * readings of interval e − 2 that rank it exist.
 */
import { DOMAIN, tagged, taggedHash } from './hashing.js';
import { vrfProofToHash, vrfProve, vrfVerify } from './vrf.js';

/** How many seeds the state keeps (the ranking needs the newest at or before e − 2). */
export const SEEDS_KEPT = 3;

export function seedAlpha(genesisHash: string, epoch: number, previousSeed: string): Buffer {
  const e = Buffer.alloc(8);
  e.writeBigUInt64BE(BigInt(epoch));
  return tagged(DOMAIN.seedInput, Buffer.concat([Buffer.from(genesisHash, 'hex'), e, Buffer.from(previousSeed, 'hex')]));
}

/** The seed made from a VRF output. */
export function seedOf(beta: Uint8Array): string {
  return taggedHash(DOMAIN.seed, beta).toString('hex');
}

/** The previous seed a first block's proof covers: the newest kept, or the genesis hash. */
export function previousSeed(meta: { seeds: readonly [number, string][]; genesisHash: string }): string {
  return meta.seeds.length > 0 ? meta.seeds[meta.seeds.length - 1]![1] : meta.genesisHash;
}

/** The producer's proof (base64) for the first block of `epoch`. */
export function proveSeed(producerSeed: Uint8Array, genesisHash: string, epoch: number, prev: string): { proof: string; seed: string } {
  const pi = vrfProve(producerSeed, seedAlpha(genesisHash, epoch, prev));
  return { proof: pi.toString('base64'), seed: seedOf(vrfProofToHash(pi)!) };
}

/** The new seed when `proof` is `producer`'s valid proof, else undefined. */
export function verifySeed(producer: string, proof: string, genesisHash: string, epoch: number, prev: string): string | undefined {
  const beta = vrfVerify(Buffer.from(producer, 'hex'), seedAlpha(genesisHash, epoch, prev), Buffer.from(proof, 'base64'));
  return beta === undefined ? undefined : seedOf(beta);
}

