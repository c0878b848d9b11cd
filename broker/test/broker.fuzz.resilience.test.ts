/**
 * Long fuzz of the real broker (npm run test:resilience): fast-check properties, one
 * case at a time through a real MQTT connection, so a failing case shrinks to a minimal
 * payload.
 *
 *   1. 12,000 publishes from a logged-in HEM — random bytes, random JSON, envelope-shaped
 *      junk for every operation, byte- and field-level mutations of valid messages of six
 *      operations (anything that still decodes is skipped), well-signed messages that
 *      break a rule (stale, foreign pseudonym, wrong auction topic, wrong key, oversize,
 *      replayed), random topics: each is PUBACKed, answered by exactly one broker error
 *      with a code, and never reaches a subscriber.
 *   2. 2,000 logins with random or mangled credentials: never accepted.
 *   3. 1,000 raw TCP connections that send random bytes or malformed MQTT packets.
 * Afterwards the broker still serves an honest client, and its counters agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import fc from 'fast-check';
import { connectAsync } from 'mqtt';
import { createCodec, encode, signEnvelope } from '../../wire/codec.js';
import { OPERATIONS } from '../../schemas/envelope.js';
import { generateKeyPair, publicKeyObject } from '../../wire/keys.js';
import { makeLoginToken } from '../../wire/loginToken.js';
import { bidOffer, enrollMeter, Inbox, login, refusedCode, signedBid, sleep, startBroker, type TestMeter } from './brokerFixtures.js';

const PUBLISH_RUNS = Number(process.env.TMI_FUZZ_PUBLISH_RUNS ?? 12_000);
const LOGIN_RUNS = 2_000;
const RAW_RUNS = 1_000;
const SEED = 20261122;

interface Case {
  topic: string;
  payload: Buffer;
  /** the message is sent twice; the second copy is the case (REPLAYED) */
  twice?: boolean;
}

const ERR_TOPIC = (id: string) => `tmi/v1/clients/${id}/errors`;

/** Valid messages of several operations, each with the topic it belongs on. */
function validMessages(m: TestMeter): { topic: string; payload: () => Buffer }[] {
  const now = () => new Date();
  const interval = () => {
    const end = Math.floor(Date.now() / 900_000) * 900_000;
    return { start: new Date(end - 900_000).toISOString(), end: new Date(end).toISOString() };
  };
  return [
    { topic: 'tmi/v1/auctions/A1/bids', payload: () => signedBid(m.pseudonym, 'A1') },
    {
      topic: 'tmi/v1/readings',
      payload: () => encode(signEnvelope(m.pseudonym, 'meter-reading', {
        address: m.pseudonym.address, interval: interval(), seq: 7, producedWh: 100, consumedWh: 200, chargedWh: 0, dischargedWh: 50, socPermille: 400,
      }, { date: now() })),
    },
    {
      topic: `tmi/v1/meters/${m.meterId}/state`,
      payload: () => encode(signEnvelope(m.key, 'state', { meterId: m.meterId, socPermille: 500, pvW: 1000, loadW: 300, batteryW: -200 }, { clientId: m.meterId, date: now() })),
    },
    {
      topic: 'tmi/v1/chain/txs',
      payload: () => {
        const inner = signEnvelope(m.pseudonym, 'transfer', { to: generateKeyPair().address, amountMillicents: 5 });
        return encode(signEnvelope(m.pseudonym, 'tx', { tx: inner as never }));
      },
    },
    {
      topic: 'tmi/v1/chain/sync/request',
      payload: () => encode(signEnvelope(m.pseudonym, 'sync-request', { nodeId: m.meterId, fromHeight: 3, maxBlocks: 10 })),
    },
    {
      topic: 'tmi/v1/auctions/A1/bids',
      payload: () => signedBid(m.pseudonym, 'A1', {}, { bid: { type: 'buy', energy: { unit: 'Wh', value: 900 }, price: { unit: 'millicents/kWh', value: 12_000 } } } as never),
    },
  ];
}

/** Sets `value` at a random path inside a JSON object (a new key when the path ends early). */
function mutateJson(obj: unknown, path: number[], value: unknown, newKey: string): unknown {
  if (path.length === 0 || obj === null || typeof obj !== 'object') return value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(obj) ? [...obj] : { ...(obj as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return Array.isArray(copy) ? [value] : { [newKey]: value };
  const k = keys[path[0]! % keys.length]!;
  const rec = copy as Record<string, unknown>;
  rec[k] = mutateJson(rec[k], path.slice(1), value, newKey);
  return copy;
}

function caseArbitrary(m: TestMeter, other: TestMeter): fc.Arbitrary<Case> {
  const valid = validMessages(m);
  const hemTopics = [
    'tmi/v1/auctions/A1/bids', 'tmi/v1/readings', `tmi/v1/meters/${m.meterId}/state`, 'tmi/v1/chain/txs',
    'tmi/v1/chain/blocks', 'tmi/v1/chain/votes', 'tmi/v1/chain/sync/request', `tmi/v1/chain/sync/response/${m.meterId}`,
  ];
  const safeLevel = fc.stringMatching(/^[A-Za-z0-9_.:-]{0,12}$/);
  const topic = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...hemTopics) },
    { weight: 1, arbitrary: fc.array(safeLevel, { minLength: 1, maxLength: 6 }).map((ls) => `tmi/v1/${ls.join('/')}`) },
    { weight: 1, arbitrary: fc.array(safeLevel, { minLength: 1, maxLength: 4 }).map((ls) => `${['foo', 'tmi/v2', 'tmi', 'x/y'][ls.length % 4]}/${ls.join('/')}`) },
    { weight: 1, arbitrary: fc.constantFrom(`tmi/v1/meters/${other.meterId}/state`, 'tmi/v1/schedule', 'tmi/v1/auctions/A1', 'tmi/v1/auctions/A1/result', `tmi/v1/clients/${m.meterId}/errors`) },
  );
  const junkEnvelope = fc.record({
    clientId: fc.oneof(fc.string(), fc.constant(m.pseudonym.address), fc.constant(m.meterId), fc.constant(other.pseudonym.address)),
    reqId: fc.oneof(fc.string(), fc.base64String({ minLength: 16, maxLength: 40 }).map((s) => s.replace(/[+/=]/g, 'A'))),
    date: fc.oneof(fc.string(), fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()), fc.constant(new Date().toISOString())),
    operation: fc.oneof(fc.constantFrom(...OPERATIONS), fc.string()),
    signature: fc.oneof(fc.base64String({ minLength: 88, maxLength: 88 }), fc.string()),
    parameters: fc.oneof(fc.object({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 2 })),
  }, { requiredKeys: [] });
  const mutationValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 80 }), fc.integer(), fc.double(), fc.constant(null), fc.constant(''), fc.constant(-1), fc.constant(1e308));
  return fc.oneof(
    { weight: 1, arbitrary: fc.record({ topic, payload: fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)) }) },
    { weight: 2, arbitrary: fc.record({ topic, payload: fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) }) },
    { weight: 2, arbitrary: fc.record({ topic, payload: junkEnvelope.map((e) => Buffer.from(JSON.stringify(e))) }) },
    // byte-level mutation of a valid message, on its own topic
    {
      weight: 3,
      arbitrary: fc.tuple(fc.nat(valid.length - 1), fc.nat(4), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(94)).map(([v, how, at0, delta, ch]) => {
        const b = Buffer.from(valid[v]!.payload());
        const at = at0 % b.length;
        let out: Buffer;
        if (how === 0) {
          b[at] = (b[at]! + delta) & 0xff;
          out = b;
        } else if (how === 1) out = b.subarray(0, at);
        else if (how === 2) out = Buffer.concat([b.subarray(0, at), Buffer.from(String.fromCharCode(32 + ch)), b.subarray(at)]);
        else if (how === 3) out = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        else out = Buffer.concat([b, b.subarray(0, at)]);
        return { topic: valid[v]!.topic, payload: out };
      }),
    },
    // field-level mutation of a valid message (the signature no longer matches, or the schema fails)
    {
      weight: 3,
      arbitrary: fc.tuple(fc.nat(valid.length - 1), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), mutationValue, fc.string({ maxLength: 8 })).map(([v, path, value, key]) => {
        const env = JSON.parse(valid[v]!.payload().toString('utf8')) as unknown;
        return { topic: valid[v]!.topic, payload: Buffer.from(JSON.stringify(mutateJson(env, path, value, `x${key}`))) };
      }),
    },
    // well signed, but breaks a rule
    {
      weight: 2,
      arbitrary: fc.tuple(fc.nat(6), fc.nat(1000)).map(([which, k]): Case => {
        if (which === 0) return { topic: 'tmi/v1/auctions/A1/bids', payload: signedBid(m.pseudonym, 'A1', { date: new Date(Date.now() - 3_600_000 - k * 1000) }) };
        if (which === 1) return { topic: 'tmi/v1/auctions/A1/bids', payload: signedBid(other.pseudonym, 'A1') };
        if (which === 2) return { topic: `tmi/v1/auctions/X${k}/bids`, payload: signedBid(m.pseudonym, 'A1') };
        if (which === 3) return { topic: 'tmi/v1/auctions/A1/bids', payload: encode(signEnvelope(generateKeyPair(), 'bid-offer', bidOffer(m.pseudonym, 'A1'), { clientId: m.pseudonym.address })) };
        if (which === 4) {
          const env = signEnvelope(m.pseudonym, 'bid-offer', bidOffer(m.pseudonym, 'A1'));
          return { topic: 'tmi/v1/auctions/A1/bids', payload: Buffer.from(JSON.stringify({ ...env, pad: 'p'.repeat(16_400 + k) })) };
        }
        if (which === 5) return { topic: 'tmi/v1/readings', payload: signedBid(m.pseudonym, 'A1') };
        return { topic: 'tmi/v1/auctions/A1/bids', payload: signedBid(m.pseudonym, 'A1'), twice: true };
      }),
    },
  );
}

test(`broker fuzz: ${PUBLISH_RUNS} publishes each answered by one error with a code, none forwarded`, { timeout: 900_000 }, async (t) => {
  const tb = await startBroker();
  const fuzzer = enrollMeter(tb.dir, 'meter-fuzz');
  const other = enrollMeter(tb.dir, 'meter-other');
  const watcher = enrollMeter(tb.dir, 'watcher', 'admin');
  // what the broker's codec would accept (the fuzzer's meter id signs with its meter key)
  const meterKey = publicKeyObject(fuzzer.key.publicKey);
  const local = createCodec({ replayCheck: false, resolveKey: (id) => (id === fuzzer.meterId ? meterKey : undefined) });
  try {
    const f = await login(tb.url, fuzzer);
    const w = await login(tb.url, watcher);
    const errs = await Inbox.subscribe(f, ERR_TOPIC(fuzzer.meterId));
    const seen = await Inbox.subscribe(w, ['tmi/#', 'foo/#', 'x/#']);
    // everything the watcher receives except the broker's error messages is a forwarded publish
    let forwardedCount = 0;
    w.on('message', (topic) => {
      if (!topic.startsWith('tmi/v1/clients/')) forwardedCount++;
    });
    const codes = new Map<string, number>();
    let cases = 0;
    let skipped = 0;
    let twiceForwarded = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(caseArbitrary(fuzzer, other), async (c) => {
        // a mutation that still decodes (e.g. whitespace between JSON tokens) is a valid message, not a fuzz case
        if (!c.twice) {
          let decodes = false;
          try {
            local.decode(c.payload);
            decodes = true;
          } catch {
            /* invalid: a case */
          }
          if (decodes) {
            skipped++;
            return;
          }
        }
        const forwardedBefore = forwardedCount;
        if (c.twice) {
          await f.publishAsync(c.topic, c.payload, { qos: 1 });
          await seen.waitFor(() => forwardedCount > forwardedBefore, 5000, 'the first copy');
          twiceForwarded++;
        }
        const before = errs.messages.length;
        await f.publishAsync(c.topic, c.payload, { qos: 1 }); // resolves on PUBACK
        await errs.waitFor(() => errs.messages.length > before, 5000, `the error for case ${cases}`);
        await sleep(0);
        const e = (JSON.parse(errs.messages.at(-1)!.payload.toString('utf8')) as { parameters: { code: string } }).parameters;
        assert.match(e.code, /^[A-Z][A-Z0-9_]*$/);
        if (c.twice) assert.equal(e.code, 'REPLAYED');
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        cases++;
      }),
      { numRuns: PUBLISH_RUNS, seed: SEED, endOnFailure: true },
    );
    await sleep(500);
    const forwarded = seen.messages.filter((x) => !x.topic.startsWith('tmi/v1/clients/'));
    assert.equal(forwarded.length, forwardedCount);
    t.diagnostic(`${cases} cases in ${Date.now() - started} ms (${skipped} mutations still valid, skipped); codes ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])))}`);
    assert.ok(cases >= Math.min(10_000, PUBLISH_RUNS * 0.9), `enough cases (${cases})`);
    assert.equal(errs.messages.length, cases + 0, 'exactly one error per case');
    assert.equal(forwarded.length, twiceForwarded, 'only the first copies of the replayed messages were forwarded');
    const rejected = (await tb.broker.metrics.getSingleMetric('tmi_broker_messages_in_total')?.get())?.values.find((v) => v.labels.result === 'rejected')?.value;
    assert.equal(rejected, cases, 'the broker counted every case as rejected');
    assert.ok(f.connected, 'the fuzzer is still connected');
    await Promise.all([f.endAsync(), w.endAsync()]);
  } finally {
    await tb.broker.close();
  }
});

test(`broker fuzz: ${LOGIN_RUNS} logins with random or mangled credentials are refused`, { timeout: 600_000 }, async (t) => {
  const tb = await startBroker();
  const m = enrollMeter(tb.dir, 'meter-login');
  const honest = enrollMeter(tb.dir, 'meter-honest');
  try {
    const refusals = new Map<string, number>();
    const cred = fc.oneof(
      fc.record({ clientId: fc.string({ maxLength: 30 }), username: fc.string({ maxLength: 30 }), password: fc.string({ maxLength: 200 }) }),
      // the right meter, a mangled token
      fc.tuple(fc.nat(), fc.integer({ min: 1, max: 127 })).map(([at, d]) => {
        // any character but the last, whose 4 unused bits are the subject of the replay test below
        const tok = Buffer.from(makeLoginToken(m.key, m.meterId));
        const i = at % (tok.length - 1);
        const was = tok[i]!;
        tok[i] = (was + d) & 0x7f || 0x41;
        if (tok[i] === was) tok[i] = was === 0x41 ? 0x42 : 0x41; // always a different character
        return { clientId: m.meterId, username: m.meterId, password: tok.toString('latin1') };
      }),
      // a good token for another meter id, a token of the wrong key, a stale token
      fc.constantFrom('other-id', 'wrong-key', 'stale', 'mismatch').map((k) => {
        if (k === 'other-id') return { clientId: 'meter-nobody', username: 'meter-nobody', password: makeLoginToken(m.key, 'meter-nobody') };
        if (k === 'wrong-key') return { clientId: m.meterId, username: m.meterId, password: makeLoginToken(generateKeyPair(), m.meterId) };
        if (k === 'stale') return { clientId: m.meterId, username: m.meterId, password: makeLoginToken(m.key, m.meterId, Date.now() - 600_000) };
        return { clientId: 'someone-else', username: m.meterId, password: makeLoginToken(m.key, m.meterId) };
      }),
    );
    await fc.assert(
      fc.asyncProperty(cred, async (c) => {
        let accepted = false;
        try {
          const client = await connectAsync(tb.url, { ...c, clientId: c.clientId || 'x', reconnectPeriod: 0, connectTimeout: 5000 });
          accepted = true;
          await client.endAsync(true);
        } catch (err) {
          const code = String((err as { code?: number }).code ?? (err as Error).message.slice(0, 40));
          refusals.set(code, (refusals.get(code) ?? 0) + 1);
        }
        assert.equal(accepted, false, `accepted ${JSON.stringify(c).slice(0, 200)}`);
      }),
      { numRuns: LOGIN_RUNS, seed: SEED + 1 },
    );
    t.diagnostic(`${LOGIN_RUNS} logins refused; CONNACK codes / errors ${JSON.stringify(Object.fromEntries(refusals))}`);

    // still up: an honest client logs in and its bid reaches a subscriber
    const h = await login(tb.url, honest);
    const agg = enrollMeter(tb.dir, 'agg', 'aggregator');
    const a = await login(tb.url, agg);
    const inbox = await Inbox.subscribe(a, 'tmi/v1/auctions/+/bids');
    await h.publishAsync('tmi/v1/auctions/A9/bids', signedBid(honest.pseudonym, 'A9'), { qos: 1 });
    await inbox.waitFor(() => inbox.messages.length === 1, 5000, 'the honest bid');
    assert.equal(tb.broker.aedes.connectedClients, 2, 'no fuzz connection lingers');
    await Promise.all([h.endAsync(), a.endAsync()]);
  } finally {
    await tb.broker.close();
  }
});

test(`broker fuzz: ${RAW_RUNS} raw TCP connections sending garbage or malformed MQTT packets are closed; the broker stays up`, { timeout: 600_000 }, async (t) => {
  const tb = await startBroker();
  const honest = enrollMeter(tb.dir, 'meter-honest');
  try {
    const port = Number(new URL(tb.url).port);
    // random bytes, or a plausible fixed header with a random remaining length and body
    const raw = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 512 }),
      fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 64 })).map(([type, flags, body]) => Uint8Array.from([(type << 4) | flags, body.length, ...body])),
      // CONNECT with protocol name MQTT level 4 and random rest
      fc.uint8Array({ maxLength: 64 }).map((rest) => Uint8Array.from([0x10, 10 + rest.length, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, ...rest])),
      // a 4-byte remaining length announcing ~256 MB
      fc.constant(Uint8Array.from([0x10, 0xff, 0xff, 0xff, 0x7f])),
    );
    let closedByBroker = 0;
    await fc.assert(
      fc.asyncProperty(raw, async (bytes) => {
        const closed = await new Promise<boolean>((resolve) => {
          const s = netConnect(port, '127.0.0.1');
          const timer = setTimeout(() => {
            s.destroy();
            resolve(false);
          }, 3000);
          s.on('error', () => undefined);
          s.on('close', () => {
            clearTimeout(timer);
            resolve(true);
          });
          s.on('data', () => undefined); // a CONNACK refusal may come before the close
          s.write(bytes, () => s.end());
        });
        if (closed) closedByBroker++;
      }),
      { numRuns: RAW_RUNS, seed: SEED + 2 },
    );
    t.diagnostic(`${RAW_RUNS} raw connections: ${closedByBroker} closed within 3 s (the rest were cut by the test)`);

    const h = await login(tb.url, honest);
    const agg = enrollMeter(tb.dir, 'agg', 'aggregator');
    const a = await login(tb.url, agg);
    const inbox = await Inbox.subscribe(a, 'tmi/v1/auctions/+/bids');
    await h.publishAsync('tmi/v1/auctions/A9/bids', signedBid(honest.pseudonym, 'A9'), { qos: 1 });
    await inbox.waitFor(() => inbox.messages.length === 1, 5000, 'the honest bid');
    assert.equal(tb.broker.aedes.connectedClients, 2, 'no garbage connection lingers');
    await Promise.all([h.endAsync(), a.endAsync()]);
  } finally {
    await tb.broker.close();
  }
});

/**
 * Base64 malleability: the last character of an 86-character base64url signature carries
 * 2 bits of it and 4 unused bits, so 16 strings decode to the same signature. A token
 * replay cache keyed on the token string accepts each of them once more.
 */
test('a captured login token replayed with another encoding of the same signature is refused', { timeout: 60_000 }, async () => {
  const tb = await startBroker();
  const m = enrollMeter(tb.dir, 'meter-replay');
  try {
    const token = makeLoginToken(m.key, m.meterId);
    const first = await connectAsync(tb.url, { clientId: m.meterId, username: m.meterId, password: token, reconnectPeriod: 0 });
    await first.endAsync(true);
    const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = A.indexOf(token.at(-1)!);
    const again = token.slice(0, -1) + A[last ^ 1];
    const sig = (x: string) => Buffer.from(x.slice(x.lastIndexOf('.') + 1), 'base64url');
    assert.ok(sig(again).equals(sig(token)) && again !== token, 'the same signature bytes, another string');
    assert.equal(await refusedCode(tb.url, { clientId: m.meterId, username: m.meterId, password: again }), 4, 'refused as a replay (or as malformed)');
  } finally {
    await tb.broker.close();
  }
});
