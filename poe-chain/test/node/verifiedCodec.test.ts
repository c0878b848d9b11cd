import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCodec, signEnvelope, type Codec } from '../../../wire/codec.js';
import { WireError } from '../../../wire/errors.js';
import { testKey } from '../../testkit/chainFixture.js';
import { createVerifiedCodec } from '../../node/verifiedCodec.js';
import { txId } from '../../core/txId.js';

test('verifiedCodec: an envelope decoded once is not verified again; any change is verified (and refused)', () => {
  const base = createCodec({ replayCheck: false });
  let calls = 0;
  const counting: Codec = { decode: base.decode, replay: base.replay, decodeValue: (v, o) => (calls++, base.decodeValue(v, o)) };
  const c = createVerifiedCodec(counting, 2);
  const kp = testKey('a');
  const env = signEnvelope(kp, 'transfer', { to: testKey('b').address, amountMillicents: 5 });
  c.decodeValue(env, { replayCheck: false });
  assert.equal(calls, 1);
  c.decodeValue(JSON.parse(JSON.stringify(env)), { replayCheck: false }); // an equal copy, as in a block
  assert.equal(calls, 1, 'remembered');
  const tampered = { ...env, parameters: { ...env.parameters, amountMillicents: 6 } };
  assert.throws(() => c.decodeValue(tampered, { replayCheck: false }), (e: unknown) => e instanceof WireError && e.code === 'BAD_SIGNATURE');
  assert.throws(() => c.decodeValue({ ...env, extra: 1 }, { replayCheck: false }), (e: unknown) => e instanceof WireError && e.code === 'SCHEMA_UNKNOWN_FIELD');
  assert.equal(calls, 3);
  c.decodeValue(env); // the replay check requested (default): always the base codec
  assert.equal(calls, 4);
  // bounded: the oldest id is forgotten
  c.decodeValue(signEnvelope(kp, 'transfer', { to: testKey('c').address, amountMillicents: 1 }), { replayCheck: false });
  c.decodeValue(signEnvelope(kp, 'transfer', { to: testKey('d').address, amountMillicents: 1 }), { replayCheck: false });
  assert.equal(c.size, 2);
  const before = calls;
  c.decodeValue(JSON.parse(JSON.stringify(env)), { replayCheck: false });
  assert.equal(calls, before + 1, 'evicted, so an equal copy is verified again');
  c.decodeValue(env, { replayCheck: false });
  assert.equal(calls, before + 1, 'the object itself is still known (by identity, for as long as it lives)');
  assert.throws(() => c.decodeValue(null, { replayCheck: false }), WireError);
});

test('verifiedCodec: ids by object, and values vouched for elsewhere (the verify pool)', () => {
  const base = createCodec({ replayCheck: false });
  let calls = 0;
  const counting: Codec = { decode: base.decode, replay: base.replay, decodeValue: (v, o) => (calls++, base.decodeValue(v, o)) };
  const c = createVerifiedCodec(counting);
  const kp = testKey('a');
  const env = signEnvelope(kp, 'transfer', { to: testKey('b').address, amountMillicents: 5 });
  assert.equal(c.idOf(env), txId(env));
  assert.equal(c.idOf(env), c.idOf(env));
  // a value a worker verified: its id is taken as given, nothing is decoded here
  const other = signEnvelope(kp, 'transfer', { to: testKey('c').address, amountMillicents: 7 });
  c.rememberValue(other, txId(other));
  assert.equal(c.decodeValue(other, { replayCheck: false }), other);
  assert.equal(c.idOf(other), txId(other));
  assert.equal(calls, 0);
  // a block envelope is decoded in full the first time, then known by its object
  const block = signEnvelope(kp, 'transfer', { to: testKey('d').address, amountMillicents: 1 });
  const asBlock = { ...block, operation: 'block' };
  assert.throws(() => c.decodeValue(asBlock, { replayCheck: false }), WireError, 'not a valid block: refused, not remembered');
  assert.throws(() => c.decodeValue(asBlock, { replayCheck: false }), WireError, 'refused again');
  assert.equal(calls, 2);
});
