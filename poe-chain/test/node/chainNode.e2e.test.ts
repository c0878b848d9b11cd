/**
 * End to end with real processes on loopback: the real broker (in this process, memory
 * directory), an aggregator node and four validator nodes, each `node chainNodeMain.js`
 * (= `tmi chain run`), plus an in-process observer node. The test acts as the registry
 * (signs certificates with the genesis registry key), as the validators' meters (signs
 * their readings with different |P − C|) and as a transaction source (a transfer every
 * 100 ms, so that blocks come every slot).
 *
 * Chain parameters for speed: S = 100 ms, W = 2 slots, interval (epoch) = 3 s.
 *
 *   1. all nodes reach the same tip hash
 *   2. the producer of epoch e is the validator with the smallest |P − C| of interval e − 2
 *   3. kill -9 of the producer: the next-ranked produces in its window, W + 1 … 2W slots after the parent
 *   4. a node stopped for 100+ blocks catches up on restart
 *   5. blocks with a wrong producer, a forged reading, a wrong state root: rejected by
 *      every honest node, never in any tip
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { createTmiBroker } from '../../../broker/createTmiBroker.js';
import { createMemoryDirectory } from '../../../broker/meterDirectory.js';
import { signCertificate } from '../../../csm-registry/certificate.js';
import { signEnvelope } from '../../../wire/codec.js';
import { writeKeyFile } from '../../../wire/keyFile.js';
import type { KeyPair } from '../../../wire/keys.js';
import { makeLoginToken } from '../../../wire/loginToken.js';
import { producerForSlot } from '../../core/electProducer.js';
import { epochAt, epochOfSlot, epochStart, parseGenesis, slotAt, slotTime } from '../../core/genesis.js';
import { periodEnd, testGenesisConfig, testKey, testTag } from '../../testkit/chainFixture.js';
import type { NodeBlockEvent, RejectedBlockEvent } from '../../node/createChainNode.js';
import { forgeBlock, memoryStore, sleep, startNode, waitFor } from './nodeFixtures.js';

const MAIN = fileURLToPath(new URL('../../node/chainNodeMain.js', import.meta.url));
const S = 100;
const W = 2;
const I = 3000;

interface Proc {
  name: string;
  args: string[];
  child?: ChildProcess;
  exit?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  started: boolean;
  head?: { height: number; hash: string };
  heads: Map<number, string>;
  seenHashes: Set<string>;
  rejected: { hash: string; code: string }[];
  lines: string[];
}

function launch(p: Proc): void {
  p.started = false;
  const child = spawn(process.execPath, [MAIN, ...p.args], { stdio: ['ignore', 'ignore', 'pipe'] });
  p.child = child;
  p.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  createInterface({ input: child.stderr! }).on('line', (line) => {
    p.lines.push(line);
    if (p.lines.length > 400) p.lines.shift();
    let j: { msg?: string; height?: number; hash?: string; code?: string };
    try {
      j = JSON.parse(line) as typeof j;
    } catch {
      return;
    }
    if (j.msg === 'chain node started') p.started = true;
    if (j.msg === 'head' && typeof j.height === 'number' && typeof j.hash === 'string') {
      p.head = { height: j.height, hash: j.hash };
      p.heads.set(j.height, j.hash);
      p.seenHashes.add(j.hash);
    }
    if (j.msg === 'block rejected' && j.hash && j.code) p.rejected.push({ hash: j.hash, code: j.code });
  });
}

async function stopProc(p: Proc, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  p.child!.kill(signal);
  return p.exit!;
}

function login(url: string, meterId: string, key: KeyPair): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId: meterId, username: meterId, password: makeLoginToken(key, meterId), reconnectPeriod: 0 });
}

test('e2e: 1 aggregator node + 4 validator processes: PoE election, kill -9 takeover, catch-up after 100+ blocks, bad blocks rejected', { timeout: 90_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-chain-e2e-'));
  const directory = createMemoryDirectory();
  const broker = await createTmiBroker({ directory, listeners: { mqtt: { port: 0 } } });
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const registry = testKey('registry');
  const aggNode = testKey('aggregator-node');
  const admin = testKey('e2e-admin');
  const funded = testKey('funded');
  const V = [1, 2, 3, 4].map((i) => testKey(`e2e-validator-${i}`)) as [KeyPair, KeyPair, KeyPair, KeyPair];
  const M = [1, 2, 3, 4].map((i) => testKey(`e2e-meter-${i}`));
  const programmes = ['RE', 'RE+TE', 'RE+TE', 'RE'] as const;
  const now0 = Date.now();
  const config = testGenesisConfig({
    slotMs: S,
    patience: W,
    intervalMs: I,
    readingRetentionIntervals: 4,
    settleGraceMs: 2 * I,
    genesisTime: new Date(Math.floor(now0 / I) * I).toISOString(),
    balances: [{ address: funded.address, millicents: 1_000_000_000 }],
  });
  const g = parseGenesis(config);
  const genesisFile = join(dir, 'genesis.json');
  await writeFile(genesisFile, JSON.stringify(config));
  directory.enroll({ meterId: 'agg-node', publicKey: aggNode.address, role: 'node' });
  directory.enroll({ meterId: 'observer', publicKey: testKey('observer').address, role: 'node' });
  directory.enroll({ meterId: 'admin', publicKey: admin.address, role: 'admin' });
  await writeKeyFile(join(dir, 'agg-node.json'), aggNode);
  for (let i = 0; i < 4; i++) {
    directory.enroll({ meterId: `hem-${i + 1}`, publicKey: M[i]!.address, role: 'hem' });
    directory.certify(`hem-${i + 1}`, V[i]!.address);
    await writeKeyFile(join(dir, `v${i + 1}.json`), V[i]!);
    await writeKeyFile(join(dir, `m${i + 1}.json`), M[i]!);
  }
  const common = ['--genesis', genesisFile, '--broker', url, '--produce', '--serve-sync', '--log-level', 'debug'];
  const mk = (name: string, args: string[]): Proc => ({ name, args: [...common, ...args], started: false, heads: new Map(), seenHashes: new Set(), rejected: [], lines: [] });
  const agg = mk('agg-node', ['--data', join(dir, 'agg'), '--key', join(dir, 'agg-node.json'), '--meter-id', 'agg-node']);
  const vals = V.map((_, i) => mk(`hem-${i + 1}`, ['--data', join(dir, `v${i + 1}`), '--key', join(dir, `v${i + 1}.json`), '--login-key', join(dir, `m${i + 1}.json`), '--meter-id', `hem-${i + 1}`]));
  const [v1, v2, v3, v4] = vals as [Proc, Proc, Proc, Proc];
  const procs = [agg, ...vals];

  const pub = await login(url, 'admin', admin);
  const observer = await startNode(url, config, testKey('observer'), 'observer', { store: await memoryStore(config), mqtt: await login(url, 'observer', testKey('observer')) });
  const blocks: NodeBlockEvent[] = [];
  const observerRejected: RejectedBlockEvent[] = [];
  observer.node.on('block', (b) => blocks.push(b));
  observer.node.on('rejected', (r) => observerRejected.push(r));
  const producerOf = (b: NodeBlockEvent) => b.block.parameters.header.producer;
  const canonical = () => {
    // the observer's canonical chain as seen through its events (the last event per height wins)
    const byHeight = new Map<number, NodeBlockEvent>();
    for (const b of blocks) byHeight.set(b.height, b);
    return [...byHeight.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b).filter((b) => b.height <= observer.node.head().height);
  };
  const publishTx = (tx: object) => pub.publishAsync('tmi/v1/chain/txs', JSON.stringify(signEnvelope(admin, 'tx', { tx: tx as never })), { qos: 1 });

  let pumping = true;
  const silent = new Set<string>();
  const timers: NodeJS.Timeout[] = [];
  try {
    for (const p of procs) launch(p);
    await waitFor('all nodes started', () => procs.every((p) => p.started), 20_000);

    // the registry certifies the four pseudonyms (RE / RE+TE)
    for (let i = 0; i < 4; i++) {
      const cert = signCertificate({ address: V[i]!.address, validFrom: config.genesisTime, validTo: new Date(periodEnd(g.genesisTimeMs)).toISOString(), feeder: 'F1', programme: programmes[i]!, tag: testTag(V[i]!.address) }, registry);
      await publishTx(signEnvelope(registry, 'certificate', cert, { chain: g.hash }));
    }
    await waitFor('certificates on chain', () => V.every((v) => observer.node.state().sections.certs.has(v.address)), 10_000);
    const ec = epochAt(g, Date.now());

    // scores |P − C| per interval: interval ec → V2 best; ec+1 → V3 best; later → V2, V3, V1, V4
    const score = (v: number, interval: number): number => {
      if (interval === ec + 1) return [300, 250, 50, 900][v]!;
      return [300, 100, 200, 900][v]!;
    };
    const postReadings = async (interval: number) => {
      for (let i = 0; i < 4; i++) {
        const v = V[i]!;
        if (silent.has(v.address)) continue;
        const reading = signEnvelope(v, 'meter-reading', {
          address: v.address,
          interval: { start: new Date(epochStart(g, interval)).toISOString(), end: new Date(epochStart(g, interval + 1)).toISOString() },
          seq: interval + 1,
          producedWh: 1000 + score(i, interval),
          consumedWh: 1000,
          chargedWh: 0,
          dischargedWh: 0,
          socPermille: 500,
        }, { chain: g.hash });
        await pub.publishAsync('tmi/v1/readings', JSON.stringify(reading), { qos: 1 });
      }
    };
    const readingLoop = () => {
      const next = epochAt(g, Date.now()) + 1; // post interval (next − 1) just after it ends
      const t = setTimeout(() => {
        void postReadings(next - 1);
        readingLoop();
      }, epochStart(g, next) - Date.now() + 30);
      timers.push(t);
    };
    readingLoop();
    // a transfer every 100 ms: a block every slot
    let n = 0;
    const pump = setInterval(() => {
      if (pumping) void publishTx(signEnvelope(funded, 'transfer', { to: testKey(`payee-${n++ % 50}`).address, amountMillicents: 1 }, { chain: g.hash }));
    }, 100);
    timers.push(pump);

    // 4. stop the lowest-ranked validator early; it is restarted after 100+ blocks
    await sleep(300);
    const stopped = await stopProc(v4, 'SIGTERM');
    assert.equal(stopped.code, 0, `SIGTERM closes cleanly: ${v4.lines.slice(-3).join('\n')}`);
    const hStop = v4.head?.height ?? 0;
    const restartV4 = (async () => {
      await waitFor('100+ blocks while hem-4 is down', () => observer.node.head().height >= hStop + 105, 60_000, 50);
      launch(v4);
      await waitFor('hem-4 restarted', () => v4.started, 10_000);
    })();

    // 2. PoE: epoch ec+2 produced by the best of interval ec (V2), epoch ec+3 by the best of ec+1 (V3)
    await waitFor('epoch ec+4 reached', () => epochOfSlot(g, observer.node.head().slot) >= ec + 4, 30_000, 50);
    for (const [epoch, best] of [[ec + 2, V[1]!], [ec + 3, V[2]!]] as const) {
      const inEpoch = canonical().filter((b) => b.block.parameters.header.epoch === epoch);
      assert.ok(inEpoch.length >= 10, `blocks in epoch ${epoch}: ${inEpoch.length}`);
      assert.equal(inEpoch[0]!.state.meta.ranking[0], best.address, `ranking of epoch ${epoch} starts with the smallest |P − C| of interval ${epoch - 2}`);
      const byBest = inEpoch.filter((b) => producerOf(b) === best.address).length;
      assert.ok(byBest >= 0.8 * inEpoch.length, `epoch ${epoch}: ${byBest}/${inEpoch.length} blocks by the best-ranked`);
      t.diagnostic(`epoch ${epoch}: ${byBest}/${inEpoch.length} blocks by the best of interval ${epoch - 2}`);
    }
    assert.deepEqual(canonical().find((b) => b.block.parameters.header.epoch === ec + 4)!.state.meta.ranking.slice(0, 3), [V[1]!.address, V[2]!.address, V[0]!.address]);

    // 3. kill -9 the producer (V2) one second into epoch ec+4; V3 (next-ranked) takes over in its
    // window: slots p + W + 1 … p + 2W after V2's last block at slot p ([POE-7.3]). V3 makes its
    // block at the start of a slot, so it takes the window's first slot whenever V2's last block
    // reached it before then; on a loaded machine that block has arrived 300 ms late (three
    // slots of 100 ms), and V3 took the window's second slot (gap 2W).
    await waitFor('1 s into epoch ec+4', () => Date.now() >= epochStart(g, ec + 4) + 1000, 10_000);
    assert.equal(producerOf(canonical().at(-1)!), V[1]!.address, 'V2 is producing');
    silent.add(V[1]!.address);
    const killedAt = Date.now();
    const killed = await stopProc(v2, 'SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    const cut = observer.node.head().height;
    await waitFor('a block by V3 after the kill', () => canonical().some((b) => b.height > cut && producerOf(b) === V[2]!.address), 10_000);
    const after = canonical().filter((b) => b.height > cut);
    const firstV3 = after.find((b) => producerOf(b) === V[2]!.address)!;
    const parent = canonical().find((b) => b.height === firstV3.height - 1)!;
    const gap = firstV3.block.parameters.header.slot - parent.block.parameters.header.slot;
    assert.ok(gap >= W + 1 && gap <= 2 * W, `takeover in V3's window, W + 1 … 2W = ${W + 1} … ${2 * W} slots after its parent (gap ${gap}; parent slot ${parent.block.parameters.header.slot} sub ${parent.block.parameters.header.sub ?? 0}, killed at slot ${slotAt(g, killedAt)}); V3's last lines:\n${v3.lines.slice(-12).join('\n')}`);
    t.diagnostic(`kill -9: next block by V3 at height ${firstV3.height}, ${gap} slots after its parent, ${firstV3.at - killedAt} ms after the kill`);
    assert.ok(Date.now() - killedAt < 5000);
    // nothing the killed producer made after its death: a block it published just before the kill may still
    // arrive after `cut` was read ([SUB] makes that likelier: it then publishes every tick a transfer waits)
    const killedSlot = slotAt(g, killedAt);
    for (const b of after) {
      if (producerOf(b) === V[1]!.address) assert.ok(b.block.parameters.header.slot <= killedSlot, `nothing from the killed producer after the kill (slot ${b.block.parameters.header.slot} > ${killedSlot})`);
    }

    // 4. the stopped node catches up
    await restartV4;
    await waitFor('hem-4 caught up', () => (v4.head?.height ?? 0) >= hStop + 100 && v4.head!.height >= observer.node.head().height - 2, 20_000, 50);
    // its head and the observer's block at that height agree; the very top may still be
    // settling (a block at the tip replaced by the fork choice), so allow it a few seconds
    let h4 = 0;
    await waitFor('hem-4 on the same chain', async () => {
      h4 = v4.head!.height;
      return v4.heads.get(h4) === (await observer.store.hashAt(h4));
    }, 10_000, 100);
    t.diagnostic(`hem-4 stopped at height ${hStop}, caught up to ${h4}`);

    // 5. bad blocks on the current head H: V4 holds two slots of its window after W·k silent slots.
    // They arrive a few slots later; with V2 down, pausing V3 and V4 leaves at most 2 of the
    // committee voting (the aggregator's node and V1, which goes on producing, so V4 makes no
    // block of its own at those slots), below its quorum whether V2 is still
    // ranked (5 members, quorum 4) or not (4, quorum 3) [FIN-Q], so H is not final when they
    // come (a block whose height is final is ignored unvalidated: it can never be in a chain)
    v3.child!.kill('SIGSTOP');
    v4.child!.kill('SIGSTOP');
    await sleep(4 * S);
    const H = observer.node.state();
    let s = H.meta.tipSlot + 1;
    while (!(producerForSlot(H, s) === V[3]!.address && producerForSlot(H, s + 1) === V[3]!.address)) s++;
    await waitFor(`slot ${s} started`, () => Date.now() >= slotTime(g, s + 1), 10_000);
    const e = epochAt(g, Date.now()) - 1;
    const forgedReading = {
      ...signEnvelope(V[3]!, 'meter-reading', {
        address: V[0]!.address, // V1's reading claiming |P − C| = 0, signed by another key
        interval: { start: new Date(epochStart(g, e)).toISOString(), end: new Date(epochStart(g, e + 1)).toISOString() },
        seq: 1_000_000,
        producedWh: 0,
        consumedWh: 0,
        chargedWh: 0,
        dischargedWh: 0,
        socPermille: 500,
      }, { chain: g.hash }),
      clientId: V[0]!.address,
    };
    const wrongProducer = forgeBlock(H, [], V[0]!, s); // V1 claims V4's slot
    const falseCpf = forgeBlock(H, [forgedReading], V[3]!, s); // the elected producer, with a forged reading
    const wrongRoot = forgeBlock(H, [], V[3]!, s + 1, { stateRoot: '00'.repeat(32) });
    const bad = [
      { ...wrongProducer, code: 'BAD_PRODUCER' },
      { ...falseCpf, code: 'BAD_TX' },
      { ...wrongRoot, code: 'BAD_STATE_ROOT' },
    ];
    for (const b of bad) await pub.publishAsync('tmi/v1/chain/blocks', JSON.stringify(b.block), { qos: 1 });
    const honest = [agg, v1, v3, v4];
    await waitFor('the observer and the running nodes rejected the three bad blocks', () =>
      [agg, v1].every((p) => bad.every((b) => p.rejected.some((r) => r.hash === b.hash && r.code === b.code))) &&
      bad.every((b) => observerRejected.some((r) => r.hash === b.hash && r.code === b.code)), 10_000, 50);
    v3.child!.kill('SIGCONT');
    v4.child!.kill('SIGCONT');
    await waitFor('every honest node rejected the three bad blocks', () =>
      honest.every((p) => bad.every((b) => p.rejected.some((r) => r.hash === b.hash && r.code === b.code))) &&
      bad.every((b) => observerRejected.some((r) => r.hash === b.hash && r.code === b.code)), 10_000, 50);

    // 1. the same tip everywhere, with no bad block in any chain
    pumping = false;
    await sleep(3 * S);
    await waitFor('all live nodes on the same tip', () => {
      const tip = observer.node.head().hash;
      return honest.every((p) => p.head?.hash === tip);
    }, 15_000, 20);
    for (const p of [...honest, v2]) for (const b of bad) assert.equal(p.seenHashes.has(b.hash), false, `${p.name} never had ${b.code} in its chain`);
    for (const b of bad) assert.equal(blocks.some((x) => x.hash === b.hash), false);
    const top = observer.node.head().height;
    for (const p of honest) assert.equal(p.heads.get(top), observer.node.head().hash);
    t.diagnostic(`same tip on all live nodes at height ${top}; bad blocks rejected: ${bad.map((b) => b.code).join(', ')}`);
  } finally {
    pumping = false;
    for (const t of timers) clearTimeout(t);
    v3.child?.kill('SIGCONT'); // paused in step 5
    v4.child?.kill('SIGCONT');
    const exits = await Promise.all(procs.filter((p) => p.child && p.child.exitCode === null && p.child.signalCode === null).map(async (p) => [p.name, await stopProc(p, 'SIGTERM')] as const));
    await observer.stop();
    await pub.endAsync();
    await broker.close();
    await rm(dir, { recursive: true, force: true });
    for (const [name, r] of exits) assert.equal(r.code, 0, `${name} exits 0 on SIGTERM`);
  }
});
