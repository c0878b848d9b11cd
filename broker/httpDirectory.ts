/**
 * MeterDirectory over the registry's HTTP API (DESIGN §4), through the registry's own
 * typed client (schema-checked responses, size caps, timeouts):
 *   GET /v1/meters/:meterId, GET /v1/pseudonyms/:address, GET /v1/revocations?since=
 * A pseudonym counts as certified until its certificate expires (+ skew) — from the moment it
 * is issued, also a next-period certificate issued ahead of its validFrom — and while its
 * meter is active.
 */
import { RegistryClient } from '../csm-registry/client.js';
import { createHttpTransport, type HttpTransport } from '../csm-registry/httpTransport.js';
import type { MeterDirectory, RevocationPage } from './meterDirectory.js';

export interface HttpDirectoryOptions {
  /** registry base URL, e.g. http://127.0.0.1:8470 */
  url: string;
  /** [ROLES] the registry's read-only directory token (the admin token works too, but the broker should not hold it) */
  token: string;
  /** per request, default 5 s */
  timeoutMs?: number;
  /** clock tolerance on certificate validity, ms (default 120 s) */
  skewMs?: number;
  now?: () => number;
  /** concurrent HTTP connections to the registry; lookups beyond wait for one (default 16) */
  maxSockets?: number;
  transport?: HttpTransport;
}

export function createHttpDirectory(o: HttpDirectoryOptions): MeterDirectory {
  const client = new RegistryClient({
    url: o.url,
    adminToken: o.token,
    operator: 'broker',
    timeoutMs: o.timeoutMs ?? 5000,
    transport: o.transport ?? createHttpTransport({ maxSockets: o.maxSockets ?? 16 }),
  });
  const now = o.now ?? Date.now;
  const skew = o.skewMs ?? 120_000;

  return {
    async meter(meterId) {
      const m = await client.findMeter(meterId);
      if (m === undefined) return undefined;
      return { meterId: m.meterId, publicKey: m.publicKey, role: m.role, status: m.status };
    },
    async pseudonymOwner(address) {
      const p = await client.findPseudonym(address);
      if (p === undefined || p.status !== 'active') return undefined;
      // [SYBIL] not before validFrom: near a period's end the registry certifies the next
      // period's pseudonym ahead of it, and the HEM puts that certificate on chain and bids for
      // deliveries in that period with it before the period starts (the chain checks coverage)
      if (Date.parse(p.validTo) + skew < now()) return undefined;
      return p.meterId;
    },
    async revokedSince(since): Promise<RevocationPage> {
      const page = await client.revocationsSince(since);
      return {
        items: page.items.map((i) => ({ seq: i.seq, meterId: i.meterId, pseudonyms: [...i.pseudonyms] })),
        last: page.last,
      };
    },
  };
}
