/**
 * The finality gadget's pure rules (core/finality.ts): [FIN-Q] quorum, [FIN-C] committeeOf and committeeInForce,
 * [FIN-E] voteConflict, [FIN-J] vote envelopes and voteSignatureValid. The transactions that use
 * them (justification, vote-evidence) are covered by the spec vectors (finality-*,
 * reject-justification-*, *vote-evidence-*).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Checkpoint, Envelope, VoteParams } from '../../schemas/types.js';
import { committeeEpochInForce, committeeInForce, committeeOf, genesisCheckpoint, linkKey, quorum, sameCheckpoint, voteConflict, voteEnvelope, voteSignatureOf, voteSignatureValid } from '../core/finality.js';
import { sha256 } from '../core/hashing.js';
import { ChainFixture, testKey } from '../testkit/chainFixture.js';

/** A checkpoint of a made-up block: `tag` names the block (its hash is SHA-256 of the tag). */
const cp = (round: number, height: number, tag = `b${height}`): Checkpoint => ({ round, height, hash: sha256(tag).toString('hex') });
const link = (source: Checkpoint, target: Checkpoint): VoteParams => ({ source, target });

test('[FIN-Q] quorum(n) = ⌊2n/3⌋ + 1 for n = 1..13, by hand', () => {
  const byHand = [1, 2, 3, 3, 4, 5, 5, 6, 7, 7, 8, 9, 9];
  assert.deepEqual(byHand.map((_, i) => quorum(i + 1)), byHand);
});

test('[FIN-Q] a quorum is more than two thirds, reachable, and two quorums share more than a third', () => {
  for (let n = 1; n <= 300; n++) {
    const q = quorum(n);
    assert.ok(3 * q > 2 * n, `n=${n}: ${q} is not more than 2n/3`);
    assert.ok(3 * (q - 1) <= 2 * n, `n=${n}: ${q} is not the smallest such`);
    assert.ok(q <= n, `n=${n}: quorum ${q} unreachable`);
    assert.ok(3 * (2 * q - n) > n, `n=${n}: two quorums share ${2 * q - n}, not more than n/3`);
  }
});

test('[FIN-C] committeeOf: the first `size` of the ranking, then the aggregator node last', () => {
  const ranking = Array.from({ length: 15 }, (_, i) => `v${i}`);
  assert.deepEqual(committeeOf(ranking, 'N', true, 12), [...ranking.slice(0, 12), 'N']);
  assert.deepEqual(committeeOf(ranking, 'N', true, 1), ['v0', 'N']);
  assert.deepEqual(committeeOf(ranking.slice(0, 3), 'N', true, 12), ['v0', 'v1', 'v2', 'N'], 'a short ranking is taken whole');
  assert.deepEqual(committeeOf([], 'N', true, 12), ['N'], 'an empty ranking leaves the aggregator node alone');
});

test('[FIN-C] committeeOf: no aggregator node when it is not eligible (an equivocator)', () => {
  assert.deepEqual(committeeOf(['a', 'b', 'c'], 'N', false, 12), ['a', 'b', 'c']);
  assert.deepEqual(committeeOf(['a', 'b', 'c'], 'N', false, 2), ['a', 'b']);
  assert.deepEqual(committeeOf([], 'N', false, 12), []);
});

test('[FIN-C] committeeOf: a ranked aggregator node is a member once, last, and takes no ranked place', () => {
  assert.deepEqual(committeeOf(['a', 'N', 'b', 'c'], 'N', true, 2), ['a', 'b', 'N']);
  assert.deepEqual(committeeOf(['N', 'a'], 'N', true, 12), ['a', 'N']);
  assert.deepEqual(committeeOf(['a', 'N', 'b'], 'N', false, 12), ['a', 'b'], 'not eligible: out even when ranked');
  const c = committeeOf(['N', 'a', 'N', 'b'], 'N', true, 12);
  assert.equal(c.filter((x) => x === 'N').length, 1);
});

test('[FIN-E] voteConflict: two different votes for one target round are a double vote', () => {
  const g0 = cp(0, 0, 'genesis');
  // the same round, two blocks (two branches)
  assert.equal(voteConflict(link(g0, cp(10, 5, 'x')), link(g0, cp(10, 5, 'y'))), 'double');
  // the same round, blocks at different heights
  assert.equal(voteConflict(link(g0, cp(10, 5)), link(g0, cp(10, 6))), 'double');
  // the same target checkpoint from another source is another vote
  assert.equal(voteConflict(link(g0, cp(10, 5)), link(cp(7, 4), cp(10, 5))), 'double');
  assert.equal(voteConflict(link(cp(7, 4), cp(10, 5)), link(cp(7, 4, 'z'), cp(10, 5))), 'double', 'a source of the same round on another block');
});

test('[FIN-E] voteConflict: the same vote twice is not a conflict', () => {
  const v = link(cp(0, 0, 'genesis'), cp(10, 5));
  assert.equal(voteConflict(v, v), undefined);
  assert.equal(voteConflict(v, JSON.parse(JSON.stringify(v)) as VoteParams), undefined, 'equal by value');
});

test('[FIN-E] voteConflict: a link strictly inside another is a surround vote, either way round', () => {
  const outer = link(cp(2, 1), cp(20, 9));
  const inner = link(cp(5, 3), cp(8, 4));
  assert.equal(voteConflict(outer, inner), 'surround');
  assert.equal(voteConflict(inner, outer), 'surround');
  // the inner link one round inside at each end
  assert.equal(voteConflict(link(cp(2, 1), cp(5, 3)), link(cp(3, 2), cp(4, 2))), 'surround');
});

test('[FIN-E] voteConflict: disjoint, chained and overlapping links are not conflicts', () => {
  const pairs: [VoteParams, VoteParams, string][] = [
    [link(cp(0, 0), cp(5, 3)), link(cp(6, 4), cp(9, 5)), 'disjoint'],
    [link(cp(0, 0), cp(5, 3)), link(cp(5, 3), cp(6, 4)), 'chained: one starts where the other ends'],
    [link(cp(0, 0), cp(5, 3)), link(cp(3, 2), cp(9, 5)), 'overlapping, neither inside the other'],
    [link(cp(2, 1), cp(9, 5)), link(cp(2, 1), cp(5, 3)), 'the same source round: not strictly inside'],
  ];
  for (const [a, b, why] of pairs) {
    assert.equal(voteConflict(a, b), undefined, why);
    assert.equal(voteConflict(b, a), undefined, `${why} (swapped)`);
  }
});

test('[FIN-E] voteConflict is symmetric', () => {
  const cps = [cp(0, 0), cp(1, 1), cp(3, 2), cp(3, 2, 'fork'), cp(4, 3), cp(7, 3), cp(8, 5)];
  const links: VoteParams[] = [];
  for (const s of cps) for (const t of cps) if (s.round < t.round) links.push(link(s, t));
  for (const a of links) for (const b of links) assert.equal(voteConflict(a, b), voteConflict(b, a));
});

test('sameCheckpoint and linkKey compare by value', () => {
  assert.ok(sameCheckpoint(cp(3, 2), { hash: cp(3, 2).hash, height: 2, round: 3 }));
  assert.ok(!sameCheckpoint(cp(3, 2), cp(4, 2)));
  assert.ok(!sameCheckpoint(cp(3, 2), cp(3, 2, 'other')));
  assert.equal(linkKey(cp(0, 0), cp(3, 2)), linkKey({ hash: cp(0, 0).hash, round: 0, height: 0 }, cp(3, 2)));
  assert.notEqual(linkKey(cp(0, 0), cp(3, 2)), linkKey(cp(3, 2), cp(0, 0)));
});

/** A vote of the key 'voter' for genesis → (round 9, block 1), made with the fixture's builder. */
function signedVote(): { f: ChainFixture; env: Envelope<'vote'> } {
  const f = new ChainFixture();
  f.produce([]);
  const env = f.vote(f.key('voter'), genesisCheckpoint(f.genesis.hash), f.checkpoint(9), f.at(9));
  return { f, env };
}

test('[FIN-J] voteSignatureValid: true for a signed vote; the justification entry rebuilds the same envelope', () => {
  const { f, env } = signedVote();
  assert.equal(env.operation, 'vote');
  assert.equal(env.chain, f.genesis.hash);
  assert.ok(voteSignatureValid(env));
  const rebuilt = voteEnvelope(voteSignatureOf(env), env.parameters, f.genesis.hash);
  assert.deepEqual(rebuilt, env);
  assert.ok(voteSignatureValid(rebuilt));
});

test('[FIN-J] voteSignatureValid: false once any signed field changes', () => {
  const { env } = signedVote();
  const p = env.parameters;
  const changed: [string, Envelope<'vote'>][] = [
    ['target round', { ...env, parameters: { ...p, target: { ...p.target, round: p.target.round + 1 } } }],
    ['target hash', { ...env, parameters: { ...p, target: { ...p.target, hash: 'ab'.repeat(32) } } }],
    ['source height', { ...env, parameters: { ...p, source: { ...p.source, height: 1 } } }],
    ['date', { ...env, date: '2026-11-21T00:00:03.000Z' }],
    ['reqId', { ...env, reqId: 'AAAAAAAAAAAAAAAAAAAAAA' }],
    ['clientId (another member)', { ...env, clientId: testKey('other').address }],
    ['chain', { ...env, chain: 'ee'.repeat(32) }],
  ];
  for (const [what, e] of changed) assert.equal(voteSignatureValid(e), false, what);
});

test('[FIN-J] voteSignatureValid: a vote signed for another chain does not verify as a vote of this one', () => {
  const f = new ChainFixture();
  f.produce([]);
  const other = 'ee'.repeat(32);
  const env = f.vote(f.key('voter'), genesisCheckpoint(f.genesis.hash), f.checkpoint(9), f.at(9), other);
  assert.ok(voteSignatureValid(env), 'valid as what it is: a vote of chain ee…ee');
  assert.equal(voteSignatureValid(voteEnvelope(voteSignatureOf(env), env.parameters, f.genesis.hash)), false);
});

test('[FIN-J] voteSignatureValid: false for a non-canonical base64 signature of the same bytes', () => {
  const { env } = signedVote();
  const sig = env.signature;
  // the last data character carries 2 bits and 4 zero bits: +1 sets a padding bit only
  const last = sig.length - 3;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const other = sig.slice(0, last) + alphabet[alphabet.indexOf(sig[last]!) + 1]! + sig.slice(last + 1);
  assert.notEqual(other, sig);
  assert.deepEqual(Buffer.from(other, 'base64'), Buffer.from(sig, 'base64'), 'the same 64 bytes');
  assert.equal(voteSignatureValid({ ...env, signature: other }), false);
  assert.equal(voteSignatureValid({ ...env, signature: sig + '=' }), false);
});

test('[FIN-J] voteSignatureValid: false, never a throw, for a clientId that is not a key', () => {
  const { env } = signedVote();
  for (const clientId of ['not-a-key', 'ab', '00'.repeat(32), 'zz'.repeat(32)]) assert.equal(voteSignatureValid({ ...env, clientId }), false, clientId);
});

test(
  '[FIN-J] meta.justified never moves to a lower block on one chain',
  () => {
    // epoch 0 has no ranking: the committee is the aggregator node N alone, quorum(1) = 1
    const f = new ChainFixture();
    const N = f.node;
    const W = f.genesis.patience;
    f.produce([]); // height 1, slot W
    f.produce([f.transferTx(f.aggregator, testKey('x').address, 1)]); // height 2, slot W + 1
    const g0 = genesisCheckpoint(f.genesis.hash);
    const c1 = f.checkpoint(W, 1);
    const c2 = f.checkpoint(W + 1, 2);
    const late1 = f.checkpoint(W + 4, 1); // block 1 at round W + 4, when block 2 (slot W + 1) is this chain's head
    const votes = [f.vote(N, g0, c1), f.vote(N, c1, c2), f.vote(N, c1, late1)];
    for (const a of votes) for (const b of votes) assert.equal(voteConflict(a.parameters, b.parameters), undefined, 'no vote breaks [FIN-E]');
    let slot = f.state.meta.tipSlot;
    for (const v of votes.slice(0, 2)) f.produce([f.justificationTx([v], { date: f.at((slot += W)) })], slot);
    assert.deepEqual(f.state.meta.finalized, c1, 'c1 final by the adjacent link c1 → c2');
    // [FIN-1] block 1 was not this chain's head in round W + 4 (block 2, slot W + 1, was): refused
    slot += W;
    assert.throws(() => f.produce([f.justificationTx([votes[2]!], { date: f.at(slot) })], slot), (e: Error) => e.message.includes('NOT_HEAD_AT_ROUND'));
    assert.deepEqual(f.state.meta.justified, c2, 'the justified checkpoint never points below an earlier round\'s');
  },
);

test('[FIN-C] committeeInForce: the genesis state has the aggregator\'s node alone (epoch 0); every block records the committee in force in its parent\'s state', () => {
  const f = new ChainFixture();
  const g = f.genesis;
  const atGenesis = committeeInForce(f.state);
  assert.equal(atGenesis.epoch, 0);
  assert.deepEqual(atGenesis.members, [g.aggregatorNodeKey]);
  f.produce([], g.patience);
  f.produce([], 2 * g.patience);
  // nothing final but genesis: epoch 0's committee (recorded by the first block) stays in force
  const now = committeeInForce(f.state);
  assert.equal(now.epoch, 0);
  assert.deepEqual(now.members, f.state.sections.committees.get('0'));
  assert.equal(committeeEpochInForce(g, f.state.meta, f.state.sections.blockHashes), 0);
  for (const [, e] of f.state.sections.blockHashes.entries()) assert.equal(e.committeeEpoch, 0);
});

test('[FIN-C] a chain whose first block is of a later epoch records its committee for epoch 0 too (the genesis checkpoint\'s, in force until a later block is final)', () => {
  const f = new ChainFixture();
  const g = f.genesis;
  const perEpoch = g.intervalMs / g.slotMs;
  f.produce([], perEpoch + g.patience);
  assert.deepEqual(f.state.sections.committees.get('0'), [g.aggregatorNodeKey]);
  assert.deepEqual(f.state.sections.committees.get('1'), [g.aggregatorNodeKey]);
  assert.deepEqual(committeeInForce(f.state), { epoch: 0, members: [g.aggregatorNodeKey] });
});
