import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClientError } from '../../csm-registry/client.js';
import { parseGenesis } from '../../poe-chain/core/genesis.js';
import { testGenesisConfig } from '../../poe-chain/testkit/chainFixture.js';
import { createChainPin } from '../chainPin.js';
import { HemStore } from '../hemStore.js';
import { captureLog, memoryDb } from './hemFixtures.js';

const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);
const serving = (hash: string | undefined) => ({
  chain: async () => {
    if (hash === undefined) throw new RegistryClientError('REGISTRY_UNREACHABLE', 0);
    return { genesisHash: hash, chainId: 'tmi-test' };
  },
});

test('[DOMAIN-TX] chain pin: learnt from the registry and kept; followed when the registry changes it; kept when the registry is down', async () => {
  const store = await HemStore.open(memoryDb());
  const cap = captureLog();
  const unknown = createChainPin({ store, registry: serving(undefined), log: cap.log });
  await unknown.load();
  assert.equal(unknown.current(), undefined);
  assert.equal(cap.events('chain-unknown').length, 1);
  const pin = createChainPin({ store, registry: serving(A), log: cap.log });
  await pin.load();
  assert.equal(pin.current(), A);
  const offline = createChainPin({ store, registry: serving(undefined), log: cap.log });
  await offline.load();
  assert.equal(offline.current(), A, 'kept in the store');
  const moved = createChainPin({ store, registry: serving(B), log: cap.log });
  await moved.load();
  assert.equal(moved.current(), B);
  assert.equal(cap.events('chain-changed').length, 1);
});

test('[DOMAIN-TX] chain pin: a configured hash or the chain node genesis that the registry contradicts is BAD_CONFIG', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-chainpin-'));
  try {
    const store = await HemStore.open(memoryDb());
    const { log } = captureLog();
    const configured = createChainPin({ configured: A, store, registry: serving(B), log });
    await assert.rejects(configured.load(), (e: Error) => /BAD_CONFIG/.test(e.message) && /genesisHash/.test(e.message) && e.message.includes(`expected=${B}`) && e.message.includes(`got=${A}`));
    const ok = createChainPin({ configured: A, store, registry: serving(undefined), log });
    await ok.load();
    assert.equal(ok.current(), A, 'a pin stands while the registry is down');
    const config = testGenesisConfig();
    const file = join(dir, 'genesis.json');
    await writeFile(file, JSON.stringify(config));
    const hash = parseGenesis(config).hash;
    const fromFile = createChainPin({ genesisFile: file, store, registry: serving(hash), log });
    await fromFile.load();
    assert.equal(fromFile.current(), hash);
    await assert.rejects(createChainPin({ genesisFile: file, store, registry: serving(B), log }).load(), /BAD_CONFIG.*chain\/genesis/);
    await assert.rejects(createChainPin({ configured: A, genesisFile: file, store, registry: serving(hash), log }).load(), /BAD_CONFIG.*genesisHash/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
