/**
 * [P2P] The HEM in the peer-to-peer market (PROTOCOL.md §8, poe-chain/core/market/README.md):
 * one sealed order per delivery interval, its reveal in the window, and the home's fills
 * turned into battery set-points, like the sealed auctions in ems.ts.
 *
 * Timing for delivery interval [S, S + I) (chain genesis: G = gateClosureMs, R = revealWindowMs):
 *   order close  S − G − R   the order must be in a block before it
 *   gate         S − G       the chain clears the market; reveals in [order close, gate)
 *
 * [P2P-WHEN] On each metering tick (and at start) the HEM decides for the one interval
 *          whose order close is at least `leadMs` and less than I + leadMs away: the latest
 *          tick that still leaves the order `leadMs` to reach a block, so the decision uses
 *          the freshest state of charge. With 15-minute intervals and the defaults (G 5 min,
 *          R 1 min, lead 1 min) that is the next interval, decided at the start of this one.
 * [P2P-SEAL] The order (commitment only) and its opening (salt, energy, price) are written
 *          to the store in the batch that queues the order, so a restart still reveals it.
 *          The outbox drops an order not sent by its order close and a reveal not sent by
 *          the gate ([HEM-Q5]).
 * [P2P-REVEAL] At order close + revealMarginMs the HEM queues the `market-reveal`.
 * [P2P-RESULT] A `market-result` counts only if signed by the pinned aggregator key. The
 *          home's fill (its address and order id) becomes battery energy for the delivery
 *          interval (tcr fillBatteryWh), added to the awards' set-point; a home without a
 *          battery has nothing to steer and only records it.
 * [P2P-AUCTION] While an order of the interval is open, or filled, the EMS's auction decision
 *          for that interval sees it (committed()): a sale as more load, a purchase as more
 *          PV, and no battery flow the other way (the P2P market settles on the net flow, an
 *          award on the battery's own). The other way round, the order counts the awards and
 *          the bids still waiting for their result as awarded.
 * [P2P-ACTIVE] A home without a battery whose devices have a flexible load (an active
 *          user's EV or heat pump, [HDG-FLEX]) orders with tcr/decideActiveUserOrder.ts: its
 *          base deficit and the device's orders in one buy order, priced against the last
 *          clearing price seen; a fill plans the device's energy for the interval.
 * Store: `m:<delivery start, 15 digits>` → MarketOrderRecord (orders made; a decision
 * without an order is kept in memory only).
 */
import type { Logger } from 'pino';
import { signEnvelope } from '../wire/codec.js';
import type { AnyEnvelope, MarketOrder, MarketResult } from '../schemas/types.js';
import { decideActiveUserOrder, deviceWhForFill, type ActiveUserOrderTrace } from '../tcr/decideActiveUserOrder.js';
import { decideMarketOrder, fillBatteryWh, projectSoc, type MarketOrderParams, type MarketOrderTrace, type SocStep } from '../tcr/decideMarketOrder.js';
import type { HomeForecast } from '../tcr/decide.js';
import type { MarketOrder as DeviceOrder } from '../tcr/marketOrder.js';
import type { TcrParams } from '../tcr/tcrParams.js';
import { sealOrder } from '../poe-chain/core/market/orderCommitment.js';
import { chainOption } from './chainPin.js';
import type { HemStore } from './hemStore.js';
import { withBatteryLimits, type HomeDevices } from './homeDevices.js';
import { fromWireInterval, homeSeconds, toWireInterval, type Interval } from './meteringInterval.js';
import type { OutboxPump } from './outboxPump.js';
import type { PseudonymBook } from './pseudonyms.js';

export const MARKET_TOPICS = {
  orders: 'tmi/v1/market/orders',
  results: 'tmi/v1/market/results/+',
} as const;

/** The chain's market timing as the HEM uses it. */
export interface MarketTiming {
  readonly intervalMs: number;
  readonly gateClosureMs: number;
  readonly revealWindowMs: number;
  readonly leadMs: number;
  readonly revealMarginMs: number;
  /** [P2P-UNTIL] no order for an interval starting at or after this, ms */
  readonly untilMs?: number;
}

/**
 * The timing from the config, else the genesis (a home running a chain node), else what a
 * `tmi up` genesis holds: G = ⌊I/3⌋, R = ⌊I/4⌋ within 1–60 s (the chain's default 60 s for
 * 15-minute intervals).
 */
export function marketTiming(
  cfg: { gateClosureMs?: number; revealWindowMs?: number; leadMs: number; revealMarginMs?: number; untilMs?: number },
  intervalMs: number,
  genesis?: { gateClosureMs: number; revealWindowMs: number },
): MarketTiming {
  const revealWindowMs = cfg.revealWindowMs ?? genesis?.revealWindowMs ?? Math.max(1000, Math.min(60_000, Math.floor(intervalMs / 4)));
  return {
    intervalMs,
    gateClosureMs: cfg.gateClosureMs ?? genesis?.gateClosureMs ?? Math.floor(intervalMs / 3),
    revealWindowMs,
    leadMs: cfg.leadMs,
    revealMarginMs: Math.min(cfg.revealMarginMs ?? Math.min(5000, Math.floor(revealWindowMs / 4)), revealWindowMs - 1),
    ...(cfg.untilMs !== undefined ? { untilMs: cfg.untilMs } : {}),
  };
}

export const orderCloseMs = (t: MarketTiming, startMs: number): number => startMs - t.gateClosureMs - t.revealWindowMs;
export const gateMs = (t: MarketTiming, startMs: number): number => startMs - t.gateClosureMs;

/** [P2P-WHEN] the start of the delivery interval to decide at `now`. */
export function intervalToDecide(t: MarketTiming, now: number): number {
  const earliest = now + t.leadMs + t.gateClosureMs + t.revealWindowMs;
  return Math.ceil(earliest / t.intervalMs) * t.intervalMs;
}

/** One interval's P2P decision (key m:<start>). */
export interface MarketOrderRecord {
  readonly delivery: { start: string; end: string };
  readonly decidedAtMs: number;
  /** null: no order (reason says why) */
  readonly order: { orderId: string; side: 'buy' | 'sell'; energyWh: number; priceMcPerKWh: number; address: string; reqId: string } | null;
  readonly reason: string | null;
  /** [P2P-SEAL] the opening, kept until revealed */
  readonly seal?: { salt: string; orderClose: string; gate: string; revealed?: boolean; missed?: boolean };
  /** what decideMarketOrder was given: SOC now and projected to the delivery start */
  readonly inputs?: { socNow: number; soc: number; forecast: HomeForecast; awardWh: number; hasBattery: boolean; speed: number; trace: MarketOrderTrace | ActiveUserOrderTrace; deviceOrders?: DeviceOrder[] };
  /** [P2P-RESULT] the clearing of the interval as it concerned this order */
  readonly outcome?: {
    filledWh: number;
    priceMcPerKWh: number | null;
    clearingPriceMcPerKWh: number | null;
    height: number;
    /** battery energy added to the interval's set-point, Wh (+ charge); 0 without a battery */
    batteryWh: number;
    /** [P2P-ACTIVE-FILL] energy planned for the flexible device, Wh (active users only) */
    deviceWh?: number;
    powerW: number;
    steered: boolean;
  };
}

export interface MarketTraderOptions {
  market: MarketOrderParams;
  timing: MarketTiming;
  speed: number;
  store: HemStore;
  pseudonyms: PseudonymBook;
  devices: HomeDevices;
  tcr: TcrParams;
  pump: OutboxPump;
  /** battery energy of the aggregator's awards for an interval, Wh (+ charge) */
  awardWh(i: Interval): number;
  /** [P2P-AUCTION] the same with the bids still waiting for their result counted as awarded */
  auctionWh(i: Interval): number;
  /** the set-point of an interval (awards and P2P fills), W, or null when none: self-consumption */
  setpointW(i: Interval): number | null;
  /** apply the interval's set-point again (after a fill) */
  reschedule(i: Interval, label: string): void;
  /** does the programme on this certificate trade (TE, RE+TE) */
  programmeTrades(programme: string): boolean;
  /** [DOMAIN-TX] the chain's genesis hash, named by every order and reveal (undefined while unknown) */
  genesisHash?: () => string | undefined;
  now: () => number;
  log: Logger;
}

export interface MarketTrader {
  /** loads the records, re-arms reveals; returns the intervals whose fills are still to deliver */
  start(): Promise<Interval[]>;
  /** [P2P-WHEN] decides, seals and queues the order that is due */
  tick(): Promise<void>;
  onResult(r: MarketResult): Promise<void>;
  /** [P2P-RESULT] the P2P fills' set-point for an interval, W; null when no fill steers it */
  fillPowerW(i: Interval): number | null;
  /** [P2P-AUCTION] the home's open or filled order for an interval */
  committed(i: Interval): { side: 'buy' | 'sell'; energyWh: number } | undefined;
  history(): { records: readonly MarketOrderRecord[]; results: ReadonlyMap<number, MarketResult> };
  stop(): void;
}

const HISTORY_MAX = 400;
const recordKey = (startMs: number): string => `m:${String(startMs).padStart(15, '0')}`;

export function createMarketTrader(o: MarketTraderOptions): MarketTrader {
  const { timing: t, log } = o;
  const records = new Map<number, MarketOrderRecord>(); // by delivery start
  const results = new Map<number, MarketResult>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let ticking: Promise<void> = Promise.resolve();
  const hasBattery = o.tcr.battery.maxChargeW > 0 || o.tcr.battery.maxDischargeW > 0;
  /** [P2P-ACTIVE] the last clearing price seen in any result, millicents/kWh */
  let lastClearing: number | null = null;

  function remember(startMs: number, rec: MarketOrderRecord): void {
    records.delete(startMs);
    records.set(startMs, rec);
    while (records.size > HISTORY_MAX) {
      // keep what is still to reveal or deliver; drop the oldest of the rest
      const old = [...records.entries()].find(([s]) => s + t.intervalMs < o.now() - t.intervalMs);
      if (!old) break;
      records.delete(old[0]);
    }
  }

  function noOrder(i: Interval, reason: string, extra: Record<string, unknown> = {}, level: 'info' | 'warn' | 'debug' = 'info'): void {
    remember(i.startMs, { delivery: toWireInterval(i), decidedAtMs: o.now(), order: null, reason });
    log[level]({ event: 'market-no-order', delivery: toWireInterval(i), reason, ...extra }, 'no P2P order');
  }

  /** [P2P-WHEN] the SOC at the delivery start: the intervals before it follow their set-points or self-consumption */
  function projectedState(params: TcrParams, startMs: number): { socNow: number; soc: number } {
    const socNow = o.devices.batteryState().soc;
    if (!hasBattery) return { socNow, soc: socNow };
    const steps: SocStep[] = [];
    for (let a = o.now(); a < startMs; ) {
      const b = Math.min(startMs, (Math.floor(a / t.intervalMs) + 1) * t.intervalMs);
      const k = { startMs: Math.floor(a / t.intervalMs) * t.intervalMs, endMs: Math.floor(a / t.intervalMs) * t.intervalMs + t.intervalMs };
      const s = homeSeconds(b - a, o.speed);
      const w = o.setpointW(k);
      steps.push({ intervalS: s, forecast: o.devices.forecast({ startMs: a, endMs: b }), setpointWh: w === null ? null : (w * s) / 3600 });
      a = b;
    }
    return { socNow, soc: projectSoc({ soc: socNow }, params.battery, steps).soc };
  }

  async function decideFor(startMs: number): Promise<void> {
    if (records.has(startMs) || stopped) return;
    // [P2P-UNTIL] the home has left the market from this interval on
    if (t.untilMs !== undefined && startMs >= t.untilMs) return;
    const i = { startMs, endMs: startMs + t.intervalMs };
    // [HEM-P6] the pseudonym whose certificate covers the delivery interval signs the order
    const p = o.pseudonyms.signerFor(i);
    const cert = p?.record.cert;
    if (!p || !cert) return noOrder(i, 'NO_CERTIFIED_PSEUDONYM', {}, 'warn');
    if (!o.programmeTrades(cert.programme)) return noOrder(i, 'PROGRAMME_NOT_TE', { programme: cert.programme }, 'debug');
    let params = o.tcr;
    if (hasBattery) {
      // [HDG-BID] never order what the device cannot deliver
      const limits = o.devices.batteryLimits?.();
      if (limits === null) return noOrder(i, 'DEVICE_CANNOT_DELIVER', { why: o.devices.batteryLimitsWhy?.() }, 'warn');
      if (limits) params = withBatteryLimits(o.tcr, limits);
    }
    const forecast = o.devices.forecast(i);
    const { socNow, soc } = projectedState(params, startMs);
    const awardWh = o.auctionWh(i);
    const flex = hasBattery ? undefined : o.devices.flexibleLoad;
    const deviceOrders = flex?.orders(i);
    // [P2P-ACTIVE] an active user: the base deficit and the device's orders in one buy order
    const d = flex && deviceOrders
      ? decideActiveUserOrder({
          forecast, deviceOrders, priceCapMcPerKWh: flex.priceCapMcPerKWh, buyPriceMcPerKWh: o.market.buyPriceMcPerKWh,
          lastClearingMcPerKWh: lastClearing, minOrderWh: o.market.minOrderWh,
        })
      : decideMarketOrder({ state: { soc }, params, hasBattery, intervalS: homeSeconds(t.intervalMs, o.speed), forecast, awardWh, market: o.market });
    const inputs = { socNow, soc, forecast, awardWh, hasBattery, speed: o.speed, trace: d.trace, ...(deviceOrders ? { deviceOrders } : {}) };
    // the decision line lets anyone recompute decideMarketOrder() from the same inputs
    log.info({ event: 'market-decision', delivery: toWireInterval(i), ...inputs, order: d.order, reason: d.reason }, 'P2P order decided');
    if (!d.order) {
      remember(startMs, { delivery: toWireInterval(i), decidedAtMs: o.now(), order: null, reason: d.reason, inputs });
      return;
    }
    const orderId = `p2p-${startMs}`;
    const { side, energyWh, priceMcPerKWh } = d.order;
    const seal = sealOrder({ orderId, address: p.key.address, side, energyWh, priceMcPerKWh });
    const wire: MarketOrder = { orderId, address: p.key.address, feeder: cert.feeder, side, delivery: toWireInterval(i), intervals: 1, commitment: seal.commitment };
    const env = signEnvelope(p.key, 'market-order', wire, { date: new Date(o.now()), ...chainOption(o.genesisHash) });
    const close = orderCloseMs(t, startMs);
    const rec: MarketOrderRecord = {
      delivery: toWireInterval(i),
      decidedAtMs: o.now(),
      order: { orderId, side, energyWh, priceMcPerKWh, address: p.key.address, reqId: env.reqId },
      reason: null,
      seal: { salt: seal.salt, orderClose: new Date(close).toISOString(), gate: new Date(gateMs(t, startMs)).toISOString() },
      inputs,
    };
    remember(startMs, rec);
    // [P2P-SEAL] the opening is durable before the order can leave
    await o.store.commit(
      [{ type: 'put', key: recordKey(startMs), value: rec }],
      [{ topic: MARKET_TOPICS.orders, operation: 'market-order', signer: p.key.address, envelope: env as AnyEnvelope, expiresAtMs: close }],
    );
    log.info({ event: 'market-order', delivery: rec.delivery, orderId, side, energyWh, priceMcPerKWh, address: p.key.address, orderClose: rec.seal!.orderClose }, 'sealed P2P order queued');
    o.pump.pump();
    scheduleReveal(startMs, rec);
  }

  /** [P2P-REVEAL] at order close + margin; at once after a restart that came later */
  function scheduleReveal(startMs: number, rec: MarketOrderRecord): void {
    if (!rec.seal || rec.seal.revealed || rec.seal.missed || !rec.order || stopped) return;
    const at = Date.parse(rec.seal.orderClose) + t.revealMarginMs;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void reveal(startMs).catch((err: Error) => log.error({ event: 'market-reveal-failed', delivery: rec.delivery, err: err.message }, 'P2P order not revealed'));
    }, Math.max(0, at - o.now()));
    timers.add(timer);
  }

  async function reveal(startMs: number): Promise<void> {
    const rec = records.get(startMs);
    if (stopped || !rec?.seal || rec.seal.revealed || rec.seal.missed || !rec.order) return;
    const gate = Date.parse(rec.seal.gate);
    if (o.now() >= gate) {
      const done: MarketOrderRecord = { ...rec, seal: { ...rec.seal, missed: true } };
      remember(startMs, done);
      await o.store.commit([{ type: 'put', key: recordKey(startMs), value: done }]);
      log.warn({ event: 'market-reveal-missed', delivery: rec.delivery, orderId: rec.order.orderId, gate: rec.seal.gate }, 'the reveal window has passed: the chain drops the order and charges the unrevealed fee');
      return;
    }
    const key = o.pseudonyms.get(rec.order.address)?.key;
    if (!key) {
      log.warn({ event: 'market-reveal-failed', delivery: rec.delivery, reason: 'PSEUDONYM_KEY_GONE' }, 'P2P order not revealed');
      return;
    }
    const { orderId, address, energyWh, priceMcPerKWh } = rec.order;
    const env = signEnvelope(key, 'market-reveal', { orderId, address, energyWh, priceMcPerKWh, salt: rec.seal.salt }, { date: new Date(o.now()), ...chainOption(o.genesisHash) });
    const done: MarketOrderRecord = { ...rec, seal: { ...rec.seal, revealed: true } };
    remember(startMs, done);
    await o.store.commit(
      [{ type: 'put', key: recordKey(startMs), value: done }],
      [{ topic: MARKET_TOPICS.orders, operation: 'market-reveal', signer: address, envelope: env as AnyEnvelope, expiresAtMs: gate }],
    );
    log.info({ event: 'market-reveal', delivery: rec.delivery, orderId }, 'P2P order revealed');
    o.pump.pump();
  }

  async function onResult(r: MarketResult): Promise<void> {
    const i = fromWireInterval(r.delivery);
    if (!i || i.endMs - i.startMs !== t.intervalMs) return;
    if (typeof r.clearingPriceMcPerKWh === 'number') lastClearing = r.clearingPriceMcPerKWh;
    const rec = records.get(i.startMs);
    if (rec) {
      results.set(i.startMs, r);
      while (results.size > HISTORY_MAX) results.delete(results.keys().next().value as number);
    }
    if (!rec?.order || rec.outcome) return; // not ours, or handled (a retained redelivery)
    const order = rec.order;
    const fills = r.fills.filter((f) => f.address === order.address && f.orderId === order.orderId && f.side === order.side);
    const filledWh = fills.reduce((n, f) => n + f.energyWh, 0);
    const base = { filledWh, priceMcPerKWh: fills[0]?.priceMcPerKWh ?? null, clearingPriceMcPerKWh: r.clearingPriceMcPerKWh ?? null, height: r.height };
    if (filledWh === 0) {
      const done: MarketOrderRecord = { ...rec, outcome: { ...base, batteryWh: 0, powerW: 0, steered: false } };
      remember(i.startMs, done);
      await o.store.commit([{ type: 'put', key: recordKey(i.startMs), value: done }]);
      log.info({ event: 'market-no-fill', delivery: rec.delivery, orderId: order.orderId, side: order.side, clearingPriceMcPerKWh: base.clearingPriceMcPerKWh, volumeWh: r.volumeWh }, 'P2P order not filled');
      return;
    }
    // [P2P-RESULT] the battery energy that makes the net flow of the interval the fill
    const steered = rec.inputs?.hasBattery ?? hasBattery;
    const forecast = rec.inputs?.forecast ?? o.devices.forecast(i);
    const batteryWh = steered ? fillBatteryWh(order.side, filledWh, forecast, o.awardWh(i)) : 0;
    const powerW = (batteryWh * 3600) / homeSeconds(t.intervalMs, o.speed);
    // [P2P-ACTIVE-FILL] the device runs what was bought for it
    const trace = rec.inputs?.trace;
    const deviceWh = !steered && o.devices.flexibleLoad && trace && 'mustWh' in trace ? deviceWhForFill(filledWh, trace) : undefined;
    const done: MarketOrderRecord = { ...rec, outcome: { ...base, batteryWh, powerW, steered, ...(deviceWh !== undefined ? { deviceWh } : {}) } };
    remember(i.startMs, done);
    await o.store.commit([{ type: 'put', key: recordKey(i.startMs), value: done }]);
    if (steered) o.reschedule(i, order.orderId);
    if (deviceWh !== undefined) o.devices.flexibleLoad!.plan(i, deviceWh);
    log.info(
      { event: 'market-fill', delivery: rec.delivery, orderId: order.orderId, side: order.side, energyWh: filledWh, priceMcPerKWh: base.priceMcPerKWh, batteryWh, powerW, steered, ...(deviceWh !== undefined ? { deviceWh } : {}) },
      'P2P fill scheduled',
    );
  }

  return {
    async start() {
      const now = o.now();
      const due: Interval[] = [];
      for (const { key, value } of await o.store.list<MarketOrderRecord>('m:')) {
        const i = fromWireInterval(value.delivery);
        if (!i) continue;
        // forget orders long past (their settlement is on chain)
        if (i.endMs < now - 7 * 86_400_000) {
          await o.store.commit([{ type: 'del', key }]);
          continue;
        }
        records.set(i.startMs, value);
        scheduleReveal(i.startMs, value);
        if (value.outcome?.steered && i.endMs > now) due.push(i);
        if (value.outcome?.deviceWh !== undefined && i.endMs > now) o.devices.flexibleLoad?.plan(i, value.outcome.deviceWh);
      }
      return due;
    },
    tick() {
      ticking = ticking.then(() => decideFor(intervalToDecide(t, o.now()))).catch((err: unknown) => {
        log.error({ event: 'market-failed', err: (err as Error).message }, 'P2P order not made');
      });
      return ticking;
    },
    onResult,
    fillPowerW(i) {
      const rec = records.get(i.startMs);
      return rec?.outcome?.steered && rec.outcome.filledWh > 0 && i.endMs - i.startMs === t.intervalMs ? rec.outcome.powerW : null;
    },
    committed(i) {
      const rec = records.get(i.startMs);
      if (!rec?.order || rec.seal?.missed || i.endMs - i.startMs !== t.intervalMs) return undefined;
      if (rec.outcome) return rec.outcome.filledWh > 0 ? { side: rec.order.side, energyWh: rec.outcome.filledWh } : undefined;
      return { side: rec.order.side, energyWh: rec.order.energyWh };
    },
    history: () => ({ records: [...records.values()], results }),
    stop() {
      stopped = true;
      for (const x of timers) clearTimeout(x);
      timers.clear();
    },
  };
}
