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
 * [HEM-Q6] Refused but acknowledged: the broker acknowledges every QoS 1 publish (MQTT 3.1.1
 *          has no negative PUBACK) and says why it dropped one on the client's errors topic.
 *          A refusal that means "try again" (DIRECTORY_UNAVAILABLE: the broker could not
 *          reach the registry; RATE_LIMITED; VERIFIER_FAILED) puts the message back in the
 *          outbox, sent again after `retryAfterMs`, so a message the broker took and then
 *          dropped for its own reasons is not lost. The last `recentMax` acknowledged
 *          messages are kept in memory for this (the error may come before or after the
 *          PUBACK). Other refusals (schema, signature, identity) would fail again: logged only.
 * [HEM-Q7] Refused for its date (STALE_DATE: our clock was off by more than the broker's
 *          ±120 s when it was signed): back in the outbox too, held `staleRetryAfterMs`
 *          (default 30 s). When sent again it is signed again if its date is more than
 *          `resignAfterMs` away from our clock in either direction (the clock has been set
 *          right since), else sent as it was: a date that was ahead becomes acceptable as
 *          the broker's time catches up with it. The broker checks the date before it records
 *          a reqId, so the same bytes may be sent again.
 * [HEM-Q8] The chain [DOMAIN-TX]: with `genesisHash` set, a chain transaction (or a `tx`
 *          carrying one) waits in the outbox while the chain is unknown, and one signed
 *          without it (or for another chain than the one now known) is signed again for
 *          it when sent: new reqId and date, identical parameters, like [HEM-Q3].
 */
import type { Logger } from 'pino';
import { encode, signEnvelope } from '../wire/codec.js';
import type { KeyPair } from '../wire/keys.js';
import type { Operation } from '../schemas/envelope.js';
import type { AnyEnvelope, Envelope, Params } from '../schemas/types.js';
import type { HemStore, OutboxEntry, QueuedItem } from './hemStore.js';

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
  /** [HEM-Q6] delay before a refused message goes back in the outbox (default 2 s) */
  retryAfterMs?: number;
  /** [HEM-Q6] acknowledged messages remembered for a late refusal (default 256) */
  recentMax?: number;
  /** [HEM-Q7] delay before a message refused STALE_DATE is sent again (default 30 s) */
  staleRetryAfterMs?: number;
  /** [HEM-Q8] the chain's genesis hash (undefined while unknown); absent: entries are sent as queued */
  genesisHash?: () => string | undefined;
}

/** [HEM-Q8] what a HEM queues for the chain: these must name it (`tx` carries a certificate transaction) */
const CHAIN_TX_OPERATIONS: ReadonlySet<string> = new Set(['meter-reading', 'bid-offer', 'bid-reveal', 'market-order', 'market-reveal', 'tx']);

/** [HEM-Q6] broker refusals that say "try again later", not "this message is wrong" */
export const RETRYABLE_REFUSALS: ReadonlySet<string> = new Set(['DIRECTORY_UNAVAILABLE', 'RATE_LIMITED', 'VERIFIER_FAILED']);

export class OutboxPump {
  private readonly inFlight = new Set<string>();
  private readonly now: () => number;
  private readonly resignAfterMs: number;
  private readonly maxInFlight: number;
  private readonly retryAfterMs: number;
  private readonly staleRetryAfterMs: number;
  private pending: Promise<void> = Promise.resolve();
  /** [HEM-Q6] reqId as sent → entry: in flight, and the last `recentMax` acknowledged */
  private readonly inFlightReqIds = new Map<string, OutboxEntry>();
  private readonly recent = new Map<string, OutboxEntry>();
  /** reqId → refusal code, for a refusal that came before the PUBACK */
  private readonly refusedInFlight = new Map<string, string>();
  sentCount = 0;
  droppedCount = 0;
  retriedCount = 0;

  constructor(private readonly o: OutboxPumpOptions) {
    this.now = o.now ?? Date.now;
    this.resignAfterMs = o.resignAfterMs ?? 90_000;
    this.maxInFlight = o.maxInFlight ?? 16;
    this.retryAfterMs = o.retryAfterMs ?? 2000;
    this.staleRetryAfterMs = o.staleRetryAfterMs ?? 30_000;
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
      if (this.o.genesisHash && CHAIN_TX_OPERATIONS.has(e.operation) && this.o.genesisHash() === undefined) continue; // [HEM-Q8]
      // [HEM-Q6] held; a hold longer than any we set means the clock went back: send now
      if (e.notBeforeMs !== undefined && this.now() < e.notBeforeMs && e.notBeforeMs - this.now() <= Math.max(this.retryAfterMs, this.staleRetryAfterMs)) continue;
      const env = this.fresh(e.envelope, s.key, s.clientId);
      this.inFlight.add(item.key);
      this.inFlightReqIds.set(env.reqId, e);
      transport.publish(e.topic, encode(env), 1).then(
        () => {
          this.sentCount++;
          this.inFlightReqIds.delete(env.reqId);
          const refusal = this.refusedInFlight.get(env.reqId);
          if (refusal !== undefined) {
            this.refusedInFlight.delete(env.reqId);
            this.retryLater(e, refusal);
          } else this.remember(env.reqId, e);
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
          this.inFlightReqIds.delete(env.reqId);
          this.refusedInFlight.delete(env.reqId);
        },
      );
    }
  }

  /**
   * [HEM-Q6] The broker refused the message sent with `reqId` (an `error` on our errors
   * topic). Returns true when it will be sent again.
   */
  refused(reqId: string, code: string): boolean {
    if (!RETRYABLE_REFUSALS.has(code) && code !== 'STALE_DATE') return false;
    const done = this.recent.get(reqId);
    if (done !== undefined) {
      this.recent.delete(reqId);
      this.retryLater(done, code);
      return true;
    }
    if (this.inFlightReqIds.has(reqId)) {
      this.refusedInFlight.set(reqId, code); // its PUBACK is still to come
      return true;
    }
    return false;
  }

  private remember(reqId: string, e: OutboxEntry): void {
    this.recent.set(reqId, e);
    const max = this.o.recentMax ?? 256;
    while (this.recent.size > max) this.recent.delete(this.recent.keys().next().value as string);
  }

  private retryLater(e: OutboxEntry, code: string): void {
    this.retriedCount++;
    this.o.log?.info({ event: 'outbox-retry', operation: e.operation, topic: e.topic, code }, 'broker refused a message for now; queued again');
    const delay = code === 'STALE_DATE' ? this.staleRetryAfterMs : this.retryAfterMs;
    // back in the (durable) outbox at once, held until notBeforeMs
    this.chain(this.o.store.commit([], [{ ...e, notBeforeMs: this.now() + delay }]));
    setTimeout(() => this.pump(), delay + 5).unref();
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

  // [HEM-Q3], [HEM-Q7]: too old, or dated ahead by a clock since set back; [HEM-Q8] not for the chain
  private fresh(env: AnyEnvelope, key: KeyPair, clientId: string): AnyEnvelope {
    const chain = this.o.genesisHash && CHAIN_TX_OPERATIONS.has(env.operation) ? this.o.genesisHash() : undefined;
    const inner = env.operation === 'tx' ? env.parameters.tx : undefined;
    const forOtherChain = chain !== undefined && (inner ? inner.clientId === clientId && inner.chain !== chain : env.chain !== chain);
    if (!forOtherChain && Math.abs(this.now() - Date.parse(env.date)) <= this.resignAfterMs) return env;
    const date = new Date(this.now());
    if (inner && forOtherChain) {
      // the certificate transaction inside, signed by the same key, is signed again for the chain
      const tx = signEnvelope(key, inner.operation as Operation, inner.parameters as Params<Operation>, { clientId, date, chain: chain! });
      return signEnvelope(key, 'tx', { tx: tx as unknown as Envelope<'tx'>['parameters']['tx'] }, { clientId, date }) as AnyEnvelope;
    }
    const named = inner ? env.chain : (chain ?? env.chain);
    return signEnvelope(key, env.operation as Operation, env.parameters as Params<Operation>, {
      clientId,
      date,
      ...(named !== undefined ? { chain: named } : {}),
    }) as AnyEnvelope;
  }

}
