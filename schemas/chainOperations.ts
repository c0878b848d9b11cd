/**
 * Parameters of chain operations (DESIGN §2, §3, §7) and the chain's genesis file.
 *
 * A chain transaction is itself a signed envelope of a transaction operation
 * (meter-reading, bid-offer, bid-reveal, auction-open, auction-close, certificate, revocation,
 * feeder-limit, transfer, evidence, market-order, market-reveal, justification, vote-evidence); a block carries them as plain objects and every node re-decodes
 * each one with the codec. A block header is signed on its own (headerSignature), so
 * that equivocation evidence carries two signed headers and no transactions.
 */
import { address, hash, height, id, isoDate, millicentsPerKWh, reqId, signature } from './common.js';

/** A signed envelope carried inside another message; decoded again by the receiver. */
export const embeddedEnvelope = {
  type: 'object',
  required: ['clientId', 'reqId', 'date', 'operation', 'signature', 'parameters'],
  properties: {
    clientId: { type: 'string', maxLength: 128 },
    reqId: { type: 'string', maxLength: 64 },
    date: { type: 'string', maxLength: 24 },
    operation: { type: 'string', maxLength: 32 },
    chain: { type: 'string', maxLength: 64 },
    signature: { type: 'string', maxLength: 88 },
    parameters: { type: 'object' },
  },
  additionalProperties: false,
} as const;

export const txParams = {
  type: 'object',
  additionalProperties: false,
  required: ['tx'],
  properties: { tx: embeddedEnvelope },
} as const;

/** Most transactions one block may carry (inclusion order = height × 100000 + index). */
export const MAX_TXS_PER_BLOCK = 20_000;

/**
 * [SUB] Most blocks the elected producer may make at one slot: the first, and up to four more,
 * each a child of the one before and each with transactions, so that a transaction waits for
 * the next of them (≈ S / 5) rather than for the next slot (S).
 */
export const BLOCKS_PER_SLOT = 5;

export const blockHeader = {
  type: 'object',
  additionalProperties: false,
  required: ['height', 'slot', 'epoch', 'parent', 'producer', 'txRoot', 'stateRoot'],
  properties: {
    height,
    slot: height,
    epoch: height,
    /** hash of the parent block (the genesis hash for height 1) */
    parent: hash,
    producer: address,
    /** Merkle root of the transaction ids, in block order */
    txRoot: hash,
    /** state root after applying this block */
    stateRoot: hash,
    /**
     * [SUB] the block's place in its producer's run of blocks at one slot: absent for the first
     * (0), 1 … BLOCKS_PER_SLOT − 1 for the next, each the child of the one before (poe-chain README)
     */
    sub: { type: 'integer', minimum: 1, maximum: BLOCKS_PER_SLOT - 1 },
    /**
     * [SEED] only in the first block of an epoch: the producer's ECVRF proof (80 bytes,
     * base64) over genesis hash ‖ uint64be(epoch) ‖ previous seed (poe-chain README)
     */
    seedProof: { type: 'string', minLength: 108, maxLength: 108, pattern: '^[A-Za-z0-9+/]{106}[AEIMQUYcgkosw048]=$' },
  },
} as const;

/** A header and the producer's Ed25519 signature over its domain-separated canonical bytes. */
export const signedHeader = {
  type: 'object',
  additionalProperties: false,
  required: ['header', 'headerSignature'],
  properties: { header: blockHeader, headerSignature: signature },
} as const;

export const blockParams = {
  type: 'object',
  additionalProperties: false,
  required: ['header', 'headerSignature', 'txs'],
  properties: {
    header: blockHeader,
    headerSignature: signature,
    txs: { type: 'array', maxItems: MAX_TXS_PER_BLOCK, items: embeddedEnvelope },
  },
} as const;

export const syncRequestParams = {
  type: 'object',
  additionalProperties: false,
  required: ['nodeId', 'fromHeight'],
  properties: {
    nodeId: id,
    fromHeight: height,
    maxBlocks: { type: 'integer', minimum: 1, maximum: 1000 },
  },
} as const;

export const syncResponseParams = {
  type: 'object',
  additionalProperties: false,
  required: ['requestReqId', 'blocks', 'tipHeight'],
  properties: {
    requestReqId: reqId,
    tipHeight: height,
    /** signed block envelopes */
    blocks: { type: 'array', maxItems: 1000, items: embeddedEnvelope },
  },
} as const;

/**
 * Equivocation evidence (DESIGN §7): two headers signed by one producer for one slot and
 * one place in that slot's run [SUB] with different hashes. Anyone may submit it as a transaction.
 */
export const evidenceParams = {
  type: 'object',
  additionalProperties: false,
  required: ['a', 'b'],
  properties: { a: signedHeader, b: signedHeader },
} as const;

/**
 * [FIN] A checkpoint of the finality gadget (poe-chain README "Finality"): the block `hash`
 * at `height`, as the head of a voter's chain in vote round `round` (a round is a slot
 * number: the voter's clock; the block's slot ≤ round).
 */
export const checkpoint = {
  type: 'object',
  additionalProperties: false,
  required: ['round', 'height', 'hash'],
  properties: { round: height, height, hash },
} as const;

/**
 * [FIN-V] A vote (an envelope of operation `vote`, signed by the committee member whose address
 * is its clientId, carrying this chain's `chain`): a supermajority link source → target.
 * Travels on tmi/v1/chain/votes; on chain only inside a `justification`.
 */
export const voteParams = {
  type: 'object',
  additionalProperties: false,
  required: ['source', 'target'],
  properties: { source: checkpoint, target: checkpoint },
} as const;

/** [FIN-J] one member's vote inside a justification: the envelope's fields that are not shared. */
export const voteSignature = {
  type: 'object',
  additionalProperties: false,
  required: ['voter', 'reqId', 'date', 'signature'],
  properties: { voter: address, reqId, date: isoDate, signature },
} as const;

/**
 * [FIN-J] A justification transaction: the votes of ≥ ⌊2n/3⌋ + 1 of the target's committee for
 * one link source → target, each the signature of a `vote` envelope rebuilt from
 * {clientId: voter, reqId, date, operation: "vote", chain, parameters: {source, target}}.
 */
export const justificationParams = {
  type: 'object',
  additionalProperties: false,
  required: ['source', 'target', 'votes'],
  properties: { source: checkpoint, target: checkpoint, votes: { type: 'array', minItems: 1, maxItems: 257, items: voteSignature } },
} as const;

/** [FIN-E] Two votes by one member that break a voting rule (double vote or surround vote). */
export const voteEvidenceParams = {
  type: 'object',
  additionalProperties: false,
  required: ['a', 'b'],
  properties: { a: embeddedEnvelope, b: embeddedEnvelope },
} as const;

/** [SYNC-C] A new or wiped node asks the archive for a final checkpoint to start from. */
export const checkpointRequestParams = {
  type: 'object',
  additionalProperties: false,
  required: ['nodeId'],
  properties: { nodeId: id },
} as const;

/** Most characters of serialised state in one checkpoint-response piece (4 MiB). */
export const CHECKPOINT_PIECE_CHARS = 4 * 1024 * 1024;

/**
 * [SYNC-C] One piece of the archive's answer: the final checkpoint, its block, the two justified
 * links that make it final (J → checkpoint, checkpoint → the next round), and the state after
 * the block as serialised JSON text cut in `pieces` pieces (this one is `piece`, from 0).
 */
export const checkpointResponseParams = {
  type: 'object',
  additionalProperties: false,
  required: ['requestReqId', 'checkpoint', 'piece', 'pieces', 'state'],
  properties: {
    requestReqId: reqId,
    checkpoint,
    piece: { type: 'integer', minimum: 0, maximum: 4095 },
    pieces: { type: 'integer', minimum: 1, maximum: 4096 },
    /** only in piece 0 */
    block: embeddedEnvelope,
    /** only in piece 0 */
    proof: { type: 'array', minItems: 2, maxItems: 2, items: justificationParams },
    state: { type: 'string', maxLength: CHECKPOINT_PIECE_CHARS },
  },
} as const;

/** A starting balance in the genesis file. */
export const genesisBalance = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'millicents'],
  properties: {
    address,
    millicents: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000_000 },
  },
} as const;

const ms = (min: number, max: number) => ({ type: 'integer', minimum: min, maximum: max }) as const;

/**
 * The genesis file (JSON) every node of one chain shares. Its canonical hash is the
 * parent of block 1. Durations in integer milliseconds, money in millicents.
 */
export const genesisConfig = {
  type: 'object',
  additionalProperties: false,
  required: ['chainId', 'genesisTime', 'registryKey', 'aggregatorKey', 'aggregatorNodeKey'],
  properties: {
    chainId: id,
    /** start of slot 0 and of epoch 0; a multiple of intervalMs since the Unix epoch */
    genesisTime: isoDate,
    /** registry public key (hex): signs certificates, revocations and feeder limits [FEEDER-1] */
    registryKey: address,
    /** aggregator public key (hex): the only signer of auction-open / auction-close; its wallet funds settlements */
    aggregatorKey: address,
    /** the aggregator's chain node (hex): produces blocks when no validator is eligible */
    aggregatorNodeKey: address,
    /** slot length S (default 250) */
    slotMs: ms(10, 3_600_000),
    /** patience W, in slots (default 8: a heartbeat every W·S = 2 s) */
    patience: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    /** metering interval = epoch length (default 900000 = 15 min) */
    intervalMs: ms(1000, 86_400_000),
    /** minted to the producer of each block if certified RE or RE+TE (default 1000) */
    blockRewardMc: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 },
    /** penalty per kWh of shortfall in settlements (default 5000 = 5 cents/kWh) */
    penaltyMcPerKWh: millicentsPerKWh,
    /** an auction-close is taken until closesAt + voidGraceMs (default 120000) */
    voidGraceMs: ms(0, 86_400_000),
    /** [SEALED] bidders reveal sealed bids in [closesAt, closesAt + revealWindowMs) (default 60000) */
    revealWindowMs: ms(1000, 86_400_000),
    /** [SEALED] fee a bidder pays the aggregator for a sealed bid it did not reveal (default 10000 = 10 cents) */
    unrevealedPenaltyMc: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 },
    /** awards still without a reading settle with 0 Wh measured at delivery end + settleGraceMs (default 2 intervals) */
    settleGraceMs: ms(0, 7 * 86_400_000),
    /** a transaction's date must lie in [block time − txWindowMs, block time + txFutureMs] (default 1 h) */
    txWindowMs: ms(1000, 7 * 86_400_000),
    /** (default 120000) */
    txFutureMs: ms(0, 3_600_000),
    /** (default 5000; at most 20000) */
    maxTxsPerBlock: { type: 'integer', minimum: 1, maximum: MAX_TXS_PER_BLOCK },
    /**
     * [CPF] which consumption C the PoE score |P − C| uses (default "paper"): "paper" = the
     * loads plus the energy absorbed by storage (charging), discharge is neither P nor C
     * (seed paper §V-F); "net-exchange" = loads + charged − discharged (the home's net grid
     * exchange, the rule of the first chains)
     */
    cpfRule: { enum: ['paper', 'net-exchange'] },
    /**
     * [SYBIL] certificate period (default 86400000 = one UTC day): a certificate lies within one
     * period ⌊t / certPeriodMs⌋ (Unix time); a multiple of intervalMs
     */
    certPeriodMs: ms(60_000, 7 * 86_400_000),
    /**
     * [CENSOR] the last inclusionSlots slots of every epoch belong to the aggregator's node,
     * which includes every valid transaction it holds (default W, at most a quarter of an epoch; 0 = none)
     */
    inclusionSlots: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    /**
     * [MKT] gate closure: the P2P market of a delivery interval clears at its start minus
     * gateClosureMs (default ⌊intervalMs / 3⌋ = 5 minutes of 15); orders for it are taken until
     * the gate minus revealWindowMs, reveals in [gate − revealWindowMs, gate)
     */
    gateClosureMs: ms(0, 86_400_000),
    /** [MKT] the P2P market's pricing rule (default "uniform": every trade at the market-clearing price) */
    marketPricing: { enum: ['uniform', 'pay-as-bid'] },
    /** [MKT-CREDIT] how far below zero a home's market purchases may take its wallet (default 1000000 = 10 €) */
    creditLimitMc: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 },
    /** [MKT-SETTLE] what a P2P trader pays the aggregator per kWh it fails to deliver or take (default 30000 = 30 cents/kWh) */
    imbalancePriceMcPerKWh: millicentsPerKWh,
    /** [CPF] equal scores are broken by the readings of this many earlier intervals (default readingRetentionIntervals − 2 = 14) */
    cpfWindowIntervals: { type: 'integer', minimum: 0, maximum: 1000 },
    /**
     * a node remembers signed headers for equivocation evidence 4 · finalityDepth · W slots back
     * (default 32). Not a finality rule (the name is older than the gadget): blocks are final by
     * the finality gadget's votes [FIN] (committeeSize)
     */
    finalityDepth: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    /**
     * [FIN] the finality committee of an epoch: the first committeeSize addresses of its ranking
     * and the aggregator's node (unless it equivocated) (default 12)
     */
    committeeSize: { type: 'integer', minimum: 1, maximum: 256 },
    /** readings (and the certificates they need) are kept this many intervals (default 16) */
    readingRetentionIntervals: { type: 'integer', minimum: 4, maximum: 100_000 },
    /** settled or void auctions are kept this many intervals after delivery (default 96 = 1 day of 15-min intervals) */
    auctionRetentionIntervals: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    balances: { type: 'array', maxItems: 100_000, items: genesisBalance },
  },
} as const;
