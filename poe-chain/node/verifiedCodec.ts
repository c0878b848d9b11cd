/**
 * A codec that does not verify the same envelope twice (README "Performance"): it
 * remembers the transaction id — SHA-256 of the RFC 8785 canonical JSON — of every
 * envelope it has fully decoded (schema, then signature) and returns a value with a
 * remembered id without checking it again. Sound because equal canonical JSON means the
 * same JSON value, hence the same schema and signature verdict. Only decodes without the
 * replay check are remembered (the chain's own use: mempool admission, block building,
 * block import); a transaction admitted to the mempool is thus not verified again when it
 * comes back inside a block.
 *
 * It also remembers, by object identity, the values it has decoded and the ids it has
 * computed or been handed (`idOf`, `rememberValue`), so that the object a block import
 * holds is canonicalised and hashed once, not once per step (the Merkle root, then the
 * decode), and a block envelope of a megabyte is not hashed at all to look it up. The
 * node never changes an envelope it parsed; a value changed after it was remembered
 * would keep its old verdict, so nothing may.
 */
import type { Codec } from '../../wire/codec.js';
import type { AnyEnvelope } from '../../schemas/types.js';
import { txId } from '../core/txId.js';

export interface VerifiedCodec extends Codec {
  /** ids remembered */
  readonly size: number;
  /** remembers an id verified elsewhere (a worker of the verify pool, with the same codec rules) */
  remember(id: string): void;
  /** remembers `value`, verified elsewhere, whose id is `id` (the worker computed it from a copy of this very object) */
  rememberValue(value: object, id: string): void;
  /** the transaction id of `value`, computed once per object */
  idOf(value: unknown): string;
}

export function createVerifiedCodec(base: Codec, maxIds = 100_000): VerifiedCodec {
  const ids = new Set<string>();
  const verified = new WeakSet<object>();
  const idsOf = new WeakMap<object, string>();
  function idOf(value: unknown): string {
    if (typeof value !== 'object' || value === null) return txId(value);
    let id = idsOf.get(value);
    if (id === undefined) {
      id = txId(value);
      idsOf.set(value, id);
    }
    return id;
  }
  function decodeValue(value: unknown, o: { replayCheck?: boolean } = {}): AnyEnvelope {
    if (o.replayCheck !== false || typeof value !== 'object' || value === null || Array.isArray(value)) return base.decodeValue(value, o);
    if (verified.has(value)) return value as AnyEnvelope;
    if ((value as { operation?: unknown }).operation === 'block') {
      // a block is looked up by its object only: its id would cost a hash of the whole block
      const env = base.decodeValue(value, o);
      verified.add(value);
      return env;
    }
    let id: string;
    try {
      id = idOf(value);
    } catch {
      return base.decodeValue(value, o);
    }
    if (!ids.has(id)) {
      base.decodeValue(value, o);
      remember(id);
    }
    verified.add(value);
    return value as AnyEnvelope;
  }
  function remember(id: string): void {
    if (ids.has(id)) return;
    if (ids.size >= maxIds) ids.delete(ids.values().next().value!);
    ids.add(id);
  }
  return {
    decode: (data) => base.decode(data),
    decodeValue,
    remember,
    rememberValue(value, id) {
      idsOf.set(value, id);
      remember(id);
      verified.add(value);
    },
    idOf,
    get replay() {
      return base.replay;
    },
    get size() {
      return ids.size;
    },
  };
}
