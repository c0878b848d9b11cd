/**
 * Resilience [NODE-fin] [FIN-F] [FC-J] [FC-2]: a network split.
 *
 * Real processes on loopback (poe-chain/testkit/finalityCluster.ts): two brokers in this
 * process joined by a bridge (an admin client on each side that forwards tmi/v1/chain/# both
 * ways) that the test cuts and heals; nothing crosses while it is cut. Side A: the
 * aggregator's node and V1 … V4 (5 of the committee of 7: a quorum); side B: V5 and V6
 * (2 of 7). An observer node on each side; readings on both brokers, a transfer every 500 ms
 * on side A. S = 250 ms, W = 2, an interval (epoch) of 5 s.
 *
 *   split  side A goes on finalising (a block produced after the cut is final on all of A);
 *          side B goes on producing its own branch (V5 after the silent slots of V1 … V4) but
 *          nothing produced after the cut is ever final on B: its final checkpoint stays on
 *          the blocks it had before the cut.
 *   heal   every node converges on side A's chain (the later justification [FC-J]), B's nodes
 *          reorganise without going below their final block [FC-2], and a block produced after
 *          the heal is final on every node.
 * Safety, over every `final` line of every process and every observer event: never two final
 * hashes at one height, each node's final height never goes back, and every final block is on
 * the converged chain at the end (no final block reverted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { epochOfSlot } from '../../core/genesis.js';
import { allFinals, finalConflicts, finalHeightOf, firstBlockAfter, slotTimeOf, startCluster, waitUntil, type Cluster, type ClusterNode, type Observer } from '../../testkit/finalityCluster.js';

test('[FIN-F] network split: the majority side finalises, the minority stops finalising, after healing one chain and no final block reverted', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-finality-split-'));
  let c: Cluster | undefined;
  const diag: string[] = [];
  try {
    const sideB = new Set(['V5', 'V6']);
    c = await startCluster({ dir, validators: 6, slotMs: 250, patience: 2, intervalMs: 5000, split: { sideOf: (name) => (sideB.has(name) ? 1 : 0) }, ...(process.env.TMI_TEST_LOG_DIR ? { logDir: process.env.TMI_TEST_LOG_DIR } : {}) });
    const cl = c;
    const bridge = cl.bridge!;
    const [obA, obB] = cl.observers as [Observer, Observer];
    const A = cl.nodes.filter((n) => n.side === 0);
    const B = cl.nodes.filter((n) => n.side === 1);
    await cl.rankingInForce();
    const committee = () => obA.node.state().sections.committees.get(String(epochOfSlot(cl.g, obA.node.head().slot))) ?? [];
    await waitUntil('a committee of 7', () => committee().length === 7, 15_000, 50);
    cl.load(500);

    const finalOn = (ob: Observer) => ob.node.finality().final.height;
    /** a block produced after `since` on observer `side`'s chain, final there and on `nodes` */
    const finalisesAfter = async (what: string, since: number, side: number, nodes: readonly ClusterNode[], obs: readonly Observer[], timeoutMs = 30_000) => {
      let b: Awaited<ReturnType<typeof firstBlockAfter>>;
      await waitUntil(`${what}: a block produced after the mark`, async () => (b = await firstBlockAfter(cl, since, side)) !== undefined, timeoutMs, 50);
      const h = b!.height;
      await waitUntil(`${what}: height ${h} final on ${[...nodes.map((n) => n.name), ...obs.map((o) => `observer-${o.side}`)].join(', ')}`, () =>
        obs.every((o) => finalOn(o) >= h) && nodes.every((n) => finalHeightOf(n) >= h), timeoutMs, 50);
      return { block: b!, ms: Date.now() - since };
    };
    const r0 = await finalisesAfter('joined', Date.now(), 0, cl.nodes, cl.observers);
    diag.push(`joined: height ${r0.block.height} final on all 7 processes and both observers ${r0.ms} ms after a mark`);

    // ── the split ────────────────────────────────────────────────────────────
    const cut = Date.now();
    bridge.up = false;
    const bHeadAtCut = obB.node.head().height;
    const bFinalAtCut = Math.max(finalOn(obB), ...B.map(finalHeightOf));
    const rA = await finalisesAfter('side A during the split', cut, 0, A, [obA]);
    await waitUntil('side B produces its own blocks (3 after the cut)', () => obB.blocks.filter((b) => slotTimeOf(cl, b.block.parameters.header.slot) > cut && b.height > bHeadAtCut).length >= 3 && obB.node.head().height >= bHeadAtCut + 3, 90_000, 50);
    // side A has finalised past everything side B had at the cut
    await waitUntil('side A final beyond side B\'s head at the cut', () => finalOn(obA) > obB.node.head().height || finalOn(obA) > bHeadAtCut + 3, 30_000, 50);
    const heal = Date.now();
    const slotOf = new Map<string, number>();
    for (const ob of cl.observers) for (const b of ob.blocks) slotOf.set(b.hash, b.block.parameters.header.slot);
    const bProducers = new Set(obB.blocks.filter((b) => slotTimeOf(cl, b.block.parameters.header.slot) > cut).map((b) => cl.nameOf(b.block.parameters.header.producer)));
    // the minority stops finalising: nothing it holds final was produced after the cut
    const bFinals = allFinals(cl).filter((f) => (f.who === 'observer-1' || sideB.has(f.who)) && f.t > cut);
    const bLate = bFinals.filter((f) => slotTimeOf(cl, slotOf.get(f.hash) ?? Number.MAX_SAFE_INTEGER) > cut);
    assert.deepEqual(bLate, [], 'side B finalised nothing produced after the cut');
    const bFinalAtHeal = Math.max(finalOn(obB), ...B.map(finalHeightOf));
    const aFinalAtHeal = finalOn(obA);
    diag.push(`split for ${heal - cut} ms (bridge dropped ${bridge.dropped} messages): side A final ${r0.block.height} → ${aFinalAtHeal} (a block produced after the cut final on A ${rA.ms} ms after it); ` +
      `side B head ${bHeadAtCut} → ${obB.node.head().height} (producers ${[...bProducers].join(', ')}), final ${bFinalAtCut} at the cut → ${bFinalAtHeal} at the heal (only blocks from before the cut)`);

    // ── heal ─────────────────────────────────────────────────────────────────
    bridge.up = true;
    const aHeadAtHeal = obA.node.head().height;
    const onA = async (height: number, hash: string | undefined) => hash !== undefined && (await obA.store.hashAt(height)) === hash;
    await waitUntil('every node on side A\'s chain', async () => {
      for (const n of cl.nodes) if (!n.head || n.head.height < aHeadAtHeal || !(await onA(n.head.height, n.heads.get(n.head.height)))) return false;
      const hb = obB.node.head();
      return hb.height >= aHeadAtHeal && (await onA(hb.height, hb.hash));
    }, 60_000, 50);
    const convergedMs = Date.now() - heal;
    const rH = await finalisesAfter('healed', heal, 0, cl.nodes, cl.observers, 60_000);
    diag.push(`healed: every node on side A's chain ${convergedMs} ms after the heal (reorgs: ${B.map((n) => `${n.name} ${n.reorgs}`).join(', ')}, ${A.map((n) => `${n.name} ${n.reorgs}`).join(', ')}); ` +
      `height ${rH.block.height}, produced after the heal, final on all 7 processes and both observers ${rH.ms} ms after it`);

    // ── safety over every final recorded ─────────────────────────────────────
    cl.load(0);
    const finals = allFinals(cl);
    assert.deepEqual(finalConflicts(finals), [], 'never two final hashes at one height');
    for (const n of cl.nodes) for (let i = 1; i < n.finals.length; i++) assert.ok(n.finals[i]!.height >= n.finals[i - 1]!.height, `${n.name}: final height never goes back`);
    for (const ob of cl.observers) for (let i = 1; i < ob.finals.length; i++) assert.ok(ob.finals[i]!.height >= ob.finals[i - 1]!.height, `observer-${ob.side}: final height never goes back`);
    const top = finalOn(obA);
    let checked = 0;
    for (const f of finals) {
      if (f.height > top) continue;
      assert.equal(await obA.store.hashAt(f.height), f.hash, `${f.who}: its final block at height ${f.height} is on the converged chain`);
      checked++;
    }
    diag.push(`${finals.length} final checkpoints (${cl.nodes.map((n) => `${n.name} ${n.finals.length}`).join(', ')}, observers ${obA.finals.length} / ${obB.finals.length}): one hash per height, none reverted (${checked} on the converged chain up to ${top}); bridge forwarded ${bridge.forwarded}`);
    for (const d of diag) t.diagnostic(d);
  } catch (err) {
    for (const d of diag) t.diagnostic(d);
    if (c) for (const n of c.nodes) t.diagnostic(`${n.name} last lines: ${n.lines.slice(-5).join(' | ')}`);
    throw err;
  } finally {
    const exits = await c?.stop();
    await rm(dir, { recursive: true, force: true });
    for (const e of exits ?? []) assert.equal(e.code, 0, `${e.name} exits 0 on SIGTERM`);
  }
});
