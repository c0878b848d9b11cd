/**
 * Full verification of a stored chain: re-validates every block from genesis with the
 * same import steps as a live node (all but the clock rule, which only concerns blocks
 * as they arrive), checks every index entry and snapshot against the replay, and
 * reports the first bad height. Reads the database directly, so it works on a database
 * that openChainStore refuses.
 */
import { BlockError } from '../core/chainError.js';
import { parseGenesis, type Genesis } from '../core/genesis.js';
import { createGenesisState, deserializeState, stateRoot, type ChainState } from '../core/chainState.js';
import { validateAndApplyBlock, type AppliedBlock } from '../core/validateAndApplyBlock.js';
import { DB_FORMAT, OLD_FORMATS, readSnapshotText, type ChainDb } from './openChainStore.js';

export type VerifyResult =
  | {
      ok: true; height: number; hash: string; stateRoot: string; blocks: number; txs: number; snapshotsChecked: number;
      /** [FIN] the final checkpoint the replayed chain proves by its justifications: every block up to it is final */
      finalized: { round: number; height: number; hash: string };
      /** [STORE-P] a pruned store: verified from its base snapshot at this height (checked against that block's header) */
      prunedBelow: number;
    }
  | { ok: false; height: number; code: string; reason: string; verifiedHeight: number };

const pad = (n: number) => String(n).padStart(12, '0');

export interface VerifyChainOptions {
  onProgress?: (height: number) => void;
  /** called with each block once it has validated, and the state before it (e.g. to compute figures from the verified chain) */
  onBlock?: (applied: AppliedBlock, parent: ChainState) => void;
}

export async function verifyChain(db: ChainDb, o: VerifyChainOptions = {}): Promise<VerifyResult> {
  if (db.status !== 'open') await db.open();
  const fail = (height: number, code: string, reason: string, verifiedHeight: number): VerifyResult => ({ ok: false, height, code, reason, verifiedHeight });
  let genesis: Genesis;
  let head: { height: number; hash: string; stateRoot: string };
  try {
    genesis = parseGenesis(JSON.parse((await db.get('genesis')) ?? 'null'));
    const meta = JSON.parse((await db.get('meta')) ?? 'null') as { genesisHash?: string; format?: string } | null;
    // an older format is named, never misread (its blocks follow earlier consensus rules)
    if (meta?.format !== undefined && meta.format !== DB_FORMAT) {
      return fail(0, OLD_FORMATS.has(meta.format) ? 'OLD_FORMAT' : 'CORRUPT_DB', `format ${meta.format}, this version reads ${DB_FORMAT}`, 0);
    }
    if (meta?.genesisHash !== genesis.hash) return fail(0, 'CORRUPT_DB', 'genesis does not match meta', 0);
    head = JSON.parse((await db.get('head')) ?? 'null') as typeof head;
    if (!head || !Number.isSafeInteger(head.height)) return fail(0, 'CORRUPT_DB', 'head missing or unreadable', 0);
  } catch (err) {
    return fail(0, 'CORRUPT_DB', `unreadable genesis, meta or head: ${(err as Error).message}`, 0);
  }
  const snapshotHeights = new Set<number>();
  try {
    for await (const k of db.keys({ gte: 's:', lt: 's;' })) snapshotHeights.add(Number(k.slice(2)));
  } catch (err) {
    return fail(0, 'CORRUPT_DB', `unreadable snapshot index: ${(err as Error).message}`, 0);
  }

  let state: ChainState = createGenesisState(genesis);
  // [STORE-P] a pruned store holds what is above its base: the base snapshot must be the state its block commits to
  let base = 0;
  try {
    const prunedText = await db.get('pruned');
    if (prunedText !== undefined) {
      const pr = JSON.parse(prunedText) as { height: number; hash: string };
      base = pr.height;
      const snap = deserializeState(JSON.parse((await readSnapshotText(db, base)) ?? 'null'));
      const hash = await db.get(`h:${pad(base)}`);
      const raw = hash === undefined ? undefined : await db.get(`b:${hash}`);
      const header = raw === undefined ? undefined : (JSON.parse(raw) as { parameters: { header: { stateRoot: string } } }).parameters.header;
      if (hash !== pr.hash || snap.tipHash !== hash || header === undefined || stateRoot(snap) !== header.stateRoot || snap.meta.height !== base) {
        return fail(base, 'BAD_SNAPSHOT', 'the pruned base snapshot is not the state its block commits to', 0);
      }
      state = snap;
    }
  } catch (err) {
    return fail(base, 'CORRUPT_DB', `unreadable pruned base: ${(err as Error).message}`, 0);
  }
  let txs = 0;
  let snapshotsChecked = 0;
  const checkSnapshot = async (h: number): Promise<VerifyResult | undefined> => {
    if (!snapshotHeights.has(h)) return undefined;
    snapshotsChecked++;
    try {
      const snap = deserializeState(JSON.parse((await readSnapshotText(db, h)) ?? 'null'));
      if (stateRoot(snap) !== stateRoot(state) || snap.tipHash !== state.tipHash) return fail(h, 'BAD_SNAPSHOT', 'snapshot differs from the replayed state', h);
    } catch (err) {
      return fail(h, 'BAD_SNAPSHOT', (err as Error).message, h);
    }
    return undefined;
  };
  const bad0 = base === 0 ? await checkSnapshot(0) : undefined;
  if (bad0) return bad0;
  for (let h = base + 1; h <= head.height; h++) {
    let hash: string | undefined;
    let raw: string | undefined;
    try {
      hash = await db.get(`h:${pad(h)}`);
      raw = hash === undefined ? undefined : await db.get(`b:${hash}`);
    } catch (err) {
      // a damaged table (LevelDB's own check, e.g. "corrupted compressed block contents")
      return fail(h, 'CORRUPT_DB', `unreadable record: ${(err as Error).message}`, h - 1);
    }
    if (hash === undefined) return fail(h, 'CORRUPT_DB', 'height index missing', h - 1);
    if (raw === undefined) return fail(h, 'CORRUPT_DB', 'block missing', h - 1);
    let block: unknown;
    try {
      block = JSON.parse(raw);
    } catch {
      return fail(h, 'CORRUPT_DB', 'block is not JSON', h - 1);
    }
    try {
      const applied = validateAndApplyBlock(state, block, { now: Number.MAX_SAFE_INTEGER });
      if (applied.hash !== hash) return fail(h, 'BAD_HASH', `block hash ${applied.hash} differs from its index ${hash}`, h - 1);
      txs += applied.txIds.length;
      o.onBlock?.(applied, state);
      state = applied.state;
    } catch (err) {
      if (err instanceof BlockError) return fail(h, err.code, err.message, h - 1);
      throw err;
    }
    const bad = await checkSnapshot(h);
    if (bad) return bad;
    o.onProgress?.(h);
  }
  const root = stateRoot(state);
  if (state.tipHash !== head.hash || root !== head.stateRoot) return fail(head.height, 'BAD_HEAD', 'head does not match the replayed chain', head.height);
  const beyond = await db.get(`h:${pad(head.height + 1)}`);
  if (beyond !== undefined) return fail(head.height + 1, 'CORRUPT_DB', 'height index beyond the head', head.height);
  return { ok: true, height: head.height, hash: head.hash, stateRoot: root, blocks: head.height - base, txs, snapshotsChecked, finalized: { ...state.meta.finalized }, prunedBelow: base };
}
