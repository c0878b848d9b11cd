/**
 * The figures of a simulated day, computed from the chain (the source of truth): a tally
 * fed with every block as it is verified (verifyChain's onBlock), never from MQTT or
 * from analytics. Each figure is named for what it is and carries its unit in its name
 * (Wh, McPerKWh, Mc = millicents). Money is a decimal integer string (exact; chain
 * wallets are bigints).
 *
 *   [CF-1] readings, bids, certificates, auction opens/closes = transactions in blocks
 *          (what the chain refused is not in a block, so it is not counted)
 *   [CF-2] auctions.byStatus = each auction's last status seen in the state after a block
 *          (settled and void auctions are pruned later; their last status is final)
 *   [CF-3] volumeWeightedAwardPriceMcPerKWh = floor(Σ energyWh × priceMcPerKWh / Σ energyWh)
 *          over every award; marginal clearing prices = each cleared auction's
 *          clearingPriceMcPerKWh (the last accepted price in merit order)
 *   [CF-4] money flows per wallet: received = payments from the aggregator's clearing account
 *          (aggregator buy), block rewards minted, transfers in; paid = penalties,
 *          payments to the aggregator (aggregator sell), transfers out;
 *          balance = genesis balance + received − paid (checked for every wallet)
 *   [CF-5] conservation: Σ balances = Σ genesis balances + Σ rewards minted − Σ rewards
 *          forfeited by equivocators
 *   [CF-6] self-consumption, imported, net load as in analytics' [AN-SC] [AN-EI] [AN-NL];
 *          market efficiency Σ traded / Σ imported, allocative Σ traded / Σ min(E_buy, E_sell)
 *          per delivery interval, E_buy/E_sell from the auction and the open bids on chain
 *   [CF-9] finality: the final height F = the larger of the node's own final checkpoint (its
 *          store's `final` record, when given) and the chain's proof in the last state
 *          (meta.finalized); money moved by a block at or below F is final, above F
 *          unconfirmed (a reorg could still undo it): settlements by the height of the block
 *          that settled them, rewards and transfers by their block, P2P fees by the clearing's
 *          block. A wallet's final balance = genesis + its flows in blocks ≤ F.
 */
import type { AppliedBlock } from '../poe-chain/core/validateAndApplyBlock.js';
import type { AuctionEntry, AuctionStatus, ChainState, MarketEntry } from '../poe-chain/core/chainState.js';
import type { Genesis } from '../poe-chain/core/genesis.js';
import { epochOfInterval } from '../poe-chain/core/genesis.js';
import { readingScore } from '../poe-chain/core/rankingForEpoch.js';
import { createPoeTally } from '../poe-chain/core/poeStats.js';
import { settlementsPerIntervalOf, type IntervalSettlement } from '../poe-chain/node/chainQueries.js';
import { energyToWh } from '../wire/quantities.js';

interface Tx {
  operation: string;
  clientId: string;
  parameters: Record<string, unknown>;
}

interface ReadingParams {
  address: string;
  interval: { start: string; end: string };
  producedWh: number;
  consumedWh: number;
  chargedWh: number;
  dischargedWh: number;
}

export interface WalletFigures {
  address: string;
  /** 'aggregator' = the market's clearing account; 'home' = a pseudonym */
  kind: 'aggregator' | 'home' | 'other';
  genesisMc: string;
  /** [CF-4] paid to this wallet */
  receivedMc: string;
  /** [CF-4] paid by this wallet */
  paidMc: string;
  /** genesis + received − paid, equal to the chain's balance */
  balanceMc: string;
  deliveredWh: number;
  settlements: number;
  rewardMc: string;
}

/** [CF-9] the money of the aggregator's auction settlements in one set of blocks */
export interface AuctionSettlementMoney {
  settlements: number;
  deliveredWh: number;
  paidByAggregatorToHomesMc: string;
  paidByHomesToAggregatorMc: string;
  penaltiesPaidByHomesMc: string;
}

/** [CF-9] the money of the P2P market's fill settlements in one set of blocks */
export interface P2pSettlementMoney {
  settlements: number;
  deliveredWh: number;
  paidByBuyersMc: string;
  paidToSellersMc: string;
  imbalancePaidMc: string;
}

export interface ChainFigures {
  /**
   * [CF-9] the final block and the money above it. Every other money figure counts the whole
   * chain to its head; these split it into final and unconfirmed.
   */
  finality: {
    headHeight: number;
    /** the final block: it and every block below it never revert */
    finalizedHeight: number;
    /** `node`: the node's own final checkpoint (its store's record) was the larger; `chain`: the chain's proof */
    finalizedHeightSource: 'node' | 'chain';
    /** the final checkpoint proven on chain by justification transactions (meta.finalized of the last state) */
    finalizedProvenOnChainHeight: number;
    /** blocks above the final one: headHeight − finalizedHeight */
    blocksNotFinal: number;
    auctionSettlements: { inFinalBlocks: AuctionSettlementMoney; inUnconfirmedBlocks: AuctionSettlementMoney };
    p2pSettlements: { inFinalBlocks: P2pSettlementMoney; inUnconfirmedBlocks: P2pSettlementMoney };
    blockRewardsMinted: { inFinalBlocksMc: string; inUnconfirmedBlocksMc: string };
    wallets: {
      /** Σ balances at the final block */
      finalTotalMc: string;
      /** Σ of what blocks above the final one changed (head total − final total) */
      unconfirmedChangeTotalMc: string;
      /** wallets that blocks above the final one changed: balance at the final block, the change since, the balance at the head */
      withUnconfirmedChange: { address: string; finalBalanceMc: string; unconfirmedChangeMc: string; balanceMc: string }[];
    };
  };
  chain: {
    height: number;
    blocks: number;
    txs: number;
    txsByOperation: Record<string, number>;
    /** distinct pseudonym addresses certified on chain (a home has one per day) */
    pseudonymsCertified: number;
    /** of those, certified RE or RE+TE (may be ranked and produce) */
    validatorPseudonymsCertified: number;
    producers: { address: string; blocks: number; share: number; rewardMc: string }[];
  };
  readings: {
    onChain: number;
    /** distinct pseudonyms that put a reading on chain */
    pseudonyms: number;
    /** delivery intervals (epochs) with at least one reading */
    intervals: number;
    producedWh: number;
    consumedWh: number;
    chargedWh: number;
    dischargedWh: number;
    importedWh: number;
    exportedWh: number;
  };
  auctions: {
    total: number;
    byStatus: Record<AuctionStatus, number>;
    voidReasons: Record<string, number>;
    /** bid-offer transactions in blocks */
    bidsOnChain: number;
    bidsAwarded: number;
    bidsExcludedAtClearing: Record<string, number>;
    awards: number;
    awardedWh: number;
    /** [CF-3] */
    volumeWeightedAwardPriceMcPerKWh: number | null;
    minMarginalClearingPriceMcPerKWh: number | null;
    maxMarginalClearingPriceMcPerKWh: number | null;
  };
  energy: {
    awardedWh: number;
    selfConsumedWh: number;
    selfConsumption: number | null;
    marketEfficiency: number | null;
    allocativeEfficiency: number | null;
  };
  payments: {
    settlements: number;
    deliveredWh: number;
    shortfallWh: number;
    /** aggregator buys: paid by the aggregator's clearing account to homes */
    paidByAggregatorToHomesMc: string;
    /** aggregator sells: paid by homes to the aggregator's clearing account */
    paidByHomesToAggregatorMc: string;
    /** penalties for shortfall, paid by homes to the aggregator */
    penaltiesPaidByHomesMc: string;
    blockRewardsMintedMc: string;
    /** rewards debited from equivocators [POE-7.equivocation] */
    rewardsForfeitedMc: string;
  };
  /**
   * [SETTLE-1] per delivery interval across every auction seen in the run (poe-chain/node/chainQueries.ts):
   * awarded and delivered Wh, and the money by direction — paidByAggregatorToHomesMc (the aggregator
   * buys), paidByHomesToAggregatorMc (it sells), penaltiesPaidByHomesMc
   */
  settlementsPerInterval: IntervalSettlement[];
  /** [CF-8] the P2P market [MKT], from the `markets` section and the order transactions */
  p2p: {
    /** market-order transactions on chain */
    orders: number;
    /** market-reveal transactions on chain */
    reveals: number;
    /** delivery intervals whose P2P market has cleared */
    intervalsCleared: number;
    /** of those, intervals in which energy traded */
    intervalsTraded: number;
    /** Σ volume cleared: energy bought (= energy sold) between homes and the aggregator's own orders */
    tradedWh: number;
    /** fills: one per order that traded in one interval (a seller's and a buyer's side count one each) */
    trades: number;
    /** distinct meters (certificate tags; the aggregator not counted) with at least one fill */
    homesTrading: number;
    /** of the traded energy, what the aggregator's own orders bought or sold */
    aggregatorTradedWh: number;
    /** settled fills: energy delivered (sells) or taken (buys) */
    deliveredWh: number;
    /** Σ filled − delivered over settled fills */
    shortfallWh: number;
    /** money: homes' purchases paid to the clearing account, sales paid by it, imbalance and unrevealed fees */
    paidByBuyersMc: string;
    paidToSellersMc: string;
    imbalancePaidMc: string;
    /** penalties not taken because a wallet was at its credit limit [MKT-CREDIT] */
    uncollectedMc: string;
    /** [MKT-SEAL] fees for orders not revealed */
    unrevealedFeesMc: string;
    /** Σ over filled orders of (bid − price) × Wh for buys and (price − ask) × Wh for sells, / 1000: the traders' surplus (welfare) */
    surplusMc: string;
    /** volume-weighted clearing price over the intervals that traded */
    volumeWeightedPriceMcPerKWh: number | null;
    /**
     * 1 − (energy the community as a whole imported) / (energy its homes used), per interval
     * with readings: community import = max(0, Σ homes' net load); used = Σ (loads + charged)
     */
    communitySelfSufficiency: number | null;
  };
  /**
   * [CF-7] what decided each epoch's election (poe-chain/core/poeStats.ts): epochs whose first
   * block ranked a validator, of which decided by energy (a single validator, the score of
   * interval e − 2, or the [CPF-window]) or by the seed; the longest gap between a block
   * and its parent, in slots
   */
  poe: {
    epochsWithValidators: number;
    decidedByEnergy: number;
    decidedBySeed: number;
    decidedBy: { single: number; score: number; window: number; seed: number };
    longestBlockGapSlots: number;
  };
  cpf: {
    epochsRanked: number;
    lastRankedEpoch: number | null;
    maxValidatorsRanked: number;
    meanBestScoreWh: number | null;
    meanBestCpf: number | null;
  };
  wallets: {
    count: number;
    genesisTotalMc: string;
    totalMc: string;
    /** [CF-5] Σ balances = Σ genesis + minted − forfeited, and every wallet's flows explain its balance */
    conserved: boolean;
    /** wallets whose balance the flows above do not explain (none expected) */
    unexplained: { address: string; differenceMc: string }[];
    items: WalletFigures[];
  };
  series: {
    /** per epoch with readings: Σ net load of the readings on chain */
    meteredNetLoad: { epoch: number; netLoadWh: number; readings: number }[];
    /** per delivery epoch with awards */
    prices: { epoch: number; awardedWh: number; volumeWeightedAwardPriceMcPerKWh: number }[];
    ranking: { epoch: number; validators: number; bestScoreWh: number | null }[];
    /** [CF-7] per epoch: validators, how many tied with the first on energy, and what decided */
    election: { epoch: number; validators: number; tiedAtTop: number; decidedBy: string }[];
  };
}

const cpfOf = (scoreWh: number) => Math.exp(-scoreWh / 1000);

/** A tally fed block by block (in height order, each with its parent state); `figures()` at the end. */
export function createChainTally(genesis: Genesis) {
  const g = genesis;
  const poe = createPoeTally();
  let blocks = 0;
  let height = 0;
  let txs = 0;
  const txsByOperation: Record<string, number> = {};
  const certified = new Map<string, string>();
  const producers = new Map<string, { blocks: number; reward: bigint }>();
  let readings = 0;
  const readingAddresses = new Set<string>();
  const perEpoch = new Map<number, { netLoadWh: number; importedWh: number; readings: number; usedWh: number }>();
  const sums = { p: 0, c: 0, ch: 0, dis: 0, imported: 0, exported: 0, selfConsumed: 0 };
  let bidsOnChain = 0;
  const offered = new Map<string, number>(); // auctionId → Σ Wh of open bids on the HEM side
  const auctions = new Map<string, AuctionEntry>();
  let lastState: ChainState | undefined;
  const transfers: { from: string; to: string; mc: bigint; height: number }[] = [];
  const forfeits: { address: string; mc: bigint; height: number }[] = [];
  /** [CF-9] the reward each block minted, by height */
  const mintedByBlock: { height: number; producer: string; mc: bigint }[] = [];
  const rankings: { epoch: number; validators: number; bestScoreWh: number | null }[] = [];
  const markets = new Map<string, MarketEntry>();
  const revealedPrice = new Map<string, number>(); // "address|orderId" → its revealed price
  let orders = 0;
  let reveals = 0;

  function addReading(p: ReadingParams): void {
    readings++;
    readingAddresses.add(p.address);
    const epoch = epochOfInterval(g, p.interval);
    const P = p.producedWh, C = p.consumedWh, ch = p.chargedWh, dis = p.dischargedWh;
    const net = C + ch - P - dis;
    sums.p += P; sums.c += C; sums.ch += ch; sums.dis += dis;
    sums.imported += Math.max(0, net);
    sums.exported += Math.max(0, -net);
    sums.selfConsumed += Math.min(P, C + ch);
    if (epoch !== undefined) {
      const e = perEpoch.get(epoch) ?? { netLoadWh: 0, importedWh: 0, readings: 0, usedWh: 0 };
      e.netLoadWh += net;
      e.importedWh += Math.max(0, net);
      e.usedWh += C + ch;
      e.readings++;
      perEpoch.set(epoch, e);
    }
  }

  return {
    add(applied: AppliedBlock, parent: ChainState): void {
      poe.add(parent, applied.block.parameters.header);
      const h = applied.block.parameters.header;
      blocks++;
      height = h.height;
      const pr = producers.get(h.producer) ?? { blocks: 0, reward: 0n };
      pr.blocks++;
      let forfeitedByProducer = 0n;
      for (const raw of applied.block.parameters.txs as unknown as Tx[]) {
        txs++;
        txsByOperation[raw.operation] = (txsByOperation[raw.operation] ?? 0) + 1;
        const p = raw.parameters;
        if (raw.operation === 'meter-reading') addReading(p as unknown as ReadingParams);
        else if (raw.operation === 'certificate') certified.set(String(p.address), String(p.programme));
        else if (raw.operation === 'transfer') transfers.push({ from: raw.clientId, to: String(p.to), mc: BigInt(p.amountMillicents as number), height: h.height });
        else if (raw.operation === 'evidence' || raw.operation === 'vote-evidence') {
          // [POE-7.equivocation] [FIN-E] the equivocator's rewards so far are debited (burned)
          const who = raw.operation === 'evidence' ? (p.a as { header: { producer: string } }).header.producer : (p.a as { clientId: string }).clientId;
          const mc = BigInt(parent.sections.rewards.get(who) ?? '0');
          if (mc > 0n) forfeits.push({ address: who, mc, height: h.height });
          if (who === h.producer) forfeitedByProducer += mc;
        }
        else if (raw.operation === 'market-order') orders++;
        else if (raw.operation === 'market-reveal') {
          reveals++;
          revealedPrice.set(`${String(p.address)}|${String(p.orderId)}`, p.priceMcPerKWh as number);
        }
        else if (raw.operation === 'bid-offer') {
          bidsOnChain++;
          const bid = p.bid as { type: string; energy: { unit: 'Wh' | 'kWh'; value: number } } | undefined;
          const a = applied.state.sections.auctions.get(String(p.auctionId)) ?? parent.sections.auctions.get(String(p.auctionId));
          if (bid !== undefined && a !== undefined && bid.type === (a.side === 'buy' ? 'sell' : 'buy')) {
            offered.set(String(p.auctionId), (offered.get(String(p.auctionId)) ?? 0) + energyToWh(bid.energy));
          }
        }
      }
      // the reward minted by this block [EB-2]: the producer's reward total after it, less before (plus any it forfeited in it)
      const reward = BigInt(applied.state.sections.rewards.get(h.producer) ?? '0') - BigInt(parent.sections.rewards.get(h.producer) ?? '0') + forfeitedByProducer;
      pr.reward += reward;
      if (reward !== 0n) mintedByBlock.push({ height: h.height, producer: h.producer, mc: reward });
      producers.set(h.producer, pr);
      for (const [id, a] of applied.state.sections.auctions.entries()) auctions.set(id, a);
      for (const [k, m] of applied.state.sections.markets.entries()) if (m.status !== 'open') markets.set(k, m);
      if (applied.state.meta.rankingEpoch > parent.meta.rankingEpoch) {
        const m = applied.state.meta;
        let best: number | null = null;
        const first = m.ranking[0];
        if (first !== undefined) {
          const r = applied.state.sections.readings.get(`${first}|${m.rankingEpoch - 2}`) ?? parent.sections.readings.get(`${first}|${m.rankingEpoch - 2}`);
          best = r === undefined ? null : readingScore(r, g.cpfRule);
        }
        rankings.push({ epoch: m.rankingEpoch, validators: m.ranking.length, bestScoreWh: best });
      }
      lastState = applied.state;
    },

    /** `localFinalizedHeight`: the node's own final checkpoint (its store's `final` record), when known [CF-9] */
    figures(o: { localFinalizedHeight?: number } = {}): ChainFigures {
      // [CF-9] the final height: the node's record or the chain's proof, whichever is higher
      const proven = lastState?.meta.finalized.height ?? 0;
      const local = o.localFinalizedHeight !== undefined ? Math.min(o.localFinalizedHeight, height) : undefined;
      const F = Math.max(proven, local ?? 0);
      const fin = (h: number) => h <= F;
      const auctionMoney = () => ({ settlements: 0, deliveredWh: 0, toHomes: 0n, toAggregator: 0n, penalties: 0n });
      const aFin = auctionMoney(), aUnc = auctionMoney();
      const p2pMoney = () => ({ settlements: 0, deliveredWh: 0, byBuyers: 0n, toSellers: 0n, imbalance: 0n });
      const pFin = p2pMoney(), pUnc = p2pMoney();
      /** [CF-9] per wallet: what blocks above F moved (received − paid) */
      const unconfirmed = new Map<string, bigint>();
      const moved = (address: string, mc: bigint, h: number) => {
        if (!fin(h) && mc !== 0n) unconfirmed.set(address, (unconfirmed.get(address) ?? 0n) + mc);
      };
      const byStatus: Record<AuctionStatus, number> = { open: 0, closed: 0, settled: 0, void: 0 };
      const voidReasons: Record<string, number> = {};
      const excludedAtClearing: Record<string, number> = {};
      let awards = 0, awardedWh = 0, priceVolume = 0n, settlements = 0, deliveredWh = 0, shortfallWh = 0;
      let toHomes = 0n, toAggregator = 0n, penalties = 0n;
      const marginal: number[] = [];
      const awardedPerEpoch = new Map<number, { wh: number; pv: bigint }>();
      const buySellPerEpoch = new Map<number, { buyWh: number; sellWh: number }>();
      const wallet = new Map<string, { received: bigint; paid: bigint; deliveredWh: number; settlements: number; reward: bigint }>();
      const w = (a: string) => {
        let x = wallet.get(a);
        if (!x) wallet.set(a, (x = { received: 0n, paid: 0n, deliveredWh: 0, settlements: 0, reward: 0n }));
        return x;
      };
      const agg = g.aggregatorKey;
      for (const [id, a] of auctions) {
        byStatus[a.status]++;
        if (a.status === 'void') voidReasons[a.voidReason ?? 'unknown'] = (voidReasons[a.voidReason ?? 'unknown'] ?? 0) + 1;
        for (const x of a.excluded ?? []) excludedAtClearing[x.reason] = (excludedAtClearing[x.reason] ?? 0) + 1;
        if (a.clearingPriceMcPerKWh !== undefined && a.clearingPriceMcPerKWh !== null) marginal.push(a.clearingPriceMcPerKWh);
        if (a.status !== 'void') {
          // [CF-6] E_buy / E_sell of the delivery interval
          const s = buySellPerEpoch.get(a.deliveryEpoch) ?? { buyWh: 0, sellWh: 0 };
          const hem = offered.get(id) ?? 0;
          if (a.side === 'buy') { s.buyWh += a.energyWh; s.sellWh += hem; } else { s.sellWh += a.energyWh; s.buyWh += hem; }
          buySellPerEpoch.set(a.deliveryEpoch, s);
        }
        for (const aw of a.awards ?? []) {
          awards++;
          awardedWh += aw.energyWh;
          priceVolume += BigInt(aw.energyWh) * BigInt(aw.priceMcPerKWh);
          const e = awardedPerEpoch.get(a.deliveryEpoch) ?? { wh: 0, pv: 0n };
          e.wh += aw.energyWh;
          e.pv += BigInt(aw.energyWh) * BigInt(aw.priceMcPerKWh);
          awardedPerEpoch.set(a.deliveryEpoch, e);
          const st = aw.settlement;
          if (st === undefined) continue;
          settlements++;
          deliveredWh += st.deliveredWh;
          shortfallWh += aw.energyWh - st.deliveredWh;
          const pay = BigInt(st.paymentMc), pen = BigInt(st.penaltyMc);
          const home = w(aw.address);
          home.deliveredWh += st.deliveredWh;
          home.settlements++;
          if (a.side === 'buy') { toHomes += pay; home.received += pay; w(agg).paid += pay; }
          else { toAggregator += pay; home.paid += pay; w(agg).received += pay; }
          penalties += pen;
          home.paid += pen;
          w(agg).received += pen;
          // [CF-9] final or unconfirmed by the block that settled it
          const m = fin(st.height) ? aFin : aUnc;
          m.settlements++;
          m.deliveredWh += st.deliveredWh;
          if (a.side === 'buy') { m.toHomes += pay; moved(aw.address, pay, st.height); moved(agg, -pay, st.height); }
          else { m.toAggregator += pay; moved(aw.address, -pay, st.height); moved(agg, pay, st.height); }
          m.penalties += pen;
          moved(aw.address, -pen, st.height);
          moved(agg, pen, st.height);
        }
      }
      // [CF-8] the P2P market's money, wallet by wallet
      const p2p = { intervalsCleared: 0, intervalsTraded: 0, tradedWh: 0, trades: 0, aggregatorTradedWh: 0, deliveredWh: 0, shortfallWh: 0 };
      let byBuyers = 0n, toSellers = 0n, imbalance = 0n, uncollected = 0n, fees = 0n, surplus = 0n, p2pPriceVolume = 0n;
      const tradingTags = new Set<string>();
      for (const m of markets.values()) {
        p2p.intervalsCleared++;
        if ((m.volumeWh ?? 0) > 0) {
          p2p.intervalsTraded++;
          p2p.tradedWh += m.volumeWh!;
          p2pPriceVolume += BigInt(m.volumeWh!) * BigInt(m.clearingPriceMcPerKWh ?? 0);
        }
        for (const x of m.excluded ?? []) {
          if (x.penaltyMc === undefined || x.penaltyMc === 0) continue;
          fees += BigInt(x.penaltyMc);
          w(x.address).paid += BigInt(x.penaltyMc);
          w(agg).received += BigInt(x.penaltyMc);
          moved(x.address, -BigInt(x.penaltyMc), m.clearedHeight ?? height);
          moved(agg, BigInt(x.penaltyMc), m.clearedHeight ?? height);
        }
        for (const f of m.fills ?? []) {
          p2p.trades++;
          if (f.address === agg) p2p.aggregatorTradedWh += f.energyWh;
          else tradingTags.add(f.tag);
          const own = revealedPrice.get(`${f.address}|${f.orderId}`);
          if (own !== undefined) surplus += (BigInt(f.side === 'buy' ? own - f.priceMcPerKWh : f.priceMcPerKWh - own) * BigInt(f.energyWh)) / 1000n;
          const st = f.settlement;
          if (st === undefined) continue;
          p2p.deliveredWh += st.deliveredWh;
          p2p.shortfallWh += f.energyWh - st.deliveredWh;
          const pay = BigInt(st.paymentMc), pen = BigInt(st.penaltyMc);
          if (f.side === 'sell') { toSellers += pay; w(f.address).received += pay; w(agg).paid += pay; }
          else { byBuyers += pay; w(f.address).paid += pay; w(agg).received += pay; }
          imbalance += pen;
          uncollected += BigInt(st.uncollectedMc);
          w(f.address).paid += pen;
          w(agg).received += pen;
          // [CF-9] final or unconfirmed by the block that settled the fill
          const pm = fin(st.height) ? pFin : pUnc;
          pm.settlements++;
          pm.deliveredWh += st.deliveredWh;
          if (f.side === 'sell') { pm.toSellers += pay; moved(f.address, pay, st.height); moved(agg, -pay, st.height); }
          else { pm.byBuyers += pay; moved(f.address, -pay, st.height); moved(agg, pay, st.height); }
          pm.imbalance += pen;
          moved(f.address, -pen, st.height);
          moved(agg, pen, st.height);
        }
      }
      let communityImported = 0, used = 0;
      for (const e of perEpoch.values()) { communityImported += Math.max(0, e.netLoadWh); used += e.usedWh; }
      let minted = 0n;
      for (const [addr, p] of producers) {
        minted += p.reward;
        if (p.reward > 0n) { w(addr).received += p.reward; w(addr).reward += p.reward; }
      }
      for (const t of transfers) { w(t.from).paid += t.mc; w(t.to).received += t.mc; moved(t.from, -t.mc, t.height); moved(t.to, t.mc, t.height); }
      let burned = 0n;
      for (const f of forfeits) { w(f.address).paid += f.mc; burned += f.mc; moved(f.address, -f.mc, f.height); }
      let mintedFinal = 0n, mintedUnconfirmed = 0n;
      for (const r of mintedByBlock) {
        if (fin(r.height)) mintedFinal += r.mc;
        else mintedUnconfirmed += r.mc;
        moved(r.producer, r.mc, r.height);
      }
      const state = lastState;
      const genesisBal = new Map(g.config.balances.map((b) => [b.address, BigInt(b.millicents)]));
      const addrs = new Set<string>([...wallet.keys(), ...genesisBal.keys(), ...(state ? [...state.sections.wallets.entries()].map(([a]) => a) : [])]);
      let total = 0n, genesisTotal = 0n;
      const unexplained: { address: string; differenceMc: string }[] = [];
      const items: WalletFigures[] = [...addrs].sort().map((address) => {
        const x = wallet.get(address) ?? { received: 0n, paid: 0n, deliveredWh: 0, settlements: 0, reward: 0n };
        const gb = genesisBal.get(address) ?? 0n;
        const bal = state ? BigInt(state.sections.wallets.get(address) ?? '0') : gb;
        total += bal;
        genesisTotal += gb;
        if (gb + x.received - x.paid !== bal) unexplained.push({ address, differenceMc: String(bal - (gb + x.received - x.paid)) });
        return {
          address, kind: address === agg ? 'aggregator' : certified.has(address) ? 'home' : 'other',
          genesisMc: String(gb), receivedMc: String(x.received), paidMc: String(x.paid), balanceMc: String(bal),
          deliveredWh: x.deliveredWh, settlements: x.settlements, rewardMc: String(x.reward),
        };
      });
      const balanceOfItem = new Map(items.map((i) => [i.address, BigInt(i.balanceMc)]));
      const withUnconfirmedChange = [...unconfirmed].filter(([, mc]) => mc !== 0n).sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([address, mc]) => {
        const bal = balanceOfItem.get(address) ?? 0n;
        return { address, finalBalanceMc: String(bal - mc), unconfirmedChangeMc: String(mc), balanceMc: String(bal) };
      });
      const unconfirmedTotal = [...unconfirmed.values()].reduce((a, b) => a + b, 0n);
      const auctionMoneyOut = (m: ReturnType<typeof auctionMoney>): AuctionSettlementMoney => ({
        settlements: m.settlements, deliveredWh: m.deliveredWh, paidByAggregatorToHomesMc: String(m.toHomes), paidByHomesToAggregatorMc: String(m.toAggregator), penaltiesPaidByHomesMc: String(m.penalties),
      });
      const p2pMoneyOut = (m: ReturnType<typeof p2pMoney>): P2pSettlementMoney => ({
        settlements: m.settlements, deliveredWh: m.deliveredWh, paidByBuyersMc: String(m.byBuyers), paidToSellersMc: String(m.toSellers), imbalancePaidMc: String(m.imbalance),
      });
      const traded = [...awardedPerEpoch.values()].reduce((n, e) => n + e.wh, 0);
      const imported = [...perEpoch.values()].reduce((n, e) => n + e.importedWh, 0);
      const matchable = [...buySellPerEpoch.values()].reduce((n, x) => n + Math.min(x.buyWh, x.sellWh), 0);
      const ranked = rankings.filter((r) => r.validators > 0);
      const bests = ranked.map((r) => r.bestScoreWh).filter((x): x is number => x !== null);
      const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
      return {
        finality: {
          headHeight: height,
          finalizedHeight: F,
          finalizedHeightSource: local !== undefined && local > proven ? 'node' : 'chain',
          finalizedProvenOnChainHeight: proven,
          blocksNotFinal: height - F,
          auctionSettlements: { inFinalBlocks: auctionMoneyOut(aFin), inUnconfirmedBlocks: auctionMoneyOut(aUnc) },
          p2pSettlements: { inFinalBlocks: p2pMoneyOut(pFin), inUnconfirmedBlocks: p2pMoneyOut(pUnc) },
          blockRewardsMinted: { inFinalBlocksMc: String(mintedFinal), inUnconfirmedBlocksMc: String(mintedUnconfirmed) },
          wallets: { finalTotalMc: String(total - unconfirmedTotal), unconfirmedChangeTotalMc: String(unconfirmedTotal), withUnconfirmedChange },
        },
        chain: {
          height, blocks, txs, txsByOperation,
          pseudonymsCertified: certified.size,
          validatorPseudonymsCertified: [...certified.values()].filter((p) => p === 'RE' || p === 'RE+TE').length,
          producers: [...producers].map(([address, p]) => ({ address, blocks: p.blocks, share: blocks ? p.blocks / blocks : 0, rewardMc: String(p.reward) }))
            .sort((a, b) => b.blocks - a.blocks || (a.address < b.address ? -1 : 1)),
        },
        readings: {
          onChain: readings, pseudonyms: readingAddresses.size, intervals: perEpoch.size,
          producedWh: sums.p, consumedWh: sums.c, chargedWh: sums.ch, dischargedWh: sums.dis, importedWh: sums.imported, exportedWh: sums.exported,
        },
        auctions: {
          total: auctions.size, byStatus, voidReasons, bidsOnChain, bidsAwarded: awards, bidsExcludedAtClearing: excludedAtClearing,
          awards, awardedWh,
          volumeWeightedAwardPriceMcPerKWh: awardedWh > 0 ? Number(priceVolume / BigInt(awardedWh)) : null,
          minMarginalClearingPriceMcPerKWh: marginal.length ? Math.min(...marginal) : null,
          maxMarginalClearingPriceMcPerKWh: marginal.length ? Math.max(...marginal) : null,
        },
        energy: {
          awardedWh, selfConsumedWh: sums.selfConsumed, selfConsumption: ratio(sums.selfConsumed, sums.p),
          marketEfficiency: ratio(traded, imported), allocativeEfficiency: ratio(traded, matchable),
        },
        payments: {
          settlements, deliveredWh, shortfallWh,
          paidByAggregatorToHomesMc: String(toHomes), paidByHomesToAggregatorMc: String(toAggregator), penaltiesPaidByHomesMc: String(penalties),
          blockRewardsMintedMc: String(minted), rewardsForfeitedMc: String(burned),
        },
        settlementsPerInterval: settlementsPerIntervalOf(g, auctions),
        p2p: {
          orders, reveals, ...p2p, homesTrading: tradingTags.size,
          paidByBuyersMc: String(byBuyers), paidToSellersMc: String(toSellers), imbalancePaidMc: String(imbalance),
          uncollectedMc: String(uncollected), unrevealedFeesMc: String(fees), surplusMc: String(surplus),
          volumeWeightedPriceMcPerKWh: p2p.tradedWh > 0 ? Number(p2pPriceVolume / BigInt(p2p.tradedWh)) : null,
          communitySelfSufficiency: used > 0 ? 1 - communityImported / used : null,
        },
        poe: (() => {
          const p = poe.summary();
          return { epochsWithValidators: p.epochsWithValidators, decidedByEnergy: p.decidedByEnergy, decidedBySeed: p.decidedBy.seed, decidedBy: p.decidedBy, longestBlockGapSlots: p.longestBlockGapSlots };
        })(),
        cpf: {
          epochsRanked: ranked.length,
          lastRankedEpoch: ranked.length ? ranked[ranked.length - 1]!.epoch : null,
          maxValidatorsRanked: rankings.reduce((m, r) => Math.max(m, r.validators), 0),
          meanBestScoreWh: bests.length ? bests.reduce((a, b) => a + b, 0) / bests.length : null,
          meanBestCpf: bests.length ? bests.reduce((a, b) => a + cpfOf(b), 0) / bests.length : null,
        },
        wallets: { count: items.length, genesisTotalMc: String(genesisTotal), totalMc: String(total), conserved: total === genesisTotal + minted - burned && unexplained.length === 0, unexplained, items },
        series: {
          meteredNetLoad: [...perEpoch].sort((a, b) => a[0] - b[0]).map(([epoch, e]) => ({ epoch, netLoadWh: e.netLoadWh, readings: e.readings })),
          prices: [...awardedPerEpoch].sort((a, b) => a[0] - b[0]).map(([epoch, e]) => ({ epoch, awardedWh: e.wh, volumeWeightedAwardPriceMcPerKWh: Number(e.pv / BigInt(e.wh || 1)) })),
          ranking: rankings,
          election: poe.summary().records.map((r) => ({ epoch: r.epoch, validators: r.validators, tiedAtTop: r.tiedAtTop, decidedBy: r.decidedBy })),
        },
      };
    },
  };
}
