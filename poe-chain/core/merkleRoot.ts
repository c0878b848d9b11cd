/**
 * Merkle root of a block's transaction ids (README "Transaction root"):
 *
 *   leaf_i = SHA-256(0x00 ‖ txId_i)                  (txId as its 32 raw bytes)
 *   node   = SHA-256(0x01 ‖ left ‖ right)
 *   a level with an odd number of nodes pairs its last node with itself
 *   top    = the single node left; 32 zero bytes for an empty block
 *   txRoot = SHA-256(0x02 ‖ uint32 big-endian count ‖ top)
 *
 * Distinct prefixes keep leaves, inner nodes and the root apart, and committing the
 * count rules out the duplicate-last ambiguity ([a,b,c] vs [a,b,c,c]).
 */
import { sha256 } from './hashing.js';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);
const ROOT = Buffer.from([2]);

export function merkleRoot(txIds: readonly string[]): string {
  let level: Buffer[] = txIds.map((id) => sha256(LEAF, Buffer.from(id, 'hex')));
  let top: Buffer;
  if (level.length === 0) top = Buffer.alloc(32);
  else {
    while (level.length > 1) {
      const next: Buffer[] = [];
      for (let i = 0; i < level.length; i += 2) {
        const left = level[i]!;
        const right = level[i + 1] ?? left;
        next.push(sha256(NODE, left, right));
      }
      level = next;
    }
    top = level[0]!;
  }
  const count = Buffer.alloc(4);
  count.writeUInt32BE(txIds.length);
  return sha256(ROOT, count, top).toString('hex');
}
