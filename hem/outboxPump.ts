/**
 * Sends the outbox in order over the MQTT session, QoS 1, and removes each entry only
 * after its PUBACK.
 *
 * [HEM-Q1] Order: entries go out in outbox order on one connection (MQTT keeps the order
 *          of QoS 1 publishes on a connection). At most `maxInFlight` are unacknowledged.
 * [HEM-Q2] Loss: an entry leaves the outbox only after its PUBACK; on a lost connection
 *          every unacknowledged entry is sent again after the reconnect, in order.
 * [HEM-Q3] Clock skew: receivers reject a `date` outside ±120 s. An entry whose envelope
 *          is older than `resignAfterMs` (default 90 s) is signed again when sent: new
 *          reqId and date, IDENTICAL parameters (a reading keeps its seq and interval).
 *          Receivers dedupe readings by (address, interval, seq), so a reading that was
 *          delivered but whose PUBACK was lost counts once. A younger entry is resent as
 *          it was (same reqId), and the edge's replay guard drops a second copy.
 * [HEM-Q4] Blocked signers: an entry signed by a pseudonym whose certificate has not
 *          arrived yet waits (the broker would reject it NOT_YOUR_ID); later entries of
 *          other signers pass it.
 * [HEM-Q5] Expiry: a bid whose auction has closed is dropped, not sent (it can no longer
 *          be accepted); readings and certificates never expire.
 */
import type { Logger } from 'pino';
import { encode, signEnvelope } from '../wire/codec.js';
import type { KeyPair } from '../wire/keys.js';
import type { Operation } from '../schemas/envelope.js';
import type { AnyEnvelope, Params } from '../schemas/types.js';
import type { HemStore, QueuedItem } from './hemStore.js';

/** What the pump needs from an MQTT session. */
export interface Transport {
  readonly connected: boolean;
  /** resolves on PUBACK (QoS 1); rejects when the message is abandoned (connection lost) */
  publish(topic: string, payload: Buffer, qos: 0 | 1): Promise<void>;
}

export interface OutboxPumpOptions {
  store: HemStore;
  transport: Transport;
  /** the key of a signer, and whether it may send now (certificate present) */
  signer(signer: string): { key: KeyPair; clientId: string; ready: boolean } | undefined;
  now?: () => number;
  resignAfterMs?: number;
  maxInFlight?: number;
  log?: Logger;
  /** called after each PUBACK (tests, metrics) */
  onSent?: (item: QueuedItem, sent: AnyEnvelope) => void;
}

export class OutboxPump {
  private readonly inFlight = new Set<string>();
  private readonly now: () => number;
  private readonly resignAfterMs: number;
  private readonly maxInFlight: number;
  private pending: Promise<void> = Promise.resolve();
  sentCount = 0;
  droppedCount = 0;

  constructor(private readonly o: OutboxPumpOptions) {
    this.now = o.now ?? Date.now;
    this.resignAfterMs = o.resignAfterMs ?? 90_000;
    this.maxInFlight = o.maxInFlight ?? 16;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Sends what can be sent now. Safe to call often. */
  pump(): void {
    const { transport, store } = this.o;
    if (!transport.connected) return;
    for (const item of store.queue()) {
      if (this.inFlight.size >= this.maxInFlight) break;
      if (this.inFlight.has(item.key)) continue;
      const e = item.entry;
      // [HEM-Q5]
      if (e.expiresAtMs !== undefined && this.now() > e.expiresAtMs) {
        this.inFlight.add(item.key);
        this.droppedCount++;
        this.o.log?.info({ event: 'outbox-expired', key: item.key, operation: e.operation, topic: e.topic }, 'dropped expired message');
        this.chain(store.remove(item.key).finally(() => this.inFlight.delete(item.key)));
        continue;
      }
      const s = this.o.signer(e.signer);
      if (!s) {
        this.o.log?.error({ event: 'outbox-no-key', key: item.key, signer: e.signer }, 'no key for queued message; kept');
        continue;
      }
      if (!s.ready) continue; // [HEM-Q4]
      const env = this.fresh(e.envelope, s.key, s.clientId);
      this.inFlight.add(item.key);
      transport.publish(e.topic, encode(env), 1).then(
        () => {
          this.sentCount++;
          this.o.onSent?.(item, env);
          this.chain(
            store.remove(item.key).then(
              () => {
                this.inFlight.delete(item.key);
                this.pump();
              },
              (err: unknown) => {
                this.inFlight.delete(item.key);
                this.o.log?.error({ event: 'outbox-remove-failed', key: item.key, err }, 'could not remove sent message');
              },
            ),
          );
        },
        () => {
          // [HEM-Q2] abandoned (connection lost): sent again after the reconnect
          this.inFlight.delete(item.key);
        },
      );
    }
  }

  /** Waits for outstanding store writes (tests, shutdown). */
  async settled(): Promise<void> {
    await this.pending;
  }

  private chain(p: Promise<unknown>): void {
    this.pending = this.pending.then(() => p).then(
      () => undefined,
      () => undefined,
    );
  }

  // [HEM-Q3]
  private fresh(env: AnyEnvelope, key: KeyPair, clientId: string): AnyEnvelope {
    if (this.now() - Date.parse(env.date) <= this.resignAfterMs) return env;
    return signEnvelope(key, env.operation as Operation, env.parameters as Params<Operation>, {
      clientId,
      date: new Date(this.now()),
    }) as AnyEnvelope;
  }
}
