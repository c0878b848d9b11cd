/**
 * MQTT login token (DESIGN §4): username = meter id, password = a fresh token signed
 * by the meter key.
 *
 *   token = "v1." + ts + "." + nonce + "." + base64url(Ed25519(meterKey, "tmi-login:v1:" + meterId + ":" + ts + ":" + nonce))
 *
 * ts is the signing time in ms since the epoch; nonce is 96 random bits (base64url).
 * A receiver accepts a token whose ts is within ±maxSkewMs of its clock and whose nonce
 * it has not seen within that window.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { signBytes, verifyBytes, type KeyPair } from './keys.js';

export type LoginTokenError = 'TOKEN_MALFORMED' | 'TOKEN_EXPIRED' | 'TOKEN_BAD_SIGNATURE' | 'TOKEN_REPLAYED';

/** The bytes the meter key signs: UTF-8 of `tmi-login:v1:<meterId>:<ts>:<nonce>`. */
export function loginTokenMessage(meterId: string, ts: string, nonce: string): Buffer {
  return Buffer.from(`tmi-login:v1:${meterId}:${ts}:${nonce}`, 'utf8');
}
const message = loginTokenMessage;

const NONCE_RE = /^[A-Za-z0-9_-]{16}$/;

/** `nonce`: 16 base64url characters (12 bytes); default random. Fixed only in test vectors. */
export function makeLoginToken(meterKey: KeyPair, meterId: string, now = Date.now(), nonce = randomBytes(12).toString('base64url')): string {
  if (!NONCE_RE.test(nonce) || Buffer.from(nonce, 'base64url').toString('base64url') !== nonce) {
    throw new Error(`BAD_NONCE nonce=${nonce} expected=16 base64url characters`);
  }
  const ts = String(Math.floor(now));
  const sig = signBytes(meterKey, message(meterId, ts, nonce)).toString('base64url');
  return `v1.${ts}.${nonce}.${sig}`;
}

// canonical base64url only: the nonce's 16 characters are exactly 12 bytes; the signature's
// last character carries 2 bits and 4 zero bits, so only A, Q, g or w may stand there
export const LOGIN_TOKEN_PATTERN = /^v1\.([0-9]{1,15})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{85}[AQgw])$/;
const TOKEN_RE = LOGIN_TOKEN_PATTERN;

/** Returns undefined when the token is good, else the reason. Does not check replay. */
export function checkLoginToken(
  token: string,
  meterId: string,
  publicKey: KeyObject,
  now = Date.now(),
  maxSkewMs = 60_000,
): LoginTokenError | undefined {
  if (token.length > 200) return 'TOKEN_MALFORMED';
  const m = TOKEN_RE.exec(token);
  if (!m) return 'TOKEN_MALFORMED';
  const [, ts, nonce, sig] = m as unknown as [string, string, string, string];
  if (Math.abs(Number(ts) - now) > maxSkewMs) return 'TOKEN_EXPIRED';
  if (!verifyBytes(publicKey, message(meterId, ts, nonce), Buffer.from(sig, 'base64url'))) return 'TOKEN_BAD_SIGNATURE';
  return undefined;
}

/**
 * Remembers tokens for the skew window so a captured token cannot be reused. Keyed on what
 * the signature covers (version, ts, nonce), never on the token's text: a re-encoded copy
 * of the same signature is the same token.
 */
export class TokenReplayCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs = 120_000) {}
  /** true if fresh (and records it), false if seen before */
  remember(token: string, now = Date.now()): boolean {
    if (this.seen.size > 10_000) for (const [k, t] of this.seen) if (now - t > this.windowMs) this.seen.delete(k);
    const key = token.split('.').slice(0, 3).join('.');
    if (this.seen.has(key)) return false;
    this.seen.set(key, now);
    return true;
  }
}
