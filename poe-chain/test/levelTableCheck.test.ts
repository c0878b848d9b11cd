/**
 * levelTableCheck: CRC-32C vectors; tables written by LevelDB itself check out (no false
 * alarm, Snappy-compressed index blocks included); any single flipped byte of a table
 * outside the footer's padding, and any truncation, is reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Level } from 'level';
import { checkLevelTables, checkTable, crc32c, maskCrc, snappyDecompress } from '../store/levelTableCheck.js';

test('crc32c: RFC 3720 vectors; LevelDB mask', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  assert.equal(crc32c(ascending), 0x46dd794e);
  assert.equal(crc32c(Buffer.from('xx123456789yy'), 2, 11), 0xe3069283, 'a range');
  assert.equal(maskCrc(0), 0xa282ead8);
});

test('snappy: literals and overlapping copies; bad input is an error, not a crash', () => {
  // "abcabcabcabc": literal "abc" then a copy of 9 bytes at offset 3 (tag 01, len 9 → (9−4)<<2 | 1)
  const src = Uint8Array.from([12, (3 - 1) << 2, 97, 98, 99, ((9 - 4) << 2) | 1, 3]);
  assert.equal(Buffer.from(snappyDecompress(src)).toString(), 'abcabcabcabc');
  assert.throws(() => snappyDecompress(Uint8Array.from([12, 8, 97])), /out of bounds|ends early/);
  assert.throws(() => snappyDecompress(Uint8Array.from([4, 1, 9])), /copy out of bounds/);
});

async function tableOfRealDb(): Promise<{ dir: string; table: Buffer; name: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-ldb-'));
  const db = new Level<string, string>(dir);
  await db.open();
  for (let b = 0; b < 20; b++) {
    await db.batch(Array.from({ length: 500 }, (_, i) => ({ type: 'put' as const, key: `k:${String(b * 500 + i).padStart(8, '0')}`, value: JSON.stringify({ i, hex: (b * 7919 + i).toString(16).repeat(12), n: Math.sin(i) }) })));
  }
  await db.close();
  await db.open(); // the log becomes a table at the next open
  await db.close();
  const names = (await readdir(dir)).filter((n) => n.endsWith('.ldb'));
  assert.ok(names.length >= 1, 'LevelDB wrote a table');
  const name = names[0]!;
  return { dir, table: await readFile(join(dir, name)), name };
}

test('tables written by LevelDB check out; a flipped byte or a truncation is found', async () => {
  const { dir, table } = await tableOfRealDb();
  try {
    assert.deepEqual(await checkLevelTables(dir), [], 'no false alarm');
    assert.deepEqual(checkTable(table), []);
    // the footer = 4 varints (two block handles), zero padding to 40 bytes, 8-byte magic
    let p = table.length - 48;
    for (let v = 0; v < 4; v++) while (table[p++]! & 0x80);
    const footerPadding = { from: p, to: table.length - 8 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: table.length - 1 }), fc.integer({ min: 1, max: 255 }), (pos, x) => {
        fc.pre(pos < footerPadding.from || pos >= footerPadding.to);
        const copy = Buffer.from(table);
        copy[pos] = copy[pos]! ^ x;
        return checkTable(copy).length > 0;
      }),
      { numRuns: 300 },
    );
    for (const keep of [0, 10, 47, Math.floor(table.length / 2), table.length - 1]) {
      assert.ok(checkTable(table.subarray(0, keep)).length > 0, `truncated to ${keep} bytes`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
