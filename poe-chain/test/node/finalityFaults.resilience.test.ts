/**
 * Resilience [NODE-fin] [FIN-Q]: faulty committee members, killed with SIGKILL.
 *
 * Real processes on loopback (poe-chain/testkit/finalityCluster.ts): the broker and an
 * observer node in this process, the aggregator's node and six ranked validators as
 * `tmi chain run` processes; the committee is V1 … V6 + the aggregator's node, n = 7,
 * quorum ⌊2n/3⌋ + 1 = 5, so it tolerates f = n − quorum = 2 silent members (< n/3).
 * A transfer every 500 ms; S = 250 ms, W = 2, an interval (epoch) of 5 s.
 *
 *   1. f = 2 killed (V1, the producer, and V4): blocks still finalise — a block produced
 *      after the kill becomes final on the observer and on every live node.
 *   2. a third killed (V5; 3 of 7 > n/3): blocks are still produced (V2 took over) but none
 *      produced after the kill is ever final anywhere: [FIN-Q] needs 5 votes of a round and 4
 *      voters are left. Checked by the rule (a final block's slot starts before the kill), over
 *      a run that lasts until the chain has grown by 8 blocks.
 *   3. the three restart on their data directories: a block produced after the restart becomes
 *      final on every node, the restarted included.
 * Throughout: no two nodes ever call two different blocks final at one height, and every final
 * block is on the observer's chain at the end (nothing final was reverted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { epochOfSlot } from '../../core/genesis.js';
import { quorum } from '../../core/finality.js';
import { allFinals, finalConflicts, finalHeightOf, firstBlockAfter, slotTimeOf, startCluster, waitUntil, type Cluster, type ClusterNode } from '../../testkit/finalityCluster.js';

test('[FIN-Q] faulty committee members: f = 2 of 7 killed, blocks finalise; 3 of 7 killed, blocks but no finality; restarted, finality resumes', { timeout: 240_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-finality-faults-'));
  let c: Cluster | undefined;
  const diag: string[] = [];
  try {
    c = await startCluster({ dir, validators: 6, slotMs: 250, patience: 2, intervalMs: 5000 });
    const cl = c;
    const ob = cl.observers[0]!;
    const [V1, , , V4, V5] = cl.validators as [ClusterNode, ClusterNode, ClusterNode, ClusterNode, ClusterNode, ClusterNode];
    await cl.rankingInForce();
    const committee = () => ob.node.state().sections.committees.get(String(epochOfSlot(cl.g, ob.node.head().slot))) ?? [];
    await waitUntil('a committee of 7', () => committee().length === 7, 15_000, 50);
    assert.equal(quorum(7), 5);
    cl.load(500);

    /** a block produced after `since` final on the observer and on every node of `nodes` */
    const finalisesAfter = async (what: string, since: number, nodes: readonly ClusterNode[], timeoutMs = 30_000) => {
      let b: Awaited<ReturnType<typeof firstBlockAfter>>;
      await waitUntil(`${what}: a block produced after ${new Date(since).toISOString()}`, async () => (b = await firstBlockAfter(cl, since)) !== undefined, timeoutMs, 50);
      const h = b!.height;
      await waitUntil(`${what}: height ${h} final on the observer and ${nodes.map((n) => n.name).join(', ')}`, () =>
        ob.node.finality().final.height >= h && nodes.every((n) => finalHeightOf(n) >= h), timeoutMs, 50);
      return { block: b!, ms: Date.now() - since, observerFinalMs: (ob.finals.find((f) => f.height >= h)?.at ?? NaN) - slotTimeOf(cl, b!.slot) };
    };
    const t0 = Date.now();
    const before = await finalisesAfter('all 7 live', t0, cl.nodes);
    diag.push(`all 7 live: height ${before.block.height} final on all ${before.ms} ms after a mark, ${before.observerFinalMs} ms after its slot start on the observer`);

    // ── 1. f = 2 killed ──────────────────────────────────────────────────────
    const k1 = Date.now();
    for (const n of [V1, V4]) assert.equal((await cl.kill(n)).signal, 'SIGKILL');
    const live1 = cl.nodes.filter((n) => n !== V1 && n !== V4);
    const r1 = await finalisesAfter('V1 + V4 killed (2 of 7)', k1, live1);
    diag.push(`V1 + V4 killed (2 of 7 < n/3): height ${r1.block.height} (by ${cl.nameOf(r1.block.producer)}), produced after the kill, final on the observer and the 5 live nodes ${r1.ms} ms after the kill`);

    // ── 2. a third killed ────────────────────────────────────────────────────
    const finalAtKill = ob.node.finality().final.height;
    const k2 = Date.now();
    assert.equal((await cl.kill(V5)).signal, 'SIGKILL');
    const live2 = live1.filter((n) => n !== V5);
    const headAtKill = ob.node.head().height;
    await waitUntil('8 more blocks with 3 of 7 down', () => ob.node.head().height >= headAtKill + 8, 60_000, 50);
    const after2 = await firstBlockAfter(cl, k2);
    assert.ok(after2 !== undefined, 'blocks are produced with 3 of 7 down');
    // the rule: nothing whose slot starts after the kill is final anywhere
    const slotOfHash = new Map<string, number>();
    for (const b of ob.blocks) slotOfHash.set(b.hash, b.block.parameters.header.slot);
    const lateFinals = allFinals(cl).filter((f) => f.t > k2 && slotTimeOf(cl, slotOfHash.get(f.hash) ?? -1) > k2);
    assert.deepEqual(lateFinals, [], 'no block produced after the third kill is final on any node');
    const finalAfter = ob.node.finality().final.height;
    const producers2 = new Set(ob.blocks.filter((b) => b.height > headAtKill).map((b) => cl.nameOf(b.block.parameters.header.producer)));
    diag.push(`V5 killed too (3 of 7 > n/3): the chain grew ${headAtKill} → ${ob.node.head().height} in ${Date.now() - k2} ms (producers ${[...producers2].join(', ')}); ` +
      `observer's final height ${finalAtKill} at the kill, ${finalAfter} after (only blocks produced before the kill), live nodes' final heights ${live2.map((n) => `${n.name} ${finalHeightOf(n)}`).join(', ')}`);

    // ── 3. the killed restart on their data directories ──────────────────────
    const k3 = Date.now();
    for (const n of [V1, V4, V5]) cl.launch(n);
    await cl.waitStarted([V1, V4, V5]);
    const r3 = await finalisesAfter('V1, V4, V5 restarted', k3, cl.nodes, 60_000);
    diag.push(`V1, V4, V5 restarted on their data directories: height ${r3.block.height} final on all 8 nodes ${r3.ms} ms after the restart`);

    // ── agreement and nothing reverted ───────────────────────────────────────
    cl.load(0);
    const finals = allFinals(cl);
    assert.deepEqual(finalConflicts(finals), [], 'one final hash per height across every node');
    const top = ob.node.finality().final.height;
    let checked = 0;
    for (const f of finals) {
      if (f.height > top) continue;
      assert.equal(await ob.store.hashAt(f.height), f.hash, `${f.who}: final block at height ${f.height} is on the chain`);
      checked++;
    }
    for (const n of cl.nodes) for (let i = 1; i < n.finals.length; i++) assert.ok(n.finals[i]!.height >= n.finals[i - 1]!.height, `${n.name}: final height never goes back`);
    diag.push(`${finals.length} final checkpoints recorded (${cl.nodes.map((n) => `${n.name} ${n.finals.length}`).join(', ')}, observer ${ob.finals.length}); one hash per height; ${checked} checked on the observer's chain at final height ${top}`);
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
