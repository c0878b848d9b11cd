/**
 * A HEM's request for a pseudonym certificate (DESIGN §4), signed by its METER key:
 *
 *   signature = base64 Ed25519(meterKey, canonicalJson({meterId, address, date, nonce}))
 *
 * like the envelope signature. The registry accepts it when the date is within ±skew
 * of its clock, the nonce is new for that meter, and the meter is enrolled and active.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { canonicalBytes } from '../wire/canonicalJson.js';
import { signBytes, verifyBytes, type KeyPair } from '../wire/keys.js';
import type { CertificateRequest } from './registrySchemas.js';

export type UnsignedCertificateRequest = Omit<CertificateRequest, 'signature'>;

export function certificateRequestSigningBytes(req: UnsignedCertificateRequest | CertificateRequest): Buffer {
  const { meterId, address, date, nonce } = req;
  return canonicalBytes({ meterId, address, date, nonce });
}

export interface CertificateRequestOptions {
  /** default: now */
  date?: Date | string;
  /** default: 128 random bits, base64url */
  nonce?: string;
}

export function signCertificateRequest(
  meterKey: KeyPair,
  meterId: string,
  pseudonymAddress: string,
  o: CertificateRequestOptions = {},
): CertificateRequest {
  const unsigned: UnsignedCertificateRequest = {
    meterId,
    address: pseudonymAddress,
    date: typeof o.date === 'string' ? o.date : (o.date ?? new Date()).toISOString(),
    nonce: o.nonce ?? randomBytes(16).toString('base64url'),
  };
  const signature = signBytes(meterKey, certificateRequestSigningBytes(unsigned)).toString('base64');
  return { ...unsigned, signature };
}

/** true iff the request's signature is by `meterPublicKey`. Schema is checked elsewhere. */
export function verifyCertificateRequest(req: CertificateRequest, meterPublicKey: KeyObject): boolean {
  return verifyBytes(meterPublicKey, certificateRequestSigningBytes(req), Buffer.from(req.signature, 'base64'));
}
