/**
 * Ed25519 keys, tweetnacl-compatible.
 *
 * A key pair is a 32-byte seed and a 32-byte public key; tweetnacl's 64-byte
 * secretKey is seed ‖ publicKey. Signing and verification use node:crypto, which
 * is ~60× faster than tweetnacl for verification. Addresses are the lowercase hex
 * of the 32-byte public key (DESIGN §2).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface KeyPair {
  /** 32-byte seed (the private key) */
  readonly seed: Uint8Array;
  /** 32-byte public key */
  readonly publicKey: Uint8Array;
  /** lowercase hex of publicKey */
  readonly address: string;
  /** node:crypto private key, cached for signing */
  readonly privateKeyObject: KeyObject;
}

export const ADDRESS_PATTERN = /^[0-9a-f]{64}$/;

export function isAddress(s: string): boolean {
  return ADDRESS_PATTERN.test(s);
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new Error(`BAD_KEY seed length=${seed.length} expected=32`);
  const privateKeyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKeyObject).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length));
  return { seed: new Uint8Array(seed), publicKey, address: Buffer.from(publicKey).toString('hex'), privateKeyObject };
}

export function generateKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return keyPairFromSeed(new Uint8Array(der.subarray(PKCS8_ED25519_PREFIX.length)));
}

/** tweetnacl's 64-byte secret key (seed ‖ publicKey) */
export function naclSecretKey(kp: KeyPair): Uint8Array {
  const out = new Uint8Array(64);
  out.set(kp.seed, 0);
  out.set(kp.publicKey, 32);
  return out;
}

export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== 32) throw new Error(`BAD_KEY public key length=${publicKey.length} expected=32`);
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

export function signBytes(kp: KeyPair, data: Uint8Array): Buffer {
  return sign(null, data, kp.privateKeyObject);
}

export function verifyBytes(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  return verify(null, data, key, signature);
}

/**
 * A bounded cache of verification keys by address. Building a KeyObject costs about
 * as much as a verification, so the hot path keeps them.
 */
export class PublicKeyCache {
  private readonly map = new Map<string, KeyObject>();
  constructor(private readonly maxEntries = 100_000) {}

  get(addressHex: string): KeyObject {
    let k = this.map.get(addressHex);
    if (k === undefined) {
      k = publicKeyObject(Buffer.from(addressHex, 'hex'));
      if (this.map.size >= this.maxEntries) {
        const oldest = this.map.keys().next().value;
        if (oldest !== undefined) this.map.delete(oldest);
      }
      this.map.set(addressHex, k);
    }
    return k;
  }
}

/** Key file format (JSON, written with mode 0600). */
export interface KeyFile {
  kind: 'tmi-ed25519-key';
  address: string;
  publicKey: string; // base64
  seed: string; // base64
  label?: string;
  created: string;
}

export function toKeyFile(kp: KeyPair, label?: string, now = new Date()): KeyFile {
  return {
    kind: 'tmi-ed25519-key',
    address: kp.address,
    publicKey: Buffer.from(kp.publicKey).toString('base64'),
    seed: Buffer.from(kp.seed).toString('base64'),
    ...(label !== undefined ? { label } : {}),
    created: now.toISOString(),
  };
}

export function fromKeyFile(f: unknown): KeyPair {
  const o = f as Partial<KeyFile> | null;
  if (!o || o.kind !== 'tmi-ed25519-key' || typeof o.seed !== 'string') {
    throw new Error('BAD_KEY_FILE not a tmi-ed25519-key file');
  }
  const kp = keyPairFromSeed(Buffer.from(o.seed, 'base64'));
  if (o.address !== undefined && o.address !== kp.address) {
    throw new Error(`BAD_KEY_FILE address mismatch file=${o.address} derived=${kp.address}`);
  }
  return kp;
}
