import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { MalformedLengthError, ConnectionGuard, PacketSizeScanner, PacketTooLargeError } from '../connectionGuard.js';

/** An MQTT packet with the given body length: type byte, remaining length, body. */
function packet(bodyLength: number, type = 0x30): Buffer {
  const len: number[] = [];
  let x = bodyLength;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    len.push(b);
  } while (x > 0);
  return Buffer.concat([Buffer.from([type, ...len]), Buffer.alloc(bodyLength, 0x61)]);
}

function chunks(buf: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

test('scanner: counts packets across any chunking and stops at the first one over the limit', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), fc.integer({ min: 2, max: 320 }), (sizes, cuts, limit) => {
      const stream = Buffer.concat(sizes.map((s) => packet(s)));
      const s = new PacketSizeScanner(limit);
      let err: Error | undefined;
      for (const c of chunks(stream, cuts)) {
        err = s.scan(c);
        if (err) break;
      }
      const firstBad = sizes.findIndex((b) => packet(b).length > limit);
      if (firstBad === -1) {
        assert.equal(err, undefined);
        assert.equal(s.packets, sizes.length);
      } else {
        assert.ok(err instanceof PacketTooLargeError, String(err));
        assert.equal(s.packets, firstBad, 'detected while reading the length, before the body');
      }
    }),
    { numRuns: 2000, seed: 11 },
  );
});

test('scanner: a remaining length over 4 bytes is malformed; a huge declared length is refused before any body', () => {
  assert.ok(new PacketSizeScanner(1e12).scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])) instanceof MalformedLengthError);
  const s = new PacketSizeScanner(1024);
  const err = s.scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
  assert.ok(err instanceof PacketTooLargeError);
});

function fakeConnection(): { inner: Duplex; written: Buffer[] } {
  const written: Buffer[] = [];
  const inner = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      cb();
    },
  });
  return { inner, written };
}

test('guard: passes bytes through both ways; raises the limit after login; destroys on oversize', async () => {
  const { inner, written } = fakeConnection();
  const g = new ConnectionGuard(inner, { limit: 1000, preAuthLimit: 100 });
  const got: Buffer[] = [];
  g.on('data', (d: Buffer) => got.push(d));
  inner.push(packet(50));
  g.write(Buffer.from('out'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(Buffer.concat(got), packet(50));
  assert.deepEqual(Buffer.concat(written), Buffer.from('out'));

  g.authenticated();
  assert.equal(g.limit, 1000);
  inner.push(packet(500));
  await new Promise((r) => setImmediate(r));
  assert.equal(Buffer.concat(got).length, packet(50).length + packet(500).length);

  const oversize = new Promise<Error>((resolve) => g.once('oversize', resolve));
  const closed = new Promise<void>((resolve) => g.once('close', () => resolve()));
  g.on('error', () => {});
  inner.push(packet(2000).subarray(0, 10));
  assert.ok((await oversize) instanceof PacketTooLargeError);
  await closed;
  assert.ok(inner.destroyed, 'the underlying connection is closed too');
});

test('guard: before login the small limit applies', async () => {
  const { inner } = fakeConnection();
  const g = new ConnectionGuard(inner, { limit: 1000, preAuthLimit: 100 });
  g.on('error', () => {});
  const oversize = new Promise<Error>((resolve) => g.once('oversize', resolve));
  inner.push(packet(200));
  assert.match((await oversize).message, /PACKET_TOO_LARGE bytes=203 limit=100/);
});

test('guard: writes never wait for drain; a backlog over maxBufferedBytes closes the connection', async () => {
  const stuck = new Duplex({ read() {}, write(_c, _e, _cb) { /* the peer never reads */ } });
  const g = new ConnectionGuard(stuck, { limit: 1000, maxBufferedBytes: 64 * 1024 });
  g.on('error', () => {});
  const slow = new Promise<Error>((resolve) => g.once('slow', resolve));
  let accepted = 0;
  for (let i = 0; i < 20; i++) {
    if (g.destroyed) break;
    if (g.write(Buffer.alloc(4096))) accepted++;
  }
  assert.ok(accepted >= 15, `writes were accepted without waiting (${accepted})`);
  for (let i = 0; i < 20 && !g.destroyed; i++) g.write(Buffer.alloc(4096));
  assert.match((await slow).message, /SLOW_CONSUMER buffered=\d+ limit=65536/);
  assert.ok(stuck.destroyed);
});
