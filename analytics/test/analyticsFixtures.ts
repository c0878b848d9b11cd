/**
 * Facts for the analytics tests: a small hand-built market whose statistics are worked
 * out by hand in the tests, and a longer simulated feed for the dashboard test.
 */
import { MemoryLevel } from 'memory-level';
import { createAnalytics, type Analytics, type AnalyticsOptions } from '../createAnalytics.js';
import type { Fact } from '../facts.js';
import type { AnalyticsDb } from '../stats/statsStore.js';

export const addr = (c: string): string => c.repeat(64 / c.length);
export const A = addr('a');
export const B = addr('b');
export const C = addr('c');
export const P1 = addr('1');
export const P2 = addr('2');
export const AGG = addr('e');
export const hashOf = (n: number): string => n.toString(16).padStart(64, '0');

export const DAY = '2026-11-21';
export const t = (hhmm: string): number => Date.parse(`${DAY}T${hhmm}:00.000Z`);
export const S1 = t('10:00');
export const S2 = t('10:15');
export const S3 = t('10:30');

export function memoryDb(): AnalyticsDb {
  return new MemoryLevel<string, string>({ valueEncoding: 'utf8' }) as unknown as AnalyticsDb;
}

export async function startAnalytics(o: Partial<AnalyticsOptions> = {}): Promise<{ an: Analytics; url: string; db: AnalyticsDb }> {
  const db = o.db ?? memoryDb();
  const an = await createAnalytics({ db, ...o });
  const { url } = await an.listen(0, '127.0.0.1');
  return { an, url, db };
}

/** a reading; `height` = the block that holds it, null = seen on MQTT only (not on chain) */
const reading = (address: string, start: number, p: number, c: number, ch: number, dis: number, soc: number, height: number | null): Fact => ({
  kind: 'reading', address, intervalStart: start, intervalEnd: start + 900_000,
  producedWh: p, consumedWh: c, chargedWh: ch, dischargedWh: dis, socPermille: soc, ...(height !== null ? { height } : {}),
});

const bid = (auctionId: string, address: string, n: number, type: 'buy' | 'sell', energyWh: number, priceMcPerKWh: number, time: number): Fact => ({
  kind: 'bid', auctionId, address, reqId: `req-${auctionId}-${n}-xxxxxxxxxx`, feeder: 'F1', cpf: 0.5, sealed: false, type, energyWh, priceMcPerKWh, time,
});

const open = (auctionId: string, side: 'buy' | 'sell', energyWh: number, limit: number, delivery: number, time: number): Fact => ({
  kind: 'auction-open', auctionId, side, energyWh, limitPriceMcPerKWh: limit, deliveryStart: delivery, deliveryEnd: delivery + 900_000,
  closesAt: delivery - 300_000, pricing: 'pay-as-bid', sealed: false, time,
});

const block = (height: number, producer: string, txCount: number, hashSeed = height): Fact => ({
  kind: 'block', height, slot: height * 4, epoch: 40, hash: hashOf(hashSeed), producer, txCount, time: t('09:50') + height * 1000, rewardMc: 1000,
});

/**
 * The hand-built market (all numbers are worked out in analytics/test/api.test.ts):
 * three homes, two 15-minute slots (10:00, 10:15) with five readings on chain and one seen
 * only on MQTT, four auctions, five blocks (one replaced by a reorg), two settlements, three
 * wallets and a schedule.
 */
export function handBuiltFacts(): Fact[] {
  const schedule = new Array<number>(96).fill(0);
  schedule[40] = 1000; // 10:00
  schedule[41] = 300; // 10:15
  return [
    { kind: 'schedule', day: DAY, intervalMinutes: 15, netLoadWh: schedule, time: t('00:00') },
    // slot 1 (10:00–10:15), on chain in block 1
    reading(A, S1, 2000, 800, 700, 0, 600, 1),
    reading(B, S1, 500, 1200, 0, 300, 400, 1),
    reading(C, S1, 0, 900, 100, 0, 200, 1),
    // slot 2 (10:15–10:30), on chain in block 3
    reading(A, S2, 1000, 600, 0, 0, 600, 3),
    reading(B, S2, 0, 1000, 0, 500, 300, 3),
    // [AN-ONCHAIN] C's reading of slot 2 is seen on MQTT and never in a block: it is counted
    // as seen and in no figure (it would change every one of them)
    reading(C, S2, 5000, 100, 0, 0, 900, null),
    // X1: the aggregator buys 1000 Wh for slot 1
    open('X1', 'buy', 1000, 10_000, S1, t('09:40')),
    bid('X1', A, 1, 'sell', 600, 8000, t('09:41')),
    bid('X1', B, 2, 'sell', 500, 9000, t('09:42')),
    bid('X1', C, 3, 'sell', 400, 12_000, t('09:43')),
    { kind: 'auction-close', auctionId: 'X1', time: t('09:55') },
    {
      kind: 'auction-result', auctionId: 'X1', status: 'cleared', clearingPriceMcPerKWh: 9000, time: t('09:55'), height: 2, excludedCount: 1,
      awards: [{ address: A, energyWh: 600, priceMcPerKWh: 8000 }, { address: B, energyWh: 400, priceMcPerKWh: 9000 }],
    },
    // X2: the aggregator sells 800 Wh for slot 1
    open('X2', 'sell', 800, 5000, S1, t('09:44')),
    bid('X2', C, 4, 'buy', 300, 6000, t('09:45')),
    { kind: 'auction-result', auctionId: 'X2', status: 'cleared', clearingPriceMcPerKWh: 6000, time: t('09:56'), awards: [{ address: C, energyWh: 300, priceMcPerKWh: 6000 }] },
    // X3: the aggregator buys 500 Wh for slot 2
    open('X3', 'buy', 500, 10_000, S2, t('09:57')),
    bid('X3', A, 5, 'sell', 200, 7000, t('09:58')),
    bid('X3', B, 6, 'sell', 300, 15_000, t('09:58')),
    { kind: 'auction-result', auctionId: 'X3', status: 'cleared', clearingPriceMcPerKWh: 7000, time: t('10:10'), awards: [{ address: A, energyWh: 200, priceMcPerKWh: 7000 }] },
    // X4: the aggregator buys 100 Wh for slot 2; closed, no result yet
    open('X4', 'buy', 100, 10_000, S2, t('10:05')),
    { kind: 'auction-close', auctionId: 'X4', time: t('10:10') },
    // blocks: P1 makes 1, 2, 4; P2 makes 3 and 5, then 5 is replaced (reorg) by P1's
    block(1, P1, 3),
    block(2, P1, 2),
    block(3, P2, 0),
    block(4, P1, 1),
    block(5, P2, 4),
    block(5, P1, 2, 555),
    // settlement of X1 and wallets
    { kind: 'settlement', auctionId: 'X1', address: A, deliveredWh: 600, paymentMc: 4800, penaltyMc: 0, height: 5 },
    { kind: 'settlement', auctionId: 'X1', address: B, deliveredWh: 300, paymentMc: 2700, penaltyMc: 500, height: 5 },
    { kind: 'wallet', address: A, balanceMc: 4800, height: 5 },
    { kind: 'wallet', address: B, balanceMc: 2200, height: 5 },
    { kind: 'wallet', address: AGG, balanceMc: 992_500, height: 5, clearingAccount: true },
  ];
}

/** A deterministic pseudo-random generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A simulated day of a small feeder: `homes` homes with PV, load and a battery, 15-minute
 * intervals from `startSlot`, an auction per interval, blocks by a few producers, wallets
 * and the CPF ranking. Returns the facts of each interval, in order.
 */
export function simulatedFeed(o: { homes?: number; slots?: number; startSlot?: number; seed?: number } = {}): Fact[][] {
  const homes = o.homes ?? 6;
  const slots = o.slots ?? 48;
  const startSlot = o.startSlot ?? 24; // 06:00
  const rand = rng(o.seed ?? 7);
  const dayStart = Date.parse(`${DAY}T00:00:00.000Z`);
  const addresses = Array.from({ length: homes }, (_, i) => hashOf(0xa000 + i).replace(/^0+/, (z) => 'f'.repeat(z.length)));
  const soc = addresses.map(() => 300 + Math.floor(rand() * 400));
  const wallets = new Map<string, number>(addresses.map((a) => [a, 0]));
  const producers = addresses.slice(0, 3);
  let height = 0;
  const out: Fact[][] = [];

  const schedule = Array.from({ length: 96 }, (_, k) => {
    const h = k / 4;
    const pv = Math.max(0, Math.sin(((h - 6) / 13) * Math.PI)) * 1300 * homes;
    const load = (250 + 200 * Math.exp(-((h - 19) ** 2) / 6) + 120 * Math.exp(-((h - 8) ** 2) / 3)) * homes;
    return Math.round(load - pv);
  });
  out.push([{ kind: 'schedule', day: DAY, intervalMinutes: 15, netLoadWh: schedule, time: dayStart }]);

  for (let k = startSlot; k < startSlot + slots; k++) {
    const start = dayStart + k * 900_000;
    const h = k / 4;
    const facts: Fact[] = [];
    let tradeable = 0;
    addresses.forEach((address, i) => {
      const pv = Math.round(Math.max(0, Math.sin(((h - 6) / 13) * Math.PI)) * (1100 + 300 * rand()) * (0.8 + 0.1 * i));
      const load = Math.round(220 + 200 * Math.exp(-((h - 19) ** 2) / 6) + 110 * Math.exp(-((h - 8) ** 2) / 3) + 150 * rand());
      const surplus = pv - load;
      let ch = 0;
      let dis = 0;
      const cap = 10_000;
      if (surplus > 0) ch = Math.min(surplus, Math.floor(((950 - soc[i]!) * cap) / 1000), 900);
      else dis = Math.min(-surplus, Math.floor(((soc[i]! - 100) * cap) / 1000), 350); // a 1.4 kW inverter
      ch = Math.max(0, ch);
      dis = Math.max(0, dis);
      soc[i] = Math.max(0, Math.min(1000, soc[i]! + Math.round(((ch - dis) * 1000) / cap)));
      tradeable += Math.max(0, pv - load - ch);
      // on chain in the first block made in the interval
      facts.push({ kind: 'reading', address, intervalStart: start, intervalEnd: start + 900_000, producedWh: pv, consumedWh: load, chargedWh: ch, dischargedWh: dis, socPermille: soc[i]!, height: height + 1 });
    });
    // one auction per interval, delivering the next interval
    const auctionId = `auc-${k + 1}`;
    const delivery = start + 900_000;
    const next = schedule[(k + 1) % 96]!;
    const side = next > 0 ? 'buy' : 'sell';
    // the aggregator trades a share of the expected deviation, with some noise
    const energyWh = Math.min(2500, Math.max(200, Math.round(Math.abs(next) * (0.1 + 0.1 * rand()))));
    const limit = side === 'buy' ? 12_000 : 4000;
    facts.push({ kind: 'auction-open', auctionId, side, energyWh, limitPriceMcPerKWh: limit, deliveryStart: delivery, deliveryEnd: delivery + 900_000, closesAt: delivery - 120_000, pricing: 'pay-as-bid', sealed: false, time: start + 1000 });
    const awards: { address: string; energyWh: number; priceMcPerKWh: number }[] = [];
    let left = energyWh;
    addresses.forEach((address, i) => {
      const e = 100 + Math.floor(rand() * 500) + Math.floor(tradeable / homes / 4);
      const price = side === 'buy' ? 6000 + Math.floor(rand() * 8000) : 2000 + Math.floor(rand() * 4000);
      facts.push({ kind: 'bid', auctionId, address, reqId: `sim-${k}-${i}-aaaaaaaaaaaa`, feeder: 'F1', cpf: 0.5, sealed: false, type: side === 'buy' ? 'sell' : 'buy', energyWh: e, priceMcPerKWh: price, time: start + 2000 + i });
      const ok = side === 'buy' ? price <= limit : price >= limit;
      if (ok && left > 0) {
        const take = Math.min(left, e);
        left -= take;
        awards.push({ address, energyWh: take, priceMcPerKWh: price });
        wallets.set(address, (wallets.get(address) ?? 0) + Math.floor((take * price) / 1000) * (side === 'buy' ? 1 : -1));
      }
    });
    facts.push({ kind: 'auction-close', auctionId, time: start + 780_000 });
    facts.push({
      kind: 'auction-result', auctionId, status: awards.length ? 'cleared' : 'void', awards, time: start + 790_000,
      ...(awards.length ? { clearingPriceMcPerKWh: Math.max(...awards.map((a) => a.priceMcPerKWh)) } : {}),
    });
    for (let b = 0; b < 3; b++) {
      height++;
      const producer = producers[Math.floor(rand() * rand() * producers.length)]!;
      facts.push({ kind: 'block', height, slot: height * 10, epoch: k, hash: hashOf(height), producer, txCount: Math.floor(rand() * 8), time: start + b * 300_000, rewardMc: 1000 });
    }
    for (const [address, balanceMc] of wallets) facts.push({ kind: 'wallet', address, balanceMc, height });
    out.push(facts);
  }
  return out;
}

const order = (orderId: string, address: string, side: 'buy' | 'sell', energyWh: number, priceMcPerKWh: number) => ({ orderId, address, side, energyWh, priceMcPerKWh });

/** Interval numbers of the hand-built P2P market (delivering in slots S1 and S2). */
export const M1 = 1000;
export const M2 = 1001;

/**
 * [AN-P2P] The hand-built P2P market, on top of handBuiltFacts (worked out in
 * analytics/test/marketApi.test.ts). Interval M1 (slot S1) is Christidis's example: buys A
 * 1 kWh at 11 ¢ and B 2 kWh at 7 ¢, sells C 1 kWh at 5 ¢ and P1 1 kWh at 6 ¢ → 2 kWh on
 * [6, 7] ¢, MCP 6.5 ¢. Interval M2 (slot S2): A buys 0.5 kWh at 4 ¢, C 0.3 kWh at 3 ¢, P1
 * sells 0.5 kWh at 9 ¢ → nothing trades. A and B settle their fills of M1.
 */
export function handBuiltMarketFacts(): Fact[] {
  return [
    {
      kind: 'market-clearing', interval: M1, intervalStart: S1, intervalEnd: S2, clearingPriceMcPerKWh: 6500,
      priceRange: { lowMcPerKWh: 6000, highMcPerKWh: 7000 }, volumeWh: 2000,
      fills: [order('s1', C, 'sell', 1000, 6500), order('s2', P1, 'sell', 1000, 6500), order('b1', A, 'buy', 1000, 6500), order('b2', B, 'buy', 1000, 6500)],
      book: [order('b1', A, 'buy', 1000, 11_000), order('b2', B, 'buy', 2000, 7000), order('s1', C, 'sell', 1000, 5000), order('s2', P1, 'sell', 1000, 6000)],
      excludedCount: 0, height: 3, time: t('09:55'),
    },
    {
      kind: 'market-clearing', interval: M2, intervalStart: S2, intervalEnd: S3, volumeWh: 0, fills: [],
      book: [order('b3', A, 'buy', 500, 4000), order('b4', C, 'buy', 300, 3000), order('s2', P1, 'sell', 500, 9000)],
      excludedCount: 3, height: 4, time: t('10:10'),
    },
    { kind: 'market-settlement', interval: M1, orderId: 'b1', address: A, side: 'buy', filledWh: 1000, deliveredWh: 1000, paymentMc: 6500, penaltyMc: 0, uncollectedMc: 0, height: 5 },
    { kind: 'market-settlement', interval: M1, orderId: 'b2', address: B, side: 'buy', filledWh: 1000, deliveredWh: 600, paymentMc: 3900, penaltyMc: 12_000, uncollectedMc: 0, height: 5 },
  ];
}
