/**
 * The HTTP API over the real app on an ephemeral port, after ingesting the hand-built
 * market of analyticsFixtures.ts. Every expected figure is worked out here by hand.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Analytics } from '../createAnalytics.js';
import { A, AGG, B, C, DAY, P1, P2, S1, S2, handBuiltFacts, hashOf, memoryDb, startAnalytics } from './analyticsFixtures.js';

const iso = (ms: number): string => new Date(ms).toISOString();

interface ErrorBody {
  error: { code: string; message: string };
}

describe('analytics HTTP API', () => {
  let an: Analytics;
  let url: string;

  const get = async (path: string): Promise<{ status: number; type: string; body: unknown; text: string }> => {
    const r = await fetch(url + path);
    const text = await r.text();
    const type = r.headers.get('content-type') ?? '';
    return { status: r.status, type, text, body: type.includes('json') ? JSON.parse(text) : undefined };
  };
  const ok = async <T>(path: string): Promise<T> => {
    const r = await get(path);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    return r.body as T;
  };
  const bad = async (path: string, status: number, code: string, mention?: string): Promise<void> => {
    const r = await get(path);
    assert.equal(r.status, status, `${path} → ${r.status} ${r.text}`);
    assert.match(r.type, /json/);
    const e = (r.body as ErrorBody).error;
    assert.equal(e.code, code, `${path}: ${r.text}`);
    assert.ok(e.message.length > 0);
    if (mention !== undefined) assert.ok(e.message.includes(mention), `${path}: message '${e.message}' should mention '${mention}'`);
  };

  before(async () => {
    ({ an, url } = await startAnalytics());
    await an.ingest(handBuiltFacts());
  });
  after(async () => {
    await an.close();
  });

  it('GET /api/health', async () => {
    const h = await ok<{ status: string; facts: number; version: number }>('/api/health');
    assert.equal(h.status, 'ok');
    assert.equal(h.facts, handBuiltFacts().length);
    assert.ok(h.version >= 1);
  });

  it('GET /api/self-consumption: per home and overall, min(P, C + charged) / P', async () => {
    const s = await ok<{ overall: { producedWh: number; selfConsumedWh: number; ratio: number | null; homes: number }; items: { address: string; selfConsumedWh: number; producedWh: number; ratio: number | null; importedWh: number; exportedWh: number }[] }>('/api/self-consumption');
    // A: slot 1 min(2000, 800+700)=1500, slot 2 min(1000, 600)=600 → 2100 / 3000
    // B: slot 1 min(500, 1200)=500, slot 2 min(0, 1000)=0 → 500 / 500
    // C: slot 1 min(0, 1000)=0 → 0 / 0 → null
    const by = new Map(s.items.map((i) => [i.address, i]));
    assert.equal(by.get(A)?.selfConsumedWh, 2100);
    assert.equal(by.get(A)?.producedWh, 3000);
    assert.equal(by.get(A)?.ratio, 0.7);
    assert.equal(by.get(B)?.ratio, 1);
    assert.equal(by.get(C)?.ratio, null);
    // imports: B slot 1 max(0, 1200 − 500 − 300)=400, slot 2 max(0, 1000 − 500)=500; exports: A 500 + 400
    assert.equal(by.get(B)?.importedWh, 900);
    assert.equal(by.get(A)?.exportedWh, 900);
    assert.deepEqual({ ...s.overall }, { homes: 3, readings: 5, producedWh: 3500, selfConsumedWh: 2600, ratio: 2600 / 3500 });
  });

  it('GET /api/efficiency: M_i = traded / imported, A_i = traded / min(buy, sell)', async () => {
    const e = await ok<{ overall: Record<string, number | null>; items: Record<string, unknown>[] }>('/api/efficiency');
    // slot 1: traded = X1 1000 + X2 300; imported = B 400 + C 1000 = 1400
    //         buy = X1 aggregator 1000 + X2 HEM bid 300; sell = X1 offers 600+500+400 + X2 aggregator 800
    // slot 2: traded = X3 200; imported = B 500; buy = X3 500 + X4 100; sell = X3 offers 200 + 300
    assert.deepEqual(e.items, [
      { start: iso(S1), end: iso(S2), tradedWh: 1300, importedWh: 1400, buyWh: 1300, sellWh: 2300, marketEfficiency: 1300 / 1400, allocativeEfficiency: 1 },
      { start: iso(S2), end: iso(S2 + 900_000), tradedWh: 200, importedWh: 500, buyWh: 600, sellWh: 500, marketEfficiency: 0.4, allocativeEfficiency: 0.4 },
    ]);
    assert.deepEqual(e.overall, {
      slots: 2, tradedWh: 1500, importedWh: 1900, matchableWh: 1800, marketEfficiency: 1500 / 1900, allocativeEfficiency: 1500 / 1800,
    });
    const one = await ok<{ items: unknown[] }>(`/api/efficiency?from=${iso(S2)}`);
    assert.equal(one.items.length, 1);
    const last = await ok<{ items: { start: string }[] }>('/api/efficiency?limit=1');
    assert.equal(last.items[0]?.start, iso(S2));
  });

  it('GET /api/producers: blocks, rewards and share, after a reorg at height 5', async () => {
    const p = await ok<{ height: number; totalBlocks: number; totalRewardMc: number; items: { address: string; blocks: number; share: number; txs: number; rewardMc: number; rewardShare: number }[] }>('/api/producers');
    // P1: heights 1, 2, 4 and 5 (P1's block replaced P2's at 5); P2: height 3
    assert.equal(p.height, 5);
    assert.equal(p.totalBlocks, 5);
    assert.equal(p.totalRewardMc, 5000);
    assert.deepEqual(p.items, [
      { address: P1, blocks: 4, share: 0.8, txs: 3 + 2 + 1 + 2, rewardMc: 4000, rewardShare: 0.8 },
      { address: P2, blocks: 1, share: 0.2, txs: 0, rewardMc: 1000, rewardShare: 0.2 },
    ]);
  });

  it('GET /api/prices: volume and volume-weighted mean price per delivery slot', async () => {
    const p = await ok<{ items: unknown[] }>('/api/prices');
    // slot 1: (600×8000 + 400×9000 + 300×6000) / 1300 = 10,200,000 / 1300 = 7846.15… → 7846
    assert.deepEqual(p.items, [
      { start: iso(S1), end: iso(S2), auctions: 2, clearedAuctions: 2, volumeWh: 1300, meanPriceMcPerKWh: 7846, buyWh: 1300, sellWh: 2300 },
      { start: iso(S2), end: iso(S2 + 900_000), auctions: 2, clearedAuctions: 1, volumeWh: 200, meanPriceMcPerKWh: 7000, buyWh: 600, sellWh: 500 },
    ]);
    const only2 = await ok<{ items: unknown[] }>(`/api/prices?from=${iso(S2)}&to=${iso(S2 + 900_000)}`);
    assert.equal(only2.items.length, 1);
  });

  it('GET /api/auctions: newest first, paged with next', async () => {
    const p1 = await ok<{ items: { auctionId: string; status: string }[]; next: string | null }>('/api/auctions?limit=3');
    assert.deepEqual(p1.items.map((a) => a.auctionId), ['X4', 'X3', 'X2']);
    assert.deepEqual(p1.items.map((a) => a.status), ['closed', 'cleared', 'cleared']);
    assert.ok(p1.next !== null);
    const p2 = await ok<{ items: { auctionId: string; awardedWh: number; bids: number; bidSellWh: number }[]; next: string | null }>(`/api/auctions?limit=3&before=${encodeURIComponent(p1.next)}`);
    assert.deepEqual(p2.items.map((a) => a.auctionId), ['X1']);
    assert.equal(p2.next, null);
    assert.equal(p2.items[0]?.awardedWh, 1000);
    assert.equal(p2.items[0]?.bids, 3);
    assert.equal(p2.items[0]?.bidSellWh, 1500);
  });

  it('GET /api/auctions/:id: the auction with its bids, awards and settlements', async () => {
    const d = await ok<{ auction: { auctionId: string; excludedCount: number; deliveryStart: string; clearingPriceMcPerKWh: number }; bids: { address: string }[]; awards: unknown[]; settlements: { address: string; penaltyMc: number }[] }>('/api/auctions/X1');
    assert.equal(d.auction.auctionId, 'X1');
    assert.equal(d.auction.deliveryStart, iso(S1));
    assert.equal(d.auction.clearingPriceMcPerKWh, 9000);
    assert.equal(d.auction.excludedCount, 1);
    assert.deepEqual(d.bids.map((b) => b.address), [A, B, C]);
    assert.equal(d.awards.length, 2);
    assert.deepEqual(d.settlements.map((s) => [s.address, s.penaltyMc]), [[A, 0], [B, 500]]);
    await bad('/api/auctions/nope', 404, 'NOT_FOUND', 'nope');
    await bad('/api/auctions/bad%20id', 400, 'BAD_PATH', 'id');
  });

  it('GET /api/ranking: from the readings until the chain gives one', async () => {
    // latest slot (10:15), the paper's score [CPF]: A |1000 − 600| = 400, B |0 − 1000| = 1000 (its discharge is not RES production)
    const r = await ok<{ source: string; intervalStart: string; items: { rank: number; address: string; scoreWh: number; cpf: number }[] }>('/api/ranking');
    assert.equal(r.source, 'readings');
    assert.equal(r.intervalStart, iso(S2));
    assert.deepEqual(r.items, [
      { rank: 1, address: A, scoreWh: 400, cpf: Math.round(Math.exp(-0.4) * 1e6) / 1e6 },
      { rank: 2, address: B, scoreWh: 1000, cpf: Math.round(Math.exp(-1) * 1e6) / 1e6 },
    ]);
    const h = await ok<{ source: string; items: { intervalStart: string; items: unknown[] }[] }>('/api/ranking/history?limit=5&top=1');
    assert.equal(h.source, 'readings');
    assert.deepEqual(h.items.map((x) => [x.intervalStart, x.items.length]), [[iso(S2), 1], [iso(S1), 1]]);
  });

  it('GET /api/wallets and /api/wallets/:address', async () => {
    const w = await ok<{ total: number; items: { address: string; balanceMc: number | null; awards: number; awardedWh: number; awardValueMc: number; paymentMc: number; penaltyMc: number; receivedMc: number | null; paidMc: number | null; clearingAccount: boolean }[] }>('/api/wallets');
    assert.equal(w.total, 4);
    assert.deepEqual(w.items.map((i) => [i.address, i.balanceMc]), [[AGG, 992_500], [A, 4800], [B, 2200], [C, null]]);
    // [AN-WM] who paid whom: X1 (the aggregator buys) pays A 4800 and B 2700, B pays a 500 penalty;
    // the clearing account is the other side of each: it received 500 and paid 7500
    assert.deepEqual(w.items.map((i) => [i.address, i.receivedMc, i.paidMc, i.clearingAccount]), [
      [AGG, 500, 4800 + 2700, true], [A, 4800, 0, false], [B, 2700, 500, false], [C, null, null, false],
    ]);
    const a = w.items.find((i) => i.address === A);
    // A won 600 @ 8000 (X1) and 200 @ 7000 (X3): 4800 + 1400
    assert.deepEqual([a?.awards, a?.awardedWh, a?.awardValueMc, a?.paymentMc], [2, 800, 6200, 4800]);
    const d = await ok<{ wallet: { balanceMc: number; penaltyMc: number }; settlements: unknown[]; home: { readings: number } }>(`/api/wallets/${B}`);
    assert.equal(d.wallet.balanceMc, 2200);
    assert.equal(d.wallet.penaltyMc, 500);
    assert.equal(d.settlements.length, 1);
    assert.equal(d.home.readings, 2);
    await bad(`/api/wallets/${'9'.repeat(64)}`, 404, 'NOT_FOUND');
    await bad('/api/wallets/xyz', 400, 'BAD_PATH', 'address');
  });

  it('GET /api/net-load: schedule vs actual (C + charged − P − discharged)', async () => {
    const n = await ok<{ day: string; source: string; intervalMinutes: number; items: { start: string; scheduledWh: number; actualWh: number | null; deviationWh: number | null }[]; totals: Record<string, number | null> }>('/api/net-load');
    assert.equal(n.day, DAY);
    assert.equal(n.source, 'schedule');
    assert.equal(n.intervalMinutes, 15);
    assert.equal(n.items.length, 96);
    // slot 1: (800+700−2000) + (1200−500−300) + (900+100) = −500 + 400 + 1000 = 900; slot 2: −400 + 500 = 100
    assert.deepEqual(n.items[40], { start: iso(S1), end: iso(S2), scheduledWh: 1000, actualWh: 900, deviationWh: -100, readings: 3 });
    assert.deepEqual(n.items[41], { start: iso(S2), end: iso(S2 + 900_000), scheduledWh: 300, actualWh: 100, deviationWh: -200, readings: 2 });
    assert.equal(n.items[42]?.actualWh, null);
    assert.deepEqual(n.totals, { scheduledWh: 1300, actualWh: 1000, intervals: 96, compared: 2, meanAbsDeviationWh: 150 });
    const other = await ok<{ source: string; items: unknown[] }>('/api/net-load?day=2026-11-22');
    assert.equal(other.source, 'readings');
    assert.equal(other.items.length, 0);
  });

  it('GET /api/soc: SOC per pseudonym on one time axis, from the readings on chain', async () => {
    const s = await ok<{ times: string[]; meanSocPermille: number[]; homes: { address: string; socPermille: (number | null)[] }[] }>('/api/soc');
    assert.deepEqual(s.times, [iso(S1), iso(S2)]);
    assert.deepEqual(s.meanSocPermille, [400, 450]); // (600+400+200)/3, (600+300)/2
    assert.deepEqual(s.homes, [
      { address: A, socPermille: [600, 600] },
      { address: B, socPermille: [400, 300] },
      { address: C, socPermille: [200, null] }, // its reading of slot 2 is not on chain
    ]);
  });

  it('GET /api/summary', async () => {
    const s = await ok<Record<string, unknown>>('/api/summary');
    assert.equal(s.height, 5);
    assert.equal(s.blocks, 5);
    assert.equal(s.auctions, 4);
    assert.deepEqual(s.auctionsByStatus, { unknown: 0, open: 0, closed: 1, cleared: 3, void: 0 });
    // [AN-ONCHAIN] six readings seen, five on chain; the figures count the five
    assert.deepEqual([s.readings, s.readingsOnChain, s.pseudonyms], [6, 5, 3]);
    assert.equal(s.tradedWh, 1500);
    // (10,200,000 + 200×7000) / 1500 = 7733.3 → 7733
    assert.equal(s.meanPriceMcPerKWh, 7733);
    assert.equal(s.selfConsumption, 2600 / 3500);
    assert.equal(s.marketEfficiency, 1500 / 1900);
    assert.equal(s.allocativeEfficiency, 1500 / 1800);
  });

  it('CSV: /api/<x>.csv and ?format=csv', async () => {
    const a = await get('/api/prices.csv');
    assert.equal(a.status, 200);
    assert.match(a.type, /^text\/csv/);
    assert.equal(a.text, [
      'start,end,auctions,clearedAuctions,volumeWh,meanPriceMcPerKWh,buyWh,sellWh',
      `${iso(S1)},${iso(S2)},2,2,1300,7846,1300,2300`,
      `${iso(S2)},${iso(S2 + 900_000)},2,1,200,7000,600,500`,
      '',
    ].join('\r\n'));
    const b = await get('/api/prices?format=csv');
    assert.equal(b.text, a.text);
    const sc = await get('/api/self-consumption.csv');
    const lines = sc.text.trim().split('\r\n');
    assert.equal(lines[0], 'address,readings,producedWh,consumedWh,chargedWh,dischargedWh,selfConsumedWh,importedWh,exportedWh,ratio');
    assert.equal(lines[1], `${A},2,3000,1400,700,0,2100,0,900,0.7`);
    assert.equal(lines[3], `${C},1,0,900,100,0,0,1000,0,`); // null ratio → empty field
    for (const path of ['/api/auctions.csv', '/api/ranking.csv', '/api/ranking/history.csv', '/api/producers.csv', '/api/wallets.csv', '/api/efficiency.csv', '/api/net-load.csv', '/api/soc.csv']) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
      assert.match(r.type, /^text\/csv/, path);
      assert.ok(r.text.split('\r\n').length >= 3, `${path} has a header and rows`);
    }
    const p = (await get('/api/producers.csv')).text.split('\r\n');
    assert.equal(p[1], `${P1},4,0.8,8,4000,0.8`);
  });

  it('bad query parameters: 400 with a clear message', async () => {
    await bad('/api/auctions?limit=0', 400, 'BAD_QUERY', "'limit' must be >= 1");
    await bad('/api/auctions?limit=5000', 400, 'BAD_QUERY', "'limit' must be <= 1000");
    await bad('/api/auctions?limit=abc', 400, 'BAD_QUERY', "'limit' must be integer");
    await bad('/api/auctions?limit=1&limit=2', 400, 'BAD_QUERY', 'limit');
    await bad('/api/auctions?before=yesterday', 400, 'BAD_QUERY', 'before');
    await bad('/api/auctions?foo=1', 400, 'BAD_QUERY', "unknown query parameter 'foo'");
    await bad('/api/prices?from=today', 400, 'BAD_QUERY', 'from');
    await bad('/api/prices?from=2026-13-40T00:00:00Z', 400, 'BAD_QUERY', 'not a real date');
    await bad(`/api/prices?from=${iso(S2)}&to=${iso(S1)}`, 400, 'BAD_QUERY', "'from' must be before 'to'");
    await bad('/api/prices?format=xml', 400, 'BAD_QUERY', 'format');
    await bad('/api/efficiency?limit=-1', 400, 'BAD_QUERY', 'limit');
    await bad('/api/ranking?top=0', 400, 'BAD_QUERY', 'top');
    await bad('/api/ranking/history?limit=100000', 400, 'BAD_QUERY', 'limit');
    await bad('/api/wallets?limit=1e9', 400, 'BAD_QUERY', 'limit');
    await bad('/api/net-load?day=21-11-2026', 400, 'BAD_QUERY', 'day');
    await bad('/api/net-load?day=2026-02-30', 400, 'BAD_QUERY', 'not a real date');
    await bad('/api/soc?homes=1000', 400, 'BAD_QUERY', 'homes');
    await bad('/api/summary?x=1', 400, 'BAD_QUERY', "unknown query parameter 'x'");
    await bad('/api/health?verbose', 400, 'BAD_QUERY');
    await bad(`/api/auctions?before=${'9'.repeat(17)}`, 400, 'BAD_QUERY', 'before');
  });

  it('unknown routes → 404 JSON; writes → 405 JSON', async () => {
    await bad('/api/nope', 404, 'NOT_FOUND', '/api/nope');
    await bad('/nothing/here', 404, 'NOT_FOUND');
    const r = await fetch(url + '/api/summary', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 405);
    assert.equal(((await r.json()) as ErrorBody).error.code, 'METHOD_NOT_ALLOWED');
  });

  it('serves the dashboard and uPlot without a CDN', async () => {
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(page.type, /text\/html/);
    assert.ok(page.text.includes('/vendor/uplot/uPlot.esm.js') || page.text.includes('/app.js'));
    const js = await get('/vendor/uplot/uPlot.esm.js');
    assert.equal(js.status, 200);
    assert.match(js.type, /javascript/);
    const app = await get('/app.js');
    assert.ok(app.text.includes("from '/vendor/uplot/uPlot.esm.js'"));
  });

  it('a bad fact changes nothing', async () => {
    const before = await ok<{ version: number; facts: number }>('/api/health');
    await assert.rejects(
      an.ingest([{ kind: 'wallet', address: A, balanceMc: 1 }, { kind: 'reading', address: A } as never]),
      (e: Error & { code?: string }) => e.code === 'BAD_FACT' && /index=1/.test(e.message),
    );
    await assert.rejects(an.ingest({ kind: 'nope' } as never), /BAD_FACT/);
    await assert.rejects(
      an.ingest({ kind: 'reading', address: A, intervalStart: S2, intervalEnd: S1, producedWh: 0, consumedWh: 0, chargedWh: 0, dischargedWh: 0, socPermille: 0 }),
      /intervalEnd must be after intervalStart/,
    );
    const afterIt = await ok<{ version: number; facts: number }>('/api/health');
    assert.deepEqual(afterIt, { ...afterIt, version: before.version, facts: before.facts });
    const w = await ok<{ wallet: { balanceMc: number } }>(`/api/wallets/${A}`);
    assert.equal(w.wallet.balanceMc, 4800);
  });

  it('ingesting everything again changes nothing', async () => {
    const before = await ok<unknown>('/api/summary');
    const r = await an.ingest(handBuiltFacts());
    assert.equal(r.changes, 0);
    const s = (await ok<Record<string, unknown>>('/api/summary'));
    assert.deepEqual({ ...s, facts: 0 }, { ...(before as object), facts: 0 });
  });
});

describe('analytics: ranking from the chain, live updates, restart', () => {
  it('a RankingFact replaces the readings ranking', async () => {
    const { an, url } = await startAnalytics();
    try {
      await an.ingest(handBuiltFacts());
      await an.ingest({ kind: 'ranking', epoch: 42, height: 6, ranking: [{ address: B, scoreWh: 100, cpf: 0.904837 }, { address: A, scoreWh: 250, cpf: 0.778801 }] });
      const r = (await (await fetch(`${url}/api/ranking`)).json()) as { source: string; epoch: number; items: { rank: number; address: string }[] };
      assert.equal(r.source, 'chain');
      assert.equal(r.epoch, 42);
      assert.deepEqual(r.items.map((e) => [e.rank, e.address]), [[1, B], [2, A]]);
    } finally {
      await an.close();
    }
  });

  it('SSE: hello, then one facts event per batch; keepalive comments; bounded clients', async () => {
    const { an, url } = await startAnalytics({ maxSseClients: 1, keepaliveMs: 50 });
    const ac = new AbortController();
    try {
      const r = await fetch(`${url}/api/events`, { signal: ac.signal });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
      const reader = r.body!.getReader();
      let text = '';
      const until = async (re: RegExp): Promise<void> => {
        while (!re.test(text)) {
          const { value, done } = await reader.read();
          if (done) throw new Error('stream ended');
          text += new TextDecoder().decode(value);
        }
      };
      await until(/event: hello\ndata: \{[^\n]*\}\n\n/);
      await until(/: keepalive\n\n/);
      const second = await fetch(`${url}/api/events`);
      assert.equal(second.status, 503);
      assert.equal(((await second.json()) as ErrorBody).error.code, 'TOO_MANY_CLIENTS');
      await an.ingest(handBuiltFacts().slice(0, 3));
      await until(/event: facts\ndata: (\{[^\n]*\})\n\n/);
      const data = JSON.parse(/event: facts\ndata: (\{[^\n]*\})\n\n/.exec(text)![1]!) as { facts: number; kinds: Record<string, number> };
      assert.equal(data.facts, 3);
      assert.deepEqual(data.kinds, { schedule: 1, reading: 2 });
    } finally {
      ac.abort();
      await an.close();
    }
  });

  it('statistics survive a restart (level)', async () => {
    const db = memoryDb();
    const first = await startAnalytics({ db });
    await first.an.ingest(handBuiltFacts());
    const before = await (await fetch(`${first.url}/api/summary`)).json();
    const eff = await (await fetch(`${first.url}/api/efficiency`)).json();
    await first.an.close();
    const second = await startAnalytics({ db });
    try {
      assert.deepEqual(await (await fetch(`${second.url}/api/summary`)).json(), before);
      assert.deepEqual(await (await fetch(`${second.url}/api/efficiency`)).json(), eff);
      assert.equal(second.an.store.get('block', '0000000000000005')?.hash, hashOf(555));
    } finally {
      await second.an.close();
    }
  });
});
