/**
 * Follows the chain by applying the blocks it is offered (from tmi/v1/chain/blocks and
 * observed sync responses) to its own copy of the chain state — poe-chain's state
 * transition, usually on poe-chain's level ChainStore so that a restart resumes at its
 * head — and turns each applied block into facts with chainStateFacts.
 *
 * It follows the first valid chain it sees: a block extends the head or waits (bounded)
 * for its missing parents; a block at or below the head is ignored. Fork choice is the
 * chain nodes' job; a node that exposes its applied blocks can call chainStateFacts itself.
 */
import type { Logger } from 'pino';
import type { ChainState } from '../../poe-chain/core/chainState.js';
import type { AppliedBlock, ApplyContext } from '../../poe-chain/core/validateAndApplyBlock.js';
import { checkFact, type Fact } from '../facts.js';
import { chainStateFacts } from './chainStateFacts.js';

/** What the follower needs of a chain store (poe-chain's ChainStore fits). */
export interface ChainSource {
  readonly state: ChainState;
  readonly head: { height: number; hash: string };
  importBlock(block: unknown, ctx: ApplyContext): Promise<AppliedBlock>;
}

export interface ChainFollowerOptions {
  chain: ChainSource;
  ingest: (facts: Fact[]) => Promise<unknown>;
  log: Logger;
  /** the clock blocks are checked against (a block from the future is rejected) */
  now?: () => number;
  /** most blocks held waiting for their parents (default 1,000) */
  maxPending?: number;
}

export interface ChainFollowerStats {
  height: number;
  hash: string;
  applied: number;
  rejected: Record<string, number>;
  ignoredOld: number;
  pending: number;
  pendingDropped: number;
  /** facts from the chain state that failed their schema (dropped) */
  badFacts: number;
}

export interface ChainFollower {
  /** Offers a block envelope (any JSON value); applies it and any waiting children in order. */
  offer(block: unknown): Promise<void>;
  stats(): ChainFollowerStats;
}

function heightOf(block: unknown): number | undefined {
  const h = (block as { parameters?: { header?: { height?: unknown } } } | null)?.parameters?.header?.height;
  return typeof h === 'number' && Number.isSafeInteger(h) && h >= 0 ? h : undefined;
}

export function createChainFollower(o: ChainFollowerOptions): ChainFollower {
  const now = o.now ?? Date.now;
  const maxPending = o.maxPending ?? 1_000;
  const pending = new Map<number, unknown[]>();
  let pendingCount = 0;
  const st = { applied: 0, rejected: {} as Record<string, number>, ignoredOld: 0, pendingDropped: 0, badFacts: 0 };
  let tail: Promise<void> = Promise.resolve();

  function hold(height: number, block: unknown): void {
    const list = pending.get(height) ?? [];
    if (list.length >= 4) return; // a few candidates per height at most
    list.push(block);
    pending.set(height, list);
    pendingCount++;
    while (pendingCount > maxPending) {
      const highest = Math.max(...pending.keys());
      pendingCount -= pending.get(highest)?.length ?? 0;
      st.pendingDropped += pending.get(highest)?.length ?? 0;
      pending.delete(highest);
    }
  }

  async function apply(block: unknown): Promise<boolean> {
    const prev = o.chain.state;
    let applied: AppliedBlock;
    try {
      applied = await o.chain.importBlock(block, { now: now() });
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ERROR';
      st.rejected[code] = (st.rejected[code] ?? 0) + 1;
      o.log.debug({ err, height: heightOf(block) }, 'chain block rejected');
      return false;
    }
    st.applied++;
    const facts = chainStateFacts(prev, applied).filter((f) => {
      try {
        checkFact(f);
        return true;
      } catch (err) {
        st.badFacts++;
        o.log.warn({ err, kind: f.kind }, 'chain fact dropped');
        return false;
      }
    });
    await o.ingest(facts);
    return true;
  }

  async function offerNow(block: unknown): Promise<void> {
    const h = heightOf(block);
    if (h === undefined) {
      st.rejected.NO_HEIGHT = (st.rejected.NO_HEIGHT ?? 0) + 1;
      return;
    }
    const head = o.chain.head.height;
    if (h <= head) {
      st.ignoredOld++;
      return;
    }
    if (h > head + 1) {
      hold(h, block);
      return;
    }
    if (!(await apply(block))) return;
    // children waiting for this block
    for (;;) {
      const nextHeight = o.chain.head.height + 1;
      const waiting = pending.get(nextHeight);
      if (waiting === undefined) break;
      pending.delete(nextHeight);
      pendingCount -= waiting.length;
      let ok = false;
      for (const b of waiting) if ((ok = await apply(b))) break;
      if (!ok) break;
    }
    for (const k of [...pending.keys()]) {
      if (k <= o.chain.head.height) {
        pendingCount -= pending.get(k)?.length ?? 0;
        pending.delete(k);
      }
    }
  }

  return {
    offer(block) {
      const run = tail.then(() => offerNow(block));
      tail = run.catch((err: unknown) => o.log.error({ err }, 'chain follower failed'));
      return run;
    },
    stats: () => ({ height: o.chain.head.height, hash: o.chain.head.hash, ...st, rejected: { ...st.rejected }, pending: pendingCount }),
  };
}
