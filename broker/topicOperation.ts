/**
 * Topic ↔ operation (DESIGN §3): which operations may travel on which topic, and which
 * ids in the topic must equal ids in the parameters. Pure.
 */
import type { Operation } from '../schemas/envelope.js';
import type { AnyEnvelope } from '../schemas/types.js';

export interface TopicRoute {
  /** the operations allowed on this topic */
  operations: readonly Operation[];
  /** auctions/{auctionId}[/bids|/result] */
  auctionId?: string;
  /** meters/{meterId}/state */
  meterId?: string;
}

/** The route of a topic under tmi/v1/, or undefined when no operation belongs there. */
export function routeOf(topic: string): TopicRoute | undefined {
  const l = topic.split('/');
  if (l[0] !== 'tmi' || l[1] !== 'v1') return undefined;
  const rest = l.slice(2);
  const [a, b, c, d] = rest;
  switch (a) {
    case 'auctions':
      if (!b) return undefined;
      if (rest.length === 2) return { operations: ['auction-open', 'auction-close'], auctionId: b };
      if (rest.length === 3 && c === 'bids') return { operations: ['bid-offer', 'bid-reveal'], auctionId: b };
      if (rest.length === 3 && c === 'result') return { operations: ['auction-result'], auctionId: b };
      return undefined;
    case 'readings':
      return rest.length === 1 ? { operations: ['meter-reading'] } : undefined;
    case 'market':
      if (rest.length === 2 && b === 'orders') return { operations: ['market-order', 'market-reveal'] };
      if (rest.length === 3 && b === 'results' && c && /^[0-9]{1,12}$/.test(c)) return { operations: ['market-result'] };
      return undefined;
    case 'schedule':
      return rest.length === 1 ? { operations: ['schedule'] } : undefined;
    case 'meters':
      return rest.length === 3 && b && c === 'state' ? { operations: ['state'], meterId: b } : undefined;
    case 'clients':
      return rest.length === 3 && b && c === 'errors' ? { operations: ['error'] } : undefined;
    case 'chain':
      if (rest.length === 2 && b === 'txs') return { operations: ['tx'] };
      if (rest.length === 2 && b === 'blocks') return { operations: ['block', 'evidence'] };
      if (rest.length === 2 && b === 'votes') return { operations: ['vote'] };
      if (rest.length === 3 && b === 'sync' && c === 'request') return { operations: ['sync-request', 'checkpoint-request'] };
      if (rest.length === 4 && b === 'sync' && c === 'response' && d) return { operations: ['sync-response', 'checkpoint-response'] };
      return undefined;
    default:
      return undefined;
  }
}

export interface TopicMismatch {
  code: 'TOPIC_MISMATCH';
  reason: string;
}

/** Checks a decoded envelope against its topic's route; undefined when it fits. */
export function checkRoute(route: TopicRoute, env: AnyEnvelope): TopicMismatch | undefined {
  if (!route.operations.includes(env.operation)) {
    return { code: 'TOPIC_MISMATCH', reason: `operation ${env.operation} not allowed here (expected ${route.operations.join('|')})` };
  }
  if (route.auctionId !== undefined) {
    const p = env.parameters as { auctionId?: unknown };
    if (p.auctionId !== route.auctionId) {
      return { code: 'TOPIC_MISMATCH', reason: `parameters.auctionId ${String(p.auctionId)} != topic auctionId ${route.auctionId}` };
    }
  }
  if (route.meterId !== undefined && env.operation === 'state') {
    if (env.parameters.meterId !== route.meterId) {
      return { code: 'TOPIC_MISMATCH', reason: `parameters.meterId ${env.parameters.meterId} != topic meterId ${route.meterId}` };
    }
  }
  return undefined;
}
