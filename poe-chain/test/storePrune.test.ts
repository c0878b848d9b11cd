/**
 * [STORE-P] pruning below a final block and [SYNC-C] a store started from a checkpoint: what
 * is gone is gone, what is kept still opens, replays and verifies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLevel } from 'memory-level';
import { ChainFixture, testGenesisConfig } from '../testkit/chainFixture.js';
import { initChainStoreFromCheckpoint, openChainStore, readSnapshotText, type ChainDb } from '../store/openChainStore.js';
import { ChainStoreError } from '../store/chainStoreError.js';
import { verifyChain } from '../store/verifyChain.js';
import { stateRoot } from '../core/chainState.js';
import { slotTime } from '../core/genesis.js';

function makeChain(n: number): ChainFixture {
  const f = new ChainFixture();
  const ks = Array.from({ length: 4 }, (_, i) => f.key(`prune-${i}`));
  f.produce(ks.map((k) => f.certTx(k)));
  for (let i = 1; i < n; i++) f.produce(i % 2 === 0 ? [f.transferTx(f.aggregator, ks[i % 4]!.address, 10 * i)] : []);
  return f;
}

async function storeOf(f: ChainFixture, db: ChainDb, upTo = f.blocks.length, snapshotEvery = 4) {
  const store = await openChainStore(db, { genesis: testGenesisConfig(), snapshotEvery });
  for (const b of f.blocks.slice(0, upTo)) {
    await store.importBlock(JSON.parse(JSON.stringify(b.block)), { now: slotTime(f.genesis, b.block.parameters.header.slot) });
    await store.idle();
  }
  return store;
}

const isCode = (code: string) => (e: unknown) => e instanceof ChainStoreError && e.code === code;

test('[STORE-P] pruning to a block: blocks, indexes and snapshots below it go; the store reopens, rewinds above it and verifies what it holds', async () => {
  const f = makeChain(30);
  const db = new MemoryLevel<string, string>();
  const store = await storeOf(f, db);
  const P = 17;
  const prunedTx = f.blocks[P - 3]!.txIds[0] ?? f.blocks[P - 2]!.txIds[0]!;
  const keptTx = f.blocks[P + 3]!.txIds[0] ?? f.blocks[P + 2]!.txIds[0]!;
  assert.ok(await store.tx(prunedTx), 'a transaction below the base is indexed before pruning');

  const r = await store.pruneTo(f.blocks[P - 1]!.state);
  assert.deepEqual(r, { height: P, blocksDeleted: P - 1 });
  assert.equal(store.prunedHeight, P);
  for (let h = 1; h < P; h++) assert.equal(await store.blockAt(h), undefined, `block ${h} gone`);
  assert.equal((await store.blockAt(P))!.parameters.header.height, P, 'the base block stays');
  assert.equal(await store.tx(prunedTx), undefined, 'its transactions are no longer indexed');
  assert.ok(await store.tx(keptTx));
  const keys: string[] = [];
  for await (const k of db.keys()) keys.push(k);
  assert.equal(keys.filter((k) => k.startsWith('h:') && Number(k.slice(2)) < P).length, 0);
  assert.deepEqual(keys.filter((k) => k.startsWith('s:')).map((k) => Number(k.slice(2))).filter((h) => h < P), [], 'no snapshot below the base');

  // not below the base, not twice to the same height
  await assert.rejects(store.rewindTo(P - 1), isCode('BAD_HEIGHT'));
  await assert.rejects(store.pruneTo(f.blocks[P - 1]!.state), isCode('BAD_HEIGHT'));
  await store.rewindTo(P + 2);
  assert.equal(store.head.height, P + 2);
  assert.equal(stateRoot(store.state), stateRoot(f.blocks[P + 1]!.state));
  await store.close();

  // reopen: the base snapshot (never dropped by keepSnapshots) and the blocks above it
  const again = await openChainStore(db, { snapshotEvery: 4 });
  assert.equal(again.prunedHeight, P);
  assert.equal(again.head.height, P + 2);
  for (const b of f.blocks.slice(P + 2)) {
    await again.importBlock(JSON.parse(JSON.stringify(b.block)), { now: slotTime(f.genesis, b.block.parameters.header.slot) });
    await again.idle();
  }
  assert.equal(again.head.height, 30);
  let snaps: number[] = [];
  for await (const k of db.keys({ gte: 's:', lt: 's;' })) snaps.push(Number(k.slice(2)));
  assert.ok(snaps.includes(P), `the base snapshot survives later snapshots: ${snaps.join(',')}`);
  await db.close();
  const third = await openChainStore(db, {});
  assert.equal(stateRoot(third.state), stateRoot(f.state));
  await third.close({ snapshot: false });

  const v = await verifyChain(db);
  assert.ok(v.ok, JSON.stringify(v));
  assert.equal(v.ok && v.prunedBelow, P);
  assert.equal(v.ok && v.blocks, 30 - P);
  assert.equal(v.ok && v.stateRoot, stateRoot(f.state));

  // a base snapshot that is not the state its block commits to: refused by verify
  const snapKey = `s:${String(P).padStart(12, '0')}`;
  const good = (await db.get(snapKey))!; // [STORE-CHUNK] the record naming its chunks
  const bad = JSON.parse((await readSnapshotText(db, P))!) as { sections: { wallets: [string, string][] }; stateRoot?: string };
  bad.sections.wallets[0]![1] = '999999999';
  delete bad.stateRoot;
  await db.put(snapKey, JSON.stringify(bad)); // stored whole, as before chunks
  const v2 = await verifyChain(db);
  assert.equal(v2.ok, false);
  assert.equal(!v2.ok && v2.code, 'BAD_SNAPSHOT');
  await db.put(snapKey, good);
  // and a pruned store without a usable base cannot open (it cannot replay from genesis)
  await db.del(snapKey);
  for (const h of snaps.filter((x) => x !== P)) await db.del(`s:${String(h).padStart(12, '0')}`);
  await assert.rejects(openChainStore(db, {}), (e: unknown) => e instanceof ChainStoreError && e.code === 'CORRUPT_DB' && e.message.includes(`pruned below height ${P}`));
  snaps = [];
});

test('[SYNC-C] a store started from a checkpoint holds that block and its state, and appends the chain above it', async () => {
  const f = makeChain(20);
  const P = 12;
  const base = f.blocks[P - 1]!;
  const db = new MemoryLevel<string, string>();
  // the state must be the one the block commits to
  await assert.rejects(initChainStoreFromCheckpoint(db, f.blocks[P - 2]!.state, base.block), isCode('BAD_CHECKPOINT'));
  await initChainStoreFromCheckpoint(db, base.state, base.block);
  await assert.rejects(initChainStoreFromCheckpoint(db, base.state, base.block), isCode('NOT_EMPTY'));
  const store = await openChainStore(db, { genesis: testGenesisConfig() });
  assert.equal(store.head.height, P);
  assert.equal(store.prunedHeight, P);
  assert.equal(await store.blockAt(P - 1), undefined);
  for (const b of f.blocks.slice(P)) await store.importBlock(JSON.parse(JSON.stringify(b.block)), { now: slotTime(f.genesis, b.block.parameters.header.slot) });
  assert.equal(stateRoot(store.state), stateRoot(f.state));
  await store.close();
  const v = await verifyChain(db);
  assert.ok(v.ok && v.prunedBelow === P && v.blocks === 20 - P, JSON.stringify(v));
});

test('[STORE-P] on disk, pruning compacts the ranges it deleted (in the background; close waits for it)', async () => {
  const { Level } = await import('level');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'tmi-prune-compact-'));
  try {
    const f = makeChain(30);
    const db = new Level<string, string>(dir);
    const calls: [string, string][] = [];
    // the 'level' package is classic-level in Node, whose compactRange its types do not name
    const withCompact = db as unknown as { compactRange: (a: string, b: string) => Promise<void> };
    const compact = withCompact.compactRange.bind(db);
    withCompact.compactRange = (a, b) => (calls.push([a, b]), compact(a, b));
    const store = await storeOf(f, db as unknown as ChainDb);
    await store.pruneTo(f.blocks[16]!.state);
    await store.close();
    assert.deepEqual(calls, [['s:000000000000', 's:000000000017'], ['c:000000000000:000000', 'c:000000000017:000000'], ['h:000000000000', 'h:000000000017'], ['b:', 'b;'], ['t:', 't;']]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
