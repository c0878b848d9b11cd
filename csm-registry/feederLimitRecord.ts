/**
 * [FEEDER-1] Feeder limits signed by the registry key: the records `GET /v1/feeders` serves
 * and the parameters of the chain operation `feeder-limit`.
 *
 *   registrySignature = Ed25519(registryKey, "TMI/v1/feeder-limit" ‖ 0x00 ‖
 *                               canonicalJson({feeder, maxExportWh, maxImportWh, issuedAt}))
 *
 * The bytes are the chain's (poe-chain/core/tx/registrySignature.ts, one definition). A
 * certificate or revocation is signed over bare canonical JSON, which starts with `{`, so a
 * signature made for one can never verify as a feeder limit, nor the other way round.
 * Pure functions: the chain, the aggregator and tests verify with the registry's public key.
 */
import { signBytes, type KeyPair } from '../wire/keys.js';
import type { SignedFeederLimit } from '../schemas/types.js';
import { feederLimitSigningBytes } from '../poe-chain/core/tx/registrySignature.js';
import { validators } from './registryValidators.js';
import { checkRegistrySignature } from './certificate.js';

export { feederLimitSigningBytes };
export type UnsignedFeederLimit = Omit<SignedFeederLimit, 'registrySignature'>;
export type FeederLimitProblem = 'SCHEMA' | 'BAD_KEY' | 'BAD_SIGNATURE';

/** Signs (or re-signs) a feeder limit. Does not validate its fields. */
export function signFeederLimit(l: UnsignedFeederLimit | SignedFeederLimit, registryKey: KeyPair): SignedFeederLimit {
  const { feeder, maxExportWh, maxImportWh, issuedAt } = l;
  const registrySignature = signBytes(registryKey, feederLimitSigningBytes(l)).toString('base64');
  return { feeder, maxExportWh, maxImportWh, issuedAt, registrySignature };
}

/** Why `l` is not a feeder limit signed by the registry key `registryPublicKeyHex`, or undefined if it is. */
export function checkFeederLimit(l: unknown, registryPublicKeyHex: string): FeederLimitProblem | undefined {
  if (!validators.signedFeederLimit(l)) return 'SCHEMA';
  const r = l as SignedFeederLimit;
  return checkRegistrySignature(registryPublicKeyHex, feederLimitSigningBytes(r), r.registrySignature);
}

export function verifyFeederLimit(l: unknown, registryPublicKeyHex: string): boolean {
  return checkFeederLimit(l, registryPublicKeyHex) === undefined;
}

/** The next issuedAt of a feeder: the registry's clock, strictly after the previous record's. */
export function nextIssuedAt(nowMs: number, previous?: string): string {
  const prev = previous === undefined ? -Infinity : Date.parse(previous);
  return new Date(Math.max(nowMs, prev + 1)).toISOString();
}
