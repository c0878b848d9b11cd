/**
 * npm run bench:codec — one core: full decodes/s of a bid-offer (size check, JSON
 * parse, schema, Ed25519 verify, replay guard) and signs/s. Prints JSON.
 */
import { createCodec, encode, signEnvelope } from '../wire/codec.js';
import { generateKeyPair } from '../wire/keys.js';
import { canonicalBytes } from '../wire/canonicalJson.js';
import type { BidOffer } from '../schemas/types.js';
import { machine } from './machine.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 3000);
const SIGNERS = 1000;

function bid(address: string, i: number): BidOffer {
  return {
    auctionId: 'auction-2026-11-21T10:30',
    address,
    cpf: 0.72,
    feeder: 'F1',
    bid: { type: 'sell', energy: { unit: 'kWh', value: 10 + (i % 7) }, price: { unit: 'cents/kWh', value: 8.2 } },
  };
}

function rate(fn: (i: number) => void): { perSecond: number; n: number } {
  for (let i = 0; i < 500; i++) fn(i); // warm up
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < DURATION_MS) {
    for (let k = 0; k < 100; k++) fn(n++);
    t = performance.now();
  }
  return { perSecond: Math.round((n * 1000) / (t - t0)), n };
}

const keys = Array.from({ length: SIGNERS }, () => generateKeyPair());
// pre-sign enough distinct messages that replay-guard lookups are real inserts
const wire: Buffer[] = [];
for (let i = 0; i < 60_000; i++) {
  const kp = keys[i % SIGNERS]!;
  wire.push(encode(signEnvelope(kp, 'bid-offer', bid(kp.address, i))));
}

const full = createCodec();
let next = 0; // every message is decoded once: the replay guard sees only fresh ids
const decode = rate(() => {
  if (next >= wire.length) throw new Error('bench: ran out of distinct messages; raise the pre-signed count');
  full.decode(wire[next++]!);
});
const noReplay = createCodec({ replayCheck: false });
const decodeNoReplay = rate((i) => noReplay.decode(wire[i % wire.length]!));
const signer = keys[0]!;
const sign = rate((i) => signEnvelope(signer, 'bid-offer', bid(signer.address, i)));
const canon = rate((i) => canonicalBytes(bid(signer.address, i)));

const result = {
  bench: 'codec',
  message: { operation: 'bid-offer', bytes: wire[0]!.length },
  decodesPerSecond: decode.perSecond,
  decodesPerSecondNote: 'size + JSON.parse + ajv schema + Ed25519 verify (node:crypto) + replay guard, one core, 1,000 distinct signers',
  decodesPerSecondWithoutReplayGuard: decodeNoReplay.perSecond,
  signsPerSecond: sign.perSecond,
  canonicalizePerSecond: canon.perSecond,
  target: { decodesPerSecond: 7000 },
  meetsTarget: decode.perSecond >= 7000,
  durationMsPerCase: DURATION_MS,
  machine: machine(),
};
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
