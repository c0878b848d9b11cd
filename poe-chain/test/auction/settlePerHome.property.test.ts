/**
 * [SETTLE-1] property test: random awards over overlapping auctions (several auctions per
 * delivery interval, both sides, meters with one or two pseudonyms, readings present or
 * not) settled by the state transition's settleDueAwards, checked against a brute-force
 * reference: for each meter, interval and flow, every integer vector of delivered Wh with
 * 0 ≤ δᵢ ≤ awardedᵢ and δᵢ > 0 only if δ₁ + … + δᵢ ≤ measuredᵢ (the award's own
 * pseudonym's reading) is enumerated, and the lexicographically largest in bid inclusion
 * order (earlier bids first) must be what the chain paid. Also: the Wh paid never exceed
 * the largest measurement of the meter; money is conserved; payment and penalty follow
 * [AUC-10].
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChainFixture } from '../../testkit/chainFixture.js';
import { createGenesisState, StateDraft, type AuctionEntry, type AwardEntry } from '../../core/chainState.js';
import { deliveryKey, settleDueAwards } from '../../core/auctionContract.js';
import { epochStart } from '../../core/genesis.js';
import { paymentMillicents } from '../../../wire/quantities.js';

const genesis = new ChainFixture().genesis;
const PENALTY = Number(genesis.penaltyMcPerKWh);

interface Case {
  /** pseudonym index → meter (tag) index */
  meterOf: number[];
  auctions: { side: 'buy' | 'sell'; epoch: number; awards: { who: number; energyWh: number; price: number }[] }[];
  /** `${who}|${epoch}` → {charged, discharged} */
  readings: Map<string, { chargedWh: number; dischargedWh: number }>;
  inclusions: number[];
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    meterOf: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 4 }),
    auctions: fc.array(
      fc.record({
        side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
        epoch: fc.integer({ min: 2, max: 3 }),
        awards: fc.array(fc.record({ who: fc.nat(3), energyWh: fc.integer({ min: 1, max: 6 }), price: fc.integer({ min: 0, max: 40_000 }) }), { maxLength: 3 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    readings: fc.array(fc.record({ who: fc.nat(3), epoch: fc.integer({ min: 2, max: 3 }), chargedWh: fc.nat(12), dischargedWh: fc.nat(12) }), { maxLength: 8 }),
    seed: fc.nat(),
  })
  .map(({ meterOf, auctions, readings, seed }) => {
    const n = meterOf.length;
    // one award per pseudonym and per meter in an auction ([AUC-2], [SYBIL-2])
    const as = auctions.map((a) => {
      const seenWho = new Set<number>();
      const seenMeter = new Set<number>();
      const awards = a.awards
        .map((w) => ({ ...w, who: w.who % n }))
        .filter((w) => {
          if (seenWho.has(w.who) || seenMeter.has(meterOf[w.who]!)) return false;
          seenWho.add(w.who);
          seenMeter.add(meterOf[w.who]!);
          return true;
        });
      return { ...a, awards };
    });
    const rs = new Map<string, { chargedWh: number; dischargedWh: number }>();
    for (const r of readings) rs.set(`${r.who % n}|${r.epoch}`, { chargedWh: r.chargedWh, dischargedWh: r.dischargedWh });
    // distinct inclusions in a shuffled order (bids of different auctions interleave on chain)
    const count = as.reduce((k, a) => k + a.awards.length, 0);
    const inclusions = Array.from({ length: count }, (_, i) => 100_000 * (1 + i) + (i % 7));
    let x = seed + 1;
    for (let i = inclusions.length - 1; i > 0; i--) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const j = x % (i + 1);
      [inclusions[i], inclusions[j]] = [inclusions[j]!, inclusions[i]!];
    }
    return { meterOf, auctions: as, readings: rs, inclusions };
  });

const addr = (who: number) => `p${who}`;
const tagOf = (c: Case, who: number) => `meter-${c.meterOf[who]}`;

function runChain(c: Case) {
  const d = new StateDraft(createGenesisState(genesis));
  for (let who = 0; who < c.meterOf.length; who++) {
    d.s.certs.set(addr(who), { feeder: 'F1', programme: 'TE', validFrom: 0, validTo: 1e15, tag: tagOf(c, who) });
  }
  for (const [key, r] of c.readings) {
    const [who, epoch] = key.split('|');
    d.s.readings.set(`${addr(Number(who))}|${epoch}`, { producedWh: 0, consumedWh: 0, chargedWh: r.chargedWh, dischargedWh: r.dischargedWh, seq: 0 });
  }
  let k = 0;
  const ids: string[] = [];
  c.auctions.forEach((a, i) => {
    const id = `auc-${i}`;
    ids.push(id);
    const awards: AwardEntry[] = a.awards.map((w) => ({ address: addr(w.who), feeder: 'F1', reqId: `r${k}`, energyWh: w.energyWh, priceMcPerKWh: w.price, inclusion: c.inclusions[k++]!, tag: tagOf(c, w.who) }));
    const entry: AuctionEntry = {
      side: a.side, energyWh: 1000, limitPriceMcPerKWh: 50_000, pricing: 'pay-as-bid', sealed: false, feederLimits: [],
      deliveryEpoch: a.epoch, closesAt: 0, openedHeight: 1, status: awards.length > 0 ? 'closed' : 'settled', bidCount: awards.length, closedHeight: 2, awards,
    };
    d.s.auctions.set(id, entry);
  });
  d.meta.active = ids.filter((id) => d.s.auctions.get(id)!.status === 'closed').sort();
  const before = new Map([...d.s.wallets.entries()]);
  // every award due: past the settlement deadline of the latest delivery interval
  settleDueAwards(d, epochStart(genesis, 4) + genesis.settleGraceMs, 9);
  return { d, ids, before };
}

/** Brute force: the lexicographically largest feasible vector of delivered Wh, per group. */
function reference(c: Case): Map<string, number> {
  const groups = new Map<string, { key: string; inclusion: number; awarded: number; measured: number }[]>();
  let k = 0;
  c.auctions.forEach((a, i) => {
    for (const w of a.awards) {
      const r = c.readings.get(`${w.who}|${a.epoch}`);
      const measured = r === undefined ? 0 : a.side === 'buy' ? r.dischargedWh : r.chargedWh;
      const g = `${a.epoch}|${a.side}|${tagOf(c, w.who)}`;
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g)!.push({ key: `auc-${i}|${addr(w.who)}`, inclusion: c.inclusions[k++]!, awarded: w.energyWh, measured });
    }
  });
  const out = new Map<string, number>();
  for (const list of groups.values()) {
    list.sort((x, y) => x.inclusion - y.inclusion);
    let best: number[] | undefined;
    const cur: number[] = [];
    const walk = (i: number, sum: number) => {
      if (i === list.length) {
        if (best === undefined || lexGreater(cur, best)) best = [...cur];
        return;
      }
      for (let v = 0; v <= list[i]!.awarded; v++) {
        if (v > 0 && sum + v > list[i]!.measured) break;
        cur.push(v);
        walk(i + 1, sum + v);
        cur.pop();
      }
    };
    walk(0, 0);
    list.forEach((e, i) => out.set(e.key, best![i]!));
  }
  return out;
}

function lexGreater(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return false;
}

test('[SETTLE-1] settlement per meter and interval across auctions equals the brute-force reference', () => {
  let shared = 0;
  fc.assert(
    fc.property(caseArb, (c) => {
      const { d, ids, before } = runChain(c);
      const want = reference(c);
      const paidPerGroup = new Map<string, number>();
      const maxMeasured = new Map<string, number>();
      let net = 0n;
      ids.forEach((id, i) => {
        const a = d.s.auctions.get(id)!;
        assert.equal(a.status, 'settled', `${id} settled`);
        for (const w of a.awards ?? []) {
          const s = w.settlement!;
          assert.equal(s.deliveredWh, want.get(`${id}|${w.address}`), `${id} ${w.address} delivered`);
          assert.equal(s.paymentMc, paymentMillicents(s.deliveredWh, w.priceMcPerKWh));
          assert.equal(s.penaltyMc, paymentMillicents(w.energyWh - s.deliveredWh, PENALTY));
          const g = deliveryKey(a.deliveryEpoch, a.side, w.tag);
          paidPerGroup.set(g, (paidPerGroup.get(g) ?? 0) + s.deliveredWh);
          if (s.priorWh > 0) shared++;
          const who = Number(w.address.slice(1));
          const r = c.readings.get(`${who}|${c.auctions[i]!.epoch}`);
          const m = r === undefined ? 0 : a.side === 'buy' ? r.dischargedWh : r.chargedWh;
          maxMeasured.set(g, Math.max(maxMeasured.get(g) ?? 0, m));
          net += (a.side === 'buy' ? BigInt(s.paymentMc) : -BigInt(s.paymentMc)) - BigInt(s.penaltyMc);
        }
      });
      for (const [g, paid] of paidPerGroup) {
        // the energy paid never exceeds what the meter measured
        assert.ok(paid <= maxMeasured.get(g)!, `${g}: paid ${paid} > measured ${maxMeasured.get(g)}`);
        assert.equal(d.s.deliveries.get(g)?.deliveredWh ?? 0, paid, `${g} deliveries record`);
      }
      // money is conserved: what winners get, the aggregator pays
      let sum = 0n;
      for (const [a, bal] of d.s.wallets.entries()) sum += BigInt(bal) - BigInt(before.get(a) ?? '0');
      assert.equal(sum, 0n);
      assert.equal(BigInt(d.s.wallets.get(genesis.aggregatorKey) ?? '0') - BigInt(before.get(genesis.aggregatorKey) ?? '0'), -net);
    }),
    { numRuns: 400, seed: 16 },
  );
  assert.ok(shared > 50, `the cases share measurements often enough (${shared})`);
});

test('[SETTLE-1] a meter with one pseudonym is paid min(Σ awarded, measured), the shortfall on the latest awards', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 5 }),
      fc.nat(20_000),
      (energies, measured) => {
        const c: Case = {
          meterOf: [0],
          auctions: energies.map((e) => ({ side: 'buy' as const, epoch: 2, awards: [{ who: 0, energyWh: e, price: 10_000 }] })),
          readings: new Map([['0|2', { chargedWh: 0, dischargedWh: measured }]]),
          inclusions: energies.map((_, i) => 100_000 * (i + 1)),
        };
        const { d, ids } = runChain(c);
        const delivered = ids.map((id) => d.s.auctions.get(id)!.awards![0]!.settlement!.deliveredWh);
        const total = energies.reduce((x, y) => x + y, 0);
        assert.equal(delivered.reduce((x, y) => x + y, 0), Math.min(total, measured));
        // full awards first, then at most one partial one, then zeros
        const firstShort = delivered.findIndex((v, i) => v < energies[i]!);
        if (firstShort >= 0) for (let i = firstShort + 1; i < delivered.length; i++) assert.equal(delivered[i], 0);
      },
    ),
    { numRuns: 300, seed: 16 },
  );
});
