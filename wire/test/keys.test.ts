import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, chmod, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { generateKeyPair, keyPairFromSeed, naclSecretKey, publicKeyObject, signBytes, verifyBytes, fromKeyFile, toKeyFile } from '../keys.js';
import { readKeyFile, writeKeyFile, loadOrCreateKeyFile } from '../keyFile.js';

test('keys are tweetnacl-compatible both ways', () => {
  const seed = new Uint8Array(32).map((_, i) => i * 7);
  const kp = keyPairFromSeed(seed);
  const nkp = nacl.sign.keyPair.fromSeed(seed);
  assert.deepEqual(Buffer.from(kp.publicKey), Buffer.from(nkp.publicKey));
  assert.deepEqual(Buffer.from(naclSecretKey(kp)), Buffer.from(nkp.secretKey));
  const msg = Buffer.from('tmi');
  // node:crypto signature verifies with tweetnacl, and vice versa (Ed25519 is deterministic)
  const sigNode = signBytes(kp, msg);
  assert.ok(nacl.sign.detached.verify(msg, sigNode, nkp.publicKey));
  const sigNacl = nacl.sign.detached(msg, nkp.secretKey);
  assert.deepEqual(Buffer.from(sigNacl), sigNode);
  assert.ok(verifyBytes(publicKeyObject(kp.publicKey), msg, sigNacl));
  assert.equal(kp.address, Buffer.from(nkp.publicKey).toString('hex'));
});

test('verification fails on a wrong key, message or signature length', () => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const msg = Buffer.from('hello');
  const sig = signBytes(a, msg);
  assert.ok(verifyBytes(publicKeyObject(a.publicKey), msg, sig));
  assert.ok(!verifyBytes(publicKeyObject(b.publicKey), msg, sig));
  assert.ok(!verifyBytes(publicKeyObject(a.publicKey), Buffer.from('hellO'), sig));
  assert.ok(!verifyBytes(publicKeyObject(a.publicKey), msg, sig.subarray(0, 63)));
  assert.throws(() => keyPairFromSeed(new Uint8Array(31)), /BAD_KEY/);
});

test('key files are written 0600, read back, and refused when readable by others', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'sub', 'meter.json');
  const kp = generateKeyPair();
  await writeKeyFile(path, kp, 'meter 1');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await readKeyFile(path)).address, kp.address);
  await assert.rejects(writeKeyFile(path, kp), /EEXIST/);
  await chmod(path, 0o644);
  await assert.rejects(readKeyFile(path), /KEY_FILE_PERMISSIONS/);
  const p2 = join(dir, 'auto.json');
  const created = await loadOrCreateKeyFile(p2);
  assert.equal((await loadOrCreateKeyFile(p2)).address, created.address);
  const bad = join(dir, 'bad.json');
  await writeFile(bad, JSON.stringify({ ...toKeyFile(kp), address: 'ff'.repeat(32) }), { mode: 0o600 });
  await assert.rejects(readKeyFile(bad), /BAD_KEY_FILE address mismatch/);
  assert.throws(() => fromKeyFile({ kind: 'other' }), /BAD_KEY_FILE/);
});
