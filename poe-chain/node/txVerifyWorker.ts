/**
 * Worker thread of the transaction verify pool (txVerifyPool.ts): decodes transaction
 * envelopes with the chain's codec (schema and Ed25519 signature, no replay check) and
 * answers, in order, the transaction id of each valid one (null for an invalid one: the
 * main thread decodes those itself, to raise the rule's own error).
 */
import { parentPort } from 'node:worker_threads';
import { createCodec } from '../../wire/codec.js';
import { txId } from '../core/txId.js';

const codec = createCodec({ replayCheck: false });

function verify(tx: unknown): string | null {
  try {
    codec.decodeValue(tx, { replayCheck: false });
    return txId(tx);
  } catch {
    return null;
  }
}

parentPort?.on('message', (batch: { seq: number; txs: unknown[] }) => {
  parentPort?.postMessage({ seq: batch.seq, ids: batch.txs.map(verify) });
});
