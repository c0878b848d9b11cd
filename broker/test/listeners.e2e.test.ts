/** TLS (certificates made with openssl at test time) and WebSocket listeners. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { createMemoryDirectory } from '../meterDirectory.js';
import { createTmiBroker } from '../createTmiBroker.js';
import { enrollMeter, Inbox, loginOptions, signedBid } from './brokerFixtures.js';
import { requireComponent, skipWithout } from '../../testkit/osComponents.js';

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`OPENSSL_FAILED args=${args.join(' ')} stderr=${r.stderr}`);
}

/** A throw-away CA and a server certificate for localhost / 127.0.0.1. */
function makeCertificates(dir: string): { ca: Buffer; key: Buffer; cert: Buffer } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=tmi-test-ca']);
  openssl(dir, ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'ext.cnf']);
  return { ca: readFileSync(join(dir, 'ca.crt')), key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.crt')) };
}

test('TLS: a client verifying the test CA connects with mqtts:// and exchanges a signed bid', { skip: skipWithout('openssl') }, async () => {
  requireComponent('openssl');
  const dir = mkdtempSync(join(tmpdir(), 'tmi-broker-tls-'));
  const dirDb = createMemoryDirectory();
  try {
    const { ca, key, cert } = makeCertificates(dir);
    const broker = await createTmiBroker({ directory: dirDb, listeners: { mqtts: { port: 0, key, cert } } });
    const m = enrollMeter(dirDb, 'meter-tls');
    const agg = enrollMeter(dirDb, 'agg-tls', 'aggregator');
    const url = `mqtts://localhost:${broker.ports.mqtts}`;
    try {
      const sub = await connectAsync(url, loginOptions(agg, { ca, rejectUnauthorized: true }));
      const pub = await connectAsync(url, loginOptions(m, { ca, rejectUnauthorized: true }));
      const bids = await Inbox.subscribe(sub, 'tmi/v1/auctions/+/bids');
      const msg = signedBid(m.pseudonym, 'T1');
      await pub.publishAsync('tmi/v1/auctions/T1/bids', msg, { qos: 1 });
      await bids.waitFor(() => bids.messages.length === 1, 5000, 'bid over TLS');
      assert.deepEqual(bids.messages[0]!.payload, msg);
      await Promise.all([sub.endAsync(), pub.endAsync()]);

      // without the CA the server certificate does not verify
      await assert.rejects(connectAsync(url, loginOptions(m, { rejectUnauthorized: true, connectTimeout: 3000 })), /self[- ]signed|unable to (get|verify)/i);
    } finally {
      await broker.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WebSocket: ws://host:port/mqtt carries the same login and messages', async () => {
  const dirDb = createMemoryDirectory();
  const broker = await createTmiBroker({ directory: dirDb, listeners: { ws: { port: 0 }, mqtt: { port: 0 } } });
  const m = enrollMeter(dirDb, 'meter-ws');
  const agg = enrollMeter(dirDb, 'agg-ws', 'aggregator');
  try {
    const sub = await connectAsync(`mqtt://127.0.0.1:${broker.ports.mqtt}`, loginOptions(agg));
    const pub = await connectAsync(`ws://127.0.0.1:${broker.ports.ws}/mqtt`, loginOptions(m));
    const bids = await Inbox.subscribe(sub, 'tmi/v1/auctions/+/bids');
    const errs = await Inbox.subscribe(pub, `tmi/v1/clients/${m.meterId}/errors`);
    const msg = signedBid(m.pseudonym, 'W1');
    await pub.publishAsync('tmi/v1/auctions/W1/bids', msg, { qos: 1 });
    await bids.waitFor(() => bids.messages.length === 1, 5000, 'bid over WebSocket');
    await pub.publishAsync('tmi/v1/auctions/W1/bids', Buffer.from('nope'), { qos: 1 });
    await errs.waitFor(() => errs.errors().length === 1, 5000, 'error over WebSocket');
    assert.equal(errs.errors()[0]!.code, 'MALFORMED_JSON');
    await Promise.all([sub.endAsync(), pub.endAsync()]);

    const res = await fetch(`http://127.0.0.1:${broker.ports.ws}/`);
    assert.equal(res.status, 426, 'plain HTTP is told to upgrade');
  } finally {
    await broker.close();
  }
});
