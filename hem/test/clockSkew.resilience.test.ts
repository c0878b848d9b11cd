/**
 * Fault: a HEM whose clock is wrong. The real registry and broker run in the test
 * process; three `tmi hem` processes run with a skewed clock (hem/test/skewedClock.ts,
 * the skew read from a file so that the test can set the clock right, as NTP would):
 *   H1 boots 75 s ahead (beyond the broker's ±60 s for login tokens, within the
 *      registry's ±120 s): `clock-skew` and `login-refused` lines; when the clock is set
 *      right it logs in by itself, sends the readings it queued meanwhile, and meters
 *      again once its clock passes the last interval it metered.
 *   H2 boots 300 s ahead: the registry refuses its certificate request (STALE_DATE) and
 *      it says why; once the clock is right it gets its pseudonym and logs in.
 *   H3 runs with a good clock, then its clock jumps 150 s ahead while connected: the
 *      broker rejects its messages with STALE_DATE and it says that its clock is off; the
 *      refused readings go back in its outbox [HEM-Q7] and are accepted later (their date
 *      comes within the broker's ±120 s as time passes), none lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryLevel } from 'memory-level';
import mqtt from 'mqtt';
import { createRegistry } from '../../csm-registry/createRegistry.js';
import { createRegistryClient } from '../../csm-registry/client.js';
import type { RegistryDb } from '../../csm-registry/registryStore.js';
import { createTmiBroker } from '../../broker/createTmiBroker.js';
import { createHttpDirectory } from '../../broker/httpDirectory.js';
import { generateKeyPair } from '../../wire/keys.js';
import { writeKeyFile } from '../../wire/keyFile.js';
import { makeLoginToken } from '../../wire/loginToken.js';
import { createCodec } from '../../wire/codec.js';
import type { MeterReading } from '../../schemas/types.js';
import { tempDir } from './hemFixtures.js';
import { killHard, spawnHem, waitUntil, type HemProcess, type LogLine } from './resilienceFixtures.js';

const ADMIN = 'skew-admin-token-0123456789abcdef';
const INTERVAL_MS = 1000;

test('clock skew: refused logins and stale dates are logged plainly with the offset; the HEM recovers once the clock is right', { timeout: 240_000 }, async () => {
  const registryKey = generateKeyPair();
  const regDb = new MemoryLevel<string, string>() as unknown as RegistryDb;
  const registry = await createRegistry({ db: regDb, registryKey, adminToken: ADMIN });
  const { url: registryUrl } = await registry.listen(0, '127.0.0.1');
  const broker = await createTmiBroker({
    directory: createHttpDirectory({ url: registryUrl, token: ADMIN }),
    listeners: { mqtt: { port: 0, host: '127.0.0.1' } },
  });
  const brokerUrl = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const admin = createRegistryClient({ url: registryUrl, adminToken: ADMIN });
  const agg = generateKeyPair();
  await admin.enroll({ meterId: 'agg-skew', serial: 'AGG', meterType: 'aggregator', publicKey: agg.address, feeder: 'F1', programme: 'TE', role: 'aggregator' });
  const dir = await tempDir('tmi-skew-');
  const skews: Record<string, string> = {};
  const hems: HemProcess[] = [];
  const start = async (k: number, skewMs: number): Promise<HemProcess> => {
    const meterId = `meter-skew-${k}`;
    const dataDir = join(dir, meterId);
    const key = generateKeyPair();
    await writeKeyFile(join(dataDir, 'meter-key.json'), key, meterId);
    await admin.enroll({ meterId, serial: `S-${k}`, meterType: 'sim', publicKey: key.address, feeder: 'F1', programme: 'RE+TE' });
    const config = join(dir, `${meterId}.json`);
    await writeFile(config, JSON.stringify({
      meterId, dataDir, broker: { url: brokerUrl, reconnectMs: 300 }, registry: { url: registryUrl, publicKey: registryKey.address },
      genesisHash: 'ab'.repeat(32), aggregatorAddress: agg.address, brokerAddress: broker.address, intervalMs: INTERVAL_MS, speed: 900,
      adapter: { type: 'sim', seed: k, initialSoc: 0.5 },
    }));
    skews[meterId] = join(dir, `${meterId}.skew`);
    await writeFile(skews[meterId]!, String(skewMs));
    const h = spawnHem(meterId, config, { clockSkewFile: skews[meterId]! });
    hems.push(h);
    return h;
  };
  const setClock = (h: HemProcess, skewMs: number) => writeFile(skews[h.meterId]!, String(skewMs));

  const readings: MeterReading[] = [];
  const codec = createCodec({ replayCheck: false });
  const aggClient = await mqtt.connectAsync(brokerUrl, { clientId: 'agg-skew', username: 'agg-skew', password: makeLoginToken(agg, 'agg-skew'), reconnectPeriod: 0 });
  aggClient.on('message', (_topic, payload) => {
    try {
      const env = codec.decode(payload);
      if (env.operation === 'meter-reading') readings.push(env.parameters);
    } catch {
      /* not ours */
    }
  });
  await aggClient.subscribeAsync('tmi/v1/readings', { qos: 1 });
  const first = (h: HemProcess, event: string, pred: (l: LogLine) => boolean = () => true) => h.lines.find((l) => l.event === event && pred(l));
  const addressOf = (h: HemProcess) => first(h, 'pseudonym-certified')?.address as string | undefined;

  try {
    const h1 = await start(1, 75_000);
    const h2 = await start(2, 300_000);
    const h3 = await start(3, 0);

    // ── what the operator reads ──
    const skew1 = await waitUntil(() => first(h1, 'clock-skew'), 15_000, 'H1 clock-skew');
    assert.equal(skew1.level, 50, 'an error line');
    assert.ok(Math.abs((skew1.offsetMs as number) - 75_000) < 2000, `offset ≈ 75 s: ${skew1.offsetMs}`);
    assert.match(String(skew1.msg), /7[45]\.\d s ahead .*refuses logins beyond ±60 s.*set the clock/);
    const refused1 = await waitUntil(() => first(h1, 'login-refused'), 15_000, 'H1 login-refused');
    assert.equal(refused1.returnCode, 4);
    assert.match(String(refused1.reason), /clock is off by more than ±60 s/);
    const skew2 = await waitUntil(() => first(h2, 'clock-skew'), 15_000, 'H2 clock-skew');
    assert.match(String(skew2.msg), /(299|300)\.\d s ahead .*registry refuses certificate requests/);
    const retry2 = await waitUntil(() => first(h2, 'pseudonym-retry'), 15_000, 'H2 pseudonym-retry');
    assert.match(String(retry2.err), /STALE_DATE/);
    const ok3 = await waitUntil(() => first(h3, 'clock-checked'), 15_000, 'H3 clock-checked');
    assert.ok(Math.abs(ok3.offsetMs as number) < 2000);
    await waitUntil(() => first(h3, 'mqtt-connected'), 15_000, 'H3 connected');
    assert.equal(first(h1, 'mqtt-connected'), undefined, 'H1 is not logged in');
    // H1 meters and queues while it is refused
    await waitUntil(() => h1.events('reading').length >= 3, 15_000, 'H1 readings queued');
    const refusedBefore = h1.events('login-refused').length;
    assert.equal(refusedBefore, 1, 'repeated refusals are not logged more than once a minute');

    // ── NTP sets the clocks right ──
    const fixedAt = Date.now();
    await setClock(h1, 0);
    await setClock(h2, 0);
    await waitUntil(() => first(h1, 'mqtt-connected'), 20_000, 'H1 logs in by itself after the clock is set right');
    const h1LoginMs = Date.now() - fixedAt;
    const queued1 = h1.events('reading').length;
    const a1 = addressOf(h1)!;
    await waitUntil(() => readings.filter((r) => r.address === a1).length >= queued1, 15_000, 'H1 queued readings delivered');
    const h1DeliveredMs = Date.now() - fixedAt;
    await waitUntil(() => first(h2, 'pseudonym-certified'), 20_000, 'H2 certified after the clock is set right');
    await waitUntil(() => first(h2, 'mqtt-connected'), 20_000, 'H2 logs in');
    const h2LoginMs = Date.now() - fixedAt;

    // ── H3: the clock jumps 150 s ahead while connected ──
    const a3 = addressOf(h3)!;
    await waitUntil(() => readings.filter((r) => r.address === a3).length >= 2, 15_000, 'H3 readings');
    const seen3 = readings.filter((r) => r.address === a3).length;
    const metered3 = h3.events('reading').length;
    await setClock(h3, 150_000);
    const stale3 = await waitUntil(() => first(h3, 'broker-error', (l) => l.code === 'STALE_DATE'), 15_000, 'H3 broker-error STALE_DATE');
    assert.ok(stale3);
    const skew3 = await waitUntil(() => first(h3, 'clock-skew'), 15_000, 'H3 clock-skew after STALE_DATE');
    assert.equal(skew3.why, 'stale-date');
    assert.ok(Math.abs((skew3.offsetMs as number) - 150_000) < 2000, `offset ≈ 150 s: ${skew3.offsetMs}`);
    await new Promise((r) => setTimeout(r, 3000));
    const meteredDuring = h3.events('reading').length - metered3;
    const arrivedDuring = readings.filter((r) => r.address === a3).length - seen3;
    const lastSeq3 = Math.max(...h3.events('reading').map((l) => l.seq as number));
    const jumpedAt = Date.now();

    // ── H1 meters again once its clock passes the last interval it metered (75 s later) ──
    const lastSeq1 = Math.max(...readings.filter((r) => r.address === a1).map((r) => r.seq));
    await waitUntil(() => readings.some((r) => r.address === a1 && r.seq > lastSeq1), 120_000, 'H1 meters again', 200);
    const h1ResumeMs = Date.now() - fixedAt;
    const rs1 = readings.filter((r) => r.address === a1);
    const seqs1 = [...new Set(rs1.map((r) => r.seq))].sort((x, y) => x - y);
    assert.deepEqual(seqs1, seqs1.map((_, i) => i), 'H1: no gap in seq');

    // ── H3's refused readings: sent again and accepted, seq 0..lastSeq3 without a gap [HEM-Q7] ──
    const seqs3 = () => new Set(readings.filter((r) => r.address === a3).map((r) => r.seq));
    await waitUntil(() => Array.from({ length: lastSeq3 + 1 }, (_, i) => i).every((q) => seqs3().has(q)), 120_000, 'H3 refused readings accepted later', 500);
    const h3RecoveredMs = Date.now() - jumpedAt;
    const retried3 = h3.events('outbox-retry').length;
    assert.ok(retried3 >= meteredDuring - arrivedDuring, `H3 outbox-retry lines: ${retried3}`);

    for (const h of hems) h.child.kill('SIGTERM');
    await Promise.all(hems.map((h) => h.exit));
    process.stdout.write(
      `# clock skew: H1 (+75 s) logged in ${h1LoginMs} ms after the clock was set right, its ${queued1} queued readings delivered after ${h1DeliveredMs} ms, ` +
        `metering resumed after ${h1ResumeMs} ms, seq 0..${seqs1.length - 1} without a gap; H2 (+300 s) certified and logged in after ${h2LoginMs} ms; ` +
        `H3 (+150 s jump while connected): ${meteredDuring} readings metered in 3 s, ${arrivedDuring} accepted at once, all of seq 0..${lastSeq3} accepted ${h3RecoveredMs} ms after the jump (${retried3} sent again)\n`,
    );
  } finally {
    for (const h of hems) await killHard(h);
    await aggClient.endAsync(true);
    await broker.close();
    await registry.close();
    await regDb.close();
  }
});
