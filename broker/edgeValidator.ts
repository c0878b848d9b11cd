/**
 * Edge validation of one PUBLISH (DESIGN §2, §3), as a list of named steps:
 *
 *   [EDGE-1] ACL: the login's role may publish on the topic      NOT_AUTHORIZED_TOPIC
 *   [EDGE-2] retained only on auctions/{id}[/result], schedule and market/results/{n}   RETAIN_NOT_ALLOWED
 *   [EDGE-3] a route: the topic carries some operation           TOPIC_MISMATCH
 *   [EDGE-4] size (broker max, then the operation's own limit)   MESSAGE_TOO_LARGE
 *   [EDGE-5] JSON                                                MALFORMED_JSON
 *   [EDGE-6] operation belongs on the topic                      TOPIC_MISMATCH
 *   [EDGE-7] a meter-id clientId is the login's own               NOT_YOUR_ID
 *   [EDGE-8] schema + signature (codec, replay deferred)         SCHEMA_* / BAD_SIGNATURE / …
 *   [EDGE-9] ids in the topic = ids in the parameters            TOPIC_MISMATCH
 *   [EDGE-10] an address clientId is the login's key or a pseudonym certified to it   NOT_YOUR_ID
 *   [EDGE-11] replay: fresh (clientId, reqId), date within skew   REPLAYED / STALE_DATE
 *   [EDGE-12] a home's sync-request / checkpoint-request names its own meter id as nodeId    NOT_YOUR_ID
 *            (the answer goes to tmi/v1/chain/sync/response/{nodeId}: a request naming another
 *            node's id made the archive send pages of blocks to that node, a reflection that
 *            turns a 300-byte request into up to a page of blocks at the victim)
 *
 * [EDGE-reqId] Every rejection of a payload that parses (≤ maxBytes, JSON, a string reqId of
 * ≤ 64 characters) carries that reqId, whichever step refused it; an unparseable or oversize
 * payload's carries none.
 *
 * Steps 1–2 always run; 3–12 only for topics under tmi/v1/ and when validation is on.
 * Replay is last so that a rejected message never uses up its reqId. The result is
 * synchronous unless a pseudonym owner is not cached (then a Promise), so messages of
 * one client keep their order in the common case.
 */
import type { KeyObject } from 'node:crypto';
import { operations, type Operation } from '../schemas/envelope.js';
import type { AnyEnvelope } from '../schemas/types.js';
import type { Codec } from '../wire/codec.js';
import { isWireError } from '../wire/errors.js';
import { isAddress } from '../wire/keys.js';
import type { Rejection } from './brokerErrors.js';
import type { DirectoryCache } from './directoryCache.js';
import type { Role } from './meterDirectory.js';
import { canPublish, canRetain, TOPIC_PREFIX } from './topicAcl.js';
import { checkRoute, routeOf } from './topicOperation.js';
import type { VerifyJob, VerifyResult } from './verifyPool.js';

/** What the broker knows about a logged-in client. */
export interface Login {
  meterId: string;
  role: Role;
  /** lowercase hex of the meter's public key: its own address */
  address: string;
  key: KeyObject;
}

export type Verdict = { ok: true; env?: AnyEnvelope } | { ok: false; rejection: Rejection };

export interface EdgeValidatorOptions {
  codec: Codec;
  cache: DirectoryCache;
  /** largest payload under tmi/v1/, bytes (each operation also has its own limit) */
  maxBytes: number;
  /** false: only ACL and retain rules (for comparison benchmarks) */
  validate?: boolean;
  /**
   * Runs step 8 (codec decode without replay) elsewhere, e.g. a worker pool; the shard
   * is the login's meter id. Default: the codec on this thread.
   */
  verifier?: (shard: string, job: VerifyJob) => Promise<VerifyResult>;
}

export interface EdgeValidator {
  check(login: Login, topic: string, payload: Buffer, retain: boolean): Verdict | Promise<Verdict>;
}

const OK: Verdict = { ok: true };

function reject(code: Rejection['code'], reason: string, reqId?: string): Verdict {
  return { ok: false, rejection: reqId === undefined ? { code, reason } : { code, reason, reqId } };
}

function readableReqId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = (value as { reqId?: unknown }).reqId;
  return typeof r === 'string' && r.length <= 64 ? r : undefined;
}

/**
 * [EDGE-reqId] The reqId of a refused publish, for its error message, when the payload can be
 * read: at most `maxBytes`, JSON, an object whose `reqId` is a string of ≤ 64 characters.
 * Otherwise undefined (the error then carries no reqId). Used by the refusals that come before
 * the envelope is parsed (ACL, retain, route, size, rate), so every error about a publish
 * whose envelope could be parsed names it.
 */
export function reqIdOf(payload: Buffer, maxBytes: number): string | undefined {
  if (payload.length === 0 || payload.length > maxBytes) return undefined;
  try {
    return readableReqId(JSON.parse(payload.toString('utf8')));
  } catch {
    return undefined;
  }
}

export function createEdgeValidator(opts: EdgeValidatorOptions): EdgeValidator {
  const { codec, cache, maxBytes } = opts;
  const validate = opts.validate ?? true;

  function replayStep(env: AnyEnvelope): Verdict {
    // [EDGE-11]
    try {
      codec.replay.check(env.clientId, env.reqId, env.date);
    } catch (err) {
      if (isWireError(err)) return reject(err.code, err.message, env.reqId);
      throw err;
    }
    return { ok: true, env };
  }

  function ownerStep(login: Login, env: AnyEnvelope): Verdict | Promise<Verdict> {
    // [EDGE-10]
    const id = env.clientId;
    if (login.role === 'admin' || id === login.meterId || id === login.address) return replayStep(env);
    if (!isAddress(id)) return reject('NOT_YOUR_ID', `clientId ${id} is not ${login.meterId}`, env.reqId);
    const peek = cache.peekOwner(id);
    if (peek !== undefined) {
      return peek === login.meterId
        ? replayStep(env)
        : reject('NOT_YOUR_ID', `pseudonym ${id} is not certified to ${login.meterId}`, env.reqId);
    }
    return cache.pseudonymOwner(id).then(
      (owner) =>
        owner === login.meterId
          ? replayStep(env)
          : reject('NOT_YOUR_ID', `pseudonym ${id} is not certified to ${login.meterId}`, env.reqId),
      (err: unknown) => reject('DIRECTORY_UNAVAILABLE', `pseudonym look-up failed: ${(err as Error).message}`, env.reqId),
    );
  }

  function check(login: Login, topic: string, payload: Buffer, retain: boolean): Verdict | Promise<Verdict> {
    // [EDGE-1]
    if (!canPublish(login.role, login.meterId, topic)) {
      return reject('NOT_AUTHORIZED_TOPIC', `role ${login.role} may not publish on ${topic}`, reqIdOf(payload, maxBytes));
    }
    // [EDGE-2]
    if (retain && !canRetain(login.role, topic)) {
      return reject('RETAIN_NOT_ALLOWED', `no retained messages on ${topic} from role ${login.role}`, reqIdOf(payload, maxBytes));
    }
    if (!validate || !topic.startsWith(TOPIC_PREFIX)) return OK;
    // an empty retained publish clears the retained message [MQTT-3.3.1-10]
    if (retain && payload.length === 0) return OK;

    // [EDGE-3]
    const route = routeOf(topic);
    if (route === undefined) return reject('TOPIC_MISMATCH', `no operation is carried on ${topic}`, reqIdOf(payload, maxBytes));

    // [EDGE-4]
    if (payload.length > maxBytes) return reject('MESSAGE_TOO_LARGE', `bytes=${payload.length} limit=${maxBytes}`);
    // [EDGE-5]
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return reject('MALFORMED_JSON', (err as Error).message);
    }
    const reqId = readableReqId(value);
    const op = typeof value === 'object' && value !== null ? (value as { operation?: unknown }).operation : undefined;
    if (typeof op === 'string' && Object.prototype.hasOwnProperty.call(operations, op)) {
      const limit = Math.min(maxBytes, operations[op as Operation].maxBytes);
      if (payload.length > limit) return reject('MESSAGE_TOO_LARGE', `bytes=${payload.length} limit=${limit} operation=${op}`, reqId);
      // [EDGE-6]
      if (!route.operations.includes(op as Operation)) {
        return reject('TOPIC_MISMATCH', `operation ${op} not allowed on ${topic} (expected ${route.operations.join('|')})`, reqId);
      }
    }
    // [EDGE-7] before the signature: a foreign meter id would otherwise read as UNKNOWN_SIGNER
    const cid = typeof value === 'object' && value !== null ? (value as { clientId?: unknown }).clientId : undefined;
    if (login.role !== 'admin' && typeof cid === 'string' && !isAddress(cid) && cid !== login.meterId) {
      return reject('NOT_YOUR_ID', `clientId ${cid.slice(0, 128)} is not ${login.meterId}`, reqId);
    }
    // [EDGE-9], [EDGE-12], then [EDGE-10] and [EDGE-11]
    const afterDecode = (env: AnyEnvelope): Verdict | Promise<Verdict> => {
      const mismatch = checkRoute(route, env);
      if (mismatch) return reject(mismatch.code, mismatch.reason, env.reqId);
      // [EDGE-12]
      if (login.role === 'hem' && (env.operation === 'sync-request' || env.operation === 'checkpoint-request')) {
        const nodeId = (env.parameters as { nodeId: string }).nodeId;
        if (nodeId !== login.meterId) return reject('NOT_YOUR_ID', `${env.operation} nodeId ${nodeId.slice(0, 64)} is not ${login.meterId}: a node asks for its own answers`, env.reqId);
      }
      return ownerStep(login, env);
    };
    // [EDGE-8]
    if (opts.verifier) {
      // a meter-id signer's key travels with the job (the worker has no directory)
      const key = typeof cid === 'string' && !isAddress(cid) ? (cid === login.meterId ? login.address : cache.peekMeter(cid)?.publicKey) : undefined;
      return opts.verifier(login.meterId, key === undefined ? { payload } : { payload, key }).then((r) =>
        r.ok ? afterDecode(value as AnyEnvelope) : reject(r.code, r.message, reqId),
      );
    }
    let env: AnyEnvelope;
    try {
      env = codec.decodeValue(value, { replayCheck: false });
    } catch (err) {
      if (isWireError(err)) return reject(err.code, err.message, reqId);
      throw err;
    }
    return afterDecode(env);
  }

  return { check };
}
