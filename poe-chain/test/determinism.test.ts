import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChainFixture, testGenesisConfig } from '../testkit/chainFixture.js';
import { stateRoot } from '../core/chainState.js';

const WORKER = fileURLToPath(new URL('./determinismWorker.js', import.meta.url));

/** A chain over 6 epochs: certificates, open and sealed auctions, readings, settlement, election, transfers. */
function busyChain(): ChainFixture {
  const f = new ChainFixture();
  const hems = Array.from({ length: 12 }, (_, i) => f.key(`det-${i}`));
  f.produce(hems.map((k, i) => f.certTx(k, { programme: i % 3 === 0 ? 'TE' : 'RE+TE', feeder: i % 2 ? 'F1' : 'F2' })));
  for (let e = 0; e < 5; e++) {
    const s0 = Math.max(f.state.meta.tipSlot + 1, f.firstSlotOf(e) + 2);
    const closesAt = new Date(Date.parse(f.interval(e + 1).start)).toISOString();
    const txs: unknown[] = [
      f.auctionOpenTx(`open-${e}`, { side: e % 2 ? 'sell' : 'buy', energyWh: 7000, limitMc: 15_000, deliveryEpoch: e + 2, closesAt, pricing: e % 2 ? 'uniform' : 'pay-as-bid', feederLimits: [{ feeder: 'F2', maxExportWh: 2500, maxImportWh: 2500 }] }, f.aggregator, f.at(s0)),
      f.auctionOpenTx(`sealed-${e}`, { side: 'buy', energyWh: 4000, limitMc: 20_000, deliveryEpoch: e + 2, closesAt, sealed: true }, f.aggregator, f.at(s0)),
    ];
    if (e >= 1) hems.forEach((k, i) => txs.push(f.readingTx(k, e - 1, { p: 500 + 37 * i, c: 400 + 53 * ((i + e) % 5), ch: 20 * i, dis: 2000 + 100 * i }, e, f.at(s0))));
    f.produce(txs, s0);
    const bids = hems.filter((_, i) => i % 3 !== 0).map((k, i) => {
      const side = e % 2 ? 'buy' : 'sell';
      return f.bidTx(k, `open-${e}`, { open: f.openBid(side, 1000 + 250 * i, 9000 + 1000 * (i % 4)) }, hems.indexOf(k) % 2 ? 'F1' : 'F2', f.at(s0 + 1));
    });
    const seals = hems.filter((_, i) => i % 3 !== 0).map((k, i) => ({ k, i, s: f.sealedBid(k, `sealed-${e}`, f.openBid('sell', 800 + 100 * i, 10_000 + 500 * i)) }));
    const sealed = seals.map(({ k, s }) => f.bidTx(k, `sealed-${e}`, { sealed: s.sealed }, hems.indexOf(k) % 2 ? 'F1' : 'F2', f.at(s0 + 1)));
    f.produce([...bids, ...sealed], s0 + 1);
    const close = f.firstSlotOf(e + 1);
    // [SEALED] all but one bidder reveal; the chain clears the sealed auction at closesAt + revealWindowMs
    const reveals = seals.filter(({ i }) => i !== 1).map(({ s }) => s.reveal(f.at(close)));
    f.produce([f.auctionCloseTx(`open-${e}`, f.aggregator, f.at(close)), ...reveals], close);
  }
  f.produce([f.transferTx(f.aggregator, hems[1]!.address, 12_345)], f.state.meta.tipSlot + 1);
  return f;
}

test('the same blocks applied in two separate node processes give the same state root', async () => {
  const f = busyChain();
  assert.ok(f.state.meta.height >= 15);
  assert.ok(f.state.sections.auctions.size >= 10);
  // the chain exercises what it should: clearing (open and sealed), settlement, election
  const auctions = [...f.state.sections.auctions.entries()];
  assert.ok(auctions.some(([id, a]) => id.startsWith('sealed-') && (a.awards?.length ?? 0) > 0), 'a sealed auction cleared');
  assert.ok(auctions.some(([, a]) => a.status === 'settled' && a.awards?.some((w) => w.settlement && w.settlement.paymentMc > 0)), 'an auction settled with payments');
  assert.ok(f.blocks.some((b) => b.block.parameters.header.producer !== f.node.address), 'a ranked validator produced');
  const dir = await mkdtemp(join(tmpdir(), 'tmi-det-'));
  try {
    const file = join(dir, 'chain.json');
    await writeFile(file, JSON.stringify({ genesis: testGenesisConfig(), blocks: f.blocks.map((b) => b.block) }));
    const outs = [1, 2].map(() => {
      const r = spawnSync(process.execPath, [WORKER, file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { stateRoot: string; tipHash: string; height: number };
    });
    assert.deepEqual(outs[0], outs[1]);
    assert.equal(outs[0]!.stateRoot, stateRoot(f.state));
    assert.equal(outs[0]!.tipHash, f.state.tipHash);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
