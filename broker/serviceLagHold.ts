/**
 * [BROKER-HOLD] The broker's side of the hold (publishHold.ts is the rule with plain values):
 * which platform services are online, how far the worst of them lags, when each last
 * acknowledged, the publishes let through and not yet queued, and SERVICE_STUCK.
 *
 * - The lag is the largest queue of an online service session, in payload bytes, plus the
 *   homes' publishes already let through the hold and not yet queued (`forwarding`): the
 *   check comes before they reach the queue.
 * - An offline service holds nobody back.
 * - A service over the mark that has acknowledged nothing for `stuckAfterMs` is not lagging
 *   but stuck (or a hostile login): it is closed (`closeService`), so that it holds nobody
 *   back; its session keeps its messages for its return.
 * - A queue can shrink without an acknowledgement (a clean start): `recheck()` once a second.
 * - With the hold off the lag is still tracked (the metrics show it); nothing waits.
 */
import type { Logger } from 'pino';
import { PublishHold, type PublishHoldOptions } from './publishHold.js';

export interface ServiceLagHoldOptions {
  /** the marks and SERVICE_STUCK's silence; undefined: nobody is held (the lag is still tracked, for the metrics) */
  hold: (PublishHoldOptions & { stuckAfterMs: number }) | undefined;
  /** the sessions' queues, by client id (the broker's indexed outgoing queues) */
  queues: () => ReadonlyMap<string, { readonly bytes: number; readonly size: number }> | undefined;
  now: () => number;
  log: Logger;
  /** closes every connection of a stuck service */
  closeService: (clientId: string) => void;
  /** counts a SERVICE_STUCK close (metrics) */
  onStuck: () => void;
}

export interface ServiceLag {
  clientId?: string;
  bytes: number;
  messages: number;
}

export interface ServiceLagHold {
  /** a service logged in at `t` */
  online(clientId: string, t: number): void;
  /** a service's last connection closed */
  offline(clientId: string): void;
  /** a service acknowledged a message (its queue shrank) */
  acknowledged(clientId: string): void;
  /** a home's validated QoS 1 publish of `bytes`: `forward(release)` runs now or once the hold lets it go; it calls release when queued. True when it waits. */
  admit(bytes: number, forward: (release: () => void) => void): boolean;
  /** looks again while holding (a queue may have shrunk without an acknowledgement) */
  recheck(): void;
  /** the worst online service queue now */
  lag(): ServiceLag;
  stats(): { waiting: number; total: number; episodes: number; serviceQueue: number; serviceQueueBytes: number };
}

export function createServiceLagHold(o: ServiceLagHoldOptions): ServiceLagHold {
  const hold = o.hold && new PublishHold(o.hold);
  const stuckAfterMs = o.hold?.stuckAfterMs ?? Infinity;
  const onlineServices = new Set<string>();
  /** when each online service last acknowledged a message (or logged in) */
  const lastAckAt = new Map<string, number>();
  /** payload bytes of homes' publishes let through the hold and not yet queued (their forward not done) */
  let forwarding = 0;
  let holdBegan = 0;

  function lag(): ServiceLag {
    let worst: ServiceLag = { bytes: 0, messages: 0 };
    const queues = o.queues();
    for (const id of onlineServices) {
      const q = queues?.get(id);
      if (q && q.bytes > worst.bytes) worst = { clientId: id, bytes: q.bytes, messages: q.size };
    }
    return worst;
  }

  function update(): void {
    if (!hold) return;
    const wasHolding = hold.holding;
    const l = lag();
    const t = o.now();
    if (l.clientId !== undefined && l.bytes > hold.holdAbove && t - (lastAckAt.get(l.clientId) ?? t) > stuckAfterMs) {
      const stuckId = l.clientId;
      o.onStuck();
      o.log.warn({ clientId: stuckId, queuedBytes: l.bytes, silentMs: t - lastAckAt.get(stuckId)! }, 'SERVICE_STUCK a platform service acknowledged nothing while over the hold mark: closed');
      onlineServices.delete(stuckId);
      o.closeService(stuckId);
      return update();
    }
    if (hold.update(l.bytes + forwarding)) {
      holdBegan = t;
      o.log.warn({ clientId: l.clientId, queuedBytes: l.bytes, queuedMessages: l.messages }, 'a platform service lags: homes\' publishes held until it catches up');
    } else if (wasHolding && !hold.holding) {
      o.log.info({ heldMs: t - holdBegan, queuedBytes: l.bytes }, 'the service caught up: held publishes released');
    }
  }

  return {
    online(clientId, t) {
      onlineServices.add(clientId);
      lastAckAt.set(clientId, t);
    },
    offline(clientId) {
      if (onlineServices.delete(clientId)) update();
    },
    acknowledged(clientId) {
      if (!onlineServices.has(clientId)) return;
      lastAckAt.set(clientId, o.now());
      if (hold?.holding) update();
    },
    admit(bytes, forward) {
      if (!hold) {
        forward(() => {});
        return false;
      }
      update();
      return hold.admit(() => {
        forwarding += bytes;
        forward(() => {
          forwarding -= bytes;
        });
      }, bytes);
    },
    recheck() {
      if (hold?.holding) update();
    },
    lag,
    stats() {
      const l = lag();
      return { waiting: hold?.waiting ?? 0, total: hold?.heldTotal ?? 0, episodes: hold?.episodes ?? 0, serviceQueue: l.messages, serviceQueueBytes: l.bytes };
    },
  };
}
