import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { ChainFixture, testGenesisConfig } from '../../poe-chain/testkit/chainFixture.js';
import { openChainStore } from '../../poe-chain/store/openChainStore.js';
import { chainDbPath } from '../../poe-chain/store/chainDataDir.js';
import { stateRoot, balanceOf } from '../../poe-chain/core/chainState.js';

const TMI = fileURLToPath(new URL('../tmi.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [TMI, ...args], { encoding: 'utf8' });

/** A chain of 8 blocks with an auction settled, written to <dir>/chain. */
async function writeChain(dir: string): Promise<ChainFixture> {
  const f = new ChainFixture();
  const a = f.key('cli-a');
  const b = f.key('cli-b');
  f.produce([f.certTx(a), f.certTx(b)]);
  const closesAt = new Date(Date.parse(f.interval(1).start) + 10_000).toISOString();
  f.produce([f.auctionOpenTx('cli-auction', { energyWh: 4000, deliveryEpoch: 2, closesAt })]);
  f.produce([f.bidTx(a, 'cli-auction', { open: f.openBid('sell', 3000, 9000) }), f.bidTx(b, 'cli-auction', { open: f.openBid('sell', 3000, 11_000) })]);
  const close = f.firstSlotOf(1) + 40;
  f.produce([f.auctionCloseTx('cli-auction', f.aggregator, f.at(close))], close);
  const after = f.firstSlotOf(3) + 1;
  f.produce([f.readingTx(a, 2, { dis: 3000 }, 1, f.at(after)), f.readingTx(b, 2, { dis: 500 }, 1, f.at(after))], after);
  f.produce([f.transferTx(a, b.address, 1000, f.at(after + 1))], after + 1);
  f.produce([]); // heartbeats, W slots apart [REWARD]
  f.produce([]);
  const store = await openChainStore(new Level<string, string>(chainDbPath(dir)), { genesis: testGenesisConfig(), snapshotEvery: 4 });
  for (const blk of f.blocks) await store.importBlock(blk.block, { now: Date.now() });
  await store.close({ snapshot: false });
  return f;
}

test('tmi chain genesis + init + status on an empty chain', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-chain-cli-'));
  try {
    const k = testGenesisConfig();
    const file = join(dir, 'genesis.json');
    const g = run('chain', 'genesis', '--registry', k.registryKey, '--aggregator', k.aggregatorKey, '--node', k.aggregatorNodeKey, '--genesis-time', '2026-11-21T00:00:00.000Z', '--out', file);
    assert.equal(g.status, 0, g.stderr);
    const init = run('chain', 'init', '--genesis', file, '--data', dir);
    assert.equal(init.status, 0, init.stderr);
    const out = JSON.parse(init.stdout) as { genesisHash: string; height: number };
    assert.equal(out.height, 0);
    const st = run('chain', 'status', '--data', dir);
    assert.equal(st.status, 0, st.stderr);
    const s = JSON.parse(st.stdout) as { height: number; tipHash: string; producer: null; epoch: number };
    assert.deepEqual([s.height, s.tipHash, s.producer, s.epoch], [0, out.genesisHash, null, 0]);
    const again = run('chain', 'init', '--genesis', file, '--data', dir);
    assert.equal(again.status, 0, 'init on the same genesis is idempotent');
    const bad = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...bad, chainId: 'other' }));
    const other = run('chain', 'init', '--genesis', file, '--data', dir);
    assert.equal(other.status, 1);
    assert.match(other.stderr, /GENESIS_MISMATCH/);
    const none = run('chain', 'status', '--data', join(dir, 'nowhere'));
    assert.equal(none.status, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('tmi chain status, tmi wallet and tmi chain verify read a stored chain', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-chain-cli-'));
  try {
    const f = await writeChain(dir);
    const st = run('chain', 'status', '--data', dir);
    assert.equal(st.status, 0, st.stderr);
    const s = JSON.parse(st.stdout) as { height: number; tipHash: string; stateRoot: string; producer: string; epoch: number };
    assert.equal(s.height, 8);
    assert.equal(s.tipHash, f.blocks[7]!.hash);
    assert.equal(s.stateRoot, stateRoot(f.state));
    assert.equal(s.producer, f.blocks[7]!.block.parameters.header.producer);
    assert.equal(s.epoch, 3);
    const a = f.key('cli-a').address;
    const w = run('wallet', a, '--data', dir);
    assert.equal(w.status, 0, w.stderr);
    const wallet = JSON.parse(w.stdout) as { millicents: string; cents: string };
    // 3000 Wh × 9000 mc/kWh = 27000 mc, minus a transfer of 1000 mc
    assert.equal(wallet.millicents, String(balanceOf(f.state, a)));
    assert.equal(wallet.millicents, '26000');
    assert.equal(wallet.cents, '26.000');
    const bw = JSON.parse(run('wallet', f.key('cli-b').address, '--data', dir).stdout) as { millicents: string; cents: string };
    // b: awarded 1000 Wh at 11000, delivered 500: payment 5500, penalty 500 × 5000/1000 = 2500, +1000 transfer
    assert.equal(bw.millicents, '4000');
    assert.equal(run('wallet', 'not-an-address', '--data', dir).status, 1);
    const v = run('chain', 'verify', '--data', dir);
    assert.equal(v.status, 0, v.stderr);
    const vr = JSON.parse(v.stdout) as { ok: boolean; height: number; election: { epochs: number; epochsWithValidators: number; longestBlockGapSlots: number } };
    assert.equal(vr.height, 8);
    // the fixture chain ranks nobody (no reading of interval e − 2 before its epochs): one record per epoch with blocks, none with validators
    assert.deepEqual([vr.election.epochs, vr.election.epochsWithValidators], [new Set(f.blocks.map((b) => b.block.parameters.header.epoch)).size, 0]);
    assert.equal(vr.election.longestBlockGapSlots, Math.max(...f.blocks.map((b, i) => b.block.parameters.header.slot - (i === 0 ? 0 : f.blocks[i - 1]!.block.parameters.header.slot))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('[FIN] tmi wallet: the balance at the final block and at the head, each payment final or unconfirmed, and which final height it used', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-chain-cli-'));
  try {
    const f = await writeChain(dir);
    const a = f.key('cli-a').address;
    type Out = {
      millicents: string; height: number; finalizedHeight: number; finalizedHeightSource: string; finalizedHeightFrom: { nodeRecord: number | null; provenOnChain: number };
      final: { millicents: string; height: number }; unconfirmedChange: { millicents: string };
      payments: { kind: string; height: number; millicents: string; status: string }[]; paymentsUnconfirmed: number;
    };
    const wallet = (): Out => {
      const r = run('wallet', a, '--data', dir);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as Out;
    };
    // no node record, and the fixture's chain proves only genesis final: everything is unconfirmed
    const none = wallet();
    assert.deepEqual([none.finalizedHeight, none.finalizedHeightSource, none.finalizedHeightFrom], [0, 'chain', { nodeRecord: null, provenOnChain: 0 }]);
    assert.deepEqual([none.millicents, none.final.millicents, none.unconfirmedChange.millicents], ['26000', '0', '26000']);
    // a's settlement (block 5: +27000) and its transfer to b (block 6: −1000), newest first
    assert.deepEqual(none.payments.map((p) => [p.kind, p.height, p.millicents, p.status]), [['transfer', 6, '-1000', 'unconfirmed'], ['auction-settlement', 5, '27000', 'unconfirmed']]);
    // the node's own final checkpoint at block 5 (its store's record): the settlement is final, the transfer not yet
    const putFinal = async (height: number) => {
      const store = await openChainStore(new Level<string, string>(chainDbPath(dir)));
      await store.putNodeRecord('final', JSON.stringify({ round: 100 + height, height, hash: f.blocks[height - 1]!.hash }));
      await store.close({ snapshot: false });
    };
    await putFinal(5);
    const five = wallet();
    assert.deepEqual([five.finalizedHeight, five.finalizedHeightSource, five.finalizedHeightFrom], [5, 'node', { nodeRecord: 5, provenOnChain: 0 }]);
    assert.deepEqual([five.millicents, five.final.millicents, five.final.height, five.unconfirmedChange.millicents], ['26000', String(balanceOf(f.blocks[4]!.state, a)), 5, '-1000']);
    assert.equal(five.final.millicents, '27000');
    assert.deepEqual(five.payments.map((p) => [p.kind, p.status]), [['transfer', 'unconfirmed'], ['auction-settlement', 'final']]);
    assert.equal(five.paymentsUnconfirmed, 1);
    // the head final: nothing unconfirmed
    await putFinal(8);
    const all = wallet();
    assert.deepEqual([all.final.millicents, all.unconfirmedChange.millicents, all.paymentsUnconfirmed], ['26000', '0', 0]);
    assert.ok(all.payments.every((p) => p.status === 'final'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('tmi chain verify exits non-zero and names the first bad height after one byte of a stored block is flipped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-chain-cli-'));
  try {
    const f = await writeChain(dir);
    // flip one byte inside block 5's first transaction (a meter reading's signature)
    const db = new Level<string, string>(chainDbPath(dir));
    const key = `b:${f.blocks[4]!.hash}`;
    const raw = (await db.get(key))!;
    const i = raw.indexOf('"signature":"', raw.indexOf('"txs"')) + 13;
    const flipped = raw.slice(0, i) + (raw[i] === 'A' ? 'B' : 'A') + raw.slice(i + 1);
    assert.equal(flipped.length, raw.length);
    await db.put(key, flipped);
    await db.close();
    const v = run('chain', 'verify', '--data', dir);
    assert.equal(v.status, 1);
    const r = JSON.parse(v.stdout) as { ok: boolean; height: number; code: string };
    assert.equal(r.ok, false);
    assert.equal(r.height, 5);
    assert.match(v.stderr, /first bad block at height 5/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('tmi chain verify fails clearly when a byte of the database files on disk is flipped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-chain-cli-'));
  try {
    const f = await writeChain(dir);
    // find a block's bytes in the level files and flip one of them
    const files = (await readdir(chainDbPath(dir))).filter((n) => n.endsWith('.log') || n.endsWith('.ldb'));
    const needle = Buffer.from(f.blocks[5]!.block.parameters.headerSignature);
    let flippedIn: string | undefined;
    for (const name of files) {
      const p = join(chainDbPath(dir), name);
      const bytes = await readFile(p);
      const at = bytes.indexOf(needle);
      if (at < 0) continue;
      bytes[at + 10] = bytes[at + 10]! ^ 0x01;
      await writeFile(p, bytes);
      flippedIn = name;
      break;
    }
    assert.ok(flippedIn, 'the block was found in a level file');
    const v = run('chain', 'verify', '--data', dir);
    assert.notEqual(v.status, 0, 'verify must fail');
    assert.ok(v.stderr.length > 0, 'and say why');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('tmi market book shows sealed then revealed orders; tmi market trades shows the clearing and its settlement', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tmi-market-cli-'));
  const f = new ChainFixture();
  const [a, c] = [f.key('m-a'), f.key('m-c')];
  f.produce([f.certTx(a), f.certTx(c)]);
  const oa = f.marketOrder(a, 'o-a', { side: 'buy', energyWh: 1000, priceMc: 11_000, firstEpoch: 2 });
  const oc = f.marketOrder(c, 'o-c', { side: 'sell', energyWh: 800, priceMc: 5_000, firstEpoch: 2 });
  const t = f.state.meta.tipSlot + 1;
  f.produce([oa.tx(f.at(t)), oc.tx(f.at(t))], t);
  const write = async (upTo: number) => {
    await rm(chainDbPath(dir), { recursive: true, force: true });
    const store = await openChainStore(new Level<string, string>(chainDbPath(dir)), { genesis: testGenesisConfig(), snapshotEvery: 4 });
    for (const blk of f.blocks.slice(0, upTo)) await store.importBlock(blk.block, { now: Date.now() });
    await store.close({ snapshot: false });
  };
  try {
    await write(f.blocks.length);
    const sealed = run('market', 'book', '--data', dir);
    assert.equal(sealed.status, 0, sealed.stderr);
    const b1 = JSON.parse(sealed.stdout) as { books: { interval: number; orders: { orderId: string; sealed?: boolean; energyWh?: number }[] }[] };
    assert.equal(b1.books.length, 1);
    assert.equal(b1.books[0]!.interval, 2);
    assert.deepEqual(b1.books[0]!.orders.map((o) => [o.orderId, o.sealed, o.energyWh]), [['o-a', true, undefined], ['o-c', true, undefined]]);
    const close = 2 * 3600 - 1440;
    f.produce([oa.reveal(f.at(close)), oc.reveal(f.at(close))], close);
    await write(f.blocks.length);
    const open = JSON.parse(run('market', 'book', '--data', dir, '--interval', '2').stdout) as typeof b1;
    assert.deepEqual(open.books[0]!.orders.map((o) => o.energyWh), [1000, 800]);
    f.produce([], 2 * 3600 - 1200);
    const after = 3 * 3600 + 1;
    f.produce([f.readingTx(a, 2, { c: 800 }, 1, f.at(after)), f.readingTx(c, 2, { p: 800 }, 1, f.at(after))], after);
    await write(f.blocks.length);
    const tr = run('market', 'trades', '--data', dir);
    assert.equal(tr.status, 0, tr.stderr);
    const m = (JSON.parse(tr.stdout) as { markets: { epoch: number; status: string; volumeWh: number; clearingPriceMcPerKWh: number; fills: { settlement?: { deliveredWh: number } }[] }[] }).markets;
    assert.deepEqual([m[0]!.epoch, m[0]!.status, m[0]!.volumeWh, m[0]!.clearingPriceMcPerKWh], [2, 'settled', 800, 8_000]);
    assert.deepEqual(m[0]!.fills.map((x) => x.settlement?.deliveredWh), [800, 800]);
    assert.equal(JSON.parse(run('market', 'book', '--data', dir).stdout).books.length, 0, 'no open book left');
    const bad = run('market', 'trades', '--data', dir, '--interval', 'x');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--interval must be/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
