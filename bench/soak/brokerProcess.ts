/**
 * Soak child: the registry (HTTP, level on disk) and the broker (TCP, login against the
 * registry, edge validation, per-client rate limit as `tmi broker`), as `tmi up` wires
 * them. Samples its own RSS and CPU; the orchestrator reads the samples over IPC.
 */
import { pino } from 'pino';
import { openRegistryDataDir } from '../../csm-registry/registryDataDir.js';
import { createRegistry } from '../../csm-registry/createRegistry.js';
import { RegistryClient } from '../../csm-registry/client.js';
import { createTmiBroker, type TmiBroker } from '../../broker/createTmiBroker.js';
import { createHttpDirectory } from '../../broker/httpDirectory.js';
import { enrollPrincipals, type Principal } from '../../platform/servicePrincipals.js';
import { signCertificateRequest } from '../../csm-registry/certificateRequest.js';
import type { RegistryStore } from '../../csm-registry/registryStore.js';
import type { Certificate } from '../../schemas/types.js';
import { homeOf, serviceKey } from './soakHomes.js';
import { procSample, serve, type ProcSample } from './soakIpc.js';
import { sessionQueueTotalMBFor } from '../../platform/partHeapCaps.js';
import { soakHeapCaps } from './soakHeapCaps.js';

/** with the heap caps of `tmi up` (bench/soak.ts), the session queue total `tmi up` derives from the edge's cap */
const edgeCap = soakHeapCaps()?.edge;
const sessionQueueAsTmiUp = edgeCap === undefined ? {} : { sessionQueue: { totalBytes: sessionQueueTotalMBFor(edgeCap) * 2 ** 20 } };

/** meter ids of the home chain nodes the soak may start */
export const HOME_NODES = ['home-node-pruned', 'home-node-full', 'home-node-checkpoint'] as const;

export const SERVICES: readonly Omit<Principal, 'key'>[] = [
  { meterId: 'aggregator', role: 'aggregator' },
  { meterId: 'aggregator-node', role: 'node' },
  { meterId: 'soak-counter', role: 'analytics' },
  // the chain nodes of homes (bench/soak/homeNodeProcess.ts): followers, logged in with role node
  ...HOME_NODES.map((meterId) => ({ meterId, role: 'node' as const })),
];

export async function brokerProcess(): Promise<void> {
  let broker: TmiBroker | undefined;
  let closeAll: (() => Promise<void>) | undefined;
  let store: RegistryStore | undefined;
  const samples: ProcSample[] = [];
  let sampler: NodeJS.Timeout | undefined;
  const counter = async (name: string, label?: string) => {
    const m = await broker?.metrics.getSingleMetric(name)?.get();
    return m?.values.filter((v) => label === undefined || v.labels.result === label).reduce((s, v) => s + v.value, 0) ?? 0;
  };
  const rejects = async () => {
    const m = await broker?.metrics.getSingleMetric('tmi_broker_rejects_total')?.get();
    const out: Record<string, number> = {};
    for (const v of m?.values ?? []) out[String(v.labels.code)] = v.value;
    return out;
  };
  const clientErrorMessages = new Map<string, number>();
  /** [BROKER-HOLD] the largest queue of an online platform service seen at a sample */
  let serviceQueueMax = 0;
  const startSampling = (b: TmiBroker, every: number) => {
    const sample = async () => {
      serviceQueueMax = Math.max(serviceQueueMax, await counter('tmi_broker_service_queue_messages'));
      samples.push(procSample({
        connected: b.aedes.connectedClients,
        accepted: await counter('tmi_broker_messages_in_total', 'accepted'),
        rejected: await counter('tmi_broker_messages_in_total', 'rejected'),
        out: await counter('tmi_broker_messages_out_total'),
      }));
    };
    sampler = setInterval(() => void sample(), every);
  };
  serve({
    async start(m) {
      const dataDir = m.dataDir as string;
      const redis = m.redisUrl === undefined ? {} : { redis: { url: m.redisUrl as string } };
      if (m.registryUrl !== undefined) {
        // [SOAK_BROKERS] one more broker on the shared Redis, logging in against the first one's registry
        broker = await createTmiBroker({
          directory: createHttpDirectory({ url: m.registryUrl as string, token: m.adminToken as string }),
          listeners: { mqtt: { port: 0, host: '127.0.0.1' } },
          ratePerClient: { messagesPerSecond: 20, burst: 100 },
        ...sessionQueueAsTmiUp,
          log: pino({ level: 'warn' }, pino.destination(2)), // [BROKER-STUCK] and other warnings on the soak's stderr
          ...redis,
        });
        const extra = broker;
        closeAll = () => extra.close();
        startSampling(extra, m.sampleMs as number);
        return { mqttUrl: `mqtt://127.0.0.1:${extra.ports.mqtt}` };
      }
      const dir = await openRegistryDataDir(`${dataDir}/registry`);
      const registry = await createRegistry({ db: dir.db, registryKey: dir.registryKey, adminToken: dir.adminToken });
      store = registry.store;
      const reg = await registry.listen(0, '127.0.0.1');
      const client = new RegistryClient({ url: reg.url, adminToken: dir.adminToken, operator: 'soak' });
      await enrollPrincipals(client, SERVICES.map((s) => ({ ...s, key: serviceKey(s.meterId) })));
      for (const [feeder, maxWh] of (m.feederLimits as [string, number][]) ?? []) {
        await client.setFeeder(feeder, { maxExportWh: maxWh, maxImportWh: maxWh });
      }
      broker = await createTmiBroker({
        directory: createHttpDirectory({ url: reg.url, token: dir.adminToken }),
        listeners: { mqtt: { port: 0, host: '127.0.0.1' } },
        ratePerClient: { messagesPerSecond: 20, burst: 100 },
        ...sessionQueueAsTmiUp,
        log: pino({ level: 'warn' }, pino.destination(2)), // [BROKER-STUCK] and other warnings on the soak's stderr
        ...redis,
        // SOAK_SERVICE_BUFFER_MB: a service subscriber's (the chain node's) outgoing backlog that closes its connection (default the broker's, 64)
        ...(process.env.SOAK_SERVICE_BUFFER_MB ? { maxServiceBufferedBytes: Number(process.env.SOAK_SERVICE_BUFFER_MB) * 1024 * 1024 } : {}),
      });
      const b = broker;
      // the messages behind tmi_broker_client_errors_total, digits folded, for the report
      b.aedes.on('clientError', (_c, err) => {
        const k = err.message.replace(/[0-9]+/g, 'N').slice(0, 80);
        if (clientErrorMessages.size < 50 || clientErrorMessages.has(k)) clientErrorMessages.set(k, (clientErrorMessages.get(k) ?? 0) + 1);
      });
      closeAll = async () => {
        await b.close();
        await registry.close();
        await dir.db.close();
      };
      startSampling(b, m.sampleMs as number);
      return { mqttUrl: `mqtt://127.0.0.1:${b.ports.mqtt}`, registryUrl: reg.url, adminToken: dir.adminToken, registryKey: registry.address };
    },
    /** Enrols homes [from, to) and issues their pseudonym certificates through the registry's store, in this process. */
    async enrol(m) {
      const from = m.from as number;
      const to = m.to as number;
      const t0 = Date.now();
      const certs: [number, Certificate][] = [];
      for (let i = from; i < to; i += 64) {
        const batch = Array.from({ length: Math.min(64, to - i) }, (_, k) => homeOf(i + k));
        await Promise.all(batch.map(async (h) => {
          await store!.enroll({ meterId: h.meterId, serial: `SOAK${h.i}`, meterType: 'soak-sim', publicKey: h.meterKey.address, feeder: h.feeder, programme: 'TE' }, { actor: 'soak-installer' });
          certs.push([h.i, await store!.issueCertificate(signCertificateRequest(h.meterKey, h.meterId, h.pseudonym.address))]);
        }));
      }
      return { certs, ms: Date.now() - t0 };
    },
    async samples() {
      return { samples: samples.splice(0) };
    },
    async stats() {
      return {
        ...procSample({ connected: broker?.aedes.connectedClients ?? 0 }),
        accepted: await counter('tmi_broker_messages_in_total', 'accepted'),
        rejected: await counter('tmi_broker_messages_in_total', 'rejected'),
        rejects: await rejects(),
        authFailures: await (async () => {
          const mm = await broker?.metrics.getSingleMetric('tmi_broker_auth_failures_total')?.get();
          const out: Record<string, number> = {};
          for (const v of mm?.values ?? []) out[String(v.labels.reason)] = v.value;
          return out;
        })(),
        slowConsumerDisconnects: await counter('tmi_broker_slow_consumer_disconnects_total'),
        stuckPublishes: await counter('tmi_broker_stuck_publishes_total'),
        // [BROKER-HOLD] homes' publishes held for a lagging service; [SESSION-CAP] messages not kept for a limited session
        hold: {
          episodes: await counter('tmi_broker_hold_episodes_total'),
          heldPublishes: await counter('tmi_broker_held_publishes_total'),
          serviceQueueMaxAtSamples: serviceQueueMax,
        },
        sessionQueueDrops: await counter('tmi_broker_session_queue_drops_total'),
        clientErrorMessages: Object.fromEntries([...clientErrorMessages].sort((x, y) => y[1] - x[1]).slice(0, 8)),
        clientErrors: await (async () => {
          const mm = await broker?.metrics.getSingleMetric('tmi_broker_client_errors_total')?.get();
          const out: Record<string, number> = {};
          for (const v of mm?.values ?? []) out[String(v.labels.reason)] = v.value;
          return out;
        })(),
      };
    },
    async close() {
      clearInterval(sampler);
      await closeAll?.();
      setImmediate(() => process.exit(0));
      return {};
    },
  });
}
