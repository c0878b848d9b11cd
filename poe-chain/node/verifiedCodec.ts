/**
 * A codec that does not verify the same envelope twice (README "Performance"): it
 * remembers the transaction id — SHA-256 of the RFC 8785 canonical JSON — of every
 * envelope it has fully decoded (schema, then signature) and returns a value with a
 * remembered id without checking it again. Sound because equal canonical JSON means the
 * same JSON value, hence the same schema and signature verdict. Only decodes without the
 * replay check are remembered (the chain's own use: mempool admission, block building,
 * block import); a transaction admitted to the mempool is thus not verified again when it
 * comes back inside a block.
 */
import type { Codec } from '../../wire/codec.js';
import type { AnyEnvelope } from '../../schemas/types.js';
import { txId } from '../core/txId.js';

export interface VerifiedCodec extends Codec {
  /** ids remembered */
  readonly size: number;
  /** remembers an id verified elsewhere (a worker of the verify pool, with the same codec rules) */
  remember(id: string): void;
}

export function createVerifiedCodec(base: Codec, maxIds = 100_000): VerifiedCodec {
  const ids = new Set<string>();
  function decodeValue(value: unknown, o: { replayCheck?: boolean } = {}): AnyEnvelope {
    if (o.replayCheck !== false || typeof value !== 'object' || value === null || Array.isArray(value)) return base.decodeValue(value, o);
    let id: string;
    try {
      id = txId(value);
    } catch {
      return base.decodeValue(value, o);
    }
    if (ids.has(id)) return value as AnyEnvelope;
    const env = base.decodeValue(value, o);
    remember(id);
    return env;
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
    get replay() {
      return base.replay;
    },
    get size() {
      return ids.size;
    },
  };
}
