/**
 * What the broker needs to know about meters (DESIGN §4): enrolled or not, their key,
 * their role, revoked or not, and who owns a pseudonym. The broker is coded against
 * this small interface; createHttpDirectory speaks the registry's HTTP API, and
 * createMemoryDirectory is the in-memory default for tests and embedding.
 */

export const ROLES = ['hem', 'aggregator', 'node', 'analytics', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface MeterRecord {
  meterId: string;
  /** lowercase hex of the meter's 32-byte Ed25519 public key */
  publicKey: string;
  role: Role;
  status: 'active' | 'revoked';
}

export interface RevocationItem {
  seq: number;
  meterId: string;
  /** pseudonym addresses certified to the meter */
  pseudonyms: string[];
}

export interface RevocationPage {
  items: RevocationItem[];
  /** the highest seq seen; pass it as `since` next time */
  last: number;
}

export interface MeterDirectory {
  /** undefined when the meter is not enrolled */
  meter(meterId: string): Promise<MeterRecord | undefined>;
  /** the meter id a pseudonym is certified to, undefined when none */
  pseudonymOwner(address: string): Promise<string | undefined>;
  /** revocations with seq > since */
  revokedSince(since: number): Promise<RevocationPage>;
}

/** In-memory directory: the default for tests and single-process setups. */
export interface MemoryDirectory extends MeterDirectory {
  enroll(meter: { meterId: string; publicKey: string; role?: Role }): MeterRecord;
  certify(meterId: string, address: string): void;
  revoke(meterId: string): RevocationItem;
  readonly size: number;
}

export function createMemoryDirectory(): MemoryDirectory {
  const meters = new Map<string, MeterRecord>();
  const owners = new Map<string, string>();
  const revocations: RevocationItem[] = [];

  return {
    async meter(meterId) {
      const m = meters.get(meterId);
      return m === undefined ? undefined : { ...m };
    },
    async pseudonymOwner(address) {
      return owners.get(address);
    },
    async revokedSince(since) {
      const items = revocations.filter((r) => r.seq > since).map((r) => ({ ...r, pseudonyms: [...r.pseudonyms] }));
      return { items, last: revocations.length === 0 ? since : Math.max(since, revocations[revocations.length - 1]!.seq) };
    },
    enroll({ meterId, publicKey, role = 'hem' }) {
      if (!/^[0-9a-f]{64}$/.test(publicKey)) throw new Error(`BAD_PUBLIC_KEY meterId=${meterId}`);
      if (meters.has(meterId)) throw new Error(`METER_EXISTS meterId=${meterId}`);
      const rec: MeterRecord = { meterId, publicKey, role, status: 'active' };
      meters.set(meterId, rec);
      return { ...rec };
    },
    certify(meterId, address) {
      const m = meters.get(meterId);
      if (!m) throw new Error(`UNKNOWN_METER meterId=${meterId}`);
      if (m.status !== 'active') throw new Error(`METER_REVOKED meterId=${meterId}`);
      owners.set(address, meterId);
    },
    revoke(meterId) {
      const m = meters.get(meterId);
      if (!m) throw new Error(`UNKNOWN_METER meterId=${meterId}`);
      m.status = 'revoked';
      const pseudonyms = [...owners].filter(([, owner]) => owner === meterId).map(([a]) => a);
      const item: RevocationItem = { seq: revocations.length + 1, meterId, pseudonyms };
      revocations.push(item);
      return { ...item, pseudonyms: [...pseudonyms] };
    },
    get size() {
      return meters.size;
    },
  };
}
