import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize, CanonicalJsonError } from '../canonicalJson.js';

test('RFC 8785 §3.2.3 sorting example', () => {
  // Property names sorted by UTF-16 code units (RFC 8785 §3.2.3 example)
  const input = {
    '\u20ac': 'Euro Sign',
    '\r': 'Carriage Return',
    '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    '1': 'One',
    '\ud83d\ude00': 'Emoji: Grinning Face',
    '\u0080': 'Control',
    '\u00f6': 'Latin Small Letter O With Diaeresis',
  };
  assert.equal(
    canonicalize(input),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  );
});

test('RFC 8785 §3.2.2 number serialisation and literals', () => {
  const input = { numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001], string: '\u20ac$\u000f\u000aA\'\u0042\u0022\u005c\\"/', literals: [null, true, false] };
  assert.equal(
    canonicalize(input),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
  );
  assert.equal(canonicalize(-0), '0');
  assert.equal(canonicalize({ b: [], a: {} }), '{"a":{},"b":[]}');
});

test('non-finite numbers and non-JSON types are refused', () => {
  assert.throws(() => canonicalize({ a: [1, Infinity] }), (e: unknown) => e instanceof CanonicalJsonError && e.path === '/a/1');
  assert.throws(() => canonicalize(NaN), CanonicalJsonError);
  assert.throws(() => canonicalize({ f: () => 1 }), CanonicalJsonError);
  assert.throws(() => canonicalize(10n), CanonicalJsonError);
});

test('undefined members are omitted, as in JSON', () => {
  assert.equal(canonicalize({ a: undefined, b: 1 }), '{"b":1}');
});
