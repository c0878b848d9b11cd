/**
 * A deterministic simulation of a chain network (README "Simulation"): N real chain nodes
 * (createChainNode with the real core and the real level store over memory-level) in one
 * process, on a virtual clock (simClock.ts) and an in-process MQTT network (simNetwork.ts),
 * with everything random drawn from one integer seed (simRandom.ts): message delays,
 * drops, duplicates and reordering, partitions and their healing, disconnections, crashes
 * and restarts from the node's own store (simDisk.ts), clock skew, timer lateness, and a
 * byzantine validator that signs two blocks for one slot.
 *
 *   scenario   makeScenario(seed): the nodes, the network, the faults and the workload
 *   run        faults for `faultMs`, then heal everything (recover) and wait for the honest
 *              nodes to agree on a head (≤ settleMs) and for every admitted transaction
 *              to be on that chain (≤ drainMs)
 *   checks     after every step (one timer, deferred task or message): the invariants of
 *              simInvariants.ts; the first violation ends the run with the step and the
 *              simulated time, and `--seed S` replays it exactly
 */
import { createHash } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { pino, type Logger } from 'pino';
import { signEnvelope } from '../../wire/codec.js';
import { canonicalBytes } from '../../wire/canonicalJson.js';
import { signBytes, type KeyPair } from '../../wire/keys.js';
import type { Certificate, GenesisConfig } from '../../schemas/types.js';
import { buildBlock } from '../core/buildBlock.js';
import { createGenesisState, stateRoot, type ChainState } from '../core/chainState.js';
import { epochStart, parseGenesis, slotTime, type Genesis } from '../core/genesis.js';
import { txId as txIdOf } from '../core/txId.js';
import { createChainNode, type ChainNode, type NodeBlockEvent, type ReorgEvent } from '../node/createChainNode.js';
import { NODE_TOPICS } from '../node/nodeTopics.js';
import { openChainStore, type ChainStore } from '../store/openChainStore.js';
import { periodEnd, testGenesisConfig, testKey, testTag } from '../testkit/chainFixture.js';
import { SimClock, type SimOwner } from './simClock.js';
import { SimDisk } from './simDisk.js';
import { FinalityCheck, headsAgree, lostTxVerdict, moneyViolation, type FinalBlock, type Holding, type Violation } from './simInvariants.js';
import { SimNetwork, type NetworkCounters, type NetworkModel, type SimMqttClient } from './simNetwork.js';
import { SimRandom } from './simRandom.js';

// ── what a run is made of ─────────────────────────────────────────────────────

/** Which faults a scenario may draw, and how large. */
export interface FaultProfile {
  partitions: boolean;
  /** longest partition, ms */
  maxPartitionMs: number;
  crashes: boolean;
  /** longest a crashed node stays down, ms */
  maxDownMs: number;
  disconnects: boolean;
  byzantine: boolean;
  /** message loss and duplication (drawn per seed, up to 5 %) */
  lossy: boolean;
  /** largest clock skew of a node, ms (either way) */
  maxSkewMs: number;
}

export const DEFAULT_PROFILE: Readonly<FaultProfile> = {
  partitions: true,
  maxPartitionMs: 15_000,
  crashes: true,
  maxDownMs: 15_000,
  disconnects: true,
  byzantine: true,
  lossy: true,
  maxSkewMs: 100,
};

export interface SimOptions {
  seed: number;
  /** validators besides the aggregator's node (default 2–4, from the seed) */
  validators?: number;
  /** simulated ms of faults and workload (default 60 s) */
  faultMs?: number;
  /** after the faults: bound for the honest nodes to agree on a head (default 30 s) */
  settleMs?: number;
  /** then: bound for every admitted transaction to be on that chain (default 40 s: four epochs) */
  drainMs?: number;
  profile?: Partial<FaultProfile>;
  /**
   * which nodes answer sync requests: as deployed ('archive', default: the aggregator's node
   * everyone's, each validator the aggregator's node's alone [SYNC-A]), the aggregator's node
   * alone ('aggregator', as deployed before [SYNC-A]) or every node everyone's ('all')
   */
  serveSync?: 'archive' | 'aggregator' | 'all';
  /** node logs at or above this level go to stderr with the simulated time (default none) */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** a transaction stranded in the mempools of nodes that never produce fails the run (counted otherwise; fixed by [MP-13] re-gossip) */
  strict?: boolean;
  /** keep the last events (printed for a failing seed) */
  record?: number;
  /** what "final" is for the finality invariant (default finalOf) */
  finalOf?: (n: LiveNode) => Promise<FinalBlock>;
}

/** A live incarnation of a node, as the invariants see it. */
export interface LiveNode {
  name: string;
  node: ChainNode;
  store: ChainStore;
}

/**
 * [SIM-FINAL] The one place that says which block of a node is final: the finality
 * gadget's final checkpoint ([FIN-F], `node.finality().final`), the block that and every
 * ancestor never revert. (Before the gadget: the depth rule, the head's finalizedHeight and
 * the canonical block there — `finalByDepth` below, for comparison runs.)
 */
export async function finalOf(n: LiveNode): Promise<FinalBlock> {
  const f = n.node.finality().final;
  return { height: f.height, hash: f.hash };
}

/** the depth rule's final block: finalityDepth blocks below the head (what [FC-2] was before the gadget) */
export async function finalByDepth(n: LiveNode): Promise<FinalBlock> {
  const height = Math.max(0, n.node.head().height - n.node.genesis.finalityDepth);
  return { height, hash: (await n.store.hashAt(height)) ?? '' };
}

export interface Episode {
  kind: 'partition' | 'crash' | 'disconnect';
  at: number;
  until: number;
  /** crash, disconnect: the node */
  node?: string;
  /** partition: the groups of sites */
  groups?: string[][];
}

export interface Scenario {
  seed: number;
  nodes: { name: string; produce: boolean; serveSync: boolean | 'archive'; journal: boolean; skewMs: number }[];
  network: NetworkModel;
  /** the byzantine validator and the chance it signs a second block for a slot it produced */
  byzantine?: { node: string; rate: number };
  /** mean ms between transfers */
  txMeanMs: number;
  episodes: Episode[];
  faultMs: number;
  settleMs: number;
  drainMs: number;
}

export interface SimStats {
  validators: number;
  height: number;
  blocks: { produced: number; imported: number };
  reorgs: number;
  deepestReorg: number;
  evidence: number;
  equivocations: number;
  /** the byzantine validator is recorded as an equivocator on the converged chain */
  byzantineSlashed?: boolean;
  crashes: number;
  partitions: number;
  disconnects: number;
  network: NetworkCounters;
  tx: { submitted: number; admitted: number; refused: Record<string, number>; onChain: number; lostExcused: Record<string, number>; stranded: number };
  readings: { published: number };
  convergedAfterMs?: number;
  drainedAfterMs?: number;
  maxFinal: number;
  /** the chain's own proof at the end: the highest meta.finalized height on an honest live node's head state */
  provenFinal: number;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  violation?: Violation & { step: number; atMs: number };
  steps: number;
  /** simulated ms from genesis to the end of the run */
  simulatedMs: number;
  wallMs: number;
  /** CPU time of the process during the run (user + system; the machine's other load does not count) */
  cpuMs: number;
  /** SHA-256 over every event of the run: equal for two runs of one seed */
  traceHash: string;
  heads: { node: string; height: number; hash: string; stateRoot: string }[];
  stats: SimStats;
  scenario: Scenario;
  /** the last events (with `record`) */
  events?: string[];
}

// ── the chain under simulation ────────────────────────────────────────────────

const SLOT_MS = 250;
const INTERVAL_MS = 10_000;
const USERS = 6;
const USER_FUNDS = 1_000_000_000;
const WARMUP_MS = 3_000;
/**
 * A snapshot every 16 blocks, 4 kept (production: 64 and 2): the same store, a cache that
 * costs less to replay from at each restart and reorg (those replays took two thirds of a
 * run's CPU). The 64 blocks covered still reach below any fork that [FC-2] allows (32).
 */
const SNAPSHOTS = { snapshotEvery: 16, keepSnapshots: 4 };

const registry = testKey('registry');
const aggregator = testKey('aggregator');
const aggregatorNode = testKey('aggregator-node');
const validatorKey = (i: number) => testKey(`sim/validator-${i}`);
const userKeys = Array.from({ length: 6 }, (_, i) => testKey(`sim/user-${i}`));
const userKey = (i: number) => userKeys[i]!;

/**
 * S = 250 ms and W = 8 (the defaults), epochs of 10 s so that validators are ranked within
 * the run (readings of interval e − 2 rank epoch e), finality depth 32 (the default).
 */
export function simGenesisConfig(): GenesisConfig {
  return testGenesisConfig({
    chainId: 'tmi-sim',
    slotMs: SLOT_MS,
    patience: 8,
    intervalMs: INTERVAL_MS,
    settleGraceMs: 2 * INTERVAL_MS,
    readingRetentionIntervals: 6,
    balances: [
      { address: aggregator.address, millicents: 1_000_000_000 },
      ...Array.from({ length: USERS }, (_, i) => ({ address: userKey(i).address, millicents: USER_FUNDS })),
    ],
  });
}

/** The whole scenario of a seed, drawn before the run. */
export function makeScenario(o: SimOptions): Scenario {
  const rng = new SimRandom(o.seed).fork('scenario');
  const p: FaultProfile = { ...DEFAULT_PROFILE, ...o.profile };
  const faultMs = o.faultMs ?? 60_000;
  const validators = o.validators ?? rng.int(2, 4);
  const names = ['agg', ...Array.from({ length: validators }, (_, i) => `v${i + 1}`)];
  const nodes = names.map((name) => ({
    name,
    produce: true,
    // as deployed: the aggregator's node serves sync and keeps a journal; a HEM's chain node
    // answers the aggregator's node alone and keeps no journal (hem/hemChain.ts)
    serveSync: name === 'agg' || o.serveSync === 'all' ? true : (o.serveSync ?? 'archive') === 'archive' ? 'archive' as const : false,
    journal: name === 'agg',
    skewMs: p.maxSkewMs > 0 ? rng.int(-p.maxSkewMs, p.maxSkewMs) : 0,
  }));
  const network: NetworkModel = {
    minDelayMs: rng.int(1, 20),
    meanExtraMs: rng.int(0, 80),
    maxDelayMs: rng.int(50, 500),
    dropRate: p.lossy && rng.chance(0.5) ? rng.float() * 0.05 : 0,
    dupRate: p.lossy && rng.chance(0.5) ? rng.float() * 0.05 : 0,
    reorder: rng.chance(0.5),
  };
  const byzantine = p.byzantine && validators >= 2 && rng.chance(0.4) ? { node: rng.pick(names.slice(1)), rate: 0.1 + rng.float() * 0.4 } : undefined;
  const episodes: Episode[] = [];
  const t0 = WARMUP_MS;
  if (p.partitions) {
    let t = t0 + rng.exp(8_000);
    while (t < faultMs) {
      const until = Math.min(faultMs, t + rng.int(500, p.maxPartitionMs));
      const k = names.length >= 4 && rng.chance(0.25) ? 3 : 2;
      let side: number[];
      do side = names.map(() => rng.int(0, k - 1));
      while (new Set(side).size < 2);
      const groups = Array.from({ length: k }, (_, g) => names.filter((_, i) => side[i] === g)).filter((g) => g.length > 0);
      episodes.push({ kind: 'partition', at: t, until, groups });
      t = until + rng.exp(10_000);
    }
  }
  for (const name of names) {
    if (!p.crashes && !p.disconnects) break;
    let t = t0 + rng.exp(20_000);
    while (t < faultMs) {
      const crash = p.crashes && (!p.disconnects || rng.chance(0.5));
      const until = Math.min(faultMs, t + (crash ? rng.int(200, p.maxDownMs) : rng.int(100, 3_000)));
      episodes.push({ kind: crash ? 'crash' : 'disconnect', at: t, until, node: name });
      t = until + rng.exp(20_000);
    }
  }
  episodes.sort((a, b) => a.at - b.at);
  return {
    seed: o.seed,
    nodes,
    network,
    ...(byzantine ? { byzantine } : {}),
    txMeanMs: rng.int(100, 800),
    episodes,
    faultMs,
    settleMs: o.settleMs ?? 30_000,
    drainMs: o.drainMs ?? 40_000,
  };
}

// ── one node across its incarnations ──────────────────────────────────────────

interface SimNode {
  readonly name: string;
  readonly key: KeyPair;
  readonly disk: SimDisk;
  readonly cfg: Scenario['nodes'][number];
  readonly honest: boolean;
  incarnation: number;
  owner: SimOwner;
  client?: SimMqttClient;
  live?: LiveNode;
  up: boolean;
  disconnected: boolean;
  reqs: number;
  /** the head the invariants last looked at */
  checkedHead?: string;
  /** [SIM-NO-LOSS] the txId the simulator is submitting (its 'pending' event is a submit) */
  submitting?: string;
  /** the byzantine node's recent states, to build a second block on a parent */
  states: Map<string, ChainState>;
  readingSeq: number;
}

interface TrackedTx {
  id: string;
  env: object;
  /** latest admission per honest node */
  holdings: Map<string, Holding>;
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

class Simulation {
  readonly clock: SimClock;
  readonly net: SimNetwork;
  readonly config = simGenesisConfig();
  readonly g: Genesis = parseGenesis(this.config);
  readonly nodes: SimNode[];
  private readonly honest: SimNode[];
  private readonly rngNet: SimRandom;
  private readonly rngWork: SimRandom;
  private readonly rngTimers: SimRandom;
  private readonly rngByz: SimRandom;
  private readonly hash = createHash('sha256');
  private readonly events: string[] = [];
  private readonly finality = new FinalityCheck();
  private readonly moneyChecked = new Set<string>();
  private readonly tracked = new Map<string, TrackedTx>();
  private readonly txsOfBlock = new Map<string, readonly string[]>();
  private violation: SimResult['violation'];
  private step = 0;
  private faultsOn = true;
  private txs = 0;
  readonly stats: SimStats;
  private readonly finalOfNode: (n: LiveNode) => Promise<FinalBlock>;

  constructor(readonly sc: Scenario, private readonly o: SimOptions) {
    const root = new SimRandom(sc.seed);
    this.rngNet = root.fork('network');
    this.rngWork = root.fork('workload');
    this.rngTimers = root.fork('timers');
    this.rngByz = root.fork('byzantine');
    this.clock = new SimClock(this.g.genesisTimeMs);
    this.net = new SimNetwork(this.clock, this.rngNet, sc.network, (line, payload) => this.trace(line, payload));
    this.nodes = sc.nodes.map((cfg, i) => ({
      name: cfg.name,
      key: i === 0 ? aggregatorNode : validatorKey(i),
      disk: new SimDisk(),
      cfg,
      honest: sc.byzantine?.node !== cfg.name,
      incarnation: 0,
      owner: { name: cfg.name, alive: false },
      up: false,
      disconnected: false,
      reqs: 0,
      states: new Map(),
      readingSeq: 0,
    }));
    this.honest = this.nodes.filter((n) => n.honest);
    this.finalOfNode = o.finalOf ?? finalOf;
    this.stats = {
      validators: this.nodes.length - 1,
      height: 0,
      blocks: { produced: 0, imported: 0 },
      reorgs: 0,
      deepestReorg: 0,
      evidence: 0,
      equivocations: 0,
      crashes: 0,
      partitions: 0,
      disconnects: 0,
      network: this.net.counters,
      tx: { submitted: 0, admitted: 0, refused: {}, onChain: 0, lostExcused: {}, stranded: 0 },
      readings: { published: 0 },
      maxFinal: 0,
      provenFinal: 0,
    };
  }

  private elapsed(): number {
    return this.clock.now() - this.g.genesisTimeMs;
  }

  private trace(line: string, payload?: Buffer): void {
    const l = `${this.elapsed()} ${line}`;
    this.hash.update(l);
    this.hash.update('\n');
    if (payload) this.hash.update(payload);
    if (this.o.record) {
      this.events.push(l);
      if (this.events.length > 2 * this.o.record) this.events.splice(0, this.events.length - this.o.record);
    }
  }

  private fail(v: Violation): void {
    if (this.violation) return;
    this.violation = { ...v, step: this.step, atMs: this.elapsed() };
    this.trace(`VIOLATION ${v.invariant} ${v.detail}`);
  }

  // ── nodes ───────────────────────────────────────────────────────────────────

  private logger(n: SimNode, owner: SimOwner): Logger {
    return pino(
      { level: this.o.logLevel ?? 'error', base: { node: owner.name }, timestamp: () => `,"t":${this.elapsed()}` },
      {
        write: (line: string) => {
          const lvl = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
          if (this.o.logLevel) process.stderr.write(line);
          // an error a running honest node logs is a failure of the node (there is no I/O to fail here)
          if (lvl >= 50 && n.honest && owner.alive) this.fail({ invariant: 'node-error', detail: `node=${n.name} ${line.trim()}` });
        },
      },
    );
  }

  private start(n: SimNode): void {
    n.incarnation++;
    n.owner = { name: `${n.name}#${n.incarnation}`, alive: true };
    const owner = n.owner;
    const client = this.net.connect(n.name, n.name, owner);
    n.client = client;
    n.disconnected = false;
    n.reqs = 0;
    const inc = n.incarnation;
    const db = n.disk.open();
    this.trace(`start ${n.name}#${inc}`);
    void (async () => {
      const store = await openChainStore(db, { ...(inc === 1 ? { genesis: this.config } : {}), ...SNAPSHOTS });
      const node = await createChainNode({
        genesis: this.g,
        key: n.key,
        store,
        mqtt: client as unknown as MqttClient,
        nodeId: n.name,
        produce: n.cfg.produce,
        serveSync: n.cfg.serveSync,
        journal: n.cfg.journal,
        now: () => this.clock.now() + n.cfg.skewMs,
        log: this.logger(n, owner),
        scheduler: this.clock.schedulerFor(owner, () => (this.rngTimers.chance(0.3) ? this.rngTimers.int(1, 4) : 0)),
        reqIds: () => `sim-${n.name}-${inc}-${String(n.reqs++).padStart(8, '0')}`,
      });
      if (!owner.alive) return;
      n.live = { name: n.name, node, store };
      n.up = true;
      n.checkedHead = undefined;
      this.watch(n, node, owner);
      this.trace(`up ${n.name}#${inc} head=${node.head().height}`);
    })().catch((err: unknown) => {
      if (owner.alive) this.fail({ invariant: 'node-error', detail: `node=${n.name} start failed: ${(err as Error).stack ?? String(err)}` });
    });
  }

  private watch(n: SimNode, node: ChainNode, owner: SimOwner): void {
    node.on('block', (e: NodeBlockEvent) => {
      if (!owner.alive) return;
      this.txsOfBlock.set(e.hash, e.txIds);
      const m = e.state.meta;
      this.trace(`head ${n.name} ${e.height} ${e.hash.slice(0, 16)} ${e.source} txs=${e.txIds.length} justified=${m.justified.round} finalized=${m.finalized.round}`);
      if (e.source === 'produced') this.stats.blocks.produced++;
      else this.stats.blocks.imported++;
      this.stats.height = Math.max(this.stats.height, e.height);
      if (!n.honest) this.equivocate(n, e);
    });
    node.on('pending', (e) => {
      if (!owner.alive || !n.honest) return;
      const t = this.tracked.get(e.txId);
      if (!t) return;
      t.holdings.set(n.name, { node: n.name, journal: n.cfg.journal, via: n.submitting === e.txId ? 'submit' : 'gossip', at: this.elapsed(), crashedAfter: false });
    });
    node.on('reorg', (e: ReorgEvent) => {
      if (!owner.alive) return;
      this.stats.reorgs++;
      this.stats.deepestReorg = Math.max(this.stats.deepestReorg, e.from.height - e.forkHeight);
      this.trace(`reorg ${n.name} ${e.from.height}>${e.to.height} fork=${e.forkHeight}`);
      // [MP-10] what the orphaned blocks held came back to the mempool just now: not journaled
      for (const b of e.orphaned) {
        for (const id of this.txsOfBlock.get(b) ?? []) {
          const h = this.tracked.get(id)?.holdings.get(n.name);
          if (h && h.at === this.elapsed()) h.via = 'readd';
        }
      }
    });
    node.on('final', (f) => {
      if (owner.alive) this.trace(`finalized ${n.name} ${f.height} ${f.hash.slice(0, 16)} round=${f.round}`);
    });
    node.on('evidence', (e) => {
      if (!owner.alive) return;
      this.stats.evidence++;
      this.trace(`evidence ${n.name} producer=${e.a.header.producer.slice(0, 8)} slot=${e.a.header.slot}`);
    });
  }

  private crash(n: SimNode): void {
    if (!n.up && !n.live) return;
    this.stats.crashes++;
    n.owner.alive = false;
    n.disk.crash();
    this.net.kill(n.name);
    n.up = false;
    n.live = undefined;
    n.client = undefined;
    for (const t of this.tracked.values()) {
      const h = t.holdings.get(n.name);
      if (h) h.crashedAfter = true;
    }
    this.trace(`crash ${n.name}#${n.incarnation}`);
  }

  // ── faults ──────────────────────────────────────────────────────────────────

  private schedule(): void {
    for (const ep of this.sc.episodes) {
      this.clock.at(this.g.genesisTimeMs + ep.at, `fault ${ep.kind}`, () => {
        if (!this.faultsOn) return;
        const n = this.nodes.find((x) => x.name === ep.node);
        switch (ep.kind) {
          case 'partition':
            this.stats.partitions++;
            this.net.partition(ep.groups!);
            break;
          case 'crash':
            if (n?.up) this.crash(n);
            break;
          case 'disconnect':
            if (n?.up && n.client) {
              this.stats.disconnects++;
              n.disconnected = true;
              this.net.disconnect(n.name);
            }
            break;
        }
      });
      this.clock.at(this.g.genesisTimeMs + ep.until, `heal ${ep.kind}`, () => {
        if (!this.faultsOn) return;
        const n = this.nodes.find((x) => x.name === ep.node);
        if (ep.kind === 'partition') this.net.heal();
        else if (ep.kind === 'crash' && n && !n.up && !n.owner.alive) this.start(n);
        else if (ep.kind === 'disconnect' && n?.disconnected) {
          n.disconnected = false;
          this.net.reconnect(n.name);
        }
      });
    }
    this.clock.at(this.g.genesisTimeMs + this.sc.faultMs, 'recover', () => this.recover());
  }

  /** the faults stop: the network heals, every node runs and is connected, the byzantine node behaves */
  private recover(): void {
    this.faultsOn = false;
    this.net.heal();
    for (const n of this.nodes) {
      if (!n.owner.alive) this.start(n);
      else if (n.disconnected) {
        n.disconnected = false;
        this.net.reconnect(n.name);
      }
    }
    this.trace('recover');
  }

  /**
   * The byzantine validator: for some blocks it produces, a second block for the same slot
   * and parent (a registry-signed certificate of a fresh key makes it differ), published
   * like the first.
   */
  private equivocate(n: SimNode, e: NodeBlockEvent): void {
    n.states.set(e.hash, e.state);
    if (n.states.size > 32) n.states.delete(n.states.keys().next().value!);
    if (e.source !== 'produced' || !this.faultsOn || !n.client) return;
    if (!this.rngByz.chance(this.sc.byzantine!.rate)) return;
    const h = e.block.parameters.header;
    const parent = h.height === 1 ? createGenesisState(this.g) : n.states.get(h.parent);
    if (!parent) return;
    const time = slotTime(this.g, h.slot);
    const fresh = testKey(`sim/filler/${this.sc.seed}/${h.slot}`);
    const unsigned = { address: fresh.address, validFrom: new Date(time).toISOString(), validTo: new Date(periodEnd(time, this.g.certPeriodMs)).toISOString(), feeder: 'F1', programme: 'TE', tag: testTag(fresh.address) };
    const cert = { ...unsigned, registrySignature: signBytes(registry, canonicalBytes(unsigned)).toString('base64') } as Certificate;
    const filler = signEnvelope(registry, 'certificate', cert, { date: new Date(time).toISOString(), chain: this.g.hash, reqId: `sim-filler-${String(h.slot).padStart(10, '0')}` });
    let twin;
    try {
      twin = buildBlock(parent, [filler], n.key, h.slot, time);
    } catch {
      return;
    }
    if (twin.hash === e.hash) return;
    this.stats.equivocations++;
    this.trace(`equivocate ${n.name} slot=${h.slot} ${e.hash.slice(0, 16)}/${twin.hash.slice(0, 16)}`);
    n.client.publish(NODE_TOPICS.blocks, JSON.stringify(twin.block), { qos: 1 });
  }

  // ── workload ────────────────────────────────────────────────────────────────

  private scheduleWorkload(): void {
    const g0 = this.g.genesisTimeMs;
    // the validators' certificates (RE+TE, one meter each), through the aggregator's node
    this.clock.at(g0 + 300, 'certificates', () => {
      for (const n of this.nodes.slice(1)) {
        const unsigned = { address: n.key.address, validFrom: this.config.genesisTime, validTo: new Date(periodEnd(this.g.genesisTimeMs, this.g.certPeriodMs)).toISOString(), feeder: 'F1', programme: 'RE+TE', tag: testTag(`sim/meter/${n.name}`) };
        const cert = { ...unsigned, registrySignature: signBytes(registry, canonicalBytes(unsigned)).toString('base64') } as Certificate;
        this.submit(signEnvelope(registry, 'certificate', cert, { date: new Date(this.clock.now()).toISOString(), chain: this.g.hash, reqId: `sim-cert-${n.name.padStart(10, '0')}` }), this.nodes[0]!);
      }
    });
    // every interval, for the whole run, each validator's HEM publishes its reading of the interval that ended
    const readings = (e: number) => {
      for (const n of this.nodes.slice(1)) {
        this.clock.at(epochStart(this.g, e + 1) + this.rngWork.int(50, 1500), 'reading', () => {
          if (!n.up || !n.client) return;
          const env = signEnvelope(n.key, 'meter-reading', {
            address: n.key.address,
            interval: { start: new Date(epochStart(this.g, e)).toISOString(), end: new Date(epochStart(this.g, e + 1)).toISOString() },
            seq: ++n.readingSeq,
            producedWh: this.rngWork.int(0, 3000),
            consumedWh: this.rngWork.int(0, 3000),
            chargedWh: 0,
            dischargedWh: 0,
            socPermille: 500,
          }, { date: new Date(this.clock.now()).toISOString(), chain: this.g.hash, reqId: `sim-reading-${n.name}-${String(e).padStart(6, '0')}` });
          this.stats.readings.published++;
          n.client.publish(NODE_TOPICS.readings, JSON.stringify(env), { qos: 1 });
        });
      }
      // the HEMs go on after the faults (a validator without readings leaves the ranking)
      this.clock.at(epochStart(this.g, e + 1), 'readings', () => readings(e + 1));
    };
    readings(0);
    // a steady stream of transfers between the users, each through a running honest node
    const next = () => {
      const at = this.clock.now() + this.rngWork.exp(this.sc.txMeanMs);
      if (at >= g0 + this.sc.faultMs) return;
      this.clock.at(at, 'transfer', () => {
        const from = this.rngWork.int(0, USERS - 1);
        const to = (from + this.rngWork.int(1, USERS - 1)) % USERS;
        const amount = this.rngWork.int(1, 5000);
        const up = this.honest.filter((n) => n.up);
        if (up.length > 0) {
          const via = this.rngWork.pick(up);
          const env = signEnvelope(userKey(from), 'transfer', { to: userKey(to).address, amountMillicents: amount }, { date: new Date(this.clock.now()).toISOString(), chain: this.g.hash, reqId: `sim-tx-${String(this.txs++).padStart(10, '0')}` });
          this.submit(env, via);
        }
        next();
      });
    };
    this.clock.at(g0 + 2_000, 'transfers', next);
  }

  /** [SIM-NO-LOSS] a transaction through a node's submit; what it was told is recorded */
  private submit(env: object, n: SimNode): void {
    const live = n.live;
    if (!live) return;
    const id = txIdOf(env);
    this.stats.tx.submitted++;
    this.tracked.set(id, this.tracked.get(id) ?? { id, env, holdings: new Map() });
    n.submitting = id;
    live.node
      .submit(env)
      .then((r) => {
        this.trace(`submit ${n.name} ${id.slice(0, 16)} ${r.status}${r.code ? ` ${r.code}` : ''}`);
        if (r.status === 'admitted') this.stats.tx.admitted++;
        else {
          this.stats.tx.refused[r.code ?? r.status] = (this.stats.tx.refused[r.code ?? r.status] ?? 0) + 1;
          if (this.tracked.get(id)?.holdings.size === 0) this.tracked.delete(id);
        }
      })
      .catch((err: unknown) => this.fail({ invariant: 'node-error', detail: `node=${n.name} submit failed: ${(err as Error).message}` }))
      .finally(() => {
        if (n.submitting === id) n.submitting = undefined;
      });
  }

  // ── checks ──────────────────────────────────────────────────────────────────

  /** the invariants that hold at every step: [SIM-FINAL] [SIM-MONEY] */
  private async check(): Promise<void> {
    for (const n of this.honest) {
      const live = n.live;
      if (!n.up || !live) continue;
      const info = live.node.head();
      if (info.hash === n.checkedHead) continue;
      n.checkedHead = info.hash;
      if (!this.moneyChecked.has(info.hash)) {
        this.moneyChecked.add(info.hash);
        const v = moneyViolation(live.node.state());
        if (v) return this.fail(v);
      }
      const fin = await this.finalOfNode(live);
      const v = await this.finality.observe(n.name, fin, info.height, (h) => live.store.hashAt(h));
      if (v) return this.fail(v);
    }
  }

  private honestHeads(): { node: string; hash: string; height: number }[] | undefined {
    const heads = [];
    for (const n of this.honest) {
      if (!n.up || !n.live) return undefined;
      const h = n.live.node.head();
      heads.push({ node: n.name, hash: h.hash, height: h.height });
    }
    return heads;
  }

  private converged(): boolean {
    const heads = this.honestHeads();
    return heads !== undefined && headsAgree(heads);
  }

  /** runs tasks until `until` (simulated, absolute), `done`, or a violation */
  private async runUntil(until: number, done?: () => boolean | Promise<boolean>): Promise<boolean> {
    for (;;) {
      // the promise work the last task started runs out, then the invariants are checked
      await settle();
      await this.check();
      if (this.violation) return false;
      if (done && (await done())) return true;
      const task = this.clock.next(until);
      if (!task) return false;
      this.step++;
      try {
        task.fn();
      } catch (err) {
        this.fail({ invariant: 'node-error', detail: `task ${task.label} threw: ${(err as Error).stack ?? String(err)}` });
      }
    }
  }

  async run(): Promise<SimResult> {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    const g0 = this.g.genesisTimeMs;
    for (const n of this.nodes) this.start(n);
    this.scheduleWorkload();
    this.schedule();
    // faults and workload
    await this.runUntil(g0 + this.sc.faultMs);
    // [SIM-CONVERGE] healed: the honest nodes agree on a head within settleMs
    const healedAt = this.clock.now();
    if (!this.violation) {
      const ok = await this.runUntil(healedAt + this.sc.settleMs, () => this.converged());
      if (ok) this.stats.convergedAfterMs = this.clock.now() - healedAt;
      else if (!this.violation) {
        const heads = (this.nodes.map((n) => `${n.name}${n.honest ? '' : '(byzantine)'}=${n.live ? `${n.live.node.head().height}:${n.live.node.head().hash.slice(0, 16)}` : 'down'}`)).join(' ');
        this.fail({ invariant: 'convergence', detail: `no common head ${this.sc.settleMs} ms after the faults stopped: ${heads}` });
      }
    }
    // [SIM-NO-LOSS] then every admitted transaction reaches that chain within drainMs
    if (!this.violation) {
      const drainStart = this.clock.now();
      let missing = [...this.tracked.keys()].filter((id) => this.tracked.get(id)!.holdings.size > 0);
      let lastLook = Number.NEGATIVE_INFINITY;
      const drained = async () => {
        if (this.clock.now() - lastLook < 500 || !this.converged()) return false;
        lastLook = this.clock.now();
        const ref = this.honest[0]!.live!;
        const still: string[] = [];
        for (const id of missing) if ((await ref.store.tx(id)) === undefined) still.push(id);
        missing = still;
        return missing.length === 0;
      };
      const ok = await this.runUntil(drainStart + this.sc.drainMs, drained);
      if (ok) this.stats.drainedAfterMs = this.clock.now() - drainStart;
      // the end: the honest nodes agree again (a block may be in flight), then what is missing is judged
      if (!this.violation && !this.converged()) await this.runUntil(this.clock.now() + this.sc.settleMs, () => this.converged());
      if (!this.violation && !this.converged()) this.fail({ invariant: 'convergence', detail: 'the honest nodes no longer agree at the end of the run' });
      if (!this.violation) {
        const ref = this.honest[0]!.live!;
        for (const id of missing) {
          if ((await ref.store.tx(id)) !== undefined) continue;
          const t = this.tracked.get(id)!;
          // what each honest holder that did not crash says of it now (known = still waiting in its mempool)
          for (const h of t.holdings.values()) {
            const live = this.nodes.find((n) => n.name === h.node)?.live;
            if (!h.crashedAfter && live) h.probe = (await live.node.submit(t.env)).status;
          }
          const verdict = lostTxVerdict(id, false, [...t.holdings.values()]);
          if (!verdict.lost) continue;
          if ('excused' in verdict) this.stats.tx.lostExcused[verdict.excused] = (this.stats.tx.lostExcused[verdict.excused] ?? 0) + 1;
          else if ('known' in verdict) {
            this.stats.tx.stranded++;
            this.trace(`stranded ${verdict.detail}`);
            if (this.o.strict) this.fail({ invariant: 'lost-tx', detail: `stranded ${verdict.detail}` });
          } else this.fail({ invariant: 'lost-tx', detail: verdict.detail });
          if (this.violation) break;
        }
        let on = 0;
        for (const id of this.tracked.keys()) if ((await ref.store.tx(id)) !== undefined) on++;
        this.stats.tx.onChain = on;
      }
    }
    this.stats.maxFinal = this.finality.maxFinal;
    const byz = this.nodes.find((n) => !n.honest);
    const ref = this.honest.find((n) => n.live)?.live;
    if (byz && ref) this.stats.byzantineSlashed = ref.node.state().sections.equivocators.has(byz.key.address);
    for (const n of this.honest) if (n.live) this.stats.provenFinal = Math.max(this.stats.provenFinal, n.live.node.state().meta.finalized.height);
    const heads = this.nodes.filter((n) => n.live).map((n) => {
      const h = n.live!.node.head();
      return { node: n.name, height: h.height, hash: h.hash, stateRoot: stateRoot(n.live!.node.state()) };
    });
    for (const h of heads) this.trace(`final ${h.node} ${h.height} ${h.hash} ${h.stateRoot}`);
    // nothing more runs: the nodes' timers live only on this clock
    for (const n of this.nodes) n.owner.alive = false;
    return {
      seed: this.sc.seed,
      ok: this.violation === undefined,
      ...(this.violation ? { violation: this.violation } : {}),
      steps: this.step,
      simulatedMs: this.elapsed(),
      wallMs: Math.round(performance.now() - wall),
      cpuMs: cpuMsSince(cpu),
      traceHash: this.hash.digest('hex'),
      heads,
      stats: this.stats,
      scenario: this.sc,
      ...(this.o.record ? { events: this.events.slice(-this.o.record) } : {}),
    };
  }
}

/** Runs one seed. */
export async function simulate(o: SimOptions): Promise<SimResult> {
  return new Simulation(makeScenario(o), o).run();
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return Math.round((d.user + d.system) / 1000);
}
