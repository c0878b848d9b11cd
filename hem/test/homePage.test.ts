/**
 * The home page without a browser: [HOME-BIND] config rules, [HOME-AUTH] the password,
 * [HOME-IN] the API's refusals, and the views of outcomes the e2e run does not produce
 * (exclusions, void auctions, no-bid reasons, a home that bought and paid).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { pino } from 'pino';
import { runHem } from '../runHem.js';
import { generateKeyPair } from '../../wire/keys.js';
import { captureLog, constantProfile, fakeIssuer, sleep, startPlainBroker, tempDir, waitFor } from './hemFixtures.js';
import { parseHemConfig, HOME_PAGE_DEFAULT_PORT } from '../hemConfig.js';
import { startHomePage } from '../homePage/homePageServer.js';
import { auctionViews, homeView, marketViews, NOT_KNOWN_HERE, type ChainReader, type HomeSources } from '../homePage/homePageData.js';
import type { MarketOrderRecord } from '../marketTrader.js';
import type { BidRecord, EmsHistory } from '../ems.js';
import type { AuctionResult, MeterReading } from '../../schemas/types.js';
import { createTcrParams } from '../../tcr/tcrParams.js';
import { degradationCostMcPerKWh } from '../../tcr/batteryParams.js';
import type { ChainAuction } from '../../aggregator/aggregator.js';
import { ChainFixture } from '../../poe-chain/testkit/chainFixture.js';
import { walletView } from '../../poe-chain/node/chainQueries.js';

const good = {
  meterId: 'm1', dataDir: 'data', broker: { url: 'mqtt://127.0.0.1:1883' }, registry: { url: 'http://127.0.0.1:8470' },
  aggregatorAddress: 'a'.repeat(64), adapter: { type: 'sim' },
};
const A = 'b'.repeat(64);
const B = 'c'.repeat(64);
const delivery = { start: '2026-01-01T10:00:00.000Z', end: '2026-01-01T10:15:00.000Z' };
const tcr = createTcrParams();
const inputs = { soc: 0.6, forecast: { pvWh: 100, loadWh: 300 }, speed: 1, trace: { auctionWh: 5000, limitMcPerKWh: 30_000, homeWh: 200, projectedSoc: 0.58, priceMcPerKWh: 25_000 } };

function sources(h: Partial<EmsHistory>, chain?: ChainReader): HomeSources {
  return {
    meterId: 'm1', now: Date.parse('2026-01-01T12:00:00Z'), socFraction: 0.5, connected: true, tcr, currentAddress: A, programme: 'TE', chain, settledEarningsMillicents: null,
    history: { records: h.records ?? [], skipped: h.skipped ?? [], results: h.results ?? new Map(), readings: h.readings ?? [], ...(h.market ? { market: h.market } : {}) },
  };
}
const rec = (auctionId: string, bid: BidRecord['bid'], reason: string | null, t = 1): BidRecord => ({ auctionId, decidedAtMs: t, bid, reason, delivery, inputs });
const sell = (auctionId: string) => rec(auctionId, { type: 'sell', energyWh: 1000, priceMcPerKWh: 25_000, address: A, reqId: `r-${auctionId}` }, null);
const cleared = (auctionId: string, extra: Partial<AuctionResult>): AuctionResult => ({ auctionId, status: 'cleared', awards: [], excluded: [], ...extra } as AuctionResult);

test('[HOME-BIND] the home page config: loopback by default, a password for any other address', () => {
  assert.equal(parseHemConfig(good).homePage, undefined, 'absent: no home page');
  assert.deepEqual(parseHemConfig({ ...good, homePage: {} }).homePage, { port: HOME_PAGE_DEFAULT_PORT, host: '127.0.0.1' });
  assert.equal(parseHemConfig({ ...good, homePage: { enabled: false } }).homePage, undefined);
  assert.throws(() => parseHemConfig({ ...good, homePage: { host: '0.0.0.0' } }), /BAD_CONFIG path=\/homePage\/password reason=required to serve the home page on 0\.0\.0\.0/);
  assert.throws(() => parseHemConfig({ ...good, homePage: { host: '192.168.1.20', port: 8080 } }), /BAD_CONFIG path=\/homePage\/password/);
  assert.deepEqual(parseHemConfig({ ...good, homePage: { host: '0.0.0.0', password: 'correct horse battery' } }).homePage, { port: HOME_PAGE_DEFAULT_PORT, host: '0.0.0.0', password: 'correct horse battery' });
  assert.throws(() => parseHemConfig({ ...good, homePage: { host: '0.0.0.0', password: 'short' } }), /BAD_CONFIG path=\/homePage\/password reason=must NOT have fewer than 12 characters/);
  assert.throws(() => parseHemConfig({ ...good, homePage: { port: 70_000 } }), /BAD_CONFIG path=\/homePage\/port/);
  assert.throws(() => parseHemConfig({ ...good, homePage: { user: 'x' } }), /BAD_CONFIG path=\/homePage\/user/);
});

test('[HOME-AUTH] [HOME-IN] with a password every request needs it; bad input is a JSON error', async () => {
  const page = await startHomePage({ port: 0, host: '127.0.0.1', password: 'correct horse battery', log: pino({ level: 'silent' }), sources: () => sources({ records: [sell('auc-1')] }) });
  try {
    const basic = (pw: string) => ({ authorization: `Basic ${Buffer.from(`home:${pw}`).toString('base64')}` });
    const none = await fetch(`${page.url}/api/home`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /);
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    assert.equal((await fetch(`${page.url}/`, { headers: basic('wrong horse battery') })).status, 401, 'the page itself needs it too');
    const ok = await fetch(`${page.url}/api/home`, { headers: basic('correct horse battery') });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { meterId: string }).meterId, 'm1');
    const one = await fetch(`${page.url}/api/auctions/auc-1`, { headers: basic('correct horse battery') });
    assert.equal(((await one.json()) as { auctionId: string }).auctionId, 'auc-1');
    const cases: [string, string, number, string][] = [
      ['GET', '/api/auctions/auc-2', 404, 'NOT_FOUND'],
      ['GET', `/api/auctions/${'x'.repeat(200)}`, 400, 'BAD_AUCTION_ID'],
      ['GET', '/api/auctions?limit=0', 400, 'BAD_QUERY'],
      ['GET', '/api/auctions?limit=abc', 400, 'BAD_QUERY'],
      ['GET', '/api/home?x=1', 400, 'BAD_QUERY'],
      ['DELETE', '/api/auctions/auc-1', 405, 'METHOD_NOT_ALLOWED'],
      ['GET', '/etc/passwd', 404, 'NOT_FOUND'],
    ];
    for (const [method, path, status, code] of cases) {
      const r = await fetch(page.url + path, { method, headers: basic('correct horse battery') });
      assert.equal(r.status, status, `${method} ${path}`);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, code, `${method} ${path}`);
    }
  } finally {
    await page.close();
  }
});

test('auction views: why not bid, excluded with its reason, void, not arrived; who paid whom', () => {
  const noBid = rec('auc-nobid', null, 'PRICE_ABOVE_LIMIT', 2);
  const results = new Map<string, AuctionResult>([
    ['auc-feeder', cleared('auc-feeder', { awards: [{ address: B, feeder: 'F1', energyWh: 500, priceMillicentsPerKWh: 20_000, bidReqId: 'x' }], excluded: [{ address: A, reqId: 'r-auc-feeder', reason: 'FEEDER_LIMIT' }] })],
    ['auc-void', { auctionId: 'auc-void', status: 'void', awards: [], reason: 'NO_OFFERS' } as AuctionResult],
    ['auc-missing', cleared('auc-missing', { awards: [{ address: B, feeder: 'F1', energyWh: 500, priceMillicentsPerKWh: 20_000, bidReqId: 'x' }] })],
  ]);
  const views = auctionViews(sources({
    records: [noBid, sell('auc-feeder'), sell('auc-void'), sell('auc-missing'), sell('auc-pending')],
    skipped: [{ auctionId: 'auc-dev', atMs: 3, reason: 'DEVICE_CANNOT_DELIVER', why: 'SUNSPEC_UNREACHABLE host=x', delivery }],
    results,
  }));
  const by = new Map(views.map((v) => [v.auctionId, v]));
  assert.equal(views[0]?.auctionId, 'auc-dev', 'newest first');
  assert.match(by.get('auc-dev')!.decision.inWords, /could not carry out an award \(SUNSPEC_UNREACHABLE host=x\)/);
  assert.equal(by.get('auc-nobid')!.decision.reason, 'PRICE_ABOVE_LIMIT');
  assert.match(by.get('auc-nobid')!.decision.inWords, /lowest selling price was above the aggregator's price limit/);
  assert.equal(by.get('auc-nobid')!.decision.inputs?.degradationCostMillicentsPerKWh, degradationCostMcPerKWh(tcr.battery));
  const feeder = by.get('auc-feeder')!.result as unknown as { accepted: boolean; excludedReason: string; inWords: string; source: string };
  assert.deepEqual([feeder.accepted, feeder.excludedReason, feeder.source], [false, 'FEEDER_LIMIT', 'mqtt']);
  assert.match(feeder.inWords, /feeder's limit was reached/);
  assert.match((by.get('auc-void')!.result as { inWords: string }).inWords, /void: NO_OFFERS/);
  assert.match((by.get('auc-missing')!.result as { inWords: string }).inWords, /did not reach the auction/);
  assert.equal((by.get('auc-pending')!.result as { status: string }).status, 'no result yet');
  assert.deepEqual(by.get('auc-pending')!.settlement, { known: false, notKnownHere: NOT_KNOWN_HERE });

  // a home that bought: it paid the aggregator (chain settlement)
  const buy = rec('auc-buy', { type: 'buy', energyWh: 800, priceMcPerKWh: 10_000, address: A, reqId: 'r-buy' }, null);
  const onChain: ChainAuction = {
    status: 'settled',
    result: cleared('auc-buy', { awards: [{ address: A, feeder: 'F1', energyWh: 800, priceMillicentsPerKWh: 10_000, bidReqId: 'r-buy' }] }),
    settlements: [{ address: A, deliveredWh: 600, paymentMc: 6000, penaltyMc: 400, height: 21 }],
  };
  let finalizedHeight = 20;
  const chain: ChainReader = {
    state: () => { throw new Error('not used'); },
    finalState: () => { throw new Error('not used'); },
    head: () => ({ finalizedHeight }),
    auction: (id) => (id === 'auc-buy' ? onChain : undefined),
    wallet: () => { throw new Error('not used'); },
  };
  const [v] = auctionViews(sources({ records: [buy] }, chain));
  assert.deepEqual([(v!.result as unknown as { source: string }).source, (v!.result as unknown as { priceRank: number }).priceRank], ['chain', 1]);
  assert.match(v!.decision.inWords, /^bid to buy 800 Wh into the battery at up to 10000 millicents\/kWh: the price of its bid curve at 58 % state of charge/);
  const st = v!.settlement as Record<string, unknown>;
  assert.deepEqual([st.deliveredWh, st.paidMillicents, st.receivedMillicents, st.penaltyPaidMillicents], [600, 6000, undefined, 400]);
  assert.match(String(st.inWords), /this home paid the aggregator 6000 millicents/);
  // [HEM-FIN] settled in block 21, final block 20: unconfirmed; once block 21 is final: final
  assert.deepEqual([st.status, st.settledAtHeight, st.finalizedHeight], ['unconfirmed', 21, 20]);
  assert.match(String(st.inWords), /unconfirmed: settled in block 21, above the final block 20; a reorg could still undo it/);
  finalizedHeight = 21;
  const after = auctionViews(sources({ records: [buy] }, chain))[0]!.settlement as Record<string, unknown>;
  assert.deepEqual([after.status, after.settledAtHeight, after.finalizedHeight], ['final', 21, 21]);
  assert.match(String(after.inWords), /final: settled in block 21/);
});

test('[P2P] market view: the order or why none, the fill and what the battery does, the settlement from the chain', () => {
  const d2 = { start: '2026-01-01T10:15:00.000Z', end: '2026-01-01T10:30:00.000Z' };
  const trace = { intervalS: 900, surplusWh: 0, deficitWh: 200, awardWh: 0 };
  const filled: MarketOrderRecord = {
    delivery, decidedAtMs: 1, reason: null,
    order: { orderId: 'p2p-1', side: 'sell', energyWh: 600, priceMcPerKWh: 22_000, address: A, reqId: 'r1' },
    seal: { salt: '0'.repeat(64), orderClose: delivery.start, gate: delivery.start, revealed: true },
    inputs: { socNow: 0.8, soc: 0.79, forecast: { pvWh: 0, loadWh: 200 }, awardWh: 0, hasBattery: true, speed: 1, trace },
    outcome: { filledWh: 400, priceMcPerKWh: 23_000, clearingPriceMcPerKWh: 23_000, height: 9, batteryWh: -600, powerW: -2400, steered: true },
  };
  const none: MarketOrderRecord = { delivery: d2, decidedAtMs: 2, reason: 'PROGRAMME_NOT_TE', order: null };
  const [b, a] = marketViews(sources({ market: { records: [filled, none], results: new Map() } }));
  assert.equal(b!.delivery.start, d2.start, 'newest first');
  assert.match(String(b!.decision.inWords), /RE programme only/);
  assert.equal(a!.decision.order?.energyWh, 600);
  assert.match(String(a!.outcome?.inWords), /^sold 400 of 600 Wh at 23000 millicents\/kWh; the battery discharges 600 Wh/);
  assert.deepEqual(a!.settlement, { known: false, notKnownHere: NOT_KNOWN_HERE });
  // with a chain node: the fill's settlement
  const state = {
    genesis: { intervalMs: 900_000, genesisTimeMs: Date.parse('2026-01-01T00:00:00Z') },
    sections: { markets: new Map([['40', { epoch: 40, status: 'settled', fills: [{ orderId: 'p2p-1', address: A, side: 'sell', energyWh: 400, settlement: { deliveredWh: 380, paymentMc: 8740, penaltyMc: 600, height: 30 } }] }]]) },
  };
  let finalizedHeight = 29;
  const chain: ChainReader = {
    state: () => state as never, auction: () => undefined, wallet: () => { throw new Error('not used'); },
    head: () => ({ finalizedHeight }), finalState: () => { throw new Error('not used'); },
  };
  const [, c] = marketViews(sources({ market: { records: [filled, none], results: new Map() } }, chain));
  const st = c!.settlement as Record<string, unknown>;
  assert.deepEqual([st.deliveredWh, st.receivedMillicents, st.penaltyPaidMillicents], [380, 8740, 600]);
  // [HEM-FIN] the fill's settlement is unconfirmed until its block is final
  assert.deepEqual([st.status, st.settledAtHeight], ['unconfirmed', 30]);
  finalizedHeight = 30;
  const [, d] = marketViews(sources({ market: { records: [filled, none], results: new Map() } }, chain));
  assert.equal((d!.settlement as Record<string, unknown>).status, 'final');
});

test('[HEM-FIN] home view: the balance at the final block plus the unconfirmed change; final once its block is', () => {
  // a real chain: 1,000 mc to the home in block 1, 500 more in block 2
  const f = new ChainFixture();
  const home = f.key('home');
  f.produce([f.transferTx(f.aggregator, home.address, 1_000)]);
  const atOne = f.state;
  f.produce([f.transferTx(f.aggregator, home.address, 500)]);
  let final = atOne;
  const chain: ChainReader = {
    state: () => f.state, finalState: () => final, head: () => ({ finalizedHeight: final.meta.height }),
    auction: () => undefined, wallet: (a) => walletView(f.state, a),
  };
  const s = sources({}, chain);
  s.currentAddress = home.address;
  s.settledEarningsMillicents = 0;
  s.settledEarningsUnconfirmedMillicents = 0;
  const before = homeView(s);
  assert.deepEqual(
    [before.wallet.balanceMillicents, before.wallet.finalBalanceMillicents, before.wallet.unconfirmedChangeMillicents, before.wallet.finalizedHeight, before.wallet.atHeight],
    ['1500', '1000', '500', 1, 2],
  );
  assert.equal(before.wallet.inWords, '1000 millicents final (at block 1); +500 millicents unconfirmed (blocks 2–2, not final yet)');
  assert.deepEqual(before.chainNode, { height: 2, finalizedHeight: 1 });
  final = f.state; // block 2 final
  const after = homeView(s);
  assert.deepEqual([after.wallet.balanceMillicents, after.wallet.finalBalanceMillicents, after.wallet.unconfirmedChangeMillicents], ['1500', '1500', '0']);
  assert.equal(after.wallet.inWords, '1500 millicents final (at block 2); nothing unconfirmed');
  // a node that just restarted and is still reading its final block: the final part is not known, never guessed
  const reading = homeView(sources({}, { ...chain, finalState: () => undefined, head: () => ({ finalizedHeight: 1 }) }));
  assert.equal(reading.wallet.finalBalanceMillicents, null);
  assert.match(String(reading.wallet.inWords), /final part is not known yet/);
});

test("home view: today's readings and totals; without a chain node the wallet is not known here", () => {
  const at = (h: number, produced: number, consumed: number): MeterReading => ({
    address: A, seq: h, interval: { start: `2026-01-01T${String(h).padStart(2, '0')}:00:00.000Z`, end: `2026-01-01T${String(h).padStart(2, '0')}:15:00.000Z` },
    producedWh: produced, consumedWh: consumed, chargedWh: 0, dischargedWh: 0, socPermille: 500,
  });
  const s = sources({ readings: [at(9, 300, 100), at(10, 200, 250)] });
  s.now = Date.parse('2026-01-01T11:00:00Z');
  // "today" is the HEM's local day: use a time zone-free check of what is included
  const midnight = new Date(s.now);
  midnight.setHours(0, 0, 0, 0);
  const expected = [at(9, 300, 100), at(10, 200, 250)].filter((r) => Date.parse(r.interval.start) >= midnight.getTime());
  const v = homeView(s);
  assert.equal(v.today.readings.length, expected.length);
  assert.equal(v.today.totals.producedWh, expected.reduce((t, r) => t + r.producedWh, 0));
  assert.equal(v.battery.socPercent, 50);
  assert.equal(v.wallet.balanceMillicents, null);
  assert.equal(v.wallet.notKnownHere, NOT_KNOWN_HERE);
  assert.equal(v.election.ranking, null);
  assert.match(v.election.notKnownHere, /not a validator: programme TE/);
  assert.equal(v.election.lastReadingGridExchangeWh, 50);
});

test('a HEM whose home page port is taken says so and keeps metering; a served page shows its readings', async () => {
  const broker = await startPlainBroker();
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const taken = (blocker.address() as AddressInfo).port;
  const aggregator = generateKeyPair();
  const start = async (port: number) => {
    const cap = captureLog();
    const cfg = parseHemConfig({
      meterId: 'meter-hp', dataDir: await tempDir(), broker: { url: broker.url, reconnectMs: 100 }, registry: { url: 'http://127.0.0.1:9' },
      genesisHash: 'ab'.repeat(32), aggregatorAddress: aggregator.address, intervalMs: 400, speed: 2250, homePage: { port }, adapter: { type: 'sim', initialSoc: 0.8 },
    });
    return { cap, hem: await runHem(cfg, { log: cap.log, issuer: fakeIssuer(), profile: constantProfile(0, 500) }) };
  };
  try {
    const a = await start(taken);
    try {
      const failed = await waitFor(() => a.cap.events('home-page-failed')[0], 3000, 'home-page-failed');
      assert.match(String(failed.err), /EADDRINUSE/);
      assert.equal(a.hem.homePage, undefined);
      await waitFor(() => a.cap.events('reading').length >= 1, 5000, 'a reading without the page');
    } finally {
      await a.hem.stop();
    }
    const b = await start(0);
    try {
      const url = b.hem.homePage?.url;
      assert.ok(url, 'served');
      type Home = { today: { readings: { interval: { start: string }; consumedWh: number }[] } };
      let home: Home | undefined;
      for (const until = Date.now() + 5000; Date.now() < until; await sleep(50)) {
        home = (await (await fetch(`${url}/api/home`)).json()) as Home;
        if (home.today.readings.length > 0) break;
      }
      assert.ok(home && home.today.readings.length > 0, 'the reading on the page');
      // every reading shown is one the HEM logged, with the same figures
      const logged = new Map(b.cap.events('reading').map((r) => [(r.interval as { start: string }).start, r.consumedWh]));
      for (const r of home!.today.readings) assert.equal(r.consumedWh, logged.get(r.interval.start), `consumed Wh of ${r.interval.start} = its reading line`);
    } finally {
      await b.hem.stop();
    }
  } finally {
    await new Promise<void>((r) => blocker.close(() => r()));
    await broker.close();
  }
});
