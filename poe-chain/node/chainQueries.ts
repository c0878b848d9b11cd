/**
 * Read-only views of a chain state for the other parts (aggregator, analytics, HEM, CLI).
 * Pure: a state in, plain JSON-friendly values out (money as decimal strings).
 *
 *   activeAuctionsView  [CLOSE] the auctions not yet settled or void, as auction-open parameters
 *                (chain units: Wh, millicents/kWh), for an aggregator picking them up at start
 *   auctionView  the aggregator's ChainAuction (aggregator/aggregator.ts): status
 *                open | cleared (closed on chain, awards not all settled) | void | settled,
 *                result = auction-result parameters (schemas/operations.ts), settlements
 *   settlementsPerInterval  [SETTLE-1] per delivery interval, across all auctions: awarded,
 *                delivered (paid) Wh, and the money of the settled awards by direction: paid by
 *                the aggregator to homes (it buys), paid by homes to the aggregator (it sells;
 *                penalties for shortfall)
 *   walletView   balance and block rewards in millicents, certificate, revoked, equivocator
 *   feederLimitsView  [FEEDER-1] the registry's feeder limits on chain, by feeder
 *   readingFeedOf  the meter readings a node's mempool admits, for an aggregator in the same process
 */
import type { ChainAuction, ChainFeederLimit, ChainView, PendingTxEvent, ReadingFeed } from './chainViews.js';
import type { AuctionOpen, AuctionResult } from '../../schemas/types.js';
import type { AuctionEntry, ChainState, Programme } from '../core/chainState.js';
import { epochStart, type Genesis } from '../core/genesis.js';

/** The auction-result parameters of an auction as the chain recorded it (undefined while open). */
export function auctionResultOf(auctionId: string, a: AuctionEntry): AuctionResult | undefined {
  if (a.status === 'open') return undefined;
  const height = a.closedHeight !== undefined ? { height: a.closedHeight } : {};
  if (a.status === 'void') return { auctionId, status: 'void', awards: [], reason: (a.voidReason ?? 'VOID').slice(0, 256), ...height };
  const awards = a.awards ?? [];
  return {
    auctionId,
    status: 'cleared',
    ...(a.clearingPriceMcPerKWh !== undefined && a.clearingPriceMcPerKWh !== null ? { clearingPriceMillicentsPerKWh: a.clearingPriceMcPerKWh } : {}),
    awardedWh: a.awardedWh ?? awards.reduce((s, w) => s + w.energyWh, 0),
    awards: awards.map((w) => ({ address: w.address, feeder: w.feeder, energyWh: w.energyWh, priceMillicentsPerKWh: w.priceMcPerKWh, bidReqId: w.reqId })),
    excluded: (a.excluded ?? []).map((x) => ({ address: x.address, reqId: x.reqId, reason: x.reason.slice(0, 256) })),
    ...height,
  };
}

/** The aggregator's view of one auction in `state`; undefined when the chain does not hold it. */
export function auctionView(state: ChainState, auctionId: string): ChainAuction | undefined {
  const a = state.sections.auctions.get(auctionId);
  if (a === undefined) return undefined;
  const status: ChainAuction['status'] = a.status === 'closed' ? 'cleared' : a.status;
  const out: ChainAuction = { status };
  const result = auctionResultOf(auctionId, a);
  if (result) out.result = result;
  const settled = (a.awards ?? []).filter((w) => w.settlement !== undefined);
  if (a.status === 'settled' || settled.length > 0) {
    out.settlements = settled.map((w) => ({ address: w.address, deliveredWh: w.settlement!.deliveredWh, paymentMc: w.settlement!.paymentMc, penaltyMc: w.settlement!.penaltyMc, height: w.settlement!.height }));
  }
  return out;
}

/** [CLOSE] the auctions of `state` still open or with awards to settle, oldest id first. */
export function activeAuctionsView(state: ChainState): { auctionId: string; open: AuctionOpen }[] {
  const g = state.genesis;
  const out: { auctionId: string; open: AuctionOpen }[] = [];
  for (const auctionId of state.meta.active) {
    const a = state.sections.auctions.get(auctionId);
    if (a === undefined || (a.status !== 'open' && a.status !== 'closed')) continue;
    out.push({
      auctionId,
      open: {
        auctionId,
        side: a.side,
        energy: { unit: 'Wh', value: a.energyWh },
        limitPrice: { unit: 'millicents/kWh', value: a.limitPriceMcPerKWh },
        delivery: { start: new Date(epochStart(g, a.deliveryEpoch)).toISOString(), end: new Date(epochStart(g, a.deliveryEpoch + 1)).toISOString() },
        closesAt: new Date(a.closesAt).toISOString(),
        pricing: a.pricing,
        sealed: a.sealed,
        feederLimits: a.feederLimits.map((f) => ({ ...f })),
      },
    });
  }
  return out;
}

export interface IntervalSettlement {
  /** start of the delivery interval, ISO */
  interval: string;
  /** the delivery interval's number (its epoch) */
  deliveryEpoch: number;
  auctions: number;
  awards: number;
  /** distinct meters (certificate tags) with a settled award */
  homes: number;
  awardedWh: number;
  deliveredWh: number;
  /** auctions where the aggregator buys: paid by the aggregator's clearing account to the homes for energy delivered */
  paidByAggregatorToHomesMc: number;
  /** auctions where the aggregator sells: paid by the homes to the aggregator's clearing account for energy taken */
  paidByHomesToAggregatorMc: number;
  /** penalties for shortfall (either side), paid by the homes to the aggregator */
  penaltiesPaidByHomesMc: number;
}

/** [SETTLE-1] the settled awards of `state`, summed per delivery interval across auctions, oldest first. */
export function settlementsPerInterval(state: ChainState): IntervalSettlement[] {
  return settlementsPerIntervalOf(state.genesis, state.sections.auctions.entries());
}

/**
 * [SETTLE-1] the same over any auction entries, e.g. every auction seen in a run (settled
 * auctions are pruned from the state after `auctionRetentionIntervals`).
 */
export function settlementsPerIntervalOf(genesis: Genesis, auctions: Iterable<[string, AuctionEntry]>): IntervalSettlement[] {
  const by = new Map<number, IntervalSettlement & { ids: Set<string>; tags: Set<string> }>();
  for (const [id, a] of auctions) {
    for (const w of a.awards ?? []) {
      if (w.settlement === undefined) continue;
      let e = by.get(a.deliveryEpoch);
      if (e === undefined) {
        e = {
          interval: new Date(epochStart(genesis, a.deliveryEpoch)).toISOString(), deliveryEpoch: a.deliveryEpoch, auctions: 0, awards: 0, homes: 0, awardedWh: 0, deliveredWh: 0,
          paidByAggregatorToHomesMc: 0, paidByHomesToAggregatorMc: 0, penaltiesPaidByHomesMc: 0, ids: new Set(), tags: new Set(),
        };
        by.set(a.deliveryEpoch, e);
      }
      e.ids.add(id);
      e.tags.add(w.tag);
      e.awards++;
      e.awardedWh += w.energyWh;
      e.deliveredWh += w.settlement.deliveredWh;
      // [AC-3] the payment's direction is the auction's side (auctionContract toWinner)
      if (a.side === 'buy') e.paidByAggregatorToHomesMc += w.settlement.paymentMc;
      else e.paidByHomesToAggregatorMc += w.settlement.paymentMc;
      e.penaltiesPaidByHomesMc += w.settlement.penaltyMc;
    }
  }
  return [...by.entries()].sort((x, y) => x[0] - y[0]).map(([, { ids, tags, ...e }]) => ({ ...e, auctions: ids.size, homes: tags.size }));
}

/** Anything that can show the head state (a ChainNode does; it also says its final height). */
export interface HasState {
  state(): ChainState;
  head?(): { finalizedHeight: number };
}

/**
 * The aggregator's ChainView over a node: reads the node's head state at each call; the
 * final height is the node's own (its finality gadget's), else the state's on-chain proof.
 */
export function chainViewOf(node: HasState): ChainView {
  return {
    finalizedHeight: async () => (node.head ? node.head().finalizedHeight : node.state().meta.finalized.height),
    auction: async (auctionId) => auctionView(node.state(), auctionId),
    activeAuctions: async () => activeAuctionsView(node.state()),
    feederLimits: async () => feederLimitsView(node.state()),
  };
}

/** [FEEDER-1] the registry's feeder limits held by `state`, sorted by feeder. */
export function feederLimitsView(state: ChainState): ChainFeederLimit[] {
  return state.sections.feederLimits.sortedEntries().map(([feeder, l]) => ({
    feeder, maxExportWh: l.maxExportWh, maxImportWh: l.maxImportWh, issuedAt: new Date(l.issuedAt).toISOString(),
  }));
}

export interface WalletView {
  address: string;
  /** balance in millicents, exact decimal (may be negative) */
  millicents: string;
  /** block rewards received so far (forfeited on equivocation) */
  rewardsMillicents: string;
  /** the address has a wallet entry */
  known: boolean;
  certificate?: { feeder: string; programme: Programme; validFrom: string; validTo: string };
  revoked: boolean;
  equivocator: boolean;
  /** height of the state read */
  height: number;
}

export function walletView(state: ChainState, address: string): WalletView {
  const s = state.sections;
  const cert = s.certs.get(address);
  return {
    address,
    millicents: s.wallets.get(address) ?? '0',
    rewardsMillicents: s.rewards.get(address) ?? '0',
    known: s.wallets.has(address),
    ...(cert
      ? { certificate: { feeder: cert.feeder, programme: cert.programme, validFrom: new Date(cert.validFrom).toISOString(), validTo: new Date(cert.validTo).toISOString() } }
      : {}),
    revoked: s.revoked.has(address),
    equivocator: s.equivocators.has(address),
    height: state.meta.height,
  };
}

/** Anything that reports the transactions its mempool admits (a ChainNode does). */
export interface HasPending {
  on(event: 'pending', listener: (e: PendingTxEvent) => void): unknown;
  off(event: 'pending', listener: (e: PendingTxEvent) => void): unknown;
}

/**
 * The aggregator's readings from a node in the same process: each meter reading the node's
 * mempool admits (schema, signature and the chain's reading rules checked once, by the node).
 */
export function readingFeedOf(node: HasPending): ReadingFeed {
  return (onReading) => {
    const listener = (e: PendingTxEvent) => {
      if (e.envelope.operation === 'meter-reading') onReading(e.envelope.parameters);
    };
    node.on('pending', listener);
    return () => node.off('pending', listener);
  };
}

/**
 * One movement of an address's money on chain: a settlement, a fee, a transfer. `height` is
 * the block that moved it, so a reader can tell final (at or below the final height) from
 * unconfirmed ([FIN]: `tmi wallet`).
 */
export interface WalletPayment {
  kind: 'auction-settlement' | 'p2p-settlement' | 'unrevealed-bid-fee' | 'unrevealed-order-fee' | 'transfer';
  height: number;
  /** net effect on the address's balance, millicents: + paid to it, − paid by it */
  millicents: string;
  /** the other side (the aggregator's clearing account for settlements and fees) */
  counterparty: string;
  auctionId?: string;
  /** [MKT] the delivery interval (epoch) of a P2P fill or fee */
  interval?: number;
  orderId?: string;
  side?: 'buy' | 'sell';
  deliveredWh?: number;
  paymentMc?: number;
  penaltyMc?: number;
}

/**
 * The settlements and fees of `address` that `state` still holds (auctions and P2P markets
 * are pruned after their retention window), newest block first. Signs as the wallet sees
 * them: [AC-3] in a buy auction the aggregator pays the winner, in a sell auction the winner
 * pays; penalties and fees are paid by the home to the aggregator's clearing account.
 */
export function paymentsOf(state: ChainState, address: string): WalletPayment[] {
  const agg = state.genesis.aggregatorKey;
  const out: WalletPayment[] = [];
  const net = (own: string, ownDelta: bigint, aggDelta: bigint) => (own === address ? ownDelta : 0n) + (agg === address ? aggDelta : 0n);
  for (const [auctionId, a] of state.sections.auctions.entries()) {
    for (const w of a.awards ?? []) {
      const st = w.settlement;
      if (st === undefined || (w.address !== address && agg !== address)) continue;
      const pay = BigInt(st.paymentMc), pen = BigInt(st.penaltyMc);
      const toHome = a.side === 'buy' ? pay : -pay;
      out.push({
        kind: 'auction-settlement', height: st.height, millicents: String(net(w.address, toHome - pen, -toHome + pen)),
        counterparty: w.address === address ? agg : w.address, auctionId, side: a.side, deliveredWh: st.deliveredWh, paymentMc: st.paymentMc, penaltyMc: st.penaltyMc,
      });
    }
    for (const x of a.excluded ?? []) {
      if (!x.penaltyMc || (x.address !== address && agg !== address) || a.closedHeight === undefined) continue;
      const fee = BigInt(x.penaltyMc);
      out.push({ kind: 'unrevealed-bid-fee', height: a.closedHeight, millicents: String(net(x.address, -fee, fee)), counterparty: x.address === address ? agg : x.address, auctionId, penaltyMc: x.penaltyMc });
    }
  }
  for (const [key, m] of state.sections.markets.entries()) {
    const interval = Number(key);
    for (const f of m.fills ?? []) {
      const st = f.settlement;
      if (st === undefined || (f.address !== address && agg !== address)) continue;
      const pay = BigInt(st.paymentMc), pen = BigInt(st.penaltyMc);
      const toTrader = f.side === 'sell' ? pay : -pay;
      out.push({
        kind: 'p2p-settlement', height: st.height, millicents: String(net(f.address, toTrader - pen, -toTrader + pen)),
        counterparty: f.address === address ? agg : f.address, interval, orderId: f.orderId, side: f.side, deliveredWh: st.deliveredWh, paymentMc: st.paymentMc, penaltyMc: st.penaltyMc,
      });
    }
    for (const x of m.excluded ?? []) {
      if (!x.penaltyMc || (x.address !== address && agg !== address) || m.clearedHeight === undefined) continue;
      const fee = BigInt(x.penaltyMc);
      out.push({ kind: 'unrevealed-order-fee', height: m.clearedHeight, millicents: String(net(x.address, -fee, fee)), counterparty: x.address === address ? agg : x.address, interval, orderId: x.orderId, penaltyMc: x.penaltyMc });
    }
  }
  return out.sort((x, y) => y.height - x.height);
}

/** The transfers to or from `address` in one block (`transfer` transactions), as WalletPayments. */
export function transfersOf(block: { parameters: { header: { height: number }; txs: readonly unknown[] } }, address: string): WalletPayment[] {
  const out: WalletPayment[] = [];
  for (const raw of block.parameters.txs as { operation?: string; clientId?: string; parameters?: { to?: string; amountMillicents?: number } }[]) {
    if (raw.operation !== 'transfer' || raw.parameters?.to === undefined || raw.parameters.amountMillicents === undefined) continue;
    const from = String(raw.clientId), to = raw.parameters.to;
    if (from !== address && to !== address) continue;
    const mc = BigInt(raw.parameters.amountMillicents);
    out.push({ kind: 'transfer', height: block.parameters.header.height, millicents: String((to === address ? mc : 0n) - (from === address ? mc : 0n)), counterparty: from === address ? to : from });
  }
  return out;
}
