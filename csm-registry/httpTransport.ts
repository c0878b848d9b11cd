/**
 * The HTTP transport under the registry client: node:http / node:https with a keep-alive
 * agent that caps concurrent sockets per registry (requests beyond the cap queue in the
 * agent instead of opening more connections), a whole-request timeout and a response
 * size cap enforced while reading.
 *
 * Not global fetch: on a HEM, fetch loads undici and compiles its WebAssembly HTTP parser,
 * about 10 MB of resident memory for a few requests a day; on a broker, unbounded fetch
 * calls under a login storm opened one socket per lookup until file descriptors ran out.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxResponseBytes: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** kind: 'timeout' | 'unreachable' | 'too-large' (with `bytes` when the length was declared) */
export class HttpTransportError extends Error {
  readonly kind: 'timeout' | 'unreachable' | 'too-large';
  readonly bytes: number | undefined;
  /** the HTTP status when a response had begun, else 0 */
  readonly status: number;
  /** the request went out on a reused keep-alive socket that the server had closed */
  readonly staleSocket: boolean;
  constructor(kind: HttpTransportError['kind'], message: string, o: { bytes?: number; status?: number; staleSocket?: boolean } = {}) {
    super(message);
    this.name = 'HttpTransportError';
    this.kind = kind;
    this.bytes = o.bytes;
    this.status = o.status ?? 0;
    this.staleSocket = o.staleSocket ?? false;
  }
}

export type HttpTransport = (req: HttpRequest) => Promise<HttpResponse>;

export interface HttpTransportOptions {
  /** concurrent sockets per host; further requests wait for a free one (default 8) */
  maxSockets?: number;
  /** keep idle sockets for reuse (default true) */
  keepAlive?: boolean;
}

export function createHttpTransport(o: HttpTransportOptions = {}): HttpTransport {
  const agentOptions = { keepAlive: o.keepAlive ?? true, maxSockets: o.maxSockets ?? 8, maxFreeSockets: 2, scheduling: 'lifo' as const };
  let http: HttpAgent | undefined;
  let https: HttpsAgent | undefined;
  return (req) => {
    const url = new URL(req.url);
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') return Promise.reject(new HttpTransportError('unreachable', `unsupported protocol ${url.protocol}`));
    const agent = secure ? (https ??= new HttpsAgent(agentOptions)) : (http ??= new HttpAgent(agentOptions));
    const request = secure ? httpsRequest : httpRequest;
    // a kept-alive socket the server closed just as we reused it: a GET is sent once more
    // on a fresh socket (the race the Node.js docs describe under request.reusedSocket)
    return send(request, agent, url, req).catch((err: unknown) =>
      err instanceof HttpTransportError && err.staleSocket && req.method === 'GET' ? send(request, agent, url, req) : Promise.reject(err),
    );
  };
}

/** One shared transport per process (HEM, CLI): a handful of sockets at most. */
export const defaultHttpTransport: HttpTransport = createHttpTransport();

function send(
  request: typeof httpRequest,
  agent: HttpAgent,
  url: URL,
  req: HttpRequest,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: HttpTransportError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      r.destroy();
      reject(err);
    };
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    const r = request(url, { method: req.method, headers, agent });
    const timer = setTimeout(() => fail(new HttpTransportError('timeout', `no answer within ${req.timeoutMs} ms`)), req.timeoutMs);
    let answered = false;
    r.on('error', (err: NodeJS.ErrnoException) =>
      fail(new HttpTransportError('unreachable', err.code ?? err.message, {
        staleSocket: r.reusedSocket && !answered && (err.code === 'ECONNRESET' || err.code === 'EPIPE'),
      })),
    );
    r.on('response', (res) => {
      answered = true;
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > req.maxResponseBytes) {
        res.resume();
        fail(new HttpTransportError('too-large', `response of ${declared} bytes`, { bytes: declared, status: res.statusCode ?? 0 }));
        return;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > req.maxResponseBytes) fail(new HttpTransportError('too-large', `response over ${req.maxResponseBytes} bytes`, { status: res.statusCode ?? 0 }));
        else chunks.push(chunk);
      });
      res.on('error', (err: Error) => fail(new HttpTransportError('unreachable', err.message)));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    r.end(req.body);
  });
}
