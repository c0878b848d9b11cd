/**
 * End to end on loopback: the real registry and the real TMI broker (login tokens, ACL,
 * edge validation) run in the test process; three HEMs run as `tmi hem` child processes
 * with the sim adapter. They obtain pseudonyms, publish readings every interval and
 * answer an auction-open from the aggregator within 1 s with exactly what decide()
 * returns for the state they logged. One HEM is killed with SIGKILL mid-interval and
 * restarted: on the wire, no (address, seq) is missing or repeated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { createCodec, signAndEncode } from '../../wire/codec.js';
import type { AnyEnvelope, AuctionOpen, BidOffer, MeterReading } from '../../schemas/types.js';
import { decide } from '../../tcr/decide.js';
import { createTcrParams } from '../../tcr/tcrParams.js';
import { sleep, tempDir, waitFor } from './hemFixtures.js';

const TMI = fileURLToPath(new URL('../../cli/tmi.js', import.meta.url));
const ADMIN = 'e2e-admin-token-0123456789abcdef';
const INTERVAL_MS = 1000;
const SPEED = 900; // 1 s = 15 min of home time

interface HemProc {
  meterId: string;
  config: string;
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exit: Promise<number | null>;
}

function spawnHem(meterId: string, config: string, lines: Record<string, unknown>[] = []): HemProc {
  const child = spawn(process.execPath, [TMI, 'hem', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        /* not JSON */
      }
    }
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(`hem ${meterId} exited ${code}: ${err}\n`);
      r(code);
    }),
  );
  return { meterId, config, child, lines, exit };
}

test('three HEM processes: pseudonyms, readings, bids = decide() within 1 s, kill -9 loses and repeats nothing', { timeout: 90_000 }, async () => {
  // ── services ──
  const registryKey = generateKeyPair();
  const regDb = new MemoryLevel<string, string>() as unknown as RegistryDb;
  // [DOMAIN-TX] no chain runs here; the registry names one, which the HEMs learn and sign for
  const registry = await createRegistry({ db: regDb, registryKey, adminToken: ADMIN, chain: { genesisHash: 'ab'.repeat(32), chainId: 'tmi-test' } });
  const { url: registryUrl } = await registry.listen(0, '127.0.0.1');
  const broker = await createTmiBroker({
    directory: createHttpDirectory({ url: registryUrl, token: ADMIN }),
    listeners: { mqtt: { port: 0, host: '127.0.0.1' } },
    revocationPollMs: 2000,
  });
  const brokerUrl = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const admin = createRegistryClient({ url: registryUrl, adminToken: ADMIN });

  const agg = generateKeyPair();
  await admin.enroll({ meterId: 'agg-1', serial: 'AGG-1', meterType: 'aggregator', publicKey: agg.address, feeder: 'F1', programme: 'TE', role: 'aggregator' });
  const hems: HemProc[] = [];
  const dir = await tempDir('tmi-hem-e2e-');
  for (let k = 1; k <= 3; k++) {
    const meterId = `meter-e2e-${k}`;
    const dataDir = join(dir, meterId);
    const key = generateKeyPair();
    await writeKeyFile(join(dataDir, 'meter-key.json'), key, meterId);
    await admin.enroll({ meterId, serial: `SER-${k}`, meterType: 'sim', publicKey: key.address, feeder: 'F1', programme: 'RE+TE' });
    const config = join(dir, `${meterId}.json`);
    await writeFile(config, JSON.stringify({
      meterId, dataDir, broker: { url: brokerUrl, reconnectMs: 200 }, registry: { url: registryUrl, publicKey: registryKey.address },
      aggregatorAddress: agg.address, intervalMs: INTERVAL_MS, speed: SPEED,
      adapter: { type: 'sim', seed: k, initialSoc: 0.5 + 0.1 * k },
    }));
    hems.push(spawnHem(meterId, config));
  }

  // ── the aggregator's view of the wire ──
  const codec = createCodec({ replayCheck: false });
  const aggClient = mqtt.connect(brokerUrl, {
    clientId: 'agg-1', username: 'agg-1', password: makeLoginToken(agg, 'agg-1'), reconnectPeriod: 0, clean: true,
  });
  await new Promise<void>((resolve, reject) => {
    aggClient.once('connect', () => resolve());
    aggClient.once('error', reject);
  });
  const readings: MeterReading[] = [];
  const bids: { at: number; env: AnyEnvelope }[] = [];
  aggClient.on('message', (topic, payload) => {
    let env: AnyEnvelope;
    try {
      env = codec.decode(payload);
    } catch {
      return;
    }
    if (env.operation === 'meter-reading') readings.push(env.parameters);
    if (env.operation === 'bid-offer') bids.push({ at: Date.now(), env });
  });
  await new Promise<void>((r) => aggClient.subscribe(['tmi/v1/readings', 'tmi/v1/auctions/+/bids'], { qos: 1 }, () => r()));

  try {
    // every HEM gets a pseudonym and publishes readings
    const addressOf = (h: HemProc) => h.lines.find((l) => l.event === 'pseudonym-certified')?.address as string | undefined;
    await waitFor(() => hems.every((h) => addressOf(h)), 15_000, 'three certified pseudonyms');
    await waitFor(() => hems.every((h) => readings.filter((r) => r.address === addressOf(h)).length >= 2), 10_000, 'two readings from each HEM');

    // ── an auction: every HEM answers within 1 s with decide()'s answer ──
    const deliveryStart = (Math.floor(Date.now() / INTERVAL_MS) + 3) * INTERVAL_MS;
    const auction: AuctionOpen = {
      auctionId: 'E2E-1', side: 'buy', energy: { unit: 'kWh', value: 2 }, limitPrice: { unit: 'cents/kWh', value: 200 },
      delivery: { start: new Date(deliveryStart).toISOString(), end: new Date(deliveryStart + INTERVAL_MS).toISOString() },
      closesAt: new Date(Date.now() + 10_000).toISOString(), pricing: 'pay-as-bid', sealed: false,
    };
    const t0 = Date.now();
    aggClient.publish('tmi/v1/auctions/E2E-1', signAndEncode(agg, 'auction-open', auction), { qos: 1, retain: true });
    await waitFor(() => hems.every((h) => h.lines.some((l) => l.event === 'decision' && l.auctionId === 'E2E-1')), 3000, 'three decisions');
    await sleep(1200);
    const params = createTcrParams();
    const homeAuction = { ...auction, delivery: { start: auction.delivery.start, end: new Date(deliveryStart + INTERVAL_MS * SPEED).toISOString() } };
    let answered = 0;
    for (const h of hems) {
      const d = h.lines.find((l) => l.event === 'decision' && l.auctionId === 'E2E-1')!;
      const expect = decide(homeAuction, { soc: d.soc as number }, params, d.forecast as { pvWh: number; loadWh: number });
      const mine = bids.filter((b) => b.env.clientId === addressOf(h));
      if (!expect.bid) {
        assert.equal(mine.length, 0, `${h.meterId}: no bid when decide() says ${expect.reason}`);
        continue;
      }
      answered++;
      assert.equal(mine.length, 1, `${h.meterId}: exactly one bid`);
      assert.ok(mine[0]!.at - t0 < 1000, `${h.meterId}: answered in ${mine[0]!.at - t0} ms`);
      const p = mine[0]!.env.parameters as BidOffer;
      assert.deepEqual(p.bid, { type: expect.bid.type, energy: { unit: 'Wh', value: expect.bid.energyWh }, price: { unit: 'millicents/kWh', value: expect.bid.priceMcPerKWh } });
      assert.equal(p.feeder, 'F1');
    }
    assert.ok(answered >= 2, `at least two HEMs bid (got ${answered})`);

    // ── kill -9 one HEM mid-interval, restart it ──
    const victim = hems[0]!;
    const victimAddr = addressOf(victim)!;
    const phase = Date.now() % INTERVAL_MS;
    await sleep((INTERVAL_MS - phase + INTERVAL_MS / 2) % INTERVAL_MS); // half-way into an interval
    victim.child.kill('SIGKILL');
    await victim.exit;
    const beforeRestart = readings.filter((r) => r.address === victimAddr).length;
    await sleep(1500);
    hems[0] = spawnHem(victim.meterId, victim.config, victim.lines);
    await waitFor(() => readings.filter((r) => r.address === victimAddr).length >= beforeRestart + 3, 10_000, 'readings after the restart');

    // ── stop everything gracefully ──
    for (const h of hems) h.child.kill('SIGTERM');
    const codes = await Promise.all(hems.map((h) => h.exit));
    assert.deepEqual(codes, [0, 0, 0], 'graceful SIGTERM');
    await sleep(200);

    // the broker's edge validation accepted everything the HEMs sent (certificate txs, readings, bids, state)
    for (const h of hems) assert.deepEqual(h.lines.filter((l) => l.event === 'broker-error'), [], `${h.meterId}: no broker error`);
    process.stdout.write(`# e2e: ${answered} bids; readings per HEM ${hems.map((h) => readings.filter((r) => r.address === addressOf(h)).length).join(', ')}\n`);

    // no reading lost or duplicated, per address, in order; intervals without gaps
    for (const h of hems) {
      const addr = addressOf(h)!;
      const rs = readings.filter((r) => r.address === addr);
      assert.deepEqual(rs.map((r) => r.seq), rs.map((_, i) => i), `${h.meterId}: seq 0..${rs.length - 1} once each`);
      for (let i = 1; i < rs.length; i++) assert.equal(rs[i]!.interval.start, rs[i - 1]!.interval.end, `${h.meterId}: consecutive intervals`);
    }
  } finally {
    for (const h of hems) if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGKILL');
    await new Promise<void>((r) => aggClient.end(true, {}, () => r()));
    await broker.close();
    await registry.close();
    await regDb.close();
  }
});
