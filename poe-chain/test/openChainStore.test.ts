import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLevel } from 'memory-level';
import { Level } from 'level';
import { ChainFixture, testGenesisConfig } from '../testkit/chainFixture.js';
import { DB_FORMAT, openChainStore, type ChainDb, type ChainDbOp } from '../store/openChainStore.js';
import { ChainStoreError } from '../store/chainStoreError.js';
import { verifyChain } from '../store/verifyChain.js';
import { balanceOf, deserializeState, serializeState, stateJsonPieces, stateRoot } from '../core/chainState.js';
import { slotTime } from '../core/genesis.js';

/** A fixture chain of n blocks with some transactions. */
function makeChain(n: number): ChainFixture {
  const f = new ChainFixture();
  const ks = Array.from({ length: 4 }, (_, i) => f.key(`store-${i}`));
  f.produce(ks.map((k) => f.certTx(k)));
  for (let i = 1; i < n; i++) f.produce(i % 3 === 0 ? [f.transferTx(f.aggregator, ks[i % 4]!.address, 100 * i)] : []);
  return f;
}

/** `waitForSnapshots`: after each block, until its snapshot (if due) is written */
async function storeWith(f: ChainFixture, db: ChainDb, snapshotEvery = 4, waitForSnapshots = false) {
  const store = await openChainStore(db, { genesis: testGenesisConfig(), snapshotEvery });
  for (const b of f.blocks) {
    await store.importBlock(JSON.parse(JSON.stringify(b.block)), { now: slotTime(f.genesis, b.block.parameters.header.slot) });
    if (waitForSnapshots) await store.idle();
  }
  return store;
}

function rejectsWith(code: string, heightOrUndefined?: number) {
  return (err: unknown) => {
    assert.ok(err instanceof ChainStoreError, String(err));
    assert.equal(err.code, code, err.message);
    if (heightOrUndefined !== undefined) assert.equal(err.context.height, heightOrUndefined, err.message);
    return true;
  };
}

test('a store appends blocks, indexes them and restarts from snapshot + replay to the same head', async () => {
  const f = makeChain(10);
  const db = new MemoryLevel<string, string>();
  const store = await storeWith(f, db, 4, true);
  assert.equal(store.head.height, 10);
  assert.equal(store.head.hash, f.blocks[9]!.hash);
  assert.equal(stateRoot(store.state), stateRoot(f.state));
  assert.equal((await store.blockAt(5))!.parameters.header.height, 5);
  assert.equal(await store.hashAt(0), f.genesis.hash);
  const txId = f.blocks[3]!.txIds[0]!;
  const found = await store.tx(txId);
  assert.deepEqual([found!.height, found!.index], [4, 0]);
  // snapshots (every 4 blocks) are written after their block, in slices; the last two are kept
  const snaps: string[] = [];
  for await (const k of db.keys({ gte: 's:', lt: 's;' })) snaps.push(k);
  assert.deepEqual(snaps, ['s:000000000004', 's:000000000008']);
  await db.close(); // not store.close(): no tip snapshot, so reopening must replay from snapshot 8
  const again = await openChainStore(db, { snapshotEvery: 4 });
  assert.equal(again.head.height, 10);
  assert.equal(stateRoot(again.state), stateRoot(f.state));
  assert.equal(balanceOf(again.state, f.aggregator.address), balanceOf(f.state, f.aggregator.address));
  await again.close();
});

test('opening an empty database without a genesis, or with another genesis, is refused', async () => {
  await assert.rejects(openChainStore(new MemoryLevel<string, string>()), rejectsWith('NO_CHAIN'));
  const db = new MemoryLevel<string, string>();
  await (await openChainStore(db, { genesis: testGenesisConfig() })).close();
  await assert.rejects(openChainStore(db, { genesis: testGenesisConfig({ chainId: 'other' }) }), rejectsWith('GENESIS_MISMATCH'));
});

/** `mem` as a ChainDb whose batches first pass `before` (which may throw: a power cut), and whose gets first pass `onGet` */
function wrapped(mem: MemoryLevel<string, string>, before: (ops: ChainDbOp[]) => void, onGet: (key: string) => void = () => undefined): ChainDb {
  return {
    get status() {
      return mem.status;
    },
    open: () => mem.open(),
    get: (k) => (onGet(k), mem.get(k)),
    keys: (o) => mem.keys(o),
    close: () => mem.close(),
    async batch(ops: ChainDbOp[]) {
      before(ops);
      await mem.batch(ops);
    },
  };
}

test('a crash in the middle of a block write leaves the previous head intact (one batch per block)', async () => {
  const f = makeChain(6);
  const mem = new MemoryLevel<string, string>();
  let failAt = -1;
  let batches = 0;
  const flaky = wrapped(mem, () => {
    if (batches++ === failAt) throw new Error('power cut');
  });
  const store = await openChainStore(flaky, { genesis: testGenesisConfig(), snapshotEvery: 100 });
  failAt = batches + 4; // the 5th block's batch fails
  for (const b of f.blocks) {
    try {
      await store.importBlock(b.block, { now: Date.now() });
    } catch (err) {
      assert.match((err as Error).message, /power cut/);
      break;
    }
  }
  await mem.close();
  const again = await openChainStore(mem);
  assert.equal(again.head.height, 4);
  assert.equal(again.head.hash, f.blocks[3]!.hash);
  assert.equal(stateRoot(again.state), stateRoot(f.blocks[3]!.state));
});

test('a truncated or corrupted database is detected at open with CORRUPT_DB and the height', async () => {
  const f = makeChain(9);
  // missing height index at the head
  let db = new MemoryLevel<string, string>();
  await storeWith(f, db, 100);
  await db.del('h:000000000009');
  await db.close();
  await assert.rejects(openChainStore(db), rejectsWith('CORRUPT_DB', 9));
  // one byte of a stored block flipped (after the last snapshot, so it is replayed)
  db = new MemoryLevel<string, string>();
  await storeWith(f, db, 100);
  const key = `b:${f.blocks[6]!.hash}`;
  const raw = (await db.get(key))!;
  const i = raw.indexOf('"stateRoot":"') + 14;
  await db.put(key, raw.slice(0, i) + (raw[i] === 'a' ? 'b' : 'a') + raw.slice(i + 1));
  await db.close();
  await assert.rejects(openChainStore(db), rejectsWith('CORRUPT_DB', 7));
  // unreadable meta
  db = new MemoryLevel<string, string>();
  await storeWith(f, db, 100);
  await db.put('meta', '{nope');
  await db.close();
  await assert.rejects(openChainStore(db), rejectsWith('CORRUPT_DB'));
  // head ahead of the stored blocks
  db = new MemoryLevel<string, string>();
  await storeWith(f, db, 100);
  const head = JSON.parse((await db.get('head'))!) as { height: number };
  await db.put('head', JSON.stringify({ ...head, height: 12 }));
  await db.close();
  await assert.rejects(openChainStore(db), rejectsWith('CORRUPT_DB', 10));
});

test('rewindTo drops the canonical blocks above a height and restores that state', async () => {
  const f = makeChain(10);
  const db = new MemoryLevel<string, string>();
  const store = await storeWith(f, db, 4);
  await store.rewindTo(6);
  assert.equal(store.head.height, 6);
  assert.equal(stateRoot(store.state), stateRoot(f.blocks[5]!.state));
  assert.equal(await store.hashAt(7), undefined);
  assert.equal(await store.tx(f.blocks[9]!.txIds[0]!), undefined);
  // the dropped blocks can be imported again
  await store.importBlock(f.blocks[6]!.block, { now: Date.now() });
  assert.equal(store.head.hash, f.blocks[6]!.hash);
  await db.close();
  const again = await openChainStore(db);
  assert.equal(again.head.height, 7);
});

test('[FIN] stateAt reads the state at any canonical height (snapshot + replay) and changes nothing', async () => {
  const f = makeChain(10);
  const db = new MemoryLevel<string, string>();
  const store = await storeWith(f, db, 4, true);
  const head = store.head;
  for (let h = 0; h <= 10; h++) {
    const st = await store.stateAt(h);
    assert.equal(stateRoot(st), stateRoot(h === 0 ? new ChainFixture().state : f.blocks[h - 1]!.state), `height ${h}`);
  }
  assert.deepEqual(store.head, head, 'the head did not move');
  assert.equal(stateRoot(store.state), stateRoot(f.state));
  await assert.rejects(store.stateAt(11), rejectsWith('BAD_HEIGHT'));
  await assert.rejects(store.stateAt(-1), rejectsWith('BAD_HEIGHT'));
  await store.close();
});

test('level on disk: restart from disk; a second process-like open of the same directory is LOCKED', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-chain-'));
  try {
    const f = makeChain(5);
    const store = await storeWith(f, new Level<string, string>(dir), 2);
    await assert.rejects(openChainStore(new Level<string, string>(dir)), rejectsWith('LOCKED'));
    await store.close();
    const again = await openChainStore(new Level<string, string>(dir));
    assert.equal(again.head.height, 5);
    assert.equal(stateRoot(again.state), stateRoot(f.state));
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a state written in pieces (stateJsonPieces) reads back as the same state, whatever the piece size', () => {
  const f = makeChain(6);
  for (const per of [1, 3, 2000]) {
    const pieces = [...stateJsonPieces(f.state, per)];
    const back = deserializeState(JSON.parse(pieces.join('')));
    assert.equal(stateRoot(back), stateRoot(f.state), `piece size ${per}`);
    assert.equal(back.tipHash, f.state.tipHash);
    if (per === 1) assert.ok(pieces.length > 10, 'one entry per piece');
  }
});

test('a database of an earlier format (tmi-chain-db-v1, v3, v4, v5, v6, v7) is refused by name at open and by verifyChain, never misread', async () => {
  assert.equal(DB_FORMAT, 'tmi-chain-db-v8');
  // v4: feeder limits written by auction-open, entries without issuedAt [FEEDER-1]; v5: transactions that name no chain [DOMAIN-TX];
  // v6: states without the finality gadget [FIN]; v7: links counted by the target epoch's committee [FIN-C]
  for (const old of ['tmi-chain-db-v1', 'tmi-chain-db-v3', 'tmi-chain-db-v4', 'tmi-chain-db-v5', 'tmi-chain-db-v6', 'tmi-chain-db-v7']) {
    const db = new MemoryLevel<string, string>();
    const config = testGenesisConfig();
    await db.put('meta', JSON.stringify({ format: old, chainId: config.chainId, genesisHash: 'ab'.repeat(32) }));
    await db.put('genesis', JSON.stringify(config));
    await db.put('head', JSON.stringify({ height: 0, hash: 'ab'.repeat(32), slot: 0, stateRoot: 'cd'.repeat(32) }));
    await assert.rejects(
      openChainStore(db as unknown as ChainDb),
      (e: unknown) => e instanceof ChainStoreError && e.code === 'OLD_FORMAT' && e.message.includes(`format=${old}`) && e.message.includes('expected=tmi-chain-db-v8'),
      old,
    );
    const v = await verifyChain(db as unknown as ChainDb);
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.code, 'OLD_FORMAT');
    assert.ok((!v.ok ? v.reason : '').includes(old), old);
  }
});

test('a state snapshot of an earlier format (tmi-chain-state-v7) is refused by name', () => {
  const f = new ChainFixture();
  const old = { ...serializeState(f.state), format: 'tmi-chain-state-v7' };
  assert.throws(() => deserializeState(old), /STATE_INVALID reason=old format format=tmi-chain-state-v7 expected=tmi-chain-state-v8/);
});

/** the keys under a prefix */
async function keysOf(db: MemoryLevel<string, string>, prefix: string): Promise<string[]> {
  const ks: string[] = [];
  for await (const k of db.keys({ gte: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1) })) ks.push(k);
  return ks;
}

test('[STORE-CHUNK] a snapshot is written in chunks and read back whole; dropped snapshots take their chunks with them', async () => {
  const f = makeChain(12);
  const db = new MemoryLevel<string, string>();
  const store = await openChainStore(db, { genesis: testGenesisConfig(), snapshotEvery: 4, snapshotChunkChars: 200 });
  for (const b of f.blocks) {
    await store.importBlock(JSON.parse(JSON.stringify(b.block)), { now: slotTime(f.genesis, b.block.parameters.header.slot) });
    await store.idle();
  }
  // snapshots at 4, 8, 12; the last two kept, each as a record naming its chunks
  assert.deepEqual(await keysOf(db, 's:'), ['s:000000000008', 's:000000000012']);
  const record = JSON.parse((await db.get('s:000000000012'))!) as { snapshot: string; chunks: number; chars: number };
  assert.equal(record.snapshot, 'chunks');
  assert.ok(record.chunks >= 3, `chunks: ${record.chunks}`);
  const chunks = await keysOf(db, 'c:000000000012:');
  assert.equal(chunks.length, record.chunks);
  let text = '';
  for (const k of chunks) text += (await db.get(k))!;
  assert.equal(text.length, record.chars);
  assert.equal(stateRoot(deserializeState(JSON.parse(text))), stateRoot(f.blocks[11]!.state), 'the chunks joined are the state at 12');
  assert.deepEqual((await keysOf(db, 'c:')).filter((k) => !k.startsWith('c:000000000008:') && !k.startsWith('c:000000000012:')), [], 'the chunks of the dropped snapshots (0, 4) are gone');
  // reopened without store.close() (no tip snapshot): from the chunked snapshot at 12
  await db.close();
  const again = await openChainStore(db, { snapshotEvery: 4 });
  assert.equal(again.head.height, 12);
  assert.equal(stateRoot(again.state), stateRoot(f.state));
  // a rewind below 12 drops that snapshot and its chunks; stateAt(9) reads the one at 8
  await again.rewindTo(10);
  assert.deepEqual(await keysOf(db, 'c:000000000012:'), []);
  assert.equal(stateRoot(await again.stateAt(9)), stateRoot(f.blocks[8]!.state));
  await again.close();
});

test('[STORE-CHUNK] a snapshot cut short (chunks, no record), or missing a chunk, is never used; orphan chunks go at open', async () => {
  const f = makeChain(8);
  const mem = new MemoryLevel<string, string>();
  let cut = false;
  const flaky = wrapped(mem, (ops) => {
    // the power fails when the snapshot at 8 is about to get its record
    if (cut && ops.some((o) => o.type === 'put' && o.key === 's:000000000008')) throw new Error('power cut');
  });
  const store = await openChainStore(flaky, { genesis: testGenesisConfig(), snapshotEvery: 4, snapshotChunkChars: 200 });
  for (const b of f.blocks) {
    cut = b.block.parameters.header.height === 8;
    await store.importBlock(JSON.parse(JSON.stringify(b.block)), { now: slotTime(f.genesis, b.block.parameters.header.slot) });
    await store.idle();
  }
  assert.ok((await keysOf(mem, 'c:000000000008:')).length > 0, 'the chunks at 8 were written');
  assert.equal(await mem.get('s:000000000008'), undefined, 'its record was not');
  await mem.close();
  const again = await openChainStore(mem, { snapshotEvery: 4, snapshotChunkChars: 200 });
  assert.equal(again.head.height, 8);
  assert.equal(stateRoot(again.state), stateRoot(f.state), 'replayed from the snapshot at 4');
  assert.deepEqual(await keysOf(mem, 'c:000000000008:'), [], 'the orphan chunks are gone');
  await again.close(); // writes the tip snapshot at 8, in chunks
  await mem.open();
  // a chunk of it lost: that snapshot is not used, the one at 4 is
  const lost = (await keysOf(mem, 'c:000000000008:'))[1]!;
  await mem.del(lost);
  await mem.close();
  const blocksRead: string[] = [];
  const counting = wrapped(mem, () => undefined, (k) => void (k.startsWith('b:') && blocksRead.push(k)));
  const third = await openChainStore(counting, { snapshotEvery: 4 });
  assert.equal(stateRoot(third.state), stateRoot(f.state));
  assert.equal(blocksRead.length, 4, 'blocks 5..8 replayed from the snapshot at 4');
  await third.close();
});

test('[STORE-CHUNK] a snapshot stored whole (before chunks) is still read', async () => {
  const f = makeChain(6);
  const db = new MemoryLevel<string, string>();
  const store = await openChainStore(db, { genesis: testGenesisConfig(), snapshotEvery: 100 });
  for (const b of f.blocks) await store.importBlock(JSON.parse(JSON.stringify(b.block)), { now: slotTime(f.genesis, b.block.parameters.header.slot) });
  // as an earlier version wrote it: the whole state as one value at s:<height>
  await db.put('s:000000000005', JSON.stringify(serializeState(f.blocks[4]!.state)));
  // block 6 made unreadable: an open that replayed from genesis would fail at 6, one from snapshot 5 not at 1..5
  await db.close();
  const again = await openChainStore(db, { snapshotEvery: 100 });
  assert.equal(stateRoot(again.state), stateRoot(f.state));
  assert.equal(stateRoot(await again.stateAt(5)), stateRoot(f.blocks[4]!.state));
  await again.close();
});
