/**
 * ConnectionGuard wraps every client connection (TCP, TLS or WebSocket stream) before
 * aedes sees it, for two limits aedes does not have:
 *
 * In: max MQTT packet size. It reads the fixed header of every packet as bytes flow by
 * — type byte, then the 1–4 byte "remaining length" [MQTT-2.2.3] — without copying or
 * parsing the body. A packet larger than the limit destroys the connection before its
 * body is buffered, so a client cannot make the broker hold a 256 MB packet. Until the
 * login succeeds the limit is `preAuthLimit` (a CONNECT is small); the broker raises it
 * after login.
 *
 * Out: slow consumers. aedes waits for 'drain' on a full socket while holding one of its
 * shared delivery slots, so one subscriber that stops reading stalls delivery to every
 * client. The guard accepts writes at once and lets the socket buffer them up to
 * `maxBufferedBytes`; a connection whose backlog passes that is closed (SLOW_CONSUMER).
 */
import { Duplex } from 'node:stream';

export class PacketTooLargeError extends Error {
  readonly code = 'PACKET_TOO_LARGE';
  constructor(readonly bytes: number, readonly limit: number) {
    super(`PACKET_TOO_LARGE bytes=${bytes} limit=${limit}`);
  }
}

export class MalformedLengthError extends Error {
  readonly code = 'MALFORMED_LENGTH';
  constructor() {
    super('MALFORMED_LENGTH remaining length longer than 4 bytes');
  }
}

export class SlowConsumerError extends Error {
  readonly code = 'SLOW_CONSUMER';
  constructor(readonly buffered: number, readonly limit: number) {
    super(`SLOW_CONSUMER buffered=${buffered} limit=${limit}`);
  }
}

const HEADER = 0;
const LENGTH = 1;
const BODY = 2;

/** Incremental scanner of MQTT packet boundaries; pure state machine over chunks. */
export class PacketSizeScanner {
  private state = HEADER;
  private value = 0;
  private mult = 1;
  private lengthBytes = 0;
  private remaining = 0;
  /** packets whose header has been fully read */
  packets = 0;

  constructor(public limit: number) {}

  /** Returns an error for the first packet that breaks the limit, else undefined. */
  scan(chunk: Uint8Array): Error | undefined {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === BODY) {
        const skip = Math.min(this.remaining, n - i);
        i += skip;
        this.remaining -= skip;
        if (this.remaining === 0) this.state = HEADER;
      } else if (this.state === HEADER) {
        i++;
        this.state = LENGTH;
        this.value = 0;
        this.mult = 1;
        this.lengthBytes = 0;
      } else {
        const b = chunk[i++]!;
        this.value += (b & 0x7f) * this.mult;
        this.mult *= 128;
        this.lengthBytes++;
        const total = 1 + this.lengthBytes + this.value;
        if (total > this.limit) return new PacketTooLargeError(total, this.limit);
        if (b & 0x80) {
          if (this.lengthBytes >= 4) return new MalformedLengthError();
          continue;
        }
        this.packets++;
        this.remaining = this.value;
        this.state = this.remaining > 0 ? BODY : HEADER;
      }
    }
    return undefined;
  }
}

export interface ConnectionGuardOptions {
  /** largest packet after login, bytes */
  limit: number;
  /** largest packet before login, bytes (default: limit) */
  preAuthLimit?: number;
  /** outgoing backlog that closes the connection, bytes (default 8 MiB) */
  maxBufferedBytes?: number;
  remoteAddress?: string;
}

export class ConnectionGuard extends Duplex {
  private readonly scanner: PacketSizeScanner;
  private readonly inner: Duplex;
  private readonly fullLimit: number;
  private maxBuffered: number;
  /** remote address of the underlying socket, for logs */
  readonly remoteAddress: string | undefined;

  constructor(inner: Duplex, opts: ConnectionGuardOptions) {
    super({ allowHalfOpen: false });
    this.inner = inner;
    this.fullLimit = opts.limit;
    this.maxBuffered = opts.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.scanner = new PacketSizeScanner(Math.min(opts.preAuthLimit ?? opts.limit, opts.limit));
    this.remoteAddress = opts.remoteAddress ?? (inner as { remoteAddress?: string }).remoteAddress;
    inner.on('data', (chunk: Buffer) => {
      const err = this.scanner.scan(chunk);
      if (err) {
        this.emit('oversize', err);
        this.destroy(err);
        return;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err: Error) => this.destroy(err));
    inner.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  /** Raise the limit from the pre-login value to the full one; optionally set the login's backlog limit. */
  authenticated(maxBufferedBytes?: number): void {
    this.scanner.limit = this.fullLimit;
    if (maxBufferedBytes !== undefined) this.maxBuffered = maxBufferedBytes;
  }

  get limit(): number {
    return this.scanner.limit;
  }

  override _read(): void {
    this.inner.resume();
  }

  private checkBacklog(): void {
    const buffered = this.inner.writableLength;
    if (buffered > this.maxBuffered) {
      const err = new SlowConsumerError(buffered, this.maxBuffered);
      this.emit('slow', err);
      this.destroy(err);
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.inner.destroyed) return cb(new Error('CONNECTION_CLOSED'));
    this.inner.write(chunk);
    this.checkBacklog();
    cb();
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    if (this.inner.destroyed) return cb(new Error('CONNECTION_CLOSED'));
    this.inner.cork();
    for (const c of chunks) this.inner.write(c.chunk);
    this.inner.uncork();
    this.checkBacklog();
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.inner.destroyed) this.inner.destroy();
    cb(err);
  }
}
