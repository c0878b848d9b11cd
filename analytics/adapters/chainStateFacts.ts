/**
 * Chain state → facts, after each applied block. Pure: compares the state before and
 * after one block (poe-chain's ChainState) and says what changed:
 *
 *   BlockFact          the block, with the producer's reward (Δ of its `rewards` entry)
 *   WalletFact         every wallet whose balance changed (all of them after genesis); the
 *                      aggregator's (genesis aggregatorKey) marked as the clearing account
 *   AuctionOpenFact    auctions that appeared (delivery interval from the genesis epochs)
 *   AuctionResultFact  auctions that closed with awards (cleared) or were voided
 *   SettlementFact     awards that got a settlement
 *   MarketClearingFact a P2P market that left 'open' in this block [AN-P2P], with the book of
 *                      revealed orders that stood in its interval
 *   MarketSettlementFact a P2P fill that got a settlement
 *   RankingFact        the PoE ranking, when a new epoch's ranking was stored; each
 *                      entry's score is |P − C| of the reading it was ranked by
 *   FinalityFact       [AN-FIN] the final checkpoint proven on chain (meta.finalized), when it moved
 */
import type { AuctionEntry, ChainState, OrderEntry } from '../../poe-chain/core/chainState.js';
import { epochStart } from '../../poe-chain/core/genesis.js';
import { poeEpochRecord } from '../../poe-chain/core/poeStats.js';
import type { BlockHeader } from '../../schemas/types.js';
import { readingScore } from '../../poe-chain/core/rankingForEpoch.js';
import type { BlockEnvelope } from '../../poe-chain/core/validateAndApplyBlock.js';
import type { Fact, MarketOrderFact, RankingEntry } from '../facts.js';
import { cpfOf } from '../stats/ranking.js';

export interface AppliedBlockLike {
  block: BlockEnvelope;
  hash: string;
  state: ChainState;
}

const MAX_MC = 1_000_000_000_000_000;
/** chain balances are arbitrary-precision decimal strings; facts carry bounded numbers (display) */
const toMc = (s: string | undefined): number => {
  const v = Number(BigInt(s ?? '0'));
  return Math.max(-MAX_MC, Math.min(MAX_MC, v));
};

function sameAuctionOutcome(a: AuctionEntry | undefined, b: AuctionEntry): boolean {
  return a !== undefined && a.status === b.status && a.awardedWh === b.awardedWh && a.awards?.length === b.awards?.length && a.voidReason === b.voidReason;
}

export function chainStateFacts(prev: ChainState, applied: AppliedBlockLike): Fact[] {
  const next = applied.state;
  const g = next.genesis;
  const { header, txs } = applied.block.parameters;
  const height = header.height;
  const time = Date.parse(applied.block.date);
  const out: Fact[] = [];

  const rewardMc = toMc(next.sections.rewards.get(header.producer)) - toMc(prev.sections.rewards.get(header.producer));
  out.push({
    kind: 'block', height, slot: header.slot, epoch: header.epoch, hash: applied.hash, producer: header.producer,
    txCount: txs.length, time, rewardMc: Math.max(0, rewardMc),
  });

  // [AN-FIN] the final checkpoint proven on chain moved (a justification in this block)
  const fin = next.meta.finalized;
  if (fin.height !== prev.meta.finalized.height || fin.hash !== prev.meta.finalized.hash) {
    out.push({ kind: 'finality', source: 'chain', round: fin.round, height: fin.height, hash: fin.hash, time });
  }

  for (const [address, balance] of next.sections.wallets.entries()) {
    if (prev.sections.wallets.get(address) !== balance || prev.meta.height === 0) {
      out.push({ kind: 'wallet', address, balanceMc: toMc(balance), height, ...(address === g.aggregatorKey ? { clearingAccount: true as const } : {}) });
    }
  }

  for (const [auctionId, a] of next.sections.auctions.entries()) {
    const before = prev.sections.auctions.get(auctionId);
    if (before === undefined) {
      out.push({
        kind: 'auction-open', auctionId, side: a.side, energyWh: a.energyWh, limitPriceMcPerKWh: a.limitPriceMcPerKWh,
        deliveryStart: epochStart(g, a.deliveryEpoch), deliveryEnd: epochStart(g, a.deliveryEpoch + 1), closesAt: a.closesAt,
        pricing: a.pricing, sealed: a.sealed, time,
      });
    }
    if ((a.status === 'void' || a.awards !== undefined) && !sameAuctionOutcome(before, a)) {
      const cleared = a.status !== 'void';
      out.push({
        kind: 'auction-result', auctionId, status: cleared ? 'cleared' : 'void',
        ...(cleared && a.clearingPriceMcPerKWh !== undefined && a.clearingPriceMcPerKWh !== null ? { clearingPriceMcPerKWh: a.clearingPriceMcPerKWh } : {}),
        awards: cleared ? (a.awards ?? []).map((w) => ({ address: w.address, energyWh: w.energyWh, priceMcPerKWh: w.priceMcPerKWh })) : [],
        excludedCount: a.excluded?.length ?? 0,
        height: a.closedHeight ?? height,
        time,
      });
    }
    // one settlement fact per (auction, address): the sums over that address's settled awards
    const fresh = new Set<string>();
    for (const w of a.awards ?? []) {
      if (w.settlement === undefined) continue;
      const was = before?.awards?.find((x) => x.address === w.address && x.reqId === w.reqId)?.settlement;
      if (was === undefined) fresh.add(w.address);
    }
    for (const address of [...fresh].sort()) {
      const s = { deliveredWh: 0, paymentMc: 0, penaltyMc: 0, height: 0 };
      for (const w of a.awards ?? []) {
        if (w.address !== address || w.settlement === undefined) continue;
        s.deliveredWh += w.settlement.deliveredWh;
        s.paymentMc += w.settlement.paymentMc;
        s.penaltyMc += w.settlement.penaltyMc;
        s.height = Math.max(s.height, w.settlement.height);
      }
      out.push({ kind: 'settlement', auctionId, address, ...s });
    }
  }

  out.push(...marketFacts(prev, applied, time));

  if (next.meta.rankingEpoch > prev.meta.rankingEpoch && next.meta.rankingEpoch >= 0) {
    const epoch = next.meta.rankingEpoch;
    const ranking: RankingEntry[] = [];
    for (const address of next.meta.ranking) {
      // [POE-7.valid] the ranking of e uses the readings of interval e − 2
      const key = `${address}|${epoch - 2}`;
      const r = next.sections.readings.get(key) ?? prev.sections.readings.get(key);
      if (r === undefined) continue;
      const scoreWh = readingScore(r, next.genesis.cpfRule);
      ranking.push({ address, scoreWh, cpf: cpfOf(scoreWh) });
    }
    // [AN-POE] what decided: the chain's ranking computed again on the parent state, with its keys
    const rec = poeEpochRecord(prev, { epoch } as Pick<BlockHeader, 'epoch'> as BlockHeader);
    out.push({ kind: 'ranking', epoch, ranking, height, decidedBy: rec.decidedBy, tiedAtTop: rec.tiedAtTop });
  }
  return out;
}

interface Reveal {
  energyWh: number;
  priceMcPerKWh: number;
}

/** `market-reveal` transactions of the block, by "address|orderId". */
function revealsOf(applied: AppliedBlockLike): Map<string, Reveal> {
  const out = new Map<string, Reveal>();
  for (const tx of applied.block.parameters.txs) {
    if (tx.operation !== 'market-reveal') continue;
    const p = tx.parameters as { orderId?: unknown; address?: unknown; energyWh?: unknown; priceMcPerKWh?: unknown };
    if (typeof p.orderId !== 'string' || typeof p.address !== 'string' || typeof p.energyWh !== 'number' || typeof p.priceMcPerKWh !== 'number') continue;
    out.set(`${p.address}|${p.orderId}`, { energyWh: p.energyWh, priceMcPerKWh: p.priceMcPerKWh });
  }
  return out;
}

/**
 * [AN-P2P] The revealed orders standing in interval e: the orders of the parent state (the
 * clearing drops an order whose last interval it is) and of the new one (orders placed in
 * this block), each with its energy and price from the state or from this block's reveal.
 */
function bookOf(prev: ChainState, next: ChainState, reveals: Map<string, Reveal>, epoch: number): MarketOrderFact[] {
  const all = new Map<string, OrderEntry>();
  for (const [k, o] of prev.sections.orders.entries()) all.set(k, o);
  for (const [k, o] of next.sections.orders.entries()) all.set(k, o);
  const book: (MarketOrderFact & { inclusion: number })[] = [];
  for (const [k, o] of all) {
    if (o.firstEpoch > epoch || o.lastEpoch < epoch) continue;
    const r = o.energyWh !== undefined && o.priceMcPerKWh !== undefined ? { energyWh: o.energyWh, priceMcPerKWh: o.priceMcPerKWh } : reveals.get(k);
    if (r === undefined) continue;
    book.push({ orderId: o.orderId, address: o.address, side: o.side, energyWh: r.energyWh, priceMcPerKWh: r.priceMcPerKWh, inclusion: o.inclusion });
  }
  // chain order [MKT-1]
  book.sort((x, y) => x.inclusion - y.inclusion);
  return book.map(({ inclusion: _, ...o }) => o);
}

function marketFacts(prev: ChainState, applied: AppliedBlockLike, time: number): Fact[] {
  const next = applied.state;
  const g = next.genesis;
  const height = applied.block.parameters.header.height;
  const out: Fact[] = [];
  let reveals: Map<string, Reveal> | undefined;
  for (const [key, m] of next.sections.markets.entries()) {
    const before = prev.sections.markets.get(key);
    if (m.status !== 'open' && (before === undefined || before.status === 'open')) {
      reveals ??= revealsOf(applied);
      out.push({
        kind: 'market-clearing', interval: m.epoch, intervalStart: epochStart(g, m.epoch), intervalEnd: epochStart(g, m.epoch + 1),
        ...(m.clearingPriceMcPerKWh !== undefined && m.clearingPriceMcPerKWh !== null ? { clearingPriceMcPerKWh: m.clearingPriceMcPerKWh } : {}),
        ...(m.priceRange !== undefined && m.priceRange !== null ? { priceRange: { lowMcPerKWh: m.priceRange.lowMcPerKWh, highMcPerKWh: m.priceRange.highMcPerKWh } } : {}),
        volumeWh: m.volumeWh ?? 0,
        fills: (m.fills ?? []).map((f) => ({ orderId: f.orderId, address: f.address, side: f.side, energyWh: f.energyWh, priceMcPerKWh: f.priceMcPerKWh })),
        book: bookOf(prev, next, reveals, m.epoch),
        excludedCount: m.excluded?.length ?? 0,
        height: m.clearedHeight ?? height,
        time,
      });
    }
    for (const f of m.fills ?? []) {
      const st = f.settlement;
      if (st === undefined) continue;
      const was = before?.fills?.find((x) => x.orderId === f.orderId && x.address === f.address)?.settlement;
      if (was !== undefined) continue;
      out.push({
        kind: 'market-settlement', interval: m.epoch, orderId: f.orderId, address: f.address, side: f.side, filledWh: f.energyWh,
        deliveredWh: st.deliveredWh, paymentMc: st.paymentMc, penaltyMc: st.penaltyMc, uncollectedMc: st.uncollectedMc, height: st.height,
      });
    }
  }
  return out;
}
