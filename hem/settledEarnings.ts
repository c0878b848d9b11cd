/**
 * [HA-EARN] The home's settled earnings, for Home Assistant: money that settlement on
 * chain moved, never the expected value of awards. Per award settled on chain (AUC-10):
 * + payment when the home sold (a buy auction: the aggregator paid it), − payment when
 * it bought (it paid the aggregator), − penalty (paid by the home). Needs the home's own
 * chain node; without one the figure is null ("not known here").
 *
 * The chain forgets auctions after its retention window, so each settled auction is
 * counted once into a running total kept in the store (`s:settledEarnings`, with the ids
 * counted, the newest 2,000). [HEM-FIN] A settlement is counted there only once the block
 * that settled it is final; before that it is in `unconfirmed()` (recomputed at each
 * update), so the total never holds money a reorg could take back.
 */
import type { Logger } from 'pino';
import type { BidRecord } from './ems.js';
import type { HemStore } from './hemStore.js';
import type { ChainReader } from './homePage/homePageData.js';
import { moneyStatus } from './finalMoney.js';

interface Saved {
  totalMillicents: number;
  counted: string[];
}

const KEY = 's:settledEarnings';
const MAX_IDS = 2000;

/** The earnings of one award's settlement, millicents (signed: + received, − paid). */
export function settledEarningsOf(side: 'buy' | 'sell', s: { paymentMc: number; penaltyMc: number }): number {
  return (side === 'sell' ? s.paymentMc : -s.paymentMc) - s.penaltyMc;
}

export interface SettledEarnings {
  /** settled in final blocks; null while the HEM has no chain node */
  value(): number | null;
  /** [HEM-FIN] settled in blocks not final yet (not in value(): a reorg could undo them); null without a chain node */
  unconfirmed(): number | null;
  /** counts the auctions settled in final blocks since the last call; sums the unconfirmed ones again */
  update(records: readonly BidRecord[], chain: Pick<ChainReader, 'auction' | 'head'> | undefined): Promise<void>;
}

/** `log`: [HEM-FIN] a `settlement-unconfirmed` line when a settlement is first seen above the final height, `settlement-final` when it is counted */
export async function openSettledEarnings(store: HemStore, o: { log?: Logger } = {}): Promise<SettledEarnings> {
  const saved: Saved = (await store.get<Saved>(KEY)) ?? { totalMillicents: 0, counted: [] };
  const counted = new Set(saved.counted);
  const seenUnconfirmed = new Set<string>();
  let total = saved.totalMillicents;
  let chainSeen = false;
  let unconfirmed = 0;
  return {
    value: () => (chainSeen ? total : null),
    unconfirmed: () => (chainSeen ? unconfirmed : null),
    async update(records, chain) {
      if (!chain) return;
      chainSeen = true;
      let changed = false;
      const finalizedHeight = chain.head().finalizedHeight;
      let pending = 0;
      for (const r of records) {
        if (!r.bid || !r.award || counted.has(r.auctionId)) continue;
        const st = chain.auction(r.auctionId)?.settlements?.find((x) => x.address === r.bid!.address);
        if (!st) continue;
        // [HEM-FIN] counted (once, for good) only when its block is final; until then shown apart
        const earnedMc = settledEarningsOf(r.bid.type, st);
        if (moneyStatus(st.height, finalizedHeight) === 'unconfirmed') {
          pending += earnedMc;
          if (!seenUnconfirmed.has(r.auctionId)) {
            seenUnconfirmed.add(r.auctionId);
            o.log?.info({ event: 'settlement-unconfirmed', auctionId: r.auctionId, height: st.height, finalizedHeight, earnedMc, paymentMc: st.paymentMc, penaltyMc: st.penaltyMc }, 'settled on chain, not final yet');
          }
          continue;
        }
        seenUnconfirmed.delete(r.auctionId);
        o.log?.info({ event: 'settlement-final', auctionId: r.auctionId, height: st.height, finalizedHeight, earnedMc, paymentMc: st.paymentMc, penaltyMc: st.penaltyMc }, 'settlement final: counted in the settled earnings');
        total += earnedMc;
        counted.add(r.auctionId);
        changed = true;
      }
      unconfirmed = pending;
      if (!changed) return;
      const ids = [...counted].slice(-MAX_IDS);
      await store.commit([{ type: 'put', key: KEY, value: { totalMillicents: total, counted: ids } satisfies Saved }]);
    },
  };
}
