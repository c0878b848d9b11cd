/**
 * The registry's state and rules, over level (no HTTP here).
 *
 * Sublevels (all keys strings; values JSON unless noted):
 *   meta          revocationSeq, auditSeq                     → integer
 *   meters        meterId                                     → MeterRecord
 *   pubkeys       meter public key hex                        → meterId
 *   pseudonyms    pseudonym address                           → StoredPseudonym
 *   issuance      meterId!<issuedAt ms, 15 digits>!address    → '' (utf8)   certificates per meter
 *   nonces        meterId!nonce                               → request date, ms
 *   revocations   <seq, 15 digits>                            → RevocationItem
 *   audit         <seq, 15 digits>                            → AuditEntry (append-only)
 *   feeders       feeder                                      → SignedFeederLimit [FEEDER-1]
 *
 * Every change is one atomic batch, and changes run one at a time (a mutex), so the
 * checks before a write see the state the write applies to.
 */
import type { AbstractLevel, AbstractSublevel } from 'abstract-level';
import { createHash, createHmac, type KeyObject } from 'node:crypto';
import type { Certificate, Revocation, SignedFeederLimit } from '../schemas/types.js';
import { PublicKeyCache, publicKeyObject, type KeyPair } from '../wire/keys.js';
import { signCertificate, signRevocation } from './certificate.js';
import { nextIssuedAt, signFeederLimit } from './feederLimitRecord.js';
import { verifyCertificateRequest } from './certificateRequest.js';
import { RegistryError } from './registryError.js';
import {
  DEFAULT_PAGE, MAX_PAGE,
  type AuditAction, type AuditDetails, type AuditEntry, type AuditPage, type CertificateRequest, type EnrollRequest,
  type FeederLimits, type MeterPage, type MeterRecord, type PseudonymRecord, type RevocationItem, type RevocationPage,
} from './registrySchemas.js';

/** Any abstract-level database with string keys and values (classic-level, memory-level). */
export type RegistryDb = AbstractLevel<string | Buffer | Uint8Array, string, string>;

export interface CertRateLimit {
  /** most certificates per meter within windowMs */
  max: number;
  windowMs: number;
}

export const DEFAULT_CERT_VALIDITY_MS = 24 * 3600_000;
export const MAX_CERT_VALIDITY_MS = 30 * 24 * 3600_000;
export const DEFAULT_CERT_RATE_LIMIT: CertRateLimit = { max: 10, windowMs: 3600_000 };
export const DEFAULT_CERT_SKEW_MS = 120_000;
/** addresses per signed on-chain revocation (schema `revocationParams`) */
const CHAIN_REVOCATION_CHUNK = 1000;
const NONCE_PRUNE_EVERY_MS = 60_000;

export interface RegistryStoreOptions {
  db: RegistryDb;
  registryKey: KeyPair;
  /** ms since the epoch */
  now?: () => number;
  /** longest validity of a pseudonym certificate (default 1 day); it never crosses a period */
  certValidityMs?: number;
  /**
   * [SYBIL] certificate period, ms (default one UTC day); must equal the chain's genesis
   * certPeriodMs. A certificate lies within one period ⌊t / P⌋ and carries the meter's tag
   * for that period.
   */
  certPeriodMs?: number;
  /** per meter (default 10 per hour) */
  certRateLimit?: CertRateLimit;
  /** accepted |request date − now| (default 120 s) */
  certSkewMs?: number;
}

/** Who did an operator action, for the audit log. */
export interface Actor {
  actor: string;
  from?: string;
}

export interface RegistryStore {
  readonly registryAddress: string;
  meterCount(): number;
  lastRevocationSeq(): number;
  enroll(req: EnrollRequest, who: Actor): Promise<MeterRecord>;
  getMeter(meterId: string): Promise<MeterRecord | undefined>;
  getMeterByPublicKey(publicKeyHex: string): Promise<MeterRecord | undefined>;
  listMeters(o?: { limit?: number; after?: string }): Promise<MeterPage>;
  revoke(meterId: string, reason: string, who: Actor): Promise<MeterRecord>;
  revocationsSince(since: number, limit?: number): Promise<RevocationPage>;
  /** `req` must already be schema-valid. */
  issueCertificate(req: CertificateRequest): Promise<Certificate>;
  getPseudonym(address: string): Promise<PseudonymRecord | undefined>;
  /** addresses certified to the meter, in issuance order */
  pseudonymsOf(meterId: string): Promise<string[]>;
  /** [FEEDER-1] every feeder's limits, each signed by the registry key */
  listFeeders(): Promise<SignedFeederLimit[]>;
  getFeeder(feeder: string): Promise<SignedFeederLimit | undefined>;
  /** [FEEDER-1] stores and signs new limits, issuedAt = the registry clock, strictly after the feeder's previous record */
  setFeeder(feeder: string, limits: FeederLimits, who: Actor): Promise<SignedFeederLimit>;
  audit(o?: { after?: number; limit?: number }): Promise<AuditPage>;
}

type StoredPseudonym = Omit<PseudonymRecord, 'status'>;
type Sub<V> = AbstractSublevel<RegistryDb, string | Buffer | Uint8Array, string, V>;

const SEQ_DIGITS = 15;
const pad = (n: number): string => String(n).padStart(SEQ_DIGITS, '0');
/** '!' sorts before every character a meter id may hold, '"' right after it. */
const prefixRange = (meterId: string) => ({ gte: `${meterId}!`, lt: `${meterId}"` });

function createMutex(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

export const DEFAULT_CERT_PERIOD_MS = 86_400_000;

/**
 * [SYBIL] The meter's tag for a certificate period: HMAC-SHA256 under a key derived from the
 * registry's secret key, of (meter id ‖ 0x00 ‖ uint64be(period)). One per meter and period;
 * nobody without the registry's key can tell two periods' tags of one meter apart from any
 * other two.
 */
export function certificateTag(registryKey: KeyPair, meterId: string, period: number): string {
  const key = createHash('sha256').update('TMI/v1/cert-tag-key\0').update(registryKey.seed).digest();
  const p = Buffer.alloc(8);
  p.writeBigUInt64BE(BigInt(period));
  return createHmac('sha256', key).update(meterId, 'utf8').update(Buffer.from([0])).update(p).digest('hex');
}

/**
 * [SYBIL] Validity of a new certificate at time t: the rest of the current period, unless the
 * meter already holds a certificate of this period valid at t and the period ends within
 * P/8: then the whole next period (the HEM's rotation before the end of a period).
 */
export function certificateWindow(t: number, period: number, validity: number, holdsLive: boolean): { from: number; to: number; period: number } {
  const k = Math.floor(t / period);
  const end = (k + 1) * period;
  if (holdsLive && end - t < period / 8) return { from: end, to: Math.min(end + period, end + validity), period: k + 1 };
  return { from: t, to: Math.min(end, t + validity), period: k };
}

function checkOptions(o: RegistryStoreOptions): { validity: number; rate: CertRateLimit; skew: number; period: number } {
  const validity = o.certValidityMs ?? DEFAULT_CERT_VALIDITY_MS;
  if (!Number.isInteger(validity) || validity < 1000 || validity > MAX_CERT_VALIDITY_MS) {
    throw new Error(`BAD_OPTION certValidityMs=${validity} min=1000 max=${MAX_CERT_VALIDITY_MS}`);
  }
  const rate = o.certRateLimit ?? DEFAULT_CERT_RATE_LIMIT;
  if (!Number.isInteger(rate.max) || rate.max < 1 || !Number.isInteger(rate.windowMs) || rate.windowMs < 1) {
    throw new Error(`BAD_OPTION certRateLimit max=${rate.max} windowMs=${rate.windowMs}`);
  }
  const skew = o.certSkewMs ?? DEFAULT_CERT_SKEW_MS;
  if (!Number.isInteger(skew) || skew < 1000 || skew > 3600_000) throw new Error(`BAD_OPTION certSkewMs=${skew}`);
  const period = o.certPeriodMs ?? DEFAULT_CERT_PERIOD_MS;
  if (!Number.isInteger(period) || period < 60_000 || period > 7 * 86_400_000) throw new Error(`BAD_OPTION certPeriodMs=${period}`);
  return { validity, rate, skew, period };
}

export async function createRegistryStore(opts: RegistryStoreOptions): Promise<RegistryStore> {
  const { validity, rate, skew, period } = checkOptions(opts);
  const { db, registryKey } = opts;
  const now = opts.now ?? Date.now;
  const iso = (ms: number): string => new Date(ms).toISOString();
  await db.open();

  const json = { valueEncoding: 'json' } as const;
  const meta: Sub<number> = db.sublevel<string, number>('meta', json);
  const meters: Sub<MeterRecord> = db.sublevel<string, MeterRecord>('meters', json);
  const pubkeys: Sub<string> = db.sublevel<string, string>('pubkeys', { valueEncoding: 'utf8' });
  const pseudonyms: Sub<StoredPseudonym> = db.sublevel<string, StoredPseudonym>('pseudonyms', json);
  const issuance: Sub<string> = db.sublevel<string, string>('issuance', { valueEncoding: 'utf8' });
  const nonces: Sub<number> = db.sublevel<string, number>('nonces', json);
  const revocations: Sub<RevocationItem> = db.sublevel<string, RevocationItem>('revocations', json);
  const audits: Sub<AuditEntry> = db.sublevel<string, AuditEntry>('audit', json);
  const feeders: Sub<SignedFeederLimit> = db.sublevel<string, SignedFeederLimit>('feeders', json);

  // [FEEDER-1] limits stored before they were signed (no issuedAt): signed once, now
  const unsignedFeeders: SignedFeederLimit[] = [];
  for await (const v of feeders.values()) {
    if (typeof (v as Partial<SignedFeederLimit>).registrySignature !== 'string' || typeof (v as Partial<SignedFeederLimit>).issuedAt !== 'string') {
      unsignedFeeders.push(signFeederLimit({ feeder: v.feeder, maxExportWh: v.maxExportWh, maxImportWh: v.maxImportWh, issuedAt: iso(now()) }, registryKey));
    }
  }
  if (unsignedFeeders.length > 0) await feeders.batch(unsignedFeeders.map((v) => ({ type: 'put' as const, key: v.feeder, value: v })), { sync: true } as Record<string, unknown>);

  let revocationSeq = (await meta.get('revocationSeq')) ?? 0;
  let auditSeq = (await meta.get('auditSeq')) ?? 0;
  let meterCount = 0;
  for await (const _ of meters.keys()) meterCount++;
  let noncesPrunedAt = 0;

  const exclusive = createMutex();
  const meterKeys = new PublicKeyCache(10_000);
  /** durable writes on disk-backed levels; memory-level ignores the option */
  const writeOptions = { sync: true } as Record<string, unknown>;

  /** Queues an audit entry in `batch`; returns the new sequence number to commit after the write. */
  function auditInto(
    batch: ReturnType<RegistryDb['batch']>,
    who: Actor,
    action: AuditAction,
    target: string,
    details: AuditDetails,
    at: string,
  ): number {
    const seq = auditSeq + 1;
    const entry: AuditEntry = { seq, at, actor: who.actor, action, target, details };
    if (who.from !== undefined) entry.from = who.from.slice(0, 64);
    batch.put(pad(seq), entry, { sublevel: audits });
    batch.put('auditSeq', seq, { sublevel: meta });
    return seq;
  }

  async function getMeter(meterId: string): Promise<MeterRecord | undefined> {
    return meters.get(meterId);
  }

  async function pseudonymsOf(meterId: string): Promise<string[]> {
    const out: string[] = [];
    const seen = new Set<string>();
    for await (const k of issuance.keys(prefixRange(meterId))) {
      const address = k.slice(k.lastIndexOf('!') + 1);
      if (!seen.has(address)) {
        seen.add(address);
        out.push(address);
      }
    }
    return out;
  }

  async function enroll(req: EnrollRequest, who: Actor): Promise<MeterRecord> {
    try {
      publicKeyObject(Buffer.from(req.publicKey, 'hex'));
    } catch (err) {
      throw new RegistryError('BAD_PUBLIC_KEY', { publicKey: req.publicKey, reason: (err as Error).message });
    }
    return exclusive(async () => {
      if ((await meters.get(req.meterId)) !== undefined) throw new RegistryError('ALREADY_ENROLLED', { meterId: req.meterId });
      const holder = await pubkeys.get(req.publicKey);
      if (holder !== undefined) throw new RegistryError('DUPLICATE_PUBLIC_KEY', { publicKey: req.publicKey, meterId: holder });
      if (req.publicKey === registryKey.address || (await pseudonyms.get(req.publicKey)) !== undefined) {
        // a meter key must never be a pseudonym (or the registry's key): that would link them
        throw new RegistryError('DUPLICATE_PUBLIC_KEY', { publicKey: req.publicKey, reason: 'in use as a pseudonym or registry key' });
      }
      const at = iso(now());
      const meter: MeterRecord = {
        meterId: req.meterId,
        serial: req.serial,
        meterType: req.meterType,
        publicKey: req.publicKey,
        feeder: req.feeder,
        programme: req.programme,
        role: req.role ?? 'hem',
        status: 'active',
        enrolledAt: at,
      };
      const batch = db.batch();
      batch.put(meter.meterId, meter, { sublevel: meters });
      batch.put(meter.publicKey, meter.meterId, { sublevel: pubkeys });
      const { serial, meterType, publicKey, feeder, programme, role } = meter;
      const nextAudit = auditInto(batch, who, 'enroll', meter.meterId, { serial, meterType, publicKey, feeder, programme, role }, at);
      await batch.write(writeOptions);
      auditSeq = nextAudit;
      meterCount++;
      return meter;
    });
  }

  async function listMeters(o: { limit?: number; after?: string } = {}): Promise<MeterPage> {
    const limit = clampPage(o.limit);
    const range = o.after !== undefined ? { gt: o.after, limit: limit + 1 } : { limit: limit + 1 };
    const items = await meters.values(range).all();
    if (items.length > limit) {
      items.length = limit;
      const last = items[limit - 1];
      return last ? { items, next: last.meterId } : { items };
    }
    return { items };
  }

  async function revoke(meterId: string, reason: string, who: Actor): Promise<MeterRecord> {
    return exclusive(async () => {
      const meter = await meters.get(meterId);
      if (meter === undefined) throw new RegistryError('NOT_FOUND', { meterId });
      if (meter.status === 'revoked') throw new RegistryError('ALREADY_REVOKED', { meterId, revokedAt: meter.revokedAt });
      const t = now();
      const at = iso(t);
      const addresses = await pseudonymsOf(meterId);
      const records = addresses.length > 0 ? await pseudonyms.getMany(addresses) : [];
      // [REG-revoke] pseudonyms still valid at revocation go on chain, signed by the registry
      const live = addresses.filter((_, i) => {
        const r = records[i];
        return r !== undefined && Date.parse(r.validTo) > t;
      });
      const chainRevocations: Revocation[] = [];
      for (let i = 0; i < live.length; i += CHAIN_REVOCATION_CHUNK) {
        chainRevocations.push(signRevocation({ addresses: live.slice(i, i + CHAIN_REVOCATION_CHUNK), reason, revokedAt: at }, registryKey));
      }
      const seq = revocationSeq + 1;
      const item: RevocationItem = { seq, meterId, revokedAt: at, reason, pseudonyms: addresses, chainRevocations };
      const updated: MeterRecord = { ...meter, status: 'revoked', revokedAt: at, revokedReason: reason };
      const batch = db.batch();
      batch.put(meterId, updated, { sublevel: meters });
      batch.put(pad(seq), item, { sublevel: revocations });
      batch.put('revocationSeq', seq, { sublevel: meta });
      const nextAudit = auditInto(batch, who, 'revoke', meterId, { reason, pseudonyms: addresses.length }, at);
      await batch.write(writeOptions);
      revocationSeq = seq;
      auditSeq = nextAudit;
      return updated;
    });
  }

  async function revocationsSince(since: number, limit?: number): Promise<RevocationPage> {
    const n = clampPage(limit);
    const items = await revocations.values({ gt: pad(since), limit: n + 1 }).all();
    const more = items.length > n;
    if (more) items.length = n;
    const last = items.at(-1)?.seq ?? since;
    return { items, last, more };
  }

  async function pruneNonces(t: number): Promise<void> {
    if (t - noncesPrunedAt < NONCE_PRUNE_EVERY_MS) return;
    noncesPrunedAt = t;
    const stale: string[] = [];
    // a nonce only needs remembering while its request date is still acceptable
    for await (const [k, date] of nonces.iterator()) if (date < t - skew - 1000) stale.push(k);
    if (stale.length > 0) await nonces.batch(stale.map((key) => ({ type: 'del' as const, key })));
  }

  function meterKey(meter: MeterRecord): KeyObject {
    return meterKeys.get(meter.publicKey);
  }

  async function issueCertificate(req: CertificateRequest): Promise<Certificate> {
    const t = now();
    const date = Date.parse(req.date);
    // [REG-cert-1] request date within ±skew of the registry clock
    if (!Number.isFinite(date) || Math.abs(date - t) > skew) {
      throw new RegistryError('STALE_DATE', { date: req.date, now: iso(t), skewMs: skew });
    }
    const known = await meters.get(req.meterId);
    if (known === undefined) throw new RegistryError('UNKNOWN_METER', { meterId: req.meterId });
    // [REG-cert-2] signed by the enrolled meter key
    if (!verifyCertificateRequest(req, meterKey(known))) throw new RegistryError('BAD_SIGNATURE', { meterId: req.meterId });

    return exclusive(async () => {
      const t2 = now();
      await pruneNonces(t2);
      // [REG-cert-3] a nonce is used once per meter; a signed request is consumed even if refused below
      const nonceKey = `${req.meterId}!${req.nonce}`;
      if ((await nonces.get(nonceKey)) !== undefined) throw new RegistryError('NONCE_REUSED', { meterId: req.meterId, nonce: req.nonce });
      await nonces.put(nonceKey, date);

      // [REG-cert-4] meter active (re-read under the lock: a revocation may have just landed)
      const meter = await meters.get(req.meterId);
      if (meter === undefined) throw new RegistryError('UNKNOWN_METER', { meterId: req.meterId });
      if (meter.status !== 'active') throw new RegistryError('REVOKED', { meterId: req.meterId, revokedAt: meter.revokedAt });

      // [REG-cert-5] a pseudonym is never a meter key, and belongs to one meter only
      if (req.address === registryKey.address || (await pubkeys.get(req.address)) !== undefined) {
        throw new RegistryError('ADDRESS_IS_METER_KEY', { address: req.address });
      }
      const existing = await pseudonyms.get(req.address);
      if (existing !== undefined && existing.meterId !== req.meterId) throw new RegistryError('ADDRESS_TAKEN', { address: req.address });

      // [REG-cert-6] at most rate.max certificates per meter per rate.windowMs
      const { gte, lt } = prefixRange(req.meterId);
      const recent = await issuance.keys({ gte: `${gte}${pad(Math.max(0, t2 - rate.windowMs + 1))}`, lt, limit: rate.max }).all();
      if (recent.length >= rate.max) {
        const oldest = Number(recent[0]!.slice(gte.length, gte.length + SEQ_DIGITS));
        const retryAfterS = Math.max(1, Math.ceil((oldest + rate.windowMs - t2) / 1000));
        throw new RegistryError('RATE_LIMITED', { meterId: req.meterId, max: rate.max, windowMs: rate.windowMs }, retryAfterS);
      }

      // [REG-cert-7] [SYBIL] within one period (see certificateWindow); the meter's tag of that
      // period; feeder and programme from the enrolment
      const latest = await issuance.keys({ gte, lt, reverse: true, limit: 1 }).all();
      const prevAddress = latest[0]?.slice(latest[0].lastIndexOf('!') + 1);
      const prev = prevAddress !== undefined ? await pseudonyms.get(prevAddress) : undefined;
      const holdsLive = prev !== undefined && Date.parse(prev.validFrom) <= t2 && t2 < Date.parse(prev.validTo) && Math.floor(Date.parse(prev.validFrom) / period) === Math.floor(t2 / period);
      const w = certificateWindow(t2, period, validity, holdsLive);
      const validFrom = iso(w.from);
      const cert = signCertificate(
        { address: req.address, validFrom, validTo: iso(w.to), feeder: meter.feeder, programme: meter.programme, tag: certificateTag(registryKey, meter.meterId, w.period) },
        registryKey,
      );
      const stored: StoredPseudonym = {
        address: cert.address,
        meterId: meter.meterId,
        validFrom: cert.validFrom,
        validTo: cert.validTo,
        feeder: cert.feeder,
        programme: cert.programme,
        issuedAt: validFrom,
      };
      const batch = db.batch();
      batch.put(cert.address, stored, { sublevel: pseudonyms });
      batch.put(`${gte}${pad(t2)}!${cert.address}`, '', { sublevel: issuance });
      await batch.write(writeOptions);
      return cert;
    });
  }

  async function getPseudonym(address: string): Promise<PseudonymRecord | undefined> {
    const p = await pseudonyms.get(address);
    if (p === undefined) return undefined;
    const meter = await meters.get(p.meterId);
    return { ...p, status: meter?.status ?? 'revoked' };
  }

  async function getMeterByPublicKey(publicKeyHex: string): Promise<MeterRecord | undefined> {
    const id = await pubkeys.get(publicKeyHex);
    return id === undefined ? undefined : meters.get(id);
  }

  async function listFeeders(): Promise<SignedFeederLimit[]> {
    return feeders.values({ limit: 100_000 }).all();
  }

  async function setFeeder(feeder: string, limits: FeederLimits, who: Actor): Promise<SignedFeederLimit> {
    return exclusive(async () => {
      const previous = await feeders.get(feeder);
      // [FEEDER-1] issuedAt strictly increases per feeder, so the chain can refuse an older record
      const value = signFeederLimit({ feeder, maxExportWh: limits.maxExportWh, maxImportWh: limits.maxImportWh, issuedAt: nextIssuedAt(now(), previous?.issuedAt) }, registryKey);
      const details: AuditDetails = { maxExportWh: value.maxExportWh, maxImportWh: value.maxImportWh };
      if (previous) {
        details.previousExportWh = previous.maxExportWh;
        details.previousImportWh = previous.maxImportWh;
      }
      const batch = db.batch();
      batch.put(feeder, value, { sublevel: feeders });
      const nextAudit = auditInto(batch, who, 'feeder-set', feeder, details, iso(now()));
      await batch.write(writeOptions);
      auditSeq = nextAudit;
      return value;
    });
  }

  async function audit(o: { after?: number; limit?: number } = {}): Promise<AuditPage> {
    const n = clampPage(o.limit);
    const items = await audits.values({ gt: pad(o.after ?? 0), limit: n + 1 }).all();
    if (items.length > n) {
      items.length = n;
      return { items, next: items[n - 1]!.seq };
    }
    return { items };
  }

  return {
    registryAddress: registryKey.address,
    meterCount: () => meterCount,
    lastRevocationSeq: () => revocationSeq,
    enroll,
    getMeter,
    getMeterByPublicKey,
    listMeters,
    revoke,
    revocationsSince,
    issueCertificate,
    getPseudonym,
    pseudonymsOf,
    listFeeders,
    getFeeder: (feeder) => feeders.get(feeder),
    setFeeder,
    audit,
  };
}

function clampPage(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE;
  return Math.min(MAX_PAGE, Math.max(1, Math.floor(limit)));
}
