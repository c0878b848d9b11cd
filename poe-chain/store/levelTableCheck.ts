/**
 * Checks the block checksums of every LevelDB table file (`*.ldb`, `*.sst`) of a database
 * directory. LevelDB stores a masked CRC-32C after every block of a table but verifies it
 * on reads only when asked (`verify_checksums`), which classic-level never does: a byte
 * flipped on disk in a table is otherwise read back silently as different data. The
 * write-ahead log and the MANIFEST carry their own CRCs, which LevelDB checks when it
 * opens the database (a damaged MANIFEST refuses the open; a damaged log record is
 * dropped and reported in the LOG file, see chainDataDir.ts).
 *
 * Table format (LevelDB doc/table_format.md): a 48-byte footer = metaindex handle and
 * index handle (varint64 offset, varint64 size each), padding, magic 0xdb4775248b80fb57;
 * each block is followed by a 1-byte compression type (0 none, 1 Snappy) and the masked
 * CRC-32C of contents + type. The index block's entries hold the handles of the data
 * blocks; the metaindex block's those of the filter blocks.
 *
 * Used at start by the chain store, the registry and the HEM (the three level databases
 * that must never be served damaged). Cost: reading every table once.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const MAGIC_LO = 0x8b80fb57;
const MAGIC_HI = 0xdb477524;
const MASK_DELTA = 0xa282ead8;

// slicing-by-8 tables: T[k][b] = CRC of byte b followed by k zero bytes
const CRC32C_TABLES = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[0]![i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) t[k]![i] = (t[k - 1]![i]! >>> 8) ^ t[0]![t[k - 1]![i]! & 0xff]!;
  }
  return t;
})();

/** CRC-32C (Castagnoli) of bytes [start, end). */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC32C_TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = 0xffffffff;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = (c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24))) >>> 0;
    c = t7[a & 0xff]! ^ t6[(a >>> 8) & 0xff]! ^ t5[(a >>> 16) & 0xff]! ^ t4[a >>> 24]! ^
      t3[buf[i + 4]!]! ^ t2[buf[i + 5]!]! ^ t1[buf[i + 6]!]! ^ t0[buf[i + 7]!]!;
  }
  for (; i < end; i++) c = t0[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** LevelDB's stored form of a CRC (crc32c.h Mask). */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

class Reader {
  constructor(readonly buf: Uint8Array, public pos = 0, readonly end = buf.length) {}
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('varint past the end');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error('varint too long');
  }
}

/** Raw Snappy decompression (the format LevelDB uses for compressed blocks). */
export function snappyDecompress(src: Uint8Array): Uint8Array {
  const r = new Reader(src);
  const n = r.varint();
  if (n > 64 * 1024 * 1024) throw new Error(`snappy length ${n} too large`);
  const out = new Uint8Array(n);
  let ip = r.pos;
  let op = 0;
  const le = (bytes: number) => {
    if (ip + bytes > src.length) throw new Error('snappy input ends early');
    let v = 0;
    for (let i = 0; i < bytes; i++) v += src[ip + i]! * 2 ** (8 * i);
    ip += bytes;
    return v;
  };
  while (ip < src.length) {
    const tag = src[ip++]!;
    let len: number;
    let off: number;
    switch (tag & 3) {
      case 0: {
        len = tag >>> 2;
        if (len >= 60) len = le(len - 59);
        len += 1;
        if (ip + len > src.length || op + len > n) throw new Error('snappy literal out of bounds');
        out.set(src.subarray(ip, ip + len), op);
        ip += len;
        op += len;
        continue;
      }
      case 1:
        len = ((tag >>> 2) & 7) + 4;
        off = ((tag >>> 5) << 8) | le(1);
        break;
      case 2:
        len = (tag >>> 2) + 1;
        off = le(2);
        break;
      default:
        len = (tag >>> 2) + 1;
        off = le(4);
    }
    if (off === 0 || off > op || op + len > n) throw new Error('snappy copy out of bounds');
    for (let i = 0; i < len; i++, op++) out[op] = out[op - off]!;
  }
  if (op !== n) throw new Error(`snappy produced ${op} of ${n} bytes`);
  return out;
}

interface Handle {
  offset: number;
  size: number;
}

/** Checks a block's trailer; returns its (decompressed) contents when `contents`. */
function readBlock(file: Uint8Array, h: Handle, what: string, contents = true): Uint8Array {
  const end = h.offset + h.size;
  if (h.offset < 0 || end + 5 > file.length) throw new Error(`${what} at ${h.offset} (+${h.size}) lies outside the file`);
  const type = file[end]!;
  const stored = new DataView(file.buffer, file.byteOffset + end + 1, 4).getUint32(0, true);
  if (maskCrc(crc32c(file, h.offset, end + 1)) !== stored) throw new Error(`${what} at ${h.offset}: checksum mismatch`);
  if (type > 1) throw new Error(`${what} at ${h.offset}: unknown compression type ${type}`);
  const raw = file.subarray(h.offset, end);
  if (!contents || type === 0) return raw;
  return snappyDecompress(raw);
}

/** The values of a block's entries (index and metaindex values are block handles). */
function blockValues(block: Uint8Array): Uint8Array[] {
  if (block.length < 4) throw new Error('block shorter than its restart count');
  const dv = new DataView(block.buffer, block.byteOffset, block.length);
  const restarts = dv.getUint32(block.length - 4, true);
  const limit = block.length - 4 - 4 * restarts;
  if (limit < 0) throw new Error('bad restart count');
  const r = new Reader(block, 0, limit);
  const values: Uint8Array[] = [];
  while (r.pos < limit) {
    r.varint(); // shared
    const nonShared = r.varint();
    const valueLength = r.varint();
    r.pos += nonShared;
    if (r.pos + valueLength > limit) throw new Error('entry past the end of its block');
    values.push(block.subarray(r.pos, r.pos + valueLength));
    r.pos += valueLength;
  }
  return values;
}

function handleOf(bytes: Uint8Array): Handle {
  const r = new Reader(bytes);
  return { offset: r.varint(), size: r.varint() };
}

/** Problems of one table file ([] when every block checks out). */
export function checkTable(file: Uint8Array): string[] {
  try {
    if (file.length < 48) return [`shorter (${file.length} bytes) than a table footer`];
    const foot = file.subarray(file.length - 48);
    const dv = new DataView(foot.buffer, foot.byteOffset, 48);
    if (dv.getUint32(40, true) !== MAGIC_LO || dv.getUint32(44, true) !== MAGIC_HI) return ['bad table magic number (truncated or overwritten)'];
    const r = new Reader(foot, 0, 40);
    const metaindex = { offset: r.varint(), size: r.varint() };
    const index = { offset: r.varint(), size: r.varint() };
    const problems: string[] = [];
    const handles: { h: Handle; what: string }[] = [];
    for (const v of blockValues(readBlock(file, metaindex, 'metaindex block'))) handles.push({ h: handleOf(v), what: 'filter block' });
    for (const v of blockValues(readBlock(file, index, 'index block'))) handles.push({ h: handleOf(v), what: 'data block' });
    for (const { h, what } of handles) {
      try {
        readBlock(file, h, what, false);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    return problems;
  } catch (err) {
    return [(err as Error).message];
  }
}

/** The table files of a LevelDB directory. */
export async function listTables(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => /^\d+\.(ldb|sst)$/.test(n)).sort();
  } catch {
    return [];
  }
}

/**
 * Checks the tables of a LevelDB directory; `file: problem` strings, [] when sound.
 * Call it right after opening the database with the tables listed before the open:
 * the open deletes the files a crash left half-written (not in the MANIFEST), and a
 * compaction started by the open writes only new files, so the tables present before
 * and after the open are the stable, live ones. A file gone meanwhile is skipped.
 */
export async function checkLevelTables(dir: string, only?: readonly string[]): Promise<string[]> {
  const now = new Set(await listTables(dir));
  const names = (only ?? [...now]).filter((n) => now.has(n));
  const out: string[] = [];
  for (const name of names) {
    let file: Buffer;
    try {
      file = await readFile(join(dir, name));
    } catch {
      continue; // deleted by a compaction meanwhile
    }
    for (const p of checkTable(file)) out.push(`${name}: ${p}`);
  }
  return out;
}
