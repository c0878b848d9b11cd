/**
 * Worker thread of the verify pool: decodes envelopes with the codec (size, JSON,
 * schema, signature; no replay — the main thread keeps the one replay guard). Jobs come
 * in batches; results go back in the same order, as a bare verdict: the main thread has
 * parsed the same bytes already, so the envelope is not copied back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { createCodec } from '../wire/codec.js';
import { isWireError } from '../wire/errors.js';
import { PublicKeyCache } from '../wire/keys.js';
import type { VerifyJob, VerifyResult } from './verifyPool.js';

const { maxBytes } = workerData as { maxBytes: number };
const meterKeys = new PublicKeyCache(10_000);
let jobKey: KeyObject | undefined;
const codec = createCodec({ maxBytes, replayCheck: false, resolveKey: () => jobKey });

const OK: VerifyResult = { ok: true };

function verify(job: VerifyJob): VerifyResult {
  try {
    jobKey = job.key !== undefined ? meterKeys.get(job.key) : undefined;
    codec.decode(job.payload);
    return OK;
  } catch (err) {
    if (isWireError(err)) return { ok: false, code: err.code, message: err.message };
    return { ok: false, code: 'VERIFIER_FAILED', message: (err as Error).message };
  } finally {
    jobKey = undefined;
  }
}

parentPort?.on('message', (batch: { seq: number; jobs: VerifyJob[] }) => {
  parentPort?.postMessage({ seq: batch.seq, results: batch.jobs.map(verify) });
});
