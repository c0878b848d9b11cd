/**
 * Resilience: kill -9 of the elected block producer.
 *
 * The platform in this process (registry, broker, the aggregator's chain node — here the
 * observer: it only produces while no validator is ranked) and four validator chain nodes
 * as real processes (`tmi chain run` = chainNodeMain.js), each logged in with its HEM's
 * meter key and producing with its RE/RE+TE pseudonym, certified by the real registry
 * over HTTP. The test posts the validators' readings (|P − C| fixed, so the ranking is
 * V1, V2, V3, V4) and a transfer every 100 ms, so that a block is due every slot.
 *
 * Chain parameters for speed: S = 100 ms, W = 2 slots, interval (epoch) = 3 s.
 *
 * Six cycles at different points inside a slot: kill -9 V1 (the producer) alone, four
 * times, and V1 with V2 (the next-ranked) together, twice. A kill is placed so that the
 * takeover does not meet the aggregator node's inclusion window at the end of the epoch
 * [CENSOR]; a gap that spans the window may be longer by its inclusionSlots, since in the
 * window only the aggregator's node may produce (and it may pass). In each:
 *   - the next live validator in the ranking produces within W + 1 slots of the last block
 *     (k · W + 1 with k dead producers ahead of it) [POE-7.3]
 *   - the rule itself while they are down (1.5 s): no gap between consecutive blocks longer
 *     than k · W + 1 slots (2W + 1 with two producers down), and the tip never further behind
 *     the clock than that (+1 slot for the block in flight) — not a block count in a window,
 *     which depends on where in the slot grid the window falls
 *   - nothing signed by a killed producer appears after the kill
 *   - the killed nodes restart on their data directories, sync, end on the same chain and
 *     V1 produces again
 * At the end, with the transaction pump stopped: every node's tip is the same block, and
 * no node's last word on any height differs from the canonical chain (no fork survives).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { startPlatform, type Platform } from '../startPlatform.js';
import { connectWithLogin } from '../mqttLogin.js';
import { RegistryClient } from '../../csm-registry/client.js';
import { signEnvelope, encode } from '../../wire/codec.js';
import { generateKeyPair, type KeyPair } from '../../wire/keys.js';
import { writeKeyFile } from '../../wire/keyFile.js';
import { epochAt, epochStart, inInclusionWindow } from '../../poe-chain/core/genesis.js';
import type { NodeBlockEvent, ReorgEvent } from '../../poe-chain/node/createChainNode.js';
import type { Certificate, Envelope } from '../../schemas/types.js';

const MAIN = fileURLToPath(new URL('../../poe-chain/node/chainNodeMain.js', import.meta.url));
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
  /** last hash this node logged for each height (a reorg overwrites) */
  heads: Map<number, string>;
  reorgs: number;
  lines: string[];
}

function launch(p: Proc): void {
  p.started = false;
  const child = spawn(process.execPath, [MAIN, ...p.args], { stdio: ['ignore', 'ignore', 'pipe'] });
  p.child = child;
  p.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  createInterface({ input: child.stderr! }).on('line', (line) => {
    p.lines.push(line);
    if (p.lines.length > 300) p.lines.shift();
    let j: { msg?: string; height?: number; hash?: string };
    try {
      j = JSON.parse(line) as typeof j;
    } catch {
      return;
    }
    if (j.msg === 'chain node started') p.started = true;
    if (j.msg === 'reorg') p.reorgs++;
    if (j.msg === 'head' && typeof j.height === 'number' && typeof j.hash === 'string') {
      p.head = { height: j.height, hash: j.hash };
      p.heads.set(j.height, j.hash);
    }
  });
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 10): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`TIMEOUT waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

test('kill -9 of the elected producer: the next-ranked takes over within W + 1 slots, no fork survives, the killed node rejoins', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-producerkill-'));
  let platform: Platform | undefined;
  const procs: Proc[] = [];
  const timers: NodeJS.Timeout[] = [];
  let admin: MqttClient | undefined;
  try {
    platform = await startPlatform({ dataDir: join(dir, 'platform'), intervalMs: I, slotMs: S, patience: W, withAggregator: false, withAnalytics: false, log: pino({ level: 'silent' }) });
    const p = platform;
    const g = p.genesis;
    const reg = new RegistryClient({ url: p.urls.registry, adminToken: p.adminToken, operator: 'resilience-test' });

    // an admin login relays the meters' signed transactions (tx wrappers on tmi/v1/chain/txs)
    const adminKey = generateKeyPair();
    await reg.enroll({ meterId: 'test-admin', serial: 'SN-admin', meterType: 'test', publicKey: adminKey.address, feeder: 'TMP', programme: 'TE', role: 'admin' });
    admin = await connectWithLogin({ url: p.urls.mqtt, meterId: 'test-admin', key: adminKey, persistent: false });
    const relay = (tx: object) => admin!.publishAsync('tmi/v1/chain/txs', encode(signEnvelope(adminKey, 'tx', { tx: tx as Envelope<'tx'>['parameters']['tx'] })), { qos: 1 });

    // four validators: meter enrolled (RE / RE+TE), pseudonym certified by the registry, node process
    const programmes = ['RE', 'RE+TE', 'RE+TE', 'RE'] as const;
    const V: KeyPair[] = [];
    const certs: Certificate[] = [];
    for (let i = 0; i < 4; i++) {
      const meterKey = generateKeyPair();
      const pseudonym = generateKeyPair();
      await reg.enroll({ meterId: `hem-${i + 1}`, serial: `SN-${i + 1}`, meterType: 'test', publicKey: meterKey.address, feeder: 'F1', programme: programmes[i]! });
      certs.push(await reg.requestCertificate(meterKey, `hem-${i + 1}`, pseudonym.address));
      V.push(pseudonym);
      await writeKeyFile(join(dir, `v${i + 1}.json`), pseudonym);
      await writeKeyFile(join(dir, `m${i + 1}.json`), meterKey);
      procs.push({
        name: `V${i + 1}`,
        args: ['--genesis', p.paths.genesis, '--broker', p.urls.mqtt, '--produce', '--serve-sync', '--log-level', 'debug',
          '--data', join(dir, `v${i + 1}`), '--key', join(dir, `v${i + 1}.json`), '--login-key', join(dir, `m${i + 1}.json`), '--meter-id', `hem-${i + 1}`],
        started: false, heads: new Map(), reorgs: 0, lines: [],
      });
    }
    const name = (addr: string) => `V${V.findIndex((v) => v.address === addr) + 1}`.replace('V0', 'aggregator-node');
    for (const pr of procs) launch(pr);
    await waitFor('4 validator nodes started', () => procs.every((x) => x.started), 20_000);

    // the observer: the platform's own chain node
    const events: NodeBlockEvent[] = [];
    const reorgs: ReorgEvent[] = [];
    p.node.on('block', (b) => events.push(b));
    p.node.on('reorg', (r) => reorgs.push(r));
    const producerOf = (b: NodeBlockEvent) => b.block.parameters.header.producer;
    const canonical = () => {
      const byHeight = new Map<number, NodeBlockEvent>();
      for (const b of events) byHeight.set(b.height, b);
      return [...byHeight.values()].filter((b) => b.height <= p.node.head().height).sort((a, b) => a.height - b.height);
    };

    for (const c of certs) await relay(signEnvelope(V[certs.indexOf(c)]!, 'certificate', c, { chain: g.hash }));
    await waitFor('certificates on chain', () => V.every((v) => p.node.state().sections.certs.has(v.address)), 10_000);

    // readings: |P − C| = 100, 200, 300, 400 → ranking V1, V2, V3, V4 (posted for every validator, dead or alive)
    const postReadings = async (interval: number) => {
      for (let i = 0; i < 4; i++) {
        const v = V[i]!;
        await relay(signEnvelope(v, 'meter-reading', {
          address: v.address,
          interval: { start: new Date(epochStart(g, interval)).toISOString(), end: new Date(epochStart(g, interval + 1)).toISOString() },
          seq: interval + 1, producedWh: 1000 + 100 * (i + 1), consumedWh: 1000, chargedWh: 0, dischargedWh: 0, socPermille: 500,
        }, { chain: g.hash }));
      }
    };
    const readingLoop = () => {
      const next = epochAt(g, Date.now()) + 1;
      timers.push(setTimeout(() => {
        void postReadings(next - 1);
        readingLoop();
      }, epochStart(g, next) - Date.now() + 30));
    };
    readingLoop();
    // a transfer every 100 ms from the aggregator's wallet: a block is due every slot
    let n = 0;
    let pumping = true;
    timers.push(setInterval(() => {
      if (pumping) void relay(signEnvelope(p.keys.aggregator, 'transfer', { to: generateKeyPair().address, amountMillicents: 1 + (n++ % 7) }, { chain: g.hash }));
    }, 100));

    await waitFor('V1 produces (ranking in force)', () => {
      const c = canonical();
      return c.length > 5 && c.slice(-5).every((b) => producerOf(b) === V[0]!.address);
    }, 30_000, 50);
    const ranking = p.node.state().meta.ranking;
    assert.deepEqual(ranking, V.map((v) => v.address), 'ranking V1, V2, V3, V4');
    t.diagnostic(`ranking in force at height ${p.node.head().height}: ${ranking.map(name).join(', ')}`);

    const cycles: { kill: number[]; offsetMs: number }[] = [
      { kill: [0], offsetMs: 10 },
      { kill: [0], offsetMs: 60 },
      { kill: [0, 1], offsetMs: 35 },
      { kill: [0], offsetMs: 90 },
      { kill: [0], offsetMs: 0 },
      { kill: [0, 1], offsetMs: 75 },
    ];
    const results: string[] = [];
    const perEpoch = I / S;
    const spansWindow = (fromSlot: number, toSlot: number) => {
      for (let s = fromSlot + 1; s <= toSlot; s++) if (inInclusionWindow(g, s)) return true;
      return false;
    };
    // the rule's bound for a gap between blocks at slots p < s with k producers dead ahead of the next live one
    const gapBound = (k: number, p: number, s: number) => k * W + 1 + (spansWindow(p, s) ? g.inclusionSlots : 0);
    for (const [ci, cy] of cycles.entries()) {
      // kill at a chosen point inside a slot, with the takeover (k·W + 1 slots) clear of the inclusion window
      let slot = Math.ceil((Date.now() - g.genesisTimeMs) / S);
      const clear = g.inclusionSlots + cy.kill.length * W + 3;
      if (slot % perEpoch >= perEpoch - clear || slot % perEpoch === 0) slot = (Math.floor(slot / perEpoch) + 1) * perEpoch + 1;
      const slotStart = slot * S + g.genesisTimeMs;
      await sleep(slotStart + cy.offsetMs - Date.now());
      const last = canonical().at(-1)!;
      assert.equal(producerOf(last), V[0]!.address, `cycle ${ci + 1}: V1 is the producer before the kill`);
      const killedAt = Date.now();
      const killedNames = cy.kill.map((k) => procs[k]!.name);
      for (const k of cy.kill) procs[k]!.child!.kill('SIGKILL');
      for (const k of cy.kill) assert.equal((await procs[k]!.exit!).signal, 'SIGKILL');
      const cut = p.node.head().height;
      const next = cy.kill.length; // index in the ranking of the first live validator
      await waitFor(`cycle ${ci + 1}: a block by ${procs[next]!.name} after the kill`, () => canonical().some((b) => b.height > cut && producerOf(b) === V[next]!.address), 10_000);
      const chain = canonical();
      const first = chain.find((b) => b.height > cut && producerOf(b) === V[next]!.address)!;
      const parent = chain.find((b) => b.height === first.height - 1)!;
      const gap = first.block.parameters.header.slot - parent.block.parameters.header.slot;
      const bound = cy.kill.length * W + 1;
      const takeoverBound = gapBound(cy.kill.length, parent.block.parameters.header.slot, first.block.parameters.header.slot);
      // on failure, what the observer saw around the takeover, and what the live nodes logged last
      const around = () => [
        `blocks: ${chain.filter((b) => b.height >= cut - 2 && b.height <= first.height).map((b) => `${b.height}@${b.block.parameters.header.slot} by ${name(producerOf(b))}`).join(', ')}`,
        `kill at slot ${Math.floor((killedAt - g.genesisTimeMs) / S)}; observer reorgs ${reorgs.length}`,
        ...procs.filter((x, k) => !cy.kill.includes(k)).map((x) => `${x.name} during the gap: ${x.lines.filter((l) => {
          let t = 0;
          try {
            t = (JSON.parse(l) as { time?: number }).time ?? 0;
          } catch {
            return false; // not a log record
          }
          return t >= g.genesisTimeMs + parent.block.parameters.header.slot * S && t <= g.genesisTimeMs + (first.block.parameters.header.slot + 1) * S;
        }).slice(-15).join(' | ')}`),
      ].join('\n');
      assert.ok(gap <= takeoverBound, `cycle ${ci + 1}: takeover within ${takeoverBound} slots (gap ${gap})\n${around()}`);
      // nothing from a killed producer after the block it was building when killed
      for (const b of chain.filter((x) => x.height > first.height)) {
        assert.ok(!cy.kill.some((k) => producerOf(b) === V[k]!.address), `cycle ${ci + 1}: no block by a killed producer after the takeover`);
      }
      // [POE-7.3] the rule while the killed are down: with k producers dead ahead of the next
      // live one and a block due every slot, no two consecutive blocks are more than k·W + 1
      // slots apart, and the chain's last block is never further behind the current slot
      // (one slot more for the block in flight); no block by a killed producer
      const slotNow = () => Math.floor((Date.now() - g.genesisTimeMs) / S);
      // (a gap or a trail that spans the inclusion window: its inclusionSlots more)
      let worstExcess = -Infinity;
      let worstTrail = 0;
      const watchUntil = Date.now() + 1500;
      while (Date.now() < watchUntil) {
        await sleep(S / 2);
        const tipSlot = canonical().at(-1)!.block.parameters.header.slot;
        const now = slotNow();
        worstTrail = Math.max(worstTrail, now - tipSlot);
        worstExcess = Math.max(worstExcess, now - tipSlot - (gapBound(cy.kill.length, tipSlot, now) + 1));
      }
      const during = canonical().filter((b) => b.height >= parent.height);
      const gaps = during.slice(1).map((b, i) => b.block.parameters.header.slot - during[i]!.block.parameters.header.slot);
      const overBound = during.slice(1).filter((b, i) => {
        const p0 = during[i]!.block.parameters.header.slot;
        return b.block.parameters.header.slot - p0 > gapBound(cy.kill.length, p0, b.block.parameters.header.slot);
      });
      const worstGap = Math.max(...gaps);
      assert.ok(gaps.length >= 2, `cycle ${ci + 1}: the chain went on while the killed are down (${gaps.length} blocks)`);
      assert.equal(overBound.length, 0, `cycle ${ci + 1}: no gap longer than ${bound} slots (+${g.inclusionSlots} across the inclusion window) while ${killedNames.join(' + ')} down (gaps ${gaps.join(',')})`);
      assert.ok(worstExcess <= 0, `cycle ${ci + 1}: the tip never more than ${bound} slots (+1 in flight, +${g.inclusionSlots} across the inclusion window) behind the clock while down (worst ${worstTrail})`);
      assert.ok(!during.slice(1).some((b) => cy.kill.some((k) => producerOf(b) === V[k]!.address)), `cycle ${ci + 1}: no block by a killed producer while down`);
      const byNext = during.slice(1).filter((b) => producerOf(b) === V[next]!.address).length;

      // restart the killed nodes on their data directories: they sync and rejoin; V1 produces again
      const restartAt = Date.now();
      for (const k of cy.kill) launch(procs[k]!);
      await waitFor(`cycle ${ci + 1}: restarted`, () => cy.kill.every((k) => procs[k]!.started), 20_000);
      await waitFor(`cycle ${ci + 1}: V1 produces again`, () => canonical().some((b) => b.at > restartAt && producerOf(b) === V[0]!.address), 20_000, 20);
      const back = canonical().find((b) => b.at > restartAt && producerOf(b) === V[0]!.address)!;
      const hashOf = (h: number) => canonical().find((b) => b.height === h)?.hash;
      await waitFor(`cycle ${ci + 1}: restarted nodes on the observer's chain`, () =>
        cy.kill.every((k) => {
          const h = procs[k]!.head;
          return h !== undefined && h.height >= back.height && h.hash === hashOf(h.height);
        }), 20_000, 20);
      results.push(`cycle ${ci + 1}: kill -9 ${killedNames.join(' + ')} ${cy.offsetMs} ms into a slot; ${procs[next]!.name} produced height ${first.height} ` +
        `${gap} slots after its parent (bound ${bound}), ${first.at - killedAt} ms after the kill; while down: ${gaps.length} blocks (${byNext} by it), ` +
        `largest gap ${worstGap} slots, tip at most ${worstTrail} slots behind the clock; ` +
        `restarted, V1 produced again ${back.at - restartAt} ms after the restart (height ${back.height})`);
    }

    // settle: stop the pump, let the heartbeat run, compare every node's chain with the observer's
    pumping = false;
    await sleep(10 * S);
    const observerHash = (h: number) => canonical().find((b) => b.height === h)?.hash;
    await waitFor('every node on the same tip', () => {
      const tip = p.node.head().hash;
      return procs.every((x) => x.head?.hash === tip);
    }, 20_000, 20);
    const top = p.node.head().height;
    let compared = 0;
    for (const pr of procs) {
      for (const [h, hash] of pr.heads) {
        if (h > top) continue;
        const want = observerHash(h);
        if (want === undefined) continue;
        assert.equal(hash, want, `${pr.name}: its last block at height ${h} is the canonical one`);
        compared++;
      }
    }
    for (const r of results) t.diagnostic(r);
    t.diagnostic(`same tip on all ${procs.length + 1} nodes at height ${top}; ${compared} (node, height) pairs checked against the canonical chain; ` +
      `reorgs: observer ${reorgs.length}, validators ${procs.map((x) => `${x.name} ${x.reorgs}`).join(', ')}`);
  } finally {
    for (const tm of timers) clearTimeout(tm);
    const exits = await Promise.all(procs.filter((x) => x.child && x.child.exitCode === null && x.child.signalCode === null).map(async (x) => {
      x.child!.kill('SIGTERM');
      return [x.name, await x.exit!] as const;
    }));
    await admin?.endAsync(true).catch(() => undefined);
    await platform?.stop();
    await rm(dir, { recursive: true, force: true });
    for (const [nm, r] of exits) assert.equal(r.code, 0, `${nm} exits 0 on SIGTERM`);
  }
});
