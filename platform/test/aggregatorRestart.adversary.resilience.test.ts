/**
 * Resilience: the aggregator's process (`tmi up`: registry, broker, the aggregator's chain
 * node, the aggregator, analytics) is killed with SIGKILL after an auction-open is on
 * chain and before its close. [CLOSE]: an open-bid auction is cleared by the chain's
 * clock, at the first block at or after closesAt, whether or not the aggregator is there
 * to close it, and the restarted aggregator picks it up from the chain.
 *
 *   A  quick restart (before closesAt): cleared on time; the restarted aggregator knows it
 *   B  long outage (the whole `tmi up`, its chain node included, down past closesAt +
 *      voidGraceMs): cleared by the first block after the restart, not void
 *   C  control, no kill: the same harness clears an auction normally
 *
 * Three HEMs (TE pseudonyms, certified by the real registry) bid on each auction over
 * MQTT. The chain state is read from the data directory after a clean stop, and the
 * whole chain is re-validated with `tmi chain verify`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { openChainStoreAt } from '../../poe-chain/store/chainDataDir.js';
import { parseGenesis, slotTime } from '../../poe-chain/core/genesis.js';
import {
  TMI, adminTokenOf, operatorTokenOf, bid, certificateTx, enrollHem, loginHem, portsOf, sleep, startUp, stopUp, waitFor, watchBlocks,
  type SeenBlock, type TestHem, type UpPorts, type UpProcess,
} from './tmiUpProcess.js';

const I = 10_000; // metering interval = epoch; the platform's genesis makes voidGraceMs = min(120 s, I) = 10 s

interface Posted {
  auctionId: string;
  closesAtMs: number;
}

async function post(up: UpProcess, token: string, closesInMs: number): Promise<Posted> {
  const closesAtMs = Date.now() + closesInMs;
  const start = Math.ceil(closesAtMs / I) * I; // the genesis time is a multiple of I: the grid is absolute
  const res = await fetch(`${up.info.urls.aggregator}/admin/auctions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      side: 'buy', energyKWh: 5, priceCents: 30,
      delivery: { start: new Date(start).toISOString(), end: new Date(start + I).toISOString() },
      closesAt: new Date(closesAtMs).toISOString(),
    }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const j = (await res.json()) as { auctionId: string };
  return { auctionId: j.auctionId, closesAtMs };
}

async function aggregatorKnows(up: UpProcess, token: string, auctionId: string): Promise<boolean> {
  const res = await fetch(`${up.info.urls.aggregator}/admin/auctions`, { headers: { authorization: `Bearer ${token}` } });
  const j = (await res.json()) as { items: { auctionId: string }[] };
  return j.items.some((x) => x.auctionId === auctionId);
}

const onChain = (blocks: SeenBlock[], op: string, auctionId: string) => blocks.filter((b) => b.txs.some((t) => t.operation === op && t.auctionId === auctionId));
const countOnChain = (blocks: SeenBlock[], op: string, auctionId: string) =>
  blocks.reduce((s, b) => s + b.txs.filter((t) => t.operation === op && t.auctionId === auctionId).length, 0);

test('[CLOSE] aggregator killed (SIGKILL) mid-auction: the chain clears every auction by its clock; the restarted aggregator picks it up', { timeout: 240_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-aggrestart-'));
  let up: UpProcess | undefined;
  let sessions: MqttClient[] = [];
  const blocks: SeenBlock[] = [];
  const log: string[] = [];
  try {
    up = await startUp(dir, { intervalMs: I });
    const ports: UpPorts = portsOf(up.info);
    const token = await adminTokenOf(up);
    const operator = await operatorTokenOf(up);
    const genesis = parseGenesis(JSON.parse(await readFile(up.info.genesis, 'utf8')));
    assert.equal(genesis.config.voidGraceMs, 10_000);
    const voidGrace = genesis.config.voidGraceMs!;
    const hems: TestHem[] = [];
    for (let i = 0; i < 3; i++) hems.push(await enrollHem(up.info.urls.registry, token, `home-${i}`));

    /** HEM sessions: one watches the blocks; all publish their certificate and bid. */
    const connect = async () => {
      sessions = await Promise.all(hems.map((h) => loginHem(up!.info.urls.mqtt, h)));
      await sessions[0]!.subscribeAsync('tmi/v1/chain/blocks', { qos: 1 });
      watchBlocks(sessions[0]!, blocks);
    };
    const disconnect = async () => {
      await Promise.all(sessions.map((s) => s.endAsync(true).catch(() => undefined)));
      sessions = [];
    };
    await connect();
    for (let i = 0; i < hems.length; i++) await sessions[i]!.publishAsync('tmi/v1/chain/txs', certificateTx(hems[i]!), { qos: 1 });
    await waitFor('3 certificates on chain', () => blocks.reduce((s, b) => s + b.txs.filter((x) => x.operation === 'certificate').length, 0) >= 3, 20_000);

    /** Posts an auction, waits for its open on chain, has each HEM bid, waits for the bids on chain. */
    const openWithBids = async (closesInMs: number): Promise<Posted> => {
      const a = await post(up!, operator, closesInMs);
      await waitFor(`auction-open of ${a.auctionId} on chain`, () => onChain(blocks, 'auction-open', a.auctionId).length > 0, 10_000);
      for (let i = 0; i < hems.length; i++) {
        await sessions[i]!.publishAsync(`tmi/v1/auctions/${a.auctionId}/bids`, bid(hems[i]!, a.auctionId, 'buy', 1000 + 500 * i, 20_000 + 1000 * i), { qos: 1 });
      }
      await waitFor(`3 bids of ${a.auctionId} on chain`, () => countOnChain(blocks, 'bid-offer', a.auctionId) >= 3, 10_000);
      return a;
    };

    // ── A: kill -9 before the close, restart at once
    const A = await openWithBids(12_000);
    assert.ok(Date.now() < A.closesAtMs - 2000, 'A is still open when the process dies');
    await disconnect();
    const killedA = await stopUp(up, 'SIGKILL');
    assert.equal(killedA.signal, 'SIGKILL');
    const killAAt = Date.now();
    up = await startUp(dir, { intervalMs: I, ports });
    log.push(`A: killed ${A.closesAtMs - killAAt} ms before its close; restarted in ${Date.now() - killAAt} ms`);
    await connect();
    const knowsA = await aggregatorKnows(up, operator, A.auctionId);
    log.push(`A: the restarted aggregator ${knowsA ? 'knows' : 'does not know'} the auction (picked up from the chain)`);
    assert.ok(knowsA, 'A: the restarted aggregator picked the auction up from the chain');
    await sleep(A.closesAtMs - Date.now() + 3000);
    const closeA = onChain(blocks, 'auction-close', A.auctionId);
    log.push(`A: auction-close on chain after the restart: ${closeA.length > 0 ? `yes, height ${closeA[0]!.height}` : 'no (none needed)'}`);

    // ── B: kill -9 before the close, down past closesAt + voidGraceMs
    const B = await openWithBids(8000);
    await disconnect();
    const killedB = await stopUp(up, 'SIGKILL');
    assert.equal(killedB.signal, 'SIGKILL');
    const killBAt = Date.now();
    const deadlineB = B.closesAtMs + voidGrace;
    await sleep(deadlineB - Date.now() + 2000);
    up = await startUp(dir, { intervalMs: I, ports });
    const restartB = Date.now();
    log.push(`B: killed ${B.closesAtMs - killBAt} ms before its close; down ${restartB - killBAt} ms (past closesAt + voidGraceMs by ${restartB - deadlineB} ms)`);
    await connect();
    await waitFor('blocks after the restart', () => blocks.some((b) => b.at > restartB), 15_000);

    // ── C: control — no kill
    const C = await openWithBids(4000);
    await sleep(C.closesAtMs - Date.now() + 3000);

    await disconnect();
    const stopped = await stopUp(up, 'SIGTERM');
    assert.equal(stopped.code, 0, `tmi up exits 0 on SIGTERM: ${up.lines.slice(-3).join('\n')}`);
    up = undefined;

    // ── the chain's record, from the data directory
    const store = await openChainStoreAt(dir);
    const st = store.state;
    const a = st.sections.auctions.get(A.auctionId);
    const b = st.sections.auctions.get(B.auctionId);
    const c = st.sections.auctions.get(C.auctionId);
    assert.ok(a && b && c, 'the three auctions are on chain');

    // [CLOSE] every auction cleared, none void, each at the first block whose time is ≥ its closesAt
    const height = store.head.height;
    for (const [name, x, p] of [['A', a, A], ['B', b, B], ['C', c, C]] as const) {
      assert.ok(x.status === 'closed' || x.status === 'settled', `${name} cleared (${x.status}${x.voidReason ? ` ${x.voidReason}` : ''})`);
      assert.equal(x.bidCount, 3);
      assert.ok((x.awards?.length ?? 0) > 0, `${name} has awards`);
      const blk = await store.blockAt(x.closedHeight!);
      const prev = await store.blockAt(x.closedHeight! - 1);
      const time = slotTime(genesis, blk!.parameters.header.slot);
      assert.ok(time >= p.closesAtMs, `${name}: not cleared before closesAt`);
      assert.ok(slotTime(genesis, prev!.parameters.header.slot) < p.closesAtMs, `${name}: cleared by the first block at or after closesAt`);
      log.push(`${name}: cleared in block ${x.closedHeight}, block time ${time - p.closesAtMs} ms after closesAt${time > p.closesAtMs + voidGrace ? ' (past closesAt + voidGraceMs: the old rule would have voided it)' : ''}; awards ${x.awards!.length}, awarded ${x.awardedWh} Wh`);
    }
    await store.close({ snapshot: false });

    // the whole chain re-validates from genesis, across both kills
    const verify = spawnSync(process.execPath, [TMI, 'chain', 'verify', '--data', dir], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(verify.status, 0, `tmi chain verify: ${verify.stdout}${verify.stderr}`);
    log.push(`chain height ${height}; tmi chain verify: ok`);
    for (const l of log) t.diagnostic(l);
  } finally {
    for (const s of sessions) await s.endAsync(true).catch(() => undefined);
    if (up) await stopUp(up, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
