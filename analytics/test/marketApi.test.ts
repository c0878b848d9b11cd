/**
 * [AN-P2P] The P2P market endpoints over the real app, after ingesting the hand-built
 * market and the hand-built P2P market of analyticsFixtures.ts. Figures worked out by hand.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Analytics } from '../createAnalytics.js';
import type { MarketDetail, MarketHomeRow, MarketList } from '../stats/marketQueries.js';
import { A, B, C, M1, M2, P1, S1, S2, handBuiltFacts, handBuiltMarketFacts, startAnalytics } from './analyticsFixtures.js';

describe('analytics HTTP API: the P2P market', () => {
  let an: Analytics;
  let url: string;

  const get = async (path: string): Promise<{ status: number; type: string; text: string }> => {
    const r = await fetch(url + path);
    return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
  };
  const ok = async <T>(path: string): Promise<T> => {
    const r = await get(path);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    return JSON.parse(r.text) as T;
  };
  const bad = async (path: string, status: number, code: string): Promise<void> => {
    const r = await get(path);
    assert.equal(r.status, status, `${path} → ${r.status} ${r.text}`);
    assert.equal((JSON.parse(r.text) as { error: { code: string } }).error.code, code);
  };

  before(async () => {
    ({ an, url } = await startAnalytics());
    await an.ingest([...handBuiltFacts(), ...handBuiltMarketFacts()]);
  });
  after(async () => {
    await an.close();
  });

  it('GET /api/market: recent intervals newest first, P2P volume next to the auctions\' awarded volume', async () => {
    const l = await ok<MarketList>('/api/market');
    assert.deepEqual(l.items.map((r) => r.interval), [M2, M1]);
    const [m2, m1] = l.items as [MarketList['items'][0], MarketList['items'][0]];
    assert.deepEqual(
      { ...m1 },
      {
        interval: M1, start: new Date(S1).toISOString(), end: new Date(S2).toISOString(), status: 'cleared',
        clearingPriceMcPerKWh: 6500, priceLowMcPerKWh: 6000, priceHighMcPerKWh: 7000, p2pVolumeWh: 2000, fills: 4,
        bookBuyOrders: 2, bookSellOrders: 2, bookBuyWh: 3000, bookSellWh: 2000, excludedCount: 0, settledFills: 2, deliveredWh: 1600,
        // X1 awarded 600 + 400, X2 300, both delivering in S1
        auctionAwardedWh: 1300, clearedHeight: 3,
      },
    );
    // nothing traded in M2; X3 awarded 200 Wh in S2
    assert.deepEqual([m2.status, m2.clearingPriceMcPerKWh, m2.p2pVolumeWh, m2.fills, m2.auctionAwardedWh, m2.excludedCount], ['settled', null, 0, 0, 200, 3]);
    assert.deepEqual(l.totals, { intervals: 2, p2pVolumeWh: 2000, auctionAwardedWh: 1500, fills: 4, volumeWeightedPriceMcPerKWh: 6500 });
    // paging: before is exclusive
    assert.deepEqual((await ok<MarketList>(`/api/market?limit=1&before=${M2}`)).items.map((r) => r.interval), [M1]);
    // the headline figures: P2P beside the auctions' awarded energy
    const s = await ok<{ tradedWh: number; p2pIntervalsCleared: number; p2pTradedWh: number; p2pFills: number }>('/api/summary');
    assert.deepEqual([s.p2pIntervalsCleared, s.p2pTradedWh, s.p2pFills], [2, 2000, 4]);
  });

  it('GET /api/market.csv: one row per interval', async () => {
    const r = await get('/api/market.csv');
    assert.match(r.type, /text\/csv/);
    const lines = r.text.trim().split(/\r?\n/);
    assert.equal(lines.length, 3);
    assert.ok(lines[0]!.startsWith('interval,start,end,status,clearingPriceMcPerKWh'));
  });

  it('GET /api/market/:interval: fills, the book sorted for a depth chart, settlements', async () => {
    const d = await ok<MarketDetail>(`/api/market/${M1}`);
    assert.equal(d.market.clearingPriceMcPerKWh, 6500);
    assert.deepEqual(d.book.buys.map((o) => [o.address, o.energyWh, o.priceMcPerKWh]), [[A, 1000, 11_000], [B, 2000, 7000]]);
    assert.deepEqual(d.book.sells.map((o) => [o.address, o.energyWh, o.priceMcPerKWh]), [[C, 1000, 5000], [P1, 1000, 6000]]);
    assert.ok(d.fills.every((f) => f.priceMcPerKWh === 6500));
    assert.equal(d.bookTruncated, false);
    assert.deepEqual(d.settlements.map((s) => [s.address, s.deliveredWh, s.paymentMc, s.penaltyMc]), [[A, 1000, 6500, 0], [B, 600, 3900, 12_000]]);
  });

  it('GET /api/market/homes: M_i = traded / imported, A_i = traded / min(revealed buy, revealed sell)', async () => {
    const h = await ok<{ total: number; items: MarketHomeRow[] }>('/api/market/homes');
    assert.equal(h.total, 4);
    const by = new Map(h.items.map((r) => [r.address, r]));
    // A imported nothing (its readings export or balance); it only bought: both ratios null
    assert.deepEqual([by.get(A)?.tradedWh, by.get(A)?.importedWh, by.get(A)?.marketEfficiency, by.get(A)?.allocativeEfficiency], [1000, 0, null, null]);
    // B imported 400 (S1) + 500 (S2)
    assert.deepEqual([by.get(B)?.importedWh, by.get(B)?.marketEfficiency], [900, 1000 / 900]);
    // C sold 1 kWh, imported 1000 (S1); revealed sells 1000, buys 300
    assert.deepEqual(
      [by.get(C)?.soldWh, by.get(C)?.importedWh, by.get(C)?.revealedBuyWh, by.get(C)?.revealedSellWh, by.get(C)?.marketEfficiency, by.get(C)?.allocativeEfficiency],
      [1000, 1000, 300, 1000, 1, 1000 / 300],
    );
    assert.equal((await ok<{ items: unknown[] }>('/api/market/homes?limit=1')).items.length, 1);
  });

  it('bad parameters and unknown intervals are refused', async () => {
    await bad('/api/market?limit=0', 400, 'BAD_QUERY');
    await bad('/api/market?limit=1001', 400, 'BAD_QUERY');
    await bad('/api/market?before=-1', 400, 'BAD_QUERY');
    await bad('/api/market?foo=1', 400, 'BAD_QUERY');
    await bad('/api/market/homes?limit=10001', 400, 'BAD_QUERY');
    await bad('/api/market/abc', 400, 'BAD_PATH');
    await bad(`/api/market/${M1}?x=1`, 400, 'BAD_QUERY');
    await bad('/api/market/999', 404, 'NOT_FOUND');
  });
});
