/**
 * [NODE-fin] The finality gadget's node step (README "Finality"; rules in ../core/finality.ts):
 * votes in, votes out, the local justified and final checkpoints.
 *
 *   receive  a `vote` on tmi/v1/chain/votes (decoded by the codec: schema, signature, ±120 s)
 *            counts when its target block is known here and its voter is in the committee in
 *            force in the target block's state [FIN-C] (core/finality.ts committeeInForce: the
 *            function the chain checks a justification with, so local and on-chain finality
 *            agree); a vote for a block not yet here waits (bounded), and [SYNC-V] if votes for
 *            it keep coming for two slots the node asks its peers for that branch. A
 *            second vote of one voter that breaks [FIN-E] (double or surround) is evidence:
 *            the node submits a `vote-evidence` transaction (once per voter); also for a member of
 *            the target epoch's committee that is not in force yet (its votes do not count).
 *   count    a link source → target with a quorum of its committee and a justified source
 *            justifies its target [FIN-J]; an adjacent link (target.round = source.round + 1)
 *            makes its source final [FIN-F]. The node puts a `justification` of every link it
 *            saw justified into its own mempool (not gossiped: every producer forms its own),
 *            so the chain carries the proof (`tmi chain verify`).
 *   keep     [FIN-R] a producer also writes each link it saw justified to its store
 *            (`link:<round>`) until its chain has justified that round or a later one; after a
 *            restart, and at each head whose meta.justified lags them, it submits again, in
 *            order, the links the chain can take whose transaction is not in its mempool
 *            (core/missingJustifications.ts): a link lost with a mempool no longer leaves every
 *            later one refused UNJUSTIFIED_SOURCE.
 *   vote     when producing and a member of the committee in force on its head [FIN-C] (and that
 *            committee is not older than the one the node's own final block puts in force): once per round (= slot),
 *            half a slot into it, [FIN-V] for the round before (target: the last block of slot ≤
 *            r − 1 on its head's chain), while that block is not final. Source =
 *            the highest justified checkpoint on the head's chain. Never two votes in one
 *            round, never a source lower than one it used (so never a surround): the last
 *            vote is written (not fsynced: it survives a process crash) before it is
 *            published, and after a restart the node votes only in rounds after the one it
 *            restarted in.
 *   final    the local final checkpoint only moves forward; it is written to the store and
 *            read at start (with the head state's on-chain meta.finalized, whichever is
 *            higher): fork choice never leaves it [FC-2] and the tree keeps everything above it.
 */
import type { Envelope, Checkpoint, Justification } from '../../schemas/types.js';
import { signEnvelope } from '../../wire/codec.js';
import { committeeInForce, genesisCheckpoint, linkKey, quorum, sameCheckpoint, voteConflict, voteSignatureOf } from '../core/finality.js';
import { missingJustifications } from '../core/missingJustifications.js';
import { TRANSIENT_TX_CODES } from './mempool.js';
import { epochOfSlot, slotAt, slotTime } from '../core/genesis.js';
import type { ChainState } from '../core/chainState.js';
import type { BlockTree, TreeNode } from './blockTree.js';
import type { ChainHead } from './chainHead.js';
import type { NodeContext } from './nodeContext.js';
import { NODE_TOPICS } from './nodeTopics.js';

export interface FinalityStats {
  final: Checkpoint;
  justified: Checkpoint;
  votesSent: number;
  votesReceived: number;
  votesWaiting: number;
  justificationsSubmitted: number;
  /** [FIN-R] justifications submitted again: links the chain lacks whose transaction had left the mempool (a restart, drops) */
  justificationsResubmitted: number;
  /** [FIN-R] links this node saw justified that are not on its chain yet (kept in its store) */
  linksKept: number;
  voteEvidenceSubmitted: number;
}

export interface FinalityGadget {
  /** the local final checkpoint: it and its ancestors never revert here */
  final(): Checkpoint;
  /** the highest locally justified checkpoint */
  justified(): Checkpoint;
  /**
   * [SYNC-C] the votes that made the final checkpoint final: the link that justified it and the
   * adjacent link from it; undefined when it became final by the chain's own proof only
   */
  finalProof(): { checkpoint: Checkpoint; links: [Justification, Justification] } | undefined;
  /** a decoded vote from the network */
  onVote(env: Envelope<'vote'>): void;
  /**
   * [FIN-1] the round this node last voted in (0 when it does not vote): it makes no block at
   * that slot or an earlier one, so that the head it voted for stays its chain's head in that round
   */
  votedRound(): number;
  /** the head changed or a block arrived: count waiting votes, adopt on-chain finality, vote */
  onHead(): Promise<void>;
  /** the round timer's work (and every tick with slotTimer: false) */
  onRound(): Promise<void>;
  start(): void;
  stop(): void;
  stats(): FinalityStats;
}

export interface FinalityParts {
  head: ChainHead;
  tree: BlockTree;
  /** vote when a member of the committee */
  vote: boolean;
  /** put justifications into the mempool (a producer: it carries them on chain) */
  produce: boolean;
  /** run the round timer (false: the caller calls onRound) */
  timer: boolean;
  /** [FC-2] makes the head's chain contain `cp` (run in the work queue); false when it cannot */
  switchToBranchOf(cp: { height: number; hash: string }): Promise<boolean>;
  /** [SYNC-V] asks the peers for blocks from `fromHeight` (nothing while a sync is in flight) */
  requestSync?(fromHeight: number, why: string): void;
}

interface Link {
  source: Checkpoint;
  target: Checkpoint;
  votes: Map<string, Envelope<'vote'>>;
  /** [FIN-C] the committee in force in the target block's state */
  committee: readonly string[];
  justified: boolean;
}

const FINAL_KEY = 'final';
const VOTE_KEY = 'last-vote';
/** [FIN-R] `link:<target round, 12 digits>`: a link this node saw justified, until its chain has it */
const LINK_PREFIX = 'link:';
const linkName = (round: number) => `${LINK_PREFIX}${String(round).padStart(12, '0')}`;
/** [FIN-R] most links kept (a chain whose justification lags this far has another problem) */
const MAX_LINKS = 512;
const MAX_WAITING = 4096;
const MAX_VOTES_PER_VOTER = 64;


export async function createFinalityGadget(ctx: NodeContext, parts: FinalityParts): Promise<FinalityGadget> {
  const { genesis: g, key, log, now, store, mempool } = ctx;
  const { head: chain, tree } = parts;
  const counters = { votesSent: 0, votesReceived: 0, justificationsSubmitted: 0, justificationsResubmitted: 0, voteEvidenceSubmitted: 0 };

  const g0 = genesisCheckpoint(g.hash);
  const stored = await readRecord<Checkpoint>(FINAL_KEY);
  const onChain = chain.current().state.meta.finalized;
  let finalCp: Checkpoint = [g0, stored, onChain].reduce<Checkpoint>((a, b) => (b !== undefined && b.round > a.round ? b : a), g0);
  /** justified checkpoints by round (from final up): gossip and chain */
  const justifiedByRound = new Map<number, Checkpoint>([[finalCp.round, finalCp]]);
  const links = new Map<string, Link>();
  /** votes whose target block is not here yet, by target hash */
  /** votes for a block not held here, by its hash; `since`: [SYNC-V] when they were first heard (or sync last asked) */
  const waiting = new Map<string, { since: number; votes: Envelope<'vote'>[] }>();
  let waitingCount = 0;
  const byVoter = new Map<string, Envelope<'vote'>[]>();
  const reported = new Set<string>();
  const lastVoteStored = await readRecord<{ targetRound: number; sourceRound: number }>(VOTE_KEY);
  // after a restart: only rounds after this one (a vote made before a crash may not be on disk)
  let lastVote = { targetRound: Math.max(lastVoteStored?.targetRound ?? 0, slotAt(g, now())), sourceRound: lastVoteStored?.sourceRound ?? 0 };
  let timer: unknown;
  let stopped = false;
  let proof: { checkpoint: Checkpoint; links: [Justification, Justification] } | undefined;
  /**
   * [FIN-R] the links this node saw justified (a producer), by target round, until its chain
   * has them: written to the store, so that a restart (or a mempool that dropped one) does not
   * leave the chain without the link its later ones start from. txId: its transaction in the mempool.
   */
  const proven = new Map<number, { j: Justification; txId?: string }>();
  if (parts.produce) {
    for (const { name, text } of await store.nodeRecords(LINK_PREFIX)) {
      try {
        const j = JSON.parse(text) as Justification;
        proven.set(j.target.round, { j });
        // justified by a quorum before the restart: a source for the links still to come
        if (j.target.round > finalCp.round && !justifiedByRound.has(j.target.round)) justifiedByRound.set(j.target.round, j.target);
      } catch {
        log.warn({ name }, 'node record unreadable: ignored');
      }
    }
  }

  async function readRecord<T>(name: string): Promise<T | undefined> {
    const text = await store.nodeRecord(name);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      log.warn({ name }, 'node record unreadable: ignored');
      return undefined;
    }
  }

  function highestJustified(): Checkpoint {
    let best = finalCp;
    for (const cp of justifiedByRound.values()) if (cp.round > best.round) best = cp;
    return best;
  }

  // ── receiving ─────────────────────────────────────────────────────────────
  function onVote(env: Envelope<'vote'>): void {
    counters.votesReceived++;
    if (env.chain !== g.hash) return ctx.drop('WRONG_CHAIN', NODE_TOPICS.votes);
    if (env.parameters.target.round <= finalCp.round) return; // nothing left to decide
    if (env.parameters.target.round > slotAt(g, now()) + 1) return ctx.drop('VOTE_ROUND_IN_FUTURE', NODE_TOPICS.votes, String(env.parameters.target.round));
    const target = tree.get(env.parameters.target.hash);
    if (target === undefined) {
      if (waitingCount >= MAX_WAITING) return ctx.drop('VOTES_WAITING_FULL', NODE_TOPICS.votes);
      const hash = env.parameters.target.hash;
      let w = waiting.get(hash);
      if (w === undefined) waiting.set(hash, (w = { since: now(), votes: [] }));
      w.votes.push(env);
      waitingCount++;
      // [SYNC-V] votes for a block that has not come for two slots: a branch this node lacks (a
      // crash or a partition lost its blocks, and the nodes that hold it may not produce on it
      // again): fetch it, once per two slots per block (the simulator, seed 57 --serve-sync all)
      if (now() - w.since >= 2 * g.slotMs && env.parameters.target.height > finalCp.height) {
        // (at most one request in flight: a voter that names blocks nobody has costs an empty answer per two slots)
        w.since = now();
        parts.requestSync?.(env.parameters.target.height, 'votes for a block not held');
      }
      return;
    }
    count(env, target);
  }

  /** [FIN-E] a second vote of one voter that breaks a rule: evidence, once per voter */
  function checkConflict(env: Envelope<'vote'>): void {
    const voter = env.clientId;
    const seen = byVoter.get(voter) ?? [];
    for (const prev of seen) {
      if (prev.signature === env.signature) return;
      const why = voteConflict(prev.parameters, env.parameters);
      if (why !== undefined && !reported.has(voter)) {
        reported.add(voter);
        const ev = signEnvelope(key, 'vote-evidence', { a: prev as never, b: env as never }, { date: new Date(now()), chain: g.hash, reqId: ctx.newReqId() });
        const r = mempool.admit(ev);
        log.warn({ voter, why, rounds: [prev.parameters.target.round, env.parameters.target.round], admitted: r.status, code: r.code }, 'vote equivocation: submitting evidence');
        if (r.status === 'admitted') {
          counters.voteEvidenceSubmitted++;
          ctx.publish(NODE_TOPICS.txs, signEnvelope(key, 'tx', { tx: ev as never }, { date: new Date(now()), reqId: ctx.newReqId() }));
        }
        ctx.events.emit('voteEvidence', { voter, why, a: prev, b: env });
        break;
      }
    }
    seen.push(env);
    if (seen.length > MAX_VOTES_PER_VOTER) seen.shift();
    byVoter.set(voter, seen);
  }

  function count(env: Envelope<'vote'>, target: TreeNode): void {
    const { source, target: t } = env.parameters;
    if (t.height !== target.height || t.round < target.slot) return ctx.drop('VOTE_BAD_TARGET', NODE_TOPICS.votes);
    const k = linkKey(source, t);
    const committee = links.get(k)?.committee ?? committeeInForce(target.state).members;
    if (!committee.includes(env.clientId)) {
      // [FIN-E] a member of the target epoch's committee, not in force there yet (the epoch's first
      // blocks, before one of them is final [FIN-C]): its votes do not count, but two that conflict are evidence
      if (target.state.sections.committees.get(String(epochOfSlot(g, target.slot)))?.includes(env.clientId)) checkConflict(env);
      return ctx.drop('VOTE_NOT_IN_COMMITTEE', NODE_TOPICS.votes);
    }
    // [FIN-E] a member's signed vote is evidence material whether or not it can count: checked
    // before the head-at-round rule drops it (a vote for the head and one for its parent in one
    // round is a double vote the chain punishes; dropped first, no node reported it)
    checkConflict(env);
    // [FIN-1] the target must be its chain's head in that round: on the canonical chain, the next block is later
    const nextHash = tree.canonicalAt(t.height) === t.hash ? tree.canonicalAt(t.height + 1) : undefined;
    const next = nextHash !== undefined ? tree.get(nextHash) : undefined;
    if (next !== undefined && next.slot <= t.round) return ctx.drop('VOTE_NOT_HEAD_AT_ROUND', NODE_TOPICS.votes);
    let link = links.get(k);
    if (link === undefined) {
      link = { source, target: t, votes: new Map(), committee, justified: false };
      links.set(k, link);
    }
    link.votes.set(env.clientId, env);
    evaluate(link);
  }

  /** [FIN-J] [FIN-F] */
  function evaluate(link: Link): void {
    if (link.justified || link.votes.size < quorum(link.committee.length)) return;
    const src = justifiedByRound.get(link.source.round);
    if (src === undefined || src.hash !== link.source.hash || src.height !== link.source.height) return; // source not justified (yet)
    if (link.source.round >= link.target.round || link.source.height > link.target.height) return;
    link.justified = true;
    const fresh = !justifiedByRound.has(link.target.round);
    if (fresh) justifiedByRound.set(link.target.round, link.target);
    submitJustification(link);
    if (link.target.round === link.source.round + 1 && link.source.round > finalCp.round) {
      const justifying = [...links.values()].find((l) => l.justified && sameCheckpoint(l.target, link.source));
      proof = justifying !== undefined ? { checkpoint: link.source, links: [asJustification(justifying), asJustification(link)] } : proof;
      void finalize(link.source);
    }
    // links waiting for this source
    if (fresh) for (const l of links.values()) if (!l.justified && l.source.round === link.target.round) evaluate(l);
  }

  function asJustification(l: Link): Justification {
    return { source: l.source, target: l.target, votes: [...l.votes.values()].map(voteSignatureOf) };
  }

  function submitJustification(link: Link): void {
    if (!parts.produce) return;
    const j = asJustification(link);
    if (!proven.has(j.target.round)) keepLink(j);
    const rec = proven.get(j.target.round)!;
    if (admitLink(rec)) counters.justificationsSubmitted++;
  }

  // ── [FIN-R] the links the chain lacks ─────────────────────────────────────
  function keepLink(j: Justification): void {
    proven.set(j.target.round, { j });
    if (!stopped) store.putNodeRecord(linkName(j.target.round), JSON.stringify(j)).catch((err: Error) => log.warn({ err: err.message }, 'justified link not written'));
    if (proven.size > MAX_LINKS) {
      const lowest = Math.min(...proven.keys());
      log.warn({ round: lowest, kept: MAX_LINKS }, 'too many justified links off chain: the oldest dropped');
      forgetLinks([lowest]);
    }
  }

  function forgetLinks(rounds: readonly number[]): void {
    if (rounds.length === 0) return;
    for (const r of rounds) proven.delete(r);
    if (!stopped) store.deleteNodeRecords(rounds.map(linkName)).catch((err: Error) => log.warn({ err: err.message }, 'justified links not deleted'));
  }

  /** a fresh justification transaction of a kept link into the mempool; true when admitted */
  function admitLink(rec: { j: Justification; txId?: string }): boolean {
    const env = signEnvelope(key, 'justification', rec.j, { date: new Date(now()), chain: g.hash, reqId: ctx.newReqId() });
    const r = mempool.admit(env);
    if (r.status === 'admitted') {
      rec.txId = r.txId;
      return true;
    }
    if (r.status === 'rejected' && !TRANSIENT_TX_CODES.has(r.code ?? '') && r.code !== 'MEMPOOL_FULL' && r.code !== 'SIGNER_QUOTA') {
      // never valid on this chain (ALREADY_JUSTIFIED: it needs no more); a full mempool: tried again at the next head
      if (r.code !== 'ALREADY_JUSTIFIED') log.debug({ round: rec.j.target.round, code: r.code }, 'justification not admitted');
      forgetLinks([rec.j.target.round]);
    }
    return false;
  }

  /**
   * [FIN-R] after a restart, and whenever the head's chain lacks links this node saw justified
   * (its meta.justified lags): the links it has no more use for are forgotten, and those it can
   * take now whose transaction is not in the mempool are submitted again, in order
   */
  function catchUp(state: ChainState): void {
    if (!parts.produce || proven.size === 0) return;
    const { keep, submit } = missingJustifications(state, [...proven.values()].map((r) => r.j));
    const kept = new Set(keep.map((j) => j.target.round));
    forgetLinks([...proven.keys()].filter((r) => !kept.has(r)));
    for (const j of submit) {
      const rec = proven.get(j.target.round);
      if (rec === undefined || (rec.txId !== undefined && mempool.has(rec.txId))) continue;
      if (admitLink(rec)) {
        counters.justificationsResubmitted++;
        log.info({ source: j.source.round, round: j.target.round, height: j.target.height, chainJustified: state.meta.justified.round }, 'justification submitted again: the chain lacks it');
      }
    }
  }

  async function finalize(cp: Checkpoint): Promise<void> {
    if (cp.round <= finalCp.round) return;
    // [FC-2] final only on the head's chain: a block of another branch waits for the switch
    if (tree.canonicalAt(cp.height) !== cp.hash && !(await chain.isCanonical(cp))) {
      void ctx.queue.enqueue('final-branch', async () => {
        if (cp.round > finalCp.round && (await parts.switchToBranchOf(cp))) await finalize(cp);
      });
      return;
    }
    finalCp = cp;
    for (const [r] of justifiedByRound) if (r < cp.round) justifiedByRound.delete(r);
    for (const [k, l] of links) if (l.target.round <= cp.round) links.delete(k);
    log.info({ round: cp.round, height: cp.height, hash: cp.hash }, 'final');
    ctx.events.emit('final', { ...cp, at: now() });
    try {
      await store.putNodeRecord(FINAL_KEY, JSON.stringify(cp));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'final checkpoint not written');
    }
  }

  // ── voting ────────────────────────────────────────────────────────────────
  /**
   * [FIN-V] The vote cast in round `r` (the round the vote timer was set for; the clock's
   * without timers) is for the round before: its target is the last block of slot ≤ r − 1 on
   * the head's chain, cast half a slot into round r. A block of slot r − 1 has had a slot and
   * a half to reach the voters, so a block that arrives after the vote and breaks the target's
   * head-at-round rule [FIN-1] (which the chain checks: NOT_HEAD_AT_ROUND) must be more than a
   * slot late; voting for the round's own head, half a slot in, lost the chain's proof whenever
   * the round's block came later than that (the simulator's bug 6). And a vote no longer
   * forbids a block: the round it is for has passed.
   * A vote task that waited in the work queue past its round still votes for that round's
   * predecessor (so a queue that runs behind does not skip rounds).
   */
  async function maybeVote(r = slotAt(g, now())): Promise<void> {
    if (!parts.vote || stopped) return;
    const round = r - 1;
    if (round <= lastVote.targetRound) return;
    const head = chain.current();
    let target = head;
    while (target.slot > round) {
      const up = tree.get(target.parent);
      if (up === undefined) return; // below what the tree holds: final, nothing to vote for
      target = up;
    }
    if (target.height <= finalCp.height) return; // final: nothing to vote for
    const inForce = committeeInForce(target.state);
    if (!inForce.members.includes(key.address)) return; // [FIN-C] the committee in force on the target
    // [FIN-C] nor with a committee older than the one its own final block put in force: a chain that lacks the link
    // that made that block final (another branch's justifications) would count the vote by a committee no longer in force
    const finalBlock = tree.get(finalCp.hash);
    if (finalBlock !== undefined && inForce.epoch < epochOfSlot(g, finalBlock.slot)) {
      log.debug({ round, target: target.height, inForce: inForce.epoch, final: finalCp.height }, 'not voting: the head\'s chain has not made the local final block final yet');
      return;
    }
    // the highest justified checkpoint on the head's chain, below this round
    let source: Checkpoint | undefined;
    for (const cp of [...justifiedByRound.values()].sort((a, b) => b.round - a.round)) {
      if (cp.round >= round || cp.height > target.height) continue;
      if (await chain.isCanonical(cp)) {
        source = cp;
        break;
      }
    }
    if (source === undefined || source.round < lastVote.sourceRound) {
      // never a surround: a source below the last vote's would put the new link around it
      log.debug({ round, target: target.height, source: source?.round ?? null, lastSource: lastVote.sourceRound }, 'not voting: no justified source on the head\'s chain at or above the last vote\'s');
      return;
    }
    if (round <= lastVote.targetRound || stopped) return; // (awaited above)
    const cp: Checkpoint = { round, height: target.height, hash: target.hash };
    lastVote = { targetRound: round, sourceRound: source.round };
    try {
      await store.putNodeRecord(VOTE_KEY, JSON.stringify(lastVote));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'last vote not written: not voting');
      return;
    }
    const env = signEnvelope(key, 'vote', { source, target: cp }, { date: new Date(now()), chain: g.hash, reqId: ctx.newReqId() });
    log.debug({ round, source: source.round, sourceHeight: source.height, height: target.height, hash: target.hash }, 'vote');
    counters.votesSent++;
    ctx.publish(NODE_TOPICS.votes, env);
    count(env, target);
  }

  // ── the head ──────────────────────────────────────────────────────────────
  async function onHead(): Promise<void> {
    const head = chain.current();
    // the chain's own proof: its justified checkpoints and its final one
    const m = head.state.meta;
    if (m.justified.round > finalCp.round && !justifiedByRound.has(m.justified.round)) {
      for (const [r, ref] of head.state.sections.justified.entries()) {
        const round = Number(r);
        if (round > finalCp.round && !justifiedByRound.has(round)) justifiedByRound.set(round, { round, height: ref.height, hash: ref.hash });
      }
      for (const l of links.values()) evaluate(l);
    }
    if (m.finalized.round > finalCp.round) await finalize(m.finalized);
    catchUp(head.state);
    // votes that waited for a block now here
    for (const [hash, w] of waiting) {
      const n = tree.get(hash);
      if (n === undefined) continue;
      waiting.delete(hash);
      waitingCount -= w.votes.length;
      for (const env of w.votes) count(env, n);
    }
    // [NODE-fin] on timers a node votes half a slot into the round (below); without (tests) at once
    if (!parts.timer) await maybeVote();
    schedule();
  }

  /**
   * The vote of a round, half a slot into it, while the head is not final: by then the block
   * of the round before has reached most nodes (one target), and so have the votes of the round
   * before, cast a slot earlier (one source). Voting the moment a block arrived split the
   * votes under load: with 24 homes on 2 cores, 21 blocks final in 84.
   */
  function schedule(): void {
    if (!parts.timer || !parts.vote || stopped || timer !== undefined) return;
    if (chain.current().height <= finalCp.height) return;
    const r = slotAt(g, now());
    const half = Math.floor(g.slotMs / 2);
    // [FIN-V] the vote of round r is for round r − 1
    const round = r - 1 > lastVote.targetRound && now() < slotTime(g, r) + half ? r : r + 1;
    timer = ctx.scheduler.setTimeout(() => {
      timer = undefined;
      void ctx.queue.enqueue('vote', () => onRound(round));
    }, Math.max(0, slotTime(g, round) + half - now()));
    (timer as { unref?: () => void }).unref?.();
  }

  async function onRound(round?: number): Promise<void> {
    // drop waiting votes for rounds already decided
    for (const [hash, w] of waiting) {
      const keep = w.votes.filter((e) => e.parameters.target.round > finalCp.round);
      waitingCount -= w.votes.length - keep.length;
      if (keep.length === 0) waiting.delete(hash);
      else w.votes = keep;
    }
    await maybeVote(round);
    schedule();
  }

  return {
    final: () => finalCp,
    justified: highestJustified,
    finalProof: () => (proof !== undefined && sameCheckpoint(proof.checkpoint, finalCp) ? proof : undefined),
    onVote,
    votedRound: () => (parts.vote ? lastVote.targetRound : 0),
    onHead,
    onRound,
    start: schedule,
    stop() {
      stopped = true;
      if (timer !== undefined) ctx.scheduler.clearTimeout(timer);
      timer = undefined;
    },
    stats: () => ({ final: finalCp, justified: highestJustified(), ...counters, linksKept: proven.size, votesWaiting: waitingCount }),
  };
}
