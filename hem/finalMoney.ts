/**
 * [HEM-FIN] Which of the home's money is final and which is unconfirmed (README "Final and
 * unconfirmed money"). A payment, a settlement or a block reward is final once the block
 * that carries it is at or below the chain node's final height (its finality gadget's
 * `head().finalizedHeight`): no reorg can take it back. Above that height it is
 * unconfirmed: a reorg could still undo it. The balance is told as the balance at the final
 * block plus the change since (the blocks above it). Pure: a chain reader in, figures out.
 */
import type { ChainState } from '../poe-chain/core/chainState.js';

export type MoneyStatus = 'final' | 'unconfirmed';

/** What this needs of the home's chain node (a ChainNode fits). */
export interface FinalityReader {
  state(): ChainState;
  head(): { finalizedHeight: number };
  /** the state after the final block; undefined while a node that just restarted reads it */
  finalState(): ChainState | undefined;
}

/** [HEM-FIN] a block's money is final at or below the final height. */
export function moneyStatus(height: number, finalizedHeight: number): MoneyStatus {
  return height <= finalizedHeight ? 'final' : 'unconfirmed';
}

export interface WalletFinality {
  /** Σ balances of the addresses at the head, millicents (decimal string) */
  headBalanceMillicents: string;
  /** the same at the final block; null while its state is not read yet */
  finalBalanceMillicents: string | null;
  /** head − final: the change in blocks not final yet; null with finalBalanceMillicents */
  unconfirmedChangeMillicents: string | null;
  headHeight: number;
  finalizedHeight: number;
  /** per address: [head, final | null] */
  perAddress: { address: string; headMillicents: string; finalMillicents: string | null }[];
}

const bal = (s: ChainState, a: string) => BigInt(s.sections.wallets.get(a) ?? '0');

/** The home's wallets (one per pseudonym) at the head and at the final block. */
export function walletFinality(chain: FinalityReader, addresses: readonly string[]): WalletFinality {
  const head = chain.state();
  const fin = chain.finalState();
  const finalizedHeight = chain.head().finalizedHeight;
  const headTotal = addresses.reduce((t, a) => t + bal(head, a), 0n);
  const finalTotal = fin ? addresses.reduce((t, a) => t + bal(fin, a), 0n) : undefined;
  return {
    headBalanceMillicents: headTotal.toString(),
    finalBalanceMillicents: finalTotal === undefined ? null : finalTotal.toString(),
    unconfirmedChangeMillicents: finalTotal === undefined ? null : (headTotal - finalTotal).toString(),
    headHeight: head.meta.height,
    finalizedHeight: fin ? fin.meta.height : finalizedHeight,
    perAddress: addresses.map((a) => ({ address: a, headMillicents: bal(head, a).toString(), finalMillicents: fin ? bal(fin, a).toString() : null })),
  };
}
