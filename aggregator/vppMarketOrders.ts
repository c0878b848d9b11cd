/**
 * [MKT] The aggregator's own orders in the P2P market (VPP balancing): an operator posts one
 * (`POST /admin/market/orders`, `tmi market post`); this seals it with the aggregator's key,
 * publishes the `market-order` on tmi/v1/market/orders and publishes its `market-reveal` just
 * after the order close, inside the reveal window. The salt is kept in memory only: an
 * aggregator restarted between order and reveal leaves the order unrevealed (it is then out
 * of the market; the unrevealed fee of the aggregator's own order is paid to itself).
 */
import type { Logger } from 'pino';
import { signEnvelope } from '../wire/codec.js';
import type { AnyEnvelope } from '../schemas/types.js';
import type { KeyPair } from '../wire/keys.js';
import type { MarketOrder } from '../schemas/types.js';
import { sealOrder } from '../poe-chain/core/market/orderCommitment.js';
import { MARKET_TOPICS } from './marketResults.js';

export interface MarketTiming {
  /** genesis time, ms */
  originMs: number;
  intervalMs: number;
  gateClosureMs: number;
  revealWindowMs: number;
}

export interface VppOrderRequest {
  side: 'buy' | 'sell';
  energyWh: number;
  priceMcPerKWh: number;
  /** the first delivery interval */
  delivery: { startMs: number; endMs: number };
  intervals?: number;
}

export interface VppOrderRecord {
  orderId: string;
  order: MarketOrder;
  energyWh: number;
  priceMcPerKWh: number;
  /** when the order closes and the reveal goes out, ISO */
  revealAt: string;
  status: 'posted' | 'revealed' | 'reveal-failed';
}

export class VppOrderError extends Error {
  constructor(readonly code: 'BAD_DELIVERY_INTERVAL' | 'ORDERS_CLOSED', message: string) {
    super(`${code} ${message}`);
  }
}

export interface VppMarketTrader {
  post(o: VppOrderRequest): Promise<VppOrderRecord>;
  orders(): VppOrderRecord[];
  stop(): void;
}

export function createVppMarketTrader(deps: {
  key: KeyPair;
  /** [DOMAIN-TX] the chain's genesis hash: every order and reveal names it */
  genesisHash: string;
  timing: MarketTiming;
  publish: (topic: string, env: AnyEnvelope) => Promise<void>;
  now?: () => number;
  log?: Logger;
}): VppMarketTrader {
  const t = deps.timing;
  const now = deps.now ?? Date.now;
  const records: VppOrderRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let seq = 0;

  return {
    async post(o) {
      const off = o.delivery.startMs - t.originMs;
      if (o.delivery.endMs - o.delivery.startMs !== t.intervalMs || off < 0 || off % t.intervalMs !== 0) {
        throw new VppOrderError('BAD_DELIVERY_INTERVAL', `delivery must be one interval of ${t.intervalMs} ms on the chain's grid`);
      }
      const gate = o.delivery.startMs - t.gateClosureMs;
      const close = gate - t.revealWindowMs;
      // the order must reach a block before its close: ask for at least a second, or a tenth of the window
      if (close - now() < Math.min(1000, t.revealWindowMs)) {
        throw new VppOrderError('ORDERS_CLOSED', `orders for that interval close at ${new Date(close).toISOString()}`);
      }
      const orderId = `vpp-${now().toString(36)}-${(seq++).toString(36)}`;
      const sealed = sealOrder({ orderId, address: deps.key.address, side: o.side, energyWh: o.energyWh, priceMcPerKWh: o.priceMcPerKWh });
      const order: MarketOrder = {
        orderId, address: deps.key.address, feeder: 'VPP', side: o.side,
        delivery: { start: new Date(o.delivery.startMs).toISOString(), end: new Date(o.delivery.endMs).toISOString() },
        intervals: o.intervals ?? 1, commitment: sealed.commitment,
      };
      const revealAt = close + Math.min(200, Math.floor(t.revealWindowMs / 4));
      const rec: VppOrderRecord = { orderId, order, energyWh: o.energyWh, priceMcPerKWh: o.priceMcPerKWh, revealAt: new Date(revealAt).toISOString(), status: 'posted' };
      await deps.publish(MARKET_TOPICS.orders, signEnvelope(deps.key, 'market-order', order, { date: new Date(now()), chain: deps.genesisHash }) as AnyEnvelope);
      records.push(rec);
      deps.log?.info({ event: 'vpp-order', orderId, side: o.side, energyWh: o.energyWh, priceMcPerKWh: o.priceMcPerKWh, delivery: order.delivery.start }, 'VPP order posted to the P2P market');
      const timer = setTimeout(() => {
        timers.delete(timer);
        const reveal = signEnvelope(deps.key, 'market-reveal', { orderId, address: deps.key.address, energyWh: o.energyWh, priceMcPerKWh: o.priceMcPerKWh, salt: sealed.salt }, { date: new Date(now()), chain: deps.genesisHash });
        deps.publish(MARKET_TOPICS.orders, reveal as AnyEnvelope).then(
          () => {
            rec.status = 'revealed';
            deps.log?.info({ event: 'vpp-order-revealed', orderId }, 'VPP order revealed');
          },
          (err: unknown) => {
            rec.status = 'reveal-failed';
            deps.log?.warn({ err, orderId }, 'VPP order reveal not published');
          },
        );
      }, Math.max(0, revealAt - now()));
      timers.add(timer);
      return rec;
    },
    orders: () => [...records],
    stop() {
      for (const x of timers) clearTimeout(x);
      timers.clear();
    },
  };
}
