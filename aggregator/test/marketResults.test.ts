/**
 * [AGG-FIN-3] The aggregator republishes a P2P clearing only once the block that cleared it is
 * final: not when the block is applied, never for a block a reorg orphaned, once for the block
 * that became final. A fake node emits the chain node's events; the states are the chain's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createMarketResultPublisher, type MarketResultNode } from '../marketResults.js';
import { ChainFixture } from '../../poe-chain/testkit/chainFixture.js';
import { HashedMap } from '../../poe-chain/core/hashedMap.js';
import { marketGate, slotAt, slotTime } from '../../poe-chain/core/genesis.js';
import type { ChainState, MarketEntry } from '../../poe-chain/core/chainState.js';
import type { MarketResult } from '../../schemas/types.js';
import type { NodeBlockEvent } from '../../poe-chain/node/nodeContext.js';

test('[AGG-FIN-3] a P2P clearing is published once its block is final, never from an orphaned block', () => {
  const f = new ChainFixture();
  const g = f.genesis;
  const A = f.key('p2p-a').address;
  const B = f.key('p2p-b').address;
  // the clearing of interval 2 in a block at its gate, height 7
  const slot = slotAt(g, marketGate(g, 2));
  const cleared = (fills: { address: string; side: 'buy' | 'sell'; energyWh: number }[], hash: string): NodeBlockEvent => {
    const entry: MarketEntry = {
      epoch: 2, status: 'cleared', clearedHeight: 7, volumeWh: 500, clearingPriceMcPerKWh: 6000,
      fills: fills.map((x, i) => ({ orderId: `o${i}`, address: x.address, tag: x.address, feeder: 'F1', side: x.side, energyWh: x.energyWh, priceMcPerKWh: 6000, inclusion: i, reservedMc: 0 })),
    };
    const state: ChainState = { ...f.state, meta: { ...f.state.meta, height: 7, tipSlot: slot }, sections: { ...f.state.sections, markets: HashedMap.fromEntries([['2', entry]]) } };
    return { block: { parameters: { header: { slot, height: 7 } } }, hash, txIds: [], state, height: 7, source: 'gossip', at: 0 } as unknown as NodeBlockEvent;
  };
  let finalizedHeight = 6;
  const events = new EventEmitter();
  const node = {
    head: () => ({ time: new Date(slotTime(g, slot - 1)).toISOString(), finalizedHeight }),
    on: (e: string, l: (...a: unknown[]) => void) => events.on(e, l),
    off: (e: string, l: (...a: unknown[]) => void) => events.off(e, l),
  } as unknown as MarketResultNode;
  const published: { epoch: number; result: MarketResult }[] = [];
  const pub = createMarketResultPublisher({ node, genesis: g, publish: async (epoch, result) => void published.push({ epoch, result }) });

  // applied, not final: nothing published, the clearing waits
  events.emit('block', cleared([{ address: A, side: 'sell', energyWh: 500 }, { address: B, side: 'buy', energyWh: 500 }], 'aa'.repeat(32)));
  assert.equal(published.length, 0);
  assert.deepEqual(pub.waiting(), [{ epoch: 2, height: 7, hash: 'aa'.repeat(32) }]);
  events.emit('final', { round: 10, height: 6, hash: 'ff'.repeat(32), at: 0 });
  assert.equal(published.length, 0, 'block 6 final: block 7 is not');

  // a reorg orphans that block; the other branch clears the interval otherwise
  events.emit('reorg', { from: {}, to: {}, forkHeight: 6, orphaned: ['aa'.repeat(32)], adopted: ['bb'.repeat(32)] });
  assert.deepEqual(pub.waiting(), []);
  events.emit('block', cleared([{ address: A, side: 'sell', energyWh: 300 }, { address: B, side: 'buy', energyWh: 300 }], 'bb'.repeat(32)));
  assert.equal(published.length, 0);

  // block 7 of that branch final: published once, the fills of the final block
  finalizedHeight = 7;
  events.emit('final', { round: 11, height: 7, hash: 'bb'.repeat(32), at: 0 });
  assert.equal(published.length, 1);
  assert.equal(published[0]!.epoch, 2);
  assert.equal(published[0]!.result.height, 7);
  assert.deepEqual(published[0]!.result.fills.map((x) => x.energyWh), [300, 300]);
  events.emit('final', { round: 12, height: 8, hash: 'cc'.repeat(32), at: 0 });
  assert.equal(published.length, 1, 'never twice');
  assert.deepEqual(pub.waiting(), []);
  pub.stop();
  assert.equal(events.listenerCount('block') + events.listenerCount('final') + events.listenerCount('reorg'), 0);
});
