/**
 * Wallets: the balance the chain reports (WalletFact; null until the chain-state adapter
 * gives one) next to the market activity seen: awards won and settlements.
 */
import type { AccountAgg, HomeAgg, SettlementRecord } from './records.js';
import { emptyAccount } from './reduceFact.js';
import { ids } from './records.js';
import type { ReadStore } from './readStore.js';

export interface WalletRow extends AccountAgg {
  balanceMc: number | null;
  balanceHeight: number | null;
}

function row(store: ReadStore, address: string): WalletRow {
  const w = store.get('wallet', ids.wallet(address));
  const a = store.get('account', ids.account(address)) ?? emptyAccount(address);
  return { ...a, balanceMc: w?.balanceMc ?? null, balanceHeight: w?.height ?? null };
}

/** Every address with a balance or market activity; highest balance first (unknown last), then address. */
export function listWallets(store: ReadStore, q: { limit: number }): { total: number; items: WalletRow[] } {
  const addresses = new Set<string>();
  for (const w of store.range('wallet')) addresses.add(w.address);
  for (const a of store.range('account')) addresses.add(a.address);
  const rows = [...addresses].map((a) => row(store, a));
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
    wallet: row(store, address),
    settlements: store.range('settlement').filter((s) => s.address === address),
    home: store.get('home', ids.home(address)) ?? null,
  };
}
