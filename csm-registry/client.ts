/**
 * A small typed HTTP client of the registry API, for the broker, the HEM and the CLI, over
 * node:http with a keep-alive agent and a bounded number of sockets (httpTransport.ts). Every response is schema-checked; every failure is a
 * RegistryClientError with a code and the HTTP status (0 when no response came).
 */
import type { ValidateFunction } from 'ajv';
import type { Certificate, SignedFeederLimit } from '../schemas/types.js';
import { formatCoded, type ErrorContext } from '../wire/errors.js';
import type { KeyPair } from '../wire/keys.js';
import { checkCertificate } from './certificate.js';
import { checkFeederLimit } from './feederLimitRecord.js';
import { signCertificateRequest, type CertificateRequestOptions } from './certificateRequest.js';
import type {
  AuditPage, ChainInfo, EnrollRequest, FeederLimits, FeederList, Health, MeterPage, MeterRecord, PseudonymRecord, RegistryKeyInfo,
  Whoami,
  RevocationPage,
} from './registrySchemas.js';
import { validators } from './registryValidators.js';
import { defaultHttpTransport, HttpTransportError, type HttpResponse, type HttpTransport } from './httpTransport.js';

export interface RegistryClientOptions {
  /** base URL, e.g. http://127.0.0.1:8470 */
  url: string;
  /** bearer token: the admin token (every endpoint) or the directory token (the broker's read-only look-ups) */
  adminToken?: string;
  /** recorded as the actor in the registry's audit log (X-TMI-Operator) */
  operator?: string;
  /** per request, default 10 s */
  timeoutMs?: number;
  /** largest response accepted, default 8 MiB */
  maxResponseBytes?: number;
  /** if set, certificates from requestCertificate and feeder limits [FEEDER-1] must verify against this registry key */
  registryPublicKey?: string;
  /** default: one keep-alive transport per process (8 sockets per registry at most) */
  transport?: HttpTransport;
}

/** `code` is the registry's error code (e.g. NOT_FOUND, REVOKED, RATE_LIMITED) or one of
 *  REGISTRY_UNREACHABLE, REGISTRY_TIMEOUT, BAD_RESPONSE, RESPONSE_TOO_LARGE, BAD_CERTIFICATE, BAD_FEEDER_LIMIT. */
export class RegistryClientError extends Error {
  readonly code: string;
  readonly status: number;
  readonly context: ErrorContext;
  /** seconds, from Retry-After on a 429 */
  readonly retryAfterS: number | undefined;
  constructor(code: string, status: number, context: ErrorContext = {}, retryAfterS?: number) {
    super(formatCoded(code, { status, ...context }));
    this.name = 'RegistryClientError';
    this.code = code;
    this.status = status;
    this.context = context;
    this.retryAfterS = retryAfterS;
  }
}

type Method = 'GET' | 'POST' | 'PUT';

export class RegistryClient {
  readonly url: string;
  private readonly adminToken: string | undefined;
  private readonly operator: string | undefined;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly registryPublicKey: string | undefined;
  private readonly transport: HttpTransport;

  constructor(o: RegistryClientOptions) {
    this.url = o.url.replace(/\/+$/, '');
    this.adminToken = o.adminToken;
    this.operator = o.operator;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.maxBytes = o.maxResponseBytes ?? 8 * 1024 * 1024;
    this.registryPublicKey = o.registryPublicKey;
    this.transport = o.transport ?? defaultHttpTransport;
  }

  health(): Promise<Health> {
    return this.call('GET', '/v1/health', validators.health);
  }

  /** [BROKER-ID] the broker's error-signing key, if the registry was told it (else NOT_FOUND) */
  brokerKey(): Promise<RegistryKeyInfo> {
    return this.call('GET', '/v1/broker-key', validators.registryKey);
  }

  /** [DOMAIN-TX] the chain this registry serves (genesis hash, chain id), if it was told (else NOT_FOUND) */
  chain(): Promise<ChainInfo> {
    return this.call('GET', '/v1/chain', validators.chainInfo);
  }

  /** [ROLES] which registry credential this client's token is */
  whoami(): Promise<Whoami> {
    return this.call('GET', '/v1/whoami', validators.whoami);
  }

  registryKey(): Promise<RegistryKeyInfo> {
    return this.call('GET', '/v1/registry-key', validators.registryKey);
  }

  /** Throws NOT_FOUND (404) for an unknown meter. */
  getMeter(meterId: string): Promise<MeterRecord> {
    return this.call('GET', `/v1/meters/${encodeURIComponent(meterId)}`, validators.meterRecord);
  }

  /** Like getMeter, but undefined for an unknown meter. */
  async findMeter(meterId: string): Promise<MeterRecord | undefined> {
    return notFoundAsUndefined(this.getMeter(meterId));
  }

  listMeters(o: { limit?: number; after?: string } = {}): Promise<MeterPage> {
    return this.call('GET', `/v1/meters${query({ limit: o.limit, after: o.after })}`, validators.meterPage);
  }

  /** Every meter, page by page. */
  async *meters(pageSize = 500): AsyncGenerator<MeterRecord> {
    let after: string | undefined;
    do {
      const page = await this.listMeters(after === undefined ? { limit: pageSize } : { limit: pageSize, after });
      yield* page.items;
      after = page.next;
    } while (after !== undefined);
  }

  async enroll(req: EnrollRequest): Promise<MeterRecord> {
    const r = await this.call<{ meter: MeterRecord }>('POST', '/v1/meters', validators.meterResponse, req);
    return r.meter;
  }

  async revoke(meterId: string, reason: string): Promise<MeterRecord> {
    const r = await this.call<{ meter: MeterRecord }>('POST', `/v1/meters/${encodeURIComponent(meterId)}/revoke`, validators.meterResponse, {
      reason,
    });
    return r.meter;
  }

  /** Revocations with seq > since; pass the returned `last` next time. */
  revocationsSince(since = 0, limit?: number): Promise<RevocationPage> {
    return this.call('GET', `/v1/revocations${query({ since, limit })}`, validators.revocationPage);
  }

  /**
   * Asks for a certificate of `pseudonymAddress`, signing the request with the meter
   * key. The certificate's address must be the one asked for, and, when the client knows
   * the registry key, its signature must verify.
   */
  async requestCertificate(
    meterKey: KeyPair,
    meterId: string,
    pseudonymAddress: string,
    o: CertificateRequestOptions = {},
  ): Promise<Certificate> {
    const body = signCertificateRequest(meterKey, meterId, pseudonymAddress, o);
    const cert = await this.call<Certificate>('POST', '/v1/certificates', validators.certificate, body);
    if (cert.address !== pseudonymAddress) {
      throw new RegistryClientError('BAD_CERTIFICATE', 201, { reason: 'address mismatch', address: cert.address });
    }
    if (this.registryPublicKey !== undefined) {
      const problem = checkCertificate(cert, this.registryPublicKey);
      if (problem) throw new RegistryClientError('BAD_CERTIFICATE', 201, { reason: problem });
    }
    return cert;
  }

  /** The pseudonym ↔ meter audit link (admin). Throws NOT_FOUND (404) for an unknown address. */
  pseudonym(address: string): Promise<PseudonymRecord> {
    return this.call('GET', `/v1/pseudonyms/${encodeURIComponent(address)}`, validators.pseudonymRecord);
  }

  async findPseudonym(address: string): Promise<PseudonymRecord | undefined> {
    return notFoundAsUndefined(this.pseudonym(address));
  }

  /** [FEEDER-1] every feeder's limits, signed by the registry (verified when the client knows the registry key). */
  async feeders(): Promise<SignedFeederLimit[]> {
    const r = await this.call<FeederList>('GET', '/v1/feeders', validators.feederList);
    for (const l of r.items) this.checkFeederLimit(l, 200);
    return r.items;
  }

  /** [FEEDER-1] sets a feeder's limits (admin); the reply is the new record the registry signed. */
  async setFeeder(feeder: string, limits: FeederLimits): Promise<SignedFeederLimit> {
    const l = await this.call<SignedFeederLimit>('PUT', `/v1/feeders/${encodeURIComponent(feeder)}`, validators.signedFeederLimit, limits);
    if (l.feeder !== feeder) throw new RegistryClientError('BAD_FEEDER_LIMIT', 200, { reason: 'feeder mismatch', feeder: l.feeder });
    this.checkFeederLimit(l, 200);
    return l;
  }

  private checkFeederLimit(l: SignedFeederLimit, status: number): void {
    if (this.registryPublicKey === undefined) return;
    const problem = checkFeederLimit(l, this.registryPublicKey);
    if (problem) throw new RegistryClientError('BAD_FEEDER_LIMIT', status, { reason: problem, feeder: l.feeder });
  }

  audit(o: { after?: number; limit?: number } = {}): Promise<AuditPage> {
    return this.call('GET', `/v1/audit${query({ after: o.after, limit: o.limit })}`, validators.auditPage);
  }

  private async call<T>(method: Method, path: string, validate: ValidateFunction, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.adminToken !== undefined) headers.authorization = `Bearer ${this.adminToken}`;
    if (this.operator !== undefined) headers['x-tmi-operator'] = this.operator;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: HttpResponse;
    try {
      res = await this.transport({
        method,
        url: this.url + path,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        timeoutMs: this.timeoutMs,
        maxResponseBytes: this.maxBytes,
      });
    } catch (err) {
      if (!(err instanceof HttpTransportError)) throw err;
      if (err.kind === 'timeout') throw new RegistryClientError('REGISTRY_TIMEOUT', 0, { url: this.url, path, timeoutMs: this.timeoutMs });
      if (err.kind === 'too-large') {
        throw new RegistryClientError('RESPONSE_TOO_LARGE', err.status, { path, ...(err.bytes !== undefined ? { bytes: err.bytes } : {}), limit: this.maxBytes });
      }
      throw new RegistryClientError('REGISTRY_UNREACHABLE', 0, { url: this.url, path, reason: err.message });
    }
    let value: unknown;
    try {
      value = res.body.length > 0 ? JSON.parse(res.body) : undefined;
    } catch {
      value = undefined;
    }
    if (res.status < 200 || res.status > 299) {
      const retry = res.headers['retry-after'];
      const retryAfterS = typeof retry === 'string' && /^[0-9]{1,9}$/.test(retry) ? Number(retry) : undefined;
      if (validators.errorResponse(value)) {
        const { code, message } = (value as { error: { code: string; message: string } }).error;
        throw new RegistryClientError(code, res.status, { path, message }, retryAfterS);
      }
      throw new RegistryClientError(`HTTP_${res.status}`, res.status, { path }, retryAfterS);
    }
    if (!validate(value)) {
      const err = validate.errors?.[0];
      throw new RegistryClientError('BAD_RESPONSE', res.status, { path, at: err?.instancePath ?? '/', reason: err?.message });
    }
    return value as T;
  }
}

export function createRegistryClient(o: RegistryClientOptions): RegistryClient {
  return new RegistryClient(o);
}

function query(q: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) if (v !== undefined) parts.push(`${k}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

async function notFoundAsUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof RegistryClientError && err.status === 404 && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}
