/**
 * Pseudonym certificates and revocations signed by the registry key (DESIGN §4).
 *
 *   registrySignature = Ed25519(registryKey, canonicalJson(object without registrySignature))
 *
 * Pure functions: the chain, the broker and the HEM verify with the registry's public
 * key (GET /v1/registry-key) and nothing else.
 */
import { canonicalBytes } from '../wire/canonicalJson.js';
import { PublicKeyCache, isAddress, signBytes, verifyBytes, type KeyPair } from '../wire/keys.js';
import type { Certificate, Revocation } from '../schemas/types.js';
import { validators } from './registryValidators.js';

export type UnsignedCertificate = Omit<Certificate, 'registrySignature'>;
export type UnsignedRevocation = Omit<Revocation, 'registrySignature'>;

export type CertificateProblem = 'SCHEMA' | 'BAD_KEY' | 'BAD_SIGNATURE' | 'NOT_YET_VALID' | 'EXPIRED';
export type RevocationProblem = 'SCHEMA' | 'BAD_KEY' | 'BAD_SIGNATURE';

const keys = new PublicKeyCache(1024);

/**
 * A registry-signed body (schema already checked): 'BAD_KEY' when the registry key is not a
 * key, 'BAD_SIGNATURE' when `signatureB64` does not verify over `bytes`, else undefined.
 */
export function checkRegistrySignature(registryPublicKeyHex: string, bytes: Uint8Array, signatureB64: string): 'BAD_KEY' | 'BAD_SIGNATURE' | undefined {
  if (!isAddress(registryPublicKeyHex)) return 'BAD_KEY';
  let ok: boolean;
  try {
    ok = verifyBytes(keys.get(registryPublicKeyHex), bytes, Buffer.from(signatureB64, 'base64'));
  } catch {
    return 'BAD_KEY';
  }
  return ok ? undefined : 'BAD_SIGNATURE';
}

/** The bytes the registry signs: canonical JSON of the certificate without its signature. */
export function certificateSigningBytes(cert: UnsignedCertificate | Certificate): Buffer {
  const { address, validFrom, validTo, feeder, programme, tag } = cert;
  return canonicalBytes({ address, validFrom, validTo, feeder, programme, ...(tag !== undefined ? { tag } : {}) });
}

/** Signs (or re-signs) a certificate. Does not validate its fields. */
export function signCertificate(cert: UnsignedCertificate | Certificate, registryKey: KeyPair): Certificate {
  const { address, validFrom, validTo, feeder, programme, tag } = cert;
  const registrySignature = signBytes(registryKey, certificateSigningBytes(cert)).toString('base64');
  return { address, validFrom, validTo, feeder, programme, ...(tag !== undefined ? { tag } : {}), registrySignature };
}

/**
 * Why `cert` is not a good certificate of the registry with public key
 * `registryPublicKeyHex`, or undefined if it is. With `at` (ms since the epoch) it must
 * also be valid then: validFrom ≤ at < validTo.
 */
export function checkCertificate(cert: unknown, registryPublicKeyHex: string, at?: number): CertificateProblem | undefined {
  if (!validators.certificate(cert)) return 'SCHEMA';
  const c = cert as Certificate;
  const signed = checkRegistrySignature(registryPublicKeyHex, certificateSigningBytes(c), c.registrySignature);
  if (signed !== undefined) return signed;
  if (at !== undefined) {
    if (at < Date.parse(c.validFrom)) return 'NOT_YET_VALID';
    if (at >= Date.parse(c.validTo)) return 'EXPIRED';
  }
  return undefined;
}

/** true iff `cert` is schema-valid and signed by the registry key (and valid at `at`, if given). */
export function verifyCertificate(cert: unknown, registryPublicKeyHex: string, at?: number): boolean {
  return checkCertificate(cert, registryPublicKeyHex, at) === undefined;
}

/** The bytes the registry signs for a revocation. */
export function revocationSigningBytes(rev: UnsignedRevocation | Revocation): Buffer {
  const { addresses, reason, revokedAt } = rev;
  return canonicalBytes({ addresses, reason, revokedAt });
}

export function signRevocation(rev: UnsignedRevocation | Revocation, registryKey: KeyPair): Revocation {
  const { addresses, reason, revokedAt } = rev;
  const registrySignature = signBytes(registryKey, revocationSigningBytes(rev)).toString('base64');
  return { addresses: [...addresses], reason, revokedAt, registrySignature };
}

export function checkRevocation(rev: unknown, registryPublicKeyHex: string): RevocationProblem | undefined {
  if (!validators.revocation(rev)) return 'SCHEMA';
  const r = rev as Revocation;
  return checkRegistrySignature(registryPublicKeyHex, revocationSigningBytes(r), r.registrySignature);
}

export function verifyRevocation(rev: unknown, registryPublicKeyHex: string): boolean {
  return checkRevocation(rev, registryPublicKeyHex) === undefined;
}
