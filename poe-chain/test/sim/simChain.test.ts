/**
 * The chain simulation (poe-chain/sim, README "Simulation") in CI: a few seeds of real
 * nodes under delays, loss, duplicates, reordering, partitions, disconnections, crashes and
 * restarts and a byzantine equivocator, with every invariant checked after every step; a
 * seed that replays exactly; and a violation that is caught, with its step, and replays at
 * that step.
 *
 * The CI runs are as deployed (`serveSync: 'archive'` [SYNC-A]: the aggregator's node answers
 * everyone, a validator the aggregator's node alone) and strict: a transaction stranded in
 * the mempools fails the seed ([MP-13] re-gossip). With sync served by the aggregator's node
 * alone, as before [SYNC-A], 13 of seeds 1..30 failed, 12 of them to converge.
 * TMI_SIM_SEEDS sets the number of seeds (default 12: ≈ 35 s of CPU on one core here, with the
 * finality gadget's votes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finalOf, simulate, type LiveNode, type SimOptions, type SimResult } from '../../sim/simulate.js';

const SEEDS = Number(process.env.TMI_SIM_SEEDS ?? 12);
const CI: Omit<SimOptions, 'seed'> = { faultMs: 30_000, strict: true };
const REPLAY = '--fault-ms 30000 --strict';
/** a seed with crashes, partitions, reorgs and equivocations (checked below) */
const BUSY_SEED = 11;
/** the runs of the first test, by seed (the replay test runs one of them again) */
const ran = new Map<number, SimResult>();

test(`[SIM] seeds 1..${SEEDS}: no conflicting final blocks, money conserved, the honest nodes converge, no admitted transaction lost`, async () => {
  const failures: string[] = [];
  const t0 = performance.now();
  let simulatedMs = 0;
  let cpuMs = 0;
  const faults = { crashes: 0, partitions: 0, disconnects: 0, equivocations: 0, reorgs: 0, stranded: 0, excused: 0 };
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = await simulate({ seed, ...CI });
    ran.set(seed, r);
    simulatedMs += r.simulatedMs;
    cpuMs += r.cpuMs;
    faults.crashes += r.stats.crashes;
    faults.partitions += r.stats.partitions;
    faults.disconnects += r.stats.disconnects;
    faults.equivocations += r.stats.equivocations;
    faults.reorgs += r.stats.reorgs;
    faults.stranded += r.stats.tx.stranded;
    faults.excused += Object.values(r.stats.tx.lostExcused).reduce((a, b) => a + b, 0);
    if (r.violation) {
      const v = r.violation;
      failures.push(`seed ${seed}: ${v.invariant} at step ${v.step} (${v.atMs} ms): ${v.detail} — replay: npm run sim:chain -- --seed ${seed} ${REPLAY}`);
    }
  }
  const wallMs = performance.now() - t0;
  console.log(JSON.stringify({ sim: 'chain', seeds: SEEDS, failures: failures.length, simulatedMinutes: +(simulatedMs / 60_000).toFixed(1), wallSeconds: +(wallMs / 1000).toFixed(1), cpuSeconds: +(cpuMs / 1000).toFixed(1), ...faults }));
  assert.deepEqual(failures, []);
  assert.ok(faults.crashes > 0 && faults.partitions > 0 && faults.disconnects > 0 && faults.equivocations > 0 && faults.reorgs > 0, `the seeds drew every fault: ${JSON.stringify(faults)}`);
});

test('[SIM] one seed, one run: the same events and the same final state roots twice', async () => {
  const a = ran.get(BUSY_SEED) ?? (await simulate({ seed: BUSY_SEED, ...CI }));
  const b = await simulate({ seed: BUSY_SEED, ...CI });
  assert.ok(a.ok, JSON.stringify(a.violation));
  const s = a.stats;
  assert.ok(s.crashes > 0 && s.partitions > 0 && s.reorgs > 0 && s.equivocations > 0, `seed ${BUSY_SEED} is a busy one: ${JSON.stringify(s)}`);
  assert.equal(b.traceHash, a.traceHash);
  assert.equal(b.steps, a.steps);
  assert.deepEqual(b.heads, a.heads);
  // converged ([SIM-CONVERGE] is in a.ok); when the run stops, a block just made may still be
  // on its way to a node: heads within one block, one state root per height
  const top = Math.max(...a.heads.map((h) => h.height));
  assert.ok(a.heads.length >= 3 && a.heads.every((h) => h.height >= top - 1), `heads within one block: ${JSON.stringify(a.heads)}`);
  for (const h of a.heads) assert.equal(h.stateRoot, a.heads.find((x) => x.height === h.height)!.stateRoot, `one state root at height ${h.height}`);
  assert.ok(a.heads.filter((h) => h.height === top).length >= 2, 'most nodes at the top');
});

test('[SIM] a violation is caught with its step and replays at that step (finalOf lying for one node)', async () => {
  // the finality check must notice a node whose final block is not the one its chain and the others hold
  const lying = async (n: LiveNode) => {
    const f = await finalOf(n);
    return n.name === 'v1' && f.height > 3 ? { ...f, hash: 'f'.repeat(64) } : f;
  };
  const short = { ...CI, faultMs: 10_000 };
  const a = await simulate({ seed: BUSY_SEED, ...short, finalOf: lying });
  const b = await simulate({ seed: BUSY_SEED, ...short, finalOf: lying });
  assert.ok(!a.ok && a.violation);
  assert.ok(['final-conflict', 'final-changed', 'final-off-chain'].includes(a.violation.invariant), a.violation.invariant);
  assert.deepEqual(b.violation, a.violation);
  assert.equal(b.traceHash, a.traceHash);
});

test('[SIM-CONVERGE] a bound the network cannot meet fails the run', async () => {
  // seed 13 ends its faults while a partition still splits the heads
  const r = await simulate({ seed: 13, ...CI, settleMs: 1 });
  assert.equal(r.violation?.invariant, 'convergence', JSON.stringify(r.violation));
});

test('[SIM-FINAL] regression, seeds 9 and 25 (60 s of faults): a block the votes make final on another branch is final only once the node has switched to it', async () => {
  // before: v1 counted votes for the branch it had just left and made its block 54 final while its head stayed on the other one
  for (const seed of [9, 25]) {
    const r = await simulate({ seed, serveSync: 'all' });
    assert.ok(r.ok, `seed ${seed}: ${JSON.stringify(r.violation)}`);
  }
});

test('[FIN-R] regression, seed 5 (60 s of faults, as deployed and --serve-sync all): after a crash the chain\'s own proof follows the nodes\' final blocks', async () => {
  // before: the link to the aggregator's stored final checkpoint was lost with its mempool; every
  // later justification was refused UNJUSTIFIED_SOURCE, meta.finalized stayed at 27 (32) and the heads split.
  // As deployed is 'archive' since [SYNC-A] (this test ran 'aggregator', the deployment before it); with
  // [FIN-C] committees in force only through finality, seed 5 'aggregator' takes another course and
  // fails to converge by bug 2 (the validators' branch cannot reach the aggregator's node), not [FIN-R]
  for (const serveSync of ['archive', 'all'] as const) {
    const r = await simulate({ seed: 5, serveSync });
    assert.ok(r.ok, `seed 5 ${serveSync}: ${JSON.stringify(r.violation)}`);
    assert.ok(r.stats.provenFinal >= r.stats.maxFinal - 2, `seed 5 ${serveSync}: meta.finalized ${r.stats.provenFinal}, final ${r.stats.maxFinal}`);
  }
});
