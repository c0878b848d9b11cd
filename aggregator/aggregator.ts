/**
 * The VPP aggregator service (DESIGN §1, §8): publishes the day-ahead schedule, watches
 * metered net load, opens an auction for the next delivery interval when the deviation
 * exceeds the threshold, closes it on time, republishes the chain's result, and keeps the
 * VPP ledger. Clearing and settlement are the chain's contract; this service only reads
 * them through `ChainView`.
 *
 * Timeline for metering interval i = [origin + i·I, origin + (i+1)·I):
 *   end of i + grace   aggregate the readings of i, compare with the schedule
 *   same moment        open an auction for delivery interval i + deliveryOffset
 *   + closeAfter       publish auction-close of an open-bid auction (a notice: the chain
 *                      clears it by its clock [CLOSE]); a sealed auction takes no close:
 *                      its bidders reveal and the chain clears it at closesAt + the
 *                      reveal window [SEALED]. The aggregator holds no key to sealed bids.
 *   when final         publish auction-result (retained) from the chain's state, once the
 *                      block that cleared it is final [AGG-FIN-1]; the ledger counts settled
 *                      money as paid once its block is final [AGG-FIN-2] (README "Waits for finality")
 *
 * [CLOSE] at start the aggregator asks the chain for its auctions not yet settled
 * (ChainView.activeAuctions) and follows each as if it had opened it: a restarted
 * aggregator republishes their results and follows their settlement, sealed or not.
 *
 * [FEEDER-1] feeder limits are chain state signed by the registry: each time the aggregator
 * fetches the registry's records (at start, at each interval end, before each auction-open)
 * it posts every record newer than the chain's (ChainView.feederLimits) as a `feeder-limit`
 * transaction, wrapped in a `tx` on tmi/v1/chain/txs (again after an interval if it has not
 * reached the chain). Its auction-opens still carry the registry's limits, which at clearing
 * can only tighten the chain's [FEEDER-2]: a larger limit in an auction-open changes nothing.
 */
import { NetLoadBook } from './netLoadBook.js';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { createCodec, signEnvelope, encode, type Codec } from '../wire/codec.js';
import type { KeyPair } from '../wire/keys.js';
import type { AuctionOpen, AuctionResult, Envelope, FeederLimit, MeterReading, SignedFeederLimit } from '../schemas/types.js';
import { seasonalMeanForecast } from './core/forecast.js';
import { detectDeviation, type DeviationOptions } from './core/deviation.js';
import { imbalanceAvoided, ledgerTotals, type LedgerEntry } from './ledger.js';
// the views of the chain the aggregator reads (defined by the chain node, below it)
import type { ChainAuction, ChainFeederLimit, ChainView, ReadingFeed } from '../poe-chain/node/chainViews.js';
export type { ChainAuction, ChainFeederLimit, ChainView, ReadingFeed };
import { energyToWh, priceToMillicentsPerKWh } from '../wire/quantities.js';

export const TOPICS = {
  auction: (id: string) => `tmi/v1/auctions/${id}`,
  result: (id: string) => `tmi/v1/auctions/${id}/result`,
  readings: 'tmi/v1/readings',
  schedule: 'tmi/v1/schedule',
  /** [FEEDER-1] chain transactions that have no topic of their own, wrapped in `tx` */
  chainTxs: 'tmi/v1/chain/txs',
} as const;

/** What the aggregator reads from its chain node. */

export interface AggregatorConfig {
  /** alignment of metering intervals (ms since the epoch) */
  originMs: number;
  intervalMs: number;
  /** intervals per (simulated) day, for the day-ahead schedule */
  slotsPerDay: number;
  /** wait this fraction of an interval after its end for readings (default 0.15) */
  readingGraceFraction?: number;
  /** an auction closes this fraction of an interval after it opens (default 0.4) */
  closeAfterFraction?: number;
  /** delivery interval = measured interval + deliveryOffset (default 2) */
  deliveryOffset?: number;
  deviation: DeviationOptions;
  pricing?: 'pay-as-bid' | 'uniform';
  sealed?: boolean;
  /** limit prices for a delivery interval, millicents/kWh */
  prices: (deliveryStartMs: number, slotOfDay: number) => { buyMcPerKWh: number; sellMcPerKWh: number };
  /** net load expected per slot before any history (Wh) */
  priorNetLoadWh: number[];
  /** [FEEDER-1] the registry's signed feeder limits (GET /v1/feeders) */
  feederLimits?: () => Promise<SignedFeederLimit[]>;
  /** open auctions on deviations automatically (default true) */
  autoAuctions?: boolean;
  /** how long to wait for the chain's result after close (default 3 intervals) */
  resultTimeoutMs?: number;
}

export interface ManualAuction {
  side: 'buy' | 'sell';
  energyWh: number;
  limitPriceMcPerKWh: number;
  delivery: { startMs: number; endMs: number };
  closesAtMs?: number;
  pricing?: 'pay-as-bid' | 'uniform';
  sealed?: boolean;
}

export interface AuctionRecord {
  auctionId: string;
  open: AuctionOpen;
  /** `chain`: picked up from the chain at start [CLOSE] */
  origin: 'deviation' | 'manual' | 'chain';
  status: LedgerEntry['status'];
  imbalancePriceMcPerKWh: number;
  result?: AuctionResult;
}

export interface Aggregator {
  openAuction(a: ManualAuction, origin?: 'deviation' | 'manual'): Promise<AuctionRecord>;
  auctions(): AuctionRecord[];
  ledger(): { entries: LedgerEntry[]; totals: ReturnType<typeof ledgerTotals> };
  schedule(day: number): number[] | undefined;
  /** aggregated metered net load of interval i, Wh (undefined if no reading yet) */
  actualNetLoad(i: number): number | undefined;
  /**
   * [FEEDER-1] fetches the registry's feeder limits and posts each record newer than the
   * chain's as a `feeder-limit` transaction; how many were posted
   */
  syncFeederLimits(): Promise<number>;
  stop(): Promise<void>;
}

export interface AggregatorDeps {
  key: KeyPair;
  /** [DOMAIN-TX] the chain's genesis hash: every auction-open and auction-close names it */
  genesisHash: string;
  mqtt: MqttClient;
  chain: ChainView;
  config: AggregatorConfig;
  now?: () => number;
  log?: Logger;
  codec?: Codec;
  /**
   * Where readings come from. Default: the aggregator subscribes to tmi/v1/readings and
   * decodes each (schema + signature). With its chain node in the same process (`tmi up`),
   * pass `readingFeedOf(node)`: the readings the node's mempool admitted (already verified
   * and checked against the chain), with no second MQTT delivery, parse or verification of
   * each reading (in the 10,000-home soak that was a seventh of the chain process's time).
   */
  readingFeed?: ReadingFeed;
}

/** Calls `onReading` with each reading until the returned function is called. */

export async function createAggregator(deps: AggregatorDeps): Promise<Aggregator> {
  const { key, mqtt, chain, config: c } = deps;
  const forChain = deps.genesisHash; // [DOMAIN-TX]
  const now = deps.now ?? Date.now;
  const codec = deps.codec ?? createCodec({ now });
  const log = deps.log;
  const grace = c.readingGraceFraction ?? 0.15;
  const closeAfter = c.closeAfterFraction ?? 0.4;
  const offset = c.deliveryOffset ?? 2;
  const resultTimeoutMs = c.resultTimeoutMs ?? 3 * c.intervalMs;

  // per home for the last 4 intervals (a resent reading replaces its copy), then summed; sums for 4 days
  const netLoad = new NetLoadBook({ keepPerHome: 4, keepIntervals: 4 * c.slotsPerDay });
  const schedules = new Map<number, number[]>(); // day → slots
  const history: (number | undefined)[][] = [];
  const records = new Map<string, AuctionRecord>();
  const entries = new Map<string, LedgerEntry>();
  const timers = new Set<NodeJS.Timeout>();
  let seq = 0;
  /** the last feeder limits the registry gave; used when it does not answer */
  let lastFeederLimits: SignedFeederLimit[] | undefined;
  /** [FEEDER-1] `feeder|issuedAt` of each record posted to the chain → when */
  const postedLimits = new Map<string, number>();

  /** [FEEDER-1] fetches the registry's records and relays the ones the chain lacks. */
  async function fetchFeederLimits(): Promise<SignedFeederLimit[] | undefined> {
    if (!c.feederLimits) return undefined;
    lastFeederLimits = await c.feederLimits();
    await relayFeederLimits(lastFeederLimits).catch((err: unknown) =>
      log?.warn({ event: 'feeder-limits-not-relayed', err: (err as Error).message }, 'feeder limits not posted to the chain'));
    return lastFeederLimits;
  }

  async function feederLimitsNow(): Promise<FeederLimit[]> {
    if (!c.feederLimits) return [];
    try {
      await fetchFeederLimits();
    } catch (err) {
      if (lastFeederLimits === undefined) throw err;
      log?.warn({ event: 'feeder-limits-stale', err: (err as Error).message }, 'registry did not answer: opening with the last known feeder limits');
    }
    // the auction-open's wire shape (schema feederLimit): the limits without issuedAt and signature
    return lastFeederLimits!.map((l) => ({ feeder: l.feeder, maxExportWh: l.maxExportWh, maxImportWh: l.maxImportWh }));
  }

  /**
   * [FEEDER-1] posts each record newer than the chain's record of its feeder as a
   * `feeder-limit` transaction (the chain refuses an older one: STALE_FEEDER_LIMIT); a record
   * already posted is posted again only after an interval without reaching the chain.
   */
  let relaying: Promise<unknown> = Promise.resolve();
  function relayFeederLimits(records: readonly SignedFeederLimit[]): Promise<number> {
    // one relay at a time, so that two fetches never post one record twice
    const run = relaying.then(() => relayOnce(records));
    relaying = run.catch(() => undefined);
    return run;
  }

  async function relayOnce(records: readonly SignedFeederLimit[]): Promise<number> {
    const onChain = new Map((await chain.feederLimits?.() ?? []).map((l) => [l.feeder, Date.parse(l.issuedAt)]));
    const t = now();
    let posted = 0;
    for (const l of records) {
      const have = onChain.get(l.feeder);
      if (have !== undefined && have >= Date.parse(l.issuedAt)) continue;
      const postKey = `${l.feeder}|${l.issuedAt}`;
      const at = postedLimits.get(postKey);
      if (at !== undefined && t - at < c.intervalMs) continue;
      const inner = signEnvelope(key, 'feeder-limit', l, { date: new Date(t), chain: forChain });
      const wrapped = signEnvelope(key, 'tx', { tx: inner as unknown as Envelope<'tx'>['parameters']['tx'] }, { date: new Date(t) });
      await publish(TOPICS.chainTxs, wrapped);
      postedLimits.set(postKey, t);
      posted++;
      log?.info({ event: 'feeder-limit-posted', feeder: l.feeder, maxExportWh: l.maxExportWh, maxImportWh: l.maxImportWh, issuedAt: l.issuedAt }, 'registry feeder limit posted to the chain');
    }
    // forget what the chain has taken
    for (const k of postedLimits.keys()) {
      const [feeder, issuedAt] = k.split('|') as [string, string];
      if ((onChain.get(feeder) ?? -Infinity) >= Date.parse(issuedAt)) postedLimits.delete(k);
    }
    return posted;
  }

  async function syncFeederLimits(): Promise<number> {
    if (!c.feederLimits) return 0;
    const records = await c.feederLimits();
    lastFeederLimits = records;
    return relayFeederLimits(records);
  }

  /** [FEEDER-1] fetch and relay, logging instead of failing (start, interval ends) */
  async function refreshFeederLimits(): Promise<void> {
    await fetchFeederLimits().catch((err: unknown) =>
      log?.warn({ event: 'feeder-limits-unavailable', err: (err as Error).message }, 'registry feeder limits not fetched'));
  }
  let stopped = false;

  const intervalOf = (t: number) => Math.floor((t - c.originMs) / c.intervalMs);
  const startOf = (i: number) => c.originMs + i * c.intervalMs;

  function later(ms: number, fn: () => Promise<void> | void) {
    const t = setTimeout(() => {
      timers.delete(t);
      if (stopped) return;
      Promise.resolve(fn()).catch((err: unknown) => log?.error({ err }, 'aggregator task failed'));
    }, Math.max(0, ms));
    timers.add(t);
  }

  async function publish(topic: string, env: object, retain = false) {
    await mqtt.publishAsync(topic, encode(env), { qos: 1, retain });
  }

  // ── readings ────────────────────────────────────────────────────────────────
  function onReading(r: MeterReading): void {
    const i = intervalOf(Date.parse(r.interval.start));
    // net load at the home's grid connection (+ import, − export)
    if (!netLoad.add(i, r.address, r.consumedWh + r.chargedWh - r.producedWh - r.dischargedWh)) {
      log?.debug({ interval: i, address: r.address }, 'reading for an interval already summed: ignored');
    }
  }
  let stopReadings: (() => void) | undefined;
  if (deps.readingFeed) {
    stopReadings = deps.readingFeed(onReading);
  } else {
    mqtt.on('message', (topic, payload) => {
      if (topic !== TOPICS.readings) return;
      let r: MeterReading;
      try {
        const env = codec.decode(payload);
        if (env.operation !== 'meter-reading') return;
        r = env.parameters;
      } catch (err) {
        log?.debug({ err: (err as Error).message }, 'reading rejected');
        return;
      }
      onReading(r);
    });
    await mqtt.subscribeAsync(TOPICS.readings, { qos: 1 });
  }

  function actualNetLoad(i: number): number | undefined {
    return netLoad.total(i);
  }

  // ── day-ahead schedule ─────────────────────────────────────────────────────
  async function publishSchedule(day: number) {
    const weekdays = history.map((_, d) => d % 7);
    const slots = seasonalMeanForecast(history, weekdays, day % 7, c.priorNetLoadWh, { slotsPerDay: c.slotsPerDay });
    schedules.set(day, slots);
    const dayStart = new Date(startOf(day * c.slotsPerDay)).toISOString().slice(0, 10);
    const env = signEnvelope(key, 'schedule', {
      day: dayStart,
      intervalMinutes: Math.max(1, Math.round(1440 / c.slotsPerDay)),
      netLoadWh: slots,
      method: history.length ? `seasonal mean of ${Math.min(7, history.length)} days` : 'prior',
      start: new Date(startOf(day * c.slotsPerDay)).toISOString(),
      intervalMs: c.intervalMs,
    }, { date: new Date(now()) });
    await publish(TOPICS.schedule, env, true);
    log?.info({ day, method: history.length ? 'seasonal-mean' : 'prior' }, 'schedule published');
  }

  // ── auctions ────────────────────────────────────────────────────────────────
  async function openAuction(a: ManualAuction, origin: 'deviation' | 'manual' = 'manual'): Promise<AuctionRecord> {
    const t = now();
    const closesAtMs = a.closesAtMs ?? t + closeAfter * c.intervalMs;
    if (closesAtMs <= t) throw new AggregatorError('CLOSES_IN_PAST', { closesAt: new Date(closesAtMs).toISOString() });
    if (a.delivery.endMs <= a.delivery.startMs) throw new AggregatorError('BAD_DELIVERY', {});
    if (a.delivery.startMs < closesAtMs) throw new AggregatorError('DELIVERY_BEFORE_CLOSE', {});
    const sealed = a.sealed ?? c.sealed ?? false;
    const auctionId = `auc-${new Date(a.delivery.startMs).toISOString().replace(/[-:]/g, '').slice(0, 13)}-${a.side}-${(++seq).toString(36)}${Math.floor(t % 1e6).toString(36)}`;
    const open: AuctionOpen = {
      auctionId,
      side: a.side,
      energy: { unit: 'Wh', value: a.energyWh },
      limitPrice: { unit: 'millicents/kWh', value: a.limitPriceMcPerKWh },
      delivery: { start: new Date(a.delivery.startMs).toISOString(), end: new Date(a.delivery.endMs).toISOString() },
      closesAt: new Date(closesAtMs).toISOString(),
      pricing: a.pricing ?? c.pricing ?? 'pay-as-bid',
      sealed,
      feederLimits: await feederLimitsNow(),
    };
    const rec: AuctionRecord = {
      auctionId,
      open,
      origin,
      status: 'open',
      imbalancePriceMcPerKWh: a.limitPriceMcPerKWh,
    };
    records.set(auctionId, rec);
    entries.set(auctionId, {
      auctionId, side: a.side, deliveryStart: open.delivery.start, requestedWh: a.energyWh,
      awardedWh: 0, deliveredWh: 0, unconfirmedDeliveredWh: 0, energyMc: 0, penaltiesMc: 0, unconfirmedEnergyMc: 0, unconfirmedPenaltiesMc: 0, imbalanceAvoidedMc: 0,
      resultHeight: null, settledHeight: null, status: 'open',
    });
    await publish(TOPICS.auction(auctionId), signEnvelope(key, 'auction-open', open, { date: new Date(t), chain: forChain }), true);
    log?.info({ auctionId, side: a.side, energyWh: a.energyWh, limit: a.limitPriceMcPerKWh, origin }, 'auction opened');
    later(closesAtMs - now(), () => closeAuction(rec));
    return rec;
  }

  async function closeAuction(rec: AuctionRecord) {
    // [SEALED] a sealed auction takes no close (the chain refuses one): its bidders reveal
    if (!rec.open.sealed) await publish(TOPICS.auction(rec.auctionId), signEnvelope(key, 'auction-close', { auctionId: rec.auctionId }, { date: new Date(now()), chain: forChain }), true);
    rec.status = 'closed';
    entries.get(rec.auctionId)!.status = 'closed';
    log?.info({ auctionId: rec.auctionId }, 'auction closed');
    const deadline = now() + resultTimeoutMs;
    await followOnChain(rec, deadline);
  }

  /**
   * Waits for the chain's result, republishes it once final, then follows settlement.
   * [AGG-FIN-1] the auction-result goes out (and the record says cleared or void) only once
   * the block that cleared the auction is at or below the final height: homes steer their
   * batteries by it, and a result a reorg could still change must not be acted on.
   * [AGG-FIN-2] the ledger counts a settlement's money as paid only once its block is final;
   * until then it is `unconfirmed…` and the auction `settled-unconfirmed`.
   */
  async function followOnChain(rec: AuctionRecord, deadline: number) {
    const step = Math.max(50, Math.min(500, c.intervalMs / 20));
    let waitingLogged = false;
    const poll = async () => {
      const [onChain, finalHeight] = await Promise.all([chain.auction(rec.auctionId), chain.finalizedHeight()]);
      const entry = entries.get(rec.auctionId)!;
      const result = onChain?.result;
      if (result && !rec.result) {
        entry.resultHeight = result.height ?? null;
        if (result.height !== undefined && result.height <= finalHeight) {
          rec.result = result;
          rec.status = result.status === 'void' ? 'void' : 'cleared';
          entry.status = rec.status;
          entry.awardedWh = result.awardedWh ?? result.awards.reduce((s, w) => s + w.energyWh, 0);
          entry.imbalanceAvoidedMc = imbalanceAvoided(entry.awardedWh, rec.imbalancePriceMcPerKWh);
          await publish(TOPICS.result(rec.auctionId), signEnvelope(key, 'auction-result', result, { date: new Date(now()) }), true);
          log?.info({ auctionId: rec.auctionId, status: rec.status, awardedWh: entry.awardedWh, height: result.height, finalizedHeight: finalHeight }, 'auction result published (its block is final)');
        } else if (!waitingLogged) {
          waitingLogged = true;
          log?.info({ auctionId: rec.auctionId, height: result.height, finalizedHeight: finalHeight }, 'auction result on chain: waiting for its block to be final before publishing it');
        }
      }
      if (rec.result && onChain?.settlements) {
        // [AGG-FIN-2] money in final blocks apart from money in blocks a reorg could still undo
        const fin = onChain.settlements.filter((x) => x.height <= finalHeight);
        const unc = onChain.settlements.filter((x) => x.height > finalHeight);
        const sum = (xs: typeof fin, k: 'deliveredWh' | 'paymentMc' | 'penaltyMc') => xs.reduce((s, x) => s + x[k], 0);
        entry.deliveredWh = sum(fin, 'deliveredWh');
        entry.energyMc = sum(fin, 'paymentMc');
        entry.penaltiesMc = sum(fin, 'penaltyMc');
        entry.unconfirmedDeliveredWh = sum(unc, 'deliveredWh');
        entry.unconfirmedEnergyMc = sum(unc, 'paymentMc');
        entry.unconfirmedPenaltiesMc = sum(unc, 'penaltyMc');
        entry.settledHeight = onChain.settlements.reduce((m, x) => Math.max(m, x.height), 0);
        if (onChain.status === 'settled') {
          entry.status = rec.status = unc.length === 0 ? 'settled' : 'settled-unconfirmed';
          if (unc.length === 0) {
            log?.info({ auctionId: rec.auctionId, paidMc: entry.energyMc, penaltiesMc: entry.penaltiesMc, settledHeight: entry.settledHeight, finalizedHeight: finalHeight }, 'auction settled in final blocks');
            return;
          }
        }
      }
      if (rec.status === 'void') return;
      // after the result, keep following until settlement (delivery end + 3 intervals); a
      // settlement on chain keeps being followed until its blocks are final (one timeout more)
      const until = rec.result || result ? Date.parse(rec.open.delivery.end) + 3 * c.intervalMs + (rec.status === 'settled-unconfirmed' ? resultTimeoutMs : 0) : deadline;
      if (now() < until) later(step, poll);
      else if (!result) {
        rec.status = entry.status = 'void';
        log?.warn({ auctionId: rec.auctionId }, 'no result on chain before the deadline');
      } else if (!rec.result) {
        log?.warn({ auctionId: rec.auctionId, height: result.height, finalizedHeight: finalHeight }, 'the result on chain never became final: not published');
      } else if (rec.status === 'settled-unconfirmed') {
        log?.warn({ auctionId: rec.auctionId, settledHeight: entry.settledHeight, finalizedHeight: finalHeight }, 'settlement on chain not final before the deadline: its money stays unconfirmed in the ledger');
      }
    };
    await poll();
  }

  // ── the interval loop ─────────────────────────────────────────────────────
  async function onIntervalEnd(i: number) {
    // [FEEDER-1] in the background: a slow registry must not hold up the interval's work
    void refreshFeederLimits();
    const day = Math.floor(i / c.slotsPerDay);
    const slot = ((i % c.slotsPerDay) + c.slotsPerDay) % c.slotsPerDay;
    const actual = actualNetLoad(i);
    if (actual !== undefined) {
      (history[day] ??= [])[slot] = actual;
    }
    // day-ahead: publish tomorrow's schedule in the last slot of today
    if (slot === c.slotsPerDay - 1 && !schedules.has(day + 1)) await publishSchedule(day + 1);
    const scheduled = schedules.get(day)?.[slot];
    if ((c.autoAuctions ?? true) && actual !== undefined && scheduled !== undefined) {
      const d = detectDeviation(scheduled, actual, c.deviation);
      if (d) {
        const di = i + offset;
        const prices = c.prices(startOf(di), ((di % c.slotsPerDay) + c.slotsPerDay) % c.slotsPerDay);
        await openAuction({
          side: d.side,
          energyWh: d.energyWh,
          limitPriceMcPerKWh: d.side === 'buy' ? prices.buyMcPerKWh : prices.sellMcPerKWh,
          delivery: { startMs: startOf(di), endMs: startOf(di + 1) },
        }, 'deviation');
      }
    }
    netLoad.age(i);
  }

  function scheduleNext() {
    const i = intervalOf(now());
    const at = startOf(i + 1) + grace * c.intervalMs;
    later(at - now(), async () => {
      scheduleNext();
      await onIntervalEnd(i);
    });
  }

  /** [CLOSE] follow the auctions the chain still holds open or unsettled (after a restart). */
  async function pickUpFromChain() {
    if (!chain.activeAuctions) return;
    for (const { auctionId, open } of await chain.activeAuctions()) {
      if (records.has(auctionId)) continue;
      const rec: AuctionRecord = { auctionId, open, origin: 'chain', status: 'open', imbalancePriceMcPerKWh: priceToMillicentsPerKWh(open.limitPrice) };
      records.set(auctionId, rec);
      entries.set(auctionId, {
        auctionId, side: open.side, deliveryStart: open.delivery.start, requestedWh: energyToWh(open.energy),
        awardedWh: 0, deliveredWh: 0, unconfirmedDeliveredWh: 0, energyMc: 0, penaltiesMc: 0, unconfirmedEnergyMc: 0, unconfirmedPenaltiesMc: 0, imbalanceAvoidedMc: 0,
        resultHeight: null, settledHeight: null, status: 'open',
      });
      const closesAtMs = Date.parse(open.closesAt);
      log?.info({ auctionId, closesAt: open.closesAt }, 'auction picked up from the chain');
      later(closesAtMs - now(), () => followOnChain(rec, Math.max(now(), closesAtMs) + resultTimeoutMs));
    }
  }
  await pickUpFromChain();
  await refreshFeederLimits();

  const startDay = Math.floor(intervalOf(now()) / c.slotsPerDay);
  await publishSchedule(startDay);
  scheduleNext();

  return {
    openAuction,
    auctions: () => [...records.values()],
    ledger: () => {
      const list = [...entries.values()];
      return { entries: list, totals: ledgerTotals(list) };
    },
    schedule: (day) => schedules.get(day),
    actualNetLoad,
    syncFeederLimits,
    async stop() {
      stopped = true;
      stopReadings?.();
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

export class AggregatorError extends Error {
  constructor(readonly code: string, readonly context: Record<string, string | number>) {
    super([code, ...Object.entries(context).map(([k, v]) => `${k}=${v}`)].join(' '));
  }
}
