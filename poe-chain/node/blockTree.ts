/**
 * The recent blocks a node holds in memory with their resulting states: the canonical
 * chain down to the last final block and every valid side branch above it. Fork choice
 * compares the tips here; a reorg takes the new branch's states from here. Blocks below
 * the final height are pruned (the store keeps the canonical ones).
 */
import type { ChainState } from '../core/chainState.js';
import type { TipInfo } from '../core/forkChoice.js';
import type { BlockEnvelope } from '../core/validateAndApplyBlock.js';

export interface TreeNode extends TipInfo {
  readonly parent: string;
  /** undefined for a base loaded from the store (genesis or a restart head) */
  readonly block?: BlockEnvelope;
  readonly txIds: readonly string[];
  readonly state: ChainState;
}

export class BlockTree {
  private readonly nodes = new Map<string, TreeNode>();
  /** height → hash on the canonical chain, for the heights held here */
  private readonly canon = new Map<number, string>();

  get size(): number {
    return this.nodes.size;
  }

  get(hash: string): TreeNode | undefined {
    return this.nodes.get(hash);
  }

  has(hash: string): boolean {
    return this.nodes.has(hash);
  }

  add(node: TreeNode): void {
    this.nodes.set(node.hash, node);
  }

  remove(hash: string): void {
    this.nodes.delete(hash);
  }

  /** The canonical hash at a height, when that height is held here. */
  canonicalAt(height: number): string | undefined {
    return this.canon.get(height);
  }

  setCanonical(height: number, hash: string): void {
    this.canon.set(height, hash);
  }

  /** Forgets the canonical hashes above `height` (a reorg or a rewind). */
  dropCanonicalAbove(height: number): void {
    for (const h of [...this.canon.keys()]) if (h > height) this.canon.delete(h);
  }

  /** The nodes from just above `ancestorHeight` up to `tip`, oldest first (all must be held). */
  branch(tip: TreeNode, ancestorHeight: number): TreeNode[] {
    const out: TreeNode[] = [];
    let n: TreeNode | undefined = tip;
    while (n && n.height > ancestorHeight) {
      out.push(n);
      n = this.nodes.get(n.parent);
    }
    if (out.length !== tip.height - ancestorHeight) throw new Error(`TREE_GAP tip=${tip.hash} height=${tip.height} ancestorHeight=${ancestorHeight}`);
    return out.reverse();
  }

  /** The held tips (nodes no other node names as parent) that descend from `ancestor` (or are it). */
  tipsFrom(ancestor: { height: number; hash: string }): TreeNode[] {
    const parents = new Set<string>();
    for (const n of this.nodes.values()) parents.add(n.parent);
    const out: TreeNode[] = [];
    for (const n of this.nodes.values()) {
      if (parents.has(n.hash) || n.height < ancestor.height) continue;
      let a: TreeNode | undefined = n;
      while (a !== undefined && a.height > ancestor.height) a = this.nodes.get(a.parent);
      if (a?.hash === ancestor.hash) out.push(n);
    }
    return out;
  }

  /** Drops every node and canonical entry below `minHeight`. Returns how many nodes went. */
  prune(minHeight: number): number {
    let n = 0;
    for (const [hash, node] of this.nodes) {
      if (node.height < minHeight) {
        this.nodes.delete(hash);
        n++;
      }
    }
    for (const h of [...this.canon.keys()]) if (h < minHeight) this.canon.delete(h);
    return n;
  }
}
