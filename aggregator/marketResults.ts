/**
 * [MKT] The aggregator republishes each P2P clearing its chain node applies, signed, on
 * tmi/v1/market/results/{interval index} (retained), so a home without a chain node learns
 * what its orders must deliver or take. The chain's state is the source: nothing here
 * computes a clearing.
 */
import type { MarketResult } from '../schemas/types.js';
import type { ChainState } from '../poe-chain/core/chainState.js';
import { epochStart, marketGate } from '../poe-chain/core/genesis.js';

export const MARKET_TOPICS = {
  orders: 'tmi/v1/market/orders',
  result: (epoch: number) => `tmi/v1/market/results/${epoch}`,
} as const;

/** The markets a block at `time` cleared (parent block at `parentTime`): their results as the wire carries them. */
export function marketResultsOfBlock(state: ChainState, parentTime: number, time: number): { epoch: number; result: MarketResult }[] {
  const g = state.genesis;
  const out: { epoch: number; result: MarketResult }[] = [];
  // every interval whose gate lies in (parentTime, time]
  const first = Math.max(0, Math.ceil((parentTime + 1 + g.gateClosureMs - g.genesisTimeMs) / g.intervalMs));
  for (let e = first; marketGate(g, e) <= time; e++) {
    const m = state.sections.markets.get(String(e));
    if (m === undefined || m.clearedHeight !== state.meta.height) continue;
    out.push({
      epoch: e,
      result: {
        delivery: { start: new Date(epochStart(g, e)).toISOString(), end: new Date(epochStart(g, e + 1)).toISOString() },
        volumeWh: m.volumeWh ?? 0,
        ...(m.clearingPriceMcPerKWh != null ? { clearingPriceMcPerKWh: m.clearingPriceMcPerKWh } : {}),
        fills: (m.fills ?? []).map((f) => ({ orderId: f.orderId, address: f.address, side: f.side, energyWh: f.energyWh, priceMcPerKWh: f.priceMcPerKWh })),
        height: m.clearedHeight,
      },
    });
  }
  return out;
}
