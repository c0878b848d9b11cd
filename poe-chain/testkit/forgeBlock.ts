/**
 * Hand-made blocks for tests and spec vectors: any header and transactions, correctly
 * signed by the given key, so that exactly the rule under test fails.
 */
import { signEnvelope } from '../../wire/codec.js';
import type { KeyPair } from '../../wire/keys.js';
import type { BlockHeader, EmbeddedEnvelope, Envelope } from '../../schemas/types.js';
import type { ChainState } from '../core/chainState.js';
import { stateRoot } from '../core/chainState.js';
import { blockHash, signHeader } from '../core/blockHash.js';
import { epochOfSlot, slotTime } from '../core/genesis.js';
import { previousSeed, proveSeed } from '../core/epochSeed.js';
import { merkleRoot } from '../core/merkleRoot.js';
import { txId } from '../core/txId.js';

export interface ForgeOptions {
  slot: number;
  producer: KeyPair;
  txs?: readonly unknown[];
  /** fields that replace the computed ones */
  header?: Partial<BlockHeader>;
  /** sign the envelope with another key (the header is still signed by producer) */
  envelopeSigner?: KeyPair;
  /** sign the header with another key */
  headerSigner?: KeyPair;
  /** sign the header for another chain's genesis hash [DOMAIN] */
  chain?: string;
  /** leave out the [SEED] proof the first block of an epoch carries (made with the producer's key) */
  noSeedProof?: boolean;
}

export function forgeBlock(parent: ChainState, o: ForgeOptions): Envelope<'block'> {
  const txs = (o.txs ?? []) as EmbeddedEnvelope[];
  const epoch = epochOfSlot(parent.genesis, o.slot);
  const first = epoch > parent.meta.rankingEpoch && !o.noSeedProof;
  const seedProof = first ? proveSeed(o.producer.seed, parent.genesis.hash, epoch, previousSeed(parent.meta)).proof : undefined;
  const header: BlockHeader = {
    height: parent.meta.height + 1,
    slot: o.slot,
    epoch: epochOfSlot(parent.genesis, o.slot),
    parent: parent.tipHash,
    producer: o.producer.address,
    txRoot: merkleRoot(txs.map((t) => txId(t))),
    stateRoot: stateRoot(parent),
    ...(seedProof !== undefined ? { seedProof } : {}),
    ...o.header,
  };
  const hash = blockHash(header);
  return signEnvelope(
    o.envelopeSigner ?? o.producer,
    'block',
    { header, headerSignature: signHeader(o.headerSigner ?? o.producer, header, o.chain ?? parent.genesis.hash), txs },
    { date: new Date(slotTime(parent.genesis, o.slot)).toISOString(), reqId: Buffer.from(hash, 'hex').subarray(0, 16).toString('base64url') },
  );
}

/** The same block with its header changed and everything re-signed by `kp`. */
export function resignBlock(block: Envelope<'block'>, kp: KeyPair, header: Partial<BlockHeader>, parent: ChainState): Envelope<'block'> {
  return forgeBlock(parent, { slot: header.slot ?? block.parameters.header.slot, producer: kp, txs: block.parameters.txs, header: { ...block.parameters.header, ...header } });
}
