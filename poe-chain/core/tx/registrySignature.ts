/**
 * Registry signatures carried inside certificate and revocation transactions
 * (csm-registry contract): Ed25519 by the registry key over the canonical JSON of the
 * object without `registrySignature`.
 */
import { canonicalBytes } from '../../../wire/canonicalJson.js';
import { PublicKeyCache, verifyBytes } from '../../../wire/keys.js';
import type { Certificate, Revocation } from '../../../schemas/types.js';

const keys = new PublicKeyCache(16);

function verify(registryKey: string, obj: object, signature: string): boolean {
  try {
    return verifyBytes(keys.get(registryKey), canonicalBytes(obj), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export function verifyCertificateSignature(c: Certificate, registryKey: string): boolean {
  const { registrySignature, ...unsigned } = c;
  return verify(registryKey, unsigned, registrySignature);
}

export function verifyRevocationSignature(r: Revocation, registryKey: string): boolean {
  const { registrySignature, ...unsigned } = r;
  return verify(registryKey, unsigned, registrySignature);
}
