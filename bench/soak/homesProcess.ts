/**
 * Soak child: a slice of the simulated homes, each one MQTT connection logged in with a
 * token signed by its meter key (client id = meter id), as a HEM does:
 *
 *   setup    enrol the meter (admin, POST /v1/meters) and ask for a pseudonym certificate
 *            (POST /v1/certificates, signed by the meter key), `concurrency` at a time
 *   connect  log in; subscribe tmi/v1/auctions/+ (opens and closes, not the bids) and the
 *            home's own error topic
 *   certTx   publish the certificate on tmi/v1/chain/txs (QoS 1)
 *   run      every metering interval n of the day: publish the signed reading of n
 *            (QoS 1) at a per-home offset after n ends; answer every auction-open with a
 *            signed bid (QoS 1) within `bidSpreadMs`
 *
 * Every PUBACK is recorded by reqId; the broker's error replies are recorded by the
 * reqId they name, so the orchestrator can check each acknowledged message against
 * what the counting subscriber saw.
 *
 * Identical payloads (an auction-open goes to every home) are decoded and verified once
 * per process, not once per home: the simulation's CPU belongs to the platform.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { RegistryClient } from '../../csm-registry/client.js';
import { createCodec } from '../../wire/codec.js';
import { makeLoginToken } from '../../wire/loginToken.js';
import type { AuctionOpen, Certificate } from '../../schemas/types.js';
import { bidPayload, certificateTxPayload, homeOf, readingPayload, reqIdInPayload, type Home } from './soakHomes.js';
import { procSample, serve } from './soakIpc.js';

/** The date of an encoded envelope (ms), without parsing it. */
function envelopeDate(payload: Buffer): number {
  const s = payload.toString('latin1', 0, Math.min(payload.length, 300));
  const at = s.indexOf('"date":"');
  return at < 0 ? 0 : Date.parse(s.slice(at + 8, s.indexOf('"', at + 8)));
}

interface HomeClient {
  home: Home;
  client: MqttClient;
  bidOn: Set<string>;
  offset: number;
}

export async function homesProcess(): Promise<void> {
  let homes: HomeClient[] = [];
  const acked = new Set<string>();
  /** refusals that say "try again" (the registry lookup timed out, the rate limit): sent again as they were */
  const RETRY = new Set(['DIRECTORY_UNAVAILABLE', 'RATE_LIMITED', 'VERIFIER_FAILED']);
  const retried: Record<string, number> = {};
  const pendingRetry = new Map<string, { h: HomeClient; kind: 'r' | 'b' | 'c'; topic: string; payload: Buffer; tries: number }>();
  const publishErrors: Record<string, number> = {};
  const rejected = new Map<string, string>(); // reqId → broker error code
  const counts = { sent: { r: 0, b: 0, c: 0 }, acked: { r: 0, b: 0, c: 0 }, reconnects: 0, closes: 0, errorMessages: 0 };
  const codec = createCodec({ replayCheck: false });
  const decoded = new Map<string, { operation: string; open?: AuctionOpen } | null>(); // reqId → verified content
  let origin = 0;
  let intervalMs = 1;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  function later(ms: number, fn: () => void) {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) fn();
    }, Math.max(0, ms));
    timers.add(t);
  }

  function publish(h: HomeClient, kind: 'r' | 'b' | 'c', topic: string, payload: Buffer, tries = 0) {
    const reqId = reqIdInPayload(payload)!;
    if (tries === 0) counts.sent[kind]++;
    pendingRetry.set(reqId, { h, kind, topic, payload, tries });
    h.client.publish(topic, payload, { qos: 1 }, (err) => {
      if (err) {
        publishErrors[err.message.slice(0, 60)] = (publishErrors[err.message.slice(0, 60)] ?? 0) + 1;
        return;
      }
      if (!acked.has(reqId)) counts.acked[kind]++;
      acked.add(reqId);
    });
  }

  /** The verified content of an auction message (once per payload per process). */
  function auctionMessage(payload: Buffer): { operation: string; open?: AuctionOpen } | null {
    const reqId = reqIdInPayload(payload);
    if (reqId === undefined) return null;
    const known = decoded.get(reqId);
    if (known !== undefined) return known;
    let v: { operation: string; open?: AuctionOpen } | null;
    try {
      const env = codec.decode(payload);
      v = env.operation === 'auction-open' ? { operation: env.operation, open: env.parameters } : { operation: env.operation };
    } catch {
      v = null;
    }
    decoded.set(reqId, v);
    return v;
  }

  let bidSpreadMs = 1000;
  function onMessage(h: HomeClient, topic: string, payload: Buffer) {
    if (topic.startsWith('tmi/v1/clients/')) {
      counts.errorMessages++;
      try {
        const p = (JSON.parse(payload.toString('utf8')) as { parameters?: { code?: string; reqId?: string } }).parameters;
        if (!p?.reqId) return;
        const code = p.code ?? 'UNKNOWN';
        const again = pendingRetry.get(p.reqId);
        // the same bytes again (the refusal did not use up the reqId; the date stays within the broker's window)
        if (again && RETRY.has(code) && again.tries < 8 && Date.now() - envelopeDate(again.payload) < 100_000) {
          retried[code] = (retried[code] ?? 0) + 1;
          later(1000 + Math.random() * 2000 * (again.tries + 1), () => publish(again.h, again.kind, again.topic, again.payload, again.tries + 1));
          return;
        }
        rejected.set(p.reqId, code);
      } catch {
        rejected.set(`unparsable-${counts.errorMessages}`, 'UNPARSABLE_ERROR');
      }
      return;
    }
    const m = auctionMessage(payload);
    if (!m?.open) return;
    const open = m.open;
    // the bid's reqId number: the auction's delivery interval (one auction per interval here)
    const no = Math.floor((Date.parse(open.delivery.start) - origin) / intervalMs);
    if (intervalMs <= 1 || h.bidOn.has(open.auctionId)) return;
    if (Date.now() >= Date.parse(open.closesAt) - 500) return; // too late to reach the chain
    h.bidOn.add(open.auctionId);
    later((h.offset / homes.length) * bidSpreadMs, () => publish(h, 'b', `tmi/v1/auctions/${open.auctionId}/bids`, bidPayload(h.home, open, no, Date.now())));
  }

  const pruner = setInterval(() => {
    for (const [id, e] of pendingRetry) if (Date.now() - envelopeDate(e.payload) > 90_000) pendingRetry.delete(id);
  }, 10_000);

  serve({
    async setup(m) {
      const from = m.from as number;
      const to = m.to as number;
      const t0 = Date.now();
      const list: Home[] = [];
      for (let i = from; i < to; i++) list.push({ ...homeOf(i), chain: m.chain as string }); // [DOMAIN-TX]
      const keysMs = Date.now() - t0;
      const given = new Map((m.certs as [number, Certificate][] | undefined) ?? []);
      if (given.size > 0) {
        // enrolled and certified by the registry's store (bench/soak/brokerProcess.ts)
        for (const h of list) h.cert = given.get(h.i);
      } else {
        const reg = new RegistryClient({ url: m.registryUrl as string, adminToken: m.adminToken as string, operator: 'soak-installer', timeoutMs: 60_000 });
        let next = 0;
        const worker = async () => {
          while (next < list.length) {
            const h = list[next++]!;
            await reg.enroll({ meterId: h.meterId, serial: `SOAK${h.i}`, meterType: 'soak-sim', publicKey: h.meterKey.address, feeder: h.feeder, programme: 'TE' });
            h.cert = await reg.requestCertificate(h.meterKey, h.meterId, h.pseudonym.address);
          }
        };
        await Promise.all(Array.from({ length: m.concurrency as number }, worker));
      }
      homes = list.map((home, k) => ({ home, client: undefined as unknown as MqttClient, bidOn: new Set(), offset: k }));
      return { homes: list.length, keysMs, enrolMs: Date.now() - t0 - keysMs };
    },
    async connect(m) {
      const url = m.mqttUrl as string;
      const batch = m.batch as number;
      const t0 = Date.now();
      let failed = 0;
      for (let k = 0; k < homes.length; k += batch) {
        await Promise.all(homes.slice(k, k + batch).map(async (h) => {
          const id = h.home.meterId;
          try {
            h.client = await mqtt.connectAsync(url, {
              clientId: id, username: id, password: makeLoginToken(h.home.meterKey, id),
              reconnectPeriod: 2000, connectTimeout: 60_000, keepalive: 120, protocolVersion: 4, clean: true,
            });
          } catch {
            failed++;
            return;
          }
          h.client.on('close', () => {
            counts.closes++;
            h.client.options.password = makeLoginToken(h.home.meterKey, id); // a token is good for one login
          });
          h.client.on('reconnect', () => void counts.reconnects++);
          h.client.on('message', (topic, payload) => onMessage(h, topic, payload));
          await h.client.subscribeAsync({ 'tmi/v1/auctions/+': { qos: 1 }, [`tmi/v1/clients/${id}/errors`]: { qos: 0 } });
        }));
      }
      return { connected: homes.length - failed, failed, ms: Date.now() - t0 };
    },
    async certTx(m) {
      // at most `window` certificate publishes of this process await their PUBACK: the broker
      // looks each new pseudonym up at the registry before it acknowledges
      const window = m.window as number;
      const t0 = Date.now();
      let next = 0;
      let inflight = 0;
      await new Promise<void>((resolve) => {
        const pump = () => {
          while (inflight < window && next < homes.length) {
            const h = homes[next++]!;
            inflight++;
            const payload = certificateTxPayload(h.home, Date.now());
            counts.sent.c++;
            const reqId = reqIdInPayload(payload)!;
            pendingRetry.set(reqId, { h, kind: 'c', topic: 'tmi/v1/chain/txs', payload, tries: 0 });
            h.client.publish('tmi/v1/chain/txs', payload, { qos: 1 }, (err) => {
              inflight--;
              if (!err) {
                if (!acked.has(reqId)) counts.acked.c++;
                acked.add(reqId);
              } else publishErrors[err.message.slice(0, 60)] = (publishErrors[err.message.slice(0, 60)] ?? 0) + 1;
              if (next >= homes.length && inflight === 0) resolve();
              else pump();
            });
          }
        };
        pump();
      });
      return { acked: counts.acked.c, ms: Date.now() - t0 };
    },
    async run(m) {
      origin = m.genesisTimeMs as number;
      intervalMs = m.intervalMs as number;
      const I = intervalMs;
      const first = m.firstInterval as number;
      const last = m.lastInterval as number;
      const spread = m.readingSpreadMs as number;
      bidSpreadMs = m.bidSpreadMs as number;
      for (let n = first; n <= last; n++) {
        const endMs = origin + (n + 1) * I;
        // one sweep per interval: homes publish in offset order across the spread
        later(endMs - Date.now(), () => {
          const t0 = Date.now();
          let k = 0;
          const sweep = () => {
            const due = Math.min(homes.length, Math.ceil(((Date.now() - t0) / spread) * homes.length));
            for (; k < due; k++) {
              const h = homes[k]!;
              publish(h, 'r', 'tmi/v1/readings', readingPayload(h.home, n, endMs - I, endMs, Date.now()));
            }
            if (k < homes.length) later(10, sweep);
          };
          sweep();
        });
      }
      return {};
    },
    async progress() {
      return { ...procSample(), counts, rejected: rejected.size, retried, publishErrors, connected: homes.filter((h) => h.client?.connected).length };
    },
    async report() {
      const codes: Record<string, number> = {};
      for (const c of rejected.values()) codes[c] = (codes[c] ?? 0) + 1;
      return { acked: [...acked], rejected: [...rejected.entries()], codes, retried, counts, publishErrors };
    },
    async close() {
      stopped = true;
      clearInterval(pruner);
      for (const t of timers) clearTimeout(t);
      await Promise.all(homes.map((h) => h.client?.endAsync(true).catch(() => undefined)));
      setImmediate(() => process.exit(0));
      return {};
    },
  });
}
