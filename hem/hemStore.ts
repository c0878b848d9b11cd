/**
 * The HEM's durable state on one level database under the data directory.
 *
 *   s:<name>        small state values (current pseudonym, last metered interval,
 *                   device snapshot, clock origin), JSON
 *   p:<address>     one record per pseudonym: certificate, creation time, next reading seq
 *   b:<auctionId>   the bid made in an auction and its award (so a retained auction-open
 *                   is never answered twice and awards survive a restart)
 *   m:<15 digits>   [P2P] the P2P order for the delivery interval starting then (ms), its
 *                   salt until revealed, and its fill (marketTrader.ts)
 *   q:<16 digits>   the outbox: signed messages waiting for their PUBACK, in order
 *
 * [HEM-STORE] Everything that must change together is written in ONE level batch with
 * `sync: true` (fsync before the promise resolves): a reading joins the outbox in the
 * same batch that advances its pseudonym's seq and the last metered interval, so after
 * a crash (kill -9) either both happened or neither did. A reading is therefore never
 * lost (it is durable before it is sent) and never made twice (the seq moved with it).
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AbstractLevel, AbstractBatchOptions } from 'abstract-level';
import type { Level as LevelClass } from 'level';
import { requireCjs } from '../wire/requireCjs.js';

const { Level } = requireCjs('level') as { Level: typeof LevelClass };
import type { Operation } from '../schemas/envelope.js';
import type { AnyEnvelope } from '../schemas/types.js';
import { HemError } from './hemError.js';
import { checkLevelTables, listTables } from '../poe-chain/store/levelTableCheck.js';

export type HemDb = AbstractLevel<string | Buffer | Uint8Array, string, string>;

/** One message waiting in the outbox. */
export interface OutboxEntry {
  readonly topic: string;
  readonly operation: Operation;
  /** 'meter' (the meter key, clientId = meterId) or the pseudonym address that signed it */
  readonly signer: string;
  /** the envelope as signed when the message was made */
  readonly envelope: AnyEnvelope;
  /** drop instead of sending after this wall-clock time (bids: the auction's closesAt) */
  readonly expiresAtMs?: number;
  /** not sent before this wall-clock time (a message the broker refused for now, [HEM-Q6]) */
  readonly notBeforeMs?: number;
}

export interface QueuedItem {
  readonly key: string;
  readonly entry: OutboxEntry;
}

export type StoreWrite = { type: 'put'; key: string; value: unknown } | { type: 'del'; key: string };

const SYNC = { sync: true } as AbstractBatchOptions<string, string>;
const QUEUE_PREFIX = 'q:';
const QUEUE_DIGITS = 16;

export class HemStore {
  private readonly items: QueuedItem[] = [];
  private nextQueueNo = 0;

  private constructor(readonly db: HemDb) {}

  /** Opens the store and loads the outbox into memory (it is small: a few KiB per interval). */
  static async open(db: HemDb): Promise<HemStore> {
    const s = new HemStore(db);
    if (db.status !== 'open') await db.open();
    for await (const [key, value] of db.iterator({ gte: QUEUE_PREFIX, lt: 'q;' })) {
      s.items.push({ key, entry: parse<OutboxEntry>(key, value) });
      s.nextQueueNo = Number(key.slice(QUEUE_PREFIX.length)) + 1;
    }
    return s;
  }

  /** The outbox, oldest first. */
  queue(): readonly QueuedItem[] {
    return this.items;
  }

  get queued(): number {
    return this.items.length;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const v = await this.db.get(key);
    return v === undefined ? undefined : parse<T>(key, v);
  }

  /** Every value under a prefix, in key order. */
  async list<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    const out: { key: string; value: T }[] = [];
    for await (const [key, value] of this.db.iterator({ gte: prefix, lt: prefix + '\uffff' })) out.push({ key, value: parse<T>(key, value) });
    return out;
  }

  /**
   * Writes `writes` and appends `enqueue` to the outbox in one synced batch [HEM-STORE].
   * Returns the outbox keys of the new entries.
   */
  async commit(writes: readonly StoreWrite[], enqueue: readonly OutboxEntry[] = []): Promise<string[]> {
    const ops: ({ type: 'put'; key: string; value: string } | { type: 'del'; key: string })[] = writes.map((w) =>
      w.type === 'put' ? { type: 'put', key: w.key, value: JSON.stringify(w.value) } : { type: 'del', key: w.key },
    );
    const added: QueuedItem[] = [];
    for (const entry of enqueue) {
      const key = QUEUE_PREFIX + String(this.nextQueueNo++).padStart(QUEUE_DIGITS, '0');
      ops.push({ type: 'put', key, value: JSON.stringify(entry) });
      added.push({ key, entry });
    }
    if (ops.length === 0) return [];
    await this.db.batch(ops, SYNC);
    this.items.push(...added);
    return added.map((a) => a.key);
  }

  /** Removes an outbox entry (after its PUBACK, or when it expired). */
  async remove(key: string): Promise<void> {
    await this.db.batch([{ type: 'del', key }], SYNC);
    const i = this.items.findIndex((x) => x.key === key);
    if (i >= 0) this.items.splice(i, 1);
  }

  async close(): Promise<void> {
    if (this.db.status === 'open') await this.db.close();
  }
}

function parse<T>(key: string, value: string): T {
  try {
    return JSON.parse(value) as T;
  } catch (err) {
    throw new HemError('BAD_STORE', { key, reason: (err as Error).message });
  }
}

/**
 * [HEM-DB] Opens the level database under `<dataDir>/db` and refuses a damaged one with
 * `BAD_STORE` instead of running on it: LevelDB's reason when it cannot open (a damaged
 * MANIFEST or CURRENT); the damage LevelDB repaired by dropping records (it says so only
 * in its LOG file, read right after the open); a table block whose checksum does not
 * match (LevelDB checks them only when asked; levelTableCheck.ts); and an existing
 * database that lost every record while pseudonym keys exist (an emptied write-ahead log:
 * the HEM would restart its seq numbers and forget its outbox).
 */
export async function openHemLevel(dataDir: string): Promise<HemDb> {
  const dir = join(dataDir, 'db');
  const existed = existsSync(join(dir, 'CURRENT'));
  const tables = await listTables(dir);
  const db = new Level<string, string>(dir) as unknown as HemDb;
  const bad = (reason: string) => new HemError('BAD_STORE', { dir, reason, hint: 'restore db/ from a backup, or move it aside to start afresh' });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') throw new HemError('BAD_STORE', { dir, reason: 'in use by another process (is another tmi hem running on this data directory?)' });
    throw bad(`leveldb cannot open it: ${cause?.message ?? (err as Error).message}`);
  }
  try {
    const log = await readFile(join(dir, 'LOG'), 'utf8').catch(() => '');
    const dropped = log.split('\n').filter((l) => /Corruption|dropping \d+ bytes/.test(l));
    if (dropped.length) throw bad(`leveldb dropped damaged records at open (${dropped.map((l) => l.replace(/^\S+ \S+ /, '').replace(/\/\S*\//g, '').replace('(ignoring error) ', '')).join('; ')})`);
    const damaged = await checkLevelTables(dir, tables);
    if (damaged.length) throw bad(`damaged table file: ${damaged[0]}${damaged.length > 1 ? ` (+${damaged.length - 1} more)` : ''}`);
    const empty = (await db.keys({ limit: 1 }).all()).length === 0;
    const keyFiles = existsSync(join(dataDir, 'pseudonyms')) ? readdirSync(join(dataDir, 'pseudonyms')).filter((n) => n.endsWith('.json')).length : 0;
    if (existed && empty && keyFiles > 0) throw bad(`existing database without records, ${keyFiles} pseudonym key(s) on disk`);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
