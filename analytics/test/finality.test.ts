/**
 * [AN-FIN] Final versus unconfirmed in analytics: the final height from a node's gadget and
 * from the chain's proof (the higher wins, neither goes back), and the settlement money of
 * /api/summary split by the block that settled it — unconfirmed before its block is final,
 * final after. chainStateFacts says when the chain's proof moves.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Analytics } from '../createAnalytics.js';
import type { Summary } from '../stats/summary.js';
import { chainStateFacts } from '../adapters/chainStateFacts.js';
import { handBuiltFacts, handBuiltMarketFacts, hashOf, startAnalytics } from './analyticsFixtures.js';
import { ChainFixture } from '../../poe-chain/testkit/chainFixture.js';
import type { ChainState } from '../../poe-chain/core/chainState.js';

describe('[AN-FIN] final and unconfirmed settlements', () => {
  let an: Analytics;
  let url: string;
  const summary = async (): Promise<Summary> => {
    const r = await fetch(`${url}/api/summary`);
    assert.equal(r.status, 200);
    return (await r.json()) as Summary;
  };

  before(async () => {
    ({ an, url } = await startAnalytics());
    // the hand-built market settles its auctions and P2P fills in block 5
    await an.ingest([...handBuiltFacts(), ...handBuiltMarketFacts()]);
  });
  after(async () => {
    await an.close();
  });

  it('no final block seen: every settlement is unconfirmed', async () => {
    const s = await summary();
    assert.deepEqual([s.finalizedHeight, s.finalizedHeightSource, s.finalizedProvenOnChainHeight], [null, null, null]);
    assert.deepEqual(s.settlementsInFinalBlocks, { auctionSettlements: 0, auctionPaymentMc: 0, auctionPenaltyMc: 0, p2pSettlements: 0, p2pPaymentMc: 0, p2pImbalanceMc: 0 });
    assert.equal(s.settlementsInUnconfirmedBlocks.auctionSettlements, s.settlements);
    assert.ok(s.settlementsInUnconfirmedBlocks.p2pSettlements > 0);
  });

  it('block 4 final (the chain\'s proof): the settlements of block 5 are still unconfirmed; block 5 final (the node): they are final', async () => {
    await an.ingest({ kind: 'finality', source: 'chain', round: 40, height: 4, hash: hashOf(9004) });
    const before = await summary();
    assert.deepEqual([before.finalizedHeight, before.finalizedHeightSource, before.finalizedProvenOnChainHeight], [4, 'chain', 4]);
    const unc = before.settlementsInUnconfirmedBlocks;
    assert.equal(before.settlementsInFinalBlocks.auctionSettlements, 0);

    await an.ingest({ kind: 'finality', source: 'node', round: 52, height: 5, hash: hashOf(9005), time: 1 });
    const after = await summary();
    assert.deepEqual([after.finalizedHeight, after.finalizedHeightSource, after.finalizedProvenOnChainHeight], [5, 'node', 4]);
    assert.deepEqual(after.settlementsInFinalBlocks, unc, 'the same money, now in final blocks');
    assert.deepEqual(after.settlementsInUnconfirmedBlocks, { auctionSettlements: 0, auctionPaymentMc: 0, auctionPenaltyMc: 0, p2pSettlements: 0, p2pPaymentMc: 0, p2pImbalanceMc: 0 });
    // the hand-built money: X1 pays A 4800 and B 2700 (penalty 500); P2P b1 6500, b2 3900 (imbalance 12000)
    assert.deepEqual([after.settlementsInFinalBlocks.auctionPaymentMc >= 4800 + 2700, after.settlementsInFinalBlocks.p2pImbalanceMc >= 12_000], [true, true]);
  });

  it('a final height never goes back: an older checkpoint changes nothing', async () => {
    const was = await summary();
    await an.ingest([{ kind: 'finality', source: 'node', round: 30, height: 3, hash: hashOf(9003) }, { kind: 'finality', source: 'chain', round: 20, height: 2, hash: hashOf(9002) }]);
    const { facts: _a, ...now } = (await summary()) as Summary & { facts?: number };
    const { facts: _b, ...then } = was as Summary & { facts?: number };
    assert.deepEqual(now, then, 'every figure as before (only the count of facts ingested grew)');
  });

  it('chainStateFacts: a finality fact when the chain\'s proof moves in a block, none otherwise', () => {
    const f = new ChainFixture();
    const prev: ChainState = f.state;
    const built = f.produce([]);
    assert.equal(chainStateFacts(prev, built).filter((x) => x.kind === 'finality').length, 0, 'no justification: no fact');
    const moved: ChainState = { ...built.state, meta: { ...built.state.meta, finalized: { round: 9, height: 1, hash: built.hash } } };
    const facts = chainStateFacts(prev, { ...built, state: moved }).filter((x) => x.kind === 'finality');
    assert.deepEqual(facts, [{ kind: 'finality', source: 'chain', round: 9, height: 1, hash: built.hash, time: Date.parse(built.block.date) }]);
  });
});
