/**
 * The auction contract hosted in the state transition (DESIGN §8, README "Auctions").
 * Pure clearing, settlement arithmetic and sealed-bid opening live in ./auction/; this
 * file moves them through the chain state.
 *
 *   [AC-1] clearing: bids in chain order (inclusion); a sealed bid counts with what its
 *          bidder revealed [SEALED]; one not revealed is excluded NOT_REVEALED and its bidder
 *          pays the aggregator unrevealedPenaltyMc (its wallet may go negative); one on the
 *          wrong side or out of range is excluded with that reason; the rest go to
 *          clearAuction. A withheld reveal changes nothing else: the clearing is the one
 *          without that bid.
 *   [CLOSE] an open-bid auction closes by the chain's clock: the first block whose time is
 *          at or after closesAt clears it, at the end of its transactions, with no
 *          auction-close needed (no bid of that block counts: bids need block time <
 *          closesAt [TX-B4]). An aggregator's auction-close in that same block clears it
 *          first, with the same result; one in a later block finds it closed
 *          (AUCTION_NOT_OPEN). An aggregator that crashes or restarts can no longer leave
 *          an open-bid auction open or void.
 *   [FEEDER-2] feeder capacity per delivery interval across auctions: a feeder's limit for
 *          a clearing is the registry's limit on chain at clearing time (`feederLimits`
 *          section, written only by `feeder-limit` [FEEDER-1]); the auction-open's own limits
 *          may only tighten it (min of the two where both exist; an own limit on a feeder the
 *          registry has not limited applies as the aggregator's own restriction;
 *          effectiveFeederLimits). The clearing gets that limit minus the Wh already awarded
 *          on the feeder, in that direction (export for an aggregator buy, import for a
 *          sell), for the same delivery interval by earlier clearings and P2P fills (never
 *          below 0); its own awards are then added (`feederUse` section, pruned with the
 *          readings). Feeders without a limit stay unlimited, but their awards are counted
 *          too, so a later auction that limits them sees them. Two auctions for one interval
 *          can no longer each use the full limit, and an aggregator cannot raise a limit by
 *          writing a larger one in its auction-open.
 *   [SEALED] a sealed auction closes by the chain's clock too: the first block whose time is
 *          at or after closesAt + revealWindowMs clears it (reveals are taken in
 *          [closesAt, closesAt + revealWindowMs)). No auction-close is needed or taken, so
 *          the aggregator can neither read sealed bids before that nor void the auction.
 *   [AC-3] settlement: once block time ≥ delivery end, each award whose winner has a
 *          reading for the delivery interval settles with
 *          measured = dischargedWh (aggregator buy) or chargedWh (aggregator sell);
 *          at delivery end + settleGraceMs every award still without a reading settles with
 *          measured = 0. settleAward gives delivered, payment and penalty.
 *   [SETTLE-1] one measurement, paid once: the awards of one meter (certificate tag [SYBIL],
 *          so every pseudonym of a meter counts as one home) for one delivery interval and one
 *          flow (discharge for aggregator-buy awards, charge for aggregator-sell awards), across
 *          every auction, share that meter's measured flow. They are served in the order of
 *          their bids' inclusion on chain (earlier bid first; every bid is its own transaction,
 *          so the order is total); each takes delivered = min(awarded, measured − Wh already
 *          paid for that meter, interval and flow), where measured is the award's own
 *          pseudonym's reading. Awards that become due in one block are settled in that order;
 *          one due in a later block comes after them. The paid Wh are kept in the `deliveries`
 *          section until readings are pruned. So the energy paid never exceeds the measured
 *          flow; the shortfall against the total awarded, Σ awarded − min(Σ awarded, measured),
 *          falls on the latest awards in that order, each penalised on its own shortfall
 *          at penaltyMcPerKWh ([AUC-10]).
 *   [AC-4] money: aggregator buy → aggregator pays the winner `payment`; aggregator sell →
 *          the winner pays the aggregator `payment`; the winner always pays the aggregator
 *          `penalty`. The aggregator wallet is the market's clearing account and may go
 *          negative (it owes that much off-chain); a winner's wallet may go negative by
 *          penalties or purchases. Only transfers require funds.
 *   [AC-5] an auction with no awards is settled at once; one whose awards are all settled
 *          becomes `settled`. Settled and void auctions are dropped from the state
 *          auctionRetentionIntervals after their delivery interval (blocks keep them).
 */
import { clearAuction, type ClearingOffer } from './auction/clearAuction.js';
import { effectiveFeederLimits } from './auction/effectiveFeederLimits.js';
import { measuredFlowWh, settleAward } from './auction/settleAward.js';
import type { AuctionEntry, AwardEntry, BidEntry, ExclusionEntry, StateDraft } from './chainState.js';
import { epochStart } from './genesis.js';
import { bidQuantities, hemSideFor } from './tx/applyBidOffer.js';

function removeActive(d: StateDraft, auctionId: string): void {
  if (d.meta.active.includes(auctionId)) d.meta.active = d.meta.active.filter((x) => x !== auctionId);
}

/** Bids of an auction in chain order. */
function bidsOf(d: StateDraft, auctionId: string): { key: string; address: string; bid: BidEntry }[] {
  const prefix = `${auctionId}|`;
  const out = d.s.bids.keysWithPrefix(prefix).map((key) => ({ key, address: key.slice(prefix.length), bid: d.s.bids.get(key)! }));
  out.sort((x, y) => x.bid.inclusion - y.bid.inclusion);
  return out;
}

function dropBids(d: StateDraft, auctionId: string): void {
  for (const k of d.s.bids.keysWithPrefix(`${auctionId}|`)) d.s.bids.delete(k);
  for (const k of d.s.bidTags.keysWithPrefix(`${auctionId}|`)) d.s.bidTags.delete(k);
}

/** A void auction (no longer reached by the chain's rules since [CLOSE] and [SEALED]; kept for old states). */
export function voidAuction(d: StateDraft, auctionId: string, a: AuctionEntry, reason: string): void {
  dropBids(d, auctionId);
  d.s.auctions.set(auctionId, { ...a, status: 'void', voidReason: reason });
  removeActive(d, auctionId);
}

/** [AC-1] clear an auction being closed at `height`. */
export function clearClosedAuction(d: StateDraft, auctionId: string, a: AuctionEntry, height: number): void {
  const offers: ClearingOffer[] = [];
  const preExcluded: ExclusionEntry[] = [];
  const want = hemSideFor(a.side);
  const fee = d.genesis.unrevealedPenaltyMc;
  for (const { address, bid } of bidsOf(d, auctionId)) {
    const open = bid.bid;
    if (open === undefined) {
      // [SEALED] not revealed: excluded, its bidder pays the fee
      d.credit(address, -fee);
      d.credit(d.genesis.aggregatorKey, fee);
      preExcluded.push({ address, reqId: bid.reqId, reason: 'NOT_REVEALED', penaltyMc: Number(fee) });
      continue;
    }
    if (open.type !== want) {
      preExcluded.push({ address, reqId: bid.reqId, reason: 'WRONG_SIDE' });
      continue;
    }
    const q = bidQuantities(open);
    if (q === undefined) {
      preExcluded.push({ address, reqId: bid.reqId, reason: 'OUT_OF_RANGE' });
      continue;
    }
    offers.push({ address, feeder: bid.feeder, energyWh: q.energyWh, priceMcPerKWh: q.priceMcPerKWh, inclusion: bid.inclusion, reqId: bid.reqId });
  }
  // [FEEDER-2] the registry's limits on chain, tightened by the auction's own; what is left of
  // each for this delivery interval
  const used = (feeder: string) => d.s.feederUse.get(feederUseKey(a.deliveryEpoch, a.side, feeder))?.awardedWh ?? 0;
  const limits = effectiveFeederLimits(d.s.feederLimits.entries(), a.feederLimits);
  const r = clearAuction(
    {
      auctionId,
      side: a.side,
      energyWh: a.energyWh,
      limitPriceMcPerKWh: a.limitPriceMcPerKWh,
      pricing: a.pricing,
      feederLimits: limits.map((f) =>
        a.side === 'buy'
          ? { feeder: f.feeder, maxExportWh: Math.max(0, f.maxExportWh - used(f.feeder)), maxImportWh: f.maxImportWh }
          : { feeder: f.feeder, maxExportWh: f.maxExportWh, maxImportWh: Math.max(0, f.maxImportWh - used(f.feeder)) },
      ),
    },
    offers,
  );
  for (const w of r.awards) {
    const key = feederUseKey(a.deliveryEpoch, a.side, w.feeder);
    d.s.feederUse.set(key, { awardedWh: (d.s.feederUse.get(key)?.awardedWh ?? 0) + w.energyWh });
  }
  dropBids(d, auctionId);
  const inclusionOf = new Map(offers.map((o) => [o.address, o.inclusion]));
  const awards: AwardEntry[] = r.awards.map((w) => ({
    address: w.address,
    feeder: w.feeder,
    reqId: w.reqId,
    energyWh: w.energyWh,
    priceMcPerKWh: w.priceMcPerKWh,
    inclusion: inclusionOf.get(w.address)!,
    tag: d.s.certs.get(w.address)?.tag ?? w.address, // [SETTLE-1]
  }));
  const next: AuctionEntry = {
    ...a,
    status: awards.length === 0 ? 'settled' : 'closed',
    closedHeight: height,
    awardedWh: r.awardedWh,
    clearingPriceMcPerKWh: r.clearingPriceMcPerKWh,
    excluded: [...preExcluded, ...r.excluded.map((x) => ({ address: x.address, reqId: x.reqId, reason: x.reason }))],
    awards,
  };
  d.s.auctions.set(auctionId, next);
  if (awards.length === 0) removeActive(d, auctionId);
}

/** [CLOSE] [SEALED] clear every auction whose closesAt (+ revealWindowMs if sealed) has come at `time` (block at `height`). */
export function closeDueAuctions(d: StateDraft, time: number, height: number): void {
  for (const id of d.meta.active) {
    const a = d.s.auctions.get(id)!;
    if (a.status === 'open' && time >= a.closesAt + (a.sealed ? d.genesis.revealWindowMs : 0)) clearClosedAuction(d, id, a, height);
  }
}

/** [FEEDER-2] key of the `feederUse` section: `interval|export|feeder` (aggregator buy) or `interval|import|feeder` (sell). */
export function feederUseKey(epoch: number, side: 'buy' | 'sell', feeder: string): string {
  return `${epoch}|${side === 'buy' ? 'export' : 'import'}|${feeder}`;
}

/** [SETTLE-1] key of the `deliveries` section: `interval|flow|tag`. */
export function deliveryKey(epoch: number, side: 'buy' | 'sell', tag: string): string {
  return `${epoch}|${side === 'buy' ? 'discharged' : 'charged'}|${tag}`;
}

/** [AC-3] [AC-4] [AC-5] [SETTLE-1] settle what is due at `time` in the block at `height`. */
export function settleDueAwards(d: StateDraft, time: number, height: number): void {
  const g = d.genesis;
  const aggregator = g.aggregatorKey;
  const due: { id: string; index: number; a: AuctionEntry; aw: AwardEntry; measured: number }[] = [];
  const pending = new Map<string, number>();
  for (const id of d.meta.active) {
    const a = d.s.auctions.get(id)!;
    if (a.status !== 'closed' || a.awards === undefined) continue;
    const deliveryEnd = epochStart(g, a.deliveryEpoch + 1);
    if (time < deliveryEnd) continue;
    const deadlinePassed = time >= deliveryEnd + g.settleGraceMs;
    let open = 0;
    a.awards.forEach((aw, index) => {
      if (aw.settlement !== undefined) return;
      const reading = d.s.readings.get(`${aw.address}|${a.deliveryEpoch}`);
      if (reading === undefined && !deadlinePassed) {
        open++;
        return;
      }
      due.push({ id, index, a, aw, measured: reading === undefined ? 0 : measuredFlowWh(a.side, reading) });
    });
    pending.set(id, open);
  }
  if (due.length === 0) return;
  // [SETTLE-1] one measurement is shared by the awards in the order of their bids' inclusion
  due.sort((x, y) => x.aw.inclusion - y.aw.inclusion);
  const updated = new Map<string, AwardEntry[]>();
  for (const { id, index, a, aw, measured } of due) {
    const key = deliveryKey(a.deliveryEpoch, a.side, aw.tag);
    const priorWh = d.s.deliveries.get(key)?.deliveredWh ?? 0;
    const s = settleAward({ energyWh: aw.energyWh, priceMcPerKWh: aw.priceMcPerKWh }, Math.max(0, measured - priorWh), g.penaltyMcPerKWh);
    if (s.deliveredWh > 0) d.s.deliveries.set(key, { deliveredWh: priorWh + s.deliveredWh });
    const payment = BigInt(s.paymentMc);
    const penalty = BigInt(s.penaltyMc);
    const toWinner = (a.side === 'buy' ? payment : -payment) - penalty;
    d.credit(aw.address, toWinner);
    d.credit(aggregator, -toWinner);
    let awards = updated.get(id);
    if (awards === undefined) {
      awards = [...a.awards!];
      updated.set(id, awards);
    }
    awards[index] = { ...aw, settlement: { deliveredWh: s.deliveredWh, priorWh, paymentMc: s.paymentMc, penaltyMc: s.penaltyMc, height } };
  }
  for (const [id, awards] of updated) {
    const a = d.s.auctions.get(id)!;
    const open = pending.get(id)!;
    d.s.auctions.set(id, { ...a, awards, status: open === 0 ? 'settled' : 'closed' });
    if (open === 0) removeActive(d, id);
  }
}

/** [SETTLE-1] [FEEDER-2] drop delivery and feeder-use records of intervals before `oldest` (with the readings). */
export function pruneDeliveries(d: StateDraft, oldest: number): void {
  for (const section of [d.s.deliveries, d.s.feederUse] as const) {
    const drop: string[] = [];
    for (const [key] of section.entries()) if (Number(key.slice(0, key.indexOf('|'))) < oldest) drop.push(key);
    for (const k of drop) section.delete(k);
  }
}

/** [AC-5] drop settled/void auctions older than the retention at `epoch`. */
export function pruneAuctions(d: StateDraft, epoch: number): void {
  const oldest = epoch - d.genesis.auctionRetentionIntervals;
  const drop: string[] = [];
  for (const [id, a] of d.s.auctions.entries()) {
    if ((a.status === 'settled' || a.status === 'void') && a.deliveryEpoch < oldest) drop.push(id);
  }
  for (const id of drop) d.s.auctions.delete(id);
}
