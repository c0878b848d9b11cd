/**
 * The mempool of a chain node (README "Mempool"): signed transaction envelopes waiting
 * for a block, in arrival order, bounded in count and bytes.
 *
 * Admission, as named steps (each refusal has a code and changes nothing):
 *   [MP-1] size ≤ the operation's limit (schemas/envelope.ts)         MESSAGE_TOO_LARGE
 *   [MP-2] decodes: schema + signature (codec, replay off)           WireError code
 *   [MP-3] a transaction operation                                   NOT_A_TX_OPERATION
 *   [MP-4] not in the pool (→ known), not on chain in the head state's replay window (→ on-chain)
 *   [MP-5] date in [now − txWindowMs, now + txFutureMs]              TX_EXPIRED / TX_FUTURE
 *   [MP-6] trial application to the head state (rolled back): a permanent TxError
 *          refuses it; a transient one (it may become valid once another pending
 *          transaction is on chain, e.g. UNKNOWN_AUCTION) admits it
 *   [MP-7] room: ≤ maxPerSigner per signer (SIGNER_QUOTA); ≤ maxCount and ≤ maxBytes
 *          overall, evicting by [MP-8] or refusing (MEMPOOL_FULL)
 * [MP-8] eviction: first transactions whose date has left the window, then the one with
 *          the most failed inclusion attempts (oldest first among equals); a transaction
 *          that never failed is never evicted for a newcomer: the newcomer is refused.
 * [MP-9] a block build that rejects a transaction drops it when the reason is permanent;
 *          a transient one is deferred until the head changes and dropped after
 *          maxAttempts builds — except a reason that only time can cure (TIME_TX_CODES:
 *          e.g. an auction-close that arrived just before its closesAt, which a block at
 *          the current slot's start time cannot take yet): that one is retried at the next
 *          slot without waiting for a new head, and does not use up attempts (the date
 *          window [MP-8] still ends it).
 * [MP-10] transactions of applied blocks leave the pool; those of blocks orphaned by a
 *          reorg come back (ahead of the others, keeping chain order) if still valid.
 * [MP-11] a block's candidates hold each address's meter readings in seq order, whatever
 *          order they arrived in. The chain takes a home's readings only in increasing
 *          seq [TX-R6], so a reading included after a later one is lost; a node that
 *          reconnects receives its session's queued (older) readings while newer ones
 *          arrive live (10,000-home soak: 27,000 readings refused READING_OUT_OF_ORDER).
 * [MP-13] re-gossip: a transaction still waiting `afterMs` after this node last sent or
 *          received it is sent to the peers again, the oldest first, a few per slot
 *          (dueForGossip). A gossip the network lost once (a broker restart, a node's
 *          mempool full at the time) would otherwise wait for the one node that holds it to
 *          be elected, and on a node that never produces, until its date left the window
 *          (chain simulator: 10 of 100 seeds ended with an admitted transaction never
 *          included). The node's own justifications are not re-gossiped: every producer
 *          makes its own from the votes.
 * [MP-12] a block's candidates take every other transaction before any meter reading
 *          (each group in pool order). Bids must be in a block dated before their
 *          auction's close, readings only within the replay window: when readings queue
 *          up (10,000 homes on one 2-core machine), the bids behind them missed their
 *          auction (14,000–22,000 refused AUCTION_CLOSED per soak run).
 */
import { WireError } from '../../wire/errors.js';
import { operations, type Operation } from '../../schemas/envelope.js';
import { TxError, type TxErrorCode } from '../core/chainError.js';
import { StateDraft, type ChainState } from '../core/chainState.js';
import { applyTransaction, isTxEnvelope, type TxEnvelope } from '../core/applyTransaction.js';
import { slotAt, slotTime } from '../core/genesis.js';
import { txId as txIdOf } from '../core/txId.js';
import type { RejectedTx } from '../core/buildBlock.js';
import { chainCodec, type ChainCodec } from '../core/validateAndApplyBlock.js';

/** [MP-9] transient codes that time alone cures: retried at the next slot. */
export const TIME_TX_CODES: ReadonlySet<string> = new Set<TxErrorCode>(['AUCTION_NOT_DUE', 'REVEAL_NOT_DUE', 'READING_NOT_ENDED', 'CERT_NOT_VALID', 'DATE_OUT_OF_WINDOW', 'BAD_ROUND']);

/** TxError codes that may turn valid later, when other transactions are on chain or time passes. */
export const TRANSIENT_TX_CODES: ReadonlySet<string> = new Set<TxErrorCode>([
  'NOT_CERTIFIED',
  'CERT_NOT_VALID',
  'UNKNOWN_AUCTION',
  // [MKT] a reveal that arrives while its order is still waiting for a block
  'NO_SUCH_ORDER',
  'AUCTION_NOT_DUE',
  'REVEAL_NOT_DUE',
  'READING_NOT_ENDED',
  'INSUFFICIENT_FUNDS',
  'NOTHING_TO_REVOKE',
  'DATE_OUT_OF_WINDOW',
  // [FIN-J] a justification whose source's justification, or whose target block, is not on chain yet,
  // or whose round is the current slot's
  'UNJUSTIFIED_SOURCE',
  'UNKNOWN_TARGET',
  'BAD_ROUND',
]);

export interface MempoolOptions {
  now: () => number;
  codec?: ChainCodec;
  /** most transactions held (default 100,000) */
  maxCount?: number;
  /** most bytes held, JSON size (default 64 MiB) */
  maxBytes?: number;
  /** most transactions of one signer (default 5,000) */
  maxPerSigner?: number;
  /** failed inclusion attempts before a transaction is dropped (default 20) */
  maxAttempts?: number;
  /** called with each transaction admitted (after it is in the pool) */
  onAdmit?: (e: MempoolEntry) => void;
  /** called with the id of each transaction that leaves the pool (included, evicted, expired, dropped) */
  onRemove?: (id: string) => void;
}

export interface MempoolEntry {
  readonly id: string;
  readonly env: TxEnvelope;
  readonly bytes: number;
  readonly dateMs: number;
  readonly signer: string;
  readonly arrivedAt: number;
  /** [MP-13] when this node last sent it to its peers, or received it */
  gossipedAt: number;
  attempts: number;
  /** head hash at which its last build failed: not retried until the head changes */
  deferredAt?: string;
  /** for a time-cured failure: the slot it failed at; retried at any later slot */
  deferredSlot?: number;
}

export type AdmitStatus = 'admitted' | 'known' | 'on-chain' | 'rejected';

export interface AdmitResult {
  status: AdmitStatus;
  txId?: string;
  code?: string;
  message?: string;
}

export interface MempoolStats {
  /** transactions waiting, the node's own justifications excluded */
  count: number;
  /** [FIN-J] the node's justifications waiting for the next block */
  justifications: number;
  bytes: number;
  admitted: number;
  rejected: Record<string, number>;
  evicted: number;
  expired: number;
  included: number;
  dropped: number;
}

export class Mempool {
  private readonly entries = new Map<string, MempoolEntry>();
  private readonly perSigner = new Map<string, number>();
  private totalBytes = 0;
  private head: ChainState;
  private probe: StateDraft | undefined;
  private readonly codec: ChainCodec;
  private readonly maxCount: number;
  private readonly maxBytes: number;
  private readonly maxPerSigner: number;
  private readonly maxAttempts: number;
  private readonly counters = { admitted: 0, evicted: 0, expired: 0, included: 0, dropped: 0 };
  /** entries with attempts > 0: the only ones [MP-8] may evict */
  private failed = 0;
  private lastPruneAt = Number.NEGATIVE_INFINITY;
  private readonly rejectedByCode: Record<string, number> = {};

  constructor(head: ChainState, private readonly o: MempoolOptions) {
    this.head = head;
    this.codec = o.codec ?? chainCodec();
    // one interval of 10,000 homes' readings plus an auction's bids is 20,000 transactions:
    // the old limit of 20,000 refused (and so lost) 4,100 acknowledged readings in a soak run
    this.maxCount = o.maxCount ?? 100_000;
    this.maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
    this.maxPerSigner = o.maxPerSigner ?? 5_000;
    this.maxAttempts = o.maxAttempts ?? 20;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Entries in pool order (a copy). */
  list(): MempoolEntry[] {
    return [...this.entries.values()];
  }

  stats(): MempoolStats {
    return { count: this.blockWorthy, justifications: this.justificationCount, bytes: this.totalBytes, ...this.counters, rejected: { ...this.rejectedByCode } };
  }

  /** The state transactions are checked against (the node's head). */
  setHead(state: ChainState): void {
    if (state === this.head) return;
    this.head = state;
    this.probe = undefined;
  }

  /** Admits a transaction envelope (any JSON value). `bytes`: its size on the wire, if known. */
  admit(value: unknown, bytes?: number): AdmitResult {
    const r = this.check(value, bytes);
    if (r.status === 'rejected') this.rejectedByCode[r.code ?? 'UNKNOWN'] = (this.rejectedByCode[r.code ?? 'UNKNOWN'] ?? 0) + 1;
    return r;
  }

  private check(value: unknown, wireBytes?: number): AdmitResult {
    const g = this.head.genesis;
    // [MP-1]
    let size = wireBytes;
    if (size === undefined) {
      try {
        size = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
      } catch {
        return { status: 'rejected', code: 'NOT_AN_OBJECT', message: 'not serialisable' };
      }
    }
    const op = (value as { operation?: unknown } | null)?.operation;
    const limit = typeof op === 'string' && Object.prototype.hasOwnProperty.call(operations, op) ? operations[op as Operation].maxBytes : 16 * 1024;
    if (size > limit) return { status: 'rejected', code: 'MESSAGE_TOO_LARGE', message: `MESSAGE_TOO_LARGE bytes=${size} limit=${limit}` };
    // [MP-2]
    let env;
    try {
      env = this.codec.decodeValue(value, { replayCheck: false });
    } catch (err) {
      if (err instanceof WireError) return { status: 'rejected', code: err.code, message: err.message };
      throw err;
    }
    // [MP-3]
    if (!isTxEnvelope(env)) return { status: 'rejected', code: 'NOT_A_TX_OPERATION', message: `NOT_A_TX_OPERATION operation=${env.operation}` };
    const id = this.codec.idOf?.(env) ?? txIdOf(env);
    // [MP-4]
    if (this.entries.has(id)) return { status: 'known', txId: id };
    if (this.head.sections.seen.has(id)) return { status: 'on-chain', txId: id };
    // [MP-5]
    const now = this.o.now();
    const dateMs = Date.parse(env.date);
    if (dateMs < now - g.txWindowMs) return { status: 'rejected', txId: id, code: 'TX_EXPIRED', message: `TX_EXPIRED date=${env.date}` };
    if (dateMs > now + g.txFutureMs) return { status: 'rejected', txId: id, code: 'TX_FUTURE', message: `TX_FUTURE date=${env.date}` };
    // [MP-6]
    const problem = this.trial(env, id, now);
    if (problem && !TRANSIENT_TX_CODES.has(problem.code)) return { status: 'rejected', txId: id, code: problem.code, message: problem.message };
    // [MP-7]
    const signer = env.clientId;
    if ((this.perSigner.get(signer) ?? 0) >= this.maxPerSigner) {
      return { status: 'rejected', txId: id, code: 'SIGNER_QUOTA', message: `SIGNER_QUOTA signer=${signer} max=${this.maxPerSigner}` };
    }
    if (!this.makeRoom(size)) return { status: 'rejected', txId: id, code: 'MEMPOOL_FULL', message: `MEMPOOL_FULL count=${this.entries.size} bytes=${this.totalBytes}` };
    const entry: MempoolEntry = { id, env, bytes: size, dateMs, signer, arrivedAt: now, gossipedAt: now, attempts: 0 };
    this.insert(entry);
    this.counters.admitted++;
    this.o.onAdmit?.(entry);
    return { status: 'admitted', txId: id };
  }

  /** [MP-6] applies the transaction to a draft of the head and rolls it back. */
  private trial(env: TxEnvelope, id: string, now: number): TxError | undefined {
    const st = this.head;
    const g = st.genesis;
    const slot = Math.max(st.meta.tipSlot + 1, slotAt(g, now));
    this.probe ??= new StateDraft(st);
    const d = this.probe;
    d.begin();
    try {
      applyTransaction(env, { draft: d, height: st.meta.height + 1, slot, time: slotTime(g, slot), index: 0, txId: id });
      return undefined;
    } catch (err) {
      if (err instanceof TxError) return err;
      if (err instanceof WireError) return new TxError('BAD_ENCODING', { reason: err.code });
      throw err;
    } finally {
      d.rollback();
    }
  }

  /** [FIN-J] justifications waiting: they ride on blocks made for other reasons (a block of them alone counts as empty) */
  private justificationCount = 0;

  /** transactions that can make a block on their own: all but justifications [FIN-J] */
  get blockWorthy(): number {
    return this.entries.size - this.justificationCount;
  }

  private insert(e: MempoolEntry): void {
    if (e.env.operation === 'justification') this.justificationCount++;
    this.entries.set(e.id, e);
    this.totalBytes += e.bytes;
    this.perSigner.set(e.signer, (this.perSigner.get(e.signer) ?? 0) + 1);
  }

  private remove(id: string): MempoolEntry | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    this.entries.delete(id);
    if (e.env.operation === 'justification') this.justificationCount--;
    this.totalBytes -= e.bytes;
    if (e.attempts > 0) this.failed--;
    const n = (this.perSigner.get(e.signer) ?? 1) - 1;
    if (n <= 0) this.perSigner.delete(e.signer);
    else this.perSigner.set(e.signer, n);
    this.o.onRemove?.(id);
    return e;
  }

  private fits(bytes: number): boolean {
    return this.entries.size + 1 <= this.maxCount && this.totalBytes + bytes <= this.maxBytes;
  }

  /**
   * [MP-8] A full pool is a busy one: expired entries are looked for at most once a second
   * and the victim scan is skipped when no entry has failed (each is a pass over the pool:
   * per admission, they took a tenth of the 10,000-home soak's admission time).
   */
  private makeRoom(bytes: number): boolean {
    if (bytes > this.maxBytes) return false;
    if (this.fits(bytes)) return true;
    if (this.o.now() - this.lastPruneAt >= 1000) this.pruneExpired();
    while (!this.fits(bytes)) {
      if (this.failed === 0) return false;
      let victim: MempoolEntry | undefined;
      for (const e of this.entries.values()) if (e.attempts > 0 && (victim === undefined || e.attempts > victim.attempts)) victim = e;
      if (!victim) return false;
      this.remove(victim.id);
      this.counters.evicted++;
    }
    return true;
  }

  /** Drops transactions whose date has left the chain's window. Returns how many. */
  pruneExpired(): number {
    this.lastPruneAt = this.o.now();
    const cutoff = this.lastPruneAt - this.head.genesis.txWindowMs;
    let n = 0;
    for (const e of [...this.entries.values()]) {
      if (e.dateMs < cutoff) {
        this.remove(e.id);
        n++;
      }
    }
    this.counters.expired += n;
    return n;
  }

  /**
   * Candidates for a block at `slot` on the head `headHash`, within the limits: [MP-12]
   * other transactions, then meter readings [MP-11], each in pool order.
   */
  candidates(headHash: string, maxTxs: number, maxBytes: number, slot?: number): MempoolEntry[] {
    const out: MempoolEntry[] = [];
    let bytes = 0;
    for (const readings of [false, true]) {
      for (const e of this.entries.values()) {
        if (out.length >= maxTxs) break;
        if ((e.env.operation === 'meter-reading') !== readings) continue;
        if (e.deferredAt === headHash && (e.deferredSlot === undefined || slot === undefined || slot <= e.deferredSlot)) continue;
        if (bytes + e.bytes > maxBytes) continue;
        out.push(e);
        bytes += e.bytes;
      }
    }
    return inSeqOrder(out);
  }

  /** [MP-9] what a block build said about the candidates it was given. */
  recordBuild(headHash: string, candidates: readonly MempoolEntry[], rejected: readonly RejectedTx[], slot?: number): void {
    for (const r of rejected) {
      const e = candidates[r.index];
      if (!e || !this.entries.has(e.id)) continue;
      const timeCured = TIME_TX_CODES.has(r.code) && slot !== undefined;
      if (!TRANSIENT_TX_CODES.has(r.code) || (!timeCured && e.attempts + 1 >= this.maxAttempts)) {
        this.remove(e.id);
        this.counters.dropped++;
        continue;
      }
      if (!timeCured) {
        if (e.attempts === 0) this.failed++;
        e.attempts++;
      }
      e.deferredAt = headHash;
      if (timeCured) e.deferredSlot = slot;
      else delete e.deferredSlot;
    }
  }

  /** [MP-10] transactions now on chain leave the pool. Returns how many were here. */
  removeIncluded(ids: Iterable<string>): number {
    let n = 0;
    for (const id of ids) if (this.remove(id)) n++;
    this.counters.included += n;
    return n;
  }

  /**
   * [MP-10] transactions of orphaned blocks (in chain order) come back ahead of the pool,
   * through admission against the current head. Returns how many came back.
   */
  /**
   * [MP-13] Up to `max` transactions (justifications aside) last sent or received at or
   * before `now − afterMs`, oldest first; each is marked as sent now.
   */
  dueForGossip(now: number, afterMs: number, max: number): MempoolEntry[] {
    const due: MempoolEntry[] = [];
    if (max <= 0) return due;
    for (const e of this.entries.values()) {
      if (e.env.operation === 'justification' || e.gossipedAt > now - afterMs) continue;
      e.gossipedAt = now;
      due.push(e);
      if (due.length >= max) break;
    }
    return due;
  }

  readd(txs: readonly unknown[]): number {
    const back: MempoolEntry[] = [];
    for (const tx of txs) {
      const r = this.admit(tx);
      if (r.status === 'admitted' && r.txId !== undefined) back.push(this.entries.get(r.txId)!);
    }
    if (back.length === 0) return 0;
    const ids = new Set(back.map((e) => e.id));
    const rest = [...this.entries.values()].filter((e) => !ids.has(e.id));
    this.entries.clear();
    for (const e of [...back, ...rest]) this.entries.set(e.id, e);
    return back.length;
  }
}

/** [MP-11] Each address's meter readings put in seq order, in the places its readings held. */
export function inSeqOrder(list: MempoolEntry[]): MempoolEntry[] {
  const places = new Map<string, number[]>();
  for (let i = 0; i < list.length; i++) {
    const env = list[i]!.env;
    if (env.operation !== 'meter-reading') continue;
    const a = env.parameters.address;
    const at = places.get(a);
    if (at) at.push(i);
    else places.set(a, [i]);
  }
  for (const at of places.values()) {
    if (at.length < 2) continue;
    const sorted = at.map((i) => list[i]!).sort((x, y) => seqOf(x) - seqOf(y));
    for (let k = 0; k < at.length; k++) list[at[k]!] = sorted[k]!;
  }
  return list;
}

const seqOf = (e: MempoolEntry) => (e.env.parameters as { seq: number }).seq;
