/**
 * Worker thread of the transaction verify pool (txVerifyPool.ts): decodes transaction
 * envelopes with the chain's codec (schema and Ed25519 signature, no replay check) and
 * answers the transaction id of each valid one (null for an invalid one: the main thread
 * decodes those itself, to raise the rule's own error).
 *
 * A job's transactions are cut into chunks that the workers and the main thread claim
 * from one shared counter (Atomics), so whoever is free verifies the next chunk: the work
 * splits by each thread's speed, not by a fixed share. A worker answers the chunks it
 * verified.
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

export interface VerifyJobMessage {
  seq: number;
  txs: unknown[];
  chunk: number;
  /** Int32Array over a SharedArrayBuffer: [0] = the next chunk to claim */
  next: Int32Array;
}

export interface VerifyJobAnswer {
  seq: number;
  /** the chunks this worker verified, and their answers in order */
  chunks: number[];
  ids: (string | null)[][];
}

parentPort?.on('message', (job: VerifyJobMessage) => {
  const chunks: number[] = [];
  const ids: (string | null)[][] = [];
  const count = Math.ceil(job.txs.length / job.chunk);
  for (let c = Atomics.add(job.next, 0, 1); c < count; c = Atomics.add(job.next, 0, 1)) {
    chunks.push(c);
    ids.push(job.txs.slice(c * job.chunk, (c + 1) * job.chunk).map(verify));
  }
  const answer: VerifyJobAnswer = { seq: job.seq, chunks, ids };
  parentPort?.postMessage(answer);
});
