/**
 * Wallets: the balance the chain reports (WalletFact; null until the chain-state adapter
 * gives one) next to the market activity seen: awards won and settlements.
 *
 * [AN-WM] money flows, who paid whom, in millicents, from the settlements on chain (the
 * aggregator's auctions and the P2P market):
 *   receivedMc = paid to this address: by the aggregator for energy delivered in auctions
 *                where it buys and for energy sold in the P2P market, + block rewards;
 *   paidMc     = paid by this address to the aggregator: for energy bought in auctions where
 *                it sells and in the P2P market, + penalties for shortfall (auctions) and
 *                imbalance (P2P).
 *   The aggregator's wallet (the market's clearing account, marked by the chain-state
 *   adapter) is the other side of every one of these flows: it receives what the homes pay
 *   and pays what they receive. The balance also counts the genesis allocation, transfers
 *   and fees for sealed orders never revealed, which are not shown as flows; both flows are
 *   null for an address with no settlement and no reward.
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
  /** the aggregator's wallet, the market's clearing account */
  clearingAccount: boolean;
}

type Flows = Map<string, { received: number; paid: number }>;

/** The aggregator's address, once the chain-state adapter has marked its wallet. */
function clearingAccountOf(store: ReadStore): string | undefined {
  return store.range('wallet').find((w) => w.clearingAccount === true)?.address;
}

/** [AN-WM] settlement flows by direction (auctions and P2P), one pass; `only` keeps one address's. */
function settlementFlows(store: ReadStore, clearing: string | undefined, only?: string): Flows {
  const out: Flows = new Map();
  const entry = (a: string) => {
    let f = out.get(a);
    if (f === undefined) out.set(a, (f = { received: 0, paid: 0 }));
    return f;
  };
  const all = only === undefined || only === clearing;
  /** `mc` from the home to the clearing account (toHome false) or back */
  const move = (home: string, mc: number, toHome: boolean) => {
    if (all || home === only) {
      if (toHome) entry(home).received += mc; else entry(home).paid += mc;
    }
    if (clearing !== undefined && all) {
      if (toHome) entry(clearing).paid += mc; else entry(clearing).received += mc;
    }
  };
  for (const st of store.range('settlement')) {
    const side = store.get('auction', ids.auction(st.auctionId))?.side;
    move(st.address, st.paymentMc, side !== 'sell'); // aggregator buy (an auction not yet seen open counts as the usual buy)
    move(st.address, st.penaltyMc, false);
  }
  for (const ms of store.range('marketSettlement')) {
    move(ms.address, ms.paymentMc, ms.side === 'sell');
    move(ms.address, ms.penaltyMc, false);
  }
  return out;
}

function row(store: ReadStore, address: string, flows: Flows, clearing: string | undefined): WalletRow {
  const w = store.get('wallet', ids.wallet(address));
  const a = store.get('account', ids.account(address)) ?? emptyAccount(address);
  const rewardMc = store.get('producer', ids.producer(address))?.rewardMc ?? 0;
  const f = flows.get(address);
  const known = f !== undefined || rewardMc > 0;
  return {
    ...a, balanceMc: w?.balanceMc ?? null, balanceHeight: w?.height ?? null,
    receivedMc: known ? (f?.received ?? 0) + rewardMc : null, paidMc: known ? (f?.paid ?? 0) : null, rewardMc,
    clearingAccount: address === clearing,
  };
}

/** Every address with a balance or market activity; highest balance first (unknown last), then address. */
export function listWallets(store: ReadStore, q: { limit: number }): { total: number; items: WalletRow[] } {
  const addresses = new Set<string>();
  for (const w of store.range('wallet')) addresses.add(w.address);
  for (const a of store.range('account')) addresses.add(a.address);
  const clearing = clearingAccountOf(store);
  const flows = settlementFlows(store, clearing);
  const rows = [...addresses].map((a) => row(store, a, flows, clearing));
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
  const clearing = clearingAccountOf(store);
  return {
    wallet: row(store, address, settlementFlows(store, clearing, address), clearing),
    settlements: store.range('settlement').filter((s) => s.address === address),
    home: store.get('home', ids.home(address)) ?? null,
  };
}
