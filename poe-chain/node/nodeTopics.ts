/**
 * The topics a chain node uses (DESIGN §3) and the operations it accepts on each.
 * A message whose operation does not belong on its topic is dropped (TOPIC_MISMATCH).
 */
import type { Operation } from '../../schemas/envelope.js';

export const NODE_TOPICS = {
  auctions: 'tmi/v1/auctions/+',
  bids: 'tmi/v1/auctions/+/bids',
  readings: 'tmi/v1/readings',
  /** [MKT] P2P orders and their reveals */
  marketOrders: 'tmi/v1/market/orders',
  txs: 'tmi/v1/chain/txs',
  blocks: 'tmi/v1/chain/blocks',
  /** [NODE-fin] finality votes */
  votes: 'tmi/v1/chain/votes',
  syncRequest: 'tmi/v1/chain/sync/request',
  syncResponse: (nodeId: string) => `tmi/v1/chain/sync/response/${nodeId}`,
} as const;

/** What arrives on a topic the node subscribes to. */
export type TopicKind = 'tx' | 'wrapped-tx' | 'block' | 'vote' | 'sync-request' | 'sync-response';

export interface NodeRoute {
  kind: TopicKind;
  operations: readonly Operation[];
}

/** The route of a concrete topic for a node whose id is `nodeId`; undefined when none. */
export function nodeRouteOf(topic: string, nodeId: string): NodeRoute | undefined {
  const l = topic.split('/');
  if (l[0] !== 'tmi' || l[1] !== 'v1') return undefined;
  if (l[2] === 'auctions' && l.length === 4 && l[3]) return { kind: 'tx', operations: ['auction-open', 'auction-close'] };
  if (l[2] === 'auctions' && l.length === 5 && l[3] && l[4] === 'bids') return { kind: 'tx', operations: ['bid-offer', 'bid-reveal'] };
  if (topic === NODE_TOPICS.readings) return { kind: 'tx', operations: ['meter-reading'] };
  if (topic === NODE_TOPICS.marketOrders) return { kind: 'tx', operations: ['market-order', 'market-reveal'] };
  if (topic === NODE_TOPICS.txs) return { kind: 'wrapped-tx', operations: ['tx'] };
  // the broker routes evidence on the blocks topic too (broker/topicOperation.ts)
  if (topic === NODE_TOPICS.blocks) return { kind: 'block', operations: ['block', 'evidence'] };
  if (topic === NODE_TOPICS.votes) return { kind: 'vote', operations: ['vote'] };
  if (topic === NODE_TOPICS.syncRequest) return { kind: 'sync-request', operations: ['sync-request', 'checkpoint-request'] };
  if (topic === NODE_TOPICS.syncResponse(nodeId)) return { kind: 'sync-response', operations: ['sync-response', 'checkpoint-response'] };
  return undefined;
}
