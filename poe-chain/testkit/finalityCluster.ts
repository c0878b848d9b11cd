/**
 * A cluster of real chain-node processes for the finality gadget's process tests and its
 * bench (poe-chain/test/node/finality*.resilience.test.ts, bench/finality.ts):
 *
 *   - the real broker in this process (`createTmiBroker`, memory directory), or two of them
 *     joined by a bridge that this process can cut and heal (a network split: each side
 *     keeps its broker, nothing crosses while cut — no buffering);
 *   - the aggregator's node (`agg`) and n validator nodes V1 … Vn as `tmi chain run`
 *     processes (chainNodeMain.js), each validator logged in with its meter key and
 *     producing with its pseudonym (certified in the directory and, on chain, by a
 *     certificate this process signs with the genesis registry key);
 *   - an observer chain node in this process on each broker (no production, no vote: it
 *     counts the votes it receives, so its `final` events are an observer's view);
 *   - the readings that rank the validators: every interval, |P − C| = 100·i for Vi, so
 *     the ranking is V1, V2, … Vn and the committee of an epoch is its first committeeSize
 *     validators + the aggregator's node.
 *
 * Each process's pino lines on stderr are read: `chain node started`, `head` (info for the
 * blocks it produced, debug for the others), `final` (its final checkpoint, info), `vote
 * equivocation: submitting evidence`, `reorg`, `block rejected`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MemoryLevel } from 'memory-level';
import mqtt, { type MqttClient } from 'mqtt';
import { createTmiBroker, type TmiBroker } from '../../broker/createTmiBroker.js';
import { createMemoryDirectory, type MemoryDirectory } from '../../broker/meterDirectory.js';
import { signCertificate } from '../../csm-registry/certificate.js';
import type { GenesisConfig } from '../../schemas/types.js';
import { signEnvelope } from '../../wire/codec.js';
import { writeKeyFile } from '../../wire/keyFile.js';
import type { KeyPair } from '../../wire/keys.js';
import { makeLoginToken } from '../../wire/loginToken.js';
import { epochAt, epochStart, parseGenesis, type Genesis } from '../core/genesis.js';
import { createChainNode, type ChainNode, type FinalEvent, type NodeBlockEvent } from '../node/createChainNode.js';
import { openChainStore, type ChainStore } from '../store/openChainStore.js';
import { periodEnd, testGenesisConfig, testKey, testTag } from './chainFixture.js';

const MAIN = fileURLToPath(new URL('../node/chainNodeMain.js', import.meta.url));

export interface FinalLine {
  round: number;
  height: number;
  hash: string;
  /** the process's clock when it logged it (pino `time`) */
  t: number;
}

export interface HeadLine {
  height: number;
  hash: string;
  slot: number;
  source: string;
  producer?: string;
  t: number;
}

export interface ClusterNode {
  name: string;
  meterId: string;
  key: KeyPair;
  /** index of the broker it is connected to */
  side: number;
  args: string[];
  child?: ChildProcess;
  exit?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  started: boolean;
  launches: number;
  head?: HeadLine;
  /** the last hash it logged for each height (a reorg overwrites) */
  heads: Map<number, string>;
  /** the blocks it produced: hash → time of its `head` line */
  produced: Map<string, HeadLine>;
  finals: FinalLine[];
  evidence: { voter: string; why: string; t: number }[];
  reorgs: number;
  rejected: { hash?: string; code?: string }[];
  lines: string[];
}

export interface Observer {
  side: number;
  node: ChainNode;
  store: ChainStore;
  client: MqttClient;
  finals: FinalEvent[];
  blocks: NodeBlockEvent[];
  evidence: { voter: string; why: string; at: number }[];
}

export interface ClusterOptions {
  dir: string;
  validators: number;
  slotMs?: number;
  patience?: number;
  intervalMs?: number;
  committeeSize?: number;
  /** two brokers joined by a cuttable bridge; `sideOf(name)` puts a node on broker 0 or 1 */
  split?: { sideOf: (name: string) => 0 | 1 };
  /** node names started with --no-vote */
  noVote?: ReadonlySet<string>;
  logLevel?: 'debug' | 'info';
  /** extra `tmi chain run` flags for every node */
  extraArgs?: string[];
  /** record every vote seen on tmi/v1/chain/votes of broker 0 (Cluster.votes) */
  recordVotes?: boolean;
  /** node flags for every process (before the script), e.g. --cpu-prof */
  nodeArgs?: string[];
  /** also append every process's stderr to <logDir>/<name>.log (for a failure's post-mortem) */
  logDir?: string;
}

/** a vote as seen on the broker */
export interface SeenVote {
  at: number;
  voter: string;
  source: { round: number; height: number; hash: string };
  target: { round: number; height: number; hash: string };
}

export interface Bridge {
  up: boolean;
  forwarded: number;
  dropped: number;
}

export interface Cluster {
  g: Genesis;
  config: GenesisConfig;
  agg: ClusterNode;
  validators: ClusterNode[];
  nodes: ClusterNode[];
  observers: Observer[];
  bridge?: Bridge;
  /** the validators' pseudonym keys, V[i] = V(i+1) */
  V: KeyPair[];
  /** with recordVotes: every vote seen on broker 0, in arrival order */
  votes: SeenVote[];
  /** wraps a transaction in a `tx` and publishes it on tmi/v1/chain/txs of broker `side` */
  publishTx(tx: object, side?: number): Promise<void>;
  /** publishes a signed envelope as it is on a topic of broker `side` (relayed by an admin login: the signature is the envelope's) */
  publish(topic: string, env: object, side?: number): Promise<void>;
  /** a transfer every `everyMs` from the funded wallet (0: stop) */
  load(everyMs: number): void;
  launch(n: ClusterNode): void;
  waitStarted(nodes: readonly ClusterNode[], timeoutMs?: number): Promise<void>;
  kill(n: ClusterNode, signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** until the ranking is V1 … Vn on every observer */
  rankingInForce(timeoutMs?: number): Promise<void>;
  nameOf(address: string): string;
  /** the node's CPU time (user + system, seconds) from /proc */
  cpuSeconds(n: ClusterNode): Promise<number>;
  stop(): Promise<{ name: string; code: number | null; signal: NodeJS.Signals | null }[]>;
}

export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 20): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`TIMEOUT waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function login(url: string, meterId: string, key: KeyPair): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId: meterId, username: meterId, password: makeLoginToken(key, meterId), reconnectPeriod: 0 });
}

function parseLine(n: ClusterNode, line: string): void {
  n.lines.push(line);
  if (n.lines.length > 500) n.lines.shift();
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  const t = typeof j.time === 'number' ? j.time : Date.now();
  switch (j.msg) {
    case 'chain node started':
      n.started = true;
      return;
    case 'head': {
      if (typeof j.height !== 'number' || typeof j.hash !== 'string') return;
      const h: HeadLine = { height: j.height, hash: j.hash, slot: Number(j.slot), source: String(j.source), t, ...(typeof j.producer === 'string' ? { producer: j.producer } : {}) };
      n.head = h;
      n.heads.set(h.height, h.hash);
      if (h.source === 'produced') n.produced.set(h.hash, h);
      return;
    }
    case 'final':
      if (typeof j.height === 'number' && typeof j.hash === 'string') n.finals.push({ round: Number(j.round), height: j.height, hash: j.hash, t });
      return;
    case 'vote equivocation: submitting evidence':
      n.evidence.push({ voter: String(j.voter), why: String(j.why), t });
      return;
    case 'reorg':
      n.reorgs++;
      return;
    case 'block rejected':
      n.rejected.push({ ...(typeof j.hash === 'string' ? { hash: j.hash } : {}), ...(typeof j.code === 'string' ? { code: j.code } : {}) });
      return;
    default:
  }
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const S = o.slotMs ?? 250;
  const W = o.patience ?? 2;
  const I = o.intervalMs ?? 5000;
  const sides = o.split ? 2 : 1;
  const registry = testKey('registry');
  const aggKey = testKey('aggregator-node');
  const admin = testKey('finality-admin');
  const funded = testKey('finality-funded');
  const V = Array.from({ length: o.validators }, (_, i) => testKey(`finality-validator-${i + 1}`));
  const M = Array.from({ length: o.validators }, (_, i) => testKey(`finality-meter-${i + 1}`));
  const config = testGenesisConfig({
    slotMs: S,
    patience: W,
    intervalMs: I,
    readingRetentionIntervals: 4,
    settleGraceMs: 2 * I,
    genesisTime: new Date(Math.floor(Date.now() / I) * I).toISOString(),
    balances: [{ address: funded.address, millicents: 1_000_000_000_000 }],
    ...(o.committeeSize !== undefined ? { committeeSize: o.committeeSize } : {}),
  });
  const g = parseGenesis(config);
  const genesisFile = join(o.dir, 'genesis.json');
  if (o.logDir !== undefined) await mkdir(o.logDir, { recursive: true });
  await writeFile(genesisFile, JSON.stringify(config));

  // ── brokers ────────────────────────────────────────────────────────────────
  const directories: MemoryDirectory[] = [];
  const brokers: TmiBroker[] = [];
  for (let i = 0; i < sides; i++) {
    const d = createMemoryDirectory();
    d.enroll({ meterId: 'agg-node', publicKey: aggKey.address, role: 'node' });
    d.enroll({ meterId: 'admin', publicKey: admin.address, role: 'admin' });
    d.enroll({ meterId: 'bridge', publicKey: admin.address, role: 'admin' });
    for (let s = 0; s < sides; s++) d.enroll({ meterId: `observer-${s}`, publicKey: testKey(`finality-observer-${s}`).address, role: 'node' });
    for (let v = 0; v < o.validators; v++) {
      d.enroll({ meterId: `hem-${v + 1}`, publicKey: M[v]!.address, role: 'hem' });
      d.certify(`hem-${v + 1}`, V[v]!.address);
    }
    directories.push(d);
    brokers.push(await createTmiBroker({ directory: d, listeners: { mqtt: { port: 0 } }, verifyThreads: 0 }));
  }
  const urls = brokers.map((b) => `mqtt://127.0.0.1:${b.ports.mqtt}`);
  const admins = await Promise.all(urls.map((u) => login(u, 'admin', admin)));

  // ── the bridge ─────────────────────────────────────────────────────────────
  let bridge: Bridge | undefined;
  const bridgeClients: MqttClient[] = [];
  if (sides === 2) {
    const b: Bridge = { up: true, forwarded: 0, dropped: 0 };
    bridge = b;
    for (const u of urls) bridgeClients.push(await login(u, 'bridge', admin));
    // what the bridge published on each side comes back to it there: not forwarded again
    const echo = [new Map<string, number>(), new Map<string, number>()];
    bridgeClients.forEach((c, i) => {
      c.on('message', (topic, payload, packet) => {
        const digest = createHash('sha256').update(topic).update('\0').update(payload).digest('base64');
        const mine = echo[i]!.get(digest);
        if (mine !== undefined) {
          if (mine <= 1) echo[i]!.delete(digest);
          else echo[i]!.set(digest, mine - 1);
          return;
        }
        if (!b.up) {
          b.dropped++;
          return;
        }
        const j = 1 - i;
        const back = echo[j]!;
        if (back.size > 100_000) back.clear();
        back.set(digest, (back.get(digest) ?? 0) + 1);
        b.forwarded++;
        void bridgeClients[j]!.publishAsync(topic, payload, { qos: packet.qos === 0 ? 0 : 1 }).catch(() => undefined);
      });
    });
    for (const c of bridgeClients) await c.subscribeAsync('tmi/v1/chain/#', { qos: 1 });
  }

  // ── nodes ──────────────────────────────────────────────────────────────────
  await writeKeyFile(join(o.dir, 'agg-node.json'), aggKey);
  const level = o.logLevel ?? 'debug';
  const mk = (name: string, meterId: string, key: KeyPair, extra: string[]): ClusterNode => {
    const side = o.split ? o.split.sideOf(name) : 0;
    return {
      name, meterId, key, side,
      args: ['--genesis', genesisFile, '--broker', urls[side]!, '--produce', '--serve-sync', '--log-level', level, ...(o.noVote?.has(name) ? ['--no-vote'] : []), ...(o.extraArgs ?? []), ...extra],
      started: false, launches: 0, heads: new Map(), produced: new Map(), finals: [], evidence: [], reorgs: 0, rejected: [], lines: [],
    };
  };
  const agg = mk('agg', 'agg-node', aggKey, ['--data', join(o.dir, 'agg'), '--key', join(o.dir, 'agg-node.json'), '--meter-id', 'agg-node']);
  const validators: ClusterNode[] = [];
  for (let i = 0; i < o.validators; i++) {
    await writeKeyFile(join(o.dir, `v${i + 1}.json`), V[i]!);
    await writeKeyFile(join(o.dir, `m${i + 1}.json`), M[i]!);
    validators.push(mk(`V${i + 1}`, `hem-${i + 1}`, V[i]!, ['--data', join(o.dir, `v${i + 1}`), '--key', join(o.dir, `v${i + 1}.json`), '--login-key', join(o.dir, `m${i + 1}.json`), '--meter-id', `hem-${i + 1}`]));
  }
  const nodes = [agg, ...validators];

  function launch(n: ClusterNode): void {
    n.started = false;
    n.launches++;
    const child = spawn(process.execPath, [...(o.nodeArgs ?? []), MAIN, ...n.args], { stdio: ['ignore', 'ignore', 'pipe'] });
    n.child = child;
    n.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const file = o.logDir !== undefined ? createWriteStream(join(o.logDir, `${n.name}.log`), { flags: 'a' }) : undefined;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      parseLine(n, line);
      file?.write(`${line}\n`);
    }).on('close', () => file?.end());
  }
  async function waitStarted(list: readonly ClusterNode[], timeoutMs = 30_000): Promise<void> {
    await waitUntil(`${list.map((n) => n.name).join(', ')} started`, () => list.every((n) => n.started), timeoutMs);
  }

  // ── observers ──────────────────────────────────────────────────────────────
  const observers: Observer[] = [];
  for (let s = 0; s < sides; s++) {
    const key = testKey(`finality-observer-${s}`);
    const client = await login(urls[s]!, `observer-${s}`, key);
    const store = await openChainStore(new MemoryLevel<string, string>(), { genesis: config });
    const node = await createChainNode({ genesis: g, key, store, mqtt: client, nodeId: `observer-${s}`, sync: { timeoutMs: 1000, retries: 1 } });
    const ob: Observer = { side: s, node, store, client, finals: [], blocks: [], evidence: [] };
    node.on('final', (e) => ob.finals.push(e));
    node.on('block', (b) => ob.blocks.push(b));
    node.on('voteEvidence', (e) => ob.evidence.push({ voter: e.voter, why: e.why, at: Date.now() }));
    observers.push(ob);
  }

  for (const n of nodes) launch(n);
  // a test process that dies (a timeout, SIGTERM) takes its node processes with it
  const reap = (): void => {
    for (const n of nodes) if (n.child && n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
  };
  process.once('exit', reap);
  const timers: NodeJS.Timeout[] = [];
  let loadTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const votes: SeenVote[] = [];
  if (o.recordVotes === true) {
    admins[0]!.on('message', (topic, payload) => {
      if (topic !== 'tmi/v1/chain/votes') return;
      try {
        const v = JSON.parse(payload.toString('utf8')) as { clientId: string; parameters: { source: SeenVote['source']; target: SeenVote['target'] } };
        votes.push({ at: Date.now(), voter: v.clientId, source: v.parameters.source, target: v.parameters.target });
      } catch {
        /* not ours to judge */
      }
    });
    await admins[0]!.subscribeAsync('tmi/v1/chain/votes', { qos: 1 });
  }

  const publishTx = async (tx: object, side = 0): Promise<void> => {
    await admins[side]!.publishAsync('tmi/v1/chain/txs', JSON.stringify(signEnvelope(admin, 'tx', { tx: tx as never })), { qos: 1 });
  };

  try {
    await waitStarted(nodes);
    // the registry certifies the pseudonyms (RE / RE+TE) on chain
    for (let i = 0; i < o.validators; i++) {
      const cert = signCertificate({ address: V[i]!.address, validFrom: config.genesisTime, validTo: new Date(periodEnd(g.genesisTimeMs)).toISOString(), feeder: 'F1', programme: i % 2 === 0 ? 'RE' : 'RE+TE', tag: testTag(V[i]!.address) }, registry);
      await publishTx(signEnvelope(registry, 'certificate', cert, { chain: g.hash }));
    }
    await waitUntil('certificates on chain', () => observers.every((ob) => V.every((v) => ob.node.state().sections.certs.has(v.address))), 20_000);
  } catch (err) {
    for (const n of nodes) n.child?.kill('SIGKILL');
    throw err;
  }

  // readings: |P − C| = 100·i → ranking V1, V2, …; posted on every broker just after each interval
  const postReadings = async (interval: number): Promise<void> => {
    for (let i = 0; i < o.validators; i++) {
      const v = V[i]!;
      const reading = JSON.stringify(signEnvelope(v, 'meter-reading', {
        address: v.address,
        interval: { start: new Date(epochStart(g, interval)).toISOString(), end: new Date(epochStart(g, interval + 1)).toISOString() },
        seq: interval + 1, producedWh: 1000 + 100 * (i + 1), consumedWh: 1000, chargedWh: 0, dischargedWh: 0, socPermille: 500,
      }, { chain: g.hash }));
      for (const a of admins) await a.publishAsync('tmi/v1/readings', reading, { qos: 1 }).catch(() => undefined);
    }
  };
  const readingLoop = (): void => {
    if (stopped) return;
    const next = epochAt(g, Date.now()) + 1;
    const tm = setTimeout(() => {
      void postReadings(next - 1);
      readingLoop();
    }, epochStart(g, next) - Date.now() + 30);
    timers.push(tm);
    if (timers.length > 100) timers.splice(0, timers.length - 10);
  };
  readingLoop();

  let transfers = 0;
  const cluster: Cluster = {
    g, config, agg, validators, nodes, observers, V, votes,
    ...(bridge !== undefined ? { bridge } : {}),
    publishTx,
    async publish(topic, env, side = 0) {
      await admins[side]!.publishAsync(topic, JSON.stringify(env), { qos: 1 });
    },
    load(everyMs) {
      if (loadTimer !== undefined) clearInterval(loadTimer);
      loadTimer = undefined;
      if (everyMs <= 0) return;
      loadTimer = setInterval(() => {
        void publishTx(signEnvelope(funded, 'transfer', { to: testKey(`finality-payee-${transfers++ % 50}`).address, amountMillicents: 1 }, { chain: g.hash })).catch(() => undefined);
      }, everyMs);
    },
    launch,
    waitStarted,
    async kill(n, signal = 'SIGKILL') {
      n.child!.kill(signal);
      return n.exit!;
    },
    async rankingInForce(timeoutMs = 8 * I + 20_000) {
      const want = V.map((v) => v.address).join(',');
      await waitUntil('ranking V1 … Vn in force', () => observers.every((ob) => ob.node.state().meta.ranking.join(',') === want), timeoutMs, 50);
    },
    nameOf(address) {
      if (address === aggKey.address) return 'agg';
      const i = V.findIndex((v) => v.address === address);
      return i >= 0 ? `V${i + 1}` : address.slice(0, 8);
    },
    async cpuSeconds(n) {
      const stat = await readFile(`/proc/${n.child!.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields after the name: state is [0]; utime [11], stime [12] (clock ticks, 100 per s on Linux)
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async stop() {
      stopped = true;
      cluster.load(0);
      for (const tm of timers) clearTimeout(tm);
      const exits = await Promise.all(nodes.filter((n) => n.child && n.child.exitCode === null && n.child.signalCode === null).map(async (n) => {
        n.child!.kill('SIGTERM');
        const killer = setTimeout(() => n.child!.kill('SIGKILL'), 20_000);
        const r = await n.exit!;
        clearTimeout(killer);
        return { name: n.name, ...r };
      }));
      for (const ob of observers) {
        await ob.node.close().catch(() => undefined);
        await ob.client.endAsync(true).catch(() => undefined);
        await ob.store.close().catch(() => undefined);
      }
      for (const c of [...admins, ...bridgeClients]) await c.endAsync(true).catch(() => undefined);
      for (const b of brokers) await b.close().catch(() => undefined);
      process.off('exit', reap);
      return exits;
    },
  };
  return cluster;
}

/**
 * [FIN] agreement over every final event recorded (processes' `final` lines and the
 * observers' events): for each height, the hashes nodes called final there. A height with
 * two hashes is a safety failure.
 */
export function finalConflicts(records: { who: string; height: number; hash: string }[]): { height: number; hashes: Map<string, string[]> }[] {
  const byHeight = new Map<number, Map<string, string[]>>();
  for (const r of records) {
    const m = byHeight.get(r.height) ?? new Map<string, string[]>();
    m.set(r.hash, [...(m.get(r.hash) ?? []), r.who]);
    byHeight.set(r.height, m);
  }
  return [...byHeight.entries()].filter(([, m]) => m.size > 1).map(([height, hashes]) => ({ height, hashes }));
}

/** every final checkpoint recorded so far: processes' `final` lines and observers' events */
export function allFinals(c: Cluster): { who: string; height: number; hash: string; t: number }[] {
  const out: { who: string; height: number; hash: string; t: number }[] = [];
  for (const n of c.nodes) for (const f of n.finals) out.push({ who: n.name, height: f.height, hash: f.hash, t: f.t });
  for (const ob of c.observers) for (const f of ob.finals) out.push({ who: `observer-${ob.side}`, height: f.height, hash: f.hash, t: f.at });
  return out;
}

/** the height of a process's final checkpoint (its last `final` line; 0 before any) */
export function finalHeightOf(n: ClusterNode): number {
  return n.finals.at(-1)?.height ?? 0;
}

/**
 * The first block on observer `side`'s canonical chain whose slot starts after `t` (so it
 * was produced after t), or undefined.
 */
export async function firstBlockAfter(c: Cluster, t: number, side = 0): Promise<{ height: number; hash: string; slot: number; producer: string } | undefined> {
  const ob = c.observers[side]!;
  const seen = new Map<number, NodeBlockEvent>();
  for (const b of ob.blocks) seen.set(b.height, b);
  for (const [height, b] of [...seen.entries()].sort((x, y) => x[0] - y[0])) {
    const slot = b.block.parameters.header.slot;
    if (slotTimeOf(c, slot) <= t || height > ob.node.head().height) continue;
    if ((await ob.store.hashAt(height)) !== b.hash) continue;
    return { height, hash: b.hash, slot, producer: b.block.parameters.header.producer };
  }
  return undefined;
}

export function slotTimeOf(c: Cluster, slot: number): number {
  return c.g.genesisTimeMs + slot * c.g.slotMs;
}
