import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetLoadBook } from '../netLoadBook.js';

test('a resent reading replaces its first copy; homes add up', () => {
  const b = new NetLoadBook({ keepPerHome: 4, keepIntervals: 384 });
  assert.equal(b.total(10), undefined);
  b.add(10, 'a', 500);
  b.add(10, 'b', -200);
  b.add(10, 'a', 500); // the same reading again
  assert.equal(b.total(10), 300);
  b.add(10, 'a', 700); // a corrected value replaces it
  assert.equal(b.total(10), 500);
});

test('old intervals keep only their sum; a late reading for one is ignored; sums expire', () => {
  const b = new NetLoadBook({ keepPerHome: 4, keepIntervals: 10 });
  for (let i = 0; i < 6; i++) for (const h of ['a', 'b', 'c']) b.add(i, h, i);
  assert.equal(b.perHomeEntries, 18);
  b.age(5); // intervals 0 (…) below 5 − 4 = 1 are summed
  assert.equal(b.perHomeEntries, 15);
  assert.equal(b.total(0), 0);
  assert.equal(b.total(3), 9);
  b.age(9);
  assert.equal(b.perHomeEntries, 3, 'below 9 − 4 = 5 summed; 5 still per home');
  b.age(10);
  assert.equal(b.perHomeEntries, 0, 'and now 5 too');
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => b.total(i)), [0, 3, 6, 9, 12, 15]);
  assert.equal(b.add(4, 'a', 1000), false, 'late reading for a summed interval');
  assert.equal(b.total(4), 12);
  assert.equal(b.add(9, 'a', 1), true);
  b.age(14); // sums below 14 − 10 = 4 are dropped
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => b.total(i)), [undefined, undefined, undefined, undefined, 12, 15]);
});
