import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { createHttpTransport, HttpTransportError } from '../httpTransport.js';

test('http transport: at most maxSockets connections; further requests queue and all complete', async () => {
  let open = 0;
  let peak = 0;
  let connections = 0;
  const server = createHttpServer((req, res) => {
    setTimeout(() => res.end(JSON.stringify({ url: req.url })), 5);
  });
  server.on('connection', (s) => {
    connections++;
    peak = Math.max(peak, ++open);
    s.on('close', () => open--);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const send = createHttpTransport({ maxSockets: 3 });
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => send({ method: 'GET', url: `${url}/r${i}`, timeoutMs: 10_000, maxResponseBytes: 1024 })),
    );
    assert.deepEqual(answers.map((a) => JSON.parse(a.body).url), Array.from({ length: 60 }, (_, i) => `/r${i}`));
    assert.ok(answers.every((a) => a.status === 200));
    assert.ok(peak <= 3, `peak concurrent connections ${peak}`);
    assert.ok(connections <= 3, `connections opened ${connections} (kept alive and reused)`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('http transport: a response cut short, a server that never answers, a wrong protocol', async () => {
  const raw = createServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"trunc'));
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  const silent = createServer((s) => s.resume()); // reads, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const send = createHttpTransport();
  const kind = (p: Promise<unknown>) =>
    p.then(
      () => 'resolved',
      (e: unknown) => (e instanceof HttpTransportError ? e.kind : String(e)),
    );
  try {
    assert.equal(await kind(send({ method: 'GET', url: `http://127.0.0.1:${(raw.address() as AddressInfo).port}/`, timeoutMs: 2000, maxResponseBytes: 1024 })), 'unreachable');
    assert.equal(await kind(send({ method: 'GET', url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, timeoutMs: 150, maxResponseBytes: 1024 })), 'timeout');
    assert.equal(await kind(send({ method: 'GET', url: 'ftp://127.0.0.1/', timeoutMs: 150, maxResponseBytes: 1024 })), 'unreachable');
  } finally {
    await new Promise<void>((r) => raw.close(() => r()));
    await new Promise<void>((r) => silent.close(() => r()));
  }
});

test('http transport: a GET on a kept-alive socket the server drops is sent once more on a fresh one; a POST is not', async () => {
  let connections = 0;
  const sockets = new Set<import('node:net').Socket>();
  const raw = createServer((s) => {
    sockets.add(s);
    const n = ++connections;
    let requests = 0;
    s.on('data', () => {
      requests++;
      // connection 1 answers its first request, then drops the kept-alive socket on the next
      if (n === 1 && requests === 2) return void s.resetAndDestroy();
      s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${String(n).length + 2}\r\nconnection: keep-alive\r\n\r\n[${n}]`);
    });
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/`;
  const send = createHttpTransport({ maxSockets: 1 });
  const get = () => send({ method: 'GET', url, timeoutMs: 2000, maxResponseBytes: 1024 });
  try {
    assert.equal((await get()).body, '[1]');
    assert.equal((await get()).body, '[2]', 'retried on a second connection');
    assert.equal(connections, 2);
    // the same drop under a POST is reported, not repeated (it may have been applied)
    connections = 0;
    const send2 = createHttpTransport({ maxSockets: 1 });
    assert.equal((await send2({ method: 'GET', url, timeoutMs: 2000, maxResponseBytes: 1024 })).body, '[1]');
    await assert.rejects(send2({ method: 'POST', url, body: '{}', timeoutMs: 2000, maxResponseBytes: 1024 }), (e: unknown) => e instanceof HttpTransportError && e.kind === 'unreachable' && e.staleSocket);
    assert.equal(connections, 1);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => raw.close(() => r()));
  }
});
