/**
 * Topic ACL per role (DESIGN §3). Pure: a role, the login's meter id and a topic (or a
 * subscription filter) in, allowed or not out. `M` in a pattern stands for the login's
 * meter id.
 *
 *   role        publish                                         subscribe
 *   hem         tmi/v1/auctions/+/bids, tmi/v1/readings,        tmi/v1/auctions/#, tmi/v1/chain/#,
 *               tmi/v1/meters/M/state, tmi/v1/chain/txs,        tmi/v1/readings, tmi/v1/clients/M/errors,
 *               tmi/v1/chain/blocks, tmi/v1/chain/sync/request, tmi/v1/meters/M/#, tmi/v1/schedule,
 *               tmi/v1/chain/sync/response/+,                   tmi/v1/market/#
 *               tmi/v1/market/orders, tmi/v1/chain/votes
 *   aggregator  tmi/v1/auctions/#, tmi/v1/schedule,             tmi/v1/#
 *               tmi/v1/chain/#, tmi/v1/clients/+/errors,
 *               tmi/v1/market/#
 *   node        tmi/v1/chain/#                                  tmi/v1/chain/#, tmi/v1/auctions/#, tmi/v1/readings,
 *                                                               tmi/v1/market/orders
 *   analytics   (nothing)                                       tmi/v1/# (meters/+/state included: operator side)
 *   admin       #                                               #  (and $SYS/#)
 */
import type { Role } from './meterDirectory.js';

export const TOPIC_PREFIX = 'tmi/v1/';

interface RoleAcl {
  publish: readonly string[];
  subscribe: readonly string[];
}

export const ACL: Readonly<Record<Role, RoleAcl>> = {
  hem: {
    publish: [
      'tmi/v1/auctions/+/bids', 'tmi/v1/readings', 'tmi/v1/meters/M/state', 'tmi/v1/chain/txs',
      'tmi/v1/chain/blocks', 'tmi/v1/chain/sync/request', 'tmi/v1/chain/sync/response/+', 'tmi/v1/market/orders',
      'tmi/v1/chain/votes',
    ],
    subscribe: [
      'tmi/v1/auctions/#', 'tmi/v1/chain/#', 'tmi/v1/readings', 'tmi/v1/clients/M/errors',
      'tmi/v1/meters/M/#', 'tmi/v1/schedule', 'tmi/v1/market/#',
    ],
  },
  aggregator: {
    publish: ['tmi/v1/auctions/#', 'tmi/v1/schedule', 'tmi/v1/chain/#', 'tmi/v1/clients/+/errors', 'tmi/v1/market/#'],
    subscribe: ['tmi/v1/#'],
  },
  node: {
    publish: ['tmi/v1/chain/#'],
    subscribe: ['tmi/v1/chain/#', 'tmi/v1/auctions/#', 'tmi/v1/readings', 'tmi/v1/market/orders'],
  },
  analytics: {
    publish: [],
    subscribe: ['tmi/v1/#'],
  },
  admin: {
    publish: ['#'],
    subscribe: ['#', '$SYS/#'],
  },
};

function bind(pattern: string, meterId: string): string[] {
  return pattern.split('/').map((l) => (l === 'M' ? meterId : l));
}

/** Does `pattern` (with + and #) match the concrete topic? [MQTT-4.7.1] */
export function topicMatches(pattern: readonly string[], topic: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '#') return true; // # also matches the parent level [MQTT-4.7.1-2]
    if (i >= topic.length) return false;
    if (p !== '+' && p !== topic[i]) return false;
  }
  return pattern.length === topic.length;
}

/**
 * Is every topic matched by `filter` also matched by `pattern`? Used for
 * subscriptions: a filter is allowed only if it is no wider than an allowed pattern.
 */
export function filterCovered(filter: readonly string[], pattern: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '#') return true;
    if (i >= filter.length) return false;
    const f = filter[i];
    if (f === '#') return false; // filter reaches deeper/wider than a non-# pattern level
    if (p === '+') continue; // + covers a literal or a +
    if (f === '+' || f !== p) return false;
  }
  return filter.length === pattern.length;
}

/** A meter id used as a topic level must not smuggle in levels or wildcards. */
function safeLevel(meterId: string): boolean {
  return meterId.length > 0 && !/[/+#\u0000]/.test(meterId);
}

export function canPublish(role: Role, meterId: string, topic: string): boolean {
  if (!safeLevel(meterId)) return false;
  if (topic.startsWith('$') && role !== 'admin') return false;
  const levels = topic.split('/');
  return ACL[role].publish.some((p) => topicMatches(bind(p, meterId), levels));
}

export function canSubscribe(role: Role, meterId: string, filter: string): boolean {
  if (!safeLevel(meterId)) return false;
  // [MQTT-4.7.2-1] $-topics are not matched by leading wildcards; only admin may ask for them
  if (filter.startsWith('$') && role !== 'admin') return false;
  let levels = filter.split('/');
  // shared subscriptions ($share/group/filter) are checked on their filter part
  if (levels[0] === '$share' && levels.length >= 3) levels = levels.slice(2);
  return ACL[role].subscribe.some((p) => filterCovered(levels, bind(p, meterId)));
}

/**
 * Retained messages only where DESIGN §3 says — auctions/{id} and auctions/{id}/result —
 * the aggregator's current day-ahead schedule (tmi/v1/schedule), and [MKT] each P2P
 * clearing (tmi/v1/market/results/{interval}), so a client that joins late sees them.
 */
export function canRetain(role: Role, topic: string): boolean {
  if (role === 'admin') return true;
  if (role !== 'aggregator') return false;
  if (topic === 'tmi/v1/schedule') return true;
  const l = topic.split('/');
  if (l[0] !== 'tmi' || l[1] !== 'v1') return false;
  if (l[2] === 'market') return l.length === 5 && l[3] === 'results' && /^[0-9]{1,12}$/.test(l[4] ?? '');
  return l[2] === 'auctions' && l[3] !== undefined && l[3] !== '' && (l.length === 4 || (l.length === 5 && l[4] === 'result'));
}
