/**
 * Soak child: the aggregator's chain node (produces while no validator is eligible —
 * the soak's homes are TE-only, so it produces every block — and serves sync) and the
 * aggregator (auctions opened on the orchestrator's command, closed on time, result
 * republished from the chain), wired as `tmi up` wires them, over MQTT logins to the
 * broker child. Samples its own RSS and CPU.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { MqttClient } from 'mqtt';
import { RegistryClient } from '../../csm-registry/client.js';
import { loadOrCreateGenesis } from '../../platform/genesisFile.js';
import { platformPaths } from '../../platform/dataDir.js';
import { connectWithLogin } from '../../platform/mqttLogin.js';
import { openChainStoreAt } from '../../poe-chain/store/chainDataDir.js';
import { availableParallelism } from 'node:os';
import { createChainNode, type ChainNode } from '../../poe-chain/node/createChainNode.js';
import { chainViewOf, readingFeedOf } from '../../poe-chain/node/chainQueries.js';
import { createAggregator, type Aggregator } from '../../aggregator/aggregator.js';
import type { ChainStore } from '../../poe-chain/store/openChainStore.js';
import { serviceKey } from './soakHomes.js';
import { procSample, serve, type ProcSample } from './soakIpc.js';

export async function chainProcess(): Promise<void> {
  let node: ChainNode | undefined;
  let store: ChainStore | undefined;
  let aggregator: Aggregator | undefined;
  const sessions: MqttClient[] = [];
  const samples: ProcSample[] = [];
  let sampler: NodeJS.Timeout | undefined;
  const blockLog: { height: number; txs: number; at: number; slot: number }[] = [];
  /** [t, head height] at each new head and [t, final height] at each new final block (a home node's catch-up is timed against these) */
  const heads: [number, number][] = [];
  const finals: [number, number][] = [];
  /** codes of candidates a block build left out (the node logs them at debug) */
  const leftOut: Record<string, number> = {};
  const nodeLog = pino({ level: 'debug' }, new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = chunk.toString('utf8');
      if (line.includes('candidates left out')) {
        try {
          const j = JSON.parse(line) as { rejected?: number; codes?: string[] };
          for (const code of j.codes ?? []) leftOut[code] = (leftOut[code] ?? 0) + 1;
        } catch {
          /* not a log line */
        }
      }
      done();
    },
  }));

  serve({
    async start(m) {
      const dataDir = m.dataDir as string;
      const mqttUrl = m.mqttUrl as string;
      const paths = platformPaths(dataDir);
      const keys = { aggregator: serviceKey('aggregator'), aggregatorNode: serviceKey('aggregator-node') };
      const { genesis } = await loadOrCreateGenesis(paths.genesis, {
        chainId: 'tmi-soak',
        registryKey: m.registryKey as string,
        aggregatorKey: keys.aggregator.address,
        aggregatorNodeKey: keys.aggregatorNode.address,
        intervalMs: m.intervalMs as number,
        slotMs: m.slotMs as number,
        patience: m.patience as number,
        now: Date.now(),
        aggregatorFundsMc: 1_000_000_000_000,
        // the replay window scaled with the compressed day, as the grace periods are (1 h is
        // four 15-min intervals), not below 5 min: the homes sign when they send
        extra: { txWindowMs: Math.max(300_000, 4 * (m.intervalMs as number)) },
      });
      const registry = new RegistryClient({ url: m.registryUrl as string, adminToken: m.adminToken as string, operator: 'soak' });
      const aggMqtt = await connectWithLogin({ url: mqttUrl, meterId: 'aggregator', key: keys.aggregator });
      sessions.push(aggMqtt);
      store = await openChainStoreAt(paths.root, { genesis: genesis.config, createIfMissing: true });
      const nodeMqtt = await connectWithLogin({ url: mqttUrl, meterId: 'aggregator-node', key: keys.aggregatorNode });
      sessions.push(nodeMqtt);
      node = await createChainNode({
        genesis, key: keys.aggregatorNode, store, mqtt: nodeMqtt, nodeId: 'aggregator-node',
        produce: true, serveSync: true, log: nodeLog,
        // [NODE-verify] as tmi up: a verify pool of cores − 1 threads (SOAK_VERIFY_THREADS to change it)
        verifyThreads: Number(process.env.SOAK_VERIFY_THREADS ?? Math.max(0, availableParallelism() - 1)),
      });
      const n = node;
      n.on('block', (b) => {
        blockLog.push({ height: b.height, txs: b.block.parameters.txs.length, at: b.at, slot: b.block.parameters.header.slot });
        heads.push([Date.now(), n.head().height]);
      });
      n.on('final', (f) => finals.push([f.at, f.height]));
      const slotsPerDay = m.slotsPerDay as number;
      aggregator = await createAggregator({
        key: keys.aggregator,
        genesisHash: genesis.hash,
        mqtt: aggMqtt,
        chain: chainViewOf(n),
        readingFeed: readingFeedOf(n), // as tmi up wires it
        log: pino({ level: 'silent' }),
        config: {
          originMs: genesis.genesisTimeMs,
          intervalMs: genesis.intervalMs,
          slotsPerDay,
          deviation: { thresholdWh: 1_000_000_000 },
          prices: () => ({ buyMcPerKWh: 25_000, sellMcPerKWh: 8_000 }),
          priorNetLoadWh: new Array<number>(slotsPerDay).fill(0),
          feederLimits: async () => registry.feeders(),
          autoAuctions: false,
        },
      });
      sampler = setInterval(() => {
        const st = n.stats();
        samples.push(procSample({ height: n.head().height, final: st.finality.final.height, mempool: st.mempool.count, admitting: st.admission.urgent + st.admission.readings }));
      }, m.sampleMs as number);
      return { genesisHash: genesis.hash, genesisTimeMs: genesis.genesisTimeMs, intervalMs: genesis.intervalMs, slotMs: genesis.slotMs, voidGraceMs: genesis.config.voidGraceMs ?? null };
    },
    async openAuction(m) {
      const rec = await aggregator!.openAuction({
        side: m.side as 'buy' | 'sell',
        energyWh: m.energyWh as number,
        limitPriceMcPerKWh: m.limitPriceMcPerKWh as number,
        delivery: { startMs: m.deliveryStartMs as number, endMs: m.deliveryEndMs as number },
        closesAtMs: m.closesAtMs as number,
        pricing: m.pricing as 'pay-as-bid' | 'uniform',
      }, 'manual');
      return { auctionId: rec.auctionId, open: rec.open };
    },
    async auction(m) {
      const a = node!.state().sections.auctions.get(m.auctionId as string);
      if (!a) return { found: false };
      const rec = aggregator!.auctions().find((r) => r.auctionId === m.auctionId);
      return {
        found: true,
        status: a.status,
        bidCount: a.bidCount,
        openedHeight: a.openedHeight,
        closedHeight: a.closedHeight ?? null,
        awardedWh: a.awardedWh ?? null,
        clearingPriceMcPerKWh: a.clearingPriceMcPerKWh ?? null,
        awards: (a.awards ?? []).map((w) => ({ address: w.address, feeder: w.feeder, reqId: w.reqId, energyWh: w.energyWh, priceMcPerKWh: w.priceMcPerKWh, settled: w.settlement !== undefined })),
        excluded: (a.excluded ?? []).length,
        excludedReasons: (a.excluded ?? []).reduce<Record<string, number>>((acc, x) => ((acc[x.reason] = (acc[x.reason] ?? 0) + 1), acc), {}),
        voidReason: a.voidReason ?? null,
        aggregatorStatus: rec?.status ?? null,
        params: { side: a.side, energyWh: a.energyWh, limitPriceMcPerKWh: a.limitPriceMcPerKWh, pricing: a.pricing, feederLimits: a.feederLimits },
      };
    },
    async certs() {
      return { certs: node!.state().sections.certs.size, height: node!.head().height };
    },
    async readingsOf(m) {
      // how many of the given interval's readings the chain holds (readings are keyed address|epoch)
      const epoch = m.epoch as number;
      let n = 0;
      for (const [k] of node!.state().sections.readings.entries()) if (k.endsWith(`|${epoch}`)) n++;
      return { epoch, readings: n };
    },
    async samples() {
      return { samples: samples.splice(0) };
    },
    /** heads and finals at or after `since` (ms) */
    async timeline(m) {
      const since = m.since as number;
      return { heads: heads.filter(([t]) => t >= since), finals: finals.filter(([t]) => t >= since), head: node!.head().height, final: node!.stats().finality.final.height };
    },
    async blocks() {
      return { blocks: blockLog.splice(0) };
    },
    async stats() {
      const st = node!.stats();
      const m = node!.state().meta;
      // [FIN] the node's own final and justified checkpoints (votes) against those its head state proves (justification txs on chain)
      const finality = { localFinal: st.finality.final, localJustified: st.finality.justified, onChainFinalized: m.finalized, onChainJustified: m.justified, votesSent: st.finality.votesSent, justificationsSubmitted: st.finality.justificationsSubmitted };
      return { ...procSample(), head: node!.head(), stats: st, finality, leftOutBlocksByCode: leftOut };
    },
    async close() {
      clearInterval(sampler);
      await aggregator?.stop();
      await node?.close();
      for (const s of sessions) await s.endAsync(true).catch(() => undefined);
      await store?.close({ snapshot: true });
      setImmediate(() => process.exit(0));
      return {};
    },
  });
}
