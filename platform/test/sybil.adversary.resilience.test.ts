/**
 * [SYBIL] Attack with real processes: `tmi up` (registry, the TMI broker, the aggregator and
 * its producing chain node) and two enrolled RE+TE meters. One is an honest `hem` process;
 * the other is a modified HEM (this test, with the meter's key): it asks the registry for
 * as many pseudonym certificates as it gives, posts them all to the chain through the broker
 * (a `tx` on `chain/txs`, as a HEM does [HEM-CERT]), posts a reading of every interval for
 * every pseudonym, and bids with all of them in one auction the operator posts with
 * `tmi aggregator post`.
 *
 * Checked on the aggregator's chain read from disk after a clean stop, by replaying it from
 * genesis: in every epoch's ranking the meter holds at most one place, also in epochs where
 * all its pseudonyms had a reading [SYBIL-3]; one of its bids is on chain, and the others
 * are refused METER_ALREADY_BID by a chain node's admission on the state after the counted one
 * [SYBIL-2]; the honest home's readings and place in the ranking are unaffected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RegistryClient, RegistryClientError } from '../../csm-registry/client.js';
import { signEnvelope, encode } from '../../wire/codec.js';
import { generateKeyPair, type KeyPair } from '../../wire/keys.js';
import { readKeyFile } from '../../wire/keyFile.js';
import { whToEnergy, millicentsToPrice } from '../../wire/quantities.js';
import type { AnyEnvelope, Certificate, Envelope } from '../../schemas/types.js';
import { createMqttSession } from '../../hem/mqttSession.js';
import { TOPICS } from '../../hem/ems.js';
import { openChainStoreAt } from '../../poe-chain/store/chainDataDir.js';
import { createGenesisState, type ChainState } from '../../poe-chain/core/chainState.js';
import { GENESIS_DEFAULTS, slotTime } from '../../poe-chain/core/genesis.js';
import { rankingForEpoch } from '../../poe-chain/core/rankingForEpoch.js';
import { validateAndApplyBlock } from '../../poe-chain/core/validateAndApplyBlock.js';
import { Mempool } from '../../poe-chain/node/mempool.js';
import { enrolHome, spawnProc, startHems, stopProc, waitFor, withTmiUp, type Proc } from './procFixtures.js';
import { TMI } from './tmiUpProcess.js';

const INTERVAL_MS = 4000;
const SLOT_MS = 200;
const PATIENCE = 4;
const SPEED = 900_000 / INTERVAL_MS;
const READING_INTERVALS = 4;

interface Home { meterId: string; programme: 'RE+TE'; feeder: string; dataDir: string; config: string; proc?: Proc; address?: string }

test('[SYBIL] real processes: a meter with every certificate the registry gives takes one place in each ranking and one bid in an auction', { timeout: 240_000 }, async (t) => {
  // The test counts places per certificate tag, and tags change at a certificate period's end
  // (GENESIS_DEFAULTS.certPeriodMs, one UTC day): a run across that boundary would see two
  // tags of one meter, each rightly ranked once. Start after the boundary when it is near.
  const P = GENESIS_DEFAULTS.certPeriodMs;
  const toBoundary = P - (Date.now() % P);
  if (toBoundary < 110_000) {
    t.diagnostic(`waiting ${Math.ceil(toBoundary / 1000)} s for the certificate period to turn`);
    await new Promise((r) => setTimeout(r, toBoundary + 1000));
  }
  await withTmiUp('sybil', { intervalMs: INTERVAL_MS, slotMs: SLOT_MS, patience: PATIENCE }, async ({ root, upDir, up, info, procs, genesis, registry }) => {
    const genesisMs = genesis.genesisTimeMs;
    const { genesisHash: chain } = await registry.chain(); // [DOMAIN-TX] the chain every transaction names
    const [honest, greedy] = (['honest-1', 'greedy-1'] as const).map((meterId) => ({
      meterId, programme: 'RE+TE' as const, feeder: 'F1', dataDir: join(root, 'homes', meterId), config: join(root, 'homes', `${meterId}.json`),
    })) as [Home, Home];
    await enrolHome(registry, honest, 'SY-1');
    await enrolHome(registry, greedy, 'SY-2');
    await writeFile(honest.config, JSON.stringify({
      meterId: honest.meterId, dataDir: honest.dataDir, broker: { url: info.urls.mqtt, reconnectMs: 500 },
      registry: { url: info.urls.registry, publicKey: info.registryKey }, aggregatorAddress: info.aggregatorKey, intervalMs: INTERVAL_MS, speed: SPEED,
      adapter: { type: 'sim', seed: 9100, initialSoc: 0.9, pvPeakW: 4000, profile: { startDate: '2026-06-21', days: 1, intervalMinutes: 15 }, startWall: new Date(genesisMs - Math.round((12 * 3_600_000) / SPEED)).toISOString() },
      log: { level: 'info' },
    }));
    await startHems([honest], procs);

    // ── the modified HEM: every certificate the registry gives ──
    const meterKey = await readKeyFile(join(greedy.dataDir, 'meter-key.json'));
    const certifier = new RegistryClient({ url: info.urls.registry, registryPublicKey: info.registryKey });
    const pseudo: { key: KeyPair; cert: Certificate }[] = [];
    let refusal = '';
    for (let i = 0; i < 15; i++) {
      const key = generateKeyPair();
      try {
        pseudo.push({ key, cert: await certifier.requestCertificate(meterKey, greedy.meterId, key.address) });
      } catch (err) {
        if (!(err instanceof RegistryClientError)) throw err;
        refusal = err.code;
        break;
      }
    }
    assert.equal(pseudo.length, 10, 'the registry gives 10 certificates an hour');
    assert.equal(refusal, 'RATE_LIMITED');
    // in the last eighth of a certificate period the registry certifies every other key for
    // the next period (rotation): those wait; the attack uses the ones valid now, of one tag
    const issued = pseudo.length;
    const nextPeriod = pseudo.filter((p) => Date.parse(p.cert.validFrom) > Date.now());
    pseudo.splice(0, pseudo.length, ...pseudo.filter((p) => !nextPeriod.includes(p)));
    assert.ok(pseudo.length >= issued / 2, `certificates valid now: ${pseudo.length}`);
    assert.equal(new Set(pseudo.map((p) => p.cert.tag)).size, 1, 'one tag for the meter in this period');
    if (nextPeriod.length > 0) assert.ok(nextPeriod.every((p) => p.cert.tag !== pseudo[0]!.cert.tag), 'another tag in the next period');
    const mine = new Set(pseudo.map((p) => p.key.address));

    let auctionSeen: string | undefined;
    const session = createMqttSession({
      url: info.urls.mqtt, meterId: greedy.meterId, meterKey, subscriptions: [TOPICS.auctions], reconnectMs: 500,
      onMessage(_topic, payload) {
        const env = JSON.parse(payload.toString('utf8')) as AnyEnvelope;
        if (env.operation === 'auction-open') auctionSeen = (env.parameters as { auctionId: string }).auctionId;
      },
    });
    try {
      await waitFor('the modified HEM connected', 10_000, () => session.connected);
      const send = (topic: string, env: object) => session.publish(topic, encode(env), 1);
      // [HEM-CERT] each certificate as a `tx` on chain/txs, signed by its pseudonym
      for (const p of pseudo) {
        const inner = signEnvelope(p.key, 'certificate', p.cert, { chain });
        await send(TOPICS.txs, signEnvelope(p.key, 'tx', { tx: inner as unknown as Envelope<'tx'>['parameters']['tx'] }));
      }
      // a reading of every interval for every pseudonym, from the first interval all certificates cover
      const from = Math.max(...pseudo.map((p) => Date.parse(p.cert.validFrom)));
      const first = Math.ceil((from - genesisMs) / INTERVAL_MS);
      for (let k = 0; k < READING_INTERVALS; k++) {
        const start = genesisMs + (first + k) * INTERVAL_MS;
        await new Promise((r) => setTimeout(r, Math.max(0, start + INTERVAL_MS + 100 - Date.now())));
        for (const p of pseudo) {
          await send(TOPICS.readings, signEnvelope(p.key, 'meter-reading', {
            address: p.key.address, interval: { start: new Date(start).toISOString(), end: new Date(start + INTERVAL_MS).toISOString() }, seq: k + 1,
            producedWh: 1000, consumedWh: 1000, chargedWh: 0, dischargedWh: 0, socPermille: 500,
          }, { chain }));
        }
      }

      // ── one auction, a bid from every pseudonym ──
      const now = Date.now();
      const deliveryStart = genesisMs + (Math.floor((now - genesisMs) / INTERVAL_MS) + 4) * INTERVAL_MS;
      const closesAtMs = now + 5000;
      const post = spawnProc('post', [
        TMI, 'aggregator', 'post', '--url', info.urls.aggregator, '--operator-token', info.operatorTokenFile, '--side', 'buy', '--energy-kwh', '5', '--price', '60',
        '--delivery', `${new Date(deliveryStart).toISOString()}/${new Date(deliveryStart + INTERVAL_MS).toISOString()}`, '--closes-at', new Date(closesAtMs).toISOString(),
      ]);
      assert.equal(await post.exit, 0, `tmi aggregator post: ${post.err}`);
      const auctionId = (JSON.parse(post.out) as { auctionId: string }).auctionId;
      await waitFor('the auction on the auctions topic', 5000, () => auctionSeen === auctionId);
      await new Promise((r) => setTimeout(r, 500)); // the open reaches the chain node first
      const bids = pseudo.map((p, i) => signEnvelope(p.key, 'bid-offer', {
        auctionId, address: p.key.address, cpf: 0.5, feeder: 'F1', bid: { type: 'sell', energy: whToEnergy(500), price: millicentsToPrice(9000 + 100 * i) },
      }, { chain }));
      for (const b of bids) await send(TOPICS.bids(auctionId), b);
      const honestBid = await waitFor('the honest decision', 5000, () => honest.proc!.lines.find((l) => l.event === 'decision' && l.auctionId === auctionId));
      await new Promise((r) => setTimeout(r, Math.max(0, closesAtMs + 3000 - Date.now())));

      assert.equal(await stopProc(honest.proc!), 0);
      assert.equal(await stopProc(up), 0, `tmi up stops cleanly: ${up.err.slice(-2000)}`);

      // ── the aggregator's chain, replayed from genesis ──
      const store = await openChainStoreAt(upDir);
      try {
        const g = store.genesis;
        const rankings = new Map<number, { ranking: readonly string[]; readingsOf: number; honestRead: boolean }>();
        let afterCountedBid: ChainState | undefined;
        const counted: string[] = [];
        let st = createGenesisState(g);
        for (let h = 1; h <= store.head.height; h++) {
          const b = (await store.blockAt(h))!;
          const hd = b.parameters.header;
          if (!rankings.has(hd.epoch)) {
            const interval = hd.epoch - 2;
            const readingsOf = [...mine].filter((a) => st.sections.readings.has(`${a}|${interval}`)).length;
            rankings.set(hd.epoch, { ranking: rankingForEpoch(st, hd.epoch).ranking, readingsOf, honestRead: st.sections.readings.has(`${honest.address!}|${interval}`) });
          }
          st = validateAndApplyBlock(st, b, { now: Number.MAX_SAFE_INTEGER }).state;
          for (const x of b.parameters.txs as { operation: string; parameters: { auctionId?: string; address?: string } }[]) {
            if (x.operation === 'bid-offer' && x.parameters.auctionId === auctionId && mine.has(x.parameters.address!)) {
              counted.push(x.parameters.address!);
              afterCountedBid ??= st;
            }
          }
        }
        // [SYBIL-3] one place per meter in every ranking
        const attacked = [...rankings].filter(([, r]) => r.readingsOf > 1);
        assert.ok(attacked.length >= 2, `epochs ranked from intervals where several pseudonyms had a reading: ${attacked.length}`);
        for (const [e, r] of rankings) {
          const places = r.ranking.filter((a) => mine.has(a)).length;
          assert.ok(places <= 1, `epoch ${e}: ${places} places for one meter`);
          if (r.readingsOf > 0) assert.equal(places, 1, `epoch ${e}: the meter is ranked (once)`);
          if (r.honestRead) assert.ok(r.ranking.includes(honest.address!), `epoch ${e}: the honest home keeps its place`);
        }
        const withBoth = attacked.filter(([, r]) => r.honestRead);
        assert.ok(withBoth.length >= 1, 'an epoch ranks both meters');
        for (const [e, r] of withBoth) assert.equal(r.ranking.length, 2, `epoch ${e}: two meters, two places`);
        // [SYBIL-2] one counted bid; the others refused by the chain's rule
        assert.equal(counted.length, 1, `bids of the meter on chain: ${counted.length}`);
        // the other bids, offered to a chain node's admission on the state after the counted one
        const at = slotTime(g, afterCountedBid!.meta.tipSlot + 1);
        assert.ok(at < closesAtMs, 'still before the close');
        const pool = new Mempool(afterCountedBid!, { now: () => at });
        const codes = bids.filter((b) => b.parameters.address !== counted[0]).map((b) => pool.admit(b).code ?? 'ADMITTED');
        assert.deepEqual([codes.length, [...new Set(codes)]], [bids.length - 1, ['METER_ALREADY_BID']]);
        // the honest home: readings on chain, and its bid counted if it made one
        assert.ok(st.sections.readingHeads.get(honest.address!), 'the honest readings are on chain');
        const a = st.sections.auctions.get(auctionId)!;
        assert.ok(a.status === 'closed' || a.status === 'settled', `the auction cleared (${a.status})`);
        const honestBidOnChain = (a.awards ?? []).some((w) => w.address === honest.address) || (a.excluded ?? []).some((x) => x.address === honest.address);
        if ((honestBid as { bid?: unknown }).bid) assert.ok(honestBidOnChain, 'the honest bid counted');
        const summary = {
          certificatesIssued: issued, validNow: pseudo.length, forNextPeriod: nextPeriod.length, tagsNow: 1, epochsRanked: rankings.size, epochsWithSeveralPseudonymsRead: attacked.length,
          maxReadingsOfMeterInOneInterval: Math.max(...attacked.map(([, r]) => r.readingsOf)), maxPlaces: 1, bidsSent: bids.length, bidsCounted: counted.length,
          refused: `${codes.length}× METER_ALREADY_BID`, honestBid: Boolean((honestBid as { bid?: unknown }).bid), honestBidOnChain, auction: a.status,
        };
        t.diagnostic(`sybil (real processes): ${JSON.stringify(summary)}`);
      } finally {
        await store.close({ snapshot: false });
      }
    } finally {
      await session.close();
    }
  });
});
