/**
 * The test vectors of PROTOCOL.md (`wire/test/protocolVectors.json`), made with the code:
 * a canonical-JSON case, a signed bid-offer and meter-reading, a login token, a certificate
 * request, the certificate's on-chain tx, and the certificates the registry issues for it (and, near the end of the period, for the
 * next period). Fixed keys (32-byte seeds = SHA-256 of a name), fixed dates and nonces;
 * Ed25519 signatures are deterministic (RFC 8032), so the file is byte-for-byte stable.
 *
 *   node dist/wire/test/makeProtocolVectors.js --write    rewrites the file
 *
 * `protocolVectors.test.ts` re-creates the file and compares it byte for byte, and checks
 * every vector with the code's verifiers.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MemoryLevel } from 'memory-level';
import { canonicalize } from '../canonicalJson.js';
import { encode, signEnvelope } from '../codec.js';
import { keyPairFromSeed, type KeyPair } from '../keys.js';
import { loginTokenMessage, makeLoginToken } from '../loginToken.js';
import { certificateRequestSigningBytes, signCertificateRequest } from '../../csm-registry/certificateRequest.js';
import { certificateSigningBytes } from '../../csm-registry/certificate.js';
import { createRegistryStore, DEFAULT_CERT_PERIOD_MS, type RegistryDb } from '../../csm-registry/registryStore.js';
import type { BidOffer, Certificate, Envelope, MeterReading } from '../../schemas/types.js';

export const VECTOR_KEY_NAMES = ['meter', 'pseudonym', 'pseudonymNext', 'registry'] as const;
export type VectorKeyName = (typeof VECTOR_KEY_NAMES)[number];

/** seed = SHA-256("tmi-protocol-vector/" + name) */
export function vectorSeed(name: VectorKeyName): Buffer {
  return createHash('sha256').update(`tmi-protocol-vector/${name}`).digest();
}

export function vectorKey(name: VectorKeyName): KeyPair {
  return keyPairFromSeed(vectorSeed(name));
}

/** The fixed inputs. */
export const INPUTS = {
  meterId: 'home-1',
  feeder: 'F1',
  programme: 'RE+TE',
  /** the certificate request, and the registry's clock when it answers */
  certificateRequestDate: '2026-11-21T10:14:00.000Z',
  certificateRequestNonce: 'AAECAwQFBgcICQoLDA0ODw', // bytes 0…15, base64url
  /** the rotation request, 2 h before the period (UTC day) ends */
  nextCertificateRequestDate: '2026-11-21T22:00:00.000Z',
  nextCertificateRequestNonce: 'EBESExQVFhcYGRobHB0eHw', // bytes 16…31, base64url
  loginDate: '2026-11-21T10:15:00.000Z',
  loginNonce: 'AAECAwQFBgcICQoL', // bytes 0…11, base64url
  /** [DOMAIN-TX] the chain every chain transaction names: a genesis hash (SHA-256 of "tmi-protocol-vector/chain") */
  chain: createHash('sha256').update('tmi-protocol-vector/chain').digest('hex'),
  bidDate: '2026-11-21T10:16:00.000Z',
  bidReqId: 'protocol-vector-bid-0001',
  bidParameters: (address: string): BidOffer => ({
    auctionId: 'auc-20261121T1030-buy-1',
    address,
    cpf: 0.72,
    feeder: 'F1',
    bid: { type: 'sell', energy: { unit: 'Wh', value: 1500 }, price: { unit: 'millicents/kWh', value: 8200 } },
  }),
  readingDate: '2026-11-21T10:30:05.000Z',
  readingReqId: 'protocol-vector-reading-0001',
  readingParameters: (address: string): MeterReading => ({
    address,
    interval: { start: '2026-11-21T10:15:00.000Z', end: '2026-11-21T10:30:00.000Z' },
    seq: 0,
    producedWh: 412,
    consumedWh: 230,
    chargedWh: 150,
    dischargedWh: 0,
    socPermille: 640,
  }),
  certificateTxDate: '2026-11-21T10:14:01.000Z',
  certificateReqId: 'protocol-vector-cert-0001',
  certificateTxReqId: 'protocol-vector-tx-0001',
  /** RFC 8785 corner cases: member order by UTF-16 code units, number and string forms */
  canonicalInput: '{"b":[1.0,-0,1e21,0.000001,1e-7,8.2,100],"a":"é\\u0000\\"\\u001f/","€":1,"😀":2,"z":{"y":true,"x":null}}',
} as const;

async function issue(store: Awaited<ReturnType<typeof createRegistryStore>>, clock: { t: number }, date: string, nonce: string, pseudonym: KeyPair, meter: KeyPair) {
  clock.t = Date.parse(date);
  const request = signCertificateRequest(meter, INPUTS.meterId, pseudonym.address, { date, nonce });
  const certificate: Certificate = await store.issueCertificate(request);
  return { request, certificate };
}

export async function makeProtocolVectors(): Promise<Record<string, unknown>> {
  const keys = Object.fromEntries(VECTOR_KEY_NAMES.map((n) => [n, vectorKey(n)])) as Record<VectorKeyName, KeyPair>;

  // the registry's own code issues the certificates: window and tag as it computes them
  const clock = { t: Date.parse(INPUTS.certificateRequestDate) };
  const db: RegistryDb = new MemoryLevel<string, string>();
  const store = await createRegistryStore({ db, registryKey: keys.registry, now: () => clock.t });
  await store.enroll(
    { meterId: INPUTS.meterId, serial: 'SN-1', meterType: 'E450', publicKey: keys.meter.address, feeder: INPUTS.feeder, programme: INPUTS.programme, role: 'hem' },
    { actor: 'vectors' },
  );
  const first = await issue(store, clock, INPUTS.certificateRequestDate, INPUTS.certificateRequestNonce, keys.pseudonym, keys.meter);
  const next = await issue(store, clock, INPUTS.nextCertificateRequestDate, INPUTS.nextCertificateRequestNonce, keys.pseudonymNext, keys.meter);
  await db.close();

  const loginTs = String(Date.parse(INPUTS.loginDate));
  const token = makeLoginToken(keys.meter, INPUTS.meterId, Date.parse(INPUTS.loginDate), INPUTS.loginNonce);

  const bid = signEnvelope(keys.pseudonym, 'bid-offer', INPUTS.bidParameters(keys.pseudonym.address), { reqId: INPUTS.bidReqId, date: INPUTS.bidDate, chain: INPUTS.chain });
  const { signature: bidSignature, ...bidUnsigned } = bid;

  const reading = signEnvelope(keys.pseudonym, 'meter-reading', INPUTS.readingParameters(keys.pseudonym.address), { reqId: INPUTS.readingReqId, date: INPUTS.readingDate, chain: INPUTS.chain });
  const { signature: readingSignature, ...readingUnsigned } = reading;

  // [HEM-CERT] the certificate goes on chain as a tx whose tx is a certificate envelope, both signed by the pseudonym
  const inner = signEnvelope(keys.pseudonym, 'certificate', first.certificate, { reqId: INPUTS.certificateReqId, date: INPUTS.certificateTxDate, chain: INPUTS.chain });
  const certificateTx = signEnvelope(keys.pseudonym, 'tx', { tx: inner as unknown as Envelope<'tx'>['parameters']['tx'] }, { reqId: INPUTS.certificateTxReqId, date: INPUTS.certificateTxDate });

  const certificateVector = (c: typeof first, periodOf: string) => ({
    registryClock: c.request.date,
    period: Math.floor(Date.parse(periodOf) / DEFAULT_CERT_PERIOD_MS),
    signingInput: certificateSigningBytes(c.certificate).toString('utf8'),
    certificate: c.certificate,
  });

  return {
    about: 'TMI protocol test vectors (PROTOCOL.md "Test vectors"). Keys: Ed25519 from the 32-byte seeds; signatures are deterministic. '
      + 'signingInput is the exact UTF-8 text that is signed. Made by wire/test/makeProtocolVectors.ts and checked by wire/test/protocolVectors.test.ts.',
    keys: Object.fromEntries(VECTOR_KEY_NAMES.map((n) => [n, {
      seedHex: Buffer.from(keys[n].seed).toString('hex'),
      publicKeyHex: keys[n].address,
    }])),
    canonicalJson: { input: INPUTS.canonicalInput, canonical: canonicalize(JSON.parse(INPUTS.canonicalInput)) },
    bidOffer: {
      signer: 'pseudonym',
      unsigned: bidUnsigned,
      signingInput: canonicalize(bidUnsigned),
      signature: bidSignature,
      envelope: encode(bid).toString('utf8'),
    },
    meterReading: {
      signer: 'pseudonym',
      unsigned: readingUnsigned,
      signingInput: canonicalize(readingUnsigned),
      signature: readingSignature,
      envelope: encode(reading).toString('utf8'),
    },
    loginToken: {
      signer: 'meter',
      meterId: INPUTS.meterId,
      ts: loginTs,
      nonce: INPUTS.loginNonce,
      signingInput: loginTokenMessage(INPUTS.meterId, loginTs, INPUTS.loginNonce).toString('utf8'),
      token,
    },
    certificateRequest: {
      signer: 'meter',
      signingInput: certificateRequestSigningBytes(first.request).toString('utf8'),
      body: first.request,
    },
    certificate: { signer: 'registry', ...certificateVector(first, first.certificate.validFrom) },
    certificateTx: {
      signer: 'pseudonym',
      innerSigningInput: canonicalize((({ signature: _s, ...u }) => u)(inner)),
      signingInput: canonicalize((({ signature: _s, ...u }) => u)(certificateTx)),
      envelope: encode(certificateTx).toString('utf8'),
    },
    certificateNextPeriod: {
      signer: 'registry',
      request: next.request,
      ...certificateVector(next, next.certificate.validFrom),
    },
  };
}

export function protocolVectorsPath(): string {
  return fileURLToPath(new URL('../../../wire/test/protocolVectors.json', import.meta.url));
}

export async function renderProtocolVectors(): Promise<string> {
  return JSON.stringify(await makeProtocolVectors(), null, 2) + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  const text = await renderProtocolVectors();
  writeFileSync(protocolVectorsPath(), text);
  process.stdout.write(`wrote ${protocolVectorsPath()}\n`);
}
