/**
 * revocation (DESIGN §4): the registry revokes pseudonyms.
 *   [TX-V1] registrySignature verifies with the genesis registry key (the authority; any
 *           node may relay the revocation)                                   BAD_REGISTRY_SIGNATURE
 *   [TX-V2] at least one listed address is not revoked yet                   NOTHING_TO_REVOKE
 *   Effect: the addresses can no longer bid, post readings, transfer, be certified, or be
 *   ranked; they leave the current ranking at once. Revocations are kept for good.
 */
import type { Envelope } from '../../../schemas/types.js';
import { TxError } from '../chainError.js';
import { verifyRevocationSignature } from './registrySignature.js';
import type { TxContext } from './txContext.js';

export function applyRevocation(env: Envelope<'revocation'>, ctx: TxContext): void {
  const d = ctx.draft;
  const r = env.parameters;
  if (!verifyRevocationSignature(r, d.genesis.registryKey)) throw new TxError('BAD_REGISTRY_SIGNATURE', { operation: 'revocation' });
  const fresh = [...new Set(r.addresses)].filter((a) => !d.s.revoked.has(a));
  if (fresh.length === 0) throw new TxError('NOTHING_TO_REVOKE', { addresses: r.addresses.length });
  const at = Date.parse(r.revokedAt);
  for (const a of fresh) d.s.revoked.set(a, at);
  const gone = new Set(fresh);
  if (d.meta.ranking.some((a) => gone.has(a))) d.meta.ranking = d.meta.ranking.filter((a) => !gone.has(a));
}
