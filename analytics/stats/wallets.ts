/**
 * Wallets: the balance the chain reports (WalletFact; null until the chain-state adapter
 * gives one) next to the market activity seen: awards won and settlements.
 *
 * [AN-WM] money flows, who paid whom, in millicents:
 *   receivedMc = payments received for energy delivered in auctions where the aggregator
 *                buys + block rewards received;
 *   paidMc     = payments made for energy bought in auctions where the aggregator sells +
 *                penalties for shortfall (both paid to the aggregator).
 *   The balance also counts the genesis allocation and transfers, which are not flows of
 *   the market; both flows are null for an address with no settlement and no reward (e.g.
 *   the aggregator's clearing account, whose flows are the homes' mirrored).
 */
import type { AccountAgg, HomeAgg, SettlementRecord } from './records.js';
import { emptyAccount } from './reduceFact.js';
import { ids } from './records.js';
import type { ReadStore } from './readStore.js';

export interface WalletRow extends AccountAgg {
  balanceMc: number | null;
  balanceHeight: number | null;
  /** [AN-WM] */
  receivedMc: number | null;
  paidMc: number | null;
  rewardMc: number;
}

type Flows = Map<string, { received: number; paid: number }>;

/** [AN-WM] settlement flows by direction, one pass over the settlements. */
function settlementFlows(store: ReadStore, only?: string): Flows {
  const out: Flows = new Map();
  for (const st of store.range('settlement')) {
    if (only !== undefined && st.address !== only) continue;
    const side = store.get('auction', ids.auction(st.auctionId))?.side;
    const f = out.get(st.address) ?? { received: 0, paid: 0 };
    if (side === 'sell') f.paid += st.paymentMc;
    else f.received += st.paymentMc; // aggregator buy (an auction not yet seen open counts as the usual buy)
    f.paid += st.penaltyMc;
    out.set(st.address, f);
  }
  return out;
}

function row(store: ReadStore, address: string, flows: Flows): WalletRow {
  const w = store.get('wallet', ids.wallet(address));
  const a = store.get('account', ids.account(address)) ?? emptyAccount(address);
  const rewardMc = store.get('producer', ids.producer(address))?.rewardMc ?? 0;
  const f = flows.get(address);
  const known = f !== undefined || rewardMc > 0;
  return {
    ...a, balanceMc: w?.balanceMc ?? null, balanceHeight: w?.height ?? null,
    receivedMc: known ? (f?.received ?? 0) + rewardMc : null, paidMc: known ? (f?.paid ?? 0) : null, rewardMc,
  };
}

/** Every address with a balance or market activity; highest balance first (unknown last), then address. */
export function listWallets(store: ReadStore, q: { limit: number }): { total: number; items: WalletRow[] } {
  const addresses = new Set<string>();
  for (const w of store.range('wallet')) addresses.add(w.address);
  for (const a of store.range('account')) addresses.add(a.address);
  const flows = settlementFlows(store);
  const rows = [...addresses].map((a) => row(store, a, flows));
  rows.sort((x, y) => (y.balanceMc ?? -Infinity) - (x.balanceMc ?? -Infinity) || y.paymentMc - x.paymentMc || y.awardedWh - x.awardedWh || (x.address < y.address ? -1 : 1));
  return { total: rows.length, items: rows.slice(0, q.limit) };
}

export interface WalletDetail {
  wallet: WalletRow;
  settlements: SettlementRecord[];
  home: HomeAgg | null;
}

export function walletDetail(store: ReadStore, address: string): WalletDetail | undefined {
  const known = store.get('wallet', ids.wallet(address)) ?? store.get('account', ids.account(address)) ?? store.get('home', ids.home(address)) ?? store.get('producer', ids.producer(address));
  if (known === undefined) return undefined;
  return {
    wallet: row(store, address, settlementFlows(store, address)),
    settlements: store.range('settlement').filter((s) => s.address === address),
    home: store.get('home', ids.home(address)) ?? null,
  };
}
