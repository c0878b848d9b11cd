/**
 * npm run bench:chain — the PoE chain on one node. Prints JSON.
 *
 * (a) sustained transactions per second applied into blocks with every check a follower
 *     makes (block and transaction signatures, schema, state rules, state root) and level
 *     persistence on disk (one atomic batch per block, snapshots every 64 blocks):
 *     BENCH_TXS pre-signed meter readings and bids (half each) by BENCH_PSEUDONYMS
 *     certified pseudonyms, in blocks of BENCH_BLOCK transactions. Block production
 *     (select, apply, roots, sign) is timed separately.
 * (b) confirmation latency and (c) idle CPU/disk need the networked node: not measured here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { ChainFixture, testGenesisConfig } from '../poe-chain/testkit/chainFixture.js';
import { buildBlock } from '../poe-chain/core/buildBlock.js';
import { slotTime } from '../poe-chain/core/genesis.js';
import { stateRoot } from '../poe-chain/core/chainState.js';
import { openChainStore } from '../poe-chain/store/openChainStore.js';
import { machine } from './machine.js';
import { availableParallelism } from 'node:os';
import { createCodec } from '../wire/codec.js';
import { createVerifiedCodec } from '../poe-chain/node/verifiedCodec.js';
import { createTxVerifyPool, preverifyTxs, startVerify, type PendingVerify, type TxVerifyPool } from '../poe-chain/node/txVerifyPool.js';

const TXS = Number(process.env.BENCH_TXS ?? 20_000);
const PER_BLOCK = Number(process.env.BENCH_BLOCK ?? 1000);
const PSEUDONYMS = Number(process.env.BENCH_PSEUDONYMS ?? 2000);
const TARGET = 3000;

const readingsPer = Math.ceil(TXS / 2 / PSEUDONYMS);
const auctions = Math.ceil(TXS / 2 / PSEUDONYMS);
const workEpoch = readingsPer + 2; // readings for intervals 0..readingsPer−1 have ended

const f = new ChainFixture({ genesis: { maxTxsPerBlock: Math.max(5000, PER_BLOCK) } });
const hems = Array.from({ length: PSEUDONYMS }, (_, i) => f.key(`bench-${i}`));

// ── setup (not timed): certificates and open auctions ──────────────────────────
const setupBlocks: unknown[] = [];
for (let i = 0; i < hems.length; i += 2000) {
  setupBlocks.push(f.produce(hems.slice(i, i + 2000).map((k) => f.certTx(k))).block);
}
const closesAt = new Date(Date.parse(f.interval(workEpoch + 1).start)).toISOString();
setupBlocks.push(
  f.produce(Array.from({ length: auctions }, (_, a) => f.auctionOpenTx(`bench-${a}`, { side: 'buy', energyWh: 1_000_000, limitMc: 30_000, deliveryEpoch: workEpoch + 2, closesAt }))).block,
);

// pre-signed workload, readings and bids interleaved
const firstSlot = f.firstSlotOf(workEpoch);
const date = f.at(firstSlot);
const txs: unknown[] = [];
for (let r = 0; r < readingsPer && txs.length < TXS; r++) {
  for (let i = 0; i < hems.length && txs.length < TXS; i++) {
    const k = hems[i]!;
    txs.push(f.readingTx(k, r, { p: 300 + (i % 500), c: 200 + (i % 300), ch: i % 100, dis: i % 70 }, r + 1, date));
    if (txs.length < TXS) txs.push(f.bidTx(k, `bench-${r % auctions}`, { open: f.openBid('sell', 500 + (i % 1000), 10_000 + (i % 7) * 1000) }, 'F1', date));
  }
}

// one more signed reading per pseudonym, not in any block: both import runs verify these first
// (untimed), so each starts with every signer's public key parsed and cached, on every thread,
// as a node that has been running for an interval
const warmUp = hems.map((k, i) => f.readingTx(k, readingsPer + 9, { p: 1 + i, c: 1, ch: 0, dis: 0 }, 1, date));

// ── production (timed): buildBlock with full decoding of every candidate ───────
let state = f.state;
const built: string[] = [];
const t0 = performance.now();
for (let i = 0, slot = firstSlot; i < txs.length; i += PER_BLOCK, slot++) {
  const b = buildBlock(state, txs.slice(i, i + PER_BLOCK), f.node, slot, slotTime(f.genesis, slot));
  if (b.rejected.length) throw new Error(`bench: rejected ${b.rejected[0]!.message}`);
  built.push(JSON.stringify(b.block));
  state = b.state;
}
const buildMs = performance.now() - t0;

// ── import (timed): bytes → JSON → validate → apply → persist, per block ────────
// run twice from the same blocks: on one thread, then with the verify pool [NODE-verify]
async function importAll(pool: TxVerifyPool | undefined): Promise<{ ms: number; perBlock: number[]; root: string; bytes: number; offThread: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-bench-chain-'));
  try {
    const store = await openChainStore(new Level<string, string>(dir), { genesis: testGenesisConfig({ maxTxsPerBlock: Math.max(5000, PER_BLOCK) }) });
    for (const b of setupBlocks) await store.importBlock(b, { now: Number.MAX_SAFE_INTEGER });
    const codec = createVerifiedCodec(createCodec({ replayCheck: false }));
    for (const w of warmUp) codec.decodeValue(w, { replayCheck: false });
    if (pool) for (let k = 0; k < pool.threads; k++) await pool.verify(warmUp);
    const perBlock: number[] = [];
    let bytes = 0;
    let offThread = 0;
    const t1 = performance.now();
    type Parsed = { parameters: { header: { slot: number }; txs: unknown[] } };
    // with the pool, as a node importing a run of blocks: block k + 1's signatures are checked
    // off the main thread while block k is imported (the first block: split with the main thread)
    let parsedNext: Parsed | undefined;
    let ahead: PendingVerify | undefined;
    for (let k = 0; k < built.length; k++) {
      const s = performance.now();
      bytes += built[k]!.length;
      const block = parsedNext ?? (JSON.parse(built[k]!) as Parsed);
      parsedNext = undefined;
      if (pool) {
        offThread += ahead ? await ahead.finish() : await preverifyTxs(pool, codec, block.parameters.txs);
        ahead = undefined;
        if (k + 1 < built.length) {
          parsedNext = JSON.parse(built[k + 1]!) as Parsed;
          ahead = startVerify(pool, codec, parsedNext.parameters.txs);
        }
      }
      await store.importBlock(block, { now: slotTime(f.genesis, block.parameters.header.slot), codec });
      perBlock.push(performance.now() - s);
    }
    const ms = performance.now() - t1;
    const root = stateRoot(store.state);
    await store.close();
    perBlock.sort((x, y) => x - y);
    return { ms, perBlock, root, bytes, offThread };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const THREADS = Math.max(1, availableParallelism() - 1);
{
  const one = await importAll(undefined);
  const pool = createTxVerifyPool(THREADS);
  const pooled = await importAll(pool);
  await pool.close();
  for (const r of [one, pooled]) if (r.root !== stateRoot(state)) throw new Error('bench: imported state differs from the built one');
  const perBlock = pooled.perBlock;
  const bytes = pooled.bytes;
  const finalRoot = pooled.root;
  const importTps = Math.round((txs.length * 1000) / pooled.ms);
  const oneTps = Math.round((txs.length * 1000) / one.ms);
  const result = {
    bench: 'chain',
    a: {
      what: 'follower import: JSON.parse + block/tx signatures (node:crypto) + schema + state rules + state root + level batch on disk; importTxPerSecond with the verify pool (signatures on every core), importTxPerSecondOneThread the same blocks on one thread; each run has its own codec and verifies one other transaction of every signer first, untimed, so every thread starts with the keys cached',
      txs: txs.length,
      mix: { meterReadings: Math.ceil(txs.length / 2), bids: Math.floor(txs.length / 2) },
      pseudonyms: PSEUDONYMS,
      blocks: built.length,
      txsPerBlock: PER_BLOCK,
      meanBlockBytes: Math.round(bytes / built.length),
      importTxPerSecond: importTps,
      importTxPerSecondOneThread: oneTps,
      poolRatio: Math.round((importTps / oneTps) * 100) / 100,
      verifyThreads: THREADS,
      verifiedOffMainThread: pooled.offThread,
      poolTarget: 1.6,
      importMsPerBlock: { median: Math.round(perBlock[perBlock.length >> 1]! * 10) / 10, max: Math.round(perBlock[perBlock.length - 1]! * 10) / 10 },
      buildTxPerSecond: Math.round((txs.length * 1000) / buildMs),
      buildNote: 'producer: decode + apply each candidate, roots, sign; no persistence',
      target: { importTxPerSecond: TARGET },
      meetsTarget: importTps >= TARGET,
      stateRoot: finalRoot,
    },
    b: { confirmationLatency: 'not measured: needs networked node' },
    c: { idleCpuAndDisk: 'not measured: needs networked node' },
    machine: machine(),
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}
