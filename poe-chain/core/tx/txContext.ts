/** What a transaction handler gets: the draft state and where the transaction sits. */
import type { StateDraft } from '../chainState.js';

export interface TxContext {
  readonly draft: StateDraft;
  /** height of the block being applied */
  readonly height: number;
  readonly slot: number;
  /** block time = slot start, ms: the chain's clock for every rule */
  readonly time: number;
  /** index of the transaction in its block */
  readonly index: number;
  readonly txId: string;
}

/** [AUC-1] chain order of a transaction: height × 100000 + index (index < 100000). */
export function inclusionOf(ctx: TxContext): number {
  return ctx.height * 100_000 + ctx.index;
}

/** Keeps a sorted string list sorted. */
export function insertSorted(list: readonly string[], item: string): string[] {
  const out = [...list];
  let lo = 0;
  let hi = out.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (out[mid]! < item) lo = mid + 1;
    else hi = mid;
  }
  if (out[lo] !== item) out.splice(lo, 0, item);
  return out;
}
