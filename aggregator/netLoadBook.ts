/**
 * The metered net load per interval, summed over homes (pure; no I/O).
 *
 * A recent interval keeps one value per home, so a reading sent twice (a HEM resends after
 * a lost PUBACK) replaces its first copy instead of counting twice. Once an interval is
 * `keepPerHome` intervals old only its sum is kept: 10,000 homes × 4 days of per-home
 * values was ~4 million map entries, and nothing reads them after the interval's end.
 * A reading for an interval already summed is ignored (returns false). Sums older than
 * `keepIntervals` are dropped.
 */
export class NetLoadBook {
  private readonly perHome = new Map<number, Map<string, number>>();
  private readonly sums = new Map<number, number>();
  /** intervals below this are summed (or gone) */
  private summedBelow = -Infinity;

  constructor(private readonly o: { keepPerHome: number; keepIntervals: number }) {}

  /** net Wh of one home in interval i (+ import, − export); false if i is already summed */
  add(i: number, address: string, netWh: number): boolean {
    if (i < this.summedBelow) return false;
    let m = this.perHome.get(i);
    if (!m) this.perHome.set(i, (m = new Map()));
    m.set(address, netWh);
    return true;
  }

  /** the summed net load of interval i, Wh; undefined when no home reported */
  total(i: number): number | undefined {
    const m = this.perHome.get(i);
    if (m === undefined) return this.sums.get(i);
    if (m.size === 0) return undefined;
    let s = 0;
    for (const v of m.values()) s += v;
    return s;
  }

  /** called at the end of interval `current`: sums what is now old, drops what is older still */
  age(current: number): void {
    const sumBelow = current - this.o.keepPerHome;
    for (const i of [...this.perHome.keys()]) {
      if (i >= sumBelow) continue;
      const t = this.total(i);
      if (t !== undefined) this.sums.set(i, t);
      this.perHome.delete(i);
    }
    this.summedBelow = Math.max(this.summedBelow, sumBelow);
    for (const i of [...this.sums.keys()]) if (i < current - this.o.keepIntervals) this.sums.delete(i);
  }

  /** per-home values held (tests, metrics) */
  get perHomeEntries(): number {
    let n = 0;
    for (const m of this.perHome.values()) n += m.size;
    return n;
  }
}
