/**
 * A cache in front of a MeterDirectory: TTL for answers, a shorter TTL for "not
 * found" (negative caching), a bound on entries (oldest evicted first), one request
 * in flight per key, and synchronous peeks for the hot path (the codec's resolveKey
 * is synchronous). Errors of the directory (registry down) are never cached.
 *
 * [DIR-SWR] A known pseudonym owner past its TTL is still served, for at most `staleMs`
 * more, while one background request refreshes it. Without this, every expiry makes the
 * next burst of bids or readings (1,000 HEMs answer an auction within a second; all
 * meter at the same interval end) wait on 1,000 registry requests at once, which time
 * out and are refused DIRECTORY_UNAVAILABLE. Revocations do not depend on the TTL: the
 * revocation feed (markRevoked) refuses a revoked pseudonym at once, stale or not.
 * [DIR-SIE] Stale-if-error for meters (logins): when the registry does not answer, a meter
 * record past its TTL by less than `staleMs` is used, unless the feed revoked it.
 */
import type { KeyObject } from 'node:crypto';
import { publicKeyObject } from '../wire/keys.js';
import type { MeterDirectory, MeterRecord, RevocationItem, RevocationPage } from './meterDirectory.js';

export interface CachedMeter extends MeterRecord {
  /** node:crypto key built once from publicKey */
  key: KeyObject;
}

export interface DirectoryCacheOptions {
  /** lifetime of a positive answer, ms (default 30 s) */
  ttlMs?: number;
  /** lifetime of a "not found" answer, ms (default 5 s) */
  negativeTtlMs?: number;
  /** [DIR-SWR] how long past its TTL a known pseudonym owner is still served while it is refreshed, ms (default 1 h; 0 = never) */
  staleMs?: number;
  /** entries per table (default 100,000) */
  maxEntries?: number;
  now?: () => number;
}

interface Entry<V> {
  value: V | null;
  expires: number;
}

/** Map with expiry and a size bound; evicts the oldest insertion first. */
export class TtlMap<V> {
  private readonly map = new Map<string, Entry<V>>();
  constructor(private readonly maxEntries: number) {}

  /** the entry as stored, expired or not */
  entry(key: string): Readonly<Entry<V>> | undefined {
    return this.map.get(key);
  }

  /** undefined = unknown or expired; null = known absent; else the value */
  get(key: string, now: number): V | null | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= now) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V | null, expires: number): void {
    if (this.map.has(key)) this.map.delete(key);
    else if (this.map.size >= this.maxEntries) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    this.map.set(key, { value, expires });
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}

export class DirectoryCache implements MeterDirectory {
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly staleMs: number;
  private readonly now: () => number;
  private readonly meters: TtlMap<CachedMeter>;
  private readonly owners: TtlMap<string>;
  private readonly inflightMeters = new Map<string, Promise<CachedMeter | undefined>>();
  private readonly inflightOwners = new Map<string, Promise<string | undefined>>();
  /** revoked meters and pseudonyms learnt from the revocation feed; never forgotten */
  private readonly revokedMeters = new Set<string>();
  private readonly revokedPseudonyms = new Set<string>();
  readonly stats = { hits: 0, misses: 0, errors: 0, stale: 0 };

  constructor(private readonly directory: MeterDirectory, opts: DirectoryCacheOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.negativeTtlMs = opts.negativeTtlMs ?? 5_000;
    this.staleMs = opts.staleMs ?? 3_600_000;
    this.now = opts.now ?? Date.now;
    const max = opts.maxEntries ?? 100_000;
    this.meters = new TtlMap(max);
    this.owners = new TtlMap(max);
  }

  /** Synchronous look-up: undefined = not cached, null = cached as not enrolled. */
  peekMeter(meterId: string): CachedMeter | null | undefined {
    const v = this.meters.get(meterId, this.now());
    if (v !== undefined) this.stats.hits++;
    return v;
  }

  async meter(meterId: string): Promise<CachedMeter | undefined> {
    const known = this.meters.entry(meterId); // before the peek drops it as expired
    const cached = this.peekMeter(meterId);
    if (cached !== undefined) return cached ?? undefined;
    this.stats.misses++;
    let p = this.inflightMeters.get(meterId);
    if (p === undefined) {
      p = this.fetchMeter(meterId).finally(() => this.inflightMeters.delete(meterId));
      this.inflightMeters.set(meterId, p);
    }
    try {
      return await p;
    } catch (err) {
      // [DIR-SIE] the registry did not answer: a meter known within staleMs (and not revoked
      // by the feed) is served as it was, so a busy registry does not lock out a login
      const now = this.now();
      if (known?.value && !this.revokedMeters.has(meterId) && known.value.status !== 'revoked' && now < known.expires + this.staleMs) {
        this.stats.stale++;
        this.meters.set(meterId, known.value, known.expires); // kept for the next failure
        return known.value;
      }
      throw err;
    }
  }

  private async fetchMeter(meterId: string): Promise<CachedMeter | undefined> {
    let rec: MeterRecord | undefined;
    try {
      rec = await this.directory.meter(meterId);
    } catch (err) {
      this.stats.errors++;
      throw err;
    }
    const now = this.now();
    if (rec === undefined) {
      this.meters.set(meterId, null, now + this.negativeTtlMs);
      return undefined;
    }
    const status = this.revokedMeters.has(rec.meterId) ? 'revoked' : rec.status;
    const m: CachedMeter = { ...rec, status, key: publicKeyObject(Buffer.from(rec.publicKey, 'hex')) };
    this.meters.set(meterId, m, now + this.ttlMs);
    return m;
  }

  /** Synchronous look-up: undefined = not cached, null = cached as no owner. */
  peekOwner(address: string): string | null | undefined {
    if (this.revokedPseudonyms.has(address)) return null;
    const now = this.now();
    const e = this.owners.entry(address);
    if (e !== undefined && e.expires <= now && e.value !== null && now < e.expires + this.staleMs) {
      // [DIR-SWR] serve the known owner; one request refreshes it in the background
      this.stats.stale++;
      this.ownerRequest(address).catch(() => undefined); // counted in stats.errors; the stale entry stays
      return e.value;
    }
    const v = this.owners.get(address, now);
    if (v !== undefined) this.stats.hits++;
    return v;
  }

  async pseudonymOwner(address: string): Promise<string | undefined> {
    const cached = this.peekOwner(address);
    if (cached !== undefined) return cached ?? undefined;
    this.stats.misses++;
    return this.ownerRequest(address);
  }

  /** the one request in flight for `address` */
  private ownerRequest(address: string): Promise<string | undefined> {
    let p = this.inflightOwners.get(address);
    if (p === undefined) {
      p = this.fetchOwner(address).finally(() => this.inflightOwners.delete(address));
      this.inflightOwners.set(address, p);
    }
    return p;
  }

  private async fetchOwner(address: string): Promise<string | undefined> {
    let owner: string | undefined;
    try {
      owner = await this.directory.pseudonymOwner(address);
    } catch (err) {
      this.stats.errors++;
      throw err;
    }
    if (owner !== undefined && this.revokedMeters.has(owner)) owner = undefined;
    const now = this.now();
    this.owners.set(address, owner ?? null, now + (owner === undefined ? this.negativeTtlMs : this.ttlMs));
    return owner;
  }

  revokedSince(since: number): Promise<RevocationPage> {
    return this.directory.revokedSince(since);
  }

  /** Applies one revocation from the feed: the meter and its pseudonyms are refused from now on. */
  markRevoked(item: RevocationItem): void {
    this.revokedMeters.add(item.meterId);
    const m = this.meters.get(item.meterId, this.now());
    if (m) m.status = 'revoked';
    for (const a of item.pseudonyms) {
      this.revokedPseudonyms.add(a);
      this.owners.delete(a);
    }
  }

  isRevoked(meterId: string): boolean {
    return this.revokedMeters.has(meterId);
  }

  get size(): { meters: number; owners: number } {
    return { meters: this.meters.size, owners: this.owners.size };
  }
}
