/**
 * Sync (README "Sync protocol"; the messages and paging rules are syncProtocol.ts): asks
 * peers for the blocks after the head (at start, on a reconnect, for an orphan), imports
 * their answers as it imports gossip [SYNC-2], pages [SYNC-3], resends and gives up on the
 * slot clock [SYNC-4], and — with `serveSync` — answers other nodes' requests [SYNC-1].
 */
import { signEnvelope } from '../../wire/codec.js';
import type { Envelope } from '../../schemas/types.js';
import type { BlockImport } from './blockImport.js';
import type { ChainHead } from './chainHead.js';
import { bump, type NodeContext } from './nodeContext.js';
import { NODE_TOPICS } from './nodeTopics.js';
import { readSyncPage, SyncClient, type SyncOptions } from './syncProtocol.js';

export interface NodeSync {
  /** sends a sync request from `fromHeight` unless one is in flight */
  request(fromHeight: number, why: string): void;
  /** slot work: resends an unanswered request, or stops waiting */
  onSlot(t: number): void;
  /** imports a sync response's blocks and pages on; inside the queue */
  onResponse(env: Envelope<'sync-response'>): Promise<void>;
  /** [SYNC-1] answers another node's request (outside the queue: reads the store only) */
  serve(env: Envelope<'sync-request'>): Promise<void>;
  /** caught up, or no answer after the sync timeout: production may start */
  initialSyncDone(): boolean;
  /** a request is in flight */
  active(): boolean;
}

export interface NodeSyncParts {
  head: ChainHead;
  import: BlockImport;
  cfg: SyncOptions;
}

export function createNodeSync(ctx: NodeContext, parts: NodeSyncParts): NodeSync {
  const { genesis: g, store, key, nodeId, log } = ctx;
  const { head: chain, cfg } = parts;
  const sync = new SyncClient(cfg.timeoutMs, cfg.retries);
  let initialSyncDone = false;

  function sendSyncRequest(fromHeight: number, attempts: number): void {
    const env = signEnvelope(key, 'sync-request', { nodeId, fromHeight, maxBlocks: cfg.maxBlocks }, { date: new Date(ctx.now()), reqId: ctx.newReqId() });
    sync.started(env.reqId, fromHeight, ctx.now(), attempts);
    log.debug({ fromHeight, attempts }, 'sync request');
    ctx.publish(NODE_TOPICS.syncRequest, env);
  }

  function request(fromHeight: number, why: string): void {
    if (ctx.closed() || sync.active) return;
    log.debug({ fromHeight, why }, 'sync');
    sendSyncRequest(Math.max(1, fromHeight), 0);
  }

  function onSlot(t: number): void {
    switch (sync.onTick(t)) {
      case 'resend':
        sendSyncRequest(sync.current!.fromHeight, sync.current!.attempts + 1);
        break;
      case 'give-up':
        syncFinished('no answer');
        break;
      default:
        break;
    }
  }

  async function onResponse(env: Envelope<'sync-response'>): Promise<void> {
    const p = env.parameters;
    sync.bestKnownTip = Math.max(sync.bestKnownTip, p.tipHeight);
    let firstOrphan = false;
    let firstHeight: number | undefined;
    let lastHeight: number | undefined;
    for (let i = 0; i < p.blocks.length; i++) {
      const r = await parts.import.importBlock(p.blocks[i], 'sync');
      if (i === 0) {
        firstOrphan = r.outcome === 'orphan';
        firstHeight = r.height;
      }
      if (r.height !== undefined) lastHeight = r.height;
    }
    const cur = sync.current;
    if (!cur || cur.reqId !== p.requestReqId) {
      // an answer to an older request, or a second server: blocks used, no paging — but
      // [SYNC-3] one that shows a fork below the head (its first block's parent is unknown)
      // steps back from that block when no request is in flight. The request it answered has
      // usually been ended by a first answer from a peer on this node's own branch ("nothing
      // newer"): without this, a node on a minority branch never rejoined after a network split
      // (test/node/finalitySplit.resilience.test.ts: the majority's pages were kept as orphans,
      // and every new orphan asked again from head + 1, answered first by its own side).
      if (firstOrphan && firstHeight !== undefined && !sync.active) {
        const from = sync.stepBack(firstHeight, chain.finalHeight() + 1);
        if (from < firstHeight) sendSyncRequest(from, 0);
      }
      return;
    }
    if (p.blocks.length === 0 || lastHeight === undefined) {
      sync.done();
      syncFinished('caught up');
      return;
    }
    if (firstOrphan) {
      const fin = chain.finalHeight();
      const from = sync.stepBack(cur.fromHeight, fin + 1);
      sync.current = undefined;
      if (from < cur.fromHeight) sendSyncRequest(from, 0);
      else {
        sync.done();
        syncFinished('fork below the final height');
      }
      return;
    }
    if (p.tipHeight > lastHeight) {
      sync.current = undefined;
      sendSyncRequest(lastHeight + 1, 0);
      return;
    }
    sync.done();
    syncFinished('caught up');
  }

  function syncFinished(why: string): void {
    if (!initialSyncDone) log.info({ why, head: chain.current().height }, 'initial sync done');
    initialSyncDone = true;
  }

  const serving = new Map<string, number>();
  async function serve(env: Envelope<'sync-request'>): Promise<void> {
    const p = env.parameters;
    if (p.nodeId === nodeId) return;
    // [SYNC-1] one answer in flight per requester, at most 8 in all
    const t = ctx.now();
    if (serving.has(p.nodeId) || serving.size >= 8) {
      bump(ctx.droppedMessages, 'SYNC_BUSY');
      return;
    }
    serving.set(p.nodeId, t);
    try {
      const max = Math.min(p.maxBlocks ?? cfg.maxBlocks, cfg.serveMaxBlocks);
      const page = await readSyncPage(store, p.fromHeight, max, cfg.maxResponseBytes);
      const resp = signEnvelope(key, 'sync-response', { requestReqId: env.reqId, tipHeight: store.head.height, blocks: page.blocks as Envelope<'sync-response'>['parameters']['blocks'] }, { date: new Date(ctx.now()), reqId: ctx.newReqId() });
      log.debug({ to: p.nodeId, fromHeight: p.fromHeight, blocks: page.blocks.length, bytes: page.bytes }, 'sync response');
      ctx.publish(NODE_TOPICS.syncResponse(p.nodeId), resp);
    } finally {
      serving.delete(p.nodeId);
    }
  }

  return { request, onSlot, onResponse, serve, initialSyncDone: () => initialSyncDone, active: () => sync.active };
}
