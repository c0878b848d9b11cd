/**
 * [BROKER-ID] A HEM pins the broker key it learns from the registry and still takes the
 * broker's errors after the platform restarts. `tmi up` runs as its own process; the HEM
 * is the production runHem (level store on disk, brokerPin.ts) whose pseudonym the
 * registry never certified (a test issuer), so the broker refuses its readings and
 * certificate (NOT_YOUR_ID) and answers with broker-signed errors, before and after the
 * restart. Control: a HEM configured with another broker address drops those errors as
 * UNKNOWN_ERROR_SIGNER, so the pin is what decides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '../../wire/keys.js';
import { writeKeyFile } from '../../wire/keyFile.js';
import { parseHemConfig } from '../../hem/hemConfig.js';
import { runHem, type HemHandle } from '../../hem/runHem.js';
import { RegistryClient } from '../../csm-registry/client.js';
import { captureLog, constantProfile, fakeIssuer, waitFor } from '../../hem/test/hemFixtures.js';
import { adminTokenOf, startUp, stopUp, type UpProcess } from './tmiUpProcess.js';

async function startHem(up: UpProcess, dir: string, meterId: string, brokerAddress?: string) {
  const cap = captureLog();
  const cfg = parseHemConfig({
    meterId,
    dataDir: dir,
    broker: { url: up.info.urls.mqtt, reconnectMs: 200 },
    registry: { url: up.info.urls.registry },
    aggregatorAddress: up.info.aggregatorKey,
    ...(brokerAddress ? { brokerAddress } : {}),
    intervalMs: 1000,
    speed: 900,
    adapter: { type: 'sim', initialSoc: 0.5 },
  });
  const hem: HemHandle = await runHem(cfg, { log: cap.log, issuer: fakeIssuer(), profile: constantProfile(0, 500) });
  return { hem, cap };
}

const brokerErrors = (cap: ReturnType<typeof captureLog>) => cap.events('broker-error').length;
const unknownSigner = (cap: ReturnType<typeof captureLog>) => cap.events('rejected-input').filter((e) => e.code === 'UNKNOWN_ERROR_SIGNER').length;

test('[BROKER-ID] a HEM that pinned the broker key from the registry still takes broker errors after a platform restart', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-brokerpin-'));
  let up: UpProcess | undefined;
  let pinned: Awaited<ReturnType<typeof startHem>> | undefined;
  let control: Awaited<ReturnType<typeof startHem>> | undefined;
  try {
    up = await startUp(join(dir, 'platform'), { intervalMs: 60_000 });
    const admin = new RegistryClient({ url: up.info.urls.registry, adminToken: await adminTokenOf(up) });
    // the HEMs' meter keys, enrolled by the operator
    for (const id of ['home-pin', 'home-control']) {
      const key = generateKeyPair();
      await writeKeyFile(join(dir, `hem-${id.slice(5)}`, 'meter-key.json'), key, id);
      await admin.enroll({ meterId: id, serial: `SN-${id}`, meterType: 'x', publicKey: key.address, feeder: 'F1', programme: 'TE' });
    }
    pinned = await startHem(up, join(dir, 'hem-pin'), 'home-pin');
    control = await startHem(up, join(dir, 'hem-control'), 'home-control', generateKeyPair().address);
    await waitFor(() => pinned!.cap.events('broker-key-pinned')[0], 10_000, 'the pin from the registry');
    assert.equal(pinned.cap.events('broker-key-pinned')[0]!.address, up.info.brokerKey);
    await waitFor(() => brokerErrors(pinned!.cap) > 0, 30_000, 'a broker error before the restart');
    await waitFor(() => unknownSigner(control!.cap) > 0, 30_000, 'the control HEM drops the broker errors');
    const before = brokerErrors(pinned.cap);

    const ports = { mqtt: Number(new URL(up.info.urls.mqtt).port), registry: Number(new URL(up.info.urls.registry).port), aggregator: Number(new URL(up.info.urls.aggregator!).port), analytics: Number(new URL(up.info.urls.analytics!).port) };
    await stopUp(up, 'SIGTERM');
    up = await startUp(join(dir, 'platform'), { intervalMs: 60_000, ports });
    const afterRestart = pinned.cap.lines.length;
    await waitFor(() => brokerErrors(pinned!.cap) > before && pinned!.cap.lines.slice(afterRestart).some((l) => l.event === 'broker-error'), 30_000, 'a broker error after the restart');
    const dropped = pinned.cap.lines.slice(afterRestart).filter((l) => l.event === 'rejected-input' && l.code === 'UNKNOWN_ERROR_SIGNER').length;
    assert.equal(dropped, 0, 'no broker error dropped after the restart');
    assert.equal(pinned.cap.events('broker-key-changed').length, 0);
    process.stdout.write(`# broker pin: ${before} broker errors taken before the restart, ${brokerErrors(pinned.cap) - before} after, 0 dropped; control HEM dropped ${unknownSigner(control.cap)}\n`);
  } finally {
    await pinned?.hem.stop().catch(() => undefined);
    await control?.hem.stop().catch(() => undefined);
    if (up) await stopUp(up, 'SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
});
