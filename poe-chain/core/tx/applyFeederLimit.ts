/**
 * feeder-limit [FEEDER-1]: a feeder's export/import limits, as the registry signed them,
 * become chain state. The `feederLimits` section holds the latest record per feeder and is
 * written by this transaction only; the aggregator's auction-open can no longer set or raise
 * a limit (its own limits only tighten the registry's for that auction [FEEDER-2]).
 *   [TX-F1] envelope signed by the genesis registry key, aggregator key or aggregator node key
 *           (the registry posts its own records; the aggregator relays them)       UNAUTHORISED_SIGNER
 *   [TX-F2] registrySignature verifies with the genesis registry key over
 *           "TMI/v1/feeder-limit" ‖ 0x00 ‖ canonical JSON of {feeder, maxExportWh,
 *           maxImportWh, issuedAt}: a certificate's or revocation's signature never
 *           verifies as a feeder limit                                           BAD_REGISTRY_SIGNATURE
 *   [TX-F3] issuedAt ≤ block time + txFutureMs                                   FEEDER_LIMIT_IN_FUTURE
 *   [TX-F4] issuedAt later than that of the record on chain for the feeder, so an
 *           older (looser) record cannot be replayed over a tightened one        STALE_FEEDER_LIMIT
 */
import type { Envelope } from '../../../schemas/types.js';
import { TxError } from '../chainError.js';
import { verifyFeederLimitSignature } from './registrySignature.js';
import type { TxContext } from './txContext.js';

export function applyFeederLimit(env: Envelope<'feeder-limit'>, ctx: TxContext): void {
  const d = ctx.draft;
  const g = d.genesis;
  const l = env.parameters;
  // [TX-F1]
  if (env.clientId !== g.registryKey && env.clientId !== g.aggregatorKey && env.clientId !== g.aggregatorNodeKey) {
    throw new TxError('UNAUTHORISED_SIGNER', { operation: 'feeder-limit', signer: env.clientId });
  }
  // [TX-F2]
  if (!verifyFeederLimitSignature(l, g.registryKey)) throw new TxError('BAD_REGISTRY_SIGNATURE', { operation: 'feeder-limit', feeder: l.feeder });
  // [TX-F3]
  const issuedAt = Date.parse(l.issuedAt);
  if (!(issuedAt <= ctx.time + g.txFutureMs)) {
    throw new TxError('FEEDER_LIMIT_IN_FUTURE', { feeder: l.feeder, issuedAt: l.issuedAt, blockTime: new Date(ctx.time).toISOString() });
  }
  // [TX-F4]
  const current = d.s.feederLimits.get(l.feeder);
  if (current !== undefined && !(issuedAt > current.issuedAt)) {
    throw new TxError('STALE_FEEDER_LIMIT', { feeder: l.feeder, issuedAt: l.issuedAt, onChain: new Date(current.issuedAt).toISOString() });
  }
  d.s.feederLimits.set(l.feeder, { maxExportWh: l.maxExportWh, maxImportWh: l.maxImportWh, issuedAt });
}
