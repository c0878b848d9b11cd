/**
 * The simulator's invariants, as checks over views of the nodes (so that a test can feed
 * each one a crafted, inconsistent view and see it fail: test/sim/simInvariants.test.ts).
 *
 *   [SIM-FINAL]    no two honest nodes hold different final blocks at one height, no honest
 *                  node's final block ever changes, and it is on the node's own chain
 *                  (FinalityCheck)
 *   [SIM-MONEY]    on every head state: Σ wallets = Σ genesis balances + Σ block rewards the
 *                  state records (the only mint [REWARD]; an equivocator's forfeit takes
 *                  back from both), and the rewards never exceed blockRewardMc per W slots
 *                  of chain time (moneyViolation)
 *   [SIM-CONVERGE] after the faults stop, every honest node has the same head within a
 *                  bounded simulated time (headsAgree; the bound is simulate.ts's)
 *   [SIM-NO-LOSS]  every transaction a node admitted is on the converged chain, except in
 *                  the cases the node documents (lostTxVerdict)
 */
import type { ChainState } from '../core/chainState.js';

export type InvariantName = 'final-conflict' | 'final-changed' | 'final-off-chain' | 'money' | 'mint-bound' | 'convergence' | 'lost-tx' | 'node-error';

export interface Violation {
  invariant: InvariantName;
  detail: string;
}

/** A node's final block: what `finalOf` (simulate.ts) reads. */
export interface FinalBlock {
  height: number;
  hash: string;
}

/**
 * [SIM-FINAL] Remembers, for every height, the first final block an honest node showed,
 * and for every node the highest final block it showed.
 */
export class FinalityCheck {
  private readonly byHeight = new Map<number, { hash: string; node: string }>();
  private readonly frontier = new Map<string, FinalBlock>();

  /**
   * Records `node`'s final block `fin`; `hashAt(h)` is the node's canonical block at height
   * h ≤ fin.height (its blocks below a final block are final too). `headHeight`: the height
   * of the node's head (after a restart it may stand below an earlier final block).
   */
  async observe(node: string, fin: FinalBlock, headHeight: number, hashAt: (h: number) => Promise<string | undefined>): Promise<Violation | undefined> {
    const prev = this.frontier.get(node);
    // the final block is on the node's own chain: its head descends from it [FC-2]
    if (fin.height > 0 && fin.height <= headHeight) {
      const canonical = await hashAt(fin.height);
      if (canonical !== undefined && canonical !== fin.hash) {
        return { invariant: 'final-off-chain', detail: `node=${node} final=${fin.height}:${fin.hash} chain=${canonical} head=${headHeight}` };
      }
    }
    // a final block never changes: while the node's chain reaches it, it is still there
    if (prev && prev.height > 0 && headHeight >= prev.height) {
      const now = prev.height === fin.height ? fin.hash : await hashAt(prev.height);
      if (now !== undefined && now !== prev.hash) {
        return { invariant: 'final-changed', detail: `node=${node} height=${prev.height} was=${prev.hash} now=${now}` };
      }
    }
    // final blocks agree across nodes, at every height up to this one
    for (let h = (prev?.height ?? 0) + 1; h <= fin.height; h++) {
      const hash = h === fin.height ? fin.hash : await hashAt(h);
      if (hash === undefined) continue;
      const seen = this.byHeight.get(h);
      if (seen === undefined) this.byHeight.set(h, { hash, node });
      else if (seen.hash !== hash) {
        return { invariant: 'final-conflict', detail: `height=${h} ${seen.node}=${seen.hash} ${node}=${hash}` };
      }
    }
    if (!prev || fin.height > prev.height) this.frontier.set(node, fin);
    return undefined;
  }

  /** the highest height any honest node has shown final */
  get maxFinal(): number {
    let m = 0;
    for (const f of this.frontier.values()) m = Math.max(m, f.height);
    return m;
  }
}

/** [SIM-MONEY] money is conserved and minted only as block rewards, within their rate. */
export function moneyViolation(state: ChainState): Violation | undefined {
  let wallets = 0n;
  for (const [, v] of state.sections.wallets.entries()) wallets += BigInt(v);
  let rewards = 0n;
  for (const [, v] of state.sections.rewards.entries()) rewards += BigInt(v);
  let genesis = 0n;
  for (const b of state.genesis.config.balances) genesis += BigInt(b.millicents);
  const at = `height=${state.meta.height} tip=${state.tipHash}`;
  if (wallets !== genesis + rewards) {
    return { invariant: 'money', detail: `${at} wallets=${wallets} genesis=${genesis} rewards=${rewards} difference=${wallets - genesis - rewards}` };
  }
  // [REWARD] ⌊blockRewardMc × min(s − p, W) / W⌋ per block: at most blockRewardMc per W slots
  const g = state.genesis;
  const bound = (BigInt(g.config.blockRewardMc) * BigInt(state.meta.tipSlot)) / BigInt(g.patience);
  if (rewards > bound) return { invariant: 'mint-bound', detail: `${at} rewards=${rewards} bound=${bound} tipSlot=${state.meta.tipSlot}` };
  return undefined;
}

/** [SIM-CONVERGE] every listed head is the same block */
export function headsAgree(heads: readonly { node: string; hash: string }[]): boolean {
  return heads.length > 0 && heads.every((h) => h.hash === heads[0]!.hash);
}

/** What happened to a transaction at one honest node that admitted it. */
export interface Holding {
  node: string;
  /** the node keeps a journal [NODE-J] */
  journal: boolean;
  /** how it last entered that node's mempool: submit, gossip (a topic), or [MP-10] back from an orphaned block */
  via: 'submit' | 'gossip' | 'readd';
  /** simulated ms of that admission */
  at: number;
  /** the node crashed after that admission */
  crashedAfter: boolean;
  /**
   * at the end, the node's answer to the same transaction submitted again: `known` = it
   * still waits in its mempool; anything else = the node no longer holds it
   */
  probe?: string;
}

export type LostVerdict =
  | { lost: false }
  | { lost: true; excused: string }
  | { lost: true; known: 'stranded'; detail: string }
  | { lost: true; detail: string };

/**
 * [SIM-NO-LOSS] A transaction admitted and not on the converged chain.
 *
 *   excused   what the node documents (node/README.md "Journal" [NODE-J]): every honest node
 *             that held it crashed afterwards where its journal does not reach — it runs
 *             without one (`journal: false`, the HEM's chain node), or the transaction came
 *             back from an orphaned block [MP-10]
 *   stranded  a known issue (README "Simulation", bugs found): the rest still hold it in
 *             their mempools, waiting, and no node that gets to produce has it (a node never
 *             gossips a transaction again)
 *   violation anything else: a node forgot it, refused it, or its journal lost it
 */
export function lostTxVerdict(txId: string, onChain: boolean, holdings: readonly Holding[]): LostVerdict {
  if (onChain) return { lost: false };
  const documented = (h: Holding) => h.crashedAfter && (!h.journal || h.via === 'readd');
  const rest = holdings.filter((h) => !documented(h));
  if (holdings.length > 0 && rest.length === 0) {
    return { lost: true, excused: holdings.every((h) => !h.journal) ? 'NODE-J journal off' : 'NODE-J MP-10 readd' };
  }
  const who = holdings.map((h) => `${h.node}(${h.via}@${h.at}${h.crashedAfter ? ',crashed' : ''}${h.journal ? ',journal' : ''}${h.probe ? `,now:${h.probe}` : ''})`).join(' ');
  const detail = `tx=${txId} holders=${who || 'none'}`;
  if (rest.length > 0 && rest.every((h) => !h.crashedAfter && h.probe === 'known')) return { lost: true, known: 'stranded', detail };
  return { lost: true, detail };
}
