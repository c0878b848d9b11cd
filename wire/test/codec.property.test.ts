import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createCodec, encode, signEnvelope } from '../codec.js';
import { keyPairFromSeed, type KeyPair } from '../keys.js';
import { WireError } from '../errors.js';
import type { BidOffer, MeterReading } from '../../schemas/types.js';

const NOW = Date.parse('2026-11-21T10:15:00.000Z');
const idArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,40}$/);
const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((s) => keyPairFromSeed(s));
const qty = fc.double({ min: 0, max: 1_000_000, noNaN: true, noDefaultInfinity: true });

const bidArb = (kp: KeyPair) =>
  fc.record({
    auctionId: idArb,
    cpf: fc.double({ min: 0, max: 1, noNaN: true }),
    feeder: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
    type: fc.constantFrom('buy' as const, 'sell' as const),
    eunit: fc.constantFrom('kWh' as const, 'Wh' as const),
    e: qty,
    punit: fc.constantFrom('cents/kWh' as const, 'millicents/kWh' as const),
    p: qty,
  }).map((r): BidOffer => ({
    auctionId: r.auctionId,
    address: kp.address,
    cpf: r.cpf,
    feeder: r.feeder,
    bid: { type: r.type, energy: { unit: r.eunit, value: r.e }, price: { unit: r.punit, value: r.p } },
  }));

const readingArb = (kp: KeyPair) =>
  fc.record({
    seq: fc.nat({ max: 1_000_000 }),
    producedWh: fc.nat({ max: 100_000 }),
    consumedWh: fc.nat({ max: 100_000 }),
    chargedWh: fc.nat({ max: 100_000 }),
    dischargedWh: fc.nat({ max: 100_000 }),
    socPermille: fc.nat({ max: 1000 }),
  }).map((r): MeterReading => ({
    address: kp.address,
    interval: { start: '2026-11-21T10:00:00.000Z', end: '2026-11-21T10:15:00.000Z' },
    ...r,
  }));

type Msg = { kp: KeyPair; op: 'bid-offer'; p: BidOffer } | { kp: KeyPair; op: 'meter-reading'; p: MeterReading };
const msgArb: fc.Arbitrary<Msg> = keyArb.chain((kp) =>
  fc.oneof(
    bidArb(kp).map((p) => ({ kp, op: 'bid-offer' as const, p })),
    readingArb(kp).map((p) => ({ kp, op: 'meter-reading' as const, p })),
  ),
);

function sign(m: Msg) {
  return m.op === 'bid-offer'
    ? signEnvelope(m.kp, 'bid-offer', m.p, { date: new Date(NOW) })
    : signEnvelope(m.kp, 'meter-reading', m.p, { date: new Date(NOW) });
}

test('property: sign → encode → decode round-trips for random valid messages', () => {
  const codec = createCodec({ now: () => NOW });
  fc.assert(
    fc.property(msgArb, (m) => {
      const env = sign(m);
      const back = codec.decode(encode(env));
      assert.deepEqual(back, JSON.parse(JSON.stringify(env)));
    }),
    { numRuns: 1000 },
  );
});

/** All leaf paths of a JSON value. */
function leaves(v: unknown, path: string[] = []): string[][] {
  if (v !== null && typeof v === 'object') return Object.entries(v as object).flatMap(([k, x]) => leaves(x, [...path, k]));
  return [path];
}
function setAt(obj: Record<string, any>, path: string[], value: unknown) {
  let o = obj;
  for (const k of path.slice(0, -1)) o = o[k];
  o[path[path.length - 1]!] = value;
}
function getAt(obj: unknown, path: string[]): unknown {
  return path.reduce<any>((o, k) => o[k], obj);
}

test('property: any single-field change after signing fails verification', () => {
  const codec = createCodec({ now: () => NOW, replayCheck: false });
  fc.assert(
    fc.property(msgArb, fc.nat(), (m, pick) => {
      const env = JSON.parse(JSON.stringify(sign(m))) as Record<string, any>;
      const paths = leaves(env).filter((p) => p[0] !== 'signature');
      const path = paths[pick % paths.length]!;
      const old = getAt(env, path);
      // a different value of the same kind, so the schema may still accept it
      let next: unknown;
      if (typeof old === 'number') next = Number.isInteger(old) ? (old > 0 ? old - 1 : old + 1) : old === 0 ? 0.5 : old / 2;
      else if (typeof old === 'string') next = old.length > 16 ? old.slice(0, -1) + (old.endsWith('A') ? 'B' : 'A') : old + 'A';
      else next = !old;
      setAt(env, path, next);
      try {
        codec.decode(JSON.stringify(env));
      } catch (e) {
        assert.ok(e instanceof WireError);
        return; // schema error, address mismatch or bad signature: all refuse the change
      }
      assert.fail(`tampered field ${path.join('/')} decoded`);
    }),
    { numRuns: 2000 },
  );
});

test('property: 10,000 random byte strings and JSON values give only typed errors, quickly', () => {
  const codec = createCodec({ now: () => NOW });
  const t0 = Date.now();
  let n = 0;
  const check = (input: string | Uint8Array) => {
    n++;
    try {
      codec.decode(input);
      assert.fail('garbage decoded');
    } catch (e) {
      assert.ok(e instanceof WireError, `non-WireError: ${String(e)}`);
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => check(b)), { numRuns: 5000 });
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => check(JSON.stringify(v) ?? 'null')), { numRuns: 4000 });
  // envelope-shaped garbage exercises the schema paths, not just the parser
  const shaped = fc.record({
    clientId: fc.oneof(fc.string(), fc.jsonValue()),
    reqId: fc.oneof(fc.string(), fc.jsonValue()),
    date: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()),
    operation: fc.oneof(fc.constantFrom('bid-offer', 'meter-reading', 'block', 'tx', 'auction-open'), fc.string()),
    signature: fc.oneof(fc.base64String({ minLength: 88, maxLength: 88 }), fc.string()),
    parameters: fc.oneof(fc.object(), fc.jsonValue()),
  }, { requiredKeys: [] });
  fc.assert(fc.property(shaped, (v) => check(JSON.stringify(v))), { numRuns: 1000 });
  assert.equal(n, 10_000);
  assert.ok(Date.now() - t0 < 60_000, 'decoding garbage must not hang');
});
