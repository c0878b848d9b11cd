/**
 * The figures of a run recomputed by the tests straight from the stored blocks, by a path
 * of their own: the raw block JSON in height order, the transactions in them and the rules
 * as the README states them, with no chain state and no replay. Only the clearing itself
 * (clearWireAuction, the wire-level entry of the contract) and the reading score (the
 * chain's definition of |P − C|) are the chain's functions.
 *
 * What it recomputes: block, transaction and producer counts and rewards; certificates;
 * readings and their energy sums; auction status (cleared at close, void when not closed
 * by closesAt + voidGrace, settled when every award has settled), bids, awards, prices;
 * [FEEDER-2] feeder limits of each clearing (the registry's records on chain from `feeder-limit`
 * transactions [FEEDER-1], tightened by the auction-open's own); settlements (measured =
 * discharged for an aggregator buy, charged for a sell, from the
 * winner's reading of the delivery interval once the block time reaches the delivery end,
 * or 0 at delivery end + settleGrace); every wallet (genesis + payments, penalties,
 * rewards, transfers); self-consumption and efficiencies; the epochs ranked; the P2P market
 * [MKT] block by block: the book of each interval at its gate (revealed standing orders,
 * credit caps from the wallets at that point, feeder room: the registry's limits from the
 * `feeder-limit` transactions up to that block, less what the auctions left), its
 * clearing (clearMarket, the chain's pure function), the fills' settlement from readings and
 * every P2P payment, imbalance and fee.
 */
import { clearWireAuction, type WireBid } from '../../poe-chain/core/auction/wireAuction.js';
import { readingScore } from '../../poe-chain/core/rankingForEpoch.js';
import { chainLevel } from '../../poe-chain/store/chainDataDir.js';
import type { AuctionOpen, BidOffer, BidReveal } from '../../schemas/types.js';
import { clearMarket, type MarketOrderIn } from '../../poe-chain/core/market/clearMarket.js';
import { energyToWh } from '../../wire/quantities.js';

export interface RawGenesis {
  genesisTime: string;
  intervalMs: number;
  slotMs: number;
  blockRewardMc: number;
  patience: number;
  penaltyMcPerKWh: number;
  voidGraceMs: number;
  revealWindowMs: number;
  unrevealedPenaltyMc: number;
  settleGraceMs: number;
  aggregatorKey: string;
  gateClosureMs?: number;
  marketPricing?: 'uniform' | 'pay-as-bid';
  creditLimitMc?: number;
  imbalancePriceMcPerKWh?: number;
  cpfRule?: 'paper' | 'net-exchange';
  cpfWindowIntervals?: number;
  readingRetentionIntervals?: number;
  balances: { address: string; millicents: number }[];
}

interface RawTx {
  operation: string;
  clientId: string;
  reqId: string;
  parameters: Record<string, unknown>;
}

export interface RawBlock {
  parameters: { header: { height: number; slot: number; epoch: number; producer: string }; txs: RawTx[] };
}

/** The genesis and every block, read from a data directory's chain database in height order. */
export async function readStoredChain(dataDir: string): Promise<{ genesis: RawGenesis; blocks: RawBlock[] }> {
  const db = chainLevel(dataDir);
  await db.open();
  try {
    const genesis = JSON.parse((await db.get('genesis'))!) as RawGenesis;
    const head = JSON.parse((await db.get('head'))!) as { height: number };
    const blocks: RawBlock[] = [];
    for (let h = 1; h <= head.height; h++) {
      const hash = (await db.get(`h:${String(h).padStart(12, '0')}`))!;
      blocks.push(JSON.parse((await db.get(`b:${hash}`))!) as RawBlock);
    }
    return { genesis, blocks };
  } finally {
    await db.close();
  }
}

interface Reading { address: string; epoch: number; p: number; c: number; ch: number; dis: number; blockIndex: number }

export function recomputeFromBlocks(genesis: RawGenesis, blocks: RawBlock[]) {
  const g0 = Date.parse(genesis.genesisTime);
  const timeOf = (slot: number) => g0 + slot * genesis.slotMs;
  const epochOf = (iso: string) => (Date.parse(iso) - g0) / genesis.intervalMs;
  const money = new Map<string, bigint>();
  // every flow with where it happens in the chain: block index and phase (−1 genesis, 0 the
  // block's transactions, 1 auction clearings, 2 P2P clearings, 3 award settlements, 4 P2P
  // settlements, 5 the reward), so a wallet can be read at any point [MKT-CREDIT]
  const events: { i: number; phase: number; addr: string; mc: bigint }[] = [];
  const flow = (addr: string, mc: bigint, i = -1, phase = -1) => {
    money.set(addr, (money.get(addr) ?? 0n) + mc);
    events.push({ i, phase, addr, mc });
  };
  const balanceAt = (addr: string, i: number, phase: number) =>
    events.reduce((a, e) => (e.addr === addr && (e.i < i || (e.i === i && e.phase <= phase)) ? a + e.mc : a), 0n);
  for (const b of genesis.balances) flow(b.address, BigInt(b.millicents));
  const agg = genesis.aggregatorKey;

  const txsByOperation: Record<string, number> = {};
  const certs = new Map<string, string>();
  const tags = new Map<string, string>();
  const reveals = new Map<string, { blockIndex: number; params: BidReveal }[]>();
  const producers = new Map<string, { blocks: number; rewardMc: bigint }>();
  const readings: Reading[] = [];
  const readingAt = new Map<string, Reading>();
  const opens = new Map<string, { open: AuctionOpen; blockIndex: number }>();
  const bidsOf = new Map<string, WireBid[]>();
  const bidBlock = new Map<string, number>();
  const closes = new Map<string, { blockIndex: number; txIndex: number }>();
  interface P2POrder { blockIndex: number; inclusion: number; address: string; orderId: string; side: 'buy' | 'sell'; feeder: string; first: number; last: number }
  const p2pOrders: P2POrder[] = [];
  const p2pReveals = new Map<string, { blockIndex: number; energyWh: number; priceMcPerKWh: number }>();
  // [FEEDER-1] the registry's records as the feeder-limit transactions put them on chain, in chain order
  const feederLimitsAt: { blockIndex: number; txIndex: number; feeder: string; maxExportWh: number; maxImportWh: number }[] = [];
  let bidsOnChain = 0;
  let minted = 0n;
  // certificates in force at each block, for the reward rule [EB-2]
  for (const [i, b] of blocks.entries()) {
    const h = b.parameters.header;
    b.parameters.txs.forEach((tx, k) => {
      txsByOperation[tx.operation] = (txsByOperation[tx.operation] ?? 0) + 1;
      const p = tx.parameters;
      switch (tx.operation) {
        case 'certificate':
          certs.set(String(p.address), String(p.programme));
          tags.set(String(p.address), String(p.tag));
          break;
        case 'bid-reveal':
          reveals.set(String(p.auctionId), [...(reveals.get(String(p.auctionId)) ?? []), { blockIndex: i, params: p as unknown as BidReveal }]);
          break;
        case 'meter-reading': {
          const r: Reading = { address: String(p.address), epoch: epochOf((p.interval as { start: string }).start), p: p.producedWh as number, c: p.consumedWh as number, ch: p.chargedWh as number, dis: p.dischargedWh as number, blockIndex: i };
          readings.push(r);
          readingAt.set(`${r.address}|${r.epoch}`, r);
          break;
        }
        case 'auction-open':
          opens.set(String(p.auctionId), { open: p as unknown as AuctionOpen, blockIndex: i });
          break;
        case 'feeder-limit':
          feederLimitsAt.push({ blockIndex: i, txIndex: k, feeder: String(p.feeder), maxExportWh: p.maxExportWh as number, maxImportWh: p.maxImportWh as number });
          break;
        case 'market-order': {
          const first = epochOf((p.delivery as { start: string }).start);
          p2pOrders.push({ blockIndex: i, inclusion: h.height * 100_000 + k, address: String(p.address), orderId: String(p.orderId), side: p.side as 'buy' | 'sell', feeder: String(p.feeder), first, last: first + (p.intervals as number) - 1 });
          break;
        }
        case 'market-reveal':
          p2pReveals.set(`${String(p.address)}|${String(p.orderId)}`, { blockIndex: i, energyWh: p.energyWh as number, priceMcPerKWh: p.priceMcPerKWh as number });
          break;
        case 'bid-offer':
          bidsOnChain++;
          bidsOf.set(String(p.auctionId), [...(bidsOf.get(String(p.auctionId)) ?? []), { reqId: tx.reqId, inclusion: h.height * 100_000 + k, params: p as unknown as BidOffer }]);
          bidBlock.set(`${String(p.auctionId)}|${tx.reqId}`, i);
          break;
        case 'auction-close':
          closes.set(String(p.auctionId), { blockIndex: i, txIndex: k });
          break;
        case 'transfer':
          flow(tx.clientId, -BigInt(p.amountMillicents as number), i, 0);
          flow(String(p.to), BigInt(p.amountMillicents as number), i, 0);
          break;
        case 'justification':
          // [FIN-J] a justification proves a justified checkpoint: it moves no money
          break;
        default:
          if (tx.operation !== 'revocation' && tx.operation !== 'vote-evidence') throw new Error(`RECOMPUTE does not know how ${tx.operation} moves money`);
      }
    });
    const pr = producers.get(h.producer) ?? { blocks: 0, rewardMc: 0n };
    pr.blocks++;
    const programme = certs.get(h.producer);
    if (programme === 'RE' || programme === 'RE+TE') {
      // [REWARD] paid by the slots the block covers: ⌊reward × min(s − p, W) / W⌋
      const parentSlot = i === 0 ? 0 : blocks[i - 1]!.parameters.header.slot;
      const reward = (BigInt(genesis.blockRewardMc) * BigInt(Math.min(h.slot - parentSlot, genesis.patience))) / BigInt(genesis.patience);
      pr.rewardMc += reward;
      minted += reward;
      flow(h.producer, reward, i, 5);
    }
    producers.set(h.producer, pr);
  }
  if (txsByOperation.revocation || txsByOperation.evidence || txsByOperation['vote-evidence']) throw new Error('RECOMPUTE: revocations and evidence change rewards; not expected in a simulated day');

  // auctions
  const lastTime = blocks.length ? timeOf(blocks[blocks.length - 1]!.parameters.header.slot) : g0;
  const byStatus = { open: 0, closed: 0, settled: 0, void: 0 };
  const excluded: Record<string, number> = {};
  const marginal: number[] = [];
  let awards = 0, awardedWh = 0, pv = 0n, settlements = 0, deliveredWh = 0, shortfallWh = 0;
  let toHomes = 0n, toAgg = 0n, penalties = 0n;
  const perAuction: { auctionId: string; status: keyof typeof byStatus; deliveryEpoch: number; closesAt: number }[] = [];
  const slotTraded = new Map<number, number>();
  const slotBuySell = new Map<number, { buy: number; sell: number }>();
  // [CLOSE] [SEALED] each auction clears at the end of the first block at or after closesAt
  // (+ the reveal window when sealed); within a block, those closed by an auction-close in it
  // first, then the others in auction id order; [FEEDER-2] a clearing gets what is left of each
  // feeder's limit after the earlier clearings of its interval
  interface Cleared { id: string; open: AuctionOpen; blockIndex: number; order: number; closeTx: number }
  const toClear: Cleared[] = [];
  for (const [id, { open }] of opens) {
    const due = Date.parse(open.closesAt) + (open.sealed ? genesis.revealWindowMs : 0);
    const blockIndex = blocks.findIndex((b) => timeOf(b.parameters.header.slot) >= due);
    if (blockIndex < 0) {
      byStatus.open++;
      perAuction.push({ auctionId: id, status: 'open', deliveryEpoch: epochOf(open.delivery.start), closesAt: Date.parse(open.closesAt) });
      continue;
    }
    const close = closes.get(id);
    const byClose = close !== undefined && close.blockIndex === blockIndex;
    toClear.push({ id, open, blockIndex, order: byClose ? 0 : 1, closeTx: byClose ? close.txIndex : Infinity });
  }
  toClear.sort((x, y) => x.blockIndex - y.blockIndex || x.order - y.order || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const feederUse = new Map<string, number>();
  interface Award { auctionId: string; open: AuctionOpen; address: string; energyWh: number; priceMcPerKWh: number; inclusion: number; clearIndex: number }
  const allAwards: Award[] = [];
  const awardsOf = new Map<string, number>();
  /** [FEEDER-1] the registry's limits on chain before transaction `txIndex` of block `blockIndex` (Infinity: at its end) */
  const registryLimitsAt = (blockIndex: number, txIndex: number) => {
    const m = new Map<string, { maxExportWh: number; maxImportWh: number }>();
    for (const fl of feederLimitsAt) if (fl.blockIndex < blockIndex || (fl.blockIndex === blockIndex && fl.txIndex < txIndex)) m.set(fl.feeder, fl);
    return m;
  };
  for (const { id, open, blockIndex, closeTx } of toClear) {
    const deliveryEpoch = epochOf(open.delivery.start);
    const bids = (bidsOf.get(id) ?? []).filter((b) => (bidBlock.get(`${id}|${b.reqId}`) ?? 0) < blockIndex);
    const revealed = (reveals.get(id) ?? []).filter((r) => r.blockIndex < blockIndex).map((r) => r.params);
    const key = (feeder: string) => `${deliveryEpoch}|${open.side}|${feeder}`;
    // [FEEDER-2] the registry's limit on chain at the clearing, an auction-open's own only tightening it
    const limits = registryLimitsAt(blockIndex, closeTx);
    for (const own of open.feederLimits ?? []) {
      const r = limits.get(own.feeder);
      limits.set(own.feeder, r === undefined ? own : { maxExportWh: Math.min(r.maxExportWh, own.maxExportWh), maxImportWh: Math.min(r.maxImportWh, own.maxImportWh) });
    }
    const feederLimits = [...limits].map(([feeder, l]) => ({ feeder, ...l })).map((f) =>
      open.side === 'buy'
        ? { feeder: f.feeder, maxExportWh: Math.max(0, f.maxExportWh - (feederUse.get(key(f.feeder)) ?? 0)), maxImportWh: f.maxImportWh }
        : { feeder: f.feeder, maxExportWh: f.maxExportWh, maxImportWh: Math.max(0, f.maxImportWh - (feederUse.get(key(f.feeder)) ?? 0)) });
    const r = clearWireAuction(open, bids, { feederLimits, reveals: revealed });
    for (const x of r.excluded) {
      excluded[x.reason] = (excluded[x.reason] ?? 0) + 1;
      if (x.reason === 'NOT_REVEALED') {
        // [SEALED] the fee of an unrevealed commitment, to the aggregator
        flow(x.address, -BigInt(genesis.unrevealedPenaltyMc), blockIndex, 1);
        flow(agg, BigInt(genesis.unrevealedPenaltyMc), blockIndex, 1);
        penalties += BigInt(genesis.unrevealedPenaltyMc);
      }
    }
    if (r.clearingPriceMcPerKWh !== null) marginal.push(r.clearingPriceMcPerKWh);
    const hemSide = open.side === 'buy' ? 'sell' : 'buy';
    const offered = bids.filter((b) => b.params.bid?.type === hemSide).reduce((a, b) => a + energyToWh(b.params.bid!.energy), 0);
    const bs = slotBuySell.get(deliveryEpoch) ?? { buy: 0, sell: 0 };
    const wanted = energyToWh(open.energy);
    if (open.side === 'buy') { bs.buy += wanted; bs.sell += offered; } else { bs.sell += wanted; bs.buy += offered; }
    slotBuySell.set(deliveryEpoch, bs);
    const inclusionOf = new Map(bids.map((b) => [b.params.address, b.inclusion]));
    for (const aw of r.awards) {
      feederUse.set(key(aw.feeder), (feederUse.get(key(aw.feeder)) ?? 0) + aw.energyWh);
      awards++;
      awardedWh += aw.energyWh;
      pv += BigInt(aw.energyWh) * BigInt(aw.priceMcPerKWh);
      slotTraded.set(deliveryEpoch, (slotTraded.get(deliveryEpoch) ?? 0) + aw.energyWh);
      allAwards.push({ auctionId: id, open, address: aw.address, energyWh: aw.energyWh, priceMcPerKWh: aw.priceMcPerKWh, inclusion: inclusionOf.get(aw.address)!, clearIndex: blockIndex });
    }
    awardsOf.set(id, r.awards.length);
  }
  // [AC-3] [SETTLE-1] each award settles at the first block at or after delivery end that holds its
  // winner's reading (else at the deadline); awards due in one block in bid inclusion order; one
  // measurement per meter (certificate tag), interval and flow is shared, earlier awards first
  const settleAt = (aw: Award): number => {
    const deliveryEnd = Date.parse(aw.open.delivery.end);
    const rd = readingAt.get(`${aw.address}|${epochOf(aw.open.delivery.start)}`);
    for (const [i, b] of blocks.entries()) {
      if (i <= aw.clearIndex) continue;
      const t = timeOf(b.parameters.header.slot);
      if (t < deliveryEnd) continue;
      if ((rd !== undefined && rd.blockIndex <= i) || t >= deliveryEnd + genesis.settleGraceMs) return i;
    }
    return -1;
  };
  const due = allAwards.map((aw) => ({ aw, at: settleAt(aw) }));
  due.sort((x, y) => (x.at < 0 ? 1 : 0) - (y.at < 0 ? 1 : 0) || x.at - y.at || x.aw.inclusion - y.aw.inclusion);
  const settledAwards: SettledAward[] = [];
  const paidFor = new Map<string, number>();
  const auctionPaid: { key: string; at: number; wh: number }[] = [];
  const unsettled = new Map<string, number>();
  for (const { aw, at } of due) {
    if (at < 0) {
      unsettled.set(aw.auctionId, (unsettled.get(aw.auctionId) ?? 0) + 1);
      continue;
    }
    const epoch = epochOf(aw.open.delivery.start);
    const rd = readingAt.get(`${aw.address}|${epoch}`);
    const measured = rd !== undefined && rd.blockIndex <= at ? (aw.open.side === 'buy' ? rd.dis : rd.ch) : 0;
    const k = `${epoch}|${aw.open.side}|${tags.get(aw.address) ?? aw.address}`;
    const prior = paidFor.get(k) ?? 0;
    const delivered = Math.min(aw.energyWh, Math.max(0, measured - prior));
    if (delivered > 0) paidFor.set(k, prior + delivered);
    if (delivered > 0) auctionPaid.push({ key: k, at, wh: delivered });
    const pay = (BigInt(delivered) * BigInt(aw.priceMcPerKWh)) / 1000n;
    const pen = (BigInt(aw.energyWh - delivered) * BigInt(genesis.penaltyMcPerKWh)) / 1000n;
    settlements++;
    deliveredWh += delivered;
    shortfallWh += aw.energyWh - delivered;
    // the payment in the auction's direction, the penalty from the winner: two flows, so a
    // wallet's received and paid are seen apart (same block and phase: balances unchanged)
    const toWinner = aw.open.side === 'buy' ? pay : -pay;
    flow(aw.address, toWinner, at, 3);
    flow(agg, -toWinner, at, 3);
    flow(aw.address, -pen, at, 3);
    flow(agg, pen, at, 3);
    if (aw.open.side === 'buy') toHomes += pay; else toAgg += pay;
    penalties += pen;
    settledAwards.push({ auctionId: aw.auctionId, epoch, side: aw.open.side, address: aw.address, tag: tags.get(aw.address) ?? aw.address, energyWh: aw.energyWh, deliveredWh: delivered, paymentMc: pay, penaltyMc: pen });
  }
  for (const { id, open } of toClear) {
    const status: keyof typeof byStatus = (awardsOf.get(id) ?? 0) === 0 || !unsettled.has(id) ? 'settled' : 'closed';
    byStatus[status]++;
    perAuction.push({ auctionId: id, status, deliveryEpoch: epochOf(open.delivery.start), closesAt: Date.parse(open.closesAt) });
  }

  // [MKT] the P2P market, block by block
  const gate = (e: number) => g0 + e * genesis.intervalMs - (genesis.gateClosureMs ?? Math.floor(genesis.intervalMs / 3));
  const credit = BigInt(genesis.creditLimitMc ?? 1_000_000);
  const imbalancePrice = BigInt(genesis.imbalancePriceMcPerKWh ?? 30_000);
  const tagOf = (a: string) => (a === agg ? agg : tags.get(a) ?? a);
  const reserved = new Map<string, bigint>();
  interface Fill { e: number; address: string; orderId: string; side: 'buy' | 'sell'; energyWh: number; priceMcPerKWh: number; inclusion: number; reservedMc: bigint; settled: boolean }
  const fillsOf = new Map<number, Fill[]>();
  const cleared = new Set<number>();
  const p2pPaid = new Map<string, number>();
  const p2p = { orders: p2pOrders.length, reveals: p2pReveals.size, intervalsCleared: 0, intervalsTraded: 0, tradedWh: 0, trades: 0, aggregatorTradedWh: 0, deliveredWh: 0, shortfallWh: 0 };
  let byBuyers = 0n, toSellers = 0n, imbalance = 0n, uncollected = 0n, fees = 0n, surplus = 0n, p2pPv = 0n;
  const tradingTags = new Set<string>();
  const chargeCapped = (addr: string, amount: bigint, i: number, phase: number): bigint => {
    if (amount <= 0n || addr === agg) return 0n;
    const room = balanceAt(addr, i, phase) + credit - (reserved.get(addr) ?? 0n);
    const taken = room <= 0n ? 0n : room < amount ? room : amount;
    if (taken > 0n) { flow(addr, -taken, i, phase); flow(agg, taken, i, phase); }
    return taken;
  };
  const epochsWithOrders = [...new Set(p2pOrders.flatMap((o) => Array.from({ length: o.last - o.first + 1 }, (_, k) => o.first + k)))].sort((a, b) => a - b);
  for (const [i, b] of blocks.entries()) {
    const t = timeOf(b.parameters.header.slot);
    // [MKT-GATE] clear the intervals whose gate has come, ascending
    for (const e of epochsWithOrders) {
      if (cleared.has(e) || t < gate(e)) continue;
      const standing = p2pOrders.filter((o) => o.blockIndex <= i && o.first <= e && e <= o.last).sort((x, y) => x.inclusion - y.inclusion);
      if (standing.length === 0) continue;
      cleared.add(e);
      p2p.intervalsCleared++;
      const book: MarketOrderIn[] = [];
      for (const o of standing) {
        const r = p2pReveals.get(`${o.address}|${o.orderId}`);
        if (r === undefined || r.blockIndex > i) {
          if (e === o.first) fees += chargeCapped(o.address, BigInt(genesis.unrevealedPenaltyMc), i, 2);
          continue;
        }
        let energyWh = r.energyWh;
        if (o.side === 'buy' && o.address !== agg) {
          const room = balanceAt(o.address, i, 2) + credit - (reserved.get(o.address) ?? 0n);
          const cap = room <= 0n ? 0 : r.priceMcPerKWh === 0 ? energyWh : Number((room * 1000n) / BigInt(r.priceMcPerKWh));
          energyWh = Math.min(energyWh, cap);
          if (energyWh === 0) continue;
        }
        book.push({ orderId: `${o.address}|${o.orderId}`, address: o.address, feeder: o.feeder, side: o.side, energyWh, priceMcPerKWh: r.priceMcPerKWh, inclusion: o.inclusion });
      }
      // [MKT-FEEDER] the registry's latest limits on chain up to this block [FEEDER-1], less the
      // awards of the auctions for e cleared up to this block
      const limits = registryLimitsAt(i, Infinity);
      const awarded = (side: 'buy' | 'sell', feeder: string) =>
        allAwards.filter((aw) => aw.clearIndex <= i && epochOf(aw.open.delivery.start) === e && aw.open.side === side && (bidsOf.get(aw.auctionId) ?? []).find((x) => x.params.address === aw.address)?.params.feeder === feeder).reduce((a, aw) => a + aw.energyWh, 0);
      const feederRoom = [...limits].map(([feeder, l]) => ({ feeder, exportWh: Math.max(0, l.maxExportWh - awarded('buy', feeder)), importWh: Math.max(0, l.maxImportWh - awarded('sell', feeder)) }));
      const r = clearMarket({ epoch: e, pricing: genesis.marketPricing ?? 'uniform', orders: book, feederRoom });
      if (r.volumeWh > 0) {
        p2p.intervalsTraded++;
        p2p.tradedWh += r.volumeWh;
        p2pPv += BigInt(r.volumeWh) * BigInt(r.clearingPriceMcPerKWh ?? 0);
      }
      const fills: Fill[] = [];
      for (const f of r.fills) {
        const o = standing.find((x) => `${x.address}|${x.orderId}` === f.orderId)!;
        const own = p2pReveals.get(f.orderId)!.priceMcPerKWh;
        surplus += (BigInt(f.side === 'buy' ? own - f.priceMcPerKWh : f.priceMcPerKWh - own) * BigInt(f.energyWh)) / 1000n;
        p2p.trades++;
        if (o.address === agg) p2p.aggregatorTradedWh += f.energyWh;
        else tradingTags.add(tagOf(o.address));
        const reservedMc = f.side === 'buy' && o.address !== agg ? (BigInt(f.energyWh) * BigInt(f.priceMcPerKWh) + 999n) / 1000n : 0n;
        reserved.set(o.address, (reserved.get(o.address) ?? 0n) + reservedMc);
        fills.push({ e, address: o.address, orderId: o.orderId, side: f.side, energyWh: f.energyWh, priceMcPerKWh: f.priceMcPerKWh, inclusion: o.inclusion, reservedMc, settled: false });
      }
      fillsOf.set(e, fills.sort((x, y) => x.inclusion - y.inclusion));
    }
    // [MKT-SETTLE] settle the fills that are due, intervals ascending, fills in inclusion order
    for (const e of [...fillsOf.keys()].sort((x, y) => x - y)) {
      const end = g0 + (e + 1) * genesis.intervalMs;
      if (t < end) continue;
      for (const f of fillsOf.get(e)!) {
        if (f.settled) continue;
        const isAgg = f.address === agg;
        const rd = readingAt.get(`${f.address}|${e}`);
        const has = rd !== undefined && rd.blockIndex <= i;
        if (!isAgg && !has && t < end + genesis.settleGraceMs) continue;
        f.settled = true;
        const tag = tagOf(f.address);
        const dir = f.side === 'sell' ? 'export' : 'import';
        const auctionKey = `${e}|${f.side === 'sell' ? 'buy' : 'sell'}|${tag}`;
        const prior = isAgg ? 0 : (p2pPaid.get(`${e}|${dir}|${tag}`) ?? 0) + auctionPaid.filter((x) => x.key === auctionKey && x.at <= i).reduce((a, x) => a + x.wh, 0);
        const net = has ? (f.side === 'sell' ? rd!.p + rd!.dis - rd!.c - rd!.ch : rd!.c + rd!.ch - rd!.p - rd!.dis) : 0;
        const measured = isAgg ? f.energyWh : Math.max(0, Math.max(0, net) - prior);
        const delivered = Math.min(f.energyWh, measured);
        if (!isAgg && delivered > 0) p2pPaid.set(`${e}|${dir}|${tag}`, (p2pPaid.get(`${e}|${dir}|${tag}`) ?? 0) + delivered);
        const pay = (BigInt(delivered) * BigInt(f.priceMcPerKWh)) / 1000n;
        if (f.side === 'sell') { flow(f.address, pay, i, 4); flow(agg, -pay, i, 4); toSellers += pay; }
        else {
          reserved.set(f.address, (reserved.get(f.address) ?? 0n) - f.reservedMc);
          flow(f.address, -pay, i, 4); flow(agg, pay, i, 4); byBuyers += pay;
        }
        const pen = (BigInt(f.energyWh - delivered) * imbalancePrice) / 1000n;
        const taken = chargeCapped(f.address, pen, i, 4);
        imbalance += taken;
        if (!isAgg) uncollected += pen - taken;
        p2p.deliveredWh += delivered;
        p2p.shortfallWh += f.energyWh - delivered;
      }
    }
  }
  const perEpochUse = new Map<number, { net: number; used: number }>();
  for (const r of readings) {
    const x = perEpochUse.get(r.epoch) ?? { net: 0, used: 0 };
    x.net += r.c + r.ch - r.p - r.dis;
    x.used += r.c + r.ch;
    perEpochUse.set(r.epoch, x);
  }
  const usedAll = [...perEpochUse.values()].reduce((a, x) => a + x.used, 0);
  const communityImport = [...perEpochUse.values()].reduce((a, x) => a + Math.max(0, x.net), 0);

  // readings
  const sum = readings.reduce((a, r) => {
    const net = r.c + r.ch - r.p - r.dis;
    return { p: a.p + r.p, c: a.c + r.c, ch: a.ch + r.ch, dis: a.dis + r.dis, imp: a.imp + Math.max(0, net), exp: a.exp + Math.max(0, -net), self: a.self + Math.min(r.p, r.c + r.ch) };
  }, { p: 0, c: 0, ch: 0, dis: 0, imp: 0, exp: 0, self: 0 });
  const traded = [...slotTraded.values()].reduce((a, b) => a + b, 0);
  const matchable = [...slotBuySell.values()].reduce((a, s) => a + Math.min(s.buy, s.sell), 0);

  // [POE-7.valid] validators of an epoch e with a block: RE/RE+TE pseudonyms whose reading of e − 2 is in a block of an earlier epoch
  const epochsWithBlocks = [...new Set(blocks.map((b) => b.parameters.header.epoch))].sort((a, b) => a - b);
  const ranked: { epoch: number; validators: number; best: number }[] = [];
  let maxValidators = 0;
  for (const e of epochsWithBlocks) {
    const firstOfEpoch = blocks.findIndex((b) => b.parameters.header.epoch === e);
    const scores = readings
      .filter((r) => r.epoch === e - 2 && r.blockIndex < firstOfEpoch && (certs.get(r.address) === 'RE' || certs.get(r.address) === 'RE+TE'))
      .map((r) => readingScore({ producedWh: r.p, consumedWh: r.c, chargedWh: r.ch, dischargedWh: r.dis }));
    maxValidators = Math.max(maxValidators, scores.length);
    if (scores.length) ranked.push({ epoch: e, validators: scores.length, best: Math.min(...scores) });
  }
  const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
  const balances = [...money].map(([address, mc]) => ({ address, balanceMc: String(mc) })).sort((a, b) => (a.address < b.address ? -1 : 1));
  const genesisTotal = genesis.balances.reduce((a, b) => a + BigInt(b.millicents), 0n);
  const total = [...money.values()].reduce((a, b) => a + b, 0n);
  const blockCount = blocks.length;

  return {
    perAuction,
    /** [MKT] every P2P fill as cleared from the blocks (pseudonym, interval, side, energy) */
    p2pFills: [...fillsOf.values()].flat().map((f) => ({ epoch: f.e, address: f.address, side: f.side, energyWh: f.energyWh })),
    readingsByPseudonym: readings.reduce((m, r) => m.set(r.address, [...(m.get(r.address) ?? []), r.epoch]), new Map<string, number[]>()),
    lastBlockTime: lastTime,
    chain: {
      height: blockCount ? blocks[blockCount - 1]!.parameters.header.height : 0,
      blocks: blockCount,
      txs: blocks.reduce((a, b) => a + b.parameters.txs.length, 0),
      txsByOperation,
      pseudonymsCertified: certs.size,
      validatorPseudonymsCertified: [...certs.values()].filter((p) => p === 'RE' || p === 'RE+TE').length,
      producers: [...producers].map(([address, p]) => ({ address, blocks: p.blocks, share: p.blocks / blockCount, rewardMc: String(p.rewardMc) }))
        .sort((a, b) => b.blocks - a.blocks || (a.address < b.address ? -1 : 1)),
    },
    readings: {
      onChain: readings.length,
      pseudonyms: new Set(readings.map((r) => r.address)).size,
      intervals: new Set(readings.map((r) => r.epoch)).size,
      producedWh: sum.p, consumedWh: sum.c, chargedWh: sum.ch, dischargedWh: sum.dis, importedWh: sum.imp, exportedWh: sum.exp,
    },
    auctions: {
      total: opens.size,
      byStatus,
      bidsOnChain,
      bidsAwarded: awards,
      bidsExcludedAtClearing: excluded,
      awards,
      awardedWh,
      volumeWeightedAwardPriceMcPerKWh: awardedWh > 0 ? Number(pv / BigInt(awardedWh)) : null,
      minMarginalClearingPriceMcPerKWh: marginal.length ? Math.min(...marginal) : null,
      maxMarginalClearingPriceMcPerKWh: marginal.length ? Math.max(...marginal) : null,
    },
    energy: {
      awardedWh,
      selfConsumedWh: sum.self,
      selfConsumption: ratio(sum.self, sum.p),
      marketEfficiency: ratio(traded, sum.imp),
      allocativeEfficiency: ratio(traded, matchable),
    },
    payments: {
      settlements, deliveredWh, shortfallWh,
      paidByAggregatorToHomesMc: String(toHomes), paidByHomesToAggregatorMc: String(toAgg), penaltiesPaidByHomesMc: String(penalties),
      blockRewardsMintedMc: String(minted), rewardsForfeitedMc: '0',
    },
    cpf: {
      epochsRanked: ranked.length,
      lastRankedEpoch: ranked.length ? ranked[ranked.length - 1]!.epoch : null,
      maxValidatorsRanked: maxValidators,
      meanBestScoreWh: ranked.length ? ranked.reduce((a, r) => a + r.best, 0) / ranked.length : null,
      // CPF = e^(−score/1000) of each epoch's best score, averaged
      meanBestCpf: ranked.length ? ranked.reduce((a, r) => a + Math.exp(-r.best / 1000), 0) / ranked.length : null,
    },
    /** [SETTLE-1] per delivery interval, the money by direction */
    settlementsPerInterval: settlementsPerIntervalFrom(g0, genesis.intervalMs, settledAwards),
    /** every wallet's flows: received (credits), paid (debits), and its auction settlements */
    walletItems: walletItemsFrom(genesis, events, settledAwards, certs, producers),
    wallets: { genesisTotalMc: String(genesisTotal), totalMc: String(total), conserved: total === genesisTotal + minted, balances },
    p2p: {
      ...p2p,
      homesTrading: tradingTags.size,
      paidByBuyersMc: String(byBuyers), paidToSellersMc: String(toSellers), imbalancePaidMc: String(imbalance),
      uncollectedMc: String(uncollected), unrevealedFeesMc: String(fees), surplusMc: String(surplus),
      volumeWeightedPriceMcPerKWh: p2p.tradedWh > 0 ? Number(p2pPv / BigInt(p2p.tradedWh)) : null,
      communitySelfSufficiency: usedAll > 0 ? 1 - communityImport / usedAll : null,
    },
  };
}

/** One auction award as settled by the recomputation. */
export interface SettledAward {
  auctionId: string;
  epoch: number;
  side: 'buy' | 'sell';
  address: string;
  /** the winner's meter (certificate tag) */
  tag: string;
  energyWh: number;
  deliveredWh: number;
  paymentMc: bigint;
  penaltyMc: bigint;
}

/**
 * [SETTLE-1] the settled awards summed per delivery interval, oldest first, with the money in
 * the direction it went: the payment of an award goes from the aggregator to the home where
 * the aggregator buys, from the home to the aggregator where it sells; penalties from the home.
 */
export function settlementsPerIntervalFrom(genesisMs: number, intervalMs: number, settled: readonly SettledAward[]) {
  const by = new Map<number, { auctions: Set<string>; tags: Set<string>; awards: number; awardedWh: number; deliveredWh: number; toHomes: bigint; toAgg: bigint; penalties: bigint }>();
  for (const s of settled) {
    const e = by.get(s.epoch) ?? { auctions: new Set<string>(), tags: new Set<string>(), awards: 0, awardedWh: 0, deliveredWh: 0, toHomes: 0n, toAgg: 0n, penalties: 0n };
    e.auctions.add(s.auctionId);
    e.tags.add(s.tag);
    e.awards++;
    e.awardedWh += s.energyWh;
    e.deliveredWh += s.deliveredWh;
    if (s.side === 'buy') e.toHomes += s.paymentMc; else e.toAgg += s.paymentMc;
    e.penalties += s.penaltyMc;
    by.set(s.epoch, e);
  }
  return [...by].sort((x, y) => x[0] - y[0]).map(([epoch, e]) => ({
    interval: new Date(genesisMs + epoch * intervalMs).toISOString(), deliveryEpoch: epoch,
    auctions: e.auctions.size, awards: e.awards, homes: e.tags.size, awardedWh: e.awardedWh, deliveredWh: e.deliveredWh,
    paidByAggregatorToHomesMc: Number(e.toHomes), paidByHomesToAggregatorMc: Number(e.toAgg), penaltiesPaidByHomesMc: Number(e.penalties),
  }));
}

/**
 * Every wallet, address order: genesis balance; received = Σ its credits after genesis, paid =
 * Σ its debits (each flow of the recomputation moves money one way between two wallets);
 * balance = genesis + received − paid; delivered Wh and count of its settled auction awards;
 * block rewards; kind (the aggregator's clearing account, a certified pseudonym, or other).
 */
export function walletItemsFrom(
  genesis: RawGenesis,
  events: readonly { i: number; addr: string; mc: bigint }[],
  settled: readonly SettledAward[],
  certs: ReadonlyMap<string, string>,
  producers: ReadonlyMap<string, { rewardMc: bigint }>,
) {
  const w = new Map<string, { genesis: bigint; received: bigint; paid: bigint; deliveredWh: number; settlements: number }>();
  const of = (a: string) => {
    let x = w.get(a);
    if (!x) w.set(a, (x = { genesis: 0n, received: 0n, paid: 0n, deliveredWh: 0, settlements: 0 }));
    return x;
  };
  for (const e of events) {
    const x = of(e.addr);
    if (e.i < 0) x.genesis += e.mc;
    else if (e.mc > 0n) x.received += e.mc;
    else x.paid -= e.mc;
  }
  for (const s of settled) {
    const x = of(s.address);
    x.deliveredWh += s.deliveredWh;
    x.settlements++;
  }
  return [...w].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([address, x]) => ({
    address,
    kind: address === genesis.aggregatorKey ? 'aggregator' : certs.has(address) ? 'home' : 'other',
    genesisMc: String(x.genesis), receivedMc: String(x.received), paidMc: String(x.paid), balanceMc: String(x.genesis + x.received - x.paid),
    deliveredWh: x.deliveredWh, settlements: x.settlements, rewardMc: String(producers.get(address)?.rewardMc ?? 0n),
  }));
}

/**
 * [CF-7] what decided each epoch's election, from the raw blocks and the README's rules
 * (poe-chain README "Election"), without the chain's ranking code: for each epoch e with a
 * block, the validators are the RE / RE+TE pseudonyms (one per meter tag: the newest
 * certificate [SYBIL-3]) with a reading of interval e − 2 in a block before e's first block;
 * first place is decided by a single validator, else by the score |P − C| of e − 2 [CPF],
 * else by the window [CPF-window] (fewer intervals without a reading, smaller sum of scores,
 * larger RES energy), else by the seed. Also the longest gap between a block and its parent
 * (genesis at slot 0), in slots. Not handled: revocations and equivocators (not in a
 * simulated day; recomputeFromBlocks refuses them).
 */
export function recomputeElections(genesis: RawGenesis, blocks: readonly RawBlock[]) {
  const rule = genesis.cpfRule ?? 'paper';
  const k = genesis.cpfWindowIntervals ?? (genesis.readingRetentionIntervals ?? 16) - 2;
  const g0 = Date.parse(genesis.genesisTime);
  const score = (r: { p: number; c: number; ch: number; dis: number }) => readingScore({ producedWh: r.p, consumedWh: r.c, chargedWh: r.ch, dischargedWh: r.dis }, rule);
  // readings and certificates with the index of the block that carries them
  const readings = new Map<string, { p: number; c: number; ch: number; dis: number; blockIndex: number }>();
  const certs: { address: string; programme: string; tag: string; validFrom: number; blockIndex: number }[] = [];
  let longestBlockGapSlots = 0;
  const firstOfEpoch = new Map<number, number>();
  blocks.forEach((b, i) => {
    const h = b.parameters.header;
    longestBlockGapSlots = Math.max(longestBlockGapSlots, h.slot - (i === 0 ? 0 : blocks[i - 1]!.parameters.header.slot));
    if (!firstOfEpoch.has(h.epoch)) firstOfEpoch.set(h.epoch, i);
    for (const tx of b.parameters.txs) {
      const p = tx.parameters;
      if (tx.operation === 'meter-reading') {
        const e = (Date.parse((p.interval as { start: string }).start) - g0) / genesis.intervalMs;
        readings.set(`${String(p.address)}|${e}`, { p: p.producedWh as number, c: p.consumedWh as number, ch: p.chargedWh as number, dis: p.dischargedWh as number, blockIndex: i });
      } else if (tx.operation === 'certificate') {
        certs.push({ address: String(p.address), programme: String(p.programme), tag: String(p.tag), validFrom: Date.parse(String(p.validFrom)), blockIndex: i });
      }
    }
  });
  const by = { single: 0, score: 0, window: 0, seed: 0 };
  let epochsWithValidators = 0;
  for (const [e, first] of [...firstOfEpoch].sort((a, b) => a[0] - b[0])) {
    const before = (key: string) => {
      const r = readings.get(key);
      return r !== undefined && r.blockIndex < first ? r : undefined;
    };
    // [SYBIL-3] per tag, the newest certificate in a block before e's first (latest validFrom, then the smaller address)
    const newest = new Map<string, { address: string; programme: string; validFrom: number }>();
    for (const c of certs) {
      if (c.blockIndex >= first) continue;
      const prev = newest.get(c.tag);
      if (prev === undefined || c.validFrom > prev.validFrom || (c.validFrom === prev.validFrom && c.address < prev.address)) newest.set(c.tag, c);
    }
    const validators: { score: number; missing: number; windowWh: number; producedWh: number }[] = [];
    for (const c of newest.values()) {
      if (c.programme !== 'RE' && c.programme !== 'RE+TE') continue;
      const r = before(`${c.address}|${e - 2}`);
      if (r === undefined) continue;
      let missing = 0, windowWh = 0, producedWh = r.p;
      for (let i = e - 3; i >= e - 2 - k; i--) {
        const w = i >= 0 ? before(`${c.address}|${i}`) : undefined;
        if (w === undefined) missing++;
        else { windowWh += score(w); producedWh += w.p; }
      }
      validators.push({ score: score(r), missing, windowWh, producedWh });
    }
    if (validators.length === 0) continue;
    epochsWithValidators++;
    validators.sort((a, b) => a.score - b.score || a.missing - b.missing || a.windowWh - b.windowWh || b.producedWh - a.producedWh);
    const [a, b] = validators as [typeof validators[0], typeof validators[0] | undefined];
    if (b === undefined) by.single++;
    else if (a.score !== b.score) by.score++;
    else if (a.missing !== b.missing || a.windowWh !== b.windowWh || a.producedWh !== b.producedWh) by.window++;
    else by.seed++;
  }
  return { epochsWithValidators, decidedByEnergy: by.single + by.score + by.window, decidedBySeed: by.seed, decidedBy: by, longestBlockGapSlots };
}
