import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { renderVectorFiles, vectorsDir } from './makeVectors.js';
import { deserializeState, serializeState, stateRoot } from '../core/chainState.js';
import { BlockError } from '../core/chainError.js';
import { validateAndApplyBlock } from '../core/validateAndApplyBlock.js';

const dir = vectorsDir();
const cases = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const read = (c: string, f: string) => JSON.parse(readFileSync(join(dir, c, f), 'utf8')) as unknown;

test('the vector files are exactly what makeVectors generates (node dist/poe-chain/test/makeVectors.js --write)', () => {
  const want = renderVectorFiles();
  const have = new Map<string, string>();
  have.set('README.md', readFileSync(join(dir, 'README.md'), 'utf8'));
  for (const c of cases) for (const f of readdirSync(join(dir, c))) have.set(`${c}/${f}`, readFileSync(join(dir, c, f), 'utf8'));
  assert.deepEqual([...have.keys()].sort(), [...want.keys()].sort());
  for (const [k, v] of want) assert.equal(have.get(k), v, k);
});

test('every validation rule has a rejecting vector', () => {
  const codes = new Set(cases.filter((c) => existsSync(join(dir, c, 'expect.json'))).map((c) => {
    const e = read(c, 'expect.json') as { code: string; reason?: string };
    return e.reason ? `${e.code}/${e.reason}` : e.code;
  }));
  for (const need of [
    'BAD_PRODUCER', 'BAD_SLOT', 'SLOT_IN_FUTURE', 'BAD_PARENT', 'BAD_HEIGHT', 'BAD_EPOCH', 'BAD_SIGNATURE', 'BAD_TX_ROOT',
    'DUPLICATE_TX', 'DUPLICATE_TX/DUPLICATE_TX', 'BAD_STATE_ROOT', 'BAD_ENCODING', 'TOO_MANY_TXS', 'BAD_TX/BAD_SIGNATURE',
    'BAD_TX/UNAUTHORISED_SIGNER', 'BAD_TX/BAD_REGISTRY_SIGNATURE', 'BAD_TX/NOT_CERTIFIED', 'BAD_TX/NOT_A_TX_OPERATION',
    'BAD_TX/DATE_OUT_OF_WINDOW', 'BAD_TX/AUCTION_CLOSED', 'BAD_TX/AUCTION_NOT_DUE', 'BAD_TX/INSUFFICIENT_FUNDS', 'BAD_TX/BAD_EVIDENCE',
    'BAD_TX/CHAIN_MISSING', 'BAD_TX/WRONG_CHAIN', 'EARLY_EMPTY_BLOCK',
    // [FIN] the finality gadget's justification and vote-evidence rules
    'BAD_TX/NO_QUORUM', 'BAD_TX/NOT_IN_COMMITTEE', 'BAD_TX/DUPLICATE_VOTER', 'BAD_TX/BAD_VOTE_SIGNATURE', 'BAD_TX/UNJUSTIFIED_SOURCE',
    'BAD_TX/UNKNOWN_TARGET', 'BAD_TX/BAD_ROUND', 'BAD_TX/NOT_HEAD_AT_ROUND', 'BAD_TX/ALREADY_JUSTIFIED', 'BAD_TX/BAD_LINK', 'BAD_TX/BAD_VOTE_EVIDENCE', 'BAD_TX/ALREADY_EQUIVOCATOR',
  ]) assert.ok(codes.has(need), need);
  assert.ok(cases.length >= 40);
});

for (const c of cases) {
  test(`vector ${c}`, () => {
    const pre = read(c, 'pre.json') as { now: string; state: unknown };
    const state = deserializeState(pre.state);
    const before = stateRoot(state);
    const block = read(c, 'block.json');
    const now = Date.parse(pre.now);
    if (existsSync(join(dir, c, 'post.json'))) {
      const post = read(c, 'post.json') as { stateRoot: string; tipHash: string };
      const r = validateAndApplyBlock(state, block, { now });
      assert.equal(stateRoot(r.state), post.stateRoot);
      assert.equal(r.hash, post.tipHash);
      assert.deepEqual(JSON.parse(JSON.stringify(serializeState(r.state))), post);
    } else {
      const expect = read(c, 'expect.json') as { code: string; reason?: string };
      assert.throws(
        () => validateAndApplyBlock(state, block, { now }),
        (err: unknown) => err instanceof BlockError && err.code === expect.code && (expect.reason === undefined || err.context.reason === expect.reason),
      );
    }
    assert.equal(stateRoot(state), before, 'the input state is not mutated');
  });
}
