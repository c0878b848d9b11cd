/**
 * Registry signatures carried inside certificate, revocation and feeder-limit transactions
 * (csm-registry contract): Ed25519 by the registry key over
 *   certificate, revocation  the canonical JSON of the object without `registrySignature`
 *   feeder-limit [FEEDER-1]  "TMI/v1/feeder-limit" ‖ 0x00 ‖ canonical JSON of
 *                            {feeder, maxExportWh, maxImportWh, issuedAt}
 * The feeder limit's bytes start with the domain tag, a certificate's or revocation's with
 * `{`: a signature made for one never verifies as the other.
 */
import { canonicalBytes } from '../../../wire/canonicalJson.js';
import { PublicKeyCache, verifyBytes } from '../../../wire/keys.js';
import type { Certificate, Revocation, SignedFeederLimit } from '../../../schemas/types.js';
import { DOMAIN, tagged } from '../hashing.js';

const keys = new PublicKeyCache(16);

function verifyOver(registryKey: string, bytes: Uint8Array, signature: string): boolean {
  try {
    return verifyBytes(keys.get(registryKey), bytes, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

function verify(registryKey: string, obj: object, signature: string): boolean {
  return verifyOver(registryKey, canonicalBytes(obj), signature);
}

export function verifyCertificateSignature(c: Certificate, registryKey: string): boolean {
  const { registrySignature, ...unsigned } = c;
  return verify(registryKey, unsigned, registrySignature);
}

export function verifyRevocationSignature(r: Revocation, registryKey: string): boolean {
  const { registrySignature, ...unsigned } = r;
  return verify(registryKey, unsigned, registrySignature);
}

/** [FEEDER-1] The bytes the registry signs for a feeder limit (domain-separated). */
export function feederLimitSigningBytes(l: Omit<SignedFeederLimit, 'registrySignature'> | SignedFeederLimit): Buffer {
  const { feeder, maxExportWh, maxImportWh, issuedAt } = l;
  return tagged(DOMAIN.feederLimit, canonicalBytes({ feeder, maxExportWh, maxImportWh, issuedAt }));
}

export function verifyFeederLimitSignature(l: SignedFeederLimit, registryKey: string): boolean {
  return verifyOver(registryKey, feederLimitSigningBytes(l), l.registrySignature);
}
