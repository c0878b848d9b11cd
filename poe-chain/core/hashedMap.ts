/**
 * HashedMap: an immutable string-keyed map with a cached, canonical root hash, and
 * MapDraft, its copy-on-write editor. The chain state is a handful of these.
 *
 * Layout (this defines the state root, see README "State root"):
 *   bucket(key)  = FNV-1a-32(UTF-16 code units of key) mod 4096
 *   entryDigest  = SHA-256(canonical JSON of [key, value])
 *   bucketDigest = SHA-256(entryDigest ‖ entryDigest ‖ … over the bucket's entries
 *                  sorted by key (UTF-16 code units)); SHA-256("") when empty
 *   root         = SHA-256(bucketDigest_0 ‖ … ‖ bucketDigest_4095)
 *
 * Editing copies only the buckets it touches, once per draft, and a new map shares
 * every untouched bucket (and its cached digest) with the old one, so a block that
 * touches k entries costs O(k + size of the touched buckets) to commit and re-hash,
 * not O(state). Values must be treated as immutable: replace, never mutate.
 *
 * 4,096 buckets, not 256: a block of a few hundred readings touched three quarters of 256
 * buckets, so each block copied and re-hashed most of the readings section, and the node's
 * last 32 states (kept for fork choice) held ~24 copies of it (`npm run soak`: chain node
 * RSS 186 → 1,370 MB over a compressed day of 10,000 homes). With 4,096 a block touches
 * about a tenth of them.
 */
import { createHash } from 'node:crypto';
import { canonicalize } from '../../wire/canonicalJson.js';

/**
 * Digests are memoised as 32-character latin1 strings, not Buffers: a Buffer per entry is a
 * separate ArrayBuffer with its own native allocation (~300 bytes in all for 32 bytes of
 * digest), and a state of a few hundred thousand entries held hundreds of MB of them
 * (`npm run soak`, heap snapshots of the chain node). The bytes hashed are the same.
 */
type Digest = string;
const sha256Latin1 = (data: string): Digest => createHash('sha256').update(data, 'utf8').digest('binary');
const EMPTY_DIGEST: Digest = createHash('sha256').digest('binary');

export const BUCKETS = 4096;

/** FNV-1a 32-bit over UTF-16 code units, mod BUCKETS. */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & (BUCKETS - 1);
}

interface Entry<V> {
  readonly value: V;
  /** memo of entryDigest; deterministic, so sharing it between maps is safe */
  digest: Digest | undefined;
}

class Bucket<V> {
  digest: Digest | undefined;
  constructor(readonly entries: Map<string, Entry<V>>) {}

  computeDigest(): Digest {
    if (this.digest !== undefined) return this.digest;
    if (this.entries.size === 0) return (this.digest = EMPTY_DIGEST);
    const keys = [...this.entries.keys()].sort();
    // one hash over the concatenated digests: the same bytes as an update per entry, without
    // a call into the hash per entry (a block re-hashes a few thousand buckets)
    let cat = '';
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const e = this.entries.get(k)!;
      if (e.digest === undefined) e.digest = sha256Latin1(canonicalize([k, e.value]));
      cat += e.digest;
    }
    return (this.digest = createHash('sha256').update(cat, 'latin1').digest('binary'));
  }
}

const EMPTY_BUCKET = new Bucket<never>(new Map());
EMPTY_BUCKET.digest = EMPTY_DIGEST;

export class HashedMap<V> {
  private rootMemo: Buffer | undefined;
  /**
   * The 4,096 bucket digests, concatenated (128 KiB): what the root hashes. Kept, so that a
   * map made from this one by a draft copies it and rewrites only the buckets it changed.
   */
  private digestCat: Buffer | undefined;
  /** until this map's root is computed: its parent's digestCat and the buckets that differ from it */
  private derivedFrom: { cat: Buffer; changed: Uint8Array } | undefined;

  private constructor(
    /** @internal */ readonly buckets: readonly Bucket<V>[],
    readonly size: number,
  ) {}

  static empty<V>(): HashedMap<V> {
    return new HashedMap<V>(new Array(BUCKETS).fill(EMPTY_BUCKET) as Bucket<V>[], 0);
  }

  static fromEntries<V>(entries: Iterable<readonly [string, V]>): HashedMap<V> {
    const d = HashedMap.empty<V>().draft();
    for (const [k, v] of entries) d.set(k, v);
    return d.finish();
  }

  /** @internal */
  static fromBuckets<V>(buckets: Bucket<V>[], size: number, derivedFrom?: { cat: Buffer; changed: Uint8Array }): HashedMap<V> {
    const m = new HashedMap(buckets, size);
    m.derivedFrom = derivedFrom;
    return m;
  }

  /** @internal the concatenated bucket digests, once the root has been computed */
  get rootedDigests(): Buffer | undefined {
    return this.digestCat;
  }

  get(key: string): V | undefined {
    return this.buckets[bucketOf(key)]!.entries.get(key)?.value;
  }

  has(key: string): boolean {
    return this.buckets[bucketOf(key)]!.entries.has(key);
  }

  /** All entries, in no particular order: sort before doing anything order-dependent. */
  *entries(): IterableIterator<[string, V]> {
    for (const b of this.buckets) for (const [k, e] of b.entries) yield [k, e.value];
  }

  /** All entries sorted by key (UTF-16 code units). */
  sortedEntries(): [string, V][] {
    const out = [...this.entries()];
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return out;
  }

  /** Section root (see the file comment). Cached. */
  root(): Buffer {
    if (this.rootMemo !== undefined) return this.rootMemo;
    // the bucket digests as one buffer, hashed in one call: from the parent's, rewriting only
    // the buckets this map changed, when the parent's root was known (a block changes a few
    // hundred of a section's 4,096 buckets); else every bucket
    const cat = Buffer.allocUnsafe(BUCKETS * 32);
    const from = this.derivedFrom;
    from?.cat.copy(cat);
    for (let i = 0; i < BUCKETS; i++) if (from === undefined || from.changed[i] === 1) cat.write(this.buckets[i]!.computeDigest(), i * 32, 32, 'latin1');
    this.derivedFrom = undefined;
    this.digestCat = cat;
    return (this.rootMemo = createHash('sha256').update(cat).digest());
  }

  draft(): MapDraft<V> {
    return new MapDraft(this);
  }
}

type JournalRecord<V> = [bucket: number, key: string, previous: Entry<V> | undefined];

/**
 * A copy-on-write editor of a HashedMap. With a journal open (begin), every write can be
 * undone (rollback) — used to apply one transaction atomically while building a block.
 */
export class MapDraft<V> {
  private readonly buckets: Bucket<V>[];
  private readonly owned = new Uint8Array(BUCKETS);
  private finished = false;
  private journal: JournalRecord<V>[] | null = null;
  size: number;

  constructor(private readonly base: HashedMap<V>) {
    this.buckets = base.buckets.slice();
    this.size = base.size;
  }

  get(key: string): V | undefined {
    return this.buckets[bucketOf(key)]!.entries.get(key)?.value;
  }

  has(key: string): boolean {
    return this.buckets[bucketOf(key)]!.entries.has(key);
  }

  *entries(): IterableIterator<[string, V]> {
    for (const b of this.buckets) for (const [k, e] of b.entries) yield [k, e.value];
  }

  /** Keys starting with prefix, sorted (scans the whole map). */
  keysWithPrefix(prefix: string): string[] {
    const out: string[] = [];
    for (const b of this.buckets) for (const k of b.entries.keys()) if (k.startsWith(prefix)) out.push(k);
    return out.sort();
  }

  set(key: string, value: V): void {
    this.write(key, { value, digest: undefined });
  }

  delete(key: string): boolean {
    if (!this.has(key)) return false;
    this.write(key, undefined);
    return true;
  }

  private write(key: string, entry: Entry<V> | undefined): void {
    if (this.finished) throw new Error('DRAFT_FINISHED a finished draft cannot be edited');
    const i = bucketOf(key);
    let b = this.buckets[i]!;
    if (this.owned[i] === 0) {
      b = new Bucket(new Map(b.entries));
      this.buckets[i] = b;
      this.owned[i] = 1;
    }
    const previous = b.entries.get(key);
    if (this.journal) this.journal.push([i, key, previous]);
    if (entry === undefined) {
      b.entries.delete(key);
      if (previous !== undefined) this.size--;
    } else {
      b.entries.set(key, entry);
      if (previous === undefined) this.size++;
    }
    b.digest = undefined;
  }

  /** Start recording writes so they can be undone. */
  begin(): void {
    this.journal = [];
  }

  /** Keep the writes since begin(). */
  commit(): void {
    this.journal = null;
  }

  /** Undo the writes since begin(). */
  rollback(): void {
    const j = this.journal;
    this.journal = null;
    if (!j) return;
    for (let n = j.length - 1; n >= 0; n--) {
      const [i, key, previous] = j[n]!;
      const b = this.buckets[i]!; // owned: it was written
      const cur = b.entries.get(key);
      if (previous === undefined) {
        if (cur !== undefined) this.size--;
        b.entries.delete(key);
      } else {
        if (cur === undefined) this.size++;
        b.entries.set(key, previous);
      }
      b.digest = undefined;
    }
  }

  /** The edited map. The draft cannot be used afterwards. */
  finish(): HashedMap<V> {
    this.finished = true;
    this.journal = null;
    let changed = false;
    for (let i = 0; i < BUCKETS; i++) if (this.owned[i] === 1) changed = true;
    if (!changed) return this.base;
    const parentCat = this.base.rootedDigests;
    return HashedMap.fromBuckets(this.buckets, this.size, parentCat === undefined ? undefined : { cat: parentCat, changed: this.owned });
  }
}
