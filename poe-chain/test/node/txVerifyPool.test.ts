/**
 * [NODE-verify] The verify pool: worker threads answer the id of each valid transaction
 * and null for an invalid one; only valid ones are remembered, so a block carrying a
 * tampered transaction is still refused by the import steps with the rule's own code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChainFixture, testKey } from '../../testkit/chainFixture.js';
import { buildBlock } from '../../core/buildBlock.js';
import { BlockError } from '../../core/chainError.js';
import { slotTime } from '../../core/genesis.js';
import { txId } from '../../core/txId.js';
import { chainCodec, validateAndApplyBlock } from '../../core/validateAndApplyBlock.js';
import { forgeBlock } from '../../testkit/forgeBlock.js';
import { createVerifiedCodec } from '../../node/verifiedCodec.js';
import { createTxVerifyPool, preverifyTxs, startVerify } from '../../node/txVerifyPool.js';

test('[NODE-verify] valid transactions are verified off the main thread and not again; a tampered one is still refused', async () => {
  const f = new ChainFixture();
  const payee = testKey('payee').address;
  const txs = Array.from({ length: 200 }, (_, i) => f.transferTx(f.aggregator, payee, i + 1));
  const pool = createTxVerifyPool(2);
  try {
    const ids = await pool.verify(txs);
    assert.deepEqual(ids, txs.map((t) => txId(t)), 'the ids of valid transactions, in order');
    const bad = { ...txs[7]!, parameters: { ...txs[7]!.parameters, amountMillicents: 999_999 } };
    assert.deepEqual(await pool.verify([txs[0], bad, 'garbage', null]), [txId(txs[0]), null, null, null]);

    // a valid block: every signature checked before the import, the import applies it unchanged
    const slot = f.state.meta.tipSlot + 1;
    const good = buildBlock(f.state, txs, f.node, slot, slotTime(f.genesis, slot));
    const codec = createVerifiedCodec(chainCodec());
    await preverifyTxs(pool, codec, txs); // the workers and this thread, a chunk of CHUNK at a time
    assert.equal(codec.size, 200, 'all 200 remembered, verified by the workers or by this thread');
    const applied = validateAndApplyBlock(f.state, JSON.parse(JSON.stringify(good.block)), { now: slotTime(f.genesis, slot), codec });
    assert.equal(applied.hash, good.hash);

    // a block with one tampered transaction: the pool does not vouch for it, the import refuses it
    const codec2 = createVerifiedCodec(chainCodec());
    const withBad = [...txs.slice(0, 50), bad];
    const job = startVerify(pool, codec2, withBad);
    assert.equal(await job.workersDone, 50, 'left to themselves, the workers verify every chunk: 50 valid, the tampered one not');
    assert.equal(await job.finish(), 50, 'nothing left for this thread');
    assert.equal(codec2.size, 50);
    const forged = forgeBlock(f.state, { slot, producer: f.node, txs: withBad });
    assert.throws(() => validateAndApplyBlock(f.state, forged, { now: slotTime(f.genesis, slot), codec: codec2 }),
      (e: unknown) => e instanceof BlockError && e.code === 'BAD_TX' && e.context.reason === 'BAD_SIGNATURE');
  } finally {
    await pool.close();
  }
});
