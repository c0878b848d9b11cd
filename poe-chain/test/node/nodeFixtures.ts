/** Helpers for the chain node tests: an in-process aedes broker, live genesis configs, nodes on memory-level. */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { MemoryLevel } from 'memory-level';
import type { GenesisConfig } from '../../../schemas/types.js';
import { signBytes, type KeyPair } from '../../../wire/keys.js';
import { canonicalBytes } from '../../../wire/canonicalJson.js';
import { epochOfSlot, parseGenesis, slotTime, type Genesis } from '../../core/genesis.js';
import { buildBlock, type BuiltBlock } from '../../core/buildBlock.js';
import { StateDraft, stateRoot, type ChainState } from '../../core/chainState.js';
import { beginBlock, endBlock } from '../../core/blockLifecycle.js';
import { blockHash, signHeader } from '../../core/blockHash.js';
import { previousSeed, proveSeed } from '../../core/epochSeed.js';
import { merkleRoot } from '../../core/merkleRoot.js';
import { txId } from '../../core/txId.js';
import { signEnvelope } from '../../../wire/codec.js';
import type { Certificate, EmbeddedEnvelope, Envelope } from '../../../schemas/types.js';
import { openChainStore, type ChainStore } from '../../store/openChainStore.js';
import { periodEnd, testGenesisConfig, testKey, testTag } from '../../testkit/chainFixture.js';
import { createChainNode, type ChainNode, type ChainNodeOptions } from '../../node/createChainNode.js';

export interface TestBroker {
  url: string;
  aedes: Aedes;
  close(): Promise<void>;
}

export async function startAedes(): Promise<TestBroker> {
  const aedes = await Aedes.createBroker();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    aedes,
    close: () =>
      new Promise<void>((resolve) => {
        aedes.close(() => server.close(() => resolve()));
      }),
  };
}

/** A genesis whose time is the start of the current interval (so slots are live now). */
export function liveGenesisConfig(over: Partial<GenesisConfig> = {}, now = Date.now()): GenesisConfig {
  const intervalMs = over.intervalMs ?? 60_000;
  return testGenesisConfig({
    slotMs: 50,
    patience: 4,
    intervalMs,
    settleGraceMs: 2 * intervalMs,
    genesisTime: new Date(Math.floor(now / intervalMs) * intervalMs).toISOString(),
    ...over,
  });
}

export async function memoryStore(config: GenesisConfig): Promise<ChainStore> {
  return openChainStore(new MemoryLevel<string, string>(), { genesis: config });
}

export async function connect(url: string, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId, reconnectPeriod: 0 });
}

export interface RunningNode {
  node: ChainNode;
  store: ChainStore;
  client: MqttClient;
  stop(): Promise<void>;
}

export async function startNode(
  url: string,
  config: GenesisConfig,
  key: KeyPair,
  nodeId: string,
  over: Partial<ChainNodeOptions> = {},
): Promise<RunningNode> {
  const genesis: Genesis = parseGenesis(config);
  const store = over.store ?? (await memoryStore(config));
  const client = over.mqtt ?? (await connect(url, nodeId));
  const node = await createChainNode({ genesis, key, store, mqtt: client, nodeId, sync: { timeoutMs: 300, retries: 1 }, ...over });
  return {
    node,
    store,
    client,
    async stop() {
      await node.close();
      await client.endAsync();
      await store.close();
    },
  };
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 10): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`TIMEOUT waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A genesis an hour in the past (so pre-built blocks at old slots are valid now). */
export function pastGenesisConfig(over: Partial<GenesisConfig> = {}, now = Date.now()): GenesisConfig {
  const intervalMs = over.intervalMs ?? 60_000;
  return liveGenesisConfig({ genesisTime: new Date(Math.floor((now - 3_600_000) / intervalMs) * intervalMs).toISOString(), ...over }, now);
}

/**
 * Builds `count` blocks on `state` at consecutive slots from `firstSlot`, signed by `key`
 * (the elected producer: the aggregator node while no validator is ranked). `txsAt(i)`
 * gives the candidates of the i-th block.
 */
export function buildChain(state: ChainState, key: KeyPair, firstSlot: number, count: number, txsAt: (i: number) => unknown[] = () => []): BuiltBlock[] {
  const out: BuiltBlock[] = [];
  let st = state;
  for (let i = 0; i < count; i++) {
    const slot = firstSlot + i;
    const b = buildBlock(st, withFiller(st, slot, txsAt(i)), key, slot, slotTime(st.genesis, slot));
    out.push(b);
    st = b.state;
  }
  return out;
}

/**
 * [REWARD] An empty block is valid only W slots after its parent: tests that need blocks at
 * consecutive slots fill an otherwise empty one with a registry certificate of a fresh
 * TE-only key (it needs no funds and never ranks).
 */
export function withFiller(parent: ChainState, slot: number, txs: readonly unknown[]): unknown[] {
  if (txs.length > 0 || slot - parent.meta.tipSlot >= parent.genesis.patience) return [...txs];
  const registry = testKey('registry');
  const time = slotTime(parent.genesis, slot);
  const unsigned = {
    address: testKey(`filler/${parent.tipHash}/${slot}`).address,
    validFrom: new Date(time).toISOString(),
    validTo: new Date(periodEnd(time, parent.genesis.certPeriodMs)).toISOString(),
    feeder: 'F1',
    programme: 'TE',
    tag: testTag(`filler/${parent.tipHash}/${slot}`),
  };
  const cert = { ...unsigned, registrySignature: signBytes(registry, canonicalBytes(unsigned)).toString('base64') };
  return [signEnvelope(registry, 'certificate', cert as Certificate, { date: new Date(time).toISOString(), chain: parent.genesis.hash })];
}

/** Appends built blocks to a store. */
export async function appendAll(store: ChainStore, blocks: readonly BuiltBlock[]): Promise<void> {
  for (const b of blocks) await store.append(b);
}

/**
 * A block built without the producer check, with an optional wrong state root: what a
 * misbehaving node could publish. The state root is computed as if `txs` were absent
 * (a block carrying an invalid transaction is rejected before its root is checked).
 */
export function forgeBlock(parent: ChainState, txs: readonly unknown[], key: KeyPair, slot: number, o: { stateRoot?: string } = {}): { block: Envelope<'block'>; hash: string } {
  const g = parent.genesis;
  const epoch = epochOfSlot(g, slot);
  const time = slotTime(g, slot);
  const height = parent.meta.height + 1;
  const d = new StateDraft(parent);
  const seeded = epoch > parent.meta.rankingEpoch ? proveSeed(key.seed, g.hash, epoch, previousSeed(parent.meta)) : undefined;
  beginBlock(d, { epoch, time, parentHash: parent.tipHash, ...(seeded ? { newSeed: seeded.seed } : {}) });
  endBlock(d, { height, slot, sub: 0, time, producer: key.address });
  const next = d.finish(parent.tipHash);
  const header = {
    height, slot, epoch, parent: parent.tipHash, producer: key.address, txRoot: merkleRoot(txs.map((t) => txId(t))), stateRoot: o.stateRoot ?? stateRoot(next),
    ...(seeded ? { seedProof: seeded.proof } : {}),
  };
  const hash = blockHash(header);
  const block = signEnvelope(key, 'block', { header, headerSignature: signHeader(key, header, g.hash), txs: txs as EmbeddedEnvelope[] }, { date: new Date(time).toISOString() });
  return { block, hash };
}
