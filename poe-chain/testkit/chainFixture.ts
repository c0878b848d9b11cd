/**
 * A deterministic chain for tests, spec vectors and benchmarks: keys from fixed seeds,
 * deterministic request ids, transaction builders, and a producer that always signs
 * with the elected key. Not for production use.
 */
import { signEnvelope } from '../../wire/codec.js';
import { keyPairFromSeed, signBytes, type KeyPair } from '../../wire/keys.js';
import { canonicalBytes } from '../../wire/canonicalJson.js';
import { whToEnergy, millicentsToPrice } from '../../wire/quantities.js';
import type { Operation } from '../../schemas/envelope.js';
import type { BidOffer, Certificate, Checkpoint, Envelope, GenesisConfig, OpenBid, Params, Revocation, SealedBid, SignedFeederLimit } from '../../schemas/types.js';
import { feederLimitSigningBytes } from '../core/tx/registrySignature.js';
import { sha256 } from '../core/hashing.js';
import { orderCommitment } from '../core/market/orderCommitment.js';
import { bidCommitment } from '../core/auction/sealedBid.js';
import { parseGenesis, slotTime, epochStart, type Genesis } from '../core/genesis.js';
import { createGenesisState, stateRoot, type ChainState, type Programme } from '../core/chainState.js';
import { producerForSlot } from '../core/electProducer.js';
import { buildBlock, type BuiltBlock } from '../core/buildBlock.js';
import { validateAndApplyBlock } from '../core/validateAndApplyBlock.js';
import { voteSignatureOf } from '../core/finality.js';

/** An Ed25519 key from a fixed seed: SHA-256("tmi-testkit/" + name). */
export function testKey(name: string): KeyPair {
  return keyPairFromSeed(sha256(`tmi-testkit/${name}`));
}

export const TEST_GENESIS_TIME = '2026-11-21T00:00:00.000Z';

/** [SYBIL] The end of the certificate period (default one UTC day) holding time t, ms. */
export function periodEnd(t: number, periodMs = 86_400_000): number {
  return (Math.floor(t / periodMs) + 1) * periodMs;
}

/** A registry tag for tests: one per name (a name stands for one meter in one period). */
export function testTag(name: string): string {
  return sha256(`tmi-testkit/tag/${name}`).toString('hex');
}

/**
 * The test chain's genesis. It fixes S = 250 ms and W = 8 (the first chains' defaults): the
 * spec vectors and the tests' slot arithmetic are written for them; and
 * auctionRetentionIntervals = 672 (the default before format v8): the genesis hash seeds the
 * rankings' tie-breaks, and the vectors' elections are written for this hash. The defaults of
 * new chains (GENESIS_DEFAULTS) are checked in chainPrimitives.test.ts.
 */
export function testGenesisConfig(over: Partial<GenesisConfig> = {}): GenesisConfig {
  return {
    chainId: 'tmi-test',
    genesisTime: TEST_GENESIS_TIME,
    registryKey: testKey('registry').address,
    aggregatorKey: testKey('aggregator').address,
    aggregatorNodeKey: testKey('aggregator-node').address,
    slotMs: 250,
    patience: 8,
    auctionRetentionIntervals: 672,
    balances: [{ address: testKey('aggregator').address, millicents: 1_000_000_000 }],
    ...over,
  };
}

export interface FixtureOptions {
  genesis?: Partial<GenesisConfig>;
  /** prefix of deterministic request ids (default 'r') */
  reqIdPrefix?: string;
}

export class ChainFixture {
  readonly genesis: Genesis;
  state: ChainState;
  readonly registry = testKey('registry');
  readonly aggregator = testKey('aggregator');
  readonly node = testKey('aggregator-node');
  readonly blocks: BuiltBlock[] = [];
  private readonly keys = new Map<string, KeyPair>();
  private counter = 0;

  constructor(private readonly opts: FixtureOptions = {}) {
    this.genesis = parseGenesis(testGenesisConfig(opts.genesis));
    this.state = createGenesisState(this.genesis);
    for (const k of [this.registry, this.aggregator, this.node]) this.keys.set(k.address, k);
  }

  key(name: string): KeyPair {
    const k = testKey(name);
    this.keys.set(k.address, k);
    return k;
  }

  /** Makes a key of the test's own known to the fixture (e.g. one a registry certified). */
  addKey(kp: KeyPair): void {
    this.keys.set(kp.address, kp);
  }

  keyOf(address: string): KeyPair | undefined {
    return this.keys.get(address);
  }

  /** ISO time of the start of a slot. */
  at(slot: number): string {
    return new Date(slotTime(this.genesis, slot)).toISOString();
  }

  /** The first slot of an epoch. */
  firstSlotOf(epoch: number): number {
    return (epoch * this.genesis.intervalMs) / this.genesis.slotMs;
  }

  interval(epoch: number): { start: string; end: string } {
    return { start: new Date(epochStart(this.genesis, epoch)).toISOString(), end: new Date(epochStart(this.genesis, epoch + 1)).toISOString() };
  }

  nextReqId(): string {
    return sha256(`${this.opts.reqIdPrefix ?? 'r'}/${this.counter++}`).subarray(0, 16).toString('base64url');
  }

  /**
   * A signed envelope dated `date` (default: the next slot's start), for this chain [DOMAIN-TX]
   * unless `chain` says another genesis hash (or null: none).
   */
  sign<O extends Operation>(kp: KeyPair, op: O, params: Params<O>, date?: string, chain: string | null = this.genesis.hash): Envelope<O> {
    return signEnvelope(kp, op, params, { reqId: this.nextReqId(), date: date ?? this.at(this.state.meta.tipSlot + 1), ...(chain !== null ? { chain } : {}) });
  }

  certificate(address: string, o: { programme?: Programme; feeder?: string; validFrom?: string; validTo?: string; tag?: string } = {}): Certificate {
    const validFrom = o.validFrom ?? TEST_GENESIS_TIME;
    const unsigned = {
      address,
      validFrom,
      validTo: o.validTo ?? new Date(periodEnd(Date.parse(validFrom), this.genesis.certPeriodMs)).toISOString(),
      feeder: o.feeder ?? 'F1',
      programme: o.programme ?? 'RE+TE',
      // [SYBIL] by default each pseudonym stands for its own meter
      tag: o.tag ?? testTag(address),
    };
    return { ...unsigned, registrySignature: signBytes(this.registry, canonicalBytes(unsigned)).toString('base64') };
  }

  /** A certificate transaction, signed by the pseudonym itself. */
  certTx(kp: KeyPair, o: Parameters<ChainFixture['certificate']>[1] = {}, date?: string): Envelope<'certificate'> {
    this.keys.set(kp.address, kp);
    return this.sign(kp, 'certificate', this.certificate(kp.address, o), date);
  }

  revocationTx(addresses: string[], signer: KeyPair = this.registry, revokedAt?: string, date?: string): Envelope<'revocation'> {
    const unsigned = { addresses, reason: 'test', revokedAt: revokedAt ?? this.at(this.state.meta.tipSlot + 1) };
    const r: Revocation = { ...unsigned, registrySignature: signBytes(this.registry, canonicalBytes(unsigned)).toString('base64') };
    return this.sign(signer, 'revocation', r, date);
  }

  /**
   * [FEEDER-1] a feeder limit signed by the registry key (or `signer`, to forge one), issued at
   * `issuedAt` (default: the next slot's start).
   */
  feederLimit(feeder: string, maxExportWh: number, maxImportWh: number, o: { issuedAt?: string; signer?: KeyPair } = {}): SignedFeederLimit {
    const unsigned = { feeder, maxExportWh, maxImportWh, issuedAt: o.issuedAt ?? this.at(this.state.meta.tipSlot + 1) };
    return { ...unsigned, registrySignature: signBytes(o.signer ?? this.registry, feederLimitSigningBytes(unsigned)).toString('base64') };
  }

  /** [FEEDER-1] a `feeder-limit` transaction posting `limit`, signed by `signer` (default the aggregator, which relays the registry's records). */
  feederLimitTx(limit: SignedFeederLimit, signer: KeyPair = this.aggregator, date?: string): Envelope<'feeder-limit'> {
    return this.sign(signer, 'feeder-limit', limit, date);
  }

  readingTx(kp: KeyPair, epoch: number, w: { p?: number; c?: number; ch?: number; dis?: number; soc?: number }, seq: number, date?: string): Envelope<'meter-reading'> {
    return this.sign(
      kp,
      'meter-reading',
      {
        address: kp.address,
        interval: this.interval(epoch),
        seq,
        producedWh: w.p ?? 0,
        consumedWh: w.c ?? 0,
        chargedWh: w.ch ?? 0,
        dischargedWh: w.dis ?? 0,
        socPermille: w.soc ?? 500,
      },
      date,
    );
  }

  auctionOpenTx(
    auctionId: string,
    o: { side?: 'buy' | 'sell'; energyWh?: number; limitMc?: number; deliveryEpoch: number; closesAt: string; pricing?: 'pay-as-bid' | 'uniform'; sealed?: boolean; feederLimits?: { feeder: string; maxExportWh: number; maxImportWh: number }[] },
    signer: KeyPair = this.aggregator,
    date?: string,
  ): Envelope<'auction-open'> {
    return this.sign(
      signer,
      'auction-open',
      {
        auctionId,
        side: o.side ?? 'buy',
        energy: whToEnergy(o.energyWh ?? 10_000),
        limitPrice: millicentsToPrice(o.limitMc ?? 20_000),
        delivery: this.interval(o.deliveryEpoch),
        closesAt: o.closesAt,
        pricing: o.pricing ?? 'pay-as-bid',
        sealed: o.sealed ?? false,
        ...(o.feederLimits !== undefined ? { feederLimits: o.feederLimits } : {}),
      },
      date,
    );
  }

  auctionCloseTx(auctionId: string, signer: KeyPair = this.aggregator, date?: string): Envelope<'auction-close'> {
    return this.sign(signer, 'auction-close', { auctionId }, date);
  }

  /** [SEALED] a sealed bid of `kp` (commitment with a salt derived from `label`) and the reveal that opens it. */
  sealedBid(kp: KeyPair, auctionId: string, bid: OpenBid, label = `${auctionId}/${kp.address}`): { sealed: SealedBid; reveal: (date?: string, salt?: string) => Envelope<'bid-reveal'> } {
    const salt = sha256(`salt/${label}`).toString('hex');
    const sealed = { commitment: bidCommitment({ auctionId, address: kp.address, bid, salt }) };
    return { sealed, reveal: (date, other) => this.sign(kp, 'bid-reveal', { auctionId, address: kp.address, bid, salt: other ?? salt }, date) };
  }

  openBid(type: 'buy' | 'sell', energyWh: number, priceMc: number): OpenBid {
    return { type, energy: whToEnergy(energyWh), price: millicentsToPrice(priceMc) };
  }

  bidTx(kp: KeyPair, auctionId: string, bid: { open?: OpenBid; sealed?: SealedBid }, feeder = 'F1', date?: string): Envelope<'bid-offer'> {
    const base = { auctionId, address: kp.address, cpf: 0.5, feeder };
    const params = (bid.sealed !== undefined ? { ...base, sealed: bid.sealed } : { ...base, bid: bid.open! }) as BidOffer;
    return this.sign(kp, 'bid-offer', params, date);
  }

  /**
   * [MKT] a sealed P2P order of `kp` for `intervals` intervals from `firstEpoch` (salt derived
   * from the order id), the envelope that posts it and the reveal that opens it.
   */
  marketOrder(
    kp: KeyPair,
    orderId: string,
    o: { side: 'buy' | 'sell'; energyWh: number; priceMc: number; firstEpoch: number; intervals?: number; feeder?: string },
  ): { tx: (date?: string) => Envelope<'market-order'>; reveal: (date?: string, salt?: string) => Envelope<'market-reveal'> } {
    const salt = sha256(`salt/order/${kp.address}/${orderId}`).toString('hex');
    const commitment = orderCommitment({ orderId, address: kp.address, side: o.side, energyWh: o.energyWh, priceMcPerKWh: o.priceMc, salt });
    return {
      tx: (date) =>
        this.sign(kp, 'market-order', {
          orderId, address: kp.address, feeder: o.feeder ?? 'F1', side: o.side, delivery: this.interval(o.firstEpoch), intervals: o.intervals ?? 1, commitment,
        }, date),
      reveal: (date, other) => this.sign(kp, 'market-reveal', { orderId, address: kp.address, energyWh: o.energyWh, priceMcPerKWh: o.priceMc, salt: other ?? salt }, date),
    };
  }

  transferTx(from: KeyPair, to: string, amountMillicents: number, date?: string): Envelope<'transfer'> {
    return this.sign(from, 'transfer', { to, amountMillicents }, date);
  }

  /**
   * [FIN-J] The checkpoint {round, height, hash} of this chain's block at `height` (default: the
   * tip): the tip's hash, else the state's blockHashes (which hold the blocks from the final
   * one up to the tip's parent).
   */
  checkpoint(round: number, height = this.state.meta.height): Checkpoint {
    const hash = height === this.state.meta.height ? this.state.tipHash : this.state.sections.blockHashes.get(String(height))?.hash;
    if (hash === undefined) throw new Error(`FIXTURE no block hash at height ${height}`);
    return { round, height, hash };
  }

  /**
   * [FIN-V] `kp`'s vote for the link source → target: an envelope of operation `vote` for this
   * chain (or `chain`: another genesis hash), with the fixture's next deterministic reqId.
   */
  vote(kp: KeyPair, source: Checkpoint, target: Checkpoint, date?: string, chain: string = this.genesis.hash): Envelope<'vote'> {
    return this.sign(kp, 'vote', { source, target }, date, chain);
  }

  /** [FIN-V] one vote of each key for the same link. */
  votes(kps: readonly KeyPair[], source: Checkpoint, target: Checkpoint, date?: string): Envelope<'vote'>[] {
    return kps.map((kp) => this.vote(kp, source, target, date));
  }

  /**
   * [FIN-J] A justification transaction carrying `votes` (each as {voter, reqId, date, signature})
   * for the link of the first vote, or `link` when given (to test a vote for another link),
   * signed by `signer` (default the aggregator's node: anyone may submit one).
   */
  justificationTx(votes: readonly Envelope<'vote'>[], o: { link?: Params<'vote'>; signer?: KeyPair; date?: string } = {}): Envelope<'justification'> {
    const link = o.link ?? votes[0]?.parameters;
    if (link === undefined) throw new Error('FIXTURE a justification needs a vote or a link');
    return this.sign(o.signer ?? this.node, 'justification', { source: link.source, target: link.target, votes: votes.map(voteSignatureOf) }, o.date);
  }

  /** [FIN-E] A vote-evidence transaction: the two vote envelopes `a` and `b`, submitted by `signer` (default the aggregator's node). */
  voteEvidenceTx(a: Envelope<'vote'>, b: Envelope<'vote'>, signer: KeyPair = this.node, date?: string): Envelope<'vote-evidence'> {
    return this.sign(signer, 'vote-evidence', { a, b }, date);
  }

  /**
   * Builds the next block at `slot` (default: the next slot, or the first heartbeat slot
   * p + W for an empty block [REWARD]) with the elected producer's key, re-validates it as
   * a follower would, checks both agree, and advances.
   */
  produce(txs: readonly unknown[], slot = this.state.meta.tipSlot + (txs.length === 0 ? this.genesis.patience : 1), o: { allowRejects?: boolean } = {}): BuiltBlock {
    const producer = producerForSlot(this.state, slot);
    const kp = this.keys.get(producer);
    if (!kp) throw new Error(`FIXTURE no key for elected producer ${producer}`);
    const built = buildBlock(this.state, txs, kp, slot, slotTime(this.genesis, slot));
    if (!o.allowRejects && built.rejected.length > 0) throw new Error(`FIXTURE rejected txs: ${built.rejected.map((r) => r.message).join('; ')}`);
    const check = validateAndApplyBlock(this.state, JSON.parse(JSON.stringify(built.block)), { now: slotTime(this.genesis, slot) });
    if (check.hash !== built.hash || stateRoot(check.state) !== stateRoot(built.state)) throw new Error('FIXTURE built and validated blocks disagree');
    this.state = check.state;
    this.blocks.push(built);
    return built;
  }
}
