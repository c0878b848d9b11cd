import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeKeyFile } from '../../wire/keyFile.js';
import { generateKeyPair } from '../../wire/keys.js';
import { enroll, readPublicKey } from '../../cli/commands/enroll.js';

test('tmi enroll --key: key file, JSON text, hex; refuses inconsistent or foreign input', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-enroll-key-'));
  try {
    const kp = generateKeyPair();
    const file = join(dir, 'hem.json');
    await writeKeyFile(file, kp, 'hem');
    assert.equal(await readPublicKey(file), kp.address);
    const pubOnly = join(dir, 'hem.pub.json');
    await writeFile(pubOnly, JSON.stringify({ publicKey: Buffer.from(kp.publicKey).toString('base64') }), { mode: 0o644 });
    assert.equal(await readPublicKey(pubOnly), kp.address, 'a public key file needs no 0600');
    assert.equal(await readPublicKey(JSON.stringify({ address: kp.address })), kp.address);
    assert.equal(await readPublicKey(JSON.stringify({ publicKey: kp.address })), kp.address, 'publicKey in hex, as the registry takes it');
    assert.equal(await readPublicKey(kp.address.toUpperCase()), kp.address);
    const other = generateKeyPair();
    await assert.rejects(readPublicKey(JSON.stringify({ address: kp.address, publicKey: Buffer.from(other.publicKey).toString('base64') })), /differ/);
    await assert.rejects(readPublicKey(JSON.stringify({ publicKey: 'AAAA' })), /not base64 of 32 bytes/);
    await assert.rejects(readPublicKey(JSON.stringify({ address: 'XYZ' })), /not 64 lowercase hex/);
    await assert.rejects(readPublicKey('{"seed":1'), /not JSON/);
    await assert.rejects(readPublicKey('[1,2]'), /no such file/);
    await assert.rejects(readPublicKey(JSON.stringify({ label: 'x' })), /address or publicKey/);
    await assert.rejects(readPublicKey(join(dir, 'missing.json')), /no such file/);
    await assert.rejects(readPublicKey(dir), /no such file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('tmi enroll --help names one encoding of the public key, the registry\'s: hex', () => {
  assert.match(enroll.help, /64 lowercase hex digits/);
  assert.doesNotMatch(enroll.help, /base64/);
});
