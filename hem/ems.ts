/**
 * The Energy Management System of a HEM (DESIGN §1, §2, §4): meters every interval,
 * answers auctions with the TCR's decision, executes awards, and keeps the pseudonym
 * certified. Everything it sends goes through the durable outbox (hemStore.ts,
 * outboxPump.ts); everything it receives is decoded and signature-checked by the codec.
 *
 * What is sent when (topics under tmi/v1/):
 *   every interval end   meter-reading  readings            pseudonym  QoS 1, via outbox
 *                        state          meters/{id}/state   meter key  QoS 0, live only
 *   each auction-open    bid-offer      auctions/{id}/bids  pseudonym  QoS 1, via outbox, ≤ 1 s
 *   each new pseudonym   tx{certificate} chain/txs          pseudonym  QoS 1, via outbox
 *   each interval        market-order   market/orders       pseudonym  QoS 1, via outbox (marketTrader.ts)
 *   at order close       market-reveal  market/orders       pseudonym  QoS 1, via outbox
 */
import type { Logger } from 'pino';
import { createCodec, signEnvelope, encode } from '../wire/codec.js';
import { isWireError } from '../wire/errors.js';
import type { KeyPair } from '../wire/keys.js';
import { paymentMillicents } from '../wire/quantities.js';
import type { AnyEnvelope, AuctionOpen, AuctionResult, Envelope, MarketResult, MeterReading, OpenBid } from '../schemas/types.js';
import { decide, type Decision, type DecisionTrace, type HomeForecast } from '../tcr/decide.js';
import type { TcrParams } from '../tcr/tcrParams.js';
import { sealBid } from '../poe-chain/core/auction/sealedBid.js';
import { cpf } from './cpf.js';
import { addReading, NO_ENERGY, type EnergyTotals } from './energyTotals.js';
import type { HemStore, OutboxEntry, StoreWrite } from './hemStore.js';
import { withBatteryLimits, type HemStatus, type HomeDevices, type IntervalMeasurement } from './homeDevices.js';
import { fromWireInterval, homeSeconds, intervalAt, toWireInterval, type Interval } from './meteringInterval.js';
import { chainOption } from './chainPin.js';
import { OutboxPump } from './outboxPump.js';
import type { Pseudonym, PseudonymBook } from './pseudonyms.js';
import type { MqttSession } from './mqttSession.js';
import type { HemReplayGuard } from './hemReplayGuard.js';
import { keepReading } from './readingWatch.js';
import { createMarketTrader, MARKET_TOPICS, type MarketOrderRecord, type MarketTiming, type MarketTrader } from './marketTrader.js';
import type { MarketOrderParams } from '../tcr/decideMarketOrder.js';

export const TOPICS = {
  auctions: 'tmi/v1/auctions/+',
  results: 'tmi/v1/auctions/+/result',
  readings: 'tmi/v1/readings',
  txs: 'tmi/v1/chain/txs',
  bids: (auctionId: string) => `tmi/v1/auctions/${auctionId}/bids`,
  state: (meterId: string) => `tmi/v1/meters/${meterId}/state`,
  errors: (meterId: string) => `tmi/v1/clients/${meterId}/errors`,
  marketResults: MARKET_TOPICS.results,
} as const;

/** What the store keeps per auction (key b:<auctionId>). */
export interface BidRecord {
  readonly auctionId: string;
  readonly decidedAtMs: number;
  /** null: the TCR made no bid (reason says why) */
  readonly bid: { type: 'buy' | 'sell'; energyWh: number; priceMcPerKWh: number; address: string; reqId: string } | null;
  readonly reason: string | null;
  readonly delivery: { start: string; end: string };
  readonly award?: { energyWh: number; priceMcPerKWh: number; powerW: number; deliverWh: number };
  /**
   * [SEALED] a sealed bid's opening, stored with the bid before the bid is sent (one
   * batch), so the HEM can reveal it after a restart; `revealed` once queued
   */
  readonly seal?: { bid: OpenBid; salt: string; closesAt: string; revealed?: boolean };
  /** what decide() was given and its trace (records made before this field have none) */
  readonly inputs?: { soc: number; forecast: HomeForecast; speed: number; trace: DecisionTrace };
}

/** An auction the HEM did not answer and did not store (no pseudonym, device, sealed key). */
export interface SkippedAuction {
  readonly auctionId: string;
  readonly atMs: number;
  readonly reason: string;
  readonly why?: string;
  readonly delivery: { start: string; end: string };
}

/** Read-only history for the home page (hem/homePage/): in memory, bounded, since start. */
export interface EmsHistory {
  readonly records: readonly BidRecord[];
  readonly skipped: readonly SkippedAuction[];
  /** auction results received over MQTT, by auction id */
  readonly results: ReadonlyMap<string, AuctionResult>;
  /** readings made since start, oldest first */
  readonly readings: readonly MeterReading[];
  /** [P2P] the home's P2P decisions (oldest first) and the results of their intervals, by delivery start */
  readonly market?: { readonly records: readonly MarketOrderRecord[]; readonly results: ReadonlyMap<number, MarketResult> };
}

const HISTORY_MAX = 400;
function remember<K, V>(m: Map<K, V>, k: K, v: V): void {
  m.delete(k);
  m.set(k, v);
  if (m.size > HISTORY_MAX) m.delete(m.keys().next().value as K);
}

export interface SessionHandlers {
  onMessage(topic: string, payload: Buffer, retained: boolean): void;
  onConnect(): void;
}

export interface EmsOptions {
  /** [HEM-R1] keep each signed reading until the reading watch sees it on chain (homes with a chain node) */
  keepReadings?: boolean;
  meterId: string;
  meterKey: KeyPair;
  store: HemStore;
  pseudonyms: PseudonymBook;
  devices: HomeDevices;
  tcr: TcrParams;
  /** address of the aggregator key: auction messages signed by anyone else are dropped */
  aggregatorAddress: string;
  /** address of the broker's error-signing key, if known (a function: pinned later, brokerPin.ts) */
  brokerAddress?: string | (() => string | undefined);
  /**
   * [DOMAIN-TX] the genesis hash of the chain (hem/chainPin.ts), named by every chain
   * transaction the HEM signs; undefined while unknown (the outbox signs again once known)
   */
  genesisHash?: () => string | undefined;
  /** [HEM-IN] persistent replay guard of live envelopes (hemReplayGuard.ts); absent: none */
  replayGuard?: HemReplayGuard;
  intervalMs: number;
  speed: number;
  /** 0..1: fraction of an award actually delivered (1 = all; < 1 for penalty tests) */
  underDeliverFactor: number;
  skewMs?: number;
  resignAfterMs?: number;
  /** largest number of missed intervals metered after a restart (default 96) */
  maxCatchUp?: number;
  connect(h: SessionHandlers): MqttSession;
  /** [HEM-CLOCK] a date was refused as out of tolerance (by the broker, or by our codec on input) */
  onStaleDate?(): void;
  /** [P2P] trade in the peer-to-peer market (absent: no orders) */
  market?: { params: MarketOrderParams; timing: MarketTiming };
  /** more figures for status() (runHem: settled earnings from the chain node) */
  statusExtra?(): Partial<HemStatus>;
  now?: () => number;
  log: Logger;
}

export interface Ems {
  start(): Promise<void>;
  /**
   * [HEM-HALT] no new work from now on: no interval metered, no order, no reveal, no rotation
   * (what is in flight still finishes). stop() halts first; runHem halts before it closes the
   * home's chain node, which shares the MQTT session and may take seconds to close.
   */
  halt(): void;
  stop(): Promise<void>;
  /** meters every interval that has ended and not been metered (called by the timer) */
  meterDue(): Promise<void>;
  status(): HemStatus;
  readonly pump: OutboxPump;
  readonly session: MqttSession | undefined;
  /** read-only: what the home page shows */
  history(): EmsHistory;
}

export function createEms(o: EmsOptions): Ems {
  const now = o.now ?? Date.now;
  const log = o.log;
  const codec = createCodec({ skewMs: o.skewMs ?? 120_000, now, replayCheck: false });
  /** [DOMAIN-TX] the sign option naming the chain of a chain transaction */
  const forChain = (): { chain?: string } => chainOption(o.genesisHash);
  const answered = new Map<string, BidRecord>();
  const skipped = new Map<string, SkippedAuction>();
  const results = new Map<string, AuctionResult>();
  const readings: MeterReading[] = [];
  let session: MqttSession | undefined;
  let lastMetered: number | undefined; // end of the last metered interval
  let lastReading: MeterReading | undefined;
  let lastBid: { type: 'buy' | 'sell'; energyWh: number } | undefined;
  let lastAwardWh = 0;
  let earnings = 0;
  let energy: EnergyTotals = NO_ENERGY;
  let meterTimer: NodeJS.Timeout | undefined;
  const revealTimers = new Set<NodeJS.Timeout>();
  let rotateTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let metering: Promise<void> = Promise.resolve();
  let ensuring: Promise<void> | undefined;
  let ensureFailures = 0;

  const pump = new OutboxPump({
    store: o.store,
    transport: {
      get connected() {
        return session?.connected ?? false;
      },
      publish: (t, p, q) => (session ? session.publish(t, p, q) : Promise.reject(new Error('no session'))),
    },
    signer(signer) {
      if (signer === 'meter') return { key: o.meterKey, clientId: o.meterId, ready: true };
      const p = o.pseudonyms.get(signer);
      return p ? { key: p.key, clientId: p.key.address, ready: p.record.cert !== undefined } : undefined;
    },
    now,
    resignAfterMs: o.resignAfterMs ?? 90_000,
    ...(o.genesisHash ? { genesisHash: o.genesisHash } : {}),
    log,
    // the broker acknowledged it (PUBACK): from here the platform holds it, not the outbox
    onSent: (item, sent) => {
      const p = sent.parameters as { auctionId?: string; seq?: number; orderId?: string };
      log.info({
        event: 'sent', operation: sent.operation, reqId: sent.reqId, clientId: sent.clientId, ...(p.auctionId !== undefined ? { auctionId: p.auctionId } : {}),
        ...(p.seq !== undefined ? { seq: p.seq } : {}), ...(p.orderId !== undefined ? { orderId: p.orderId } : {}),
      }, 'acknowledged by the broker');
    },
  });

  // [P2P] the peer-to-peer market: its set-points join the awards' (summedPowerW)
  const market: MarketTrader | undefined = o.market
    ? createMarketTrader({
        market: o.market.params,
        timing: o.market.timing,
        speed: o.speed,
        store: o.store,
        pseudonyms: o.pseudonyms,
        devices: o.devices,
        tcr: o.tcr,
        pump,
        awardWh: (i) => (awardsPowerW(i) * homeSeconds(i.endMs - i.startMs, o.speed)) / 3600,
        auctionWh: (i) => (awardsPowerW(i) * homeSeconds(i.endMs - i.startMs, o.speed)) / 3600 + pendingBidsWh(i),
        setpointW: (i) => (hasAward(i) || market?.fillPowerW(i) != null ? summedPowerW(i) : null),
        reschedule: (i, label) => o.devices.scheduleSetpoint({ ...i, powerW: summedPowerW(i), auctionId: label }),
        programmeTrades,
        ...(o.genesisHash ? { genesisHash: o.genesisHash } : {}),
        now,
        log,
      })
    : undefined;

  function status(): HemStatus {
    return {
      soc: o.devices.batteryState().soc,
      lastBidWh: lastBid?.energyWh ?? 0,
      lastBidType: lastBid?.type ?? 'none',
      awardWh: lastAwardWh,
      earningsMillicents: earnings,
      queued: o.store.queued,
      connected: session?.connected ?? false,
      energyWh: energy,
      ...o.statusExtra?.(),
    };
  }

  // ── pseudonyms ──────────────────────────────────────────────────────────────

  function ensurePseudonym(): Promise<void> {
    if (ensuring) return ensuring;
    ensuring = o.pseudonyms
      .ensure()
      .then(
        async () => {
          ensureFailures = 0;
          await o.pseudonyms.prune();
          pump.pump();
          scheduleRotation(o.pseudonyms.nextRotationAt());
        },
        (err: unknown) => {
          ensureFailures++;
          const delay = Math.min(60_000, 1000 * 2 ** Math.min(6, ensureFailures - 1));
          log.warn({ event: 'pseudonym-retry', err: (err as Error).message, retryInMs: delay }, 'could not get a pseudonym certificate');
          scheduleRotation(now() + delay);
        },
      )
      .finally(() => {
        ensuring = undefined;
      });
    return ensuring;
  }

  function scheduleRotation(at: number | undefined): void {
    if (stopped || at === undefined) return;
    clearTimeout(rotateTimer);
    rotateTimer = setTimeout(() => void ensurePseudonym(), Math.min(2 ** 31 - 1, Math.max(0, at - now())));
    rotateTimer.unref?.();
  }

  // ── metering ────────────────────────────────────────────────────────────────

  function meterDue(): Promise<void> {
    metering = metering.then(meterAll, (err: unknown) => {
      log.error({ event: 'meter-failed', err: (err as Error).message }, 'metering failed');
    });
    return metering;
  }

  async function meterAll(): Promise<void> {
    const cur = intervalAt(now(), o.intervalMs);
    if (lastMetered === undefined) {
      lastMetered = cur.startMs;
      await o.store.commit([{ type: 'put', key: 's:lastMetered', value: lastMetered }]);
    }
    const missed = (cur.startMs - lastMetered) / o.intervalMs;
    const maxCatchUp = o.maxCatchUp ?? 96;
    if (missed > maxCatchUp) {
      log.warn({ event: 'intervals-skipped', count: missed - maxCatchUp }, 'HEM was down longer than the catch-up window');
      lastMetered = cur.startMs - maxCatchUp * o.intervalMs;
    }
    // [HEM-HALT] a catch-up stops at a halt
    while (!stopped && lastMetered + o.intervalMs <= now()) {
      const i = { startMs: lastMetered, endMs: lastMetered + o.intervalMs };
      await meterOne(i);
    }
  }

  async function meterOne(i: Interval): Promise<void> {
    const m = await o.devices.measure(i);
    const writes: StoreWrite[] = [
      { type: 'put', key: 's:lastMetered', value: i.endMs },
      { type: 'put', key: 's:devices', value: o.devices.snapshot() },
    ];
    const enqueue: OutboxEntry[] = [];
    const signer = o.pseudonyms.signerFor(i);
    let reading: MeterReading | undefined;
    if (m && signer) {
      const { seq, write } = o.pseudonyms.advanceSeq(signer.key.address);
      reading = readingParams(signer.key.address, i, seq, m);
      const env = signEnvelope(signer.key, 'meter-reading', reading, { date: new Date(now()), ...forChain() });
      writes.push(write, { type: 'put', key: 's:lastReading', value: reading }, { type: 'put', key: 's:energyTotals', value: addReading(energy, reading) });
      if (o.keepReadings) writes.push(keepReading(i.startMs, env as AnyEnvelope)); // [HEM-R1] for the reading watch
      enqueue.push({ topic: TOPICS.readings, operation: 'meter-reading', signer: signer.key.address, envelope: env as AnyEnvelope });
    } else {
      log.warn({ event: 'reading-skipped', interval: toWireInterval(i), why: m ? 'no certificate covers the interval' : 'no device data' }, 'no reading');
    }
    await o.store.commit(writes, enqueue);
    lastMetered = i.endMs;
    if (reading) {
      lastReading = reading;
      energy = addReading(energy, reading);
      readings.push(reading);
      if (readings.length > HISTORY_MAX) readings.shift();
      log.info(
        {
          event: 'reading', seq: reading.seq, address: reading.address, interval: reading.interval, producedWh: reading.producedWh,
          consumedWh: reading.consumedWh, chargedWh: reading.chargedWh, dischargedWh: reading.dischargedWh, socPermille: reading.socPermille,
        },
        'interval metered',
      );
    }
    pump.pump();
    publishState();
    o.devices.report?.(status());
  }

  function publishState(): void {
    if (!session?.connected) return;
    const live = o.devices.live();
    const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.round(v)));
    const env = signEnvelope(
      o.meterKey,
      'state',
      {
        meterId: o.meterId,
        socPermille: clamp(o.devices.batteryState().soc * 1000, 0, 1000),
        pvW: clamp(live.pvW, 0, 10_000_000),
        loadW: clamp(live.loadW, 0, 10_000_000),
        batteryW: clamp(live.batteryW, -10_000_000, 10_000_000),
        ...(live.setpointW !== null ? { setpointW: clamp(live.setpointW, -10_000_000, 10_000_000) } : {}),
        mode: live.setpointW !== null ? 'award' : 'auto',
        queued: o.store.queued,
      },
      { clientId: o.meterId, date: new Date(now()) },
    );
    session.publish(TOPICS.state(o.meterId), encode(env), 0).catch(() => undefined);
  }

  // ── market ──────────────────────────────────────────────────────────────────

  function onMessage(topic: string, payload: Buffer, retained: boolean): void {
    // the session may be shared with the home's chain node: chain traffic is its business
    if (!topic.startsWith('tmi/v1/auctions/') && !topic.startsWith('tmi/v1/clients/') && !topic.startsWith('tmi/v1/market/results/')) return;
    let env: AnyEnvelope;
    try {
      env = codec.decode(payload);
    } catch (err) {
      log.warn({ event: 'rejected-input', topic, code: isWireError(err) ? err.code : 'DECODE_FAILED', err: (err as Error).message }, 'dropped message');
      if (isWireError(err) && err.code === 'STALE_DATE' && !retained) o.onStaleDate?.();
      return;
    }
    // [HEM-IN] a live envelope is handled once, also across restarts (hemReplayGuard.ts);
    // retained copies are the broker's redelivery, deduplicated by auction id below
    const guard = o.replayGuard;
    if (retained || !guard) return handle(topic, env, retained);
    const e = env;
    guard.check(e.clientId, e.reqId, e.date, now()).then(
      (v) => (v === 'fresh' ? handle(topic, e, retained) : drop(topic, e, v === 'replayed' ? 'REPLAYED' : 'STALE_DATE')),
      (err: unknown) => fail('replay-guard', err),
    );
  }

  function handle(topic: string, env: AnyEnvelope, retained: boolean): void {
    const levels = topic.split('/');
    const fromAggregator = env.clientId === o.aggregatorAddress;
    switch (env.operation) {
      case 'auction-open':
      case 'auction-close':
        if (!fromAggregator || levels.length !== 4 || levels[3] !== env.parameters.auctionId) return drop(topic, env, 'NOT_AGGREGATOR_OR_TOPIC');
        if (env.operation === 'auction-open') void onAuctionOpen(env.parameters).catch((err: unknown) => fail('auction-open', err));
        else log.info({ event: 'auction-close', auctionId: env.parameters.auctionId }, 'auction closed');
        return;
      case 'auction-result':
        if (!fromAggregator || levels[3] !== env.parameters.auctionId || levels[4] !== 'result') return drop(topic, env, 'NOT_AGGREGATOR_OR_TOPIC');
        void onResult(env.parameters).catch((err: unknown) => fail('auction-result', err));
        return;
      case 'market-result':
        // [P2P-RESULT] only the pinned aggregator's, on tmi/v1/market/results/{interval}
        if (!fromAggregator || levels.length !== 5 || levels[2] !== 'market' || levels[3] !== 'results') return drop(topic, env, 'NOT_AGGREGATOR_OR_TOPIC');
        if (market) void market.onResult(env.parameters).catch((err: unknown) => fail('market-result', err));
        return;
      case 'error': {
        if (!errorSignerAccepted(env.clientId, { brokerAddress: typeof o.brokerAddress === 'function' ? o.brokerAddress() : o.brokerAddress, aggregatorAddress: o.aggregatorAddress })) {
          return drop(topic, env, 'UNKNOWN_ERROR_SIGNER');
        }
        // [HEM-CLOCK] a signed error dated outside our tolerance: most likely our own clock is
        // off, which is also why the broker rejects us; say so instead of dropping it silently.
        // Its refusal still counts [HEM-Q7]: it is signed by the broker (checked above), and a
        // replayed old error at most makes us send a message again, which receivers deduplicate.
        let errorDateOff = false;
        if (!retained) {
          try {
            if (o.replayGuard) codec.replay.checkDate(env.date); // the guard has refused a repeat
            else codec.replay.check(env.clientId, env.reqId, env.date);
          } catch (err) {
            if (!isWireError(err) || err.code !== 'STALE_DATE') return;
            errorDateOff = true;
          }
        }
        const { code, reason, reqId, topic: on } = env.parameters;
        // [HEM-Q6] a refusal for now ("try again") puts the message back in the outbox
        const retried = reqId !== undefined && pump.refused(reqId, code);
        if (errorDateOff) {
          log.warn({ event: 'broker-error', code, reason, reqId, topic: on, errorDate: env.date, retried },
            'the broker rejected a message; its error is dated outside our clock tolerance: our clock may be off');
        } else log.warn({ event: 'broker-error', code, reason, reqId, topic: on, retried }, 'the broker rejected a message');
        if (errorDateOff || code === 'STALE_DATE') o.onStaleDate?.(); // [HEM-CLOCK]
        return;
      }
      default:
        return;
    }
  }

  function drop(topic: string, env: AnyEnvelope, code: string): void {
    log.warn({ event: 'rejected-input', topic, code, clientId: env.clientId, operation: env.operation }, 'dropped message');
  }

  function fail(what: string, err: unknown): void {
    log.error({ event: 'handler-failed', what, err: (err as Error).message }, 'handler failed');
  }

  /** [HEM-SPEED] the TCR sees the delivery interval in home time. */
  function homeAuction(a: AuctionOpen): AuctionOpen {
    if (o.speed === 1) return a;
    const i = fromWireInterval(a.delivery);
    if (!i) return a;
    const end = i.startMs + (i.endMs - i.startMs) * o.speed;
    return { ...a, delivery: { start: a.delivery.start, end: new Date(end).toISOString() } };
  }

  async function onAuctionOpen(a: AuctionOpen): Promise<void> {
    const t = now();
    if (Date.parse(a.closesAt) <= t) return; // a retained auction that has closed
    if (answered.has(a.auctionId)) return; // retained redelivery: one answer per auction
    const delivery = fromWireInterval(a.delivery);
    // [HEM-P6] the pseudonym whose certificate covers the delivery interval
    const p = delivery ? o.pseudonyms.signerFor(delivery) : undefined;
    if (!p?.record.cert || !delivery) {
      remember(skipped, a.auctionId, { auctionId: a.auctionId, atMs: t, reason: p ? 'BAD_DELIVERY_INTERVAL' : 'NO_CERTIFIED_PSEUDONYM', delivery: a.delivery });
      log.warn({ event: 'no-bid', auctionId: a.auctionId, reason: p ? 'BAD_DELIVERY_INTERVAL' : 'NO_CERTIFIED_PSEUDONYM' }, 'cannot bid');
      return;
    }
    // [HEM-IN] only a programme that trades bids (DESIGN §7: TE trades, RE produces blocks,
    // RE+TE both): an RE-only home answers no auction
    if (!programmeTrades(p.record.cert.programme)) {
      const rec: BidRecord = { auctionId: a.auctionId, decidedAtMs: t, delivery: a.delivery, bid: null, reason: 'PROGRAMME_NOT_TE' };
      answered.set(a.auctionId, rec);
      await o.store.commit([{ type: 'put', key: `b:${a.auctionId}`, value: rec }]);
      log.info({ event: 'no-bid', auctionId: a.auctionId, reason: 'PROGRAMME_NOT_TE', programme: p.record.cert.programme }, 'the programme does not trade');
      return;
    }
    // [HDG-BID] never bid what the device cannot deliver
    const limits = o.devices.batteryLimits?.();
    if (limits === null) {
      const why = o.devices.batteryLimitsWhy?.();
      remember(skipped, a.auctionId, { auctionId: a.auctionId, atMs: t, reason: 'DEVICE_CANNOT_DELIVER', ...(why ? { why } : {}), delivery: a.delivery });
      log.warn({ event: 'no-bid', auctionId: a.auctionId, reason: 'DEVICE_CANNOT_DELIVER', why: o.devices.batteryLimitsWhy?.() }, 'cannot bid');
      return;
    }
    const state = o.devices.batteryState();
    let forecast: HomeForecast = o.devices.forecast(delivery);
    let tcr = limits ? withBatteryLimits(o.tcr, limits) : o.tcr;
    // [P2P-AUCTION] the home's P2P order of the interval comes first: a sale is more load, a
    // purchase more PV, and the battery may not go the other way
    const p2p = market?.committed(delivery);
    if (p2p && p2p.energyWh > 0) {
      forecast = p2p.side === 'sell' ? { ...forecast, loadWh: forecast.loadWh + p2p.energyWh } : { ...forecast, pvWh: forecast.pvWh + p2p.energyWh };
      tcr = withBatteryLimits(tcr, p2p.side === 'sell' ? { maxChargeW: 0, maxDischargeW: Infinity } : { maxChargeW: Infinity, maxDischargeW: 0 });
    }
    const decision: Decision = decide(homeAuction(a), state, tcr, forecast);
    // The decision log line lets anyone recompute decide() from the same inputs.
    log.info(
      { event: 'decision', auctionId: a.auctionId, soc: state.soc, forecast, speed: o.speed, ...(p2p ? { p2p } : {}), bid: decision.bid, reason: decision.reason },
      'auction decided',
    );
    const base = { auctionId: a.auctionId, decidedAtMs: t, delivery: a.delivery, inputs: { soc: state.soc, forecast, speed: o.speed, trace: decision.trace } };
    if (!decision.bid) {
      const rec: BidRecord = { ...base, bid: null, reason: decision.reason };
      answered.set(a.auctionId, rec);
      await o.store.commit([{ type: 'put', key: `b:${a.auctionId}`, value: rec }]);
      return;
    }
    const openBid: OpenBid = {
      type: decision.bid.type,
      energy: { unit: 'Wh', value: decision.bid.energyWh },
      price: { unit: 'millicents/kWh', value: decision.bid.priceMcPerKWh },
    };
    const cert = p.record.cert;
    // [SEALED] a commitment; the salt stays in the store until the HEM reveals after closesAt
    const seal = a.sealed ? sealBid(a.auctionId, p.key.address, openBid) : undefined;
    const params = {
      auctionId: a.auctionId,
      address: p.key.address,
      cpf: lastReading ? cpf(lastReading) : 0,
      feeder: cert.feeder,
      ...(seal ? { sealed: seal.sealed } : { bid: openBid }),
    };
    const env = signEnvelope(p.key, 'bid-offer', params, { date: new Date(t), ...forChain() });
    const rec: BidRecord = {
      ...base,
      bid: { ...decision.bid, address: p.key.address, reqId: env.reqId },
      reason: null,
      ...(seal ? { seal: { bid: openBid, salt: seal.salt, closesAt: a.closesAt } } : {}),
    };
    answered.set(a.auctionId, rec);
    await o.store.commit(
      [{ type: 'put', key: `b:${a.auctionId}`, value: rec }],
      [{ topic: TOPICS.bids(a.auctionId), operation: 'bid-offer', signer: p.key.address, envelope: env as AnyEnvelope, expiresAtMs: Date.parse(a.closesAt) }],
    );
    lastBid = { type: decision.bid.type, energyWh: decision.bid.energyWh };
    pump.pump();
    if (rec.seal) scheduleReveal(rec);
    o.devices.report?.(status());
  }

  /** [SEALED] reveal a sealed bid at closesAt (the chain takes reveals in [closesAt, closesAt + revealWindowMs)). */
  function scheduleReveal(rec: BidRecord): void {
    if (!rec.seal || rec.seal.revealed || !rec.bid) return;
    const at = Date.parse(rec.seal.closesAt);
    const timer = setTimeout(() => {
      revealTimers.delete(timer);
      void reveal(rec.auctionId).catch((err: Error) => log.error({ event: 'reveal-failed', auctionId: rec.auctionId, err: err.message }, 'sealed bid not revealed'));
    }, Math.max(0, at - now()));
    revealTimers.add(timer);
  }

  async function reveal(auctionId: string): Promise<void> {
    const rec = answered.get(auctionId);
    if (stopped || !rec?.seal || rec.seal.revealed || !rec.bid) return;
    const params = { auctionId, address: rec.bid.address, bid: rec.seal.bid, salt: rec.seal.salt };
    const key = o.pseudonyms.get(rec.bid.address)?.key;
    if (!key) {
      log.warn({ event: 'reveal-failed', auctionId, reason: 'PSEUDONYM_KEY_GONE' }, 'sealed bid not revealed');
      return;
    }
    const env = signEnvelope(key, 'bid-reveal', params, { date: new Date(now()), ...forChain() });
    const done: BidRecord = { ...rec, seal: { ...rec.seal, revealed: true } };
    answered.set(auctionId, done);
    await o.store.commit(
      [{ type: 'put', key: `b:${auctionId}`, value: done }],
      [{ topic: TOPICS.bids(auctionId), operation: 'bid-reveal', signer: rec.bid.address, envelope: env as AnyEnvelope, expiresAtMs: Date.parse(rec.seal.closesAt) + 600_000 }],
    );
    log.info({ event: 'reveal', auctionId }, 'sealed bid revealed');
    pump.pump();
  }

  /**
   * [SETTLE-1] the setpoint for a delivery interval is the sum of every award the HEM holds
   * for it (one per auction), not the last one: two auctions for one interval each get
   * their energy, as the chain settles them against one measurement.
   */
  function awardsPowerW(delivery: { startMs: number; endMs: number }): number {
    let w = 0;
    for (const rec of answered.values()) {
      const d = rec.award ? fromWireInterval(rec.delivery) : undefined;
      if (rec.award && d && d.startMs === delivery.startMs && d.endMs === delivery.endMs) w += rec.award.powerW;
    }
    return w;
  }

  /** [P2P-AUCTION] bids for the interval whose result has not come: as if awarded in full, Wh (+ charge) */
  function pendingBidsWh(delivery: { startMs: number; endMs: number }): number {
    let wh = 0;
    for (const rec of answered.values()) {
      if (!rec.bid || rec.award || results.has(rec.auctionId)) continue;
      const d = fromWireInterval(rec.delivery);
      if (d && d.startMs === delivery.startMs && d.endMs === delivery.endMs) wh += (rec.bid.type === 'buy' ? 1 : -1) * rec.bid.energyWh;
    }
    return wh;
  }

  function hasAward(delivery: { startMs: number; endMs: number }): boolean {
    for (const rec of answered.values()) {
      const d = rec.award ? fromWireInterval(rec.delivery) : undefined;
      if (d && d.startMs === delivery.startMs && d.endMs === delivery.endMs) return true;
    }
    return false;
  }

  /** [SETTLE-1] the awards' set-point plus [P2P-RESULT] the P2P fills' */
  function summedPowerW(delivery: { startMs: number; endMs: number }): number {
    return awardsPowerW(delivery) + (market?.fillPowerW(delivery) ?? 0);
  }

  async function onResult(r: AuctionResult): Promise<void> {
    if (answered.has(r.auctionId) || skipped.has(r.auctionId)) remember(results, r.auctionId, r);
    if (r.status !== 'cleared') return;
    const rec = answered.get(r.auctionId);
    if (!rec?.bid || rec.award) return; // not ours, or already executed (retained redelivery)
    const award = r.awards.find((w) => w.address === rec.bid?.address);
    if (!award) return;
    const delivery = fromWireInterval(rec.delivery);
    if (!delivery) return;
    // [HEM-AWARD] deliver energy × underDeliverFactor evenly over the delivery interval.
    const deliverWh = award.energyWh * o.underDeliverFactor;
    const hs = homeSeconds(delivery.endMs - delivery.startMs, o.speed);
    const powerW = ((rec.bid.type === 'buy' ? 1 : -1) * deliverWh * 3600) / hs;
    const done: BidRecord = { ...rec, award: { energyWh: award.energyWh, priceMcPerKWh: award.priceMillicentsPerKWh, powerW, deliverWh } };
    answered.set(r.auctionId, done);
    await o.store.commit([{ type: 'put', key: `b:${r.auctionId}`, value: done }]);
    o.devices.scheduleSetpoint({ ...delivery, powerW: summedPowerW(delivery), auctionId: r.auctionId });
    lastAwardWh = award.energyWh;
    earnings += (rec.bid.type === 'sell' ? 1 : -1) * paymentMillicents(award.energyWh, award.priceMillicentsPerKWh);
    log.info(
      { event: 'award', auctionId: r.auctionId, type: rec.bid.type, energyWh: award.energyWh, priceMcPerKWh: award.priceMillicentsPerKWh, deliverWh, powerW, delivery: rec.delivery },
      'award scheduled',
    );
    o.devices.report?.(status());
  }

  // ── lifecycle ───────────────────────────────────────────────────────────────

  function scheduleMeter(): void {
    if (stopped) return;
    const next = intervalAt(now(), o.intervalMs).endMs;
    meterTimer = setTimeout(() => {
      void meterDue().then(() => {
        if (!stopped) void market?.tick();
        scheduleMeter();
      });
    }, Math.max(0, next - now()));
  }

  function halt(): void {
    stopped = true;
    clearTimeout(meterTimer);
    for (const r of revealTimers) clearTimeout(r);
    revealTimers.clear();
    clearTimeout(rotateTimer);
    market?.stop();
  }

  return {
    pump,
    get session() {
      return session;
    },
    status,
    meterDue,
    history: () => ({ records: [...answered.values()], skipped: [...skipped.values()], results, readings, market: market?.history() ?? { records: [], results: new Map() } }),
    async start() {
      lastMetered = await o.store.get<number>('s:lastMetered');
      lastReading = await o.store.get<MeterReading>('s:lastReading');
      energy = (await o.store.get<EnergyTotals>('s:energyTotals')) ?? NO_ENERGY;
      const t = now();
      const rearm = new Map<string, { startMs: number; endMs: number; auctionId: string }>();
      for (const { value } of await o.store.list<BidRecord>('b:')) {
        answered.set(value.auctionId, value);
        // [SEALED] a sealed bid not yet revealed: reveal at its close (at once if past)
        if (value.seal && !value.seal.revealed) scheduleReveal(value);
        const d = fromWireInterval(value.delivery);
        // awards survive a restart: re-arm the ones still to deliver (summed per interval once all are loaded)
        if (value.award && d && d.endMs > t) rearm.set(`${d.startMs}|${d.endMs}`, { ...d, auctionId: value.auctionId });
        // forget auctions long past (their bids and awards are on chain)
        if (d && d.endMs < t - 7 * 86_400_000) await o.store.commit([{ type: 'del', key: `b:${value.auctionId}` }]);
      }
      // [P2P-RESULT] P2P fills still to deliver, with the awards of their intervals
      for (const i of (await market?.start()) ?? []) if (!rearm.has(`${i.startMs}|${i.endMs}`)) rearm.set(`${i.startMs}|${i.endMs}`, { ...i, auctionId: 'p2p' });
      for (const w of rearm.values()) o.devices.scheduleSetpoint({ ...w, powerW: summedPowerW(w) });
      await o.devices.start();
      await o.pseudonyms.prepare();
      session = o.connect({ onMessage, onConnect: () => pump.pump() });
      void ensurePseudonym();
      await meterDue(); // catch up intervals missed while down
      void market?.tick();
      scheduleMeter();
    },
    halt,
    async stop() {
      halt();
      await metering.catch(() => undefined);
      // give in-flight publishes a moment to be acknowledged
      for (let i = 0; i < 20 && pump.inFlightCount > 0 && session?.connected; i++) await new Promise((r) => setTimeout(r, 50));
      await pump.settled();
      await session?.close();
      await o.devices.close();
    },
  };
}

/** [HEM-IN] DESIGN §7: TE and RE+TE trade; RE only produces blocks. */
export function programmeTrades(programme: string): boolean {
  return programme === 'TE' || programme === 'RE+TE';
}

/**
 * [BROKER-ID] Whose `error` messages the HEM takes: the pinned broker's and the
 * aggregator's; any signer while no broker address is pinned (the topic's ACL lets only
 * the broker and the aggregator publish there).
 */
export function errorSignerAccepted(clientId: string, pins: { brokerAddress: string | undefined; aggregatorAddress: string }): boolean {
  return pins.brokerAddress === undefined || clientId === pins.brokerAddress || clientId === pins.aggregatorAddress;
}

/**
 * [HEM-CERT] A new certificate goes on chain as a `tx` on tmi/v1/chain/txs whose `tx` is
 * a `certificate` envelope (parameters = the registry's certificate); both are signed
 * by the pseudonym itself (clientId = its address), which also proves the HEM holds it.
 */
export function certificateTxEntry(p: Pseudonym, now: number, genesisHash?: string): OutboxEntry[] {
  if (!p.record.cert) return [];
  // [DOMAIN-TX] the certificate transaction names the chain (the wrapper is only its carrier)
  const inner = signEnvelope(p.key, 'certificate', p.record.cert, { date: new Date(now), ...(genesisHash !== undefined ? { chain: genesisHash } : {}) });
  const tx = signEnvelope(p.key, 'tx', { tx: inner as unknown as Envelope<'tx'>['parameters']['tx'] }, { date: new Date(now) });
  return [{ topic: TOPICS.txs, operation: 'tx', signer: p.key.address, envelope: tx as AnyEnvelope }];
}

function readingParams(address: string, i: Interval, seq: number, m: IntervalMeasurement): MeterReading {
  const wh = (v: number) => Math.max(0, Math.min(1_000_000_000, Math.floor(v)));
  return {
    address,
    interval: toWireInterval(i),
    seq,
    producedWh: wh(m.pvWh),
    consumedWh: wh(m.loadWh),
    chargedWh: wh(m.chargedWh),
    dischargedWh: wh(m.dischargedWh),
    socPermille: Math.max(0, Math.min(1000, Math.floor(m.soc * 1000))),
  };
}
