/**
 * [BROKER-STUCK] Publishes that do not finish. aedes reads a connection's next packets only
 * once the current ones are handled, so one publish whose authorisation or forwarding never
 * calls back silences its connection for good, without an error. This watch names such
 * publishes: operations started and not ended within `afterMs` are reported once each, in
 * one summary per sweep (how many, the oldest, per stage, and a few examples), so that an
 * overloaded broker with thousands of slow publishes writes one line, not thousands. It
 * changes nothing; it tells where to look.
 *
 * Pure bookkeeping: the caller supplies the clock and runs `sweep()` on its own timer.
 */
export interface StuckInfo {
  clientId: string;
  topic: string;
  qos: number;
  bytes: number;
  /** authorize: the edge validator's verdict; forward: aedes' publish to subscribers and sessions */
  stage: 'authorize' | 'forward';
}

export interface StuckReport {
  /** newly past the limit in this sweep */
  newlyStuck: number;
  /** all open operations, stuck or not */
  pending: number;
  oldestAgeMs: number;
  byStage: Record<StuckInfo['stage'], number>;
  /** the first few, oldest first */
  examples: (StuckInfo & { ageMs: number })[];
}

export interface StuckPublishWatch {
  /** records an operation; call the returned function when it ends */
  start(info: StuckInfo): () => void;
  /** reports the operations that passed `afterMs` since the last sweep (one report, if any); how many are pending */
  sweep(): number;
  readonly pending: number;
}

export function createStuckPublishWatch(o: { afterMs: number; now: () => number; onStuck: (r: StuckReport) => void; examples?: number }): StuckPublishWatch {
  let seq = 0;
  const open = new Map<number, { info: StuckInfo; at: number; reported: boolean }>();
  return {
    start(info) {
      const id = ++seq;
      open.set(id, { info, at: o.now(), reported: false });
      return () => void open.delete(id);
    },
    sweep() {
      const t = o.now();
      const r: StuckReport = { newlyStuck: 0, pending: open.size, oldestAgeMs: 0, byStage: { authorize: 0, forward: 0 }, examples: [] };
      for (const e of open.values()) {
        // the map keeps insertion order: the oldest first
        if (t - e.at < o.afterMs) break;
        if (r.oldestAgeMs === 0) r.oldestAgeMs = t - e.at;
        if (e.reported) continue;
        e.reported = true;
        r.newlyStuck++;
        r.byStage[e.info.stage]++;
        if (r.examples.length < (o.examples ?? 3)) r.examples.push({ ...e.info, ageMs: t - e.at });
      }
      if (r.newlyStuck > 0) o.onStuck(r);
      return open.size;
    },
    get pending() {
      return open.size;
    },
  };
}
