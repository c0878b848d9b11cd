/**
 * [FIN-R] core/missingJustifications.ts: of a node's links, those its chain lacks (kept) and
 * those the chain can take now, in order (submitted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Justification } from '../../schemas/types.js';
import type { ChainState } from '../core/chainState.js';
import { missingJustifications } from '../core/missingJustifications.js';

const cp = (round: number, height: number) => ({ round, height, hash: `h${height}` });
const link = (s: [number, number], t: [number, number]): Justification => ({ source: cp(...s), target: cp(...t), votes: [] });
/** a head state whose section `justified` holds these checkpoints (the highest is meta.justified) */
const stateWith = (...justified: [number, number][]) =>
  ({
    meta: { justified: cp(...justified[justified.length - 1]!) },
    sections: { justified: new Map(justified.map(([r, h]) => [String(r), { height: h, hash: `h${h}` }])) },
  }) as unknown as ChainState;

test('[FIN-R] the chain at round 10: the links from 10 on are submitted in order, one whose source is not reached waits', () => {
  const a = link([10, 4], [11, 5]);
  const b = link([11, 5], [12, 6]);
  const orphan = link([20, 9], [21, 9]); // its source's link is not held
  const { keep, submit } = missingJustifications(stateWith([9, 3], [10, 4]), [orphan, b, a]);
  assert.deepEqual(keep, [a, b, orphan]);
  assert.deepEqual(submit, [a, b]);
});

test('[FIN-R] links the chain has, or has justified past, are no longer kept', () => {
  const onChain = link([10, 4], [11, 5]);
  const passed = link([11, 5], [12, 6]);
  const next = link([14, 7], [15, 8]);
  const { keep, submit } = missingJustifications(stateWith([11, 5], [14, 7]), [onChain, passed, next]);
  assert.deepEqual(keep, [next]);
  assert.deepEqual(submit, [next]);
});

test('[FIN-R] a source justified on chain at another block is not a source', () => {
  const other = link([10, 3], [11, 5]); // the chain justified round 10 at height 4
  const { keep, submit } = missingJustifications(stateWith([10, 4]), [other]);
  assert.deepEqual(keep, [other]);
  assert.deepEqual(submit, []);
});
