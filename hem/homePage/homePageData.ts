/**
 * What the home page shows, built from the HEM's own data: the EMS history (its decision
 * records, the results it received over MQTT, its readings), the device's battery state,
 * and — when the HEM runs a chain node — the chain's head state (auction results,
 * settlements, wallets, the validator ranking). Pure: sources in, JSON out.
 *
 * Naming rule [HOME-UNITS]: every figure's name says what it is and its unit (…Wh,
 * …Percent, …MillicentsPerKWh); money says who pays whom (`receivedMillicents`: paid to
 * this home; `paidMillicents`: paid by this home). A figure the HEM cannot know is
 * `null` with a `notKnownHere` reason, never a zero. [HEM-FIN] Money on chain says whether
 * it is final (its block at or below the node's final height) or unconfirmed (finalMoney.ts).
 */
import type { AuctionResult, MeterReading } from '../../schemas/types.js';
import type { BidRecord, EmsHistory, SkippedAuction } from '../ems.js';
import type { ChainState } from '../../poe-chain/core/chainState.js';
import type { ChainAuction } from '../../aggregator/aggregator.js';
import type { WalletView } from '../../poe-chain/node/chainQueries.js';
import { decidedBy, rankValidators, readingScore } from '../../poe-chain/core/rankingForEpoch.js';
import { degradationCostMcPerKWh } from '../../tcr/batteryParams.js';
import type { TcrParams } from '../../tcr/tcrParams.js';
import { cpf } from '../cpf.js';
import type { MarketOrderRecord } from '../marketTrader.js';
import { epochOfInterval } from '../../poe-chain/core/genesis.js';
import { moneyStatus, walletFinality, type FinalityReader } from '../finalMoney.js';

/** The chain node's read-only side, when the HEM runs one (a ChainNode fits). */
export interface ChainReader extends FinalityReader {
  state(): ChainState;
  auction(auctionId: string): ChainAuction | undefined;
  wallet(address: string): WalletView;
}

export interface HomeSources {
  meterId: string;
  now: number;
  history: EmsHistory;
  socFraction: number;
  connected: boolean;
  tcr: TcrParams;
  /** addresses of this home's pseudonyms (the current first) */
  currentAddress: string | undefined;
  programme: string | undefined;
  chain: ChainReader | undefined;
  /** [HA-EARN] settledEarnings.ts: settled in final blocks; null without a chain node */
  settledEarningsMillicents: number | null;
  /** [HEM-FIN] the same, settled in blocks not final yet; null without a chain node */
  settledEarningsUnconfirmedMillicents?: number | null;
}

export const NOT_KNOWN_HERE = 'not known here: this HEM runs no chain node';

/** Reasons of decide() and of the EMS in words. */
const NO_BID_WORDS: Record<string, string> = {
  BAD_DELIVERY_INTERVAL: 'the delivery interval was not usable (end before start, or longer than a day)',
  NOTHING_ASKED: 'the auction asked for 0 Wh',
  HOME_NEEDS_IT: "the battery could not even cover the home's own expected deficit, so nothing was left to offer",
  BATTERY_EMPTY: 'the battery was at its lowest allowed charge (or had no discharge capacity left)',
  BATTERY_FULL: 'the battery was at its highest allowed charge (or had no charge capacity left)',
  PRICE_ABOVE_LIMIT: "our lowest selling price was above the aggregator's price limit",
  PRICE_BELOW_LIMIT: "our highest buying price was below the aggregator's price limit",
  TOO_SMALL: 'the quantity was below the smallest bid after rounding',
  PROGRAMME_NOT_TE: 'this home is in the RE programme only (block production), which does not trade',
  NO_CERTIFIED_PSEUDONYM: 'no certified pseudonym covered the delivery interval yet',
  DEVICE_CANNOT_DELIVER: 'the battery device could not carry out an award',
  SEALED_WITHOUT_KEY: 'a sealed auction without its public key: a bid could not be sealed',
};

const EXCLUSION_WORDS: Record<string, string> = {
  DUPLICATE_ADDRESS: 'a second bid from the same address',
  ZERO_ENERGY: 'the bid was for 0 Wh',
  PRICE_ABOVE_LIMIT: "the offer's price was above the auction's price limit",
  PRICE_BELOW_LIMIT: "the bid's price was below the auction's price limit",
  FEEDER_LIMIT: "the feeder's limit was reached by better-priced bids on the same feeder",
  QUANTITY_FILLED: 'the auction was filled by better-priced bids before this one',
};

/** Reasons of decideMarketOrder() and of the market trader in words. */
const NO_ORDER_WORDS: Record<string, string> = {
  BALANCED: 'no battery, and neither a surplus nor a deficit was expected',
  HOME_NEEDS_IT: "the battery could not even cover the home's own expected deficit and its awards",
  BATTERY_FULL: 'the battery could take no more charge after storing the expected surplus and its awards',
  BATTERY_EMPTY: 'no surplus was expected and the battery had nothing to sell',
  BATTERY_LIMIT: 'the battery could not have done the whole order',
  TOO_SMALL: 'the order would have been below the smallest order after rounding',
  PROGRAMME_NOT_TE: 'this home is in the RE programme only (block production), which does not trade',
  NO_CERTIFIED_PSEUDONYM: 'no certified pseudonym covered the delivery interval yet',
  DEVICE_CANNOT_DELIVER: 'the battery device could not carry out a fill',
};

export function noBidInWords(reason: string): string {
  return NO_BID_WORDS[reason] ?? reason;
}

export function exclusionInWords(reason: string): string {
  return EXCLUSION_WORDS[reason] ?? reason;
}

const pct = (f: number) => Math.round(f * 1000) / 10;

// ── the home ─────────────────────────────────────────────────────────────────

export interface TodayReading {
  interval: { start: string; end: string };
  producedWh: number;
  consumedWh: number;
  chargedWh: number;
  dischargedWh: number;
  socAtEndPercent: number;
  /** |P − C| with C = consumed + charged − discharged (hem/cpf.ts) */
  gridExchangeWh: number;
}

/** Readings whose interval starts since local midnight of the HEM's clock. */
export function todayReadings(readings: readonly MeterReading[], now: number): TodayReading[] {
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  return readings
    .filter((r) => Date.parse(r.interval.start) >= midnight.getTime())
    .map((r) => ({
      interval: r.interval,
      producedWh: r.producedWh,
      consumedWh: r.consumedWh,
      chargedWh: r.chargedWh,
      dischargedWh: r.dischargedWh,
      socAtEndPercent: r.socPermille / 10,
      gridExchangeWh: Math.abs(r.producedWh - (r.consumedWh + r.chargedWh - r.dischargedWh)),
    }));
}

export function homeView(s: HomeSources) {
  const today = todayReadings(s.history.readings, s.now);
  const sum = (k: 'producedWh' | 'consumedWh' | 'chargedWh' | 'dischargedWh') => today.reduce((a, r) => a + r[k], 0);
  const last = s.history.readings[s.history.readings.length - 1];
  return {
    meterId: s.meterId,
    at: new Date(s.now).toISOString(),
    connectedToBroker: s.connected,
    battery: { socPercent: pct(s.socFraction), capacityWh: s.tcr.battery.capacityWh },
    today: {
      readings: today,
      totals: { producedWh: sum('producedWh'), consumedWh: sum('consumedWh'), chargedWh: sum('chargedWh'), dischargedWh: sum('dischargedWh') },
    },
    wallet: walletOf(s),
    /** received − paid − penalties over every settlement in a final block counted since setup (settledEarnings.ts) */
    settledEarningsMillicents: s.settledEarningsMillicents,
    /** [HEM-FIN] the same over settlements in blocks not final yet (a reorg could still undo them) */
    settledEarningsUnconfirmedMillicents: s.settledEarningsUnconfirmedMillicents ?? null,
    election: electionOf(s, last),
    chainNode: s.chain ? { height: s.chain.state().meta.height, finalizedHeight: s.chain.head().finalizedHeight } : null,
  };
}

function ownAddresses(s: HomeSources): string[] {
  const set = new Set<string>();
  if (s.currentAddress) set.add(s.currentAddress);
  for (const r of s.history.readings) set.add(r.address);
  for (const b of s.history.records) if (b.bid) set.add(b.bid.address);
  return [...set];
}

function walletOf(s: HomeSources) {
  if (!s.chain) return { balanceMillicents: null, finalBalanceMillicents: null, unconfirmedChangeMillicents: null, notKnownHere: NOT_KNOWN_HERE, pseudonyms: [] };
  const addresses = ownAddresses(s);
  const views = addresses.map((a) => s.chain!.wallet(a));
  const rewards = views.reduce((t, v) => t + BigInt(v.rewardsMillicents), 0n);
  // [HEM-FIN] the balance at the final block, and what blocks not final yet changed
  const f = walletFinality(s.chain, addresses);
  const finalState = s.chain.finalState();
  const finalRewards = finalState ? addresses.reduce((t, a) => t + BigInt(finalState.sections.rewards.get(a) ?? '0'), 0n) : undefined;
  return {
    // one wallet per pseudonym; the home's money is their sum
    /** at the head: final + unconfirmed change */
    balanceMillicents: f.headBalanceMillicents,
    /** at the final block: no reorg can change it */
    finalBalanceMillicents: f.finalBalanceMillicents,
    /** head − final: moved by blocks not final yet */
    unconfirmedChangeMillicents: f.unconfirmedChangeMillicents,
    blockRewardsReceivedMillicents: rewards.toString(),
    finalBlockRewardsReceivedMillicents: finalRewards === undefined ? null : finalRewards.toString(),
    pseudonyms: views.map((v, i) => ({
      address: v.address, balanceMillicents: v.millicents, finalBalanceMillicents: f.perAddress[i]!.finalMillicents,
      blockRewardsReceivedMillicents: v.rewardsMillicents, known: v.known,
    })),
    atHeight: f.headHeight,
    finalizedHeight: f.finalizedHeight,
    inWords: f.finalBalanceMillicents === null
      ? `${f.headBalanceMillicents} millicents at block ${f.headHeight}, of which the final part is not known yet (the node is reading its final block ${f.finalizedHeight} from its store)`
      : `${f.finalBalanceMillicents} millicents final (at block ${f.finalizedHeight})` +
        (f.unconfirmedChangeMillicents === '0' ? '; nothing unconfirmed' : `; ${BigInt(f.unconfirmedChangeMillicents!) > 0n ? '+' : ''}${f.unconfirmedChangeMillicents} millicents unconfirmed (blocks ${f.finalizedHeight + 1}–${f.headHeight}, not final yet)`),
  };
}

/** [HEM-FIN] a settlement's block against the final height, and the words for it. */
function finalityOf(s: HomeSources, height: number) {
  const finalizedHeight = s.chain!.head().finalizedHeight;
  const status = moneyStatus(height, finalizedHeight);
  return {
    status,
    settledAtHeight: height,
    finalizedHeight,
    statusInWords: status === 'final'
      ? `final: settled in block ${height}, at or below the final block ${finalizedHeight}`
      : `unconfirmed: settled in block ${height}, above the final block ${finalizedHeight}; a reorg could still undo it`,
  };
}

function electionOf(s: HomeSources, last: MeterReading | undefined) {
  const lastCpf = last ? cpf(last) : null;
  const base = {
    programme: s.programme ?? null,
    validator: s.programme === 'RE' || s.programme === 'RE+TE',
    cpfOfLastReading: lastCpf,
    lastReadingGridExchangeWh: last ? Math.abs(last.producedWh - (last.consumedWh + last.chargedWh - last.dischargedWh)) : null,
  };
  if (!base.validator) return { ...base, ranking: null, notKnownHere: `not a validator: programme ${s.programme ?? 'unknown'} does not produce blocks` };
  if (!s.chain) return { ...base, ranking: null, notKnownHere: NOT_KNOWN_HERE };
  const state = s.chain.state();
  const m = state.meta;
  if (m.rankingEpoch < 0) return { ...base, ranking: null, notKnownHere: 'no ranking on chain yet' };
  // [POE-7.rank] the ranking of the epoch at the head, with its scores
  const ranked = rankValidators(state.sections, m.rankingEpoch, m.seed, state.genesis);
  const addr = s.currentAddress;
  const i = addr ? ranked.findIndex((v) => v.address === addr) : -1;
  const me = i >= 0 ? ranked[i] : undefined;
  const reading = addr ? state.sections.readings.get(`${addr}|${m.rankingEpoch - 2}`) : undefined;
  return {
    ...base,
    ranking: {
      epoch: m.rankingEpoch,
      scoredInterval: m.rankingEpoch - 2,
      validators: ranked.length,
      rank: me ? i + 1 : null,
      /** the chain's CPF rule (genesis): paper C = consumed + charged; net-exchange C = consumed + charged − discharged */
      scoreRule: state.genesis.cpfRule,
      /** |P − C| of the scored interval under that rule, Wh */
      scoreWh: me ? me.score : reading ? readingScore(reading, state.genesis.cpfRule) : null,
      windowWh: me?.windowWh ?? null,
      missingIntervals: me?.missing ?? null,
      decidedBy: decidedBy(ranked),
      first: ranked[0]?.address ?? null,
      whyNotRanked: me ? null : 'no reading of the scored interval on chain, or the certificate is not on chain',
    },
  };
}

// ── auctions ─────────────────────────────────────────────────────────────────

export function auctionViews(s: HomeSources) {
  const items = [...s.history.records.map((r) => ({ kind: 'record' as const, r })), ...s.history.skipped.map((r) => ({ kind: 'skipped' as const, r }))];
  items.sort((a, b) => (b.kind === 'record' ? b.r.decidedAtMs : b.r.atMs) - (a.kind === 'record' ? a.r.decidedAtMs : a.r.atMs));
  return items.map((x) => (x.kind === 'record' ? recordView(s, x.r) : skippedView(x.r)));
}

function skippedView(r: SkippedAuction) {
  return {
    auctionId: r.auctionId,
    delivery: r.delivery,
    decidedAt: new Date(r.atMs).toISOString(),
    decision: { bid: null, reason: r.reason, inWords: noBidInWords(r.reason) + (r.why ? ` (${r.why})` : ''), inputs: null },
    result: null,
    settlement: null,
  };
}

function recordView(s: HomeSources, r: BidRecord) {
  const degr = degradationCostMcPerKWh(s.tcr.battery);
  const inputs = r.inputs
    ? {
        socPercent: pct(r.inputs.soc),
        forecastPvWh: Math.round(r.inputs.forecast.pvWh),
        forecastLoadWh: Math.round(r.inputs.forecast.loadWh),
        degradationCostMillicentsPerKWh: degr,
        auctionEnergyWh: r.inputs.trace.auctionWh ?? null,
        auctionPriceLimitMillicentsPerKWh: r.inputs.trace.limitMcPerKWh ?? null,
        homeOwnUseWh: r.inputs.trace.homeWh ?? null,
        socAfterOwnUsePercent: r.inputs.trace.projectedSoc !== undefined ? pct(r.inputs.trace.projectedSoc) : null,
        curveEnergyWh: r.inputs.trace.curveWh ?? null,
        curvePriceMillicentsPerKWh: r.inputs.trace.priceMcPerKWh ?? null,
      }
    : null;
  const noInputs = 'its inputs were not recorded (decided before the HEM kept them)';
  const decision = r.bid && !inputs
    ? { bid: { side: r.bid.type, energyWh: r.bid.energyWh, priceMillicentsPerKWh: r.bid.priceMcPerKWh, address: r.bid.address }, reason: null, inWords: `${r.bid.type === 'sell' ? 'offered to sell' : 'bid to buy'} ${r.bid.energyWh} Wh at ${r.bid.priceMcPerKWh} millicents/kWh; ${noInputs}`, inputs }
    : r.bid
    ? {
        bid: { side: r.bid.type, energyWh: r.bid.energyWh, priceMillicentsPerKWh: r.bid.priceMcPerKWh, address: r.bid.address },
        reason: null,
        inWords:
          r.bid.type === 'sell'
            ? `offered to sell ${r.bid.energyWh} Wh from the battery at ${r.bid.priceMcPerKWh} millicents/kWh: the price of its offer curve at ${inputs?.socAfterOwnUsePercent} % state of charge after the home's own expected use (${inputs?.homeOwnUseWh} Wh), degradation cost ${degr} millicents/kWh included`
            : `bid to buy ${r.bid.energyWh} Wh into the battery at up to ${r.bid.priceMcPerKWh} millicents/kWh: the price of its bid curve at ${inputs?.socAfterOwnUsePercent} % state of charge after storing the home's own expected surplus (${inputs?.homeOwnUseWh} Wh)`,
        inputs,
      }
    : { bid: null, reason: r.reason, inWords: noBidInWords(r.reason ?? ''), inputs };
  const { result, source } = resultOf(s, r.auctionId);
  return {
    auctionId: r.auctionId,
    delivery: r.delivery,
    decidedAt: new Date(r.decidedAtMs).toISOString(),
    decision,
    result: withResultFinality(s, result, source, r.bid ? outcomeOf(r, result, source) : result ? { status: result.status, source, ourBid: 'none made' } : null),
    settlement: r.bid ? settlementOf(s, r) : null,
  };
}

/**
 * [HEM-FIN] a result read from the chain's head says whether its clearing block is final
 * (one heard over MQTT is the aggregator's, which it publishes once final: [AGG-FIN-1]).
 */
function withResultFinality<T extends object | null>(s: HomeSources, result: AuctionResult | undefined, source: 'chain' | 'mqtt' | null, view: T): T {
  if (view === null || source !== 'chain' || result?.height === undefined || !s.chain) return view;
  return { ...view, clearedAtHeight: result.height, resultFinality: moneyStatus(result.height, s.chain.head().finalizedHeight) };
}

function resultOf(s: HomeSources, auctionId: string): { result: AuctionResult | undefined; source: 'chain' | 'mqtt' | null } {
  const onChain = s.chain?.auction(auctionId)?.result;
  if (onChain) return { result: onChain, source: 'chain' };
  const heard = s.history.results.get(auctionId);
  return heard ? { result: heard, source: 'mqtt' } : { result: undefined, source: null };
}

function outcomeOf(r: BidRecord, result: AuctionResult | undefined, source: 'chain' | 'mqtt' | null) {
  const bid = r.bid!;
  if (!result) return { status: 'no result yet', source, accepted: null, inWords: 'the auction result has not arrived' };
  if (result.status === 'void') return { status: 'void', source, accepted: false, inWords: `the auction was void: ${result.reason ?? ''}` };
  const award = result.awards.find((w) => w.address === bid.address);
  const excluded = result.excluded?.find((x) => x.address === bid.address || x.reqId === bid.reqId);
  // price rank among the awards: cheapest first for offers (the aggregator buys), dearest first for bids
  const prices = [...result.awards.map((w) => w.priceMillicentsPerKWh)].sort((a, b) => (bid.type === 'sell' ? a - b : b - a));
  const common = {
    status: result.status,
    source,
    clearingPriceMillicentsPerKWh: result.clearingPriceMillicentsPerKWh ?? null,
    auctionAwardedWh: result.awardedWh ?? null,
    awards: result.awards.length,
  };
  if (award) {
    const rank = prices.indexOf(award.priceMillicentsPerKWh) + 1;
    return {
      ...common,
      accepted: true,
      awardedWh: award.energyWh,
      bidWh: bid.energyWh,
      filledPercent: bid.energyWh > 0 ? pct(award.energyWh / bid.energyWh) : null,
      awardPriceMillicentsPerKWh: award.priceMillicentsPerKWh,
      priceRank: rank,
      inWords: `accepted: ${award.energyWh} of ${bid.energyWh} Wh at ${award.priceMillicentsPerKWh} millicents/kWh, price rank ${rank} of ${result.awards.length} awards`,
    };
  }
  if (excluded) return { ...common, accepted: false, excludedReason: excluded.reason, inWords: `excluded: ${exclusionInWords(excluded.reason)}` };
  return { ...common, accepted: false, inWords: 'not in the result: the bid did not reach the auction before it closed' };
}

function settlementOf(s: HomeSources, r: BidRecord) {
  if (!s.chain) return { known: false, notKnownHere: NOT_KNOWN_HERE };
  const a = s.chain.auction(r.auctionId);
  const st = a?.settlements?.find((x) => x.address === r.bid!.address);
  if (!st) return { known: true, settled: false, inWords: a ? 'not settled yet (after the delivery interval, from its reading on chain)' : 'the auction is not on chain' };
  const award = a?.result?.awards.find((w) => w.address === r.bid!.address);
  // [AUC-10] in a buy auction (the home sold) the aggregator pays the home; in a sell
  // auction (the home bought) the home pays the aggregator; the penalty is the home's
  const homeSold = r.bid!.type === 'sell';
  const fin = finalityOf(s, st.height);
  return {
    known: true,
    settled: true,
    ...fin,
    awardedWh: award?.energyWh ?? null,
    deliveredWh: st.deliveredWh,
    ...(homeSold ? { receivedMillicents: st.paymentMc } : { paidMillicents: st.paymentMc }),
    penaltyPaidMillicents: st.penaltyMc,
    inWords: `${homeSold ? 'delivered' : 'took'} ${st.deliveredWh} Wh; ${homeSold ? `the aggregator paid this home ${st.paymentMc}` : `this home paid the aggregator ${st.paymentMc}`} millicents; penalty paid by this home ${st.penaltyMc} millicents (${fin.statusInWords})`,
  };
}

// ── the P2P market ───────────────────────────────────────────────────────────

/** [P2P] each interval the HEM decided for, newest first: its order, the clearing, the settlement. */
export function marketViews(s: HomeSources) {
  const records = [...(s.history.market?.records ?? [])].sort((a, b) => Date.parse(b.delivery.start) - Date.parse(a.delivery.start));
  return records.map((r) => marketView(s, r));
}

function marketView(s: HomeSources, r: MarketOrderRecord) {
  const o = r.order;
  const decision = o
    ? {
        order: { side: o.side, energyWh: o.energyWh, priceMillicentsPerKWh: o.priceMcPerKWh, address: o.address, orderId: o.orderId },
        reason: null,
        inWords: o.side === 'sell'
          ? `offered to sell ${o.energyWh} Wh at ${o.priceMcPerKWh} millicents/kWh or more`
          : `bid to buy ${o.energyWh} Wh at up to ${o.priceMcPerKWh} millicents/kWh`,
      }
    : { order: null, reason: r.reason, inWords: NO_ORDER_WORDS[r.reason ?? ''] ?? r.reason };
  const inputs = r.inputs
    ? {
        socAtDeliveryStartPercent: pct(r.inputs.soc), forecastPvWh: Math.round(r.inputs.forecast.pvWh), forecastLoadWh: Math.round(r.inputs.forecast.loadWh),
        awardWh: Math.round(r.inputs.awardWh), hasBattery: r.inputs.hasBattery,
      }
    : null;
  const x = r.outcome;
  const outcome = !o ? null : !x
    ? { status: r.seal?.missed ? 'not revealed' : r.seal?.revealed ? 'revealed, not cleared yet' : 'sealed, not revealed yet', filledWh: null }
    : {
        status: x.filledWh > 0 ? 'filled' : 'not filled',
        filledWh: x.filledWh,
        priceMillicentsPerKWh: x.priceMcPerKWh,
        clearingPriceMillicentsPerKWh: x.clearingPriceMcPerKWh,
        batteryWh: Math.round(x.batteryWh),
        inWords: x.filledWh > 0
          ? `${o.side === 'sell' ? 'sold' : 'bought'} ${x.filledWh} of ${o.energyWh} Wh at ${x.priceMcPerKWh} millicents/kWh` +
            (x.steered ? `; the battery ${x.batteryWh >= 0 ? 'charges' : 'discharges'} ${Math.abs(Math.round(x.batteryWh))} Wh in the interval` : '; no battery to steer')
          : `not filled (clearing price ${x.clearingPriceMcPerKWh ?? 'none: nothing traded'})`,
      };
  return { delivery: r.delivery, decidedAt: new Date(r.decidedAtMs).toISOString(), decision, inputs, outcome, settlement: o && x && x.filledWh > 0 ? marketSettlementOf(s, r) : null };
}

function marketSettlementOf(s: HomeSources, r: MarketOrderRecord) {
  if (!s.chain) return { known: false, notKnownHere: NOT_KNOWN_HERE };
  const state = s.chain.state();
  const epoch = epochOfInterval(state.genesis, r.delivery);
  const fill = epoch === undefined ? undefined : state.sections.markets.get(String(epoch))?.fills?.find((f) => f.address === r.order!.address && f.orderId === r.order!.orderId);
  const st = fill?.settlement;
  if (!st) return { known: true, settled: false, inWords: 'not settled yet (after the delivery interval, from its reading on chain)' };
  const sold = r.order!.side === 'sell';
  const fin = finalityOf(s, st.height);
  return {
    known: true,
    settled: true,
    ...fin,
    deliveredWh: st.deliveredWh,
    ...(sold ? { receivedMillicents: st.paymentMc } : { paidMillicents: st.paymentMc }),
    penaltyPaidMillicents: st.penaltyMc,
    inWords: `${sold ? 'exported' : 'imported'} ${st.deliveredWh} Wh of the fill; ${sold ? `this home received ${st.paymentMc}` : `this home paid ${st.paymentMc}`} millicents; imbalance paid by this home ${st.penaltyMc} millicents (${fin.statusInWords})`,
  };
}
