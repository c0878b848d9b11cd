/**
 * [HEM-IN] What the HEM takes in and where it bids:
 *   - a replayed envelope is refused, also after the HEM restarts (its guard is in its store);
 *   - the guard is bounded: at most maxEntries ids, older dates are refused as stale;
 *   - an RE-only home does not bid; TE and RE+TE homes do.
 * The HEM runs as in production (runHem, level store on disk, real MQTT to an aedes broker).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { generateKeyPair, type KeyPair } from '../../wire/keys.js';
import { signAndEncode, signEnvelope, encode } from '../../wire/codec.js';
import type { AuctionOpen } from '../../schemas/types.js';
import { parseHemConfig } from '../hemConfig.js';
import { runHem, type HemHandle } from '../runHem.js';
import { HemStore, openHemLevel } from '../hemStore.js';
import { openHemReplayGuard } from '../hemReplayGuard.js';
import { programmeTrades } from '../ems.js';
import {
  captureLog, connectClient, constantProfile, endClient, fakeIssuer, sleep, startPlainBroker, tempDir, waitFor, type LogCapture,
} from './hemFixtures.js';

const INTERVAL_MS = 400;
const SPEED = 2250;

async function startHem(brokerUrl: string, agg: KeyPair, dir: string, programme: 'TE' | 'RE' | 'RE+TE' = 'RE+TE'): Promise<{ hem: HemHandle; cap: LogCapture }> {
  const cap = captureLog();
  const cfg = parseHemConfig({
    meterId: 'meter-in',
    dataDir: dir,
    broker: { url: brokerUrl, reconnectMs: 100 },
    registry: { url: 'http://127.0.0.1:9' },
    genesisHash: 'ab'.repeat(32), aggregatorAddress: agg.address,
    intervalMs: INTERVAL_MS,
    speed: SPEED,
    adapter: { type: 'sim', initialSoc: 0.8 },
  });
  const hem = await runHem(cfg, { log: cap.log, issuer: fakeIssuer({ programme }), profile: constantProfile(0, 500) });
  await waitFor(() => hem.pseudonyms.current()?.record.cert && hem.ems.session?.connected, 5000, 'certificate and session');
  await sleep(150); // subscriptions in place
  return { hem, cap };
}

function auctionOpen(id: string): AuctionOpen {
  const start = (Math.floor(Date.now() / INTERVAL_MS) + 2) * INTERVAL_MS;
  return {
    auctionId: id, side: 'buy', energy: { unit: 'Wh', value: 600 }, limitPrice: { unit: 'cents/kWh', value: 100 },
    delivery: { start: new Date(start).toISOString(), end: new Date(start + INTERVAL_MS).toISOString() },
    closesAt: new Date(Date.now() + 5000).toISOString(), pricing: 'pay-as-bid', sealed: false,
  };
}

const bidsOn = (c: MqttClient) => {
  const got: string[] = [];
  c.subscribe('tmi/v1/auctions/+/bids', { qos: 1 });
  c.on('message', (topic) => {
    if (topic.endsWith('/bids')) got.push(topic);
  });
  return got;
};

test('[HEM-IN] a replayed error envelope is refused, also after the HEM restarts', async () => {
  const b = await startPlainBroker();
  const agg = generateKeyPair();
  const c = await connectClient(b.url);
  const dir = await tempDir();
  try {
    // an error signed by the aggregator (a signer the HEM takes errors from), sent live twice
    const err = encode(signEnvelope(agg, 'error', { code: 'RATE_LIMITED', reason: 'test', topic: 'tmi/v1/readings', reqId: 'r'.repeat(24) }));
    let { hem, cap } = await startHem(b.url, agg, dir);
    try {
      c.publish('tmi/v1/clients/meter-in/errors', err, { qos: 1 });
      await waitFor(() => cap.events('broker-error').length === 1, 3000, 'the first copy handled');
      c.publish('tmi/v1/clients/meter-in/errors', err, { qos: 1 });
      await waitFor(() => cap.events('rejected-input').some((e) => e.code === 'REPLAYED'), 3000, 'the second copy refused');
      assert.equal(cap.events('broker-error').length, 1);
    } finally {
      await hem.stop();
    }
    // a restart with the same data directory: the copy is still a replay
    ({ hem, cap } = await startHem(b.url, agg, dir));
    try {
      c.publish('tmi/v1/clients/meter-in/errors', err, { qos: 1 });
      await waitFor(() => cap.events('rejected-input').some((e) => e.code === 'REPLAYED'), 3000, 'refused after the restart');
      assert.equal(cap.events('broker-error').length, 0, 'not handled after the restart');
      // a fresh error is still handled
      c.publish('tmi/v1/clients/meter-in/errors', signAndEncode(agg, 'error', { code: 'RATE_LIMITED', reason: 'new', topic: 'tmi/v1/readings' }), { qos: 1 });
      await waitFor(() => cap.events('broker-error').length === 1, 3000, 'a fresh error handled');
    } finally {
      await hem.stop();
    }
  } finally {
    await endClient(c);
    await b.close();
  }
});

test('[HEM-IN] the replay guard is bounded and its low-water mark survives a reopen', async () => {
  const dir = await tempDir();
  let store = await HemStore.open(await openHemLevel(dir));
  const t = Date.now();
  const at = (ms: number) => new Date(ms).toISOString();
  let g = await openHemReplayGuard({ store, maxEntries: 100, horizonMs: 3_600_000 });
  assert.equal(await g.check('a', 'r-0', at(t), t), 'fresh');
  assert.equal(await g.check('a', 'r-0', at(t), t), 'replayed');
  assert.equal(await g.check('a', 'old', at(t - 3_600_001), t), 'stale', 'dated before the horizon');
  assert.equal(await g.check('a', 'future', at(t + 3_600_001), t), 'stale', 'dated beyond the horizon');
  assert.equal(await g.check('a', 'bad', 'not a date', t), 'stale');
  for (let i = 1; i <= 150; i++) assert.equal(await g.check('a', `r-${i}`, at(t + i), t), 'fresh');
  assert.ok(g.size <= 100, `bounded: ${g.size} ids`);
  // r-0 .. r-10 were evicted: a replay of them is refused as stale, not taken as new
  assert.equal(await g.check('a', 'r-0', at(t), t), 'stale');
  assert.equal(await g.check('a', 'r-5', at(t + 5), t), 'stale');
  assert.equal(await g.check('a', 'r-150', at(t + 150), t), 'replayed');
  await store.close();
  store = await HemStore.open(await openHemLevel(dir));
  g = await openHemReplayGuard({ store, maxEntries: 100, horizonMs: 3_600_000 });
  assert.equal(await g.check('a', 'r-150', at(t + 150), t), 'replayed', 'remembered across a reopen');
  assert.equal(await g.check('a', 'r-5', at(t + 5), t), 'stale', 'the low-water mark too');
  assert.equal(await g.check('a', 'r-151', at(t + 151), t), 'fresh');
  await store.close();
});

test('[HEM-IN] an RE-only home does not bid; TE and RE+TE homes do', async () => {
  assert.deepEqual(['TE', 'RE', 'RE+TE'].map(programmeTrades), [true, false, true]);
  const b = await startPlainBroker();
  const agg = generateKeyPair();
  const c = await connectClient(b.url);
  const bids = bidsOn(c);
  try {
    for (const programme of ['RE', 'TE'] as const) {
      const { hem, cap } = await startHem(b.url, agg, await tempDir(), programme);
      try {
        const id = `P-${programme}`;
        c.publish(`tmi/v1/auctions/${id}`, signAndEncode(agg, 'auction-open', auctionOpen(id)), { qos: 1 });
        if (programme === 'RE') {
          const noBid = await waitFor(() => cap.events('no-bid').find((e) => e.auctionId === id), 3000, 'no-bid');
          assert.equal(noBid.reason, 'PROGRAMME_NOT_TE');
          await sleep(300);
          assert.equal(bids.filter((t) => t.includes(id)).length, 0, 'the RE home sent no bid');
          assert.equal(cap.events('decision').length, 0, 'the controller was not even asked');
        } else {
          await waitFor(() => bids.find((t) => t.includes(id)), 3000, 'the TE home bids');
        }
      } finally {
        await hem.stop();
      }
    }
  } finally {
    await endClient(c);
    await b.close();
  }
});
