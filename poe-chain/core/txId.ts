/** Transaction id = SHA-256 of the RFC 8785 canonical JSON of the whole signed envelope, hex. */
import { canonicalize } from '../../wire/canonicalJson.js';
import { sha256Hex } from './hashing.js';

export function txId(envelope: unknown): string {
  return sha256Hex(canonicalize(envelope));
}
