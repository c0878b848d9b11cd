/**
 * Level storage of one chain (README "Storage"). Keys (strings) → values (UTF-8 JSON):
 *
 *   meta                {format, chainId, genesisHash}
 *   genesis             the normalised genesis config
 *   head                {height, hash, slot, stateRoot}
 *   b:<blockHash>       the block envelope, as received
 *   h:<height, 12 digits>  block hash of the canonical chain at that height
 *   t:<txId>            {height, index} of a transaction on the canonical chain
 *   s:<height, 12 digits>  state snapshot after that height (serialiseState), or [STORE-CHUNK]
 *                       the record {"snapshot":"chunks", chunks, chars} of one written in chunks
 *   c:<height, 12 digits>:<i, 6 digits>  [STORE-CHUNK] chunk i of that snapshot's JSON text
 *   j:<seq, 12 digits>  [STORE-J] the node's journal: a transaction received and not yet
 *                       on chain, `<topic>\n<payload>` as received (createChainNode.ts)
 *   pruned              [STORE-P] {height, hash}: the blocks, height and tx indexes below this
 *                       height are gone; its snapshot s:<height> is the base the chain replays from
 *   n:<name>            [STORE-N] the node's own records: `final` (its final checkpoint),
 *                       `last-vote` (its last vote's rounds) and `link:<target round, 12 digits>`
 *                       (a link it saw justified, not yet on chain) (node/finalityGadget.ts)
 *
 * Crash safety: every block is one atomic db.batch (block, height index, tx index, head),
 * so after a crash the database holds exactly the blocks up to some head. A snapshot is
 * a cache written after its block, serialised a slice at a time between other work
 * (stateJsonPieces): at 10,000 homes, serialised at once, one held the node's thread ~1.8 s.
 * [STORE-CHUNK] Its text goes in chunks of about 256 Ki characters, each in its own batch; the
 * record s:<height>, written last in one batch with the deletion of the snapshots it
 * replaces, makes it exist. A snapshot whose block is no longer canonical is never used (checked at
 * open and at rewind). Restart: load head, load the newest snapshot at or below it, replay
 * (re-validating) the blocks after it. Anything inconsistent — a missing or unreadable
 * record, a block whose hash or roots do not match — is CORRUPT_DB with the height.
 */
import { parseGenesis, type Genesis } from '../core/genesis.js';
import { createGenesisState, deserializeState, serializeState, stateJsonPieces, stateRoot, type ChainState } from '../core/chainState.js';
import { blockHash } from '../core/blockHash.js';
import { BlockError } from '../core/chainError.js';
import { txId as txIdOf } from '../core/txId.js';
import { validateAndApplyBlock, type AppliedBlock, type ApplyContext, type BlockEnvelope } from '../core/validateAndApplyBlock.js';
import { ChainStoreError } from './chainStoreError.js';

export type ChainDbOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

/** What the store needs of a level database (Level and MemoryLevel fit, with string keys and values). */
export interface ChainDb {
  readonly status: string;
  open(): Promise<void>;
  get(key: string): Promise<string | undefined>;
  batch(ops: ChainDbOp[], opts?: { sync?: boolean }): Promise<void>;
  keys(opts: { gte?: string; lte?: string; gt?: string; lt?: string; reverse?: boolean; limit?: number }): AsyncIterable<string>;
  close(): Promise<void>;
}

/**
 * Each format is a set of consensus rules; a directory written under earlier rules is refused
 * by name (OLD_FORMAT), never misread (its blocks may no longer validate, its snapshots no
 * longer parse). v2: [CPF], [SEED], [LIVE], [REWARD], [DOMAIN]; v3: [SETTLE-1], [CLOSE],
 * [SEALED], [FEEDER-2]; v4: the P2P market [MKT]; v5: registry-signed feeder limits as chain
 * state [FEEDER-1] (the `feeder-limit` transaction; auction-open no longer writes limits).
 */
/**
 * v5: [FEEDER-1] feeder limits are registry-signed chain state; v6: [DOMAIN-TX] every
 * transaction names the chain (`chain` = genesis hash), so the blocks of an earlier directory
 * no longer validate; v7: [FIN] the finality gadget's state (justified and final checkpoints,
 * block hashes, committees: every state root differs); v8: [FIN-C] committees change only through
 * finality: a link is counted by the committee in force in its target's state (blockHashes
 * entries carry it: every state root differs, and links a v7 chain took may now be refused).
 * Every earlier version is refused by name.
 */
export const DB_FORMAT = 'tmi-chain-db-v8';
export const OLD_FORMATS: ReadonlySet<string> = new Set(['tmi-chain-db-v1', 'tmi-chain-db-v2', 'tmi-chain-db-v3', 'tmi-chain-db-v4', 'tmi-chain-db-v5', 'tmi-chain-db-v6', 'tmi-chain-db-v7']);

export interface ChainHead {
  height: number;
  hash: string;
  slot: number;
  stateRoot: string;
}

export interface ChainStoreOptions {
  /** genesis config (JSON value): initialises an empty database; must match an existing one */
  genesis?: unknown;
  /** write a state snapshot every this many blocks (default 64) */
  snapshotEvery?: number;
  /** snapshots to keep (default 2) */
  keepSnapshots?: number;
  /** [STORE-CHUNK] characters of a snapshot's JSON per chunk, at least (default SNAPSHOT_CHUNK_CHARS) */
  snapshotChunkChars?: number;
}

export interface StoredTx {
  height: number;
  index: number;
  blockHash: string;
  tx: unknown;
}

export interface ChainStore {
  readonly genesis: Genesis;
  /** state at the head */
  readonly state: ChainState;
  readonly head: ChainHead;
  /** Validates a block as the child of the head and appends it. Throws BlockError. */
  importBlock(block: unknown, ctx: ApplyContext): Promise<AppliedBlock>;
  /** Appends an already validated child of the head (e.g. one this node built). */
  append(applied: AppliedBlock): Promise<void>;
  hashAt(height: number): Promise<string | undefined>;
  rawBlock(hash: string): Promise<string | undefined>;
  blockAt(height: number): Promise<BlockEnvelope | undefined>;
  blockByHash(hash: string): Promise<BlockEnvelope | undefined>;
  tx(txId: string): Promise<StoredTx | undefined>;
  /**
   * The state after the canonical block at `height` (≤ the head), read without changing
   * anything: the newest snapshot at or below it whose block is canonical, then the blocks
   * after it replayed (re-validated). For a look back at a final block (`tmi wallet`).
   */
  stateAt(height: number): Promise<ChainState>;
  /** Drops the canonical blocks above `height` (blocks stay stored by hash); for reorgs. */
  rewindTo(height: number): Promise<void>;
  /** Writes a snapshot of the head state now. */
  snapshot(): Promise<void>;
  /** Resolves when no snapshot is being written in the background. */
  idle(): Promise<void>;
  /** [STORE-J] Writes journal entries (seq → text) and deletes others, in one batch. */
  journalWrite(put: ReadonlyMap<number, string>, del: Iterable<number>): Promise<void>;
  /** [STORE-J] Every journal entry, in seq order. */
  journalLoad(): Promise<{ seq: number; text: string }[]>;
  /** [STORE-N] one of the node's own records (not chain data: its final checkpoint, its last vote) */
  nodeRecord(name: string): Promise<string | undefined>;
  /** [STORE-N] writes a node record; `sync`: to the disk before it resolves (a vote must not be forgotten by a crash) */
  putNodeRecord(name: string, text: string, o?: { sync?: boolean }): Promise<void>;
  /** [STORE-N] the node records whose names start with `prefix`, in name order */
  nodeRecords(prefix: string): Promise<{ name: string; text: string }[]>;
  /** [STORE-N] deletes node records (absent ones are no error), in one batch */
  deleteNodeRecords(names: Iterable<string>): Promise<void>;
  /** [STORE-P] the height below which blocks were pruned (0: none): its snapshot is the replay base */
  readonly prunedHeight: number;
  /**
   * [STORE-P] Makes the canonical state `state` (at a height above the current base, at most the
   * head) the new base: writes its snapshot, then deletes every block, height and transaction
   * index, and snapshot below it. Crash-safe: the base moves in one batch before anything is
   * deleted; a crash during the deletion leaves only unreachable records, deleted next time.
   */
  pruneTo(state: ChainState): Promise<{ height: number; blocksDeleted: number }>;
  /** Closes the database, first writing a head snapshot (unless snapshot: false, for read-only use). */
  close(o?: { snapshot?: boolean }): Promise<void>;
}

const pad = (n: number) => String(n).padStart(12, '0');
/** compacts each [start, end) range when the database can (classic-level on disk; a memory database cannot) */
async function compactRanges(db: unknown, ranges: readonly (readonly [string, string])[]): Promise<void> {
  const compact = (db as { compactRange?: (start: string, end: string) => Promise<void> }).compactRange;
  if (typeof compact !== 'function') return;
  for (const [start, end] of ranges) await compact.call(db, start, end);
}

const H = (n: number) => `h:${pad(n)}`;
const S = (n: number) => `s:${pad(n)}`;
const B = (hash: string) => `b:${hash}`;
const T = (id: string) => `t:${id}`;
const J = (seq: number) => `j:${pad(seq)}`;
const N = (name: string) => `n:${name}`;
/** [STORE-CHUNK] chunk i of the snapshot at height h */
const C = (h: number, i: number) => `c:${pad(h)}:${String(i).padStart(6, '0')}`;
/** every chunk key of height h is in [C(h, 0), CEND(h)) */
const CEND = (h: number) => `c:${pad(h)};`;

/**
 * [STORE-CHUNK] A snapshot of a large state is written as chunks of about this many characters,
 * each in its own batch, and its record `s:<height>` names them. Written as one value, a
 * 10,000-home state (≈ 35 MB of JSON) was a 35-MB string, then a 35-MB buffer, write batch and
 * memtable each, every 64 blocks: the chain process's memory peaked ~170 MB above its steady
 * level at each one, and the allocator kept much of it.
 */
export const SNAPSHOT_CHUNK_CHARS = 256 * 1024;
const CHUNKED = '{"snapshot":"chunks"';

/**
 * [STORE-CHUNK] Writes a state's JSON pieces as chunks of the snapshot at `h`, yielding to other
 * work between pieces when `yieldEach`; returns the record to put at `s:<h>` in the batch that
 * makes the snapshot exist. Chunks without their record (a crash mid-way) are never read and
 * are deleted at the next open.
 */
async function writeSnapshotChunks(db: ChainDb, h: number, pieces: Iterable<string>, yieldEach: boolean, chunkChars: number): Promise<{ record: ChainDbOp; chunks: number }> {
  let chunk = '';
  let chunks = 0;
  let chars = 0;
  for (const piece of pieces) {
    chunk += piece;
    if (chunk.length >= chunkChars) {
      if (db.status !== 'open') throw new Error('the database closed while a snapshot was written');
      await db.batch([{ type: 'put', key: C(h, chunks++), value: chunk }]);
      chars += chunk.length;
      chunk = '';
    }
    if (yieldEach) await new Promise((resolve) => setImmediate(resolve));
  }
  if (chunk.length > 0) {
    await db.batch([{ type: 'put', key: C(h, chunks++), value: chunk }]);
    chars += chunk.length;
  }
  return { record: { type: 'put', key: S(h), value: `${CHUNKED},"chunks":${chunks},"chars":${chars}}` }, chunks };
}

/** [STORE-CHUNK] The JSON text of the snapshot at `h`, whole or from its chunks; undefined if absent or incomplete. */
export async function readSnapshotText(db: Pick<ChainDb, 'get'>, h: number): Promise<string | undefined> {
  const text = await db.get(S(h));
  if (text === undefined || !text.startsWith(CHUNKED)) return text;
  const r = JSON.parse(text) as { chunks: number; chars: number };
  const parts: string[] = [];
  for (let i = 0; i < r.chunks; i++) {
    const c = await db.get(C(h, i));
    if (c === undefined) return undefined;
    parts.push(c);
  }
  const whole = parts.join('');
  return whole.length === r.chars ? whole : undefined;
}

/** [STORE-CHUNK] the chunk keys of each height (at open) */
async function chunkKeysByHeight(db: ChainDb): Promise<Map<number, string[]>> {
  const by = new Map<number, string[]>();
  for await (const k of db.keys({ gte: 'c:', lt: 'c;' })) {
    const h = Number(k.slice(2, 14));
    let ks = by.get(h);
    if (!ks) by.set(h, (ks = []));
    ks.push(k);
  }
  return by;
}

function corrupt(reason: string, height?: number): ChainStoreError {
  return new ChainStoreError('CORRUPT_DB', { height, reason });
}

function parseJson<T>(text: string, what: string, height?: number): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw corrupt(`unreadable ${what}`, height);
  }
}

const REPLAY: ApplyContext = { now: Number.MAX_SAFE_INTEGER };

/** Opens (or, with opts.genesis, initialises) the chain stored in `db`. */
export async function openChainStore(db: ChainDb, opts: ChainStoreOptions = {}): Promise<ChainStore> {
  if (db.status !== 'open') {
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if ((err as { code?: string }).code === 'LEVEL_DATABASE_NOT_OPEN' && cause?.code === 'LEVEL_LOCKED') {
        throw new ChainStoreError('LOCKED', { reason: 'the database is in use by another process' });
      }
      throw err;
    }
  }
  const snapshotEvery = opts.snapshotEvery ?? 64;
  const keepSnapshots = opts.keepSnapshots ?? 2;
  const wanted = opts.genesis !== undefined ? parseGenesis(opts.genesis) : undefined;

  let metaText = await db.get('meta');
  if (metaText === undefined) {
    if (!wanted) throw new ChainStoreError('NO_CHAIN', { reason: 'empty database and no genesis given' });
    const st = createGenesisState(wanted);
    const head: ChainHead = { height: 0, hash: wanted.hash, slot: 0, stateRoot: stateRoot(st) };
    metaText = JSON.stringify({ format: DB_FORMAT, chainId: wanted.chainId, genesisHash: wanted.hash });
    await db.batch([
      { type: 'put', key: 'meta', value: metaText },
      { type: 'put', key: 'genesis', value: JSON.stringify(wanted.config) },
      { type: 'put', key: S(0), value: JSON.stringify(serializeState(st)) },
      { type: 'put', key: 'head', value: JSON.stringify(head) },
    ]);
  }
  const meta = parseJson<{ format?: string; genesisHash?: string }>(metaText, 'meta');
  if (typeof meta.format === 'string' && OLD_FORMATS.has(meta.format)) {
    throw new ChainStoreError('OLD_FORMAT', {
      format: meta.format,
      expected: DB_FORMAT,
      reason: `this directory holds a ${meta.format} chain, written under earlier consensus rules that this version does not apply; keep it for the release that wrote it, or start a new chain (tmi chain init) in an empty directory`,
    });
  }
  if (meta.format !== DB_FORMAT) throw corrupt(`unknown format ${String(meta.format)}`);
  const genesisText = await db.get('genesis');
  if (genesisText === undefined) throw corrupt('genesis missing');
  let genesis: Genesis;
  try {
    genesis = parseGenesis(parseJson(genesisText, 'genesis'));
  } catch (err) {
    if (err instanceof ChainStoreError) throw err;
    throw corrupt(`bad genesis: ${(err as Error).message}`);
  }
  if (genesis.hash !== meta.genesisHash) throw corrupt('genesis does not match its hash');
  if (wanted && wanted.hash !== genesis.hash) throw new ChainStoreError('GENESIS_MISMATCH', { stored: genesis.hash, given: wanted.hash });

  const headText = await db.get('head');
  if (headText === undefined) throw corrupt('head missing');
  const head = parseJson<ChainHead>(headText, 'head');
  if (!Number.isSafeInteger(head.height) || head.height < 0 || typeof head.hash !== 'string') throw corrupt('bad head');

  // [STORE-P] a pruned chain replays from its base snapshot, never from genesis
  const prunedText = await db.get('pruned');
  const pruned = prunedText !== undefined ? parseJson<{ height: number; hash: string }>(prunedText, 'pruned') : { height: 0, hash: genesis.hash };
  // newest readable snapshot at or below the head
  const snapshots: number[] = [];
  for await (const k of db.keys({ gte: S(pruned.height), lte: S(head.height) })) snapshots.push(Number(k.slice(2)));
  let state: ChainState | undefined;
  // [STORE-CHUNK] chunks whose snapshot record was never written (a crash mid-way) go
  const chunkKeys = await chunkKeysByHeight(db);
  const orphans = [...chunkKeys.entries()].filter(([h]) => !snapshots.includes(h));
  if (orphans.length > 0) await db.batch(orphans.flatMap(([, ks]) => ks.map((key) => ({ type: 'del', key }) as ChainDbOp)));
  for (let i = snapshots.length - 1; i >= 0 && !state; i--) {
    const h = snapshots[i]!;
    const text = await readSnapshotText(db, h);
    try {
      const st = deserializeState(JSON.parse(text ?? 'null'));
      const expectHash = h === 0 ? genesis.hash : await db.get(H(h));
      if (st.meta.height !== h || st.tipHash !== expectHash || st.meta.genesisHash !== genesis.hash) continue;
      state = st;
    } catch {
      continue; // an unreadable snapshot is only a cache: try an older one
    }
  }
  // no usable snapshot: blocks are the source of truth, replay them all
  if (!state && pruned.height > 0) throw corrupt(`pruned below height ${pruned.height} and no usable snapshot at or above it`, pruned.height);
  if (!state) state = createGenesisState(genesis);

  // replay the blocks after the snapshot
  for (let h = state.meta.height + 1; h <= head.height; h++) {
    const hash = await db.get(H(h));
    if (hash === undefined) throw corrupt('height index missing (truncated?)', h);
    const raw = await db.get(B(hash));
    if (raw === undefined) throw corrupt('block missing', h);
    let applied: AppliedBlock;
    try {
      applied = validateAndApplyBlock(state, parseJson(raw, 'block', h), REPLAY);
    } catch (err) {
      if (err instanceof BlockError) throw corrupt(`stored block invalid: ${err.message}`, h);
      throw err;
    }
    if (applied.hash !== hash) throw corrupt('block hash does not match its index', h);
    state = applied.state;
  }
  if (state.tipHash !== head.hash || stateRoot(state) !== head.stateRoot || state.meta.tipSlot !== head.slot) {
    throw corrupt('head does not match the replayed chain', head.height);
  }
  const chunkCounts = new Map([...chunkKeys.entries()].filter(([h]) => snapshots.includes(h)).map(([h, ks]) => [h, ks.length] as const));
  return new LevelChainStore(db, genesis, state, head, snapshots, snapshotEvery, keepSnapshots, pruned.height, chunkCounts, opts.snapshotChunkChars ?? SNAPSHOT_CHUNK_CHARS);
}

/**
 * [SYNC-C] Initialises an empty database from a checked checkpoint: `state` is the state after
 * `block` (its header's stateRoot), the chain's final block. The store starts pruned at that
 * height: the node syncs the blocks above it and never holds those below.
 */
export async function initChainStoreFromCheckpoint(db: ChainDb, state: ChainState, block: BlockEnvelope, final?: { round: number; height: number; hash: string }): Promise<void> {
  if (db.status !== 'open') await db.open();
  if ((await db.get('meta')) !== undefined) throw new ChainStoreError('NOT_EMPTY', { reason: 'checkpoint sync needs an empty data directory' });
  const h = block.parameters.header;
  const hash = blockHash(h);
  if (state.tipHash !== hash || state.meta.height !== h.height || stateRoot(state) !== h.stateRoot) {
    throw new ChainStoreError('BAD_CHECKPOINT', { reason: 'the state is not the one the block commits to', height: h.height });
  }
  const g = state.genesis;
  const head: ChainHead = { height: h.height, hash, slot: h.slot, stateRoot: h.stateRoot };
  await db.batch([
    { type: 'put', key: 'meta', value: JSON.stringify({ format: DB_FORMAT, chainId: g.chainId, genesisHash: g.hash }) },
    { type: 'put', key: 'genesis', value: JSON.stringify(g.config) },
    { type: 'put', key: B(hash), value: JSON.stringify(block) },
    { type: 'put', key: H(h.height), value: hash },
    { type: 'put', key: S(h.height), value: JSON.stringify(serializeState(state)) },
    { type: 'put', key: 'pruned', value: JSON.stringify({ height: h.height, hash }) },
    { type: 'put', key: 'head', value: JSON.stringify(head) },
    // [STORE-N] the checkpoint is this node's final block
    ...(final !== undefined ? [{ type: 'put', key: N('final'), value: JSON.stringify(final) } as ChainDbOp] : []),
  ]);
}

class LevelChainStore implements ChainStore {
  constructor(
    private readonly db: ChainDb,
    readonly genesis: Genesis,
    private tip: ChainState,
    private headInfo: ChainHead,
    private readonly snapshotHeights: number[],
    private readonly snapshotEvery: number,
    private readonly keepSnapshots: number,
    private base: number,
    /** [STORE-CHUNK] the number of chunks of each chunked snapshot */
    private readonly chunkCounts: Map<number, number>,
    private readonly chunkChars: number,
  ) {}

  /** [STORE-CHUNK] deletes the snapshot at h: its record and its chunks */
  private snapshotDelOps(h: number): ChainDbOp[] {
    const ops: ChainDbOp[] = [{ type: 'del', key: S(h) }];
    for (let i = 0; i < (this.chunkCounts.get(h) ?? 0); i++) ops.push({ type: 'del', key: C(h, i) });
    return ops;
  }

  /** [STORE-CHUNK] forgets the chunk counts of snapshots deleted */
  private forgetSnapshots(hs: readonly number[]): void {
    for (const h of hs) this.chunkCounts.delete(h);
  }

  /** [STORE-P] compactions of pruned ranges, one after another */
  private compacting: Promise<unknown> = Promise.resolve();

  get prunedHeight(): number {
    return this.base;
  }

  async pruneTo(state: ChainState): Promise<{ height: number; blocksDeleted: number }> {
    const p = state.meta.height;
    if (p <= this.base || p > this.headInfo.height) throw new ChainStoreError('BAD_HEIGHT', { height: p, base: this.base, head: this.headInfo.height });
    const hash = await this.db.get(H(p));
    if (hash !== state.tipHash) throw new ChainStoreError('NOT_CANONICAL', { height: p, reason: 'the state is not of the canonical block at its height' });
    await this.snapshotting;
    // 1. the new base: its snapshot's chunks [STORE-CHUNK] (unless a snapshot of that canonical
    // block is stored already), then its record and the base in one batch
    const base: ChainDbOp = { type: 'put', key: 'pruned', value: JSON.stringify({ height: p, hash }) };
    if (this.snapshotHeights.includes(p)) {
      await this.db.batch([base]);
    } else {
      const written = await writeSnapshotChunks(this.db, p, stateJsonPieces(state), true, this.chunkChars);
      await this.db.batch([written.record, base]);
      this.chunkCounts.set(p, written.chunks);
    }
    this.base = p;
    const kept = [...new Set([...this.snapshotHeights.filter((x) => x > p), p])].sort((a, b) => a - b);
    const dropSnaps = this.snapshotHeights.filter((x) => x < p);
    this.snapshotHeights.splice(0, this.snapshotHeights.length, ...kept);
    // 2. everything below it, a few hundred heights per batch
    let deleted = 0;
    let ops: ChainDbOp[] = dropSnaps.flatMap((x) => this.snapshotDelOps(x));
    this.forgetSnapshots(dropSnaps);
    for await (const key of this.db.keys({ gte: H(1), lt: H(p) })) {
      const bh = await this.db.get(key);
      const raw = bh !== undefined ? await this.db.get(B(bh)) : undefined;
      if (raw !== undefined) {
        const block = parseJson<BlockEnvelope>(raw, 'block');
        for (const t of block.parameters.txs) ops.push({ type: 'del', key: T(txIdOf(t)) });
        ops.push({ type: 'del', key: B(bh!) });
      }
      ops.push({ type: 'del', key });
      deleted++;
      if (ops.length >= 2000) {
        await this.db.batch(ops);
        ops = [];
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (ops.length > 0) await this.db.batch(ops);
    // 3. the space back, in the background: LevelDB keeps deleted records on disk until it
    // compacts their files, and a pruned home's directory grew to 1.16 GB while it held 225 MB
    // (10,000-home soak). Blocks and tx indexes are keyed by hash, so their whole ranges.
    this.compacting = this.compacting.then(() => compactRanges(this.db, [[S(0), S(p)], [C(0, 0), C(p, 0)], [H(0), H(p)], ['b:', 'b;'], ['t:', 't;']])).catch(() => undefined);
    return { height: p, blocksDeleted: deleted };
  }

  /** the snapshot being written in slices, if any */
  private snapshotting: Promise<void> | undefined;

  get state(): ChainState {
    return this.tip;
  }

  get head(): ChainHead {
    return { ...this.headInfo };
  }

  async importBlock(block: unknown, ctx: ApplyContext): Promise<AppliedBlock> {
    const applied = validateAndApplyBlock(this.tip, block, ctx);
    await this.append(applied);
    return applied;
  }

  async append(applied: AppliedBlock): Promise<void> {
    const header = applied.block.parameters.header;
    if (header.parent !== this.headInfo.hash || header.height !== this.headInfo.height + 1) {
      throw new ChainStoreError('NOT_A_CHILD', { height: header.height, parent: header.parent, head: this.headInfo.hash });
    }
    const h = header.height;
    const head: ChainHead = { height: h, hash: applied.hash, slot: header.slot, stateRoot: header.stateRoot };
    const ops: ChainDbOp[] = [
      { type: 'put', key: B(applied.hash), value: JSON.stringify(applied.block) },
      { type: 'put', key: H(h), value: applied.hash },
    ];
    applied.txIds.forEach((id, index) => ops.push({ type: 'put', key: T(id), value: JSON.stringify({ height: h, index }) }));
    const snap = h % this.snapshotEvery === 0;
    ops.push({ type: 'put', key: 'head', value: JSON.stringify(head) });
    await this.db.batch(ops);
    this.tip = applied.state;
    this.headInfo = head;
    // one snapshot at a time; one due while another is written is skipped (the next comes snapshotEvery blocks later)
    if (snap && !this.snapshotting) {
      this.snapshotting = this.writeSnapshot(applied.state, true)
        .catch(() => undefined) // only a cache: open and rewind fall back to an older snapshot, or genesis
        .finally(() => (this.snapshotting = undefined));
    }
  }

  /** [STORE-CHUNK] the snapshot of `state` in chunks, then its record with the deletion of the snapshots it replaces */
  private async writeSnapshot(state: ChainState, yieldEach: boolean): Promise<void> {
    const h = state.meta.height;
    if (this.snapshotHeights.includes(h)) return;
    const written = await writeSnapshotChunks(this.db, h, stateJsonPieces(state), yieldEach, this.chunkChars);
    if (this.db.status !== 'open') return;
    const dropped = this.snapshotsDropped(h);
    await this.db.batch([written.record, ...dropped.flatMap((x) => this.snapshotDelOps(x))]);
    this.forgetSnapshots(dropped);
    this.chunkCounts.set(h, written.chunks);
    this.commitSnapshot(h);
  }

  /** Resolves when no snapshot is being written (tests; rewind and close wait for it themselves). */
  async idle(): Promise<void> {
    await this.snapshotting;
  }

  /** the snapshots that go when one at `h` is written: all but the newest keepSnapshots, never the base [STORE-P] */
  private snapshotsDropped(h: number): number[] {
    const kept = [...this.snapshotHeights.filter((x) => x !== h), h].sort((a, b) => a - b);
    return kept.slice(0, Math.max(0, kept.length - this.keepSnapshots)).filter((x) => !(this.base > 0 && x === this.base));
  }

  private commitSnapshot(h: number): void {
    const drop = new Set(this.snapshotsDropped(h));
    const kept = [...this.snapshotHeights.filter((x) => x !== h), h].sort((a, b) => a - b).filter((x) => !drop.has(x));
    this.snapshotHeights.splice(0, this.snapshotHeights.length, ...kept);
  }

  async snapshot(): Promise<void> {
    await this.snapshotting;
    await this.writeSnapshot(this.tip, false);
  }

  hashAt(height: number): Promise<string | undefined> {
    if (height === 0) return Promise.resolve(this.genesis.hash);
    return this.db.get(H(height));
  }

  rawBlock(hash: string): Promise<string | undefined> {
    return this.db.get(B(hash));
  }

  async blockByHash(hash: string): Promise<BlockEnvelope | undefined> {
    const raw = await this.db.get(B(hash));
    if (raw === undefined) return undefined;
    const block = parseJson<BlockEnvelope>(raw, 'block');
    if (blockHash(block.parameters.header) !== hash) throw corrupt('block does not match its hash', block.parameters?.header?.height);
    return block;
  }

  async blockAt(height: number): Promise<BlockEnvelope | undefined> {
    const hash = await this.db.get(H(height));
    return hash === undefined ? undefined : this.blockByHash(hash);
  }

  async tx(txId: string): Promise<StoredTx | undefined> {
    const loc = await this.db.get(T(txId));
    if (loc === undefined) return undefined;
    const { height, index } = parseJson<{ height: number; index: number }>(loc, 'tx index');
    const hash = await this.db.get(H(height));
    const block = hash === undefined ? undefined : await this.blockByHash(hash);
    const tx = block?.parameters.txs[index];
    if (!block || tx === undefined) throw corrupt('tx index points nowhere', height);
    return { height, index, blockHash: hash!, tx };
  }

  /** The state at a canonical height: newest snapshot at or below it whose block is still canonical, then replay. */
  private async replayTo(height: number): Promise<ChainState> {
    if (height === this.headInfo.height) return this.tip;
    let state: ChainState = createGenesisState(this.genesis);
    for (const base of this.snapshotHeights.filter((x) => x <= height).reverse()) {
      const text = await readSnapshotText(this.db, base);
      if (text === undefined) continue; // dropped by a snapshot written meanwhile: an older one will do
      const st = deserializeState(parseJson(text, 'snapshot', base));
      if (st.tipHash !== (await this.hashAt(base))) continue;
      state = st;
      break;
    }
    for (let h = state.meta.height + 1; h <= height; h++) {
      const block = await this.blockAt(h);
      if (!block) throw corrupt('block missing', h);
      state = validateAndApplyBlock(state, block, REPLAY).state;
    }
    return state;
  }

  async stateAt(height: number): Promise<ChainState> {
    if (!Number.isSafeInteger(height) || height < this.base || height > this.headInfo.height) {
      throw new ChainStoreError('BAD_HEIGHT', { height, head: this.headInfo.height });
    }
    return this.replayTo(height);
  }

  async rewindTo(height: number): Promise<void> {
    if (!Number.isSafeInteger(height) || height < this.base || height > this.headInfo.height) {
      throw new ChainStoreError('BAD_HEIGHT', { height, head: this.headInfo.height });
    }
    if (height === this.headInfo.height) return;
    await this.snapshotting; // a snapshot being written lands (or not) before the chain moves under it
    // state at `height`: newest snapshot at or below it whose block is still canonical, then replay
    const state = await this.replayTo(height);
    const ops: ChainDbOp[] = [];
    for (let h = height + 1; h <= this.headInfo.height; h++) {
      const block = await this.blockAt(h);
      ops.push({ type: 'del', key: H(h) });
      for (const t of block?.parameters.txs ?? []) ops.push({ type: 'del', key: T(txIdOf(t)) });
    }
    const dropSnaps = this.snapshotHeights.filter((x) => x > height);
    for (const x of dropSnaps) ops.push(...this.snapshotDelOps(x));
    const head: ChainHead = { height, hash: state.tipHash, slot: state.meta.tipSlot, stateRoot: stateRoot(state) };
    ops.push({ type: 'put', key: 'head', value: JSON.stringify(head) });
    await this.db.batch(ops);
    this.snapshotHeights.splice(0, this.snapshotHeights.length, ...this.snapshotHeights.filter((x) => x <= height));
    this.forgetSnapshots(dropSnaps);
    this.tip = state;
    this.headInfo = head;
  }

  async journalWrite(put: ReadonlyMap<number, string>, del: Iterable<number>): Promise<void> {
    const ops: ChainDbOp[] = [];
    for (const [seq, text] of put) ops.push({ type: 'put', key: J(seq), value: text });
    for (const seq of del) ops.push({ type: 'del', key: J(seq) });
    if (ops.length > 0) await this.db.batch(ops);
  }

  async nodeRecord(name: string): Promise<string | undefined> {
    return this.db.get(N(name));
  }

  async putNodeRecord(name: string, text: string, o: { sync?: boolean } = {}): Promise<void> {
    await this.db.batch([{ type: 'put', key: N(name), value: text }], o.sync ? { sync: true } : undefined);
  }

  async nodeRecords(prefix: string): Promise<{ name: string; text: string }[]> {
    const out: { name: string; text: string }[] = [];
    // keys are strings: everything from `n:<prefix>` up to `n:<prefix>\uffff`
    for await (const key of this.db.keys({ gte: N(prefix), lt: `${N(prefix)}\uffff` })) {
      const text = await this.db.get(key);
      if (text !== undefined) out.push({ name: key.slice(2), text });
    }
    return out;
  }

  async deleteNodeRecords(names: Iterable<string>): Promise<void> {
    const ops: ChainDbOp[] = [];
    for (const name of names) ops.push({ type: 'del', key: N(name) });
    if (ops.length > 0) await this.db.batch(ops);
  }

  async journalLoad(): Promise<{ seq: number; text: string }[]> {
    const out: { seq: number; text: string }[] = [];
    for await (const key of this.db.keys({ gt: 'j:', lt: 'j;' })) {
      const text = await this.db.get(key);
      if (text !== undefined) out.push({ seq: Number(key.slice(2)), text });
    }
    return out;
  }

  async close(o: { snapshot?: boolean } = {}): Promise<void> {
    await this.snapshotting;
    await this.compacting;
    if (this.db.status === 'open') {
      if (o.snapshot !== false) await this.snapshot();
      await this.db.close();
    }
  }
}
