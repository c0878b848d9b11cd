/**
 * The simulated homes of the soak: deterministic identities (meter key, pseudonym,
 * feeder) and the messages a home signs. A reqId names its message:
 * `soak_<kind>_<home>_<n>` (kind r = reading of interval n, b = bid in auction n,
 * c = certificate transaction), so any subscriber can tell which home sent what.
 */
import { createHash } from 'node:crypto';
import { keyPairFromSeed, type KeyPair } from '../../wire/keys.js';
import { signAndEncode, signEnvelope, encode } from '../../wire/codec.js';
import type { AuctionOpen, BidOffer, Certificate, Envelope, MeterReading } from '../../schemas/types.js';
import { mulberry32 } from '../../hem/profiles/rng.js';

/** the seeded PRNG of the profile generator */
export const prng = mulberry32;

export const FEEDERS = 20;

function seed(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label).digest());
}

export const meterIdOf = (i: number) => `soak-${String(i).padStart(5, '0')}`;
export const meterKeyOf = (i: number) => keyPairFromSeed(seed(`tmi-soak/meter/${i}`));
export const pseudonymKeyOf = (i: number) => keyPairFromSeed(seed(`tmi-soak/pseudonym/${i}`));
export const feederOf = (i: number) => `F${String(i % FEEDERS).padStart(2, '0')}`;
export const serviceKey = (name: string) => keyPairFromSeed(seed(`tmi-soak/service/${name}`));

export type Kind = 'r' | 'b' | 'c';
export const reqIdOf = (kind: Kind, home: number, n: number) => `soak_${kind}_${String(home).padStart(5, '0')}_${String(n).padStart(6, '0')}`;

/** Parses a soak reqId; undefined for anything else. */
export function parseReqId(reqId: string): { kind: Kind; home: number; n: number } | undefined {
  const m = /^soak_([rbc])_(\d{5})_(\d{6})$/.exec(reqId);
  if (!m) return undefined;
  return { kind: m[1] as Kind, home: Number(m[2]), n: Number(m[3]) };
}

/** The reqId of an encoded envelope without parsing the JSON (encode() puts it second). */
export function reqIdInPayload(payload: Buffer): string | undefined {
  const s = payload.toString('latin1', 0, Math.min(payload.length, 200));
  const at = s.indexOf('"reqId":"');
  if (at < 0) return undefined;
  const end = s.indexOf('"', at + 9);
  return end < 0 ? undefined : s.slice(at + 9, end);
}


export interface Home {
  i: number;
  meterId: string;
  meterKey: KeyPair;
  pseudonym: KeyPair;
  feeder: string;
  cert?: Certificate;
  /** [DOMAIN-TX] the genesis hash every transaction of the home names */
  chain?: string;
}

const forChain = (h: Home): { chain?: string } => (h.chain !== undefined ? { chain: h.chain } : {});

export function homeOf(i: number): Home {
  return { i, meterId: meterIdOf(i), meterKey: meterKeyOf(i), pseudonym: pseudonymKeyOf(i), feeder: feederOf(i) };
}

/** Reading of metering interval n = [start, end): a home with PV and a battery. */
export function readingPayload(h: Home, n: number, startMs: number, endMs: number, now: number): Buffer {
  const r = prng(h.i * 1_000_003 + n);
  const params: MeterReading = {
    address: h.pseudonym.address,
    interval: { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString() },
    seq: n,
    producedWh: Math.floor(r() * 800),
    consumedWh: 100 + Math.floor(r() * 600),
    chargedWh: Math.floor(r() * 200),
    dischargedWh: Math.floor(r() * 400),
    socPermille: Math.floor(r() * 1001),
  };
  return signAndEncode(h.pseudonym, 'meter-reading', params, { date: new Date(now), reqId: reqIdOf('r', h.i, n), ...forChain(h) });
}

/**
 * A bid on an open auction, on the HEM side facing the aggregator (aggregator buys →
 * the home sells). Energy 0.2–3 kWh; price 60–115 % of the limit, so some bids are
 * priced out.
 */
export function bidPayload(h: Home, open: AuctionOpen, auctionNo: number, now: number): Buffer {
  const r = prng(h.i * 7919 + auctionNo * 104_729);
  const limitMc = open.limitPrice.unit === 'cents/kWh' ? open.limitPrice.value * 1000 : open.limitPrice.value;
  const params = {
    auctionId: open.auctionId,
    address: h.pseudonym.address,
    cpf: Math.round(r() * 1000) / 1000,
    feeder: h.feeder,
    bid: {
      type: open.side === 'buy' ? 'sell' : 'buy',
      energy: { unit: 'Wh', value: 200 + Math.floor(r() * 2800) },
      price: { unit: 'millicents/kWh', value: Math.floor(limitMc * (0.6 + r() * 0.55)) },
    },
  } as BidOffer;
  return signAndEncode(h.pseudonym, 'bid-offer', params, { date: new Date(now), reqId: reqIdOf('b', h.i, auctionNo), ...forChain(h) });
}

/** [HEM-CERT] the certificate on chain: a `tx` wrapping a `certificate` envelope, both signed by the pseudonym. */
export function certificateTxPayload(h: Home, now: number): Buffer {
  if (!h.cert) throw new Error(`NO_CERTIFICATE home=${h.i}`);
  const inner = signEnvelope(h.pseudonym, 'certificate', h.cert, { date: new Date(now), ...forChain(h) });
  const tx = signEnvelope(h.pseudonym, 'tx', { tx: inner as unknown as Envelope<'tx'>['parameters']['tx'] }, { date: new Date(now), reqId: reqIdOf('c', h.i, 0) });
  return encode(tx);
}
