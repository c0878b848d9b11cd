/**
 * [MKT] The aggregator republishes each P2P clearing its chain node applies, signed, on
 * tmi/v1/market/results/{interval index} (retained), so a home without a chain node learns
 * what its orders must deliver or take. The chain's state is the source: nothing here
 * computes a clearing. [AGG-FIN-3] A clearing is republished once its block is final.
 */
import type { Logger } from 'pino';
import type { MarketResult } from '../schemas/types.js';
import type { ChainState } from '../poe-chain/core/chainState.js';
import { epochStart, marketGate, slotTime, type Genesis } from '../poe-chain/core/genesis.js';
import type { FinalEvent, NodeBlockEvent, ReorgEvent } from '../poe-chain/node/nodeContext.js';

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

/** What the publisher reads of a chain node (a ChainNode fits). */
export interface MarketResultNode {
  head(): { time: string; finalizedHeight: number };
  on(event: 'block', listener: (ev: NodeBlockEvent) => void): unknown;
  on(event: 'final', listener: (ev: FinalEvent) => void): unknown;
  on(event: 'reorg', listener: (ev: ReorgEvent) => void): unknown;
  off(event: 'block', listener: (ev: NodeBlockEvent) => void): unknown;
  off(event: 'final', listener: (ev: FinalEvent) => void): unknown;
  off(event: 'reorg', listener: (ev: ReorgEvent) => void): unknown;
}

export interface MarketResultPublisher {
  /** clearings applied and not yet published: their block is not final yet */
  waiting(): { epoch: number; height: number; hash: string }[];
  stop(): void;
}

/**
 * [AGG-FIN-3] Republishes each P2P clearing the node applies once the block that cleared it
 * is final (README "Waits for finality"): a home steers its battery by its fill, and a
 * clearing in a block that a reorg could still replace must not be acted on. A clearing
 * waits keyed by its interval: a clearing of the same interval in a later block (a reorg's
 * branch) replaces it, and one in an orphaned block is forgotten.
 */
export function createMarketResultPublisher(o: {
  node: MarketResultNode;
  genesis: Genesis;
  publish: (epoch: number, result: MarketResult) => Promise<void>;
  log?: Logger;
}): MarketResultPublisher {
  const waiting = new Map<number, { height: number; hash: string; result: MarketResult }>();
  let lastTime = Date.parse(o.node.head().time);
  const send = (epoch: number, w: { height: number; result: MarketResult }) => {
    waiting.delete(epoch);
    o.publish(epoch, w.result).catch((err: unknown) => o.log?.warn({ err, epoch }, 'market result not published'));
    o.log?.debug({ epoch, height: w.height }, 'market result published (its block is final)');
  };
  const release = (finalHeight: number) => {
    for (const [epoch, w] of [...waiting].sort((a, b) => a[0] - b[0])) if (w.height <= finalHeight) send(epoch, w);
  };
  const onBlock = (ev: NodeBlockEvent) => {
    const time = slotTime(o.genesis, ev.block.parameters.header.slot);
    for (const { epoch, result } of marketResultsOfBlock(ev.state, Math.min(lastTime, time - 1), time)) {
      waiting.set(epoch, { height: ev.height, hash: ev.hash, result });
    }
    lastTime = time;
    release(o.node.head().finalizedHeight);
  };
  const onFinal = (ev: FinalEvent) => release(ev.height);
  const onReorg = (ev: ReorgEvent) => {
    const gone = new Set(ev.orphaned);
    for (const [epoch, w] of waiting) if (gone.has(w.hash)) waiting.delete(epoch);
  };
  o.node.on('block', onBlock);
  o.node.on('final', onFinal);
  o.node.on('reorg', onReorg);
  return {
    waiting: () => [...waiting].map(([epoch, w]) => ({ epoch, height: w.height, hash: w.hash })),
    stop() {
      o.node.off('block', onBlock);
      o.node.off('final', onFinal);
      o.node.off('reorg', onReorg);
    },
  };
}
