/**
 * Pseudonym keys and certificates (DESIGN §4).
 *
 * [HEM-P1] The HEM makes a fresh pseudonym key, writes it to
 *          <dataDir>/pseudonyms/<address>.json (mode 0600) and records it in the store
 *          BEFORE asking the registry (POST /v1/certificates, signed by the meter key), so a
 *          crash or a registry outage never loses a key that may already be certified; the
 *          same key is asked for again until a certificate comes.
 * [HEM-P2] Rotation is due when the current pseudonym is older than `rotationMs`
 *          (default one day) or within `marginMs` of its certificate's validTo
 *          (default min(1 h, 10 % of its validity), at least two metering intervals). Until the new certificate arrives the
 *          old one keeps signing while it is valid.
 * [HEM-P3] Seq numbers are per pseudonym and start at 0: a continuing counter would link
 *          pseudonyms of one home.
 * [HEM-P5] A reading is signed by a pseudonym whose certificate covers its whole interval.
 * [HEM-P4] Old pseudonym keys are kept while the outbox holds messages they signed and
 *          while their awards may still settle (validTo + `keepMs`, default 2 days).
 * [HEM-P6] [SYBIL] Near the end of a certificate period the registry certifies the new key
 *          for the next period (validFrom in the future): that key is the successor, no
 *          further key is asked for, and the old one signs until the successor is valid.
 *          A bid is signed by a pseudonym whose certificate covers the delivery interval
 *          (the chain counts one bid per meter and auction, by the certificate's tag).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Certificate } from '../schemas/types.js';
import { generateKeyPair, type KeyPair } from '../wire/keys.js';
import { readKeyFile, writeKeyFile } from '../wire/keyFile.js';
import type { HemStore, StoreWrite } from './hemStore.js';

export interface CertificateIssuer {
  requestCertificate(meterKey: KeyPair, meterId: string, pseudonymAddress: string): Promise<Certificate>;
}

/** What the store keeps per pseudonym (key p:<address>). */
export interface PseudonymRecord {
  readonly address: string;
  readonly createdAtMs: number;
  readonly nextSeq: number;
  readonly cert?: Certificate;
}

export interface Pseudonym {
  readonly key: KeyPair;
  readonly record: PseudonymRecord;
}

export interface RotationPolicy {
  rotationMs: number;
  marginMs?: number;
  /** at least this much before validTo (2 metering intervals: the old certificate must cover the interval of the switch) */
  minMarginMs?: number;
}

function marginFor(cert: Certificate, p: RotationPolicy): number {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return Math.max(p.minMarginMs ?? 0, p.marginMs ?? Math.min(3_600_000, Math.max(0, (to - from) / 10)));
}

/** [HEM-P2] Is a new pseudonym due at `now`? Pure. */
export function rotationDue(rec: PseudonymRecord | undefined, now: number, p: RotationPolicy): boolean {
  if (!rec?.cert) return false; // a pending one is asked for again, not replaced
  if (now - rec.createdAtMs >= p.rotationMs) return true;
  return now >= Date.parse(rec.cert.validTo) - marginFor(rec.cert, p);
}

/** Is the certificate valid at `now`? */
export function certValidAt(cert: Certificate | undefined, now: number): boolean {
  return cert !== undefined && now >= Date.parse(cert.validFrom) && now < Date.parse(cert.validTo);
}

export const pseudonymKey = (address: string): string => `p:${address}`;

export interface PseudonymBookOptions {
  dir: string;
  store: HemStore;
  meterKey: KeyPair;
  meterId: string;
  issuer: CertificateIssuer;
  policy: RotationPolicy;
  now?: () => number;
  keepMs?: number;
  log?: Logger;
  /** called with each new certificate, in the same commit that records it (e.g. to enqueue its chain tx) */
  onCertified?: (p: Pseudonym) => { writes?: StoreWrite[]; enqueue?: Parameters<HemStore['commit']>[1] };
}

export class PseudonymBook {
  private readonly byAddress = new Map<string, Pseudonym>();
  private currentAddress: string | undefined;
  private pendingAddress: string | undefined;
  private readonly now: () => number;

  private constructor(private readonly o: PseudonymBookOptions) {
    this.now = o.now ?? Date.now;
  }

  static async load(o: PseudonymBookOptions): Promise<PseudonymBook> {
    const b = new PseudonymBook(o);
    for (const { value } of await o.store.list<PseudonymRecord>('p:')) {
      try {
        const key = await readKeyFile(b.keyPath(value.address));
        if (key.address !== value.address) throw new Error('address mismatch');
        b.byAddress.set(value.address, { key, record: value });
      } catch (err) {
        o.log?.error({ event: 'pseudonym-key-missing', address: value.address, err: (err as Error).message }, 'pseudonym key unreadable; forgotten');
      }
    }
    b.currentAddress = (await o.store.get<string>('s:pseudonym')) ?? undefined;
    b.pendingAddress = (await o.store.get<string>('s:pendingPseudonym')) ?? undefined;
    if (b.currentAddress && !b.byAddress.has(b.currentAddress)) b.currentAddress = undefined;
    if (b.pendingAddress && !b.byAddress.has(b.pendingAddress)) b.pendingAddress = undefined;
    return b;
  }

  keyPath(address: string): string {
    return join(this.o.dir, `${address}.json`);
  }

  get(address: string): Pseudonym | undefined {
    return this.byAddress.get(address);
  }

  has(address: string): boolean {
    return this.byAddress.has(address);
  }

  /** The certified pseudonym valid now, if any: the current one, or [HEM-P6] the newest valid now while a successor waits for its period. */
  current(): Pseudonym | undefined {
    const now = this.now();
    const p = this.currentAddress ? this.byAddress.get(this.currentAddress) : undefined;
    if (p && certValidAt(p.record.cert, now)) return p;
    let best: Pseudonym | undefined;
    for (const q of this.byAddress.values()) {
      const c = q.record.cert;
      if (c && certValidAt(c, now) && (!best || Date.parse(c.validFrom) > Date.parse(best.record.cert!.validFrom))) best = q;
    }
    return best;
  }

  /**
   * [HEM-P5] Who signs the reading of interval i: a pseudonym whose certificate covers the
   * whole interval (validFrom ≤ start, end ≤ validTo; the chain rejects anything else,
   * CERT_NOT_VALID), the newest if several. None: the reading cannot be accepted and is
   * not made (e.g. the first, partial interval before the first certificate).
   */
  signerFor(i: { startMs: number; endMs: number }): Pseudonym | undefined {
    let best: Pseudonym | undefined;
    for (const p of this.byAddress.values()) {
      const c = p.record.cert;
      if (!c) continue;
      const from = Date.parse(c.validFrom);
      if (from <= i.startMs && i.endMs <= Date.parse(c.validTo) && (!best || from > Date.parse(best.record.cert?.validFrom ?? ''))) best = p;
    }
    return best;
  }

  /**
   * Takes the next seq of `address` (memory moves at once; the returned write must be
   * committed with the reading). Every write of a p: record carries the whole record as
   * memory holds it, and batches apply in call order, so the store never goes back.
   */
  advanceSeq(address: string): { seq: number; write: StoreWrite } {
    const p = this.byAddress.get(address);
    if (!p) throw new Error(`NO_PSEUDONYM address=${address}`);
    const seq = p.record.nextSeq;
    const record = { ...p.record, nextSeq: seq + 1 };
    this.byAddress.set(address, { key: p.key, record });
    return { seq, write: { type: 'put', key: pseudonymKey(address), value: record } };
  }

  /**
   * Makes sure a certified pseudonym exists and rotation is not overdue. Makes a new key
   * when due (or when none), then asks the registry. Throws the issuer's error when the
   * registry cannot certify now (the pending key stays and is asked for next time).
   */
  async ensure(): Promise<Pseudonym> {
    const now = this.now();
    const cur = this.currentAddress ? this.byAddress.get(this.currentAddress) : undefined;
    // [HEM-P6] a successor certified for the next period is not replaced before it starts
    const successor = cur?.record.cert !== undefined && Date.parse(cur.record.cert.validFrom) > now;
    const needNew = !cur?.record.cert || (!successor && (rotationDue(cur.record, now, this.o.policy) || !certValidAt(cur.record.cert, now)));
    if (!needNew && cur) return cur;
    let pending = this.pendingAddress ? this.byAddress.get(this.pendingAddress) : undefined;
    if (!pending) pending = await this.makeKey();
    const cert = await this.o.issuer.requestCertificate(this.o.meterKey, this.o.meterId, pending.key.address);
    // re-read: a reading may have advanced this pseudonym's seq while we waited
    const latest = this.byAddress.get(pending.key.address)?.record ?? pending.record;
    const record: PseudonymRecord = { ...latest, cert };
    const p: Pseudonym = { key: pending.key, record };
    this.byAddress.set(p.key.address, p);
    this.currentAddress = p.key.address;
    this.pendingAddress = undefined;
    const extra = this.o.onCertified?.(p) ?? {};
    await this.o.store.commit(
      [
        { type: 'put', key: pseudonymKey(p.key.address), value: record },
        { type: 'put', key: 's:pseudonym', value: p.key.address },
        { type: 'del', key: 's:pendingPseudonym' },
        ...(extra.writes ?? []),
      ],
      extra.enqueue ?? [],
    );
    this.o.log?.info(
      { event: 'pseudonym-certified', address: p.key.address, validFrom: cert.validFrom, validTo: cert.validTo, feeder: cert.feeder },
      'new pseudonym certified',
    );
    return p;
  }

  /** Makes a pending key when there is no pseudonym at all (no network), so readings can be signed from the first interval. */
  async prepare(): Promise<void> {
    if (!this.currentAddress && !this.pendingAddress) await this.makeKey();
  }

  /** When the next rotation is due (ms since the epoch), for scheduling. */
  nextRotationAt(): number | undefined {
    const cur = this.currentAddress ? this.byAddress.get(this.currentAddress) : undefined;
    const cert = cur?.record.cert;
    if (!cur || !cert) return undefined;
    return Math.min(cur.record.createdAtMs + this.o.policy.rotationMs, Date.parse(cert.validTo) - marginFor(cert, this.o.policy));
  }

  /** [HEM-P4] Forgets pseudonyms that expired long ago and sign nothing in the outbox. */
  async prune(): Promise<number> {
    const keep = this.o.keepMs ?? 2 * 86_400_000;
    const now = this.now();
    const inUse = new Set(this.o.store.queue().map((q) => q.entry.signer));
    let n = 0;
    for (const [address, p] of this.byAddress) {
      if (address === this.currentAddress || address === this.pendingAddress || inUse.has(address)) continue;
      const to = p.record.cert ? Date.parse(p.record.cert.validTo) : p.record.createdAtMs;
      if (now < to + keep) continue;
      await this.o.store.commit([{ type: 'del', key: pseudonymKey(address) }]);
      await rm(this.keyPath(address), { force: true });
      this.byAddress.delete(address);
      n++;
    }
    return n;
  }

  addresses(): string[] {
    return [...this.byAddress.keys()];
  }

  private async makeKey(): Promise<Pseudonym> {
    const key = generateKeyPair();
    await writeKeyFile(this.keyPath(key.address), key, 'tmi pseudonym');
    const record: PseudonymRecord = { address: key.address, createdAtMs: this.now(), nextSeq: 0 };
    await this.o.store.commit([
      { type: 'put', key: pseudonymKey(key.address), value: record },
      { type: 'put', key: 's:pendingPseudonym', value: key.address },
    ]);
    const p = { key, record };
    this.byAddress.set(key.address, p);
    this.pendingAddress = key.address;
    this.o.log?.info({ event: 'pseudonym-created', address: key.address }, 'new pseudonym key');
    return p;
  }
}
