/**
 * Virtual time for the simulator. Time moves only when the simulator runs the next task:
 * deferred work (setImmediate) first, in the order it was queued, then the earliest timer
 * (ties in the order they were set), whose time becomes the clock's. Between two tasks the
 * simulator lets the process's own microtasks run out (simulate.ts `settle`), so a task and
 * all the promise work it starts happen "at one instant".
 *
 * Every task may belong to an owner (one incarnation of a node): a crash marks the owner
 * dead and its tasks are skipped, as a killed process's timers are.
 */
import type { NodeScheduler } from '../node/nodeContext.js';

export interface SimOwner {
  readonly name: string;
  alive: boolean;
}

export interface SimTask {
  readonly at: number;
  readonly seq: number;
  readonly label: string;
  readonly owner: SimOwner | undefined;
  readonly fn: () => void;
  cancelled: boolean;
}

function earlier(x: SimTask, y: SimTask): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

/** A binary min-heap of tasks by (at, seq). */
class TaskHeap {
  private readonly xs: SimTask[] = [];

  get size(): number {
    return this.xs.length;
  }

  peek(): SimTask | undefined {
    return this.xs[0];
  }

  push(t: SimTask): void {
    const xs = this.xs;
    xs.push(t);
    let i = xs.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!earlier(xs[i]!, xs[p]!)) break;
      [xs[i], xs[p]] = [xs[p]!, xs[i]!];
      i = p;
    }
  }

  pop(): SimTask | undefined {
    const xs = this.xs;
    const top = xs[0];
    const last = xs.pop();
    if (xs.length > 0 && last !== undefined) {
      xs[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < xs.length && earlier(xs[l]!, xs[m]!)) m = l;
        if (r < xs.length && earlier(xs[r]!, xs[m]!)) m = r;
        if (m === i) break;
        [xs[i], xs[m]] = [xs[m]!, xs[i]!];
        i = m;
      }
    }
    return top;
  }
}

export class SimClock {
  private t: number;
  private seq = 0;
  private readonly timers = new TaskHeap();
  private immediates: SimTask[] = [];
  private immediateHead = 0;

  constructor(startMs: number) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  /** a simulator event at an absolute time (not before now) */
  at(time: number, label: string, fn: () => void, owner?: SimOwner): SimTask {
    const task: SimTask = { at: Math.max(time, this.t), seq: this.seq++, label, owner, fn, cancelled: false };
    this.timers.push(task);
    return task;
  }

  /** deferred work at the current instant, after the work already deferred */
  soon(label: string, fn: () => void, owner?: SimOwner): void {
    this.immediates.push({ at: this.t, seq: this.seq++, label, owner, fn, cancelled: false });
  }

  /**
   * The scheduler a node incarnation is given: its timers fire `jitter()` ms late (a real
   * timer is never early, and often a little late); its monotonic clock is virtual time,
   * so an admission slice never runs out (work takes no virtual time).
   */
  schedulerFor(owner: SimOwner, jitter: () => number = () => 0): NodeScheduler {
    return {
      setTimeout: (fn, ms) => this.at(this.t + Math.max(0, ms) + jitter(), `${owner.name}:timer`, fn, owner),
      clearTimeout: (handle) => {
        if (handle !== undefined && handle !== null) (handle as SimTask).cancelled = true;
      },
      setImmediate: (fn) => this.soon(`${owner.name}:immediate`, fn, owner),
      monotonic: () => this.t,
    };
  }

  /** tasks still to run (cancelled and dead owners' included until they are reached) */
  get pending(): number {
    return this.timers.size + this.immediates.length - this.immediateHead;
  }

  /** time of the earliest timer, if any */
  nextTimerAt(): number | undefined {
    return this.timers.peek()?.at;
  }

  /**
   * Takes the next live task: deferred work first, then the earliest timer due at or before
   * `until` (the clock moves to its time). Undefined when none is left before `until`
   * (the clock then moves to `until`).
   */
  next(until: number): SimTask | undefined {
    while (this.immediateHead < this.immediates.length) {
      const task = this.immediates[this.immediateHead++]!;
      if (this.immediateHead > 1024 && this.immediateHead * 2 > this.immediates.length) {
        this.immediates = this.immediates.slice(this.immediateHead);
        this.immediateHead = 0;
      }
      if (live(task)) return task;
    }
    for (;;) {
      const top = this.timers.peek();
      if (top === undefined || top.at > until) {
        if (until > this.t && Number.isFinite(until)) this.t = until;
        return undefined;
      }
      this.timers.pop();
      if (!live(top)) continue;
      this.t = top.at;
      return top;
    }
  }
}

function live(t: SimTask): boolean {
  return !t.cancelled && (t.owner === undefined || t.owner.alive);
}
