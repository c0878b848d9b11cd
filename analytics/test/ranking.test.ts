/**
 * [AN-RK] the current CPF ranking, with plain values: the chain's latest epoch that ranked a
 * validator; after the day (the chain's epochs go on with no readings, so they rank nobody)
 * the panel keeps the day's last ranked epoch and `latestEpoch` names the chain's latest.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Fact } from '../facts.js';
import { currentRanking, rankingHistory } from '../stats/ranking.js';
import { createStatsStore } from '../stats/statsStore.js';
import { A, B, C, memoryDb } from './analyticsFixtures.js';

const entry = (address: string, scoreWh: number) => ({ address, scoreWh, cpf: Math.round(Math.exp(-scoreWh / 1000) * 1e6) / 1e6 });
const ranking = (epoch: number, entries: ReturnType<typeof entry>[], decidedBy: 'none' | 'single' | 'score'): Fact =>
  ({ kind: 'ranking', epoch, ranking: entries, height: epoch * 10, decidedBy, tiedAtTop: entries.length ? 1 : 0 });

async function storeWith(facts: Fact[]) {
  const store = await createStatsStore(memoryDb());
  await store.apply(facts);
  return store;
}

describe('[AN-RK] the current ranking', () => {
  it('during the day: the latest epoch, which ranked validators; no latestEpoch', async () => {
    const store = await storeWith([ranking(40, [entry(A, 100), entry(B, 300)], 'score'), ranking(41, [entry(B, 50), entry(A, 80), entry(C, 900)], 'score')]);
    const r = currentRanking(store, { top: 10 })!;
    assert.equal(r.source, 'chain');
    assert.equal(r.epoch, 41);
    assert.equal(r.size, 3);
    assert.equal(r.latestEpoch, undefined);
    assert.deepEqual(r.items.map((e) => [e.rank, e.address, e.scoreWh]), [[1, B, 50], [2, A, 80], [3, C, 900]]);
  });

  it("after the day: the day's last ranked epoch, and latestEpoch = the chain's latest (which ranked none)", async () => {
    const store = await storeWith([
      ranking(46, [entry(A, 100), entry(B, 300)], 'score'),
      ranking(47, [entry(B, 20)], 'single'),
      ranking(48, [], 'none'),
      ranking(49, [], 'none'),
    ]);
    const r = currentRanking(store, { top: 10 })!;
    assert.deepEqual([r.source, r.epoch, r.size, r.latestEpoch, r.decidedBy], ['chain', 47, 1, 49, 'single']);
    assert.deepEqual(r.items, [{ rank: 1, address: B, scoreWh: 20, cpf: entry(B, 20).cpf }]);
    // top cuts the list, not the size
    const top1 = await storeWith([ranking(46, [entry(A, 100), entry(B, 300)], 'score'), ranking(47, [], 'none')]);
    const t = currentRanking(top1, { top: 1 })!;
    assert.deepEqual([t.epoch, t.size, t.items.length, t.latestEpoch], [46, 2, 1, 47]);
    // the history still lists every epoch, newest first
    assert.deepEqual(rankingHistory(store, { limit: 10, top: 1 }).items.map((h) => [h.epoch, h.size]), [[49, 0], [48, 0], [47, 1], [46, 2]]);
  });

  it('no epoch ranked anyone yet: the latest epoch, empty, and no latestEpoch', async () => {
    const store = await storeWith([ranking(2, [], 'none'), ranking(3, [], 'none')]);
    const r = currentRanking(store, { top: 10 })!;
    assert.deepEqual([r.epoch, r.size, r.latestEpoch], [3, 0, undefined]);
  });
});
