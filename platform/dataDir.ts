/** The platform's data directory layout (see README.md). */
import { join } from 'node:path';

export function platformPaths(dataDir: string) {
  return {
    root: dataDir,
    registry: join(dataDir, 'registry'),
    /** the broker's key and accepted login tokens (broker/brokerDataDir.ts) */
    broker: join(dataDir, 'broker'),
    /** [ROLES] the aggregator operator API's bearer token (0600) */
    operatorToken: join(dataDir, 'aggregator', 'operator-token'),
    keys: join(dataDir, 'keys'),
    aggregatorKey: join(dataDir, 'keys', 'aggregator.json'),
    aggregatorNodeKey: join(dataDir, 'keys', 'aggregator-node.json'),
    analyticsKey: join(dataDir, 'keys', 'analytics.json'),
    genesis: join(dataDir, 'genesis.json'),
    chain: join(dataDir, 'chain'),
    analytics: join(dataDir, 'analytics'),
    aggregator: join(dataDir, 'aggregator'),
  };
}
