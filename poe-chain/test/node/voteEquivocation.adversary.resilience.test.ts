/**
 * Adversary [FIN-E]: committee members whose keys sign conflicting votes.
 *
 * Real processes on loopback (poe-chain/testkit/finalityCluster.ts): the broker and an
 * observer node in this process, the aggregator's node and six ranked validators as
 * `tmi chain run` processes; committee V1 … V6 + the aggregator's node (n = 7, quorum 5).
 * V1 and V2 are the adversaries: their nodes produce (and earn block rewards) but run with
 * --no-vote; this process holds their pseudonym keys and publishes their votes, real `vote`
 * envelopes on tmi/v1/chain/votes. The five honest members are a quorum, so finality goes on.
 * A transfer every 500 ms; S = 250 ms, W = 2, an interval (epoch) of 5 s.
 *
 *   double vote  V1 (ranked first, the producer) signs two votes for the same target round
 *                with different targets (the head and its parent);
 *   surround     then V2 (the producer once V1 is out) signs genesis → round r + 1 and
 *                final → round r: the second link lies strictly inside the first.
 * For each: every node (the seven processes and the observer) detects it and submits a
 * `vote-evidence`; one lands on chain; the member is in `state.sections.equivocators`; its
 * rewards are taken back (its wallet in the evidence block's state = the wallet before − the
 * rewards it had been paid, its rewards entry gone); it leaves the ranking at once and is in
 * neither the next epoch's ranking nor its committee. At the end a block produced after both
 * attacks is final, and every node's final blocks agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signEnvelope } from '../../../wire/codec.js';
import type { Checkpoint } from '../../../schemas/types.js';
import type { KeyPair } from '../../../wire/keys.js';
import { epochOfSlot, slotAt, slotTime } from '../../core/genesis.js';
import { genesisCheckpoint } from '../../core/finality.js';
import type { NodeBlockEvent } from '../../node/createChainNode.js';
import { allFinals, finalConflicts, finalHeightOf, firstBlockAfter, sleep, startCluster, waitUntil, type Cluster } from '../../testkit/finalityCluster.js';

test('[FIN-E] an equivocating voter (double vote, surround vote): detected by every node, vote-evidence on chain, recorded, rewards taken back, out of the next committee', { timeout: 240_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-vote-equivocation-'));
  let c: Cluster | undefined;
  const diag: string[] = [];
  try {
    c = await startCluster({ dir, validators: 6, slotMs: 250, patience: 2, intervalMs: 5000, noVote: new Set(['V1', 'V2']) });
    const cl = c;
    const g = cl.g;
    const ob = cl.observers[0]!;
    const [V1, V2] = cl.V as [KeyPair, KeyPair];
    await cl.rankingInForce();
    const committeeOf = (epoch: number) => ob.node.state().sections.committees.get(String(epoch));
    await waitUntil('a committee of 7', () => committeeOf(epochOfSlot(g, ob.node.head().slot))?.length === 7, 15_000, 50);
    cl.load(500);
    const h0 = ob.node.head().height;
    await waitUntil('finality with the five honest voters', () => ob.node.finality().final.height > h0, 20_000, 50);

    /** the canonical block event at a height, from the observer's events */
    const canonicalAt = async (height: number): Promise<NodeBlockEvent | undefined> => {
      const hash = await ob.store.hashAt(height);
      return ob.blocks.filter((b) => b.height === height && b.hash === hash).at(-1);
    };

    const attack = async (name: string, key: KeyPair, why: 'double' | 'surround', votes: (r: number) => Promise<{ source: Checkpoint; target: Checkpoint }[]>) => {
      const addr = key.address;
      await waitUntil(`${name} has been paid block rewards`, () => BigInt(ob.node.state().sections.rewards.get(addr) ?? '0') > 0n, 30_000, 50);
      // just after a slot starts, so that round r is ahead of every node's final round
      const r = slotAt(g, Date.now()) + 1;
      await sleep(slotTime(g, r) + 5 - Date.now());
      const sent = Date.now();
      const links = await votes(r);
      for (const link of links) await cl.publish('tmi/v1/chain/votes', signEnvelope(key, 'vote', link, { chain: g.hash }));
      diag.push(`${name} (${why}): votes ${links.map((l) => `${l.source.round}→${l.target.round}@${l.target.height}`).join(' and ')} published at round ${r}`);

      // every node detects it
      await waitUntil(`${name}: every node detects the ${why} vote`, () =>
        cl.nodes.every((n) => n.evidence.some((e) => e.voter === addr)) && ob.evidence.some((e) => e.voter === addr), 15_000, 20);
      for (const n of cl.nodes) assert.equal(n.evidence.find((e) => e.voter === addr)!.why, why, `${n.name} sees a ${why} vote`);
      assert.equal(ob.evidence.find((e) => e.voter === addr)!.why, why);
      const detectMs = Math.max(...cl.nodes.map((n) => n.evidence.find((e) => e.voter === addr)!.t - sent));

      // the evidence on chain, the member recorded
      await waitUntil(`${name} recorded as an equivocator`, () => ob.node.state().sections.equivocators.has(addr), 20_000, 20);
      const evBlock = ob.blocks.find((b) => (b.block.parameters.txs as { operation?: string; parameters?: { a?: { clientId?: string } } }[])
        .some((x) => x.operation === 'vote-evidence' && x.parameters?.a?.clientId === addr));
      assert.ok(evBlock !== undefined, `${name}: a vote-evidence transaction on chain`);
      assert.equal(await ob.store.hashAt(evBlock.height), evBlock.hash, 'the evidence block is on the chain');
      const evidenceTxs = (evBlock.block.parameters.txs as { operation?: string; clientId?: string; parameters?: { a?: { clientId?: string } } }[])
        .filter((x) => x.operation === 'vote-evidence' && x.parameters?.a?.clientId === addr);
      assert.equal(evidenceTxs.length, 1, 'one vote-evidence for the member in the block (the others refused ALREADY_EQUIVOCATOR)');
      const pre = (await canonicalAt(evBlock.height - 1))!.state;
      const post = evBlock.state;
      const paid = BigInt(pre.sections.rewards.get(addr) ?? '0');
      assert.ok(paid > 0n, `${name} had rewards before the evidence`);
      assert.equal(post.sections.rewards.get(addr), undefined, `${name}: rewards entry gone`);
      assert.equal(BigInt(post.sections.wallets.get(addr) ?? '0'), BigInt(pre.sections.wallets.get(addr) ?? '0') - paid, `${name}: wallet debited by the rewards paid`);
      assert.ok(pre.meta.ranking.includes(addr) && !post.meta.ranking.includes(addr), `${name} leaves the ranking at once`);
      const rec = post.sections.equivocators.get(addr)!;

      // the next epoch: neither ranked nor in the committee
      const evEpoch = epochOfSlot(g, evBlock.block.parameters.header.slot);
      await waitUntil(`${name}: the next epoch's committee`, () => committeeOf(evEpoch + 1) !== undefined, 20_000, 50);
      const next = committeeOf(evEpoch + 1)!;
      assert.ok(!next.includes(addr), `${name} is not in epoch ${evEpoch + 1}'s committee`);
      assert.ok(!ob.node.state().meta.ranking.includes(addr), `${name} is not in the ranking of epoch ${ob.node.state().meta.rankingEpoch}`);
      diag.push(`${name}: detected by all ${cl.nodes.length} processes and the observer within ${detectMs} ms; vote-evidence by ${cl.nameOf(String(evidenceTxs[0]!.clientId))} ` +
        `in block ${evBlock.height} (by ${cl.nameOf(evBlock.block.parameters.header.producer)}, ${evBlock.at - sent} ms after the votes); recorded {slot ${rec.slot}, height ${rec.height}}; ` +
        `rewards ${paid} mc taken back (wallet ${pre.sections.wallets.get(addr) ?? 0} → ${post.sections.wallets.get(addr) ?? 0}); epoch ${evEpoch + 1} committee: ${next.map((a) => cl.nameOf(a)).join(', ')}`);
      return evBlock;
    };

    // ── double vote: one target round, two targets ─────────────────────────
    await attack('V1', V1, 'double', async (r) => {
      const head = ob.node.head();
      const source = ob.node.finality().final;
      const parentHash = (await ob.store.hashAt(head.height - 1))!;
      return [
        { source, target: { round: r, height: head.height, hash: head.hash } },
        { source, target: { round: r, height: head.height - 1, hash: parentHash } },
      ];
    });

    // ── surround vote: genesis → r + 1, then final → r inside it ──────────
    await attack('V2', V2, 'surround', async (r) => {
      const head = ob.node.head();
      const fin = ob.node.finality().final;
      assert.ok(fin.round > 0);
      return [
        { source: genesisCheckpoint(g.hash), target: { round: r + 1, height: head.height, hash: head.hash } },
        { source: fin, target: { round: r, height: head.height, hash: head.hash } },
      ];
    });

    // finality goes on without them; every node agrees on what is final
    const mark = Date.now();
    let after: Awaited<ReturnType<typeof firstBlockAfter>>;
    await waitUntil('a block after the attacks', async () => (after = await firstBlockAfter(cl, mark)) !== undefined, 20_000, 50);
    const honest = cl.nodes.filter((n) => n.name !== 'V1' && n.name !== 'V2');
    await waitUntil('it is final on the honest nodes', () => ob.node.finality().final.height >= after!.height && honest.every((n) => finalHeightOf(n) >= after!.height), 30_000, 50);
    cl.load(0);
    const finals = allFinals(cl);
    assert.deepEqual(finalConflicts(finals), [], 'one final hash per height');
    const top = ob.node.finality().final.height;
    for (const f of finals) if (f.height <= top) assert.equal(await ob.store.hashAt(f.height), f.hash, `${f.who}: final block at ${f.height} on the chain`);
    diag.push(`after both: height ${after!.height} final on the observer and the 5 honest nodes (committee ${committeeOf(epochOfSlot(g, ob.node.head().slot))!.map((a) => cl.nameOf(a)).join(', ')}); ${finals.length} final checkpoints agree`);
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
