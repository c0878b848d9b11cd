/**
 * Sync over MQTT (README "Sync protocol"):
 *
 *   request   tmi/v1/chain/sync/request            sync-request {nodeId, fromHeight, maxBlocks}
 *   response  tmi/v1/chain/sync/response/{nodeId} sync-response {requestReqId, tipHeight, blocks}
 *
 * [SYNC-1] a serving node answers with its canonical blocks from fromHeight on, at most
 *          min(maxBlocks, its own cap) of them and at most maxResponseBytes of block JSON
 *          (one block always fits when it is within the operation's limit); tipHeight is
 *          its head height; no blocks means "nothing above fromHeight here".
 * [SYNC-2] the requester verifies every block like any other (validateAndApplyBlock):
 *          a response is only a hint of where blocks are, never trusted.
 * [SYNC-3] paging: after a response to its current request, the requester asks again from
 *          the height after the last block received while the server's tipHeight is
 *          higher; a first block whose parent is unknown (a fork below its head) makes it
 *          step back, doubling the step, never below its final height.
 * [SYNC-4] a request without an answer within the timeout is sent again (a fresh
 *          request id), up to `retries` times; then the node stops waiting (it may be alone).
 */
import { operations } from '../../schemas/envelope.js';
import type { ChainStore } from '../store/openChainStore.js';

export interface SyncOptions {
  maxBlocks: number;
  serveMaxBlocks: number;
  maxResponseBytes: number;
  timeoutMs: number;
  retries: number;
}

export const SYNC_DEFAULTS: Readonly<SyncOptions> = {
  /** blocks asked for per request */
  maxBlocks: 200,
  /** most blocks a server puts in one response */
  serveMaxBlocks: 500,
  /** most bytes of block JSON in one response (the operation allows 32 MiB) */
  maxResponseBytes: 4 * 1024 * 1024,
  timeoutMs: 1000,
  retries: 1,
};

export interface SyncPage {
  blocks: unknown[];
  bytes: number;
}

/** [SYNC-1] The canonical blocks a server sends for a request. */
export async function readSyncPage(store: Pick<ChainStore, 'head' | 'hashAt' | 'rawBlock'>, fromHeight: number, maxBlocks: number, maxBytes: number): Promise<SyncPage> {
  const head = store.head.height;
  const budget = Math.min(maxBytes, operations['sync-response'].maxBytes - 64 * 1024);
  const blocks: unknown[] = [];
  let bytes = 0;
  for (let h = Math.max(1, fromHeight); h <= head && blocks.length < maxBlocks; h++) {
    const hash = await store.hashAt(h);
    if (hash === undefined) break;
    const raw = await store.rawBlock(hash);
    if (raw === undefined) break;
    const size = Buffer.byteLength(raw, 'utf8');
    if (blocks.length > 0 && bytes + size > budget) break;
    if (size > operations.block.maxBytes) break;
    blocks.push(JSON.parse(raw) as unknown);
    bytes += size;
  }
  return { blocks, bytes };
}

/** The requester's side: one outstanding request at a time. */
export interface SyncRequestState {
  reqId: string;
  fromHeight: number;
  sentAt: number;
  attempts: number;
}

export class SyncClient {
  current: SyncRequestState | undefined;
  /** step back on a fork, doubled each time ([SYNC-3]) */
  private back = 8;
  /** the highest tip a server has reported */
  bestKnownTip = 0;

  constructor(private readonly timeoutMs: number, private readonly retries: number) {}

  get active(): boolean {
    return this.current !== undefined;
  }

  started(reqId: string, fromHeight: number, now: number, attempts = 0): void {
    this.current = { reqId, fromHeight, sentAt: now, attempts };
  }

  done(): void {
    this.current = undefined;
    this.back = 8;
  }

  /** [SYNC-4] what to do on a clock tick: nothing, send again, or give up. */
  onTick(now: number): 'wait' | 'resend' | 'give-up' | 'idle' {
    const c = this.current;
    if (!c) return 'idle';
    if (now - c.sentAt < this.timeoutMs) return 'wait';
    if (c.attempts < this.retries) return 'resend';
    this.done();
    return 'give-up';
  }

  /** [SYNC-3] where to ask from after a fork was detected at `fromHeight`. */
  stepBack(fromHeight: number, floor: number): number {
    const h = Math.max(floor, fromHeight - this.back);
    this.back = Math.min(this.back * 2, 1 << 20);
    return Math.max(1, h);
  }
}
