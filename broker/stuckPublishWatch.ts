/**
 * [BROKER-STUCK] Publishes that do not finish. aedes reads a connection's next packets only
 * once the current ones are handled, so one publish whose authorisation or forwarding never
 * calls back silences its connection for good, without an error: in a 10,000-home soak with
 * home chain nodes the aggregator's chain node stopped being read (its blocks no longer
 * reached anyone) while every other connection went on. This watch names such a publish: an
 * operation started and not ended within `afterMs` is reported once, with what it was and
 * how long it has waited. It changes nothing; it tells where to look.
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

export interface StuckPublishWatch {
  /** records an operation; call the returned function when it ends */
  start(info: StuckInfo): () => void;
  /** reports (once each) the operations older than `afterMs`; how many are pending */
  sweep(): number;
  readonly pending: number;
}

export function createStuckPublishWatch(o: { afterMs: number; now: () => number; onStuck: (info: StuckInfo & { ageMs: number; pending: number }) => void }): StuckPublishWatch {
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
      for (const e of open.values()) {
        // the map keeps insertion order: the oldest first
        if (t - e.at < o.afterMs) break;
        if (e.reported) continue;
        e.reported = true;
        o.onStuck({ ...e.info, ageMs: t - e.at, pending: open.size });
      }
      return open.size;
    },
    get pending() {
      return open.size;
    },
  };
}
