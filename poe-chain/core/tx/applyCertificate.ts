/**
 * certificate (DESIGN §4): a pseudonym certificate issued by the registry.
 *   [TX-K1] envelope signed by the registry key or by the certified pseudonym itself
 *           (a HEM posts its own certificate)                                 UNAUTHORISED_SIGNER
 *   [TX-K2] registrySignature verifies with the genesis registry key          BAD_REGISTRY_SIGNATURE
 *   [TX-K3] validFrom < validTo; validTo > block time                         BAD_CERT / CERT_EXPIRED
 *   [TX-K4] the address is not revoked and has no certificate yet            ADDRESS_REVOKED / CERT_EXISTS
 *   [SYBIL-1] the certificate carries the registry's tag and lies within one certificate
 *           period: ⌊validFrom / P⌋ = ⌊(validTo − 1) / P⌋, P = genesis certPeriodMs,
 *           so certificates of different periods (different tags) never overlap      CERT_UNTAGGED / BAD_CERT
 */
import type { Envelope } from '../../../schemas/types.js';
import { TxError } from '../chainError.js';
import type { Programme } from '../chainState.js';
import { verifyCertificateSignature } from './registrySignature.js';
import type { TxContext } from './txContext.js';

export function applyCertificate(env: Envelope<'certificate'>, ctx: TxContext): void {
  const d = ctx.draft;
  const g = d.genesis;
  const c = env.parameters;
  if (env.clientId !== g.registryKey && env.clientId !== c.address) {
    throw new TxError('UNAUTHORISED_SIGNER', { operation: 'certificate', signer: env.clientId });
  }
  if (!verifyCertificateSignature(c, g.registryKey)) throw new TxError('BAD_REGISTRY_SIGNATURE', { address: c.address });
  const validFrom = Date.parse(c.validFrom);
  const validTo = Date.parse(c.validTo);
  if (!(validFrom < validTo)) throw new TxError('BAD_CERT', { address: c.address, reason: 'validTo not after validFrom' });
  if (validTo <= ctx.time) throw new TxError('CERT_EXPIRED', { address: c.address, validTo: c.validTo });
  if (c.tag === undefined) throw new TxError('CERT_UNTAGGED', { address: c.address });
  const P = g.certPeriodMs;
  if (Math.floor(validFrom / P) !== Math.floor((validTo - 1) / P)) {
    throw new TxError('BAD_CERT', { address: c.address, reason: `crosses a certificate period of ${P} ms` });
  }
  if (d.s.revoked.has(c.address)) throw new TxError('ADDRESS_REVOKED', { address: c.address });
  if (d.s.certs.has(c.address)) throw new TxError('CERT_EXISTS', { address: c.address });
  d.s.certs.set(c.address, { feeder: c.feeder, programme: c.programme as Programme, validFrom, validTo, tag: c.tag });
}
