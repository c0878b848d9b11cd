/**
 * The home's chain node (DESIGN §1, §7): a validator when the home's programme is RE or
 * RE+TE (it produces when Proof of Energy elects its pseudonym), otherwise a follower.
 * It shares the HEM's one MQTT session (the broker admits one connection per meter id)
 * and signs with the current pseudonym; after a rotation it restarts with the new key.
 */
import { readFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { parseGenesis, type Genesis } from '../poe-chain/core/genesis.js';
import { openChainStoreAt } from '../poe-chain/store/chainDataDir.js';
import type { ChainStore } from '../poe-chain/store/openChainStore.js';
import { createChainNode, type ChainNode } from '../poe-chain/node/createChainNode.js';
import type { KeyPair } from '../wire/keys.js';

export interface HemChainOptions {
  genesisFile: string;
  dataDir: string;
  nodeId: string;
  produce: boolean;
  /** the key the node signs with: the current pseudonym */
  key: () => KeyPair | undefined;
  mqtt: MqttClient;
  now: () => number;
  log: Logger;
}

export interface HemChain {
  readonly genesis: Genesis;
  node(): ChainNode | undefined;
  /** re-keys the node if the pseudonym changed */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export async function startHemChain(o: HemChainOptions): Promise<HemChain> {
  const genesis = parseGenesis(JSON.parse(await readFile(o.genesisFile, 'utf8')));
  const store: ChainStore = await openChainStoreAt(o.dataDir, { genesis: genesis.config, createIfMissing: true });
  let node: ChainNode | undefined;
  let nodeKey: string | undefined;
  let busy: Promise<void> = Promise.resolve();

  async function start(key: KeyPair) {
    node = await createChainNode({
      genesis, key, store, mqtt: o.mqtt, nodeId: o.nodeId, produce: o.produce, now: o.now,
      // [SYNC-A] a home answers the aggregator's node's sync requests alone: a branch only the
      // homes hold (the archive missed it) reaches the archive, and from it every node
      serveSync: 'archive',
      // the aggregator's node is the one that must not lose what it received; on a Pi's SD
      // card a journal would double the writes of every home's readings
      journal: false,
      // [STORE-P] a home keeps the state and the blocks above its final block: bounded disk on
      // an SD card; the aggregator's node is the archive
      prune: true,
      log: o.log.child({ part: 'chain' }),
    });
    nodeKey = key.address;
    o.log.info({ event: 'chain-node', address: key.address, produce: o.produce, head: node.head().height }, 'chain node started');
  }

  async function refresh() {
    busy = busy.then(async () => {
      const key = o.key();
      if (!key || key.address === nodeKey) return;
      if (node) await node.close();
      await start(key);
    });
    return busy;
  }

  await refresh();
  return {
    genesis,
    node: () => node,
    refresh,
    async close() {
      await busy;
      if (node) await node.close();
      await store.close({ snapshot: true });
    },
  };
}
