/**
 * [BROKER-REPLAY] A persistent session that reconnects while messages flow is not closed
 * for a message it has already acknowledged.
 *
 * When a client takes over its session, aedes subscribes the new connection first and then
 * replays the session's queue (a snapshot). Meanwhile live messages reach both the old and
 * the new connection. A message can therefore be acknowledged (and removed from the queue)
 * through one path before the other path assigns it a packet id: aedes' `outgoingUpdate`
 * then fails with "no such packet", and aedes treats that as a client error and closes the
 * new connection, which reconnects and replays again. A busy subscriber could cycle like
 * this for a while. Nothing is lost either way: the message was acknowledged.
 *
 * Here that failure is treated as "already acknowledged": the update succeeds without
 * touching the store and the packet is marked. On the replay path aedes asks
 * `authorizeForward` next, which refuses a marked packet, so it is not sent again; its
 * clean-up (`outgoingClearMessageId`) is skipped, since that would match by packet id alone
 * and could remove another message. On the live path the message was already forwarded
 * through the other connection; it goes out once more, which QoS 1 allows.
 *
 * A clean-up without a packet id (aedes' `dedupe` path, which passes the emitted message
 * before any id is assigned) is skipped: in the memory persistence it would remove the first
 * queued message not yet sent, an unrelated one. The message it meant stays queued and is
 * sent again at the next reconnect.
 */
interface OutgoingPersistence {
  outgoingUpdate(client: unknown, packet: object): Promise<unknown>;
  outgoingClearMessageId(client: unknown, packet: object): Promise<unknown>;
}

export interface SessionQueueRace {
  /** true for a packet found already acknowledged; authorizeForward must not send it */
  alreadyAcked(packet: object): boolean;
  /** how many times that was seen */
  readonly count: number;
}

export function tolerateAckedInQueue(persistence: unknown, onAcked: (packet: object) => void = () => undefined): SessionQueueRace {
  const p = persistence as Partial<OutgoingPersistence> | null;
  if (!p || typeof p.outgoingUpdate !== 'function' || typeof p.outgoingClearMessageId !== 'function') {
    throw new Error('PERSISTENCE_UNSUPPORTED the aedes persistence has no outgoingUpdate/outgoingClearMessageId');
  }
  const update = p.outgoingUpdate.bind(p);
  const clear = p.outgoingClearMessageId.bind(p);
  const acked = new WeakSet<object>();
  let count = 0;
  p.outgoingUpdate = (client, packet) =>
    update(client, packet).catch((err: unknown) => {
      if ((err as Error | undefined)?.message !== 'no such packet') throw err;
      acked.add(packet);
      count++;
      onAcked(packet);
      return undefined;
    });
  // aedes' dedupe clears by the emitted packet, which has no packet id yet: the memory
  // persistence would remove the first queued message not yet sent, whatever it is
  p.outgoingClearMessageId = (client, packet) =>
    acked.has(packet) || (packet as { messageId?: unknown }).messageId === undefined ? Promise.resolve(undefined) : clear(client, packet);
  return {
    alreadyAcked: (packet) => acked.has(packet),
    get count() {
      return count;
    },
  };
}
