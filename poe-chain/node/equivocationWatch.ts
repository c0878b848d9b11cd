/**
 * [POE-7.equivocation] Watches signed headers for two by one producer for one slot and one
 * place in it [SUB].
 * Every header whose signature verified is observed (valid block or not: the signature
 * alone is the producer's commitment); the first conflicting pair is returned once per
 * producer, for the node to submit as an `evidence` transaction.
 */
import type { Evidence, SignedHeader } from '../../schemas/types.js';
import { blockHash, equivocationProblem } from '../core/blockHash.js';

export class EquivocationWatch {
  private readonly first = new Map<string, { hash: string; signed: SignedHeader }>();
  private readonly reported = new Set<string>();

  constructor(
    /** the genesis hash: header signatures are checked for this chain [DOMAIN] */
    private readonly chain: string,
    private readonly maxEntries = 8192,
  ) {}

  get size(): number {
    return this.first.size;
  }

  /** Records a signed header; returns evidence when it conflicts with one seen before. */
  observe(signed: SignedHeader): Evidence | undefined {
    const { producer, slot, sub } = signed.header;
    const key = `${producer}|${slot}|${sub ?? 0}`;
    const hash = blockHash(signed.header);
    const prev = this.first.get(key);
    if (prev === undefined) {
      if (this.first.size >= this.maxEntries) this.first.delete(this.first.keys().next().value!);
      this.first.set(key, { hash, signed: { header: signed.header, headerSignature: signed.headerSignature } });
      return undefined;
    }
    if (prev.hash === hash || this.reported.has(producer)) return undefined;
    const b: SignedHeader = { header: signed.header, headerSignature: signed.headerSignature };
    if (equivocationProblem(prev.signed, b, this.chain) !== undefined) return undefined;
    this.reported.add(producer);
    return { a: prev.signed, b };
  }

  /** Forgets headers of slots before `slot`. */
  pruneBefore(slot: number): void {
    for (const [k, v] of this.first) if (v.signed.header.slot < slot) this.first.delete(k);
  }
}
