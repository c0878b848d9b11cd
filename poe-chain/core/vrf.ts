/**
 * ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381, suite 0x03): a verifiable random function
 * over the chain's own Ed25519 keys. Only the holder of a secret key can compute
 * beta = VRF(sk, alpha); anyone with the public key checks it from the 80-byte proof pi.
 * Unlike an Ed25519 signature, the output is UNIQUE: for one key and one alpha there is
 * exactly one beta that verifies, so a producer cannot grind it by re-signing.
 *
 * Used by [SEED] (README "Election"): the first block of each epoch carries the
 * producer's proof over (genesis hash ‖ epoch ‖ previous seed).
 *
 * Plain BigInt arithmetic on extended twisted-Edwards coordinates (RFC 8032 §5.1.4);
 * checked byte for byte against the RFC 9381 Appendix B.3 vectors
 * (test/vrf.test.ts). Not constant-time: a producer computes one proof per epoch.
 */
import { createHash } from 'node:crypto';

const P = 2n ** 255n - 19n;
const Q = 2n ** 252n + 27742317777372353535851937790883648493n;
const D = mod(-121665n * inv(121666n));
const D2 = mod(2n * D);
const SQRT_M1 = pow(2n, (P - 1n) / 4n);
const SUITE = 0x03;

interface Point { X: bigint; Y: bigint; Z: bigint; T: bigint }

const BASE: Point = affine(
  15112221349535400772501151409588531511454012693041857206046113283949847762202n,
  46316835694926478169428394003475163141307993866256225615783033603165251855960n,
);
const IDENTITY: Point = { X: 0n, Y: 1n, Z: 1n, T: 0n };

function mod(a: bigint, m = P): bigint {
  const r = a % m;
  return r >= 0n ? r : r + m;
}
function pow(b: bigint, e: bigint, m = P): bigint {
  let r = 1n;
  b = mod(b, m);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}
function inv(a: bigint): bigint {
  return pow(a, P - 2n);
}
function affine(x: bigint, y: bigint): Point {
  return { X: x, Y: y, Z: 1n, T: mod(x * y) };
}

/** RFC 8032 §5.1.4 unified addition (also doubles). */
function add(a: Point, b: Point): Point {
  const A = mod((a.Y - a.X) * (b.Y - b.X));
  const B = mod((a.Y + a.X) * (b.Y + b.X));
  const C = mod(a.T * D2 * b.T);
  const Dd = mod(a.Z * 2n * b.Z);
  const E = B - A, F = Dd - C, G = Dd + C, H = B + A;
  return { X: mod(E * F), Y: mod(G * H), T: mod(E * H), Z: mod(F * G) };
}
function negate(a: Point): Point {
  return { X: mod(-a.X), Y: a.Y, Z: a.Z, T: mod(-a.T) };
}
function mul(s: bigint, pt: Point): Point {
  let r = IDENTITY;
  let q = pt;
  while (s > 0n) {
    if (s & 1n) r = add(r, q);
    q = add(q, q);
    s >>= 1n;
  }
  return r;
}
function isIdentity(a: Point): boolean {
  return mod(a.X) === 0n && mod(a.Y - a.Z) === 0n;
}
function clearCofactor(a: Point): Point {
  return mul(8n, a);
}

function leInt(b: Uint8Array): bigint {
  let r = 0n;
  for (let i = b.length - 1; i >= 0; i--) r = (r << 8n) | BigInt(b[i]!);
  return r;
}
function intLe(n: bigint, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** RFC 8032 §5.1.2 point encoding. */
function encode(a: Point): Buffer {
  const zi = inv(a.Z);
  const x = mod(a.X * zi);
  const y = mod(a.Y * zi);
  const out = intLe(y, 32);
  if (x & 1n) out[31]! |= 0x80;
  return out;
}

/** RFC 8032 §5.1.3 point decoding; undefined when the bytes are not a point. */
function decode(b: Uint8Array): Point | undefined {
  if (b.length !== 32) return undefined;
  const bytes = Buffer.from(b);
  const sign = bytes[31]! >> 7;
  bytes[31]! &= 0x7f;
  const y = leInt(bytes);
  if (y >= P) return undefined;
  const y2 = mod(y * y);
  const u = mod(y2 - 1n);
  const v = mod(D * y2 + 1n);
  const v3 = mod(v * v * v);
  let x = mod(u * v3 * pow(u * v3 * v3 * v, (P - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === u) {
    // root found
  } else if (vx2 === mod(-u)) {
    x = mod(x * SQRT_M1);
  } else {
    return undefined;
  }
  if (x === 0n && sign === 1) return undefined;
  if (Number(x & 1n) !== sign) x = mod(-x);
  return affine(x, y);
}

function sha512(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** RFC 9381 §5.4.1.1 encode_to_curve by try-and-increment, salt = the public key string. */
function encodeToCurve(pk: Uint8Array, alpha: Uint8Array): Point {
  for (let ctr = 0; ctr < 256; ctr++) {
    const h = sha512(Uint8Array.of(SUITE, 0x01), pk, alpha, Uint8Array.of(ctr, 0x00));
    const pt = decode(h.subarray(0, 32));
    if (pt !== undefined) return clearCofactor(pt);
  }
  throw new Error('VRF encode_to_curve failed'); // probability 2^-256
}

function challenge(points: Point[]): bigint {
  const c = sha512(Uint8Array.of(SUITE, 0x02), ...points.map(encode), Uint8Array.of(0x00));
  return leInt(c.subarray(0, 16));
}

/** The secret scalar and nonce key of an Ed25519 seed (RFC 8032 §5.1.5). */
function expandSeed(seed: Uint8Array): { x: bigint; prefix: Buffer } {
  const h = sha512(seed);
  const a = Buffer.from(h.subarray(0, 32));
  a[0]! &= 248;
  a[31]! &= 127;
  a[31]! |= 64;
  return { x: leInt(a), prefix: h.subarray(32) };
}

/** The 32-byte public key of an Ed25519 seed (same as node:crypto's). */
export function vrfPublicKey(seed: Uint8Array): Buffer {
  return encode(mul(expandSeed(seed).x, BASE));
}

/** pi (80 bytes) for alpha under the secret seed. */
export function vrfProve(seed: Uint8Array, alpha: Uint8Array): Buffer {
  const { x, prefix } = expandSeed(seed);
  const Y = encode(mul(x, BASE));
  const H = encodeToCurve(Y, alpha);
  const hString = encode(H);
  const gamma = mul(x, H);
  const k = mod(leInt(sha512(prefix, hString)), Q);
  const c = challenge([decode(Y)!, H, gamma, mul(k, BASE), mul(k, H)]);
  const s = mod(k + c * x, Q);
  return Buffer.concat([encode(gamma), intLe(c, 16), intLe(s, 32)]);
}

/** beta (64 bytes) of a proof, without checking it. */
export function vrfProofToHash(pi: Uint8Array): Buffer | undefined {
  const gamma = pi.length === 80 ? decode(pi.subarray(0, 32)) : undefined;
  if (gamma === undefined) return undefined;
  return sha512(Uint8Array.of(SUITE, 0x03), encode(clearCofactor(gamma)), Uint8Array.of(0x00));
}

/** beta (64 bytes) when pi is the proof of alpha under the public key, else undefined. */
export function vrfVerify(publicKey: Uint8Array, alpha: Uint8Array, pi: Uint8Array): Buffer | undefined {
  const Y = decode(publicKey);
  if (Y === undefined || isIdentity(clearCofactor(Y))) return undefined; // ECVRF_validate_key
  if (pi.length !== 80) return undefined;
  const gamma = decode(pi.subarray(0, 32));
  if (gamma === undefined) return undefined;
  const c = leInt(pi.subarray(32, 48));
  const s = leInt(pi.subarray(48, 80));
  if (s >= Q) return undefined;
  const H = encodeToCurve(publicKey, alpha);
  const U = add(mul(s, BASE), negate(mul(c, Y)));
  const V = add(mul(s, H), negate(mul(c, gamma)));
  if (challenge([Y, H, gamma, U, V]) !== c) return undefined;
  return vrfProofToHash(pi);
}
