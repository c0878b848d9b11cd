/**
 * SHA-256 helpers and the domain tags that keep the chain's hashes apart:
 * every hash over structured data starts with a tag `TMI/v1/<what>` and a 0x00 byte,
 * so a block hash can never equal a state root, a transaction id or a Merkle node.
 */
import { createHash } from 'node:crypto';

export const DOMAIN = {
  genesis: 'TMI/v1/genesis',
  block: 'TMI/v1/block',
  header: 'TMI/v1/header-signature',
  state: 'TMI/v1/state',
  seedInput: 'TMI/v1/seed-input',
  seed: 'TMI/v1/seed',
  /** [FEEDER-1] what the registry signs for a feeder limit */
  feederLimit: 'TMI/v1/feeder-limit',
} as const;

const domainPrefix = new Map<string, Buffer>();
function prefix(tag: string): Buffer {
  let p = domainPrefix.get(tag);
  if (!p) {
    p = Buffer.concat([Buffer.from(tag, 'utf8'), Buffer.from([0])]);
    domainPrefix.set(tag, p);
  }
  return p;
}

export function sha256(...parts: (Uint8Array | string)[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function sha256Hex(...parts: (Uint8Array | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** SHA-256(tag ‖ 0x00 ‖ data…) */
export function taggedHash(tag: string, ...parts: (Uint8Array | string)[]): Buffer {
  return sha256(prefix(tag), ...parts);
}

/** tag ‖ 0x00 ‖ data, e.g. the bytes a producer signs */
export function tagged(tag: string, data: Uint8Array): Buffer {
  return Buffer.concat([prefix(tag), data]);
}

/** SHA-256 of the empty string */
export const EMPTY_DIGEST = sha256();
