/**
 * Blocks a node cannot judge yet, bounded:
 *   orphans  their parent is unknown: kept (by parent hash) until the parent arrives,
 *            by sync or gossip; the oldest go first when full
 *   held     [NODE-future] their slot starts more than one slot after the local clock:
 *            kept until it does (then validated like any block); a block more than
 *            holdSlots slots ahead is refused at once (SLOT_IN_FUTURE)
 */
export interface PendingBlock {
  hash: string;
  parent: string;
  height: number;
  slot: number;
  raw: unknown;
  source: string;
}

export class PendingBlocks {
  private readonly orphans = new Map<string, PendingBlock>();
  private readonly held = new Map<string, PendingBlock>();

  constructor(private readonly maxOrphans = 1024, private readonly maxHeld = 256) {}

  get orphanCount(): number {
    return this.orphans.size;
  }

  get heldCount(): number {
    return this.held.size;
  }

  has(hash: string): boolean {
    return this.orphans.has(hash) || this.held.has(hash);
  }

  /** kept because its parent is unknown */
  isOrphan(hash: string): boolean {
    return this.orphans.has(hash);
  }

  addOrphan(b: PendingBlock): void {
    if (this.orphans.has(b.hash)) return;
    if (this.orphans.size >= this.maxOrphans) this.orphans.delete(this.orphans.keys().next().value!);
    this.orphans.set(b.hash, b);
  }

  /** Orphans waiting for `parent`, removed from the pool, lowest height first. */
  takeChildren(parent: string): PendingBlock[] {
    const out: PendingBlock[] = [];
    for (const b of this.orphans.values()) if (b.parent === parent) out.push(b);
    for (const b of out) this.orphans.delete(b.hash);
    return out.sort((a, b) => a.height - b.height || a.slot - b.slot);
  }

  /** The lowest orphan height, if any (where a sync should reach). */
  lowestOrphanHeight(): number | undefined {
    let h: number | undefined;
    for (const b of this.orphans.values()) if (h === undefined || b.height < h) h = b.height;
    return h;
  }

  hold(b: PendingBlock): boolean {
    if (this.held.has(b.hash)) return true;
    if (this.held.size >= this.maxHeld) return false;
    this.held.set(b.hash, b);
    return true;
  }

  /** Held blocks whose slot is now due (slot ≤ dueSlot), removed, in slot order. */
  takeDue(dueSlot: number): PendingBlock[] {
    const out: PendingBlock[] = [];
    for (const b of this.held.values()) if (b.slot <= dueSlot) out.push(b);
    for (const b of out) this.held.delete(b.hash);
    return out.sort((a, b) => a.slot - b.slot || a.height - b.height);
  }

  /** Drops orphans and held blocks at or below `height` (they can no longer matter). */
  pruneBelow(height: number): void {
    for (const [h, b] of this.orphans) if (b.height <= height) this.orphans.delete(h);
    for (const [h, b] of this.held) if (b.height <= height) this.held.delete(h);
  }
}
