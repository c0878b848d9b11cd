/**
 * Helpers of the platform's resilience tests: `tmi up` as a real process (started,
 * SIGKILLed, restarted on the same data directory and ports), HEM identities enrolled and
 * certified over the registry's HTTP API, and their signed messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { RegistryClient } from '../../csm-registry/client.js';
import { encode, signEnvelope } from '../../wire/codec.js';
import { generateKeyPair, type KeyPair } from '../../wire/keys.js';
import type { BidOffer, Certificate, Envelope } from '../../schemas/types.js';
import { connectWithLogin } from '../mqttLogin.js';
import { GENESIS_DEFAULTS } from '../../poe-chain/core/genesis.js';

export const TMI = fileURLToPath(new URL('../../cli/tmi.js', import.meta.url));

export interface UpInfo {
  status: string;
  urls: { registry: string; mqtt: string; aggregator?: string; analytics?: string; ws?: string; metrics?: string };
  adminTokenFile: string;
  directoryTokenFile: string;
  operatorTokenFile: string;
  brokerKey: string;
  genesis: string;
  chainId: string;
  registryKey: string;
  aggregatorKey: string;
}

export interface UpProcess {
  child: ChildProcess;
  info: UpInfo;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** the last stderr lines (pino JSON), for failure messages */
  lines: string[];
}

export interface UpPorts {
  mqtt: number;
  registry: number;
  aggregator: number;
  analytics: number;
}

const portOf = (url: string | undefined) => Number(new URL(url ?? 'http://x:0').port);

export function portsOf(info: UpInfo): UpPorts {
  return { mqtt: portOf(info.urls.mqtt), registry: portOf(info.urls.registry), aggregator: portOf(info.urls.aggregator), analytics: portOf(info.urls.analytics) };
}

/** Starts `tmi up` and resolves once it printed its JSON status (ports 0 = ephemeral). */
export async function startUp(dataDir: string, o: { ports?: UpPorts; intervalMs: number; slotMs?: number; patience?: number; extraArgs?: readonly string[] }): Promise<UpProcess> {
  const p = o.ports ?? { mqtt: 0, registry: 0, aggregator: 0, analytics: 0 };
  const args = [
    TMI, 'up', '--data', dataDir, '--mqtt-port', String(p.mqtt), '--registry-port', String(p.registry),
    '--aggregator-port', String(p.aggregator), '--analytics-port', String(p.analytics), '--ws-port', '0', '--metrics-port', '0',
    '--interval-ms', String(o.intervalMs), '--slot-ms', String(o.slotMs ?? GENESIS_DEFAULTS.slotMs), '--patience', String(o.patience ?? GENESIS_DEFAULTS.patience), '--log-level', 'info',
    ...(o.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const lines: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => {
    lines.push(l);
    if (lines.length > 200) lines.shift();
  });
  let out = '';
  const info = await new Promise<UpInfo>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tmi up did not start in 60 s: ${lines.slice(-5).join('\n')}`)), 60_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      try {
        const j = JSON.parse(out) as UpInfo;
        clearTimeout(t);
        resolve(j);
      } catch {
        /* not the whole object yet */
      }
    });
    void exit.then((e) => {
      clearTimeout(t);
      reject(new Error(`tmi up exited before it was up (code ${e.code}, signal ${e.signal}): ${lines.slice(-5).join('\n')}`));
    });
  });
  return { child, info, exit, lines };
}

export async function stopUp(up: UpProcess, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (up.child.exitCode === null && up.child.signalCode === null) up.child.kill(signal);
  return up.exit;
}

export async function adminTokenOf(up: UpProcess): Promise<string> {
  return (await readFile(up.info.adminTokenFile, 'utf8')).trim();
}

/** the aggregator operator API's token [ROLES] */
export async function operatorTokenOf(up: UpProcess): Promise<string> {
  return (await readFile(up.info.operatorTokenFile, 'utf8')).trim();
}

export interface TestHem {
  meterId: string;
  meterKey: KeyPair;
  pseudonym: KeyPair;
  feeder: string;
  cert: Certificate;
  /** [DOMAIN-TX] the genesis hash its transactions name, from the registry's GET /v1/chain */
  chain: string;
}

/** Enrols a meter (admin) and gets its pseudonym certified (signed by the meter key). */
export async function enrollHem(registryUrl: string, adminToken: string, meterId: string, programme: 'TE' | 'RE' | 'RE+TE' = 'TE', feeder = 'F1'): Promise<TestHem> {
  const reg = new RegistryClient({ url: registryUrl, adminToken, operator: 'resilience-test' });
  const meterKey = generateKeyPair();
  const pseudonym = generateKeyPair();
  await reg.enroll({ meterId, serial: `SN-${meterId}`, meterType: 'test', publicKey: meterKey.address, feeder, programme });
  const cert = await reg.requestCertificate(meterKey, meterId, pseudonym.address);
  const { genesisHash: chain } = await reg.chain();
  return { meterId, meterKey, pseudonym, feeder, cert, chain };
}

export function loginHem(url: string, h: TestHem): Promise<MqttClient> {
  return connectWithLogin({ url, meterId: h.meterId, key: h.meterKey, persistent: false });
}

/** [HEM-CERT] the certificate on chain: a tx wrapping a certificate envelope, both signed by the pseudonym. */
export function certificateTx(h: TestHem): Buffer {
  const inner = signEnvelope(h.pseudonym, 'certificate', h.cert, { chain: h.chain });
  return encode(signEnvelope(h.pseudonym, 'tx', { tx: inner as unknown as Envelope<'tx'>['parameters']['tx'] }));
}

export function bid(h: TestHem, auctionId: string, side: 'buy' | 'sell', energyWh: number, priceMcPerKWh: number): Buffer {
  const params = {
    auctionId, address: h.pseudonym.address, cpf: 0.5, feeder: h.feeder,
    bid: { type: side === 'buy' ? 'sell' : 'buy', energy: { unit: 'Wh', value: energyWh }, price: { unit: 'millicents/kWh', value: priceMcPerKWh } },
  } as BidOffer;
  return encode(signEnvelope(h.pseudonym, 'bid-offer', params, { chain: h.chain }));
}

/** Blocks seen over MQTT (tmi/v1/chain/blocks): height → the transactions' operations and auction ids. */
export interface SeenBlock {
  height: number;
  hash?: string;
  slot: number;
  producer: string;
  at: number;
  txs: { operation: string; auctionId?: string; reqId: string }[];
}

export function watchBlocks(client: MqttClient, into: SeenBlock[]): void {
  client.on('message', (topic, payload) => {
    if (topic !== 'tmi/v1/chain/blocks') return;
    try {
      const env = JSON.parse(payload.toString('utf8')) as {
        operation: string;
        parameters: { header: { height: number; slot: number; producer: string }; txs: { operation: string; reqId: string; parameters: { auctionId?: string } }[] };
      };
      if (env.operation !== 'block') return;
      const h = env.parameters.header;
      into.push({
        height: h.height, slot: h.slot, producer: h.producer, at: Date.now(),
        txs: env.parameters.txs.map((t) => ({ operation: t.operation, reqId: t.reqId, ...(t.parameters.auctionId ? { auctionId: t.parameters.auctionId } : {}) })),
      });
    } catch {
      /* not ours to judge */
    }
  });
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, stepMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`TIMEOUT waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
