/**
 * Fuzz through the real broker: 10,000 generated payloads (random bytes, random JSON,
 * envelope-shaped junk, and mutated valid messages) published on tmi/v1 topics. The
 * broker stays up, every payload is rejected with a code (one error message per
 * payload), none reaches a subscriber, and a concurrent valid publisher's messages
 * all arrive. Deterministic: seeded generator and fast-check samples with a seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createCodec, signEnvelope, encode } from '../../wire/codec.js';
import { OPERATIONS } from '../../schemas/envelope.js';
import { generateKeyPair } from '../../wire/keys.js';
import { enrollMeter, Inbox, login, signedBid, bidOffer, sleep, startBroker, type TestMeter } from './brokerFixtures.js';
import { mulberry32 as prng } from '../../hem/profiles/rng.js';

const N = 10_000;
const SEED = 20261121;


interface Case {
  topic: string;
  payload: Buffer;
}

function generate(m: TestMeter, other: TestMeter): Case[] {
  const rnd = prng(SEED);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const topics = [
    'tmi/v1/auctions/F1/bids', 'tmi/v1/readings', `tmi/v1/meters/${m.meterId}/state`, 'tmi/v1/chain/txs',
    'tmi/v1/chain/blocks', 'tmi/v1/chain/votes', 'tmi/v1/chain/sync/request', `tmi/v1/chain/sync/response/${m.meterId}`, 'tmi/v1/market/orders',
  ];
  const jsonValues = fc.sample(fc.jsonValue({ maxDepth: 4 }), { seed: SEED, numRuns: 3000 });
  const objects = fc.sample(
    fc.record({
      clientId: fc.oneof(fc.string(), fc.constant(m.pseudonym.address), fc.constant(m.meterId)),
      reqId: fc.oneof(fc.string(), fc.base64String({ minLength: 16, maxLength: 40 })),
      date: fc.oneof(fc.string(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
      operation: fc.oneof(fc.constantFrom(...OPERATIONS), fc.string()),
      signature: fc.oneof(fc.base64String({ minLength: 88, maxLength: 88 }), fc.string()),
      parameters: fc.object({ maxDepth: 3 }),
    }, { requiredKeys: [] }),
    { seed: SEED + 1, numRuns: 3000 },
  );
  const local = createCodec({ replayCheck: false });
  const cases: Case[] = [];
  let j = 0;
  let o = 0;
  while (cases.length < N) {
    const kind = int(10);
    const topic = pick(topics);
    if (kind === 0) {
      const len = int(2048);
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = int(256);
      cases.push({ topic, payload: b });
    } else if (kind <= 2) {
      cases.push({ topic, payload: Buffer.from(JSON.stringify(jsonValues[j++ % jsonValues.length]) ?? 'null') });
    } else if (kind <= 4) {
      cases.push({ topic, payload: Buffer.from(JSON.stringify(objects[o++ % objects.length])) });
    } else if (kind <= 7) {
      // byte-level mutation of a valid bid; skip the rare mutation that is still a valid message
      const valid = signedBid(m.pseudonym, 'F1');
      const b = Buffer.from(valid);
      const how = int(4);
      let mutated: Buffer;
      if (how === 0) {
        const at = int(b.length);
        b[at] = (b[at]! + 1 + int(255)) & 0xff;
        mutated = b;
      } else if (how === 1) mutated = b.subarray(0, int(b.length));
      else if (how === 2) {
        const at = int(b.length);
        mutated = Buffer.concat([b.subarray(0, at), Buffer.from(String.fromCharCode(32 + int(95))), b.subarray(at)]);
      } else {
        const at = int(b.length - 1);
        mutated = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
      }
      try {
        local.decode(mutated);
        continue; // still a valid message: not a fuzz case
      } catch {
        cases.push({ topic: 'tmi/v1/auctions/F1/bids', payload: mutated });
      }
    } else if (kind === 8) {
      // semantically wrong but well signed: stale, foreign, wrong auction, wrong topic, oversized
      const which = int(6);
      if (which === 5) {
        // a P2P order out of its schema's bounds: no interval, 97 intervals, a negative commitment
        const bad = [{ intervals: 0 }, { intervals: 97 }, { commitment: 'zz' }, { side: 'both' }][int(4)]!;
        const order = {
          orderId: `o-${int(1000)}`, address: m.pseudonym.address, feeder: 'F1', side: 'sell', intervals: 1, commitment: '00'.repeat(32),
          delivery: { start: '2026-11-21T10:30:00.000Z', end: '2026-11-21T10:45:00.000Z' }, ...bad,
        };
        const env = signEnvelope(m.pseudonym, 'market-order', order as never);
        cases.push({ topic: 'tmi/v1/market/orders', payload: Buffer.from(JSON.stringify(env)) });
      } else if (which === 0) {
        cases.push({ topic: 'tmi/v1/auctions/F1/bids', payload: signedBid(m.pseudonym, 'F1', { date: new Date(Date.now() - 3_600_000) }) });
      } else if (which === 1) {
        cases.push({ topic: 'tmi/v1/auctions/F1/bids', payload: signedBid(other.pseudonym, 'F1') });
      } else if (which === 2) {
        cases.push({ topic: 'tmi/v1/auctions/F1/bids', payload: signedBid(m.pseudonym, `X${int(1000)}`) });
      } else if (which === 3) {
        cases.push({ topic: pick(topics.slice(1)), payload: signedBid(m.pseudonym, 'F1') });
      } else {
        const env = signEnvelope(m.pseudonym, 'bid-offer', bidOffer(m.pseudonym, 'F1'));
        cases.push({ topic: 'tmi/v1/auctions/F1/bids', payload: Buffer.from(JSON.stringify({ ...env, pad: 'p'.repeat(17_000 + int(4000)) })) });
      }
    } else {
      // valid envelope, signature of the wrong key
      const env = signEnvelope(generateKeyPair(), 'bid-offer', bidOffer(m.pseudonym, 'F1'), { clientId: m.pseudonym.address });
      cases.push({ topic: 'tmi/v1/auctions/F1/bids', payload: encode(env) });
    }
  }
  return cases;
}

test(`fuzz: ${N} bad payloads are each rejected with a code; valid traffic flows`, { timeout: 90_000 }, async (t) => {
  const tb = await startBroker();
  const fuzzer = enrollMeter(tb.dir, 'meter-fuzz');
  const honest = enrollMeter(tb.dir, 'meter-honest');
  const other = enrollMeter(tb.dir, 'meter-other');
  const agg = enrollMeter(tb.dir, 'agg-fuzz', 'aggregator');
  const cases = generate(fuzzer, other);
  try {
    const f = await login(tb.url, fuzzer);
    const h = await login(tb.url, honest);
    const a = await login(tb.url, agg);
    const errs = await Inbox.subscribe(f, `tmi/v1/clients/${fuzzer.meterId}/errors`);
    const seen = await Inbox.subscribe(a, ['tmi/v1/auctions/#', 'tmi/v1/readings', 'tmi/v1/meters/#', 'tmi/v1/chain/#']);

    const VALID = 200;
    const validSent: Buffer[] = [];
    const honestDone = (async () => {
      for (let i = 0; i < VALID; i++) {
        const msg = signedBid(honest.pseudonym, 'F1');
        validSent.push(msg);
        await h.publishAsync('tmi/v1/auctions/F1/bids', msg, { qos: 1 });
        if (i % 20 === 0) await sleep(5);
      }
    })();

    const started = Date.now();
    for (let i = 0; i < cases.length; i++) {
      f.publish(cases[i]!.topic, cases[i]!.payload, { qos: 0 });
      if (i % 500 === 499) await sleep(1); // let the socket drain
    }
    await honestDone;
    await errs.waitFor(() => errs.messages.length >= N, 60_000, `${N} error messages`);
    const elapsed = Date.now() - started;
    await sleep(300);

    const codes = new Map<string, number>();
    for (const e of errs.errors()) codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
    t.diagnostic(`${N} payloads → ${errs.messages.length} errors in ${elapsed} ms; codes ${JSON.stringify(Object.fromEntries([...codes].sort((x, y) => y[1] - x[1])))}`);
    assert.equal(errs.messages.length, N, 'exactly one error message per payload');
    for (const code of codes.keys()) assert.match(code, /^[A-Z][A-Z0-9_]*$/);

    const received = seen.messages.map((m) => m.payload.toString('base64'));
    assert.equal(received.length, VALID, 'only the honest messages were forwarded');
    assert.deepEqual(new Set(received), new Set(validSent.map((b) => b.toString('base64'))));

    // still up: a fresh login works
    const again = await login(tb.url, other);
    assert.ok(again.connected);
    await Promise.all([f.endAsync(), h.endAsync(), a.endAsync(), again.endAsync()]);
  } finally {
    await tb.broker.close();
  }
});
