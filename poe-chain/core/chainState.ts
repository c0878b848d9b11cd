/**
 * The chain state (DESIGN §5: integers only) and its canonical root.
 *
 * ChainState = genesis + meta (a small plain object) + sections (HashedMaps):
 *   wallets       address → balance, millicents, decimal string (arbitrary precision)
 *   rewards       address → block rewards received so far, millicents, decimal string
 *   certs         address → {feeder, programme, validFrom, validTo (ms)}
 *   revoked       address → revokedAt (ms)
 *   equivocators  address → {slot, height} (slot of the double-signed headers, height of the evidence)
 *   readings      "<address>|<interval>" → {producedWh, consumedWh, chargedWh, dischargedWh, seq}
 *   readingHeads  address → {interval, seq} of its latest reading
 *   auctions      auctionId → AuctionEntry (open params, status, close, result, awards + settlements)
 *   bids          "<auctionId>|<address>" → BidEntry (while the auction is open; dropped at clearing)
 *   bidTags       "<auctionId>|<tag>" → address [SYBIL-2] (until clearing)
 *   deliveries    "<interval>|<flow>|<tag>" → DeliveryEntry [SETTLE-1]: Wh of that meter's measured
 *                 flow (discharged / charged) in that interval already paid to awards
 *   feederUse     "<interval>|<export|import>|<feeder>" → FeederUseEntry [FEEDER-2]: Wh already
 *                 awarded on that feeder for that interval by earlier clearings
 *   seen          txId → minute after which it is forgotten (replay protection window)
 *   orders        "<address>|<orderId>" → OrderEntry [MKT]: a P2P order until its last interval clears
 *   orderSlots    "<interval>|<tag>" → orders key [MKT-ONE]: one order per meter per interval (until that interval clears)
 *   markets       "<interval>" → MarketEntry [MKT]: the P2P market of one delivery interval: open,
 *                 cleared (fills, each settled in turn) or settled
 *   reserved      address → millicents held for its unsettled P2P purchases [MKT-CREDIT], decimal string
 *   feederLimits  feeder → {maxExportWh, maxImportWh, issuedAt (ms)} [FEEDER-1]: the latest limits the
 *                 registry signed for that feeder, written only by `feeder-limit` transactions; read
 *                 by the auctions' clearing [FEEDER-2] and the P2P market [MKT-FEEDER]
 *   justified     "<round>" → {height, hash} [FIN-J]: the justified checkpoints from the final one up
 *   blockHashes   "<height>" → {hash, slot, committeeEpoch} [FIN-J]: this chain's blocks from the final one up to the
 *                 parent; committeeEpoch: the epoch whose committee is in force in that block's state [FIN-C]
 *   committees    "<epoch>" → member addresses [FIN-C]: each epoch's finality committee (from the lowest
 *                 committeeEpoch of blockHashes up: every committee a kept block has in force)
 *
 * State root (README "State root"):
 *   stateRoot = SHA-256("TMI/v1/state" ‖ 0x00 ‖ canonical JSON of
 *               {"meta": meta, "sections": {name: hex(section root), …}})
 * with each section root as defined in hashedMap.ts. Every value is integers and strings,
 * so the canonical JSON — hence the root — is bit-identical on every node.
 */
import { canonicalize } from '../../wire/canonicalJson.js';
import type { Checkpoint, FeederLimit, OpenBid, SealedBid } from '../../schemas/types.js';
import { genesisCheckpoint } from './finality.js';
import { HashedMap, type MapDraft } from './hashedMap.js';
import { DOMAIN, taggedHash } from './hashing.js';
import { parseGenesis, type Genesis, type NormalisedGenesisConfig } from './genesis.js';

export type Programme = 'TE' | 'RE' | 'RE+TE';

export interface CertEntry {
  feeder: string;
  programme: Programme;
  validFrom: number;
  validTo: number;
  /** [SYBIL] the registry's per-meter, per-period tag */
  tag: string;
}

export interface ReadingEntry {
  producedWh: number;
  consumedWh: number;
  chargedWh: number;
  dischargedWh: number;
  seq: number;
}

export interface ReadingHead {
  interval: number;
  seq: number;
}

export interface EquivocationEntry {
  slot: number;
  height: number;
}

export interface BidEntry {
  /** height × 100000 + index in block: chain order for clearing */
  inclusion: number;
  reqId: string;
  feeder: string;
  /** the open bid; for a sealed bid, set by its reveal [SEALED] */
  bid?: OpenBid;
  /** [SEALED] the commitment */
  sealed?: SealedBid;
}

export interface SettlementEntry {
  deliveredWh: number;
  /** [SETTLE-1] Wh of the same meter's measured flow in the interval already paid to earlier awards */
  priorWh: number;
  paymentMc: number;
  penaltyMc: number;
  /** height of the block that settled it */
  height: number;
}

export interface AwardEntry {
  address: string;
  feeder: string;
  reqId: string;
  energyWh: number;
  priceMcPerKWh: number;
  /** [SETTLE-1] the bid's inclusion (height × 100000 + index): order in which awards share a measurement */
  inclusion: number;
  /** [SETTLE-1] the winner's meter tag [SYBIL] (its address when the certificate has none) */
  tag: string;
  settlement?: SettlementEntry;
}

/** [FEEDER-2] Wh awarded on one feeder, one direction, one delivery interval, by the clearings so far. */
export interface FeederUseEntry {
  awardedWh: number;
}

/** [SETTLE-1] what has been paid of one meter's measured flow in one interval. */
export interface DeliveryEntry {
  deliveredWh: number;
}

export interface ExclusionEntry {
  address: string;
  reqId: string;
  reason: string;
  /** [SEALED] fee paid for a sealed bid not revealed (NOT_REVEALED) */
  penaltyMc?: number;
}

export type AuctionStatus = 'open' | 'closed' | 'void' | 'settled';

/** [MKT] a P2P order: sealed until its reveal. */
export interface OrderEntry {
  orderId: string;
  address: string;
  /** [SYBIL] the meter tag (the aggregator's address for its own orders) */
  tag: string;
  feeder: string;
  side: 'buy' | 'sell';
  firstEpoch: number;
  lastEpoch: number;
  inclusion: number;
  reqId: string;
  commitment: string;
  /** set by its reveal */
  energyWh?: number;
  priceMcPerKWh?: number;
  /** [MKT-SEAL] the unrevealed fee was charged (at the clearing of its first interval) */
  unrevealed?: boolean;
}

/** [MKT-SETTLE] the settlement of one fill. */
export interface FillSettlement {
  deliveredWh: number;
  /** Wh of the same meter's measured flow in the interval already paid before this fill */
  priorWh: number;
  paymentMc: number;
  penaltyMc: number;
  /** [MKT-CREDIT] the part of the penalty not taken because the wallet was at its credit limit */
  uncollectedMc: number;
  height: number;
}

export interface FillEntry {
  orderId: string;
  address: string;
  tag: string;
  feeder: string;
  side: 'buy' | 'sell';
  energyWh: number;
  priceMcPerKWh: number;
  inclusion: number;
  /** [MKT-CREDIT] millicents held for a purchase until it settles (0 for sells and the aggregator) */
  reservedMc: number;
  settlement?: FillSettlement;
}

export interface MarketEntry {
  epoch: number;
  status: 'open' | 'cleared' | 'settled';
  clearedHeight?: number;
  volumeWh?: number;
  clearingPriceMcPerKWh?: number | null;
  priceRange?: { lowMcPerKWh: number; highMcPerKWh: number } | null;
  fills?: FillEntry[];
  excluded?: { orderId: string; address: string; reason: string; penaltyMc?: number }[];
}

/** [FEEDER-1] a feeder's limits as the registry last signed them. */
export interface FeederLimitEntry {
  maxExportWh: number;
  maxImportWh: number;
  /** the registry's issuedAt, ms: a record not newer than this one is refused (STALE_FEEDER_LIMIT) */
  issuedAt: number;
}

export interface AuctionEntry {
  side: 'buy' | 'sell';
  energyWh: number;
  limitPriceMcPerKWh: number;
  pricing: 'pay-as-bid' | 'uniform';
  sealed: boolean;
  /** the auction-open's own limits: they may only tighten the registry's on chain [FEEDER-2] */
  feederLimits: FeederLimit[];
  /** the delivery interval, as an epoch index */
  deliveryEpoch: number;
  closesAt: number;
  openedHeight: number;
  status: AuctionStatus;
  bidCount: number;
  closedHeight?: number;
  voidReason?: string;
  awardedWh?: number;
  clearingPriceMcPerKWh?: number | null;
  excluded?: ExclusionEntry[];
  awards?: AwardEntry[];
}

/** [FIN-J] a justified checkpoint or an ancestor, by round or height. */
export interface BlockRef {
  height: number;
  hash: string;
}

export interface BlockHashEntry {
  hash: string;
  slot: number;
  /** [FIN-C] the epoch whose committee is in force in this block's state (finality.ts committeeEpochInForce): it counts the links that target the block */
  committeeEpoch: number;
}

export interface StateMeta {
  chainId: string;
  genesisHash: string;
  height: number;
  /** slot of the block at `height` (0 at genesis) */
  tipSlot: number;
  /** the epoch whose ranking is stored (−1: none yet) */
  rankingEpoch: number;
  /** [SEED] the tie-break seed of rankingEpoch (the genesis hash before any ranking) */
  seed: string;
  /** [SEED] the VRF seeds made at the first block of the latest epochs: [epoch, seed hex], oldest first, at most 3 */
  seeds: [number, string][];
  /** eligible producers of rankingEpoch, best first [POE-7.rank] */
  ranking: string[];
  /** auctions still open or with awards not yet settled, sorted */
  active: string[];
  /** [MKT] delivery intervals whose P2P market is open or has fills not yet settled, ascending */
  marketsActive: number[];
  /** seen entries expiring before this minute have been dropped */
  seenCutoffMinute: number;
  /** [FIN-J] the justified checkpoint of the highest round on this chain */
  justified: Checkpoint;
  /** [FIN-F] the final checkpoint of the highest round on this chain: it and its ancestors never revert */
  finalized: Checkpoint;
  /** [SUB] blocks of this chain at a place > 0 of their slot (absent while none): [FC-1] weighs height − subBlocks */
  subBlocks?: number;
}

export interface Sections {
  auctions: HashedMap<AuctionEntry>;
  bids: HashedMap<BidEntry>;
  /** [FIN-J] height → this chain's block hash and slot, from the final block up to the head's parent */
  blockHashes: HashedMap<BlockHashEntry>;
  /** [FIN-C] epoch → its committee */
  committees: HashedMap<string[]>;
  /** [FIN-J] round → the justified checkpoint of that round */
  justified: HashedMap<BlockRef>;
  /** [SYBIL] `auctionId|tag` → the address that bid for that meter (until clearing) */
  bidTags: HashedMap<string>;
  certs: HashedMap<CertEntry>;
  /** [SETTLE-1] `interval|flow|tag` → Wh already paid of that measurement */
  deliveries: HashedMap<DeliveryEntry>;
  equivocators: HashedMap<EquivocationEntry>;
  /** [FEEDER-2] `interval|export|feeder` → Wh awarded so far */
  feederUse: HashedMap<FeederUseEntry>;
  /** [FEEDER-1] feeder → the registry's latest signed limits */
  feederLimits: HashedMap<FeederLimitEntry>;
  markets: HashedMap<MarketEntry>;
  orders: HashedMap<OrderEntry>;
  orderSlots: HashedMap<string>;
  readingHeads: HashedMap<ReadingHead>;
  readings: HashedMap<ReadingEntry>;
  reserved: HashedMap<string>;
  revoked: HashedMap<number>;
  rewards: HashedMap<string>;
  seen: HashedMap<number>;
  wallets: HashedMap<string>;
}

export type SectionName = keyof Sections;
export const SECTION_NAMES: readonly SectionName[] = [
  'auctions', 'bids', 'bidTags', 'blockHashes', 'certs', 'committees', 'deliveries', 'equivocators', 'feederLimits', 'feederUse', 'justified', 'markets', 'orderSlots', 'orders',
  'readingHeads', 'readings', 'reserved', 'revoked', 'rewards', 'seen', 'wallets',
];

type ValueOf<M> = M extends HashedMap<infer V> ? V : never;
export type SectionDrafts = { [K in SectionName]: MapDraft<ValueOf<Sections[K]>> };

export interface ChainState {
  readonly genesis: Genesis;
  readonly meta: Readonly<StateMeta>;
  readonly sections: Readonly<Sections>;
  /**
   * Hash of the block at meta.height (the genesis hash at height 0). Not part of the
   * state root — the root is inside that block's header — but every child's header
   * must name it as parent, and it seeds the next epoch's tie-break.
   */
  readonly tipHash: string;
}

export function createGenesisState(genesis: Genesis): ChainState {
  const sections = Object.fromEntries(SECTION_NAMES.map((n) => [n, HashedMap.empty()])) as unknown as Sections;
  sections.wallets = HashedMap.fromEntries(genesis.config.balances.map((b) => [b.address, String(b.millicents)] as const));
  // [FIN-J] the genesis checkpoint is justified and final
  const g0 = genesisCheckpoint(genesis.hash);
  sections.justified = HashedMap.fromEntries([[String(g0.round), { height: g0.height, hash: g0.hash }]]);
  sections.blockHashes = HashedMap.fromEntries([['0', { hash: genesis.hash, slot: 0, committeeEpoch: 0 }]]);
  return {
    genesis,
    meta: {
      chainId: genesis.chainId,
      genesisHash: genesis.hash,
      height: 0,
      tipSlot: 0,
      rankingEpoch: -1,
      seed: genesis.hash,
      seeds: [],
      ranking: [],
      active: [],
      marketsActive: [],
      seenCutoffMinute: 0,
      justified: g0,
      finalized: g0,
    },
    sections,
    tipHash: genesis.hash,
  };
}

const rootMemo = new WeakMap<ChainState, string>();

/** The canonical state root, hex (see the file comment). Cached per state object. */
export function stateRoot(state: ChainState): string {
  let r = rootMemo.get(state);
  if (r !== undefined) return r;
  const roots: Record<string, string> = {};
  for (const n of SECTION_NAMES) roots[n] = state.sections[n].root().toString('hex');
  r = taggedHash(DOMAIN.state, canonicalize({ meta: state.meta, sections: roots })).toString('hex');
  rootMemo.set(state, r);
  return r;
}

/** The same state at a known tip hash (the root, which does not cover the hash, is kept). */
export function withTipHash(state: ChainState, tipHash: string): ChainState {
  const next: ChainState = { ...state, tipHash };
  const r = rootMemo.get(state);
  if (r !== undefined) rootMemo.set(next, r);
  return next;
}

/** Balance of an address in millicents (0 when it has no wallet). */
export function balanceOf(state: ChainState, address: string): bigint {
  return BigInt(state.sections.wallets.get(address) ?? '0');
}

/**
 * A draft of the next state: every section as a copy-on-write MapDraft and a mutable
 * copy of meta. begin/commit/rollback make one transaction atomic while building a block.
 */
export class StateDraft {
  readonly genesis: Genesis;
  meta: StateMeta;
  readonly s: SectionDrafts;
  private savedMeta: StateMeta | null = null;

  constructor(state: ChainState) {
    this.genesis = state.genesis;
    this.meta = { ...state.meta };
    this.s = Object.fromEntries(SECTION_NAMES.map((n) => [n, state.sections[n].draft()])) as unknown as SectionDrafts;
  }

  begin(): void {
    this.savedMeta = { ...this.meta };
    for (const n of SECTION_NAMES) this.s[n].begin();
  }

  commit(): void {
    this.savedMeta = null;
    for (const n of SECTION_NAMES) this.s[n].commit();
  }

  rollback(): void {
    if (this.savedMeta) this.meta = this.savedMeta;
    this.savedMeta = null;
    for (const n of SECTION_NAMES) this.s[n].rollback();
  }

  /** The new state; tipHash is the hash of the block that made it (use withTipHash once known). The draft is spent. */
  finish(tipHash: string): ChainState {
    const sections = Object.fromEntries(SECTION_NAMES.map((n) => [n, this.s[n].finish()])) as unknown as Sections;
    return { genesis: this.genesis, meta: { ...this.meta }, sections, tipHash };
  }

  // ── wallet helpers (arbitrary precision) ──
  balance(address: string): bigint {
    return BigInt(this.s.wallets.get(address) ?? '0');
  }

  credit(address: string, amount: bigint): void {
    if (amount === 0n) return;
    this.s.wallets.set(address, (this.balance(address) + amount).toString());
  }

  /** [MKT-CREDIT] millicents held for the address's unsettled P2P purchases */
  reserved(address: string): bigint {
    return BigInt(this.s.reserved.get(address) ?? '0');
  }

  reserve(address: string, amount: bigint): void {
    if (amount === 0n) return;
    const next = this.reserved(address) + amount;
    if (next === 0n) this.s.reserved.delete(address);
    else this.s.reserved.set(address, next.toString());
  }
}

// ── serialisation (snapshots, spec vectors) ──────────────────────────────────────

/**
 * v5: [FEEDER-1] feederLimits entries carry issuedAt and are written only by `feeder-limit`; v6: [DOMAIN-TX] every
 * transaction names the chain; v7: [FIN] the finality gadget (meta.justified, meta.finalized; justified, blockHashes, committees);
 * v8: [FIN-C] committees change only through finality (blockHashes entries carry committeeEpoch, the committee in force)
 */
export const STATE_FORMAT = 'tmi-chain-state-v8';

export interface SerializedState {
  format: typeof STATE_FORMAT;
  genesis: NormalisedGenesisConfig;
  stateRoot: string;
  tipHash: string;
  meta: StateMeta;
  sections: Record<SectionName, [string, unknown][]>;
}

/** Everything of a serialised state but its sections. */
function serializedHead(state: ChainState): Omit<SerializedState, 'sections'> {
  return { format: STATE_FORMAT, genesis: state.genesis.config, stateRoot: stateRoot(state), tipHash: state.tipHash, meta: { ...state.meta } };
}

export function serializeState(state: ChainState): SerializedState {
  const sections = {} as Record<SectionName, [string, unknown][]>;
  for (const n of SECTION_NAMES) sections[n] = state.sections[n].sortedEntries() as [string, unknown][];
  return { ...serializedHead(state), sections };
}

/**
 * The JSON text of serializeState(state), in pieces of at most `entriesPerPiece` entries, so
 * that a caller can write a large state without holding its thread for the whole of it
 * (a 10,000-home state took ~1.8 s in one piece). Entries are not sorted (deserializeState
 * does not need them to be): joined, the pieces parse to a state with the same root.
 */
export function* stateJsonPieces(state: ChainState, entriesPerPiece = 2000): Generator<string> {
  const head = JSON.stringify(serializedHead(state));
  yield head.slice(0, -1) + ',"sections":{';
  for (let s = 0; s < SECTION_NAMES.length; s++) {
    const n = SECTION_NAMES[s]!;
    let piece = (s > 0 ? ',' : '') + JSON.stringify(n) + ':[';
    let k = 0;
    for (const entry of state.sections[n].entries()) {
      piece += (k > 0 ? ',' : '') + JSON.stringify(entry);
      if (++k % entriesPerPiece === 0) {
        yield piece;
        piece = '';
      }
    }
    yield piece + ']';
  }
  yield '}}';
}

/** Rebuilds a state; throws STATE_INVALID when the format, genesis or root do not match. */
export function deserializeState(value: unknown): ChainState {
  const v = value as Partial<SerializedState> | null;
  const format: unknown = v?.format;
  if (typeof format === 'string' && format !== STATE_FORMAT && format.startsWith('tmi-chain-state-')) {
    throw new Error(`STATE_INVALID reason=old format format=${format} expected=${STATE_FORMAT}`);
  }
  if (!v || v.format !== STATE_FORMAT || !v.meta || !v.sections || !v.genesis || typeof v.tipHash !== 'string') throw new Error('STATE_INVALID reason=not a serialised chain state');
  const genesis = parseGenesis(v.genesis);
  if (genesis.hash !== v.meta.genesisHash) throw new Error(`STATE_INVALID reason=genesis mismatch expected=${v.meta.genesisHash} got=${genesis.hash}`);
  const sections = {} as Record<SectionName, HashedMap<unknown>>;
  for (const n of SECTION_NAMES) {
    const entries = v.sections[n];
    if (!Array.isArray(entries)) throw new Error(`STATE_INVALID reason=missing section ${n}`);
    sections[n] = HashedMap.fromEntries(entries);
  }
  const state: ChainState = { genesis, meta: { ...v.meta }, sections: sections as unknown as Sections, tipHash: v.tipHash };
  const root = stateRoot(state);
  if (v.stateRoot !== undefined && v.stateRoot !== root) throw new Error(`STATE_INVALID reason=state root mismatch expected=${v.stateRoot} got=${root}`);
  return state;
}
