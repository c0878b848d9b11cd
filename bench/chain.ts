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
const dir = await mkdtemp(join(tmpdir(), 'tmi-bench-chain-'));
let importMs = 0;
let finalRoot = '';
let bytes = 0;
try {
  const store = await openChainStore(new Level<string, string>(dir), { genesis: testGenesisConfig({ maxTxsPerBlock: Math.max(5000, PER_BLOCK) }) });
  for (const b of setupBlocks) await store.importBlock(b, { now: Number.MAX_SAFE_INTEGER });
  const perBlock: number[] = [];
  const t1 = performance.now();
  for (const raw of built) {
    const s = performance.now();
    bytes += raw.length;
    const block = JSON.parse(raw) as { parameters: { header: { slot: number } } };
    await store.importBlock(block, { now: slotTime(f.genesis, block.parameters.header.slot) });
    perBlock.push(performance.now() - s);
  }
  importMs = performance.now() - t1;
  finalRoot = stateRoot(store.state);
  await store.close();
  perBlock.sort((a, b) => a - b);
  if (finalRoot !== stateRoot(state)) throw new Error('bench: imported state differs from the built one');
  const importTps = Math.round((txs.length * 1000) / importMs);
  const result = {
    bench: 'chain',
    a: {
      what: 'follower import: JSON.parse + block/tx signatures (node:crypto) + schema + state rules + state root + level batch on disk, one core',
      txs: txs.length,
      mix: { meterReadings: Math.ceil(txs.length / 2), bids: Math.floor(txs.length / 2) },
      pseudonyms: PSEUDONYMS,
      blocks: built.length,
      txsPerBlock: PER_BLOCK,
      meanBlockBytes: Math.round(bytes / built.length),
      importTxPerSecond: importTps,
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
} finally {
  await rm(dir, { recursive: true, force: true });
}
