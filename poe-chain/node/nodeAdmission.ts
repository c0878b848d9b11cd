/**
 * [NODE-admit] Admission (README "Admission queue", "Journal"): received transaction
 * messages wait in two lanes (admissionQueue.ts), bids and auctions ahead of readings,
 * and enter the mempool a slice at a time; while the queue is at its high-water mark the
 * MQTT client's acknowledgement waits (backpressure). [NODE-J] each one is journaled
 * (txJournal.ts) until on chain or refused, and admitted again at start.
 */
import type { MqttClient } from 'mqtt';
import type { Codec } from '../../wire/codec.js';
import { WireError } from '../../wire/errors.js';
import type { AnyEnvelope } from '../../schemas/types.js';
import { TX_OPERATIONS } from '../core/applyTransaction.js';
import { txId as txIdOf } from '../core/txId.js';
import { AdmissionQueue, type AdmissionQueueStats } from './admissionQueue.js';
import type { AdmitResult } from './mempool.js';
import { every, type NodeContext } from './nodeContext.js';
import { NODE_TOPICS, nodeRouteOf, type NodeRoute } from './nodeTopics.js';
import type { TxJournal } from './txJournal.js';
import { startVerify, type TxVerifyPool } from './txVerifyPool.js';

/** [NODE-J] transactions submitted in this process are journaled under this topic */
export const LOCAL_TOPIC = 'local';

export interface NodeAdmission {
  /** queues a transaction message (route kind tx or wrapped-tx) received on `topic` */
  receive(topic: string, payload: Buffer, route: NodeRoute): void;
  /** [NODE-J] queues what the journal holds, in the order received; how many */
  replayJournal(): Promise<number>;
  /** the mempool's verdict on a transaction message on `topic`; a refusal is counted as dropped */
  settled(r: AdmitResult, topic: string): string | undefined;
  stats(): AdmissionQueueStats & { verifiedAhead: number };
  /** how long the oldest message waiting for admission has waited (ms; 0 when none) */
  backlogMs(): number;
  /** resolves when the queue is empty */
  idle(): Promise<void>;
  /** forgets the queue (still in the journal) and gives the MQTT client back its handlers */
  close(): void;
}

export interface NodeAdmissionParts {
  mqtt: MqttClient;
  journal: TxJournal;
  /** wrappers, with the replay guard */
  msgCodec: Codec;
  admissionLimit?: { highWater?: number; highWaterBytes?: number } | undefined;
  /** [NODE-verify] transactions waiting behind the current slice are verified on it meanwhile */
  verifyPool?: TxVerifyPool | undefined;
}

// [NODE-admit] transactions wait in two lanes and are admitted a slice at a time
// (admissionQueue.ts): bids and auctions never queue behind a backlog of readings
/** [NODE-admit] how a meter reading wrapped in a gossiped `tx` envelope shows in its JSON text */
const WRAPPED_READING = '"operation":"meter-reading"';

interface Received {
  topic: string;
  text: string;
  bytes: number;
  route: NodeRoute;
  /** [NODE-J] its journal entry */
  seq: number;
  /** replayed from the journal at start */
  replay?: boolean;
  /** parsed ahead of its turn (its text did not parse: `parsed` false) */
  parsed?: { ok: boolean; value?: unknown };
}

export function createNodeAdmission(ctx: NodeContext, parts: NodeAdmissionParts): NodeAdmission {
  const { mempool, log, nodeId } = ctx;
  const { mqtt, journal, msgCodec } = parts;
  const drop = ctx.drop;

  const admission = new AdmissionQueue<Received>({
    handle: (m) => {
      if (!ctx.closed()) journal.settle(m.seq, admitReceived(m));
    },
    onError: (err, m) => {
      journal.settle(m.seq, undefined);
      log.error({ err: (err as Error).message, topic: m.topic }, 'admission failed');
    },
    clock: ctx.scheduler.monotonic,
    schedule: ctx.scheduler.setImmediate,
    ...parts.admissionLimit,
    ...(parts.verifyPool ? { ahead: verifyAhead } : {}),
  });
  let verifiedAhead = 0;

  /**
   * [NODE-verify] the messages behind the current slice: parsed now, and their transactions'
   * signatures checked by the verify pool while the main thread admits the ones before them;
   * each valid one is remembered by the node's codec, so its admission does not verify it
   * again. A wrapper's own signature and replay guard are still checked at its turn, and a
   * transaction the pool has not answered for by then is verified there as before.
   */
  function verifyAhead(items: Received[]): void {
    const txs: unknown[] = [];
    for (const m of items) {
      try {
        m.parsed = { ok: true, value: JSON.parse(m.text) };
      } catch {
        m.parsed = { ok: false };
        continue;
      }
      const v = m.parsed.value as { operation?: unknown; parameters?: { tx?: unknown } } | null;
      const tx = m.route.kind === 'wrapped-tx' ? (v?.operation === 'tx' ? v.parameters?.tx : undefined) : v;
      if (typeof tx === 'object' && tx !== null) txs.push(tx);
    }
    if (txs.length > 0) void startVerify(parts.verifyPool!, ctx.txCodec, txs).workersDone.then((n) => void (verifiedAhead += n));
  }
  // backpressure: while the queue is at its high-water mark, the MQTT client's
  // acknowledgement of the message just queued — and with it the reading of the next
  // one — waits, so a backlog stays with the broker, unacknowledged, instead of here
  const ownHandleMessage = Object.prototype.hasOwnProperty.call(mqtt, 'handleMessage');
  const previousHandleMessage = mqtt.handleMessage;
  // a hold that outlives its connection is dropped, never released onto the next one (its
  // PUBACK would name a packet of the old connection); the broker sends the message again
  let connection = 0;
  const onClose = () => void connection++;
  mqtt.on('close', onClose);
  mqtt.handleMessage = (packet, callback) => {
    previousHandleMessage.call(mqtt, packet, (err?: Error) => {
      if (err) return callback(err);
      if (admission.hasRoom()) return callback();
      const at = connection;
      void admission.whenRoom().then(() => {
        if (at === connection) callback();
      });
    });
  };
  const warnHeld = every(ctx.now, 10_000);

  /** admits a received transaction message; the transaction id when it entered the mempool */
  function admitReceived({ topic, text, bytes, route, replay, parsed }: Received): string | undefined {
    let value: unknown;
    try {
      if (parsed && !parsed.ok) throw new SyntaxError('parsed ahead');
      value = parsed ? parsed.value : JSON.parse(text);
    } catch {
      drop('MALFORMED_JSON', topic);
      return undefined;
    }
    if (route.kind === 'wrapped-tx') {
      if (replay) {
        // the wrapper only carried it here (its replay guard is ±120 s): the transaction
        // inside is checked in full by admission
        value = (value as { operation?: unknown; parameters?: { tx?: unknown } } | null)?.operation === 'tx' ? (value as { parameters: { tx?: unknown } }).parameters.tx : undefined;
      } else {
        // [MP-13] a transaction this node holds already (another node's re-gossip): nothing to
        // verify, the wrapper included
        if (holdsInner(value)) return undefined;
        let env: AnyEnvelope;
        try {
          env = msgCodec.decodeValue(value);
        } catch (err) {
          if (err instanceof WireError) {
            drop(err.code, topic, err.message);
            return undefined;
          }
          throw err;
        }
        if (env.operation !== 'tx') {
          drop('TOPIC_MISMATCH', topic, env.operation);
          return undefined;
        }
        value = env.parameters.tx;
      }
      return settled(mempool.admit(value), topic);
    }
    const op = (value as { operation?: unknown } | null)?.operation;
    if (typeof op !== 'string' || !(route.operations as readonly string[]).includes(op)) {
      drop('TOPIC_MISMATCH', topic, String(op));
      return undefined;
    }
    return settled(mempool.admit(value, bytes), topic);
  }

  /** the wrapped transaction's id is in the mempool (the id is the hash of the whole signed envelope) */
  function holdsInner(value: unknown): boolean {
    const inner = (value as { parameters?: { tx?: unknown } } | null)?.parameters?.tx;
    if (inner === null || typeof inner !== 'object') return false;
    try {
      return mempool.has(txIdOf(inner));
    } catch {
      return false; // not canonical JSON: the codec says why
    }
  }

  function settled(r: AdmitResult, topic: string): string | undefined {
    if (r.status === 'rejected') drop(`TX_${r.code ?? 'REJECTED'}`, topic, r.message);
    return r.status === 'admitted' ? r.txId : undefined;
  }

  /**
   * [NODE-admit] readings in their own lane, everything else ahead of them. A reading that
   * another node re-gossiped on chain/txs [MP-13] waits in the readings lane too: ahead of
   * them it reached a block before the same home's earlier reading still waiting in that
   * lane, and the chain then refused the earlier one READING_OUT_OF_ORDER for good (a 45×
   * soak with a second chain node: 136 acknowledged readings). The lane is only a schedule:
   * a wrapper that merely looks like a reading is checked in full at its turn all the same.
   */
  function queueReceived(m: Received): void {
    const reading = m.topic === NODE_TOPICS.readings || (m.route.kind === 'wrapped-tx' && m.text.includes(WRAPPED_READING));
    admission.push(reading ? 'readings' : 'urgent', m, m.bytes);
  }

  const routeOfJournaled = (topic: string): NodeRoute | undefined => (topic === LOCAL_TOPIC ? { kind: 'tx', operations: TX_OPERATIONS } : nodeRouteOf(topic, nodeId));

  function receive(topic: string, payload: Buffer, route: NodeRoute): void {
    const text = payload.toString('utf8');
    // this node's own gossip, which the broker delivers back to it (it is subscribed to the topic it publishes on)
    if (route.kind === 'wrapped-tx' && ownWrapper(text)) return;
    queueReceived({ topic, text, bytes: payload.length, route, seq: journal.record(topic, text) });
    if (!admission.hasRoom() && warnHeld()) log.warn({ waiting: admission.size }, 'admission falling behind: holding further messages at the broker');
  }

  function ownWrapper(text: string): boolean {
    try {
      return (JSON.parse(text) as { clientId?: unknown } | null)?.clientId === ctx.key.address;
    } catch {
      return false; // admission drops it as MALFORMED_JSON
    }
  }

  async function replayJournal(): Promise<number> {
    let replayed = 0;
    for (const e of await journal.load()) {
      const route = routeOfJournaled(e.topic);
      if (!route || (route.kind !== 'tx' && route.kind !== 'wrapped-tx')) {
        journal.settle(e.seq, undefined);
        continue;
      }
      queueReceived({ topic: e.topic, text: e.payload, bytes: Buffer.byteLength(e.payload, 'utf8'), route, seq: e.seq, replay: true });
      replayed++;
    }
    return replayed;
  }

  return {
    receive,
    replayJournal,
    settled,
    stats: () => ({ ...admission.stats(), verifiedAhead }),
    backlogMs: () => admission.oldestWaitMs(),
    idle: () => admission.idle(),
    close() {
      mqtt.off('close', onClose);
      if (ownHandleMessage) mqtt.handleMessage = previousHandleMessage;
      else delete (mqtt as { handleMessage?: unknown }).handleMessage;
      admission.clear(); // still in the journal: admitted again at the next start
    },
  };
}
