/**
 * The records of analytics in level, mirrored in memory for queries. Facts are applied in
 * batches, one at a time: each fact is reduced against the records as changed by the
 * facts before it in the batch, the batch is written to level atomically, and only then
 * is the memory mirror updated. A restart reloads the records from level.
 */
import type { AbstractLevel, AbstractSublevel } from 'abstract-level';
import type { Fact } from '../facts.js';
import { reduceFact, uncountOffChainReadings } from './reduceFact.js';
import { RECORD_KINDS, type Change, type RecordKind, type RecordTypes, type RecordView } from './records.js';

export type AnalyticsDb = AbstractLevel<string | Buffer | Uint8Array, string, string>;

export interface RangeOptions {
  gte?: string;
  lt?: string;
  /** newest (largest id) first */
  reverse?: boolean;
  limit?: number;
}

export interface StatsStore extends RecordView {
  /** records of a kind with gte ≤ id < lt, in id order */
  range<K extends RecordKind>(kind: K, o?: RangeOptions): RecordTypes[K][];
  count(kind: RecordKind): number;
  /** increases by one per applied batch that changed something */
  readonly version: number;
  readonly factCount: number;
  /** reduces and stores a batch of (already checked) facts; returns the number of record changes */
  apply(facts: readonly Fact[]): Promise<number>;
  /** resolves when every batch applied so far is written */
  idle(): Promise<void>;
}

interface Meta {
  version: number;
  factCount: number;
  /** 2: readings count in the aggregates once on chain [AN-ONCHAIN]; absent = before */
  format?: number;
}

const FORMAT = 2;

/** Ids of one kind, kept sorted for range queries. */
class SortedIds {
  private readonly ids: string[] = [];
  private find(id: string): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ids[mid] as string) < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  add(id: string): void {
    const i = this.find(id);
    if (this.ids[i] !== id) this.ids.splice(i, 0, id);
  }
  delete(id: string): void {
    const i = this.find(id);
    if (this.ids[i] === id) this.ids.splice(i, 1);
  }
  slice(gte: string | undefined, lt: string | undefined): string[] {
    const a = gte === undefined ? 0 : this.find(gte);
    const b = lt === undefined ? this.ids.length : this.find(lt);
    return this.ids.slice(a, Math.max(a, b));
  }
}

type Sub<V> = AbstractSublevel<AnalyticsDb, string | Buffer | Uint8Array, string, V>;

export async function createStatsStore(db: AnalyticsDb): Promise<StatsStore> {
  const json = { valueEncoding: 'json' } as const;
  const records: Sub<RecordTypes[RecordKind]> = db.sublevel<string, RecordTypes[RecordKind]>('records', json);
  const metaDb: Sub<Meta> = db.sublevel<string, Meta>('meta', json);

  const maps = new Map<RecordKind, Map<string, RecordTypes[RecordKind]>>(RECORD_KINDS.map((k) => [k, new Map()]));
  const sorted = new Map<RecordKind, SortedIds>(RECORD_KINDS.map((k) => [k, new SortedIds()]));
  const mapOf = (kind: RecordKind): Map<string, RecordTypes[RecordKind]> => maps.get(kind) as Map<string, RecordTypes[RecordKind]>;
  const sortedOf = (kind: RecordKind): SortedIds => sorted.get(kind) as SortedIds;

  // load
  for await (const [key, value] of records.iterator()) {
    const bang = key.indexOf('!');
    const kind = key.slice(0, bang) as RecordKind;
    if (!maps.has(kind)) continue;
    const id = key.slice(bang + 1);
    mapOf(kind).set(id, value);
    sortedOf(kind).add(id);
  }
  let meta: Meta = (await metaDb.get('meta')) ?? { version: 0, factCount: 0, format: FORMAT };

  const view: RecordView = {
    get: <K extends RecordKind>(kind: K, id: string) => mapOf(kind).get(id) as RecordTypes[K] | undefined,
  };

  // [AN-ONCHAIN] a store written before: take the readings not on chain out of its aggregates, once
  if ((meta.format ?? 1) < FORMAT) {
    const readings = [...mapOf('reading').values()] as RecordTypes['reading'][];
    await write(uncountOffChainReadings(view, readings), { ...meta, format: FORMAT });
  }

  let tail: Promise<unknown> = Promise.resolve();

  async function applyNow(facts: readonly Fact[]): Promise<number> {
    const pending = new Map<string, Change>();
    const overlayView: RecordView = {
      get: <K extends RecordKind>(kind: K, id: string): RecordTypes[K] | undefined => {
        const c = pending.get(`${kind}!${id}`);
        if (c !== undefined) return (c.value ?? undefined) as RecordTypes[K] | undefined;
        return view.get(kind, id);
      },
    };
    for (const f of facts) for (const c of reduceFact(overlayView, f)) pending.set(`${c.kind}!${c.id}`, c);
    // a record that ends the batch as it began (e.g. a reorg seen again) is not a change
    const changes = [...pending.values()].filter((c) => JSON.stringify(c.value ?? null) !== JSON.stringify(view.get(c.kind, c.id) ?? null));
    await write(changes, { ...meta, version: meta.version + (changes.length > 0 ? 1 : 0), factCount: meta.factCount + facts.length });
    return changes.length;
  }

  /** records and meta in one atomic batch, then the memory mirror */
  async function write(changes: readonly Change[], nextMeta: Meta): Promise<void> {
    const batch = db.batch();
    for (const c of changes) {
      if (c.value === null) batch.del(`${c.kind}!${c.id}`, { sublevel: records });
      else batch.put(`${c.kind}!${c.id}`, c.value, { sublevel: records });
    }
    batch.put('meta', nextMeta, { sublevel: metaDb });
    await batch.write();
    for (const c of changes) {
      if (c.value === null) {
        mapOf(c.kind).delete(c.id);
        sortedOf(c.kind).delete(c.id);
      } else {
        mapOf(c.kind).set(c.id, c.value);
        sortedOf(c.kind).add(c.id);
      }
    }
    meta = nextMeta;
  }

  return {
    get: view.get,
    range<K extends RecordKind>(kind: K, o: RangeOptions = {}): RecordTypes[K][] {
      let idList = sortedOf(kind).slice(o.gte, o.lt);
      if (o.reverse) idList = idList.reverse();
      if (o.limit !== undefined) idList = idList.slice(0, o.limit);
      const m = mapOf(kind);
      return idList.map((id) => m.get(id) as RecordTypes[K]);
    },
    count: (kind) => mapOf(kind).size,
    get version() {
      return meta.version;
    },
    get factCount() {
      return meta.factCount;
    },
    apply(facts) {
      const run = tail.then(() => applyNow(facts));
      tail = run.catch(() => undefined);
      return run;
    },
    async idle() {
      await tail;
    },
  };
}
