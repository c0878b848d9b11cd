import { test } from 'node:test';
import assert from 'node:assert/strict';
import { driftedFiles } from '../emitJson.js';
import { envelopeSchema, OPERATIONS, operations } from '../envelope.js';
import type { ParamsByOperation } from '../types.js';

test('schemas/json/ is in sync with the TypeScript schemas (npm run schemas:emit)', () => {
  assert.deepEqual(driftedFiles(), []);
});

/** Walks a schema; calls fn on every subschema. */
function walk(s: unknown, path: string, fn: (s: Record<string, unknown>, path: string) => void) {
  if (s === null || typeof s !== 'object') return;
  const o = s as Record<string, unknown>;
  fn(o, path);
  for (const [k, v] of Object.entries(o)) {
    if (k === 'properties') for (const [pk, pv] of Object.entries(v as object)) walk(pv, `${path}/${pk}`, fn);
    else if (k === 'items') walk(v, `${path}[]`, fn);
    else if (k === 'oneOf' || k === 'anyOf') (v as unknown[]).forEach((x, i) => walk(x, `${path}|${i}`, fn));
  }
}

test('every object forbids extra properties and every number and string is bounded', () => {
  const embeddedOk = (p: string) => p.endsWith('/parameters'); // embedded envelopes are re-decoded by the codec
  for (const op of OPERATIONS) {
    walk(envelopeSchema(op), op, (s, path) => {
      if (s.type === 'object' && s.properties) assert.equal(s.additionalProperties, false, `${path}: additionalProperties`);
      if (s.type === 'number' || s.type === 'integer') {
        assert.ok(s.minimum !== undefined && s.maximum !== undefined, `${path}: number bounds`);
      }
      if (s.type === 'string' && !('enum' in s) && !('const' in s)) assert.ok(s.maxLength !== undefined, `${path}: maxLength`);
      if (s.type === 'array') assert.ok(s.maxItems !== undefined, `${path}: maxItems`);
      if (s.type === 'object' && !s.properties) assert.ok(embeddedOk(path), `${path}: open object`);
    });
    assert.ok(operations[op].maxBytes > 0);
  }
});

test('every operation has a derived TypeScript type', () => {
  // compile-time: a missing key here is a type error
  const ops: Record<keyof ParamsByOperation, true> = Object.fromEntries(OPERATIONS.map((o) => [o, true])) as Record<keyof ParamsByOperation, true>;
  assert.equal(Object.keys(ops).length, OPERATIONS.length);
  for (const required of ['state', 'meter-reading', 'bid-offer', 'auction-open', 'auction-close', 'auction-result', 'tx', 'block', 'sync-request', 'sync-response', 'error']) {
    assert.ok((OPERATIONS as string[]).includes(required), required);
  }
});
