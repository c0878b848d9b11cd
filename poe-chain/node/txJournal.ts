/**
 * [NODE-J] The node's journal: every transaction it receives is written to its store
 * (openChainStore.ts, `j:` keys) until it is on chain or refused, so a node whose process
 * dies or restarts takes up again the transactions it had received and not yet put in a
 * block. The broker has acknowledged them to their senders; without the journal, a lone
 * aggregator node restarted mid-auction lost the bids in its mempool.
 *
 *   record    each received message gets the next seq and is written as
 *             `<topic>\n<payload>`, in batches (one store write per event-loop turn)
 *   settle    after admission: refused, known or already on chain → deleted; admitted →
 *             kept, and deleted when the transaction leaves the mempool (on chain,
 *             evicted, expired, dropped)
 *   replay    at start the node admits the journal's entries again, in seq order
 *
 * What it does not cover: a message acknowledged by the node's MQTT client and not yet
 * written (the same event-loop turn), and a machine that loses power before the
 * operating system has written the store's log (writes are not fsynced).
 */
import type { ChainStore } from '../store/openChainStore.js';

/** What the journal needs of the chain store. */
export type JournalStore = Pick<ChainStore, 'journalWrite' | 'journalLoad'>;

/** A journal store that keeps nothing: a node run without a journal. */
export const NO_JOURNAL: JournalStore = { journalWrite: async () => undefined, journalLoad: async () => [] };

export interface JournalEntry {
  seq: number;
  topic: string;
  payload: string;
}

export class TxJournal {
  private nextSeq = 1;
  private readonly seqOfTx = new Map<string, number>();
  private puts = new Map<number, string>();
  private dels = new Set<number>();
  private writing: Promise<void> | undefined;
  private scheduled = false;
  private failures = 0;

  constructor(
    private readonly store: JournalStore,
    private readonly onError: (err: unknown) => void,
    private readonly schedule: (fn: () => void) => void = (fn) => void setImmediate(fn),
  ) {}

  /** the journal's entries, in seq order; later records get later seqs */
  async load(): Promise<JournalEntry[]> {
    const out: JournalEntry[] = [];
    for (const { seq, text } of await this.store.journalLoad()) {
      const nl = text.indexOf('\n');
      if (nl > 0) out.push({ seq, topic: text.slice(0, nl), payload: text.slice(nl + 1) });
      else this.dels.add(seq); // not written by this code: forget it
      if (seq >= this.nextSeq) this.nextSeq = seq + 1;
    }
    this.kick();
    return out;
  }

  /** records a received message; returns its seq */
  record(topic: string, payload: string): number {
    const seq = this.nextSeq++;
    this.puts.set(seq, `${topic}\n${payload}`);
    this.kick();
    return seq;
  }

  /** after admission: the transaction id when admitted, undefined otherwise */
  settle(seq: number, admittedTxId: string | undefined): void {
    if (admittedTxId !== undefined && !this.seqOfTx.has(admittedTxId)) {
      this.seqOfTx.set(admittedTxId, seq);
      return;
    }
    this.forget(seq);
  }

  /** a transaction left the mempool */
  removed(txId: string): void {
    const seq = this.seqOfTx.get(txId);
    if (seq === undefined) return;
    this.seqOfTx.delete(txId);
    this.forget(seq);
  }

  /** resolves once everything recorded so far is written */
  async flush(): Promise<void> {
    while (this.writing || this.puts.size > 0 || this.dels.size > 0) {
      if (this.writing) await this.writing;
      else this.write();
    }
  }

  stats(): { held: number; writeFailures: number } {
    return { held: this.seqOfTx.size, writeFailures: this.failures };
  }

  private forget(seq: number): void {
    if (!this.puts.delete(seq)) this.dels.add(seq);
    this.kick();
  }

  private kick(): void {
    if (this.scheduled || this.writing) return;
    if (this.puts.size === 0 && this.dels.size === 0) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      if (!this.writing) this.write();
    });
  }

  private write(): void {
    const puts = this.puts;
    const dels = this.dels;
    this.puts = new Map();
    this.dels = new Set();
    this.writing = this.store
      .journalWrite(puts, dels)
      .catch((err: unknown) => {
        this.failures++;
        this.onError(err);
      })
      .finally(() => {
        this.writing = undefined;
        this.kick();
      });
  }
}
