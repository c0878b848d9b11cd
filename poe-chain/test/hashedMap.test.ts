import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HashedMap, bucketOf, BUCKETS } from '../core/hashedMap.js';
import { canonicalize } from '../../wire/canonicalJson.js';
import { sha256, EMPTY_DIGEST } from '../core/hashing.js';

/** The root computed naively from the definition, for comparison. */
function naiveRoot(entries: [string, unknown][]): string {
  const buckets: [string, unknown][][] = Array.from({ length: BUCKETS }, () => []);
  for (const e of entries) buckets[bucketOf(e[0])]!.push(e);
  const digests = buckets.map((b) => {
    if (b.length === 0) return EMPTY_DIGEST;
    b.sort((x, y) => (x[0] < y[0] ? -1 : 1));
    return sha256(Buffer.concat(b.map(([k, v]) => sha256(canonicalize([k, v])))));
  });
  return sha256(Buffer.concat(digests)).toString('hex');
}

const entriesArb = fc.uniqueArray(fc.tuple(fc.string({ maxLength: 12 }), fc.integer()), { selector: (e) => e[0], maxLength: 60 });

test('the root matches its definition and does not depend on insertion order', () => {
  fc.assert(
    fc.property(entriesArb, fc.integer(), (entries, seed) => {
      const a = HashedMap.fromEntries(entries);
      const shuffled = [...entries].sort((x, y) => ((x[1] ^ seed) - (y[1] ^ seed)) || (x[0] < y[0] ? -1 : 1));
      const b = HashedMap.fromEntries(shuffled);
      const want = naiveRoot(entries);
      assert.equal(a.root().toString('hex'), want);
      assert.equal(b.root().toString('hex'), want);
      assert.equal(a.size, entries.length);
    }),
  );
});

test('a map made by drafts from rooted parents (only its changed buckets re-hashed) has the root of its definition', () => {
  const op = fc.oneof(
    fc.record({ set: fc.tuple(fc.string({ maxLength: 8 }), fc.integer()) }),
    fc.record({ del: fc.string({ maxLength: 8 }) }),
    fc.record({ rollback: fc.array(fc.tuple(fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 4 }) }),
  );
  fc.assert(
    fc.property(entriesArb, fc.array(fc.array(op, { maxLength: 12 }), { minLength: 1, maxLength: 6 }), fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), (entries, generations, rooted) => {
      let m = HashedMap.fromEntries(entries);
      const model = new Map(entries);
      generations.forEach((ops, g) => {
        // the parent's root known (its digests are reused) or not (computed in full)
        if (rooted[g]) m.root();
        const d = m.draft();
        for (const o of ops) {
          if ('set' in o) {
            d.set(o.set[0], o.set[1]);
            model.set(o.set[0], o.set[1]);
          } else if ('del' in o) {
            d.delete(o.del);
            model.delete(o.del);
          } else {
            d.begin();
            for (const [k, v] of o.rollback) d.set(k, v);
            d.rollback();
          }
        }
        m = d.finish();
        assert.equal(m.root().toString('hex'), naiveRoot([...model]));
      });
    }),
  );
});

test('a draft never changes the map it came from; rollback undoes exactly the writes since begin', () => {
  fc.assert(
    fc.property(entriesArb, fc.array(fc.tuple(fc.boolean(), fc.string({ maxLength: 12 }), fc.integer()), { maxLength: 40 }), (entries, ops) => {
      const base = HashedMap.fromEntries(entries);
      const root0 = base.root().toString('hex');
      const d = base.draft();
      d.set('fixed', 1);
      d.begin();
      for (const [del, k, v] of ops) del ? d.delete(k) : d.set(k, v);
      d.rollback();
      const after = d.finish();
      assert.equal(base.root().toString('hex'), root0);
      assert.deepEqual(after.sortedEntries(), HashedMap.fromEntries([...entries.filter((e) => e[0] !== 'fixed'), ['fixed', 1]]).sortedEntries());
      assert.equal(after.root().toString('hex'), naiveRoot(after.sortedEntries()));
      // and applied for real, the result matches a map built from scratch
      const d2 = base.draft();
      const model = new Map(entries);
      for (const [del, k, v] of ops) {
        if (del) {
          d2.delete(k);
          model.delete(k);
        } else {
          d2.set(k, v);
          model.set(k, v);
        }
      }
      const m2 = d2.finish();
      assert.equal(m2.size, model.size);
      assert.equal(m2.root().toString('hex'), naiveRoot([...model.entries()]));
      assert.equal(base.root().toString('hex'), root0);
    }),
  );
});

test('an untouched draft returns the same map; a finished draft refuses edits', () => {
  const m = HashedMap.fromEntries([['a', 1]]);
  assert.equal(m.draft().finish(), m);
  const d = m.draft();
  d.set('b', 2);
  d.finish();
  assert.throws(() => d.set('c', 3), /DRAFT_FINISHED/);
});

test('bucketOf is FNV-1a-32 mod 4096 (known values)', () => {
  // FNV-1a("") = 0x811c9dc5, FNV-1a("a") = 0xe40c292c
  assert.equal(bucketOf(''), 0xdc5);
  assert.equal(bucketOf('a'), 0x92c);
});
