/**
 * [DOMAIN-TX] Against real processes: `tmi up` runs as its own process and a production HEM
 * (runHem, certified by the real registry) learns the chain from the registry's
 * GET /v1/chain. A modified HEM replays, on tmi/v1/chain/txs, a transfer the aggregator's
 * key signed for another chain (a test network with the same keys) and one that names no
 * chain. Invariant over every block seen on tmi/v1/chain/blocks: each transaction names
 * this chain's genesis hash — the HEM's certificate and readings, the aggregator's
 * transactions — and neither replayed transfer is ever included; the same transfer signed
 * for this chain is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { encode, signEnvelope } from '../../wire/codec.js';
import { generateKeyPair } from '../../wire/keys.js';
import { readKeyFile, writeKeyFile } from '../../wire/keyFile.js';
import type { Envelope } from '../../schemas/types.js';
import { parseGenesis } from '../../poe-chain/core/genesis.js';
import { txId } from '../../poe-chain/core/txId.js';
import { RegistryClient } from '../../csm-registry/client.js';
import { parseHemConfig } from '../../hem/hemConfig.js';
import { runHem, type HemHandle } from '../../hem/runHem.js';
import { captureLog, constantProfile } from '../../hem/test/hemFixtures.js';
import { platformPaths } from '../dataDir.js';
import { connectWithLogin } from '../mqttLogin.js';
import { adminTokenOf, startUp, stopUp, waitFor, type UpProcess } from './tmiUpProcess.js';

interface SeenTx {
  height: number;
  operation: string;
  clientId: string;
  chain: string | undefined;
  id: string;
}

test('[DOMAIN-TX] tmi up: a transfer signed for another chain is never included; every transaction on chain names this chain', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-domain-tx-'));
  let up: UpProcess | undefined;
  let hem: HemHandle | undefined;
  let evil: MqttClient | undefined;
  try {
    up = await startUp(join(dir, 'platform'), { intervalMs: 2000, slotMs: 100, patience: 4 });
    const genesis = parseGenesis(JSON.parse(await readFile(up.info.genesis, 'utf8')));
    const admin = new RegistryClient({ url: up.info.urls.registry, adminToken: await adminTokenOf(up) });
    assert.deepEqual(await admin.chain(), { genesisHash: genesis.hash, chainId: genesis.chainId }, 'GET /v1/chain serves the genesis');

    const keys = { home: generateKeyPair(), evil: generateKeyPair() };
    await writeKeyFile(join(dir, 'hem', 'meter-key.json'), keys.home, 'home-dtx');
    await admin.enroll({ meterId: 'home-dtx', serial: 'SN-dtx', meterType: 'sim', publicKey: keys.home.address, feeder: 'F1', programme: 'RE+TE' });
    await admin.enroll({ meterId: 'home-evil', serial: 'SN-evil', meterType: 'sim', publicKey: keys.evil.address, feeder: 'F1', programme: 'TE' });

    // the modified HEM watches the blocks and relays what it likes
    const seen: SeenTx[] = [];
    evil = await connectWithLogin({ url: up.info.urls.mqtt, meterId: 'home-evil', key: keys.evil, persistent: false });
    evil.on('message', (_t, payload) => {
      const b = JSON.parse(payload.toString('utf8')) as Envelope<'block'>;
      for (const tx of b.parameters.txs) {
        seen.push({ height: b.parameters.header.height, operation: tx.operation, clientId: tx.clientId, chain: (tx as { chain?: string }).chain, id: txId(tx as never) });
      }
    });
    await evil.subscribeAsync('tmi/v1/chain/blocks', { qos: 0 });

    // an honest HEM: learns the chain from the registry, certified by the registry
    const cap = captureLog();
    hem = await runHem(parseHemConfig({
      meterId: 'home-dtx', dataDir: join(dir, 'hem'), broker: { url: up.info.urls.mqtt, reconnectMs: 200 },
      registry: { url: up.info.urls.registry }, aggregatorAddress: up.info.aggregatorKey, intervalMs: 2000, speed: 450,
      market: { enabled: false }, adapter: { type: 'sim', initialSoc: 0.5 },
    }), { log: cap.log, profile: constantProfile(800, 300) });
    assert.equal(cap.events('chain-learnt')[0]?.genesisHash, genesis.hash, 'the HEM learnt the chain from the registry');

    // the aggregator's key signs a transfer on a test network with the same keys
    const aggregator = await readKeyFile(platformPaths(join(dir, 'platform')).aggregatorKey);
    const testnet = parseGenesis({ ...genesis.config, chainId: 'tmi-testnet' }).hash;
    const to = generateKeyPair().address;
    const date = new Date();
    const foreign = signEnvelope(aggregator, 'transfer', { to, amountMillicents: 777 }, { date, reqId: 'domain-tx-real-0001', chain: testnet });
    const unnamed = signEnvelope(aggregator, 'transfer', { to, amountMillicents: 777 }, { date, reqId: 'domain-tx-real-0002' });
    const relay = (tx: object) => evil!.publishAsync('tmi/v1/chain/txs', encode(signEnvelope(keys.evil, 'tx', { tx: tx as Envelope<'tx'>['parameters']['tx'] })), { qos: 1 });
    await relay(foreign);
    await relay(unnamed);

    const pseudonym = () => hem!.pseudonyms.current()?.key.address;
    await waitFor('the HEM certificate and two readings on chain', () => {
      const p = pseudonym();
      return p !== undefined && seen.some((t) => t.operation === 'certificate' && t.clientId === p) && seen.filter((t) => t.operation === 'meter-reading' && t.clientId === p).length >= 2;
    }, 60_000);
    // the same transfer signed for this chain is taken
    const local = signEnvelope(aggregator, 'transfer', { to, amountMillicents: 777 }, { date: new Date(), reqId: 'domain-tx-real-0001', chain: genesis.hash });
    await relay(local);
    await waitFor('the transfer signed for this chain on chain', () => seen.some((t) => t.id === txId(local)), 20_000);

    const refused = [txId(foreign), txId(unnamed)];
    assert.equal(seen.filter((t) => refused.includes(t.id)).length, 0, 'neither replayed transfer was included');
    const other = seen.filter((t) => t.chain !== genesis.hash);
    assert.deepEqual(other, [], 'every transaction on chain names this chain');
    const ops = seen.reduce<Record<string, number>>((a, t) => ({ ...a, [t.operation]: (a[t.operation] ?? 0) + 1 }), {});
    process.stdout.write(`# [DOMAIN-TX] ${seen.length} transactions in blocks, all for ${genesis.hash.slice(0, 12)}… (${JSON.stringify(ops)}); the replayed transfers (other chain, no chain) never included\n`);
  } finally {
    await evil?.endAsync().catch(() => undefined);
    await hem?.stop().catch(() => undefined);
    if (up) await stopUp(up, 'SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
});
